package ambient

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/install"
)

// waypoint is what istiod knows about a Gateway when it binds objects to it
// (pilot ambient waypoints.go gatewayToWaypointTransform).
type waypoint struct {
	gw          *gwv1.Gateway
	key         Key
	class       *gwv1.GatewayClass
	trafficType string
	// addressed: istiod only builds a Waypoint once the Gateway has
	// status.addresses; before that every binding is WaypointIsNotReady.
	addressed bool
	from      gwv1.FromNamespaces
	selector  labels.Selector
}

func newWaypoint(gw *gwv1.Gateway, class *gwv1.GatewayClass) *waypoint {
	w := &waypoint{gw: gw, key: Key{gw.Namespace, gw.Name}, class: class, trafficType: TrafficService}
	if class != nil {
		if tt, ok := class.Labels[LabelWaypointFor]; ok {
			w.trafficType = tt
		}
	}
	if tt, ok := gw.Labels[LabelWaypointFor]; ok {
		w.trafficType = tt
	}
	w.addressed = len(gw.Status.Addresses) > 0
	w.from = gwv1.NamespacesFromSame
	if l, ok := hboneListener(gw); ok && l.AllowedRoutes != nil && l.AllowedRoutes.Namespaces != nil {
		an := l.AllowedRoutes.Namespaces
		if an.From != nil {
			w.from = *an.From
		}
		if w.from == gwv1.NamespacesFromSelector {
			sel, err := metav1.LabelSelectorAsSelector(an.Selector)
			if err != nil {
				sel = labels.Nothing()
			}
			w.selector = sel
		}
	}
	return w
}

// hboneListener is the listener whose allowedRoutes decide who may bind.
func hboneListener(gw *gwv1.Gateway) (gwv1.Listener, bool) {
	for _, l := range gw.Spec.Listeners {
		if l.Protocol == "HBONE" && l.Port == 15008 {
			return l, true
		}
	}
	return gwv1.Listener{}, false
}

// isMeshWaypoint reports whether the Gateway is meant to be a waypoint, as
// opposed to an ingress Gateway that some label may still point at.
func isMeshWaypoint(gw *gwv1.Gateway, class *gwv1.GatewayClass) bool {
	if gw.Spec.GatewayClassName == WaypointGatewayClass {
		return true
	}
	if class != nil && class.Spec.ControllerName == MeshController {
		return true
	}
	_, labelled := gw.Labels[LabelWaypointFor]
	return labelled
}

// allows reports whether objects in ns may attach (listener allowedRoutes).
func (w *waypoint) allows(ns *corev1.Namespace, name string) bool {
	switch w.from {
	case gwv1.NamespacesFromAll:
		return true
	case gwv1.NamespacesFromSelector:
		var l map[string]string
		if ns != nil {
			l = ns.Labels
		}
		return w.selector != nil && w.selector.Matches(labels.Set(l))
	default:
		return w.key.Namespace == name
	}
}

func (w *waypoint) allowedFrom() string {
	switch w.from {
	case gwv1.NamespacesFromAll:
		return "all namespaces"
	case gwv1.NamespacesFromSelector:
		if w.selector == nil {
			return "no namespace"
		}
		return "namespaces matching " + w.selector.String()
	default:
		return "same namespace"
	}
}

// useWaypoint reads istio.io/use-waypoint (GetUseWaypoint): none opts out,
// and use-waypoint-namespace moves the lookup to another namespace.
func useWaypoint(l map[string]string, defaultNS string) (k Key, none, ok bool) {
	name, ok := l[LabelUseWaypoint]
	if !ok {
		return Key{}, false, false
	}
	if name == "none" {
		return Key{}, true, true
	}
	ns := defaultNS
	if o, set := l[LabelUseWaypointNS]; set {
		ns = o
	}
	return Key{ns, name}, false, true
}

// Binding sources: which label chose the waypoint.
const (
	sourcePod           = "pod"
	sourceService       = "service"
	sourceNamespace     = "namespace"
	sourceServiceEntry  = "serviceentry"
	sourceWorkloadEntry = "workloadentry"
)

// resolve finds the waypoint for a Service (traffic "service") or a pod
// (traffic "workload"), following fetchWaypointForTarget: the object's own
// label wins; a named waypoint that is missing or not ready is an error, not
// a fallback to the namespace's.
func (ix *index) resolve(l map[string]string, ns, source, traffic string) WaypointBinding {
	var b WaypointBinding
	k, none, ok := useWaypoint(l, ns)
	b.Source = source
	if none {
		b.Note = "opted out with istio.io/use-waypoint=none"
		return b
	}
	if !ok {
		nsObj := ix.ns[ns]
		if nsObj == nil {
			return WaypointBinding{}
		}
		k, none, ok = useWaypoint(nsObj.Labels, ns)
		if !ok {
			return WaypointBinding{}
		}
		b.Source = sourceNamespace
		if none {
			b.Note = "its namespace opts out with istio.io/use-waypoint=none"
			return b
		}
	}
	b.Waypoint = k
	w := ix.waypoints[k]
	if w == nil || !w.addressed {
		b.Reason, b.Problem = ReasonWaypointNotReady, fmt.Sprintf("waypoint %q is not ready", k.String())
		return b
	}
	if !w.allows(ix.ns[ns], ns) {
		b.Reason, b.Problem = ReasonAttachmentDenied, fmt.Sprintf("we are not permitted to attach to waypoint %q (missing allowedRoutes?)", k.String())
		return b
	}
	if w.trafficType == traffic || w.trafficType == TrafficAll {
		return b
	}
	if traffic == TrafficWorkload && b.Source == sourceNamespace {
		// A namespace waypoint that does not take workload traffic gives
		// pods and WorkloadEntries none: pod-addressed traffic goes direct.
		// From 1.30 istiod treats that as no waypoint (fetchWaypointForWorkload,
		// istio/istio#60038); before, it is an UnsupportedTrafficType error
		// that no status shows. Neither is a mistake to report.
		note := fmt.Sprintf("namespace waypoint %s takes %q traffic only, so traffic addressed to the pod skips it", k, w.trafficType)
		if !ix.v.AtLeast(1, 30) {
			return WaypointBinding{Source: sourceNamespace, Reason: ReasonUnsupportedTrafficType,
				Note: note + "; istiod " + ix.v.MinorString() + " counts it as UnsupportedTrafficType and reports it nowhere"}
		}
		return WaypointBinding{Note: note}
	}
	b.Reason, b.Problem = ReasonUnsupportedTrafficType, fmt.Sprintf("attempting to bind to traffic type %q which the waypoint %q does not support", traffic, k.String())
	return b
}

// namespaceBinding is the namespace's own label, checked for existence and
// attachment; the traffic type is checked per Service and pod.
func (ix *index) namespaceBinding(ns *corev1.Namespace) WaypointBinding {
	k, none, ok := useWaypoint(ns.Labels, ns.Name)
	if !ok {
		return WaypointBinding{}
	}
	b := WaypointBinding{Source: sourceNamespace, Waypoint: k}
	if none {
		return WaypointBinding{Source: sourceNamespace, Note: "opted out with istio.io/use-waypoint=none"}
	}
	w := ix.waypoints[k]
	switch {
	case w == nil || !w.addressed:
		b.Reason, b.Problem = ReasonWaypointNotReady, fmt.Sprintf("waypoint %q is not ready", k.String())
	case !w.allows(ns, ns.Name):
		b.Reason, b.Problem = ReasonAttachmentDenied, fmt.Sprintf("we are not permitted to attach to waypoint %q (missing allowedRoutes?)", k.String())
	}
	return b
}

// isWaypointService reports Services istiod never binds to a waypoint: those
// of waypoints and east-west gateways themselves.
func isWaypointService(s *corev1.Service) bool {
	return isGatewayManaged(s.Labels)
}

// isGatewayManaged reports the labels of a waypoint's or east-west
// gateway's own objects, which fetchWaypointForService never binds.
func isGatewayManaged(l map[string]string) bool {
	m := l[LabelGatewayManaged]
	return m == managedMeshController || m == managedEastWestController
}

// ingressUseWaypoint reads istio.io/ingress-use-waypoint on a Service or
// ServiceEntry as the installed istiod does (reference 3.4): 1.24 reads
// only the object's own label and takes only "true"; 1.25 to 1.29 fall back
// to the namespace's label and take "true" in any case; 1.30 and later
// parse with strconv.ParseBool, so 1, t and TRUE count and an unparsable
// value is false. Before 1.24 the label did not exist.
func ingressUseWaypoint(l map[string]string, ns *corev1.Namespace, v install.Version) bool {
	val, ok := l[LabelIngressUseWaypoint]
	switch {
	case !v.AtLeast(1, 24):
		return false
	case !v.AtLeast(1, 25):
		return val == "true"
	}
	if !ok && ns != nil {
		val, ok = ns.Labels[LabelIngressUseWaypoint]
	}
	if !ok {
		return false
	}
	if !v.AtLeast(1, 30) {
		return strings.EqualFold(val, "true")
	}
	b, err := strconv.ParseBool(val)
	return err == nil && b
}

// gatewayConditions returns the Gateway's Programmed state and all its
// conditions in display form.
func gatewayConditions(gw *gwv1.Gateway) (programmed bool, msg string, all []string) {
	for _, c := range gw.Status.Conditions {
		all = append(all, conditionString(c.Type, string(c.Status), c.Reason, c.Message))
		if c.Type == string(gwv1.GatewayConditionProgrammed) {
			programmed = c.Status == metav1.ConditionTrue
			msg = c.Message
		}
	}
	return programmed, msg, all
}

func conditionString(typ, status, reason, msg string) string {
	s := typ + "=" + status
	if reason != "" {
		s += " " + reason
	}
	if msg != "" {
		s += ": " + msg
	}
	return s
}

// revision is the control plane that deploys the waypoint: the Gateway's
// istio.io/rev, else its namespace's.
func revision(gw *gwv1.Gateway, ns *corev1.Namespace) string {
	if r := gw.Labels[LabelRev]; r != "" {
		return r
	}
	if ns != nil {
		return ns.Labels[LabelRev]
	}
	return ""
}

// AttachAllowed reports whether objects in namespace nsName (nsObj, nil
// when unknown) may bind to the waypoint gw: its HBONE listener's
// allowedRoutes, as istiod checks them (1.23+).
func AttachAllowed(gw *gwv1.Gateway, nsObj *corev1.Namespace, nsName string) bool {
	return newWaypoint(gw, nil).allows(nsObj, nsName)
}
