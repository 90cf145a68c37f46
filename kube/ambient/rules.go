package ambient

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
)

// l4WhenKeys are the `when` keys ztunnel understands; any other key is an
// HTTP attribute (pilot ambient authorization.go l4WhenAttributes).
var l4WhenKeys = map[string]bool{
	"source.ip":        true,
	"source.namespace": true,
	"source.principal": true,
	"destination.ip":   true,
	"destination.port": true,
}

// ztunnelView is what is left of an AuthorizationPolicy's rules once istiod
// translated them for ztunnel.
type ztunnelView struct {
	l7 []string // HTTP attributes found, sorted, as istiod names them
	// rulesWithL7 counts rules that mention an HTTP attribute.
	rulesWithL7 int
	// effective reports whether any rule can still match at ztunnel. For
	// ALLOW, rules with HTTP attributes are dropped; for DENY only their HTTP
	// parts are, and a rule whose matches all became empty is skipped.
	effective bool
	// trustDomainsOnly: a source that names only trust domains, which
	// ztunnel does not translate; such a match never matches.
	trustDomainsOnly bool
}

// translate mirrors convertAuthorizationPolicy/handleRule closely enough to
// predict the effect: which attributes are HTTP-only and whether any rule
// survives.
func translate(spec *secv1beta1.AuthorizationPolicy) ztunnelView {
	var v ztunnelView
	found := map[string]bool{}
	deny := spec.GetAction() == secv1beta1.AuthorizationPolicy_DENY
	for _, r := range spec.GetRules() {
		l7, effective, tdOnly := translateRule(r)
		for _, f := range l7 {
			found[f] = true
		}
		if tdOnly {
			v.trustDomainsOnly = true
		}
		if len(l7) > 0 {
			v.rulesWithL7++
			if !deny {
				continue // an ALLOW rule with HTTP attributes never matches
			}
		}
		if effective {
			v.effective = true
		}
	}
	for f := range found {
		v.l7 = append(v.l7, f)
	}
	sort.Strings(v.l7)
	return v
}

// translateRule returns a rule's HTTP attributes and whether its L4 part can
// match: a rule is a conjunction of clauses (to, from, each when), and a
// clause whose matches are all empty never matches at ztunnel. A rule with
// no clauses (`{}`) matches everything.
func translateRule(r *secv1beta1.Rule) (l7 []string, effective, tdOnly bool) {
	if r == nil {
		return nil, true, false
	}
	effective = true
	if to := r.GetTo(); len(to) > 0 {
		any := false
		for _, t := range to {
			op := t.GetOperation()
			l7 = append(l7, httpOperations(op)...)
			if len(ports(op.GetPorts()))+len(ports(op.GetNotPorts())) > 0 {
				any = true
			}
		}
		effective = effective && any
	}
	if from := r.GetFrom(); len(from) > 0 {
		any := false
		for _, f := range from {
			s := f.GetSource()
			l7 = append(l7, httpSources(s)...)
			if l4Source(s) {
				any = true
			} else if len(s.GetTrustDomains())+len(s.GetNotTrustDomains()) > 0 {
				tdOnly = true
			}
		}
		effective = effective && any
	}
	for _, w := range r.GetWhen() {
		key := w.GetKey()
		if !l4WhenKeys[key] {
			l7 = append(l7, key)
			effective = false
			continue
		}
		if !l4When(key, w.GetValues()) && !l4When(key, w.GetNotValues()) {
			effective = false
		}
	}
	return l7, effective, tdOnly
}

func httpOperations(op *secv1beta1.Operation) []string {
	var out []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			out = append(out, name)
		}
	}
	add("hosts", op.GetHosts())
	add("notHosts", op.GetNotHosts())
	add("methods", op.GetMethods())
	add("notMethods", op.GetNotMethods())
	add("paths", op.GetPaths())
	add("notPaths", op.GetNotPaths())
	return out
}

func httpSources(s *secv1beta1.Source) []string {
	var out []string
	add := func(name string, v []string) {
		if len(v) > 0 {
			out = append(out, name)
		}
	}
	add("remoteIpBlocks", s.GetRemoteIpBlocks())
	add("notRemoteIpBlocks", s.GetNotRemoteIpBlocks())
	add("requestPrincipals", s.GetRequestPrincipals())
	add("notRequestPrincipals", s.GetNotRequestPrincipals())
	return out
}

// l4Source reports whether the source keeps a non-empty match at ztunnel.
func l4Source(s *secv1beta1.Source) bool {
	return len(ips(s.GetIpBlocks()))+len(ips(s.GetNotIpBlocks())) > 0 ||
		len(s.GetNamespaces())+len(s.GetNotNamespaces()) > 0 ||
		len(s.GetServiceAccounts())+len(s.GetNotServiceAccounts()) > 0 ||
		len(s.GetPrincipals())+len(s.GetNotPrincipals()) > 0
}

func l4When(key string, values []string) bool {
	switch key {
	case "destination.port":
		return len(ports(values)) > 0
	case "source.ip", "destination.ip":
		return len(ips(values)) > 0
	}
	return len(values) > 0
}

// ports keeps the values istiod can turn into port numbers; it drops the rest.
func ports(v []string) []uint16 {
	var out []uint16
	for _, s := range v {
		if p, err := strconv.ParseUint(s, 10, 16); err == nil {
			out = append(out, uint16(p))
		}
	}
	return out
}

// ips keeps the values istiod can turn into addresses or prefixes.
func ips(v []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range v {
		if strings.Contains(s, "/") {
			if p, err := netip.ParsePrefix(s); err == nil {
				out = append(out, p)
			}
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
		}
	}
	return out
}
