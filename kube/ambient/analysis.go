package ambient

import "github.com/ambx/ambx/kube/finding"

// PodState is what ambient mode actually does with a pod.
type PodState string

// Pod states, as shown in the Workloads pane.
const (
	PodCaptured     PodState = "ambient"   // istio-cni redirected it and a ztunnel accepted it
	PodPending      PodState = "pending"   // redirected but no ztunnel accepted it: no traffic flows
	PodSidecar      PodState = "sidecar"   // has an istio-proxy sidecar (wins over ambient)
	PodOptedOut     PodState = "opted-out" // istio.io/dataplane-mode=none on the pod
	PodNeedsRestart PodState = "restart"   // should be captured by its labels but is not
	PodNotMeshed    PodState = "off"       // not in the mesh
	PodHostNetwork  PodState = "host-net"  // host-network pods are never captured
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
	EnforcedByNone     Enforcement = "none" // ignored in ambient (e.g. selector RequestAuthentication)
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

// WaypointBinding says which waypoint serves an object and why.
type WaypointBinding struct {
	Waypoint Key    // zero when none
	Source   string // "pod", "service", "namespace" or "" (which label chose it)
	Problem  string // non-empty when the requested waypoint cannot be used (istiod's status message)
}

// Bound reports whether a usable waypoint serves the object.
func (b WaypointBinding) Bound() bool { return b.Waypoint.Name != "" && b.Problem == "" }

// PodInfo is the analysis of one pod.
type PodInfo struct {
	State    PodState
	Reason   string // one sentence on how the state was decided
	Waypoint WaypointBinding
}

// NamespaceInfo is the analysis of one namespace.
type NamespaceInfo struct {
	State    NamespaceState
	Pods     int
	Counts   map[PodState]int
	Waypoint WaypointBinding // from the namespace's own use-waypoint label
	Policies int             // AuthorizationPolicy, PeerAuthentication, RequestAuthentication
}

// Captured returns how many pods ambient captured.
func (n NamespaceInfo) Captured() int { return n.Counts[PodCaptured] }

// ServiceInfo is the analysis of one Service.
type ServiceInfo struct {
	Waypoint WaypointBinding
}

// WaypointInfo is the analysis of one waypoint Gateway.
type WaypointInfo struct {
	Key           Key
	For           string // effective istio.io/waypoint-for: service, workload, all, none
	Programmed    bool
	ProgrammedMsg string
	Ready         int // ready waypoint pods
	Replicas      int // waypoint pods
	Services      []Key
	Workloads     []Key
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
}

// Analysis is everything the analysis found, keyed for the panes.
type Analysis struct {
	Pods       map[Key]PodInfo
	Namespaces map[string]NamespaceInfo
	Services   map[Key]ServiceInfo
	Waypoints  []WaypointInfo // sorted by key
	Policies   []PolicyInfo   // sorted by kind, namespace, name
	Findings   []finding.Finding
}

// Waypoint returns the waypoint with the given key.
func (a *Analysis) Waypoint(k Key) (WaypointInfo, bool) {
	for _, w := range a.Waypoints {
		if w.Key == k {
			return w, true
		}
	}
	return WaypointInfo{}, false
}
