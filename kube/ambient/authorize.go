package ambient

import (
	"sort"
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// Peer is a connection's source as the destination ztunnel sees it.
// Identity is empty for plaintext: then no principal, namespace or
// service-account rule can match it.
type Peer struct {
	// Identity is the mTLS identity, "td/ns/<ns>/sa/<sa>" (a spiffe://
	// prefix is accepted).
	Identity string
}

func (p Peer) parts() (principal, ns, sa string, ok bool) {
	principal = strings.TrimPrefix(p.Identity, "spiffe://")
	i := strings.Index(principal, "/ns/")
	j := strings.Index(principal, "/sa/")
	if principal == "" || i < 0 || j < i {
		return principal, "", "", principal != ""
	}
	return principal, principal[i+4 : j], principal[j+4:], true
}

// AuthzOutcome is what ztunnel's AuthorizationPolicies do with a connection.
type AuthzOutcome string

// Outcomes. Unknown: the verdict turns on what the caller did not say (the
// destination port, an IP), so it is not guessed.
const (
	AuthzAllowed AuthzOutcome = "allowed"
	AuthzDenied  AuthzOutcome = "denied"
	AuthzUnknown AuthzOutcome = "unknown"
)

// AuthzVerdict is ztunnel's L4 verdict on a connection to a pod, by the
// AuthorizationPolicies ambx's analysis says ztunnel enforces there, as
// istiod translated them (HTTP rules dropped) and as ztunnel evaluates them.
type AuthzVerdict struct {
	Outcome AuthzOutcome
	// By is the policy that decides ("ns/name"): the matching DENY, the
	// matching ALLOW; empty when no policy applies or none matched.
	By string
	// Reason is ztunnel's words for a denial ("allow policies exist, but
	// none allowed") or why the verdict is unknown.
	Reason string
	// Waypoint lists the policies enforced by a waypoint in front of the
	// destination, which ztunnel does not judge: their L7 verdict needs
	// the waypoint.
	Waypoint []string
}

// Authorize judges a connection from src to pod dst on an unknown port at
// the destination ztunnel: DENY policies first, then ALLOW ones (any
// matching ALLOW admits; ALLOW policies that all fail deny). A pod ambient
// does not capture has no ztunnel verdict. A STRICT PeerAuthentication
// rejects plaintext before any policy.
func Authorize(c *Cluster, a *Analysis, src Peer, dst *corev1.Pod) AuthzVerdict {
	if c == nil || a == nil || dst == nil {
		return AuthzVerdict{Outcome: AuthzUnknown, Reason: "nothing to judge"}
	}
	k := Key{dst.Namespace, dst.Name}
	info := a.Pods[k]
	if info.State != PodCaptured {
		return AuthzVerdict{Outcome: AuthzUnknown, Reason: "not captured: ztunnel does not authorize its inbound traffic"}
	}
	var v AuthzVerdict
	for _, svc := range servicesOf(c, dst) {
		if b := a.Services[Key{svc.Namespace, svc.Name}].Waypoint; b.Bound() {
			v.Waypoint = append(v.Waypoint, waypointPolicies(c, a, b.Waypoint)...)
		}
	}
	if info.Waypoint.Bound() {
		v.Waypoint = append(v.Waypoint, waypointPolicies(c, a, info.Waypoint.Waypoint)...)
	}
	v.Waypoint = dedupe(v.Waypoint)
	if _, _, _, mtls := src.parts(); !mtls && !info.MTLS.Strict && len(info.MTLS.Ports) > 0 {
		// PERMISSIVE, with port-level STRICT exceptions.
		v.Outcome, v.Reason = AuthzUnknown, "STRICT mTLS on some ports: plaintext is rejected there"
		return v
	} else if !mtls && info.MTLS.Strict {
		if len(info.MTLS.Ports) > 0 {
			v.Outcome, v.Reason = AuthzUnknown, "STRICT mTLS except on some ports: plaintext is allowed only there"
			return v
		}
		v.Outcome, v.Reason = AuthzDenied, "STRICT mTLS: plaintext is rejected"
		if info.MTLS.By.Name != "" {
			v.By = info.MTLS.By.String()
		}
		return v
	}
	root := c.Root()
	ix := &index{c: c, v: c.Install.Effective()}
	var allows []*secv1beta1.AuthorizationPolicy
	var allowNames []string
	deny := no
	var maybeDeny string
	for _, p := range c.AuthorizationPolicies {
		pi, ok := a.Policy(KindAuthorizationPolicy, Key{p.Namespace, p.Name})
		if !ok || pi.EnforcedBy != EnforcedByZtunnel {
			continue
		}
		if d := ix.dryRun(p); d != notDryRun && d != dryRunEnforced {
			continue // not sent, or sent only to be logged
		}
		if p.Namespace != dst.Namespace && p.Namespace != root {
			continue
		}
		if sel := p.Spec.GetSelector(); sel != nil && len(sel.GetMatchLabels()) > 0 &&
			!labels.SelectorFromSet(sel.GetMatchLabels()).Matches(labels.Set(dst.Labels)) {
			continue
		}
		name := p.Namespace + "/" + p.Name
		spec := specFor(&p.Spec, ix.v)
		switch p.Spec.GetAction() {
		case secv1beta1.AuthorizationPolicy_DENY:
			switch policyMatches(spec, src, false) {
			case yes:
				v.Outcome, v.By, v.Reason = AuthzDenied, name, "explicitly denied by: "+name
				return v
			case maybe:
				deny, maybeDeny = maybe, name
			}
		case secv1beta1.AuthorizationPolicy_ALLOW:
			allows = append(allows, spec)
			allowNames = append(allowNames, name)
		}
	}
	allow := no
	if len(allows) == 0 {
		allow = yes
	}
	for i, spec := range allows {
		switch policyMatches(spec, src, true) {
		case yes:
			allow, v.By = yes, allowNames[i]
		case maybe:
			if allow == no {
				allow = maybe
			}
		}
		if allow == yes {
			break
		}
	}
	switch {
	case allow == no:
		v.Outcome, v.By, v.Reason = AuthzDenied, "", "allow policies exist, but none allowed"
	case deny == maybe:
		v.Outcome, v.By, v.Reason = AuthzUnknown, maybeDeny, "denied by "+maybeDeny+" on some ports or addresses"
	case allow == maybe:
		v.Outcome, v.By, v.Reason = AuthzUnknown, "", "allowed only on some ports or addresses"
	default:
		v.Outcome = AuthzAllowed
	}
	return v
}

// tri is a match that may turn on what is not known (port, IP).
type tri int

const (
	no tri = iota
	maybe
	yes
)

func and(a, b tri) tri { return min(a, b) }
func or(a, b tri) tri  { return max(a, b) }

// policyMatches is ztunnel's match of one translated policy: any rule.
// For ALLOW, istiod drops every rule with an HTTP attribute; for DENY it
// keeps each match's L4 fields.
func policyMatches(spec *secv1beta1.AuthorizationPolicy, src Peer, allow bool) tri {
	out := no
	for _, r := range spec.GetRules() {
		if allow {
			if rv, _ := translateRule(r); len(rv.l7) > 0 {
				continue
			}
		}
		out = or(out, ruleMatches(r, src))
	}
	return out
}

// ruleMatches ANDs a rule's clauses; a clause ORs its matches, skipping
// empty ones, so a clause of empty matches is false (ztunnel rbac.rs).
func ruleMatches(r *secv1beta1.Rule, src Peer) tri {
	if r == nil {
		return yes
	}
	out := yes
	if to := r.GetTo(); len(to) > 0 {
		c := no
		for _, t := range to {
			op := t.GetOperation()
			if len(ports(op.GetPorts()))+len(ports(op.GetNotPorts())) > 0 {
				c = or(c, maybe) // the destination port is not known
			}
		}
		out = and(out, c)
	}
	if from := r.GetFrom(); len(from) > 0 {
		c := no
		for _, f := range from {
			if s := f.GetSource(); l4Source(s) {
				c = or(c, sourceMatches(s, src))
			}
		}
		out = and(out, c)
	}
	for _, w := range r.GetWhen() {
		out = and(out, whenMatches(w, src))
	}
	return out
}

// sourceMatches ANDs a source's L4 fields.
func sourceMatches(s *secv1beta1.Source, src Peer) tri {
	principal, ns, sa, ok := src.parts()
	out := yes
	field := func(vals []string, got string, negate bool) {
		if len(vals) == 0 {
			return
		}
		if !ok {
			// No identity: a positive match fails; a negative one is
			// not evaluated here.
			if negate {
				out = and(out, maybe)
			} else {
				out = no
			}
			return
		}
		hit := anyString(vals, got)
		if hit == negate {
			out = no
		}
	}
	field(s.GetPrincipals(), principal, false)
	field(s.GetNotPrincipals(), principal, true)
	field(s.GetNamespaces(), ns, false)
	field(s.GetNotNamespaces(), ns, true)
	saMatch := func(vals []string, negate bool) {
		if len(vals) == 0 {
			return
		}
		if !ok {
			if negate {
				out = and(out, maybe)
			} else {
				out = no
			}
			return
		}
		hit, sure := false, true
		for _, v := range vals {
			n, name, qualified := strings.Cut(v, "/")
			if !qualified {
				sure = false // whose namespace an unqualified name means is not modelled
				continue
			}
			hit = hit || n == ns && name == sa
		}
		switch {
		case hit == negate && (sure || hit):
			out = no
		case !sure && !hit:
			out = and(out, maybe)
		}
	}
	saMatch(s.GetServiceAccounts(), false)
	saMatch(s.GetNotServiceAccounts(), true)
	if len(ips(s.GetIpBlocks()))+len(ips(s.GetNotIpBlocks())) > 0 {
		out = and(out, maybe) // the source address is not known
	}
	return out
}

func whenMatches(w *secv1beta1.Condition, src Peer) tri {
	principal, ns, _, ok := src.parts()
	var got string
	switch w.GetKey() {
	case "source.principal":
		got = principal
	case "source.namespace":
		got = ns
	case "source.ip", "destination.ip", "destination.port":
		if l4When(w.GetKey(), w.GetValues()) || l4When(w.GetKey(), w.GetNotValues()) {
			return maybe
		}
		return no
	default:
		return no // an HTTP attribute: the condition is void at ztunnel
	}
	if len(w.GetValues()) == 0 && len(w.GetNotValues()) == 0 {
		return no
	}
	if !ok {
		if len(w.GetValues()) > 0 {
			return no
		}
		return maybe
	}
	out := yes
	if len(w.GetValues()) > 0 && !anyString(w.GetValues(), got) {
		out = no
	}
	if len(w.GetNotValues()) > 0 && anyString(w.GetNotValues(), got) {
		out = no
	}
	return out
}

// anyString is Istio's string match: exact, "*" (presence), "prefix*" or
// "*suffix".
func anyString(vals []string, got string) bool {
	for _, v := range vals {
		switch {
		case v == "*":
			if got != "" {
				return true
			}
		case strings.HasSuffix(v, "*"):
			if strings.HasPrefix(got, strings.TrimSuffix(v, "*")) {
				return true
			}
		case strings.HasPrefix(v, "*"):
			if strings.HasSuffix(got, strings.TrimPrefix(v, "*")) {
				return true
			}
		case v == got:
			return true
		}
	}
	return false
}

// servicesOf are the Services selecting pod.
func servicesOf(c *Cluster, pod *corev1.Pod) []*corev1.Service {
	var out []*corev1.Service
	for _, s := range c.Services {
		if s.Namespace == pod.Namespace && len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			out = append(out, s)
		}
	}
	return out
}

// waypointPolicies are the policies bound to waypoint wp.
func waypointPolicies(c *Cluster, a *Analysis, wp Key) []string {
	var out []string
	for _, pi := range a.Policies {
		if pi.Kind != KindAuthorizationPolicy || pi.EnforcedBy != EnforcedByWaypoint {
			continue
		}
		for _, b := range pi.BoundTo {
			if b == wp.String() || b == classBinding {
				out = append(out, pi.Key.String())
			}
		}
	}
	sort.Strings(out)
	return out
}
