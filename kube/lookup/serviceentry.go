package lookup

import (
	"fmt"

	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
)

// ServiceEntryWaypoint resolves the waypoint istiod binds a ServiceEntry to
// (fetchWaypointForTarget, service traffic): its own istio.io/use-waypoint
// label, else its namespace's; "none" opts out; a named waypoint that is
// missing or not ready, takes no service traffic, or whose listener does not
// admit the namespace is an error, not a fallback. From 1.31 a ServiceEntry
// exported only to its own namespace may not bind a waypoint elsewhere.
func ServiceEntryWaypoint(s *kube.Snapshot, se *netv1.ServiceEntry) ambient.WaypointBinding {
	if s == nil || s.Mesh == nil || se == nil {
		return ambient.WaypointBinding{}
	}
	switch se.Labels[ambient.LabelGatewayManaged] {
	case "istio.io-mesh-controller", "istio.io-eastwest-controller":
		return ambient.WaypointBinding{Note: "belongs to a waypoint or east-west gateway: never bound"}
	}
	var nsObj *corev1.Namespace
	for _, n := range s.Namespaces {
		if n != nil && n.Name == se.Namespace {
			nsObj = n
		}
	}
	b := ambient.WaypointBinding{Source: "serviceentry"}
	k, none, ok := useWaypoint(se.Labels, se.Namespace)
	if !ok && nsObj != nil {
		k, none, ok = useWaypoint(nsObj.Labels, se.Namespace)
		b.Source = "namespace"
	}
	switch {
	case !ok:
		return ambient.WaypointBinding{}
	case none && b.Source == "namespace":
		b.Note = "its namespace opts out with istio.io/use-waypoint=none"
		return b
	case none:
		b.Note = "opted out with istio.io/use-waypoint=none"
		return b
	}
	b.Waypoint = k
	w, found := s.Mesh.Waypoint(k)
	var gwOK bool
	for _, gw := range s.Gateways {
		if gw != nil && gw.Namespace == k.Namespace && gw.Name == k.Name {
			gwOK = ambient.AttachAllowed(gw, nsObj, se.Namespace)
		}
	}
	switch {
	case !found || !w.Addressed:
		b.Reason, b.Problem = ambient.ReasonWaypointNotReady, fmt.Sprintf("waypoint %q is not ready", k.String())
	case !gwOK:
		b.Reason, b.Problem = ambient.ReasonAttachmentDenied, fmt.Sprintf("we are not permitted to attach to waypoint %q (missing allowedRoutes?)", k.String())
	case w.For != ambient.TrafficService && w.For != ambient.TrafficAll:
		b.Reason, b.Problem = ambient.ReasonUnsupportedTrafficType, fmt.Sprintf("attempting to bind to traffic type %q which the waypoint %q does not support", ambient.TrafficService, k.String())
	case k.Namespace != se.Namespace && namespaceVisible(se) && s.Install.Effective().AtLeast(1, 31):
		b.Reason, b.Problem = "CrossNamespaceWaypointForbidden", fmt.Sprintf("cannot bind to waypoint %q in another namespace: cross-namespace waypoint binding is not permitted for a ServiceEntry with NAMESPACE visibility", k.String())
	}
	return b
}

// namespaceVisible reports a ServiceEntry exported only to its namespace.
func namespaceVisible(se *netv1.ServiceEntry) bool {
	ex := se.Spec.GetExportTo()
	return len(ex) == 1 && ex[0] == "."
}

// useWaypoint reads istio.io/use-waypoint and use-waypoint-namespace.
func useWaypoint(l map[string]string, ns string) (k ambient.Key, none, ok bool) {
	name, ok := l[ambient.LabelUseWaypoint]
	if !ok {
		return ambient.Key{}, false, false
	}
	if name == "none" {
		return ambient.Key{}, true, true
	}
	if o, set := l[ambient.LabelUseWaypointNS]; set {
		ns = o
	}
	return ambient.Key{Namespace: ns, Name: name}, false, true
}
