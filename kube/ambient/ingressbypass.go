package ambient

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/install"
)

// ingressBypassFindings flags each Service whose waypoint enforces
// AuthorizationPolicies (targetRefs to the Service, its waypoint or the
// waypoint's GatewayClass) while ingress gateways do not route to that
// waypoint: their traffic goes straight to the pods, whose ztunnel knows
// only selector policies, so it skips those policies (reference 3.4).
// Ingress gateways use a Service's waypoint only with
// ENABLE_INGRESS_WAYPOINT_ROUTING on, a VIP, and istio.io/ingress-use-waypoint
// as the installed istiod reads it (from 1.24; before, never).
func (ix *index) ingressBypassFindings() {
	var gateways []string
	for _, p := range ix.c.Pods {
		if p == nil {
			continue
		}
		if k := GatewayKindOf(p); k == IngressGateway || k == ClassicGateway {
			gateways = append(gateways, p.Namespace+"/"+p.Name)
		}
	}
	if len(gateways) == 0 {
		return // no ingress traffic to skip anything
	}
	byService := ix.waypointPoliciesByService()
	if len(byService) == 0 {
		return
	}
	routing := ix.c.Install.Switch(install.EnvIngressWaypointRouting)
	svcs := map[Key]*corev1.Service{}
	for _, s := range ix.c.Services {
		if s != nil {
			svcs[Key{s.Namespace, s.Name}] = s
		}
	}
	keys := make([]Key, 0, len(byService))
	for k := range byService {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b Key) int { return strings.Compare(a.String(), b.String()) })
	for _, k := range keys {
		svc, si := svcs[k], ix.a.Services[k]
		if svc == nil || !si.Waypoint.Bound() {
			continue
		}
		vip := HasVIP(svc)
		if si.IngressUseWaypoint && routing && vip {
			continue
		}
		pols := byService[k]
		why, fix := ix.ingressBypassAdvice(svc, si, routing, vip)
		f := finding.Finding{
			Severity: finding.Warning,
			Code:     "policy-skipped-by-ingress",
			Object:   ix.ref("Service", k.Namespace, k.Name),
			Title:    fmt.Sprintf("Ingress traffic to Service %s skips waypoint %s and its policies", k, si.Waypoint.Waypoint),
			Why: fmt.Sprintf("Waypoint %s alone enforces %s for it (%s); %s, so requests entering through the ingress gateway (%s) reach the pods, whose ztunnel applies only selector policies, without them.",
				si.Waypoint.Waypoint, plural(len(pols), "AuthorizationPolicy", "AuthorizationPolicies"), listSome(pols), why, listSome(gateways)),
			Fix: fix,
		}
		for _, p := range pols {
			ns, name, _ := strings.Cut(p, "/")
			f.Affects = append(f.Affects, ix.ref(KindAuthorizationPolicy, ns, name))
		}
		ix.findings = append(ix.findings, f)
	}
}

// waypointPoliciesByService lists, per bound Service, the
// AuthorizationPolicies its waypoint enforces for it, as ns/name.
func (ix *index) waypointPoliciesByService() map[Key][]string {
	out := map[Key][]string{}
	add := func(k Key, pol string) {
		if !slices.Contains(out[k], pol) {
			out[k] = append(out[k], pol)
		}
	}
	for _, p := range ix.c.AuthorizationPolicies {
		if p == nil {
			continue
		}
		refs := targetRefs(p.Spec.GetTargetRef(), p.Spec.GetTargetRefs())
		if len(refs) == 0 {
			continue
		}
		pi, ok := ix.a.Policy(KindAuthorizationPolicy, Key{p.Namespace, p.Name})
		if !ok || pi.EnforcedBy != EnforcedByWaypoint {
			continue
		}
		name := p.Namespace + "/" + p.Name
		for _, r := range refs {
			if refGroupProblem(r) != "" || (r.GetNamespace() != "" && r.GetNamespace() != p.Namespace && r.GetKind() != "GatewayClass") {
				continue
			}
			switch r.GetKind() {
			case "Service":
				k := Key{p.Namespace, r.GetName()}
				if ix.a.Services[k].Waypoint.Bound() {
					add(k, name)
				}
			case "Gateway":
				k := Key{p.Namespace, r.GetName()}
				if !slices.Contains(pi.BoundTo, k.String()) {
					continue
				}
				if w, ok := ix.a.Waypoint(k); ok {
					for _, s := range w.Services {
						add(s, name)
					}
				}
			case "GatewayClass":
				if !slices.Contains(pi.BoundTo, "GatewayClass/"+r.GetName()) {
					continue
				}
				for _, w := range ix.a.Waypoints {
					if w.Class == r.GetName() {
						for _, s := range w.Services {
							add(s, name)
						}
					}
				}
			}
		}
	}
	return out
}

// ingressBypassAdvice says why ingress skips the waypoint and what makes
// it go through, for the installed istiod.
func (ix *index) ingressBypassAdvice(svc *corev1.Service, si ServiceInfo, routing, vip bool) (why, fix string) {
	labelFix := fmt.Sprintf("kubectl label service %s -n %s %s=true --overwrite", svc.Name, svc.Namespace, LabelIngressUseWaypoint)
	gatewayFix := "# or enforce the rules at the ingress gateway: an AuthorizationPolicy with targetRefs to its Gateway"
	switch {
	case !ix.v.AtLeast(1, 24):
		return fmt.Sprintf("istiod %s never sends ingress traffic to waypoints (istio.io/ingress-use-waypoint is new in 1.24)", ix.v.MinorString()),
			"# upgrade istiod to 1.24 or later, then:\n" + labelFix + "\n" + gatewayFix
	case !routing:
		fix := "# istiod runs with " + install.EnvIngressWaypointRouting + "=false: no gateway uses a waypoint, whatever the label"
		if c, ok := ix.c.Install.Found(install.Istiod); ok && c.Name != "" {
			fix += fmt.Sprintf("\nkubectl set env deployment/%s -n %s -c discovery %s=true", c.Name, c.Namespace, install.EnvIngressWaypointRouting)
		}
		return "istiod routes no ingress traffic through waypoints while " + install.EnvIngressWaypointRouting + "=false", fix + "\n" + gatewayFix
	case !vip:
		return "the Service is headless, and gateways send only VIP traffic to waypoints", gatewayFix
	}
	if v, ok := svc.Labels[LabelIngressUseWaypoint]; ok {
		return fmt.Sprintf("istiod %s does not read %s=%q as true", ix.v.MinorString(), LabelIngressUseWaypoint, v), labelFix + "\n" + gatewayFix
	}
	if ns := ix.ns[svc.Namespace]; ns != nil {
		if v, ok := ns.Labels[LabelIngressUseWaypoint]; ok {
			if !ix.v.AtLeast(1, 25) {
				return fmt.Sprintf("istiod %s reads %s on the Service only, not on its namespace", ix.v.MinorString(), LabelIngressUseWaypoint), labelFix + "\n" + gatewayFix
			}
			return fmt.Sprintf("istiod %s does not read the namespace's %s=%q as true", ix.v.MinorString(), LabelIngressUseWaypoint, v), labelFix + "\n" + gatewayFix
		}
	}
	return "the Service has no " + LabelIngressUseWaypoint + "=true label", labelFix + "\n" + gatewayFix
}
