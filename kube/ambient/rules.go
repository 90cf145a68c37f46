package ambient

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	secv1beta1 "istio.io/api/security/v1beta1"

	"github.com/ambx/ambx/kube/install"
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
// translated them for ztunnel (convertAuthorizationPolicy, handleRule).
type ztunnelView struct {
	l7    []string   // HTTP attributes found, sorted, as istiod names them
	rules []ruleView // one per rule, in order
	// trustDomainsOnly: a source that names only trust domains, which
	// ztunnel does not translate; such a match never matches.
	trustDomainsOnly bool
}

// ruleView is one rule as ztunnel evaluates it. istiod turns each `to`
// operation and each `from` source into one match holding only its L4
// fields, and each `when` condition into a clause of its own; ztunnel ANDs
// the clauses of a rule, ORs the matches of a clause, and skips empty
// matches, so a clause whose matches are all empty never matches
// (ztunnel rbac.rs).
type ruleView struct {
	l7 []string // HTTP attributes of this rule
	// void: some clause can never match, so the rule never fires.
	void bool
	// lost names alternatives that vanished because they held only HTTP
	// attributes (e.g. "to[1]"): the clause matches less than written.
	lost []string
	// broad names matches that keep their L4 fields without their HTTP
	// ones (e.g. "from[0]"): the clause matches more than written.
	broad []string
	// voidBy says which clause voids the rule, for the effect text.
	voidBy string
}

// admits reports whether an ALLOW rule can still admit anything at
// ztunnel: istiod drops every ALLOW rule with an HTTP attribute.
func (r ruleView) admits() bool { return len(r.l7) == 0 && !r.void }

// allowAdmits counts the ALLOW rules that still admit something.
func (v ztunnelView) allowAdmits() int {
	n := 0
	for _, r := range v.rules {
		if r.admits() {
			n++
		}
	}
	return n
}

// specFor is the policy as istiod of version v reads it: before 1.25 its
// API has no serviceAccounts or notServiceAccounts, so those fields are
// lost, and a source naming only them is an empty match that never
// matches. The spec is cloned only when that changes it.
func specFor(spec *secv1beta1.AuthorizationPolicy, v install.Version) *secv1beta1.AuthorizationPolicy {
	if v.AtLeast(1, 25) || !usesServiceAccounts(spec) {
		return spec
	}
	out := proto.Clone(spec).(*secv1beta1.AuthorizationPolicy)
	for _, r := range out.GetRules() {
		for _, f := range r.GetFrom() {
			if s := f.GetSource(); s != nil {
				s.ServiceAccounts, s.NotServiceAccounts = nil, nil
			}
		}
	}
	return out
}

// usesServiceAccounts reports whether some source names service accounts.
func usesServiceAccounts(spec *secv1beta1.AuthorizationPolicy) bool {
	for _, r := range spec.GetRules() {
		for _, f := range r.GetFrom() {
			if s := f.GetSource(); len(s.GetServiceAccounts())+len(s.GetNotServiceAccounts()) > 0 {
				return true
			}
		}
	}
	return false
}

// translate mirrors convertAuthorizationPolicy/handleRule closely enough to
// predict the effect of every rule.
func translate(spec *secv1beta1.AuthorizationPolicy) ztunnelView {
	var v ztunnelView
	found := map[string]bool{}
	for _, r := range spec.GetRules() {
		rv, tdOnly := translateRule(r)
		for _, f := range rv.l7 {
			found[f] = true
		}
		if tdOnly {
			v.trustDomainsOnly = true
		}
		v.rules = append(v.rules, rv)
	}
	for f := range found {
		v.l7 = append(v.l7, f)
	}
	sort.Strings(v.l7)
	return v
}

// translateRule judges one rule clause by clause. A rule with no clauses
// (`{}`) matches everything.
func translateRule(r *secv1beta1.Rule) (rv ruleView, tdOnly bool) {
	if r == nil {
		return rv, false
	}
	seen := map[string]bool{}
	addL7 := func(fs []string) {
		for _, f := range fs {
			if !seen[f] {
				seen[f] = true
				rv.l7 = append(rv.l7, f)
			}
		}
	}
	// clause folds the matches of one clause: l4[i] says whether match i
	// keeps an L4 field, l7[i] whether it named an HTTP attribute.
	clause := func(name string, l4, l7 []bool) {
		any := false
		for _, ok := range l4 {
			any = any || ok
		}
		if !any {
			if !rv.void {
				rv.void, rv.voidBy = true, name
			}
			return
		}
		for i := range l4 {
			switch {
			case l7[i] && !l4[i]:
				rv.lost = append(rv.lost, fmt.Sprintf("%s[%d]", name, i))
			case l7[i] && l4[i]:
				rv.broad = append(rv.broad, fmt.Sprintf("%s[%d]", name, i))
			}
		}
	}
	if to := r.GetTo(); len(to) > 0 {
		var l4, l7 []bool
		for _, t := range to {
			op := t.GetOperation()
			h := httpOperations(op)
			addL7(h)
			l4 = append(l4, len(ports(op.GetPorts()))+len(ports(op.GetNotPorts())) > 0)
			l7 = append(l7, len(h) > 0)
		}
		clause("to", l4, l7)
	}
	if from := r.GetFrom(); len(from) > 0 {
		var l4, l7 []bool
		for _, f := range from {
			s := f.GetSource()
			h := httpSources(s)
			addL7(h)
			ok := l4Source(s)
			if !ok && len(h) == 0 && len(s.GetTrustDomains())+len(s.GetNotTrustDomains()) > 0 {
				tdOnly = true
			}
			l4 = append(l4, ok)
			l7 = append(l7, len(h) > 0)
		}
		clause("from", l4, l7)
	}
	for i, w := range r.GetWhen() {
		key := w.GetKey()
		if !l4WhenKeys[key] {
			addL7([]string{key})
			if !rv.void {
				rv.void, rv.voidBy = true, fmt.Sprintf("when[%d] %s", i, key)
			}
			continue
		}
		if !l4When(key, w.GetValues()) && !l4When(key, w.GetNotValues()) && !rv.void {
			rv.void, rv.voidBy = true, fmt.Sprintf("when[%d] %s", i, key)
		}
	}
	sort.Strings(rv.l7)
	return rv, tdOnly
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
