package kube

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/migration"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/ztunnel"
)

// Resource names one kind of object the Source watches.
type Resource string

// Watched resources, in the order the status line lists them.
const (
	ResNamespaces             Resource = "namespaces"
	ResPods                   Resource = "pods"
	ResServices               Resource = "services"
	ResNodes                  Resource = "nodes"
	ResNetworkPolicies        Resource = "networkpolicies"
	ResGateways               Resource = "gateways"
	ResGatewayClasses         Resource = "gatewayclasses"
	ResAuthorizationPolicies  Resource = "authorizationpolicies"
	ResPeerAuthentications    Resource = "peerauthentications"
	ResRequestAuthentications Resource = "requestauthentications"
	ResServiceEntries         Resource = "serviceentries"
	ResWorkloadEntries        Resource = "workloadentries"
	// The installation's own objects, listed by label (install.IstiodSelector,
	// DataplaneSelector, RevisionSelector), never all of them.
	ResIstiodDeployments   Resource = "deployments"
	ResDataplaneDaemonSets Resource = "daemonsets"
	ResIstioConfigMaps     Resource = "configmaps"
	ResIstioWebhooks       Resource = "mutatingwebhookconfigurations"
)

// Resources lists every watched resource.
var Resources = []Resource{ResNamespaces, ResPods, ResServices, ResNodes, ResNetworkPolicies,
	ResGateways, ResGatewayClasses, ResAuthorizationPolicies, ResPeerAuthentications, ResRequestAuthentications,
	ResServiceEntries, ResWorkloadEntries,
	ResIstiodDeployments, ResDataplaneDaemonSets, ResIstioConfigMaps, ResIstioWebhooks}

// Availability is whether a resource could be watched.
type Availability int

// Availabilities. The zero value means not yet synced.
const (
	Syncing   Availability = iota
	Available              // synced and watched
	Missing                // the API (CRD) is not installed
	Forbidden              // RBAC denies list/watch
	Failing                // other errors; Detail says which
	// Unreachable: never read, because the API server does not answer.
	// A resource read before an outage stays Available (its objects are
	// as of the last event) and the snapshot says !Reachable.
	Unreachable
)

// String is the word a pane or the findings list shows for a.
func (a Availability) String() string {
	switch a {
	case Available:
		return "synced"
	case Missing:
		return "not installed"
	case Forbidden:
		return "forbidden"
	case Failing:
		return "failing"
	case Unreachable:
		return "unreachable"
	}
	return "loading"
}

// Read reports whether the resource's objects are known: synced, or its
// API is not installed, so none of them can exist.
func (a Availability) Read() bool { return a == Available || a == Missing }

// ResourceState is the watch state of one resource.
type ResourceState struct {
	Availability Availability
	Detail       string
	// Loaded and Total count the objects while the first list of a large
	// resource (pods) arrives: Loaded received so far, Total what the
	// server said it holds (0 when not known).
	Loaded, Total int
}

// Snapshot is one immutable view of the cluster. Nothing in it may be
// modified once published: views read it without locks.
type Snapshot struct {
	ambient.Cluster
	// Mesh is the ambient analysis of Cluster.
	Mesh *ambient.Analysis
	// Findings are all findings (ambient and NetworkPolicy), most severe first.
	Findings []finding.Finding
	// Index is Findings by object and namespace (see Marks).
	Index *finding.Index
	// Ztunnel is the last round of reads of the ztunnels' own state, whose
	// drift from the API objects is in Findings (WithZtunnel); nil when
	// ambx has no way to read ztunnels.
	Ztunnel *ztunnel.Survey
	// Loads is each workload's traffic by ztunnel's metrics (WithLoads);
	// nil when they were not read.
	Loads *ztunnel.Loads
	// Components are the mesh's own pods and the would-be sidecars,
	// found once per snapshot so that pricing them on a metrics poll
	// (usage.Components.Overhead) walks no pods; nil for a snapshot made
	// by hand.
	Components *usage.Components
	// Migrations are where each namespace stands in its move from
	// sidecars to ambient, counted in Build (the same map while what it
	// counts from is the same); nil for a snapshot made by hand, which
	// whatif.Migrations counts when asked.
	Migrations map[string]migration.State
	// PodDelta says which pods' verdicts Mesh changed since the analysis
	// before it; nil for a snapshot made by Build or by hand.
	PodDelta *PodDelta
	// Versions number what some kinds of objects and their verdicts were
	// in this snapshot (see VersionsOf); nil for a snapshot made by hand.
	Versions *Versions
	// podsSorted is Pods' array and length when the builder found them
	// sorted by namespace (PodsSorted).
	podsSorted podsRef

	Context   string
	Reachable bool   // the API server answered recently
	Problem   string // why it is not reachable, when it is not
	Resources map[Resource]ResourceState
	Taken     time.Time
	// LastEvent is when the watch last delivered a change; zero when
	// none has (or for a snapshot made from objects).
	LastEvent time.Time
	Seq       uint64 // increases with every published snapshot
}

// PodDelta compares one analysis's pod verdicts with those of the one the
// same Source made before it, so a pane that built a pod's row from that
// one keeps it while the pod is the same object and not Changed, without
// looking its verdict up again.
type PodDelta struct {
	// Mesh is the analysis described: a snapshot whose Mesh is another
	// (a copy given a new one) has no delta.
	Mesh *ambient.Analysis
	// Gen names Mesh and Since the analysis before it; no two analyses,
	// of any Source, share a Gen, and none has 0.
	Gen, Since uint64
	// Changed are the pods of Mesh's cluster whose ambient.PodInfo is new
	// or not what Since said.
	Changed map[*corev1.Pod]bool
}

// PodDeltaOf returns s's pod delta, or nil when it has none for s.Mesh.
func (s *Snapshot) PodDeltaOf() *PodDelta {
	if s == nil || s.PodDelta == nil || s.Mesh == nil || s.PodDelta.Mesh != s.Mesh {
		return nil
	}
	return s.PodDelta
}

// Versions number parts of one analysis's snapshot so that a pane whose
// rows read only those parts keeps its rows while their numbers are the
// ones it built from, without comparing what they hold. Each number is
// the same as the one before it in the same Source's series only when
// what it covers compared equal, and a changed part gets a number no
// snapshot of any Source had; none is 0.
type Versions struct {
	// Mesh is the analysis described: a snapshot whose Mesh is another
	// (a copy given a new one) has no versions.
	Mesh *ambient.Analysis
	// Services covers the Service objects (the same objects in the same
	// order), their verdicts (Mesh.Services, every field), the
	// AuthorizationPolicy and RequestAuthentication objects, and the
	// verdicts (every field) of those with a targetRef of kind Service:
	// what a policy that can target a Service was judged. Verdicts of
	// selector policies, whose counts pod churn moves, are not covered.
	Services uint64
	// PodLabels covers each pod's namespace, name and labels, in order:
	// what a selector counts.
	PodLabels uint64
}

// VersionsOf returns s's versions, or nil when it has none for s.Mesh.
func (s *Snapshot) VersionsOf() *Versions {
	if s == nil || s.Versions == nil || s.Mesh == nil || s.Versions.Mesh != s.Mesh {
		return nil
	}
	return s.Versions
}

// podsRef names a pod slice by its array and length.
type podsRef struct {
	first *(*corev1.Pod)
	n     int
}

func refOf(pods []*corev1.Pod) podsRef {
	if len(pods) == 0 {
		return podsRef{}
	}
	return podsRef{&pods[0], len(pods)}
}

// PodsSorted reports whether s.Pods is known to be sorted by namespace:
// the builder checked it once, off the UI goroutine, for the slice it
// was given. A copy of s with other pods, or a snapshot made by hand, is
// not known to be (an empty slice is).
func (s *Snapshot) PodsSorted() bool {
	return s != nil && (len(s.Pods) == 0 || s.podsSorted == refOf(s.Pods))
}

// State returns the watch state of a resource.
func (s *Snapshot) State(r Resource) ResourceState {
	if s == nil || s.Resources == nil {
		return ResourceState{}
	}
	return s.Resources[r]
}

// Marks returns the findings by object and namespace: the index Build made,
// or, for a snapshot whose Findings were set by hand, a new one.
func (s *Snapshot) Marks() *finding.Index {
	if s == nil {
		return nil
	}
	if s.Index == nil {
		return finding.NewIndex(s.Findings)
	}
	return s.Index
}

// Title is the resource's kind as people write it, plural.
func (r Resource) Title() string {
	if t, ok := resourceTitles[r]; ok {
		return t
	}
	return string(r)
}

var resourceTitles = map[Resource]string{
	ResNamespaces: "Namespaces", ResPods: "Pods", ResServices: "Services", ResNodes: "Nodes",
	ResNetworkPolicies: "NetworkPolicies", ResGateways: "Gateways", ResGatewayClasses: "GatewayClasses",
	ResAuthorizationPolicies: "AuthorizationPolicies", ResPeerAuthentications: "PeerAuthentications",
	ResRequestAuthentications: "RequestAuthentications", ResServiceEntries: "ServiceEntries",
	ResWorkloadEntries: "WorkloadEntries",
}

// AllRead is every resource synced: the state of a snapshot made from
// objects handed over whole (Build, the demo).
func AllRead() map[Resource]ResourceState {
	m := make(map[Resource]ResourceState, len(Resources))
	for _, r := range Resources {
		m[r] = ResourceState{Availability: Available}
	}
	return m
}

// Gap is one input that was not read, and why.
type Gap struct {
	Resource Resource
	State    ResourceState
}

// String says it as the findings list does: "NetworkPolicies forbidden".
func (g Gap) String() string { return g.Resource.Title() + " " + g.State.Availability.String() }

// Unread returns those of rs whose objects are not known (see
// Availability.Read), in the order given.
func (s *Snapshot) Unread(rs ...Resource) []Gap {
	var out []Gap
	for _, r := range rs {
		if st := s.State(r); !st.Availability.Read() {
			out = append(out, Gap{Resource: r, State: st})
		}
	}
	return out
}

// Check is one family of the analyses' checks and what it reads: when one
// of Needs was not read, the check did not run and its silence means
// nothing.
type Check struct {
	Name  string
	Needs []Resource
}

// Checks are the analyses' families, in the order the findings list names
// them.
var Checks = []Check{
	{"enrollment checks", []Resource{ResNamespaces, ResPods}},
	{"waypoint checks", []Resource{ResNamespaces, ResPods, ResServices, ResGateways, ResGatewayClasses}},
	{"policy checks", []Resource{ResNamespaces, ResPods, ResGateways, ResAuthorizationPolicies, ResPeerAuthentications, ResRequestAuthentications}},
	{"HBONE checks", []Resource{ResNamespaces, ResPods, ResServices, ResNetworkPolicies}},
}

// Skipped is a check that did not run, and the inputs it lacked.
type Skipped struct {
	Check   string
	Missing []Gap
}

// String reads "NetworkPolicies forbidden: HBONE checks not run".
func (k Skipped) String() string {
	parts := make([]string, len(k.Missing))
	for i, g := range k.Missing {
		parts[i] = g.String()
	}
	return strings.Join(parts, ", ") + ": " + k.Check + " not run"
}

// Coverage returns the checks that could not run on this snapshot; none
// means every input of every check was read. A nil snapshot ran nothing.
func (s *Snapshot) Coverage() []Skipped {
	var out []Skipped
	for _, c := range Checks {
		if s == nil {
			out = append(out, Skipped{Check: c.Name, Missing: []Gap{{Resource: ResNamespaces}}})
			continue
		}
		if gaps := s.Unread(c.Needs...); len(gaps) > 0 {
			out = append(out, Skipped{Check: c.Name, Missing: gaps})
		}
	}
	return out
}

// Complete reports whether every check ran.
func (s *Snapshot) Complete() bool { return s != nil && len(s.Coverage()) == 0 }

// withOutage is the states a snapshot reports: while the API server does
// not answer, what has not synced yet is unreachable, not "loading" — it
// will not load until the server returns.
func withOutage(states map[Resource]ResourceState, reachable bool, problem string) map[Resource]ResourceState {
	if reachable {
		return states
	}
	for r, st := range states {
		if st.Availability == Syncing {
			states[r] = ResourceState{Availability: Unreachable, Detail: problem}
		}
	}
	return states
}

// CheckOf names the family (a Checks entry) that reports f: it did not run
// when one of that family's inputs was not read.
func CheckOf(f finding.Finding) string {
	code := f.Code
	switch {
	case f.Object.Kind == "NetworkPolicy":
		return "HBONE checks"
	case strings.HasPrefix(code, "waypoint-"), strings.HasPrefix(code, "ztunnel-service-"):
		return "waypoint checks"
	case strings.HasPrefix(code, "policy-"), strings.HasPrefix(code, "ztunnel-policy-"), strings.HasPrefix(code, "peerauthentication-"), strings.HasPrefix(code, "requestauthentication-"):
		return "policy checks"
	}
	return "enrollment checks"
}

// DropUnchecked removes the findings of checks that did not run: a
// waypoint "with no ready pods" when pods were never read is not a
// finding but a guess, and the findings list already says the check did
// not run. The Source calls it on every snapshot it builds; a snapshot
// made by hand calls it after setting Resources, before it is shared.
func (s *Snapshot) DropUnchecked() {
	skipped := map[string]bool{}
	for _, k := range s.Coverage() {
		skipped[k.Check] = true
	}
	if len(skipped) == 0 {
		return
	}
	kept := make([]finding.Finding, 0, len(s.Findings))
	for _, f := range s.Findings {
		if !skipped[CheckOf(f)] {
			kept = append(kept, f)
		}
	}
	s.Findings = kept
	s.Index = finding.NewIndex(kept)
}
