// Package audit is `ambx audit`: the report of everything ambx computed
// about a mesh (findings with why and fix, the installation, and per
// object the verdicts: capture state, waypoint binding and why, policy
// enforcement point and layer, HBONE checks), in a stable schema other
// tools can compare (SCHEMA.md), and its renderings: table, markdown,
// JSON, YAML and SARIF 2.1.0. It is pure: it reads a kube.Snapshot,
// whether a live cluster or manifests filled it.
package audit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/manifest"
)

// SchemaVersion names the report's schema. It changes only when a field
// changes meaning or goes away; new fields may appear without a change.
const SchemaVersion = "ambx.audit/v1"

// Results.
const (
	ResultClean    = "clean"    // every resource read, no error or warning
	ResultFindings = "findings" // every resource read, some error or warning
	ResultPartial  = "partial"  // something was not read: no clean bill is possible
)

// Report is one audit. Every list is sorted, so two reports of the same
// state are byte-identical and diff cleanly; it holds no timestamps.
type Report struct {
	Schema   string    `json:"schema"`
	Tool     Tool      `json:"tool"`
	Source   Source    `json:"source"`
	Scope    []string  `json:"scope"` // namespaces audited; empty means all
	Result   string    `json:"result"`
	Summary  Summary   `json:"summary"`
	Unread   []Unread  `json:"unread"` // resources not read, why: they make the result partial
	Notes    []string  `json:"notes"`
	Install  *Install  `json:"install,omitempty"`
	Findings []Finding `json:"findings"`
	Verdicts Verdicts  `json:"verdicts"`
}

// Tool is the program that wrote the report.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Source is what was audited.
type Source struct {
	Kind    string   `json:"kind"`              // "cluster" or "files"
	Context string   `json:"context,omitempty"` // kubeconfig context, for a cluster
	Files   []string `json:"files,omitempty"`   // paths given, for files
}

// Summary counts findings by severity.
type Summary struct {
	Errors   int `json:"errors"`
	Warnings int `json:"warnings"`
	Infos    int `json:"infos"`
}

// Unread is a resource ambx could not read.
type Unread struct {
	Resource string `json:"resource"`
	State    string `json:"state"` // not-synced, forbidden, failing, unreachable
	Detail   string `json:"detail,omitempty"`
}

// Install is the Istio installation found.
type Install struct {
	Istiod             string      `json:"istiod"` // version read, "" when unknown
	Ztunnel            string      `json:"ztunnel"`
	CNI                string      `json:"cni"`
	Effective          string      `json:"effective"` // the version verdicts follow
	Assumed            bool        `json:"assumed"`   // Effective is a guess: istiod's version was not read
	Switches           []Switch    `json:"switches"`
	ExcludedNamespaces []string    `json:"excludedNamespaces"`
	Revision           string      `json:"revision,omitempty"`
	IstiodNamespace    string      `json:"istiodNamespace,omitempty"`
	ZtunnelNamespace   string      `json:"ztunnelNamespace,omitempty"`
	RootNamespace      string      `json:"rootNamespace,omitempty"`
	Components         []Component `json:"components"`
	// Problems say what of the installation could not be read.
	Problems []string `json:"problems"`
}

// Component is one istiod Deployment or ztunnel / istio-cni DaemonSet.
type Component struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Revision  string `json:"revision"`
	Image     string `json:"image"`
	Version   string `json:"version"`
	Desired   int32  `json:"desired"`
	Ready     int32  `json:"ready"`
}

// Switch is one istiod switch that changes verdicts.
type Switch struct {
	Name  string `json:"name"`
	Value bool   `json:"value"` // effective value
	Set   string `json:"set,omitempty"`
}

// Finding is one problem.
type Finding struct {
	Severity string   `json:"severity"` // error, warning, info
	Code     string   `json:"code"`     // stable identifier, e.g. hbone-blocked
	Object   Object   `json:"object"`
	Title    string   `json:"title"`
	Why      string   `json:"why"`
	Fix      string   `json:"fix"`
	Patch    string   `json:"patch,omitempty"` // a command that applies the fix, when one exists
	Location Location `json:"location,omitzero"`
}

// Object names a Kubernetes object.
type Object struct {
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// Location is where, in the manifests audited, a finding's object (or the
// field to change) is.
type Location struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
}

// Verdicts are ambx's judgement of each object.
type Verdicts struct {
	Namespaces      []Namespace     `json:"namespaces"`
	Pods            []Pod           `json:"pods"`
	Services        []Service       `json:"services"`
	Waypoints       []Waypoint      `json:"waypoints"`
	Policies        []Policy        `json:"policies"`
	NetworkPolicies []NetworkPolicy `json:"networkPolicies"`
}

// Namespace is a namespace's enrollment.
type Namespace struct {
	Name     string   `json:"name"`
	State    string   `json:"state"` // ambient, sidecar, mixed, off
	Reason   string   `json:"reason"`
	Pods     int      `json:"pods"`
	Captured int      `json:"captured"`
	Waypoint *Binding `json:"waypoint,omitempty"`
}

// Pod is a pod's capture state and waypoint.
type Pod struct {
	Namespace string   `json:"namespace"`
	Name      string   `json:"name"`
	Owner     string   `json:"owner"`
	State     string   `json:"state"` // ambient, pending, sidecar, opted-out, restart, off, host-net
	Reason    string   `json:"reason"`
	Protocol  string   `json:"protocol"` // how ztunnel reaches it: HBONE or TCP
	MTLS      string   `json:"mtls,omitempty"`
	Waypoint  *Binding `json:"waypoint,omitempty"`
}

// Binding is a waypoint binding and why.
type Binding struct {
	Waypoint string `json:"waypoint,omitempty"` // ns/name requested
	Source   string `json:"source,omitempty"`   // pod, service or namespace: whose label chose it
	Bound    bool   `json:"bound"`
	Problem  string `json:"problem,omitempty"`
	Reason   string `json:"reason,omitempty"` // istiod's reason: WaypointIsNotReady, AttachmentDenied, UnsupportedTrafficType
	Note     string `json:"note,omitempty"`
}

// Service is a Service's waypoint binding.
type Service struct {
	Namespace          string   `json:"namespace"`
	Name               string   `json:"name"`
	IsWaypoint         bool     `json:"isWaypoint,omitempty"`
	IngressUseWaypoint bool     `json:"ingressUseWaypoint,omitempty"`
	Waypoint           *Binding `json:"waypoint,omitempty"`
}

// Waypoint is a waypoint Gateway and what it serves.
type Waypoint struct {
	Namespace  string   `json:"namespace"`
	Name       string   `json:"name"`
	Class      string   `json:"class"`
	For        string   `json:"for"`
	Programmed bool     `json:"programmed"`
	Ready      int      `json:"ready"`
	Replicas   int      `json:"replicas"`
	Services   []string `json:"services"`
	Workloads  []string `json:"workloads"`
	Namespaces []string `json:"namespaces"`
}

// Policy is an Istio security policy and where it is enforced.
type Policy struct {
	Kind       string `json:"kind"`
	Namespace  string `json:"namespace"`
	Name       string `json:"name"`
	Target     string `json:"target"`
	Action     string `json:"action"`
	EnforcedBy string `json:"enforcedBy"` // ztunnel, waypoint, sidecar, none
	Layer      string `json:"layer"`      // L4, L7
	Effect     string `json:"effect,omitempty"`
}

// NetworkPolicy is whether a NetworkPolicy lets the mesh through.
type NetworkPolicy struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// HBONE is "ok" when no check found it blocking mesh traffic, else
	// "blocks" with the codes of the findings about it.
	HBONE string   `json:"hbone"`
	Codes []string `json:"codes,omitempty"`
}

// Input is what a report is made from.
type Input struct {
	Snapshot *kube.Snapshot
	Source   Source
	Version  string
	// Scope limits the report to these namespaces; empty means all.
	Scope []string
	// Origin, for manifests, says where each object was defined.
	Origin map[string]manifest.Position
	Notes  []string
}

// Build makes the report.
func Build(in Input) *Report {
	s := in.Snapshot
	r := &Report{
		Schema: SchemaVersion,
		Tool:   Tool{Name: "ambx", Version: in.Version},
		Source: in.Source,
		Scope:  slices.Sorted(slices.Values(in.Scope)),
		Notes:  append([]string{}, in.Notes...),
	}
	if r.Scope == nil {
		r.Scope = []string{}
	}
	scope := map[string]bool{}
	for _, n := range in.Scope {
		scope[n] = true
	}
	inScope := func(ns string) bool { return len(scope) == 0 || scope[ns] }
	r.Unread = unread(s)
	if !empty(s.Install) {
		r.Install = installOf(s.Install)
	}
	r.Findings = []Finding{}
	for _, f := range s.Findings {
		ns := f.Object.Namespace
		if f.Object.Kind == "Namespace" {
			ns = f.Object.Name
		}
		if ns == "" && len(scope) > 0 || ns != "" && !inScope(ns) {
			continue
		}
		r.Findings = append(r.Findings, findingOf(f, in.Origin))
		switch f.Severity {
		case finding.Error:
			r.Summary.Errors++
		case finding.Warning:
			r.Summary.Warnings++
		default:
			r.Summary.Infos++
		}
	}
	slices.SortFunc(r.Findings, compareFindings)
	r.Verdicts = verdicts(s, inScope)
	switch {
	case len(r.Unread) > 0:
		r.Result = ResultPartial
	case r.Summary.Errors+r.Summary.Warnings > 0:
		r.Result = ResultFindings
	default:
		r.Result = ResultClean
	}
	return r
}

func empty(i install.Info) bool {
	return !i.Discovered && !i.Istiod.Known() && !i.Ztunnel.Known() && !i.CNI.Known() && i.Env == nil
}

// switchNames are the istiod switches that change ambx's verdicts.
var switchNames = []string{install.EnvEnableAmbient, install.EnvAutoAllowWaypointPolicy, install.EnvDryRunAuthorizationPolicy,
	install.EnvIngressWaypointRouting, install.EnvSelectorGatewayPolicy, install.EnvAmbientStatus}

func installOf(i install.Info) *Install {
	v := func(x install.Version) string {
		if !x.Known() {
			return ""
		}
		return x.String()
	}
	out := &Install{Istiod: v(i.Istiod), Ztunnel: v(i.Ztunnel), CNI: v(i.CNI), Effective: i.Effective().String(), Assumed: i.Assumed(),
		ExcludedNamespaces: slices.Sorted(slices.Values(i.ExcludedNamespaces()))}
	if out.ExcludedNamespaces == nil {
		out.ExcludedNamespaces = []string{}
	}
	out.Revision, out.IstiodNamespace, out.ZtunnelNamespace, out.RootNamespace = i.Revision, i.IstiodNamespace, i.ZtunnelNamespace, i.RootNamespace
	out.Problems = append([]string{}, i.Problems...)
	out.Components = []Component{}
	for _, c := range i.Components {
		out.Components = append(out.Components, Component{Kind: fmt.Sprint(c.Kind), Namespace: c.Namespace, Name: c.Name, Revision: c.Revision,
			Image: c.Image, Version: v(c.Version), Desired: c.Desired, Ready: c.Ready})
	}
	for _, n := range slices.Sorted(slices.Values(switchNames)) {
		out.Switches = append(out.Switches, Switch{Name: n, Value: i.Switch(n), Set: i.Env[n]})
	}
	return out
}

// unread lists resources not read: forbidden, failing, never synced, or
// everything when the server could not be reached. A resource whose API
// is not installed was read: there are none.
func unread(s *kube.Snapshot) []Unread {
	out := []Unread{}
	for _, res := range kube.Resources {
		st, ok := s.Resources[res]
		if !ok {
			out = append(out, Unread{Resource: string(res), State: "not-watched", Detail: s.Problem})
			continue
		}
		switch st.Availability {
		case kube.Available, kube.Missing:
			continue
		case kube.Forbidden:
			out = append(out, Unread{Resource: string(res), State: "forbidden", Detail: st.Detail})
		case kube.Failing:
			out = append(out, Unread{Resource: string(res), State: "failing", Detail: st.Detail})
		default:
			d := st.Detail
			if !s.Reachable && s.Problem != "" {
				d = s.Problem
			}
			out = append(out, Unread{Resource: string(res), State: "not-synced", Detail: d})
		}
	}
	return out
}

func findingOf(f finding.Finding, origin map[string]manifest.Position) Finding {
	out := Finding{Severity: f.Severity.String(), Code: f.Code, Object: Object{Kind: f.Object.Kind, Namespace: f.Object.Namespace, Name: f.Object.Name},
		Title: f.Title, Why: f.Why, Fix: f.Fix}
	if f.Patch != nil {
		out.Patch = f.Patch.Command
	}
	if origin == nil {
		return out
	}
	ref := f.Object
	if f.Patch != nil && f.Patch.Target.Name != "" {
		ref = f.Patch.Target // the line to change is in the patched object
	}
	pos, ok := origin[ref.String()]
	if !ok {
		pos, ok = origin[f.Object.String()]
	}
	if !ok || pos.File == "" {
		return out
	}
	out.Location = Location{File: pos.File, Line: pos.Line}
	if f.Patch != nil && ref == f.Patch.Target {
		if p := firstPath(f.Patch.JSONPatch); p != "" {
			out.Location.Line = pos.LineOf(p)
		}
	}
	return out
}

func compareFindings(a, b Finding) int {
	return cmp.Or(
		cmp.Compare(severityRank(b.Severity), severityRank(a.Severity)),
		strings.Compare(a.Code, b.Code),
		strings.Compare(a.Object.Namespace, b.Object.Namespace),
		strings.Compare(a.Object.Kind, b.Object.Kind),
		strings.Compare(a.Object.Name, b.Object.Name),
		strings.Compare(a.Title, b.Title),
		strings.Compare(a.Why, b.Why),
	)
}

func severityRank(s string) int {
	switch s {
	case "error":
		return 2
	case "warning":
		return 1
	}
	return 0
}

func binding(b ambient.WaypointBinding) *Binding {
	if b.Waypoint.Name == "" && b.Note == "" && b.Problem == "" {
		return nil
	}
	out := &Binding{Source: b.Source, Bound: b.Bound(), Problem: b.Problem, Reason: b.Reason, Note: b.Note}
	if b.Waypoint.Name != "" {
		out.Waypoint = b.Waypoint.String()
	}
	return out
}

func keys(ks []ambient.Key) []string {
	out := make([]string, 0, len(ks))
	for _, k := range ks {
		out = append(out, k.String())
	}
	return out
}

func verdicts(s *kube.Snapshot, inScope func(string) bool) Verdicts {
	v := Verdicts{Namespaces: []Namespace{}, Pods: []Pod{}, Services: []Service{}, Waypoints: []Waypoint{}, Policies: []Policy{}, NetworkPolicies: []NetworkPolicy{}}
	a := s.Mesh
	if a == nil {
		return v
	}
	for _, ns := range s.Namespaces {
		if !inScope(ns.Name) {
			continue
		}
		n := a.Namespaces[ns.Name]
		v.Namespaces = append(v.Namespaces, Namespace{Name: ns.Name, State: string(n.State), Reason: n.Reason, Pods: n.Pods, Captured: n.Captured(), Waypoint: binding(n.Waypoint)})
	}
	for _, p := range s.Pods {
		if !inScope(p.Namespace) {
			continue
		}
		i := a.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		pod := Pod{Namespace: p.Namespace, Name: p.Name, Owner: i.Owner, State: string(i.State), Reason: i.Reason, Protocol: i.Protocol, Waypoint: binding(i.Waypoint)}
		if i.State == ambient.PodCaptured || i.State == ambient.PodPending || i.State == ambient.PodNeedsRestart {
			pod.MTLS = i.MTLS.String()
		}
		v.Pods = append(v.Pods, pod)
	}
	for _, sv := range s.Services {
		if !inScope(sv.Namespace) {
			continue
		}
		i := a.Services[ambient.Key{Namespace: sv.Namespace, Name: sv.Name}]
		v.Services = append(v.Services, Service{Namespace: sv.Namespace, Name: sv.Name, IsWaypoint: i.IsWaypoint, IngressUseWaypoint: i.IngressUseWaypoint, Waypoint: binding(i.Waypoint)})
	}
	for _, w := range a.Waypoints {
		if !inScope(w.Key.Namespace) {
			continue
		}
		v.Waypoints = append(v.Waypoints, Waypoint{Namespace: w.Key.Namespace, Name: w.Key.Name, Class: w.Class, For: w.For, Programmed: w.Programmed,
			Ready: w.Ready, Replicas: w.Replicas, Services: keys(w.Services), Workloads: keys(w.Workloads), Namespaces: append([]string{}, w.Namespaces...)})
	}
	for _, p := range a.Policies {
		if !inScope(p.Key.Namespace) {
			continue
		}
		v.Policies = append(v.Policies, Policy{Kind: p.Kind, Namespace: p.Key.Namespace, Name: p.Key.Name, Target: p.Target, Action: p.Action,
			EnforcedBy: string(p.EnforcedBy), Layer: string(p.Layer), Effect: p.Effect})
	}
	codes := map[ambient.Key][]string{}
	for _, f := range s.Findings {
		ref := f.Object
		if f.Patch != nil && f.Patch.Target.Kind == "NetworkPolicy" {
			ref = f.Patch.Target
		}
		if ref.Kind == "NetworkPolicy" {
			k := ambient.Key{Namespace: ref.Namespace, Name: ref.Name}
			if !slices.Contains(codes[k], f.Code) {
				codes[k] = append(codes[k], f.Code)
			}
		}
	}
	for _, np := range s.NetworkPolicies {
		if !inScope(np.Namespace) {
			continue
		}
		k := ambient.Key{Namespace: np.Namespace, Name: np.Name}
		n := NetworkPolicy{Namespace: np.Namespace, Name: np.Name, HBONE: "ok"}
		if c := codes[k]; len(c) > 0 {
			n.HBONE, n.Codes = "blocks", slices.Sorted(slices.Values(c))
		}
		v.NetworkPolicies = append(v.NetworkPolicies, n)
	}
	return v
}
