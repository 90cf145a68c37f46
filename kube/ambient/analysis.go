package ambient

import (
	"sort"
	"time"

	"github.com/ambx/ambx/kube/finding"
)

// PodState is what ambient mode actually does with a pod.
type PodState string

// Pod states, as shown in the Workloads pane.
const (
	PodCaptured     PodState = "ambient"    // istio-cni redirected it and a ztunnel accepted it
	PodPending      PodState = "pending"    // redirected but no ztunnel accepted it: no traffic flows
	PodSidecar      PodState = "sidecar"    // has an istio-proxy sidecar (wins over ambient)
	PodOptedOut     PodState = "opted-out"  // istio.io/dataplane-mode=none on the pod
	PodNeedsRestart PodState = "restart"    // should be captured, istio-cni on its node is ready, and yet it is not: a non-retryable capture error
	PodUncaptured   PodState = "uncaptured" // should be captured but is not, for a reason a restart does not fix (istio-cni missing, not ready, disabled; not started)
	PodNotMeshed    PodState = "off"        // not in the mesh
	PodHostNetwork  PodState = "host-net"   // host-network pods are never captured
)

// NamespaceState is a namespace's enrollment, from its labels and its pods.
type NamespaceState string

// Namespace states, as shown in the Namespaces pane.
const (
	NamespaceAmbient NamespaceState = "ambient"
	NamespaceSidecar NamespaceState = "sidecar"
	NamespaceMixed   NamespaceState = "mixed" // both labels, or a migration in progress
	NamespaceOff     NamespaceState = "off"
)

// Enforcement is where Istio enforces a policy.
type Enforcement string

// Enforcement points.
const (
	EnforcedByZtunnel  Enforcement = "ztunnel"
	EnforcedByWaypoint Enforcement = "waypoint"
	EnforcedByNone     Enforcement = "none"    // ignored in ambient (e.g. selector RequestAuthentication)
	EnforcedBySidecar  Enforcement = "sidecar" // selects only sidecar pods: their Envoy enforces it, not ambient
	EnforcedByGateway  Enforcement = "gateway" // Gateway API ingress pods (selector or a targetRef to their Gateway): their Envoy enforces it
)

// Layer is the OSI layer a policy's rules need.
type Layer string

// Layers.
const (
	L4 Layer = "L4"
	L7 Layer = "L7"
)

// Key identifies a namespaced object; its String form is "ns/name".
type Key struct{ Namespace, Name string }

// String returns ns/name.
func (k Key) String() string { return k.Namespace + "/" + k.Name }

func keyLess(a, b Key) bool {
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	return a.Name < b.Name
}

func policyLess(kindA string, a Key, kindB string, b Key) bool {
	if kindA != kindB {
		return kindA < kindB
	}
	return keyLess(a, b)
}

// WaypointBinding says which waypoint serves an object and why.
type WaypointBinding struct {
	Waypoint Key    // the requested waypoint; zero when none
	Source   string // "pod", "service", "namespace" or "" (which label chose it)
	Problem  string // non-empty when the requested waypoint cannot be used (istiod's status message)
	Reason   string // istiod's reason for Problem: WaypointIsNotReady, AttachmentDenied, UnsupportedTrafficType
	Note     string // why there is no waypoint although a label asked about one (opt-out, type skipped)
}

// Bound reports whether a usable waypoint serves the object.
func (b WaypointBinding) Bound() bool { return b.Waypoint.Name != "" && b.Problem == "" }

// PodInfo is the analysis of one pod.
type PodInfo struct {
	State    PodState
	Reason   string          // one sentence on how the state was decided
	Waypoint WaypointBinding // workload waypoint; resolved only for pods ambient handles (captured, pending, restart)
	Protocol string          // how ztunnel reaches it: HBONE or TCP
	Owner    string          // controlling workload as kind/name (deployment/reviews-v1), or pod/<name>
	// MTLS is the effective PeerAuthentication outcome, for pods ambient
	// handles; the zero value (PERMISSIVE by default) when none exists.
	MTLS MTLS
}

// NamespaceInfo is the analysis of one namespace.
type NamespaceInfo struct {
	State    NamespaceState
	Reason   string // one sentence on how the state was decided
	Pods     int
	Counts   map[PodState]int
	Waypoint WaypointBinding // from the namespace's own use-waypoint label
	Policies int             // AuthorizationPolicy, PeerAuthentication, RequestAuthentication
	Enrolled bool            // labelled istio.io/dataplane-mode=ambient
	Injected bool            // labelled istio-injection=enabled or istio.io/rev
	Excluded bool            // istio-cni never captures pods here (kube-system)
}

// Captured returns how many pods ambient captured.
func (n NamespaceInfo) Captured() int { return n.Counts[PodCaptured] }

// ServiceInfo is the analysis of one Service.
type ServiceInfo struct {
	Waypoint           WaypointBinding
	IsWaypoint         bool     // the Service of a waypoint or east-west gateway: never bound to a waypoint
	IngressUseWaypoint bool     // istio.io/ingress-use-waypoint as the installed istiod reads it (ingressUseWaypoint)
	Conditions         []string // istiod's status conditions, "Type=Status Reason: message"
	// WaypointMissing is the istio.io/WaypointMissing condition the
	// installed istiod writes on a ServiceEntry (1.28+); nil when none.
	WaypointMissing *WaypointMissing
}

// WorkloadEntryInfo is the analysis of one WorkloadEntry: istiod resolves
// its workload waypoint like a pod's, and from 1.30 writes WaypointBound on
// it.
type WorkloadEntryInfo struct {
	Waypoint   WaypointBinding
	Conditions []string // istiod's status conditions, "Type=Status Reason: message"
}

// WaypointInfo is the analysis of one waypoint Gateway.
type WaypointInfo struct {
	Key           Key
	Class         string
	For           string // effective istio.io/waypoint-for: Gateway label > GatewayClass label > service
	Revision      string // istio.io/rev of the Gateway, else of its namespace; empty for the default
	Programmed    bool
	ProgrammedMsg string
	Addressed     bool // has status.addresses: only then does istiod bind anything to it
	Ready         int  // ready waypoint pods
	Replicas      int  // waypoint pods
	AllowedFrom   string
	Services      []Key // Services bound to it, sorted
	Workloads     []Key // pods bound to it, sorted
	// ServiceEntries and WorkloadEntries bound to it, sorted.
	ServiceEntries, WorkloadEntries []Key
	Namespaces                      []string // namespaces whose use-waypoint label names it, sorted
	Conditions                      []string // the Gateway's status conditions, "Type=Status Reason: message"
}

// PolicyInfo is the analysis of one policy.
type PolicyInfo struct {
	Kind        string // AuthorizationPolicy, PeerAuthentication, RequestAuthentication
	Key         Key
	Target      string // "namespace", "mesh", "selector app=x", "Service/foo", ...
	Action      string // ALLOW, DENY, CUSTOM, AUDIT, STRICT, ...
	EnforcedBy  Enforcement
	Layer       Layer
	Effect      string   // what Istio will actually do, when it differs from what was written
	L7Fields    []string // L7 attributes found, sorted
	Conditions  []string // istiod's status conditions, "Type=Status Reason: message"
	HasFindings bool
	// Selected counts the pods a selector or namespace-wide policy applies to,
	// by what enforces it for them; zero for targetRefs policies.
	// SelectedAmbient counts captured pods only: SelectedUncaptured are
	// those ambient should carry but does not, so nothing enforces it there.
	SelectedAmbient, SelectedUncaptured, SelectedSidecar, SelectedGateway, SelectedOther int
	// BoundTo lists what a targetRefs policy is attached to: waypoints as
	// ns/name, or GatewayClass names.
	BoundTo []string
}

// Analysis is everything the analysis found, keyed for the panes.
type Analysis struct {
	Pods       map[Key]PodInfo
	Namespaces map[string]NamespaceInfo
	Services   map[Key]ServiceInfo
	// ServiceEntries are bound to waypoints like Services (service
	// traffic); WorkloadEntries like pods (workload traffic).
	ServiceEntries  map[Key]ServiceInfo
	WorkloadEntries map[Key]WorkloadEntryInfo
	Waypoints       []WaypointInfo // sorted by key
	Policies        []PolicyInfo   // sorted by kind, namespace, name
	Findings        []finding.Finding
	// Recheck is when a verdict changes with no change to the cluster (a
	// pod's capture grace ends): the Source analyses again then. Zero when
	// nothing depends on the clock.
	Recheck time.Time
}

// Policy returns the policy of the given kind and key.
func (a *Analysis) Policy(kind string, k Key) (PolicyInfo, bool) {
	i := sort.Search(len(a.Policies), func(i int) bool { return !policyLess(a.Policies[i].Kind, a.Policies[i].Key, kind, k) })
	if i < len(a.Policies) && a.Policies[i].Kind == kind && a.Policies[i].Key == k {
		return a.Policies[i], true
	}
	return PolicyInfo{}, false
}

// BoundObjects counts what is bound to the waypoint: Services, pods,
// ServiceEntries and WorkloadEntries.
func (w WaypointInfo) BoundObjects() int {
	return len(w.Services) + len(w.Workloads) + len(w.ServiceEntries) + len(w.WorkloadEntries)
}

// Waypoint returns the waypoint with the given key.
func (a *Analysis) Waypoint(k Key) (WaypointInfo, bool) {
	i := sort.Search(len(a.Waypoints), func(i int) bool { return !keyLess(a.Waypoints[i].Key, k) })
	if i < len(a.Waypoints) && a.Waypoints[i].Key == k {
		return a.Waypoints[i], true
	}
	return WaypointInfo{}, false
}
