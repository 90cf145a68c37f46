package ambient

import (
	"strings"

	secv1beta1 "istio.io/api/security/v1beta1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/install"
)

// WaypointAuthz is the verdict on a connection a waypoint carries to a
// Service (reference 2.2, "identity shift"): the waypoint's Envoy judges
// the policies bound to it against the original client, then the
// destination's ztunnel judges its own L4 policies against the waypoint's
// identity, never the client's. The connection passes only if both do.
type WaypointAuthz struct {
	Waypoint Key
	// Identity is the waypoint's as the destination ztunnel sees it.
	Identity string
	// AtWaypoint is the waypoint's verdict on the client, by the
	// targetRefs policies (its Gateway, the Service, the istio-waypoint
	// GatewayClass) with their HTTP rules, which the metrics cannot
	// answer: a verdict that turns on them is unknown.
	AtWaypoint AuthzVerdict
	// AtZtunnel is the destination ztunnel's verdict on the waypoint.
	AtZtunnel AuthzVerdict
}

// Outcome combines the two hops: a denial at either denies; both must
// allow to allow.
func (w WaypointAuthz) Outcome() AuthzOutcome {
	switch {
	case w.AtWaypoint.Outcome == AuthzDenied || w.AtZtunnel.Outcome == AuthzDenied:
		return AuthzDenied
	case w.AtWaypoint.Outcome == AuthzAllowed && w.AtZtunnel.Outcome == AuthzAllowed:
		return AuthzAllowed
	}
	return AuthzUnknown
}

// AuthorizeViaWaypoint judges a connection from src to Service svc that
// waypoint wp (its Gateway) carries on to pod dst. wpPod is one of the
// waypoint's pods: its service account is the identity dst's ztunnel
// sees. The waypoint's trust domain is taken from src's identity (one
// mesh), cluster.local when src has none.
func AuthorizeViaWaypoint(c *Cluster, a *Analysis, src Peer, wp Key, wpPod *corev1.Pod, svc Key, dst *corev1.Pod) WaypointAuthz {
	out := WaypointAuthz{Waypoint: wp}
	if c == nil || a == nil || dst == nil || wpPod == nil {
		out.AtWaypoint = AuthzVerdict{Outcome: AuthzUnknown, Reason: "nothing to judge"}
		out.AtZtunnel = out.AtWaypoint
		return out
	}
	out.AtWaypoint = authorizeAtWaypoint(c, a, src, wp, svc)
	td := "cluster.local"
	if p := strings.TrimPrefix(src.Identity, "spiffe://"); strings.Contains(p, "/ns/") {
		td = p[:strings.Index(p, "/ns/")]
	}
	sa := wpPod.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	out.Identity = "spiffe://" + td + "/ns/" + wpPod.Namespace + "/sa/" + sa
	v := Authorize(c, a, Peer{Identity: out.Identity}, dst)
	v.Waypoint = nil // judged at the first hop
	if v.Outcome == AuthzDenied && v.By == "" && c.Install.Switch(install.EnvAutoAllowWaypointPolicy) {
		// istiod adds an ALLOW for the waypoint's identity to the
		// workloads it serves; ALLOW policies OR together.
		v = AuthzVerdict{Outcome: AuthzAllowed, By: "istio_allow_waypoint_" + wp.Namespace + "_" + wp.Name}
	}
	out.AtZtunnel = v
	return out
}

// authorizeAtWaypoint is Envoy's RBAC at the waypoint, as istiod builds it:
// CUSTOM first, then DENY, then ALLOW (no ALLOW applying allows; ALLOWs
// applying and none matching deny with 403).
func authorizeAtWaypoint(c *Cluster, a *Analysis, src Peer, wp Key, svc Key) AuthzVerdict {
	root := c.Root()
	var v AuthzVerdict
	var allows []*secv1beta1.AuthorizationPolicy
	var allowNames []string
	deny, custom := no, no
	var maybeDeny, customBy string
	for _, p := range c.AuthorizationPolicies {
		if p == nil {
			continue
		}
		pi, ok := a.Policy(KindAuthorizationPolicy, Key{p.Namespace, p.Name})
		if !ok || pi.EnforcedBy != EnforcedByWaypoint || !appliesAtWaypoint(p.Namespace, &p.Spec, root, wp, svc, pi.BoundTo) {
			continue
		}
		if dry, set := p.Annotations[AnnotationDryRun]; set && strings.EqualFold(strings.TrimSpace(dry), "true") {
			continue // Envoy runs it as shadow rules: logged, not enforced
		}
		name := p.Namespace + "/" + p.Name
		switch p.Spec.GetAction() {
		case secv1beta1.AuthorizationPolicy_CUSTOM:
			if m := waypointPolicyMatches(&p.Spec, src); m > custom {
				custom, customBy = m, name
			}
		case secv1beta1.AuthorizationPolicy_DENY:
			switch waypointPolicyMatches(&p.Spec, src) {
			case yes:
				return AuthzVerdict{Outcome: AuthzDenied, By: name, Reason: "denied at the waypoint by " + name}
			case maybe:
				deny, maybeDeny = maybe, name
			}
		case secv1beta1.AuthorizationPolicy_ALLOW:
			allows = append(allows, &p.Spec)
			allowNames = append(allowNames, name)
		}
	}
	allow := no
	if len(allows) == 0 {
		allow = yes
	}
	for i, spec := range allows {
		switch waypointPolicyMatches(spec, src) {
		case yes:
			allow, v.By = yes, allowNames[i]
		case maybe:
			if allow == no {
				allow, v.By = maybe, allowNames[i]
			}
		}
		if allow == yes {
			break
		}
	}
	switch {
	case allow == no:
		v = AuthzVerdict{Outcome: AuthzDenied, Reason: "no ALLOW policy at the waypoint matches this client"}
	case custom != no:
		v = AuthzVerdict{Outcome: AuthzUnknown, By: customBy, Reason: "decided by the external authorizer of " + customBy}
	case deny == maybe:
		v = AuthzVerdict{Outcome: AuthzUnknown, By: maybeDeny, Reason: "denied by " + maybeDeny + " for some requests"}
	case allow == maybe:
		v.Outcome, v.Reason = AuthzUnknown, "allowed by "+v.By+" for some requests only (HTTP rules)"
		v.By = ""
	default:
		v.Outcome = AuthzAllowed
	}
	return v
}

// appliesAtWaypoint reports whether a targetRefs policy in namespace ns
// governs traffic to svc through waypoint wp: it targets wp's Gateway, svc
// itself, or (from the root namespace) the istio-waypoint GatewayClass.
func appliesAtWaypoint(ns string, spec *secv1beta1.AuthorizationPolicy, root string, wp, svc Key, boundTo []string) bool {
	bound := false
	for _, b := range boundTo {
		bound = bound || b == wp.String() || b == classBinding
	}
	if !bound {
		return false
	}
	for _, r := range targetRefs(spec.GetTargetRef(), spec.GetTargetRefs()) {
		refNS := r.GetNamespace()
		if refNS == "" {
			refNS = ns
		}
		if refGroupProblem(r) != "" {
			continue
		}
		switch r.GetKind() {
		case "Gateway":
			if refNS == wp.Namespace && r.GetName() == wp.Name {
				return true
			}
		case "Service", "ServiceEntry":
			if refNS == svc.Namespace && r.GetName() == svc.Name {
				return true
			}
		case "GatewayClass":
			if ns == root && r.GetName() == "istio-waypoint" {
				return true
			}
		}
	}
	return false
}

// waypointPolicyMatches is Envoy's match of one policy at the waypoint:
// any rule. Unlike ztunnel, the waypoint enforces HTTP attributes; the
// metrics say nothing of methods, paths or headers, so a rule that turns
// on them may match.
func waypointPolicyMatches(spec *secv1beta1.AuthorizationPolicy, src Peer) tri {
	out := no
	for _, r := range spec.GetRules() {
		out = or(out, waypointRuleMatches(r, src))
	}
	return out
}

func waypointRuleMatches(r *secv1beta1.Rule, src Peer) tri {
	if r == nil {
		return yes
	}
	out := yes
	if to := r.GetTo(); len(to) > 0 {
		c := no
		for _, t := range to {
			op := t.GetOperation()
			if len(op.GetHosts())+len(op.GetNotHosts())+len(op.GetMethods())+len(op.GetNotMethods())+
				len(op.GetPaths())+len(op.GetNotPaths())+len(op.GetPorts())+len(op.GetNotPorts()) > 0 {
				c = or(c, maybe)
			} else {
				c = yes
			}
		}
		out = and(out, c)
	}
	if from := r.GetFrom(); len(from) > 0 {
		c := no
		for _, f := range from {
			s := f.GetSource()
			m := sourceMatches(s, src)
			if len(s.GetRequestPrincipals())+len(s.GetNotRequestPrincipals())+len(s.GetRemoteIpBlocks())+len(s.GetNotRemoteIpBlocks())+len(s.GetTrustDomains())+len(s.GetNotTrustDomains()) > 0 {
				m = and(m, maybe)
			}
			c = or(c, m)
		}
		out = and(out, c)
	}
	for _, w := range r.GetWhen() {
		switch w.GetKey() {
		case "source.principal", "source.namespace":
			out = and(out, whenMatches(w, src))
		default:
			out = and(out, maybe) // the request's attributes, an address or a port
		}
	}
	return out
}
