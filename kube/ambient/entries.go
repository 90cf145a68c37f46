package ambient

import (
	"fmt"
	"strings"

	typev1beta1 "istio.io/api/type/v1beta1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/ambx/ambx/kube/finding"
)

// ConditionWaypointMissing is the condition istiod writes on a ServiceEntry
// that needs a waypoint to do what it says and has none (1.28+).
const ConditionWaypointMissing = "istio.io/WaypointMissing"

// WaypointMissing reasons, as istiod writes them.
const (
	// ReasonNoWaypointForWildcard: a wildcard host, which ambient clients
	// can only reach through a waypoint (1.28+).
	ReasonNoWaypointForWildcard = "NoWaypointForWildcardService"
	// ReasonNoWaypointForRacing: a non-default connect strategy, which only
	// a waypoint's Envoy carries out (1.30+).
	ReasonNoWaypointForRacing = "NoWaypointForRacingConnectStrategy"
)

// AnnotationConnectStrategy selects how Envoy connects to a DNS
// ServiceEntry's addresses (1.30+): RACE_FIRST_TCP_CONNECT races them.
const AnnotationConnectStrategy = "istio.io/connect-strategy"

const connectStrategyRace = "RACE_FIRST_TCP_CONNECT"

// istiod's WaypointMissing messages (pilot/pkg/model/service.go GetConditions).
const (
	msgNoWaypointForWildcard = "ServiceEntry will not apply until it is bound to a valid waypoint."
	msgNoWaypointForRacing   = "ServiceEntry has a non-default connect strategy but no waypoint bound. " +
		"A waypoint is required for connect strategies to take effect for ambient clients."
)

// WaypointMissing is the istio.io/WaypointMissing condition istiod writes
// on a ServiceEntry it has no valid waypoint for, and why ambient traffic
// misses what the entry asks for.
type WaypointMissing struct {
	Reason  string
	Message string
	// Wildcards are the entry's wildcard hosts; Racing says it asks to
	// race its addresses. Both can hold; Reason is the one istiod writes,
	// the connect strategy overriding the wildcard.
	Wildcards []string
	Racing    bool
}

// waypointMissing is GetConditions' WaypointMissing for a ServiceEntry
// istiod publishes with binding b: every host of the entry becomes one
// ServiceInfo, and one without a waypoint gets the condition when the host
// is a wildcard (1.28+) or when the entry races its connections (1.30+).
// nil when istiod writes none.
func (ix *index) waypointMissing(se *netv1.ServiceEntry, b WaypointBinding) *WaypointMissing {
	if b.Bound() || !ix.v.AtLeast(1, 28) || len(se.Spec.GetHosts()) == 0 {
		return nil
	}
	var m WaypointMissing
	for _, h := range se.Spec.GetHosts() {
		if strings.HasPrefix(h, "*") {
			m.Wildcards = append(m.Wildcards, h)
		}
	}
	m.Racing = ix.v.AtLeast(1, 30) && strings.EqualFold(se.Annotations[AnnotationConnectStrategy], connectStrategyRace)
	switch {
	case m.Racing:
		m.Reason, m.Message = ReasonNoWaypointForRacing, msgNoWaypointForRacing
	case len(m.Wildcards) > 0:
		m.Reason, m.Message = ReasonNoWaypointForWildcard, msgNoWaypointForWildcard
	default:
		return nil
	}
	return &m
}

// waypointMissingFinding reports a ServiceEntry istiod marks
// WaypointMissing, in istiod's words, with what it means for traffic. A
// binding that failed is already reported where its fix is; this adds
// nothing to it.
func (ix *index) waypointMissingFinding(se *netv1.ServiceEntry, b WaypointBinding, m *WaypointMissing) {
	if m == nil || b.Problem != "" {
		return
	}
	var effects []string
	if len(m.Wildcards) > 0 {
		effects = append(effects, fmt.Sprintf("Until then ambient clients reach %s as if the entry did not exist: ztunnel matches traffic by address, not by a wildcard host name; a waypoint matches the name.", listSome(m.Wildcards)))
	}
	if m.Racing {
		effects = append(effects, fmt.Sprintf("Only a waypoint's Envoy honours %s=%q: ztunnel does not race the addresses for ambient clients.", AnnotationConnectStrategy, se.Annotations[AnnotationConnectStrategy]))
	}
	sev := finding.Warning
	if m.Reason == ReasonNoWaypointForRacing && len(m.Wildcards) == 0 {
		sev = finding.Info
	}
	fix := fmt.Sprintf("istioctl waypoint apply -n %s --wait\nkubectl label serviceentry %s -n %s %s=waypoint --overwrite", se.Namespace, se.Name, se.Namespace, LabelUseWaypoint)
	if m.Racing && len(m.Wildcards) == 0 {
		fix += fmt.Sprintf("\n# or drop the strategy:\nkubectl annotate serviceentry %s -n %s %s-", se.Name, se.Namespace, AnnotationConnectStrategy)
	}
	ix.add(sev, "serviceentry-waypoint-missing", ix.ref(KindServiceEntry, se.Namespace, se.Name),
		fmt.Sprintf("ServiceEntry %s has no waypoint (%s)", se.Name, m.Reason),
		fmt.Sprintf("istiod: %q %s", m.Message, strings.Join(effects, " ")),
		fix)
}

// statusShown reports whether istiod writes the WaypointBound condition on
// an object of this kind: Services and ServiceEntries from 1.24,
// WorkloadEntries from 1.30 (computeWaypoint's error was dropped before),
// Pods and Namespaces never.
func (ix *index) statusShown(kind string) bool {
	switch kind {
	case "Service", KindServiceEntry:
		return true
	case KindWorkloadEntry:
		return ix.v.AtLeast(1, 30)
	}
	return false
}

// refusedWhere says where istiod's refusal of a binding (reason) on an
// object of kind shows: "reports" in the object's WaypointBound condition,
// or nowhere.
func (ix *index) refusedWhere(kind, reason string) string {
	if ix.statusShown(kind) {
		return "istiod reports " + reason // in the object's WaypointBound condition
	}
	switch kind {
	case KindWorkloadEntry:
		return fmt.Sprintf("istiod %s refuses it (%s) but writes no status on WorkloadEntries (from 1.30 it does)", ix.v.MinorString(), reason)
	case "Namespace":
		on := "Services and ServiceEntries"
		if ix.v.AtLeast(1, 30) {
			on = "Services, ServiceEntries and WorkloadEntries"
		}
		return fmt.Sprintf("istiod refuses it (%s) for every object that inherits the label and writes it only on their %s", reason, on)
	}
	return fmt.Sprintf("istiod refuses it (%s) but writes no status on a %s", reason, kind)
}

// targetRef groups istiod's ShouldAttachPolicy matches (matchesGroupKind,
// every release): a kind under another group attaches to nothing, though
// the WaypointAccepted status, which switches on the kind alone, calls it
// bound.
var targetRefGroups = map[string]string{
	"Gateway":        "gateway.networking.k8s.io",
	"GatewayClass":   "gateway.networking.k8s.io",
	KindServiceEntry: "networking.istio.io",
	"Service":        "core",
}

// refGroupProblem says why a targetRef of a known kind attaches to nothing
// by its group; "" when the group is right or the kind is not one istiod
// knows (targets reports those).
func refGroupProblem(r *typev1beta1.PolicyTargetReference) string {
	want, ok := targetRefGroups[r.GetKind()]
	if !ok {
		return ""
	}
	group := r.GetGroup()
	if group == "" {
		group = "core"
	}
	if group != want {
		return fmt.Sprintf("targetRef %s/%s has group %q, not %q: istiod attaches it to nothing (its status may still say bound)", r.GetKind(), r.GetName(), r.GetGroup(), want)
	}
	return ""
}

// gatewayClassRefProblem is what keeps a GatewayClass targetRef from
// attaching beyond what its status says: before 1.25 istiod knows no such
// targetRef (status "not bound"), and ShouldAttachPolicy attaches one only
// for the istio-waypoint class, whatever other class the mesh controller
// runs.
func (ix *index) gatewayClassRefProblem(name string) string {
	if !ix.v.AtLeast(1, 25) {
		return fmt.Sprintf("istiod %s does not attach policies to a GatewayClass (1.25 and later do)", ix.v.MinorString())
	}
	if name != WaypointGatewayClass {
		return fmt.Sprintf("istiod attaches GatewayClass targetRefs only for %s, not %s (its status may still say bound)", WaypointGatewayClass, name)
	}
	return ""
}

// classBinding is how targets lists a policy bound through the
// istio-waypoint GatewayClass: it applies at every waypoint.
const classBinding = "GatewayClass/" + WaypointGatewayClass

// unshownNote says which refused objects carry no status that shows the
// refusal (pods always, WorkloadEntries before 1.30), so the user does not
// look for a condition istiod never writes.
func (ix *index) unshownNote(objs []string) string {
	if len(objs) == 0 {
		return ""
	}
	return fmt.Sprintf(" istiod %s writes no status on %s: only this finding shows it.", ix.v.MinorString(), listSome(objs))
}
