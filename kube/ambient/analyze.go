package ambient

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Well-known labels and annotations (see ambient-reference.md 1.1).
const (
	LabelDataplaneMode     = "istio.io/dataplane-mode"
	AnnotationRedirection  = "ambient.istio.io/redirection"
	LabelInjection         = "istio-injection"
	LabelRev               = "istio.io/rev"
	LabelUseWaypoint       = "istio.io/use-waypoint"
	LabelUseWaypointNS     = "istio.io/use-waypoint-namespace"
	LabelWaypointFor       = "istio.io/waypoint-for"
	AnnotationSidecarState = "sidecar.istio.io/status"
)

// Analyze computes the analysis of a cluster. It is deterministic and does
// not modify its input.
func Analyze(c *Cluster) *Analysis {
	a := &Analysis{
		Pods:       make(map[Key]PodInfo, len(c.Pods)),
		Namespaces: make(map[string]NamespaceInfo, len(c.Namespaces)),
		Services:   make(map[Key]ServiceInfo, len(c.Services)),
	}
	nsByName := make(map[string]*corev1.Namespace, len(c.Namespaces))
	for _, ns := range c.Namespaces {
		nsByName[ns.Name] = ns
		a.Namespaces[ns.Name] = NamespaceInfo{State: namespaceState(ns), Counts: map[PodState]int{}}
	}
	for _, p := range c.Pods {
		info := PodInfo{State: podState(p, nsByName[p.Namespace])}
		a.Pods[Key{p.Namespace, p.Name}] = info
		n := a.Namespaces[p.Namespace]
		if n.Counts == nil {
			n.Counts = map[PodState]int{}
		}
		n.Pods++
		n.Counts[info.State]++
		a.Namespaces[p.Namespace] = n
	}
	for _, gw := range c.Gateways {
		if string(gw.Spec.GatewayClassName) != "istio-waypoint" {
			continue
		}
		w := WaypointInfo{Key: Key{gw.Namespace, gw.Name}, For: gw.Labels[LabelWaypointFor]}
		if w.For == "" {
			w.For = "service"
		}
		for _, cond := range gw.Status.Conditions {
			if cond.Type == "Programmed" {
				w.Programmed = cond.Status == "True"
				w.ProgrammedMsg = cond.Message
			}
		}
		a.Waypoints = append(a.Waypoints, w)
	}
	sort.Slice(a.Waypoints, func(i, j int) bool { return a.Waypoints[i].Key.String() < a.Waypoints[j].Key.String() })
	for _, p := range c.AuthorizationPolicies {
		pi := PolicyInfo{Kind: "AuthorizationPolicy", Key: Key{p.Namespace, p.Name}, Action: p.Spec.Action.String(), EnforcedBy: EnforcedByZtunnel, Layer: L4, Target: "namespace"}
		if len(p.Spec.TargetRefs) > 0 || p.Spec.TargetRef != nil {
			pi.EnforcedBy = EnforcedByWaypoint
		}
		a.Policies = append(a.Policies, pi)
		countPolicy(a, p.Namespace)
	}
	for _, p := range c.PeerAuthentications {
		a.Policies = append(a.Policies, PolicyInfo{Kind: "PeerAuthentication", Key: Key{p.Namespace, p.Name}, EnforcedBy: EnforcedByZtunnel, Layer: L4, Target: "namespace"})
		countPolicy(a, p.Namespace)
	}
	for _, p := range c.RequestAuthentications {
		a.Policies = append(a.Policies, PolicyInfo{Kind: "RequestAuthentication", Key: Key{p.Namespace, p.Name}, EnforcedBy: EnforcedByWaypoint, Layer: L7, Target: "namespace"})
		countPolicy(a, p.Namespace)
	}
	return a
}

func countPolicy(a *Analysis, ns string) {
	n := a.Namespaces[ns]
	n.Policies++
	a.Namespaces[ns] = n
}

func namespaceState(ns *corev1.Namespace) NamespaceState {
	amb := ns.Labels[LabelDataplaneMode] == "ambient"
	side := ns.Labels[LabelInjection] == "enabled" || ns.Labels[LabelRev] != ""
	switch {
	case amb && side:
		return NamespaceMixed
	case amb:
		return NamespaceAmbient
	case side:
		return NamespaceSidecar
	}
	return NamespaceOff
}

func podState(p *corev1.Pod, ns *corev1.Namespace) PodState {
	for _, c := range p.Spec.Containers {
		if c.Name == "istio-proxy" && p.Annotations[AnnotationSidecarState] != "" {
			return PodSidecar
		}
	}
	switch p.Annotations[AnnotationRedirection] {
	case "enabled":
		return PodCaptured
	case "pending":
		return PodPending
	}
	if p.Spec.HostNetwork {
		return PodHostNetwork
	}
	if p.Labels[LabelDataplaneMode] == "none" {
		return PodOptedOut
	}
	if p.Labels[LabelDataplaneMode] == "ambient" || (ns != nil && ns.Labels[LabelDataplaneMode] == "ambient") {
		return PodNeedsRestart
	}
	return PodNotMeshed
}
