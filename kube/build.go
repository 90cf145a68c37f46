package kube

import (
	"maps"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	typev1beta1 "istio.io/api/type/v1beta1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/migration"
	"github.com/ambx/ambx/kube/netpol"
	"github.com/ambx/ambx/kube/usage"
)

// Build makes a snapshot from objects: the analyses run here, off the UI
// goroutine. Slices in c must be sorted by namespace and name.
func Build(c ambient.Cluster, now time.Time) *Snapshot {
	s := new(builder).build(c, now)
	s.Resources = AllRead() // the caller handed every object over
	return s
}

// Builder makes snapshots one after another as a Source does: each one
// reuses what it can of the last and carries its PodDelta. For tests and
// benchmarks of what a live cluster's snapshots cost.
type Builder struct{ b builder }

// Build is Build for the next snapshot of the series.
func (b *Builder) Build(c ambient.Cluster, now time.Time) *Snapshot {
	s := b.b.build(c, now)
	s.Resources = AllRead()
	return s
}

// builder makes one Source's snapshots. It keeps the last NetworkPolicy
// check, which with many policies costs more than all else together, and
// reuses its findings while nothing that check reads has changed: the
// usual rebuild follows pod status churn, which it does not read.
type builder struct {
	hbone    netpol.HBONEInput
	findings []finding.Finding
	checked  bool
	// gen and pods are the last analysis's Gen and pod verdicts, for the
	// next snapshot's PodDelta.
	gen  uint64
	pods map[ambient.Key]ambient.PodInfo
	// migrations were counted from migNS and migPods; they stand while
	// those and the pods' states and owners do.
	migrations map[string]migration.State
	migNS      []*corev1.Namespace
	migPods    []*corev1.Pod
	// index was made from marked: while the findings mark the same
	// objects with the same severities, it is handed out again, so the
	// panes keep the marks they looked up in it.
	index  *finding.Index
	marked []finding.Finding
	// versions are the last snapshot's, and the rest what they were
	// numbered from (see Versions).
	versions  *Versions
	services  []*corev1.Service
	svcInfo   map[ambient.Key]ambient.ServiceInfo
	authz     []*securityv1.AuthorizationPolicy
	reqAuthn  []*securityv1.RequestAuthentication
	policies  []ambient.PolicyInfo // those of targeting's policies
	targeting map[policyName]bool
	labelPods []*corev1.Pod
}

// meshGens numbers analyses across every builder, so a pane never takes
// one Source's analysis for another's; versionGens numbers Versions' parts
// the same way.
var meshGens, versionGens atomic.Uint64

func (b *builder) build(c ambient.Cluster, now time.Time) *Snapshot {
	if c.Now.IsZero() {
		c.Now = now
	}
	snap := &Snapshot{Cluster: c, Taken: now, Reachable: true}
	snap.Mesh = ambient.Analyze(&snap.Cluster)
	gen := meshGens.Add(1)
	if b.gen != 0 {
		snap.PodDelta = &PodDelta{Mesh: snap.Mesh, Gen: gen, Since: b.gen, Changed: changedPods(c.Pods, b.pods, snap.Mesh.Pods)}
	}
	if b.migrations == nil || snap.PodDelta == nil || !b.sameMigrationInput(&snap.Cluster, snap.PodDelta.Changed, snap.Mesh.Pods) {
		b.migrations = migration.Of(&snap.Cluster, snap.Mesh)
	}
	b.migNS, b.migPods = c.Namespaces, c.Pods
	snap.Migrations = b.migrations
	b.gen, b.pods = gen, snap.Mesh.Pods
	snap.Versions = b.version(&snap.Cluster, snap.Mesh)
	if slices.IsSortedFunc(c.Pods, func(x, y *corev1.Pod) int { return strings.Compare(x.Namespace, y.Namespace) }) {
		snap.podsSorted = refOf(c.Pods)
	}
	in := hboneInput(&snap.Cluster, snap.Mesh)
	if !b.checked || !sameHBONE(b.hbone, in) {
		b.findings, b.checked = netpol.CheckHBONE(in), true
	}
	// Keep the newest equivalent input, not the one first checked: the
	// old one would hold every replaced pod in memory.
	b.hbone = in
	snap.Findings = append(snap.Findings, snap.Mesh.Findings...)
	snap.Findings = append(snap.Findings, b.findings...)
	snap.Findings = append(snap.Findings, c.Install.Findings()...)
	sort.SliceStable(snap.Findings, func(i, j int) bool {
		return snap.Findings[i].Severity > snap.Findings[j].Severity
	})
	if b.index == nil || !slices.EqualFunc(b.marked, snap.Findings, sameMarks) {
		b.index = finding.NewIndex(snap.Findings)
	}
	b.marked = snap.Findings
	snap.Index = b.index
	snap.Components = usage.FindComponents(&snap.Cluster, snap.Mesh)
	return snap
}

// version numbers c and its analysis a against the last snapshot's.
func (b *builder) version(c *ambient.Cluster, a *ambient.Analysis) *Versions {
	v := &Versions{Mesh: a}
	last := b.versions
	if last == nil {
		last = &Versions{}
	}
	v.Services = last.Services
	samePolicies := slices.Equal(b.authz, c.AuthorizationPolicies) && slices.Equal(b.reqAuthn, c.RequestAuthentications)
	if !samePolicies || b.targeting == nil {
		b.targeting = targetingServices(c)
	}
	var policies []ambient.PolicyInfo
	for _, p := range a.Policies {
		if b.targeting[policyName{p.Kind, p.Key}] {
			policies = append(policies, p)
		}
	}
	if v.Services == 0 || !samePolicies || !slices.Equal(b.services, c.Services) ||
		!sameServiceInfos(b.svcInfo, a.Services) || !slices.EqualFunc(b.policies, policies, samePolicyInfo) {
		v.Services = versionGens.Add(1)
	}
	v.PodLabels = last.PodLabels
	if v.PodLabels == 0 || !slices.EqualFunc(b.labelPods, c.Pods, sameLabelledPod) {
		v.PodLabels = versionGens.Add(1)
	}
	b.versions, b.services, b.svcInfo, b.authz, b.reqAuthn, b.policies, b.labelPods =
		v, c.Services, a.Services, c.AuthorizationPolicies, c.RequestAuthentications, policies, c.Pods
	return v
}

// sameServiceInfos compares two analyses' Service verdicts, every field.
func sameServiceInfos(x, y map[ambient.Key]ambient.ServiceInfo) bool {
	if x == nil || len(x) != len(y) {
		return false
	}
	for k, a := range x {
		b, ok := y[k]
		if !ok || !sameServiceInfo(a, b) {
			return false
		}
	}
	return true
}

// sameServiceInfo compares every field of two Service verdicts.
func sameServiceInfo(a, b ambient.ServiceInfo) bool {
	if a.Waypoint != b.Waypoint || a.IsWaypoint != b.IsWaypoint || a.IngressUseWaypoint != b.IngressUseWaypoint ||
		!slices.Equal(a.Conditions, b.Conditions) || (a.WaypointMissing == nil) != (b.WaypointMissing == nil) {
		return false
	}
	x, y := a.WaypointMissing, b.WaypointMissing
	return x == nil || x.Reason == y.Reason && x.Message == y.Message && x.Racing == y.Racing && slices.Equal(x.Wildcards, y.Wildcards)
}

// policyName is a policy by kind and key, as Analysis.Policy finds it.
type policyName struct {
	kind string
	key  ambient.Key
}

// targetingServices names the AuthorizationPolicies and
// RequestAuthentications with a targetRef of kind Service (any group or
// namespace: more than istiod binds, never fewer).
func targetingServices(c *ambient.Cluster) map[policyName]bool {
	out := map[policyName]bool{}
	names := func(one *typev1beta1.PolicyTargetReference, many []*typev1beta1.PolicyTargetReference) bool {
		if one.GetKind() == "Service" {
			return true
		}
		return slices.ContainsFunc(many, func(r *typev1beta1.PolicyTargetReference) bool { return r.GetKind() == "Service" })
	}
	for _, p := range c.AuthorizationPolicies {
		if p != nil && names(p.Spec.GetTargetRef(), p.Spec.GetTargetRefs()) {
			out[policyName{"AuthorizationPolicy", ambient.Key{Namespace: p.Namespace, Name: p.Name}}] = true
		}
	}
	for _, p := range c.RequestAuthentications {
		if p != nil && names(p.Spec.GetTargetRef(), p.Spec.GetTargetRefs()) {
			out[policyName{"RequestAuthentication", ambient.Key{Namespace: p.Namespace, Name: p.Name}}] = true
		}
	}
	return out
}

// samePolicyInfo compares every field of two policy verdicts.
func samePolicyInfo(a, b ambient.PolicyInfo) bool {
	return a.Kind == b.Kind && a.Key == b.Key && a.Target == b.Target && a.Action == b.Action &&
		a.EnforcedBy == b.EnforcedBy && a.Layer == b.Layer && a.Effect == b.Effect &&
		slices.Equal(a.L7Fields, b.L7Fields) && slices.Equal(a.Conditions, b.Conditions) &&
		a.HasFindings == b.HasFindings && slices.Equal(a.BoundTo, b.BoundTo) &&
		a.SelectedAmbient == b.SelectedAmbient && a.SelectedUncaptured == b.SelectedUncaptured &&
		a.SelectedSidecar == b.SelectedSidecar && a.SelectedGateway == b.SelectedGateway && a.SelectedOther == b.SelectedOther
}

// sameMigrationInput reports whether migration.Of would count c as it
// counted the last cluster: it reads a namespace's labels, and a pod's
// namespace, labels, state and owner. changed are the pods whose verdict
// differs from the last analysis's (PodDelta.Changed), now c's verdicts.
func (b *builder) sameMigrationInput(c *ambient.Cluster, changed map[*corev1.Pod]bool, now map[ambient.Key]ambient.PodInfo) bool {
	if !slices.EqualFunc(b.migNS, c.Namespaces, sameNamespace) ||
		!slices.EqualFunc(b.migPods, c.Pods, sameLabelledPod) {
		return false
	}
	for p := range changed {
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		if old, ok := b.pods[k]; !ok || old.State != now[k].State || old.Owner != now[k].Owner {
			return false
		}
	}
	return true
}

// sameLabelledPod: the same pod with the same labels (nil pods, which
// migration.Of skips, only match each other).
func sameLabelledPod(x, y *corev1.Pod) bool {
	return x == y || x != nil && y != nil && x.Namespace == y.Namespace && x.Name == y.Name && maps.Equal(x.Labels, y.Labels)
}

// changedPods are the pods whose verdict in now is new or differs from
// the one in before.
func changedPods(pods []*corev1.Pod, before, now map[ambient.Key]ambient.PodInfo) map[*corev1.Pod]bool {
	out := map[*corev1.Pod]bool{}
	for _, p := range pods {
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		old, ok := before[k]
		if !ok || !samePodInfo(old, now[k]) {
			out[p] = true
		}
	}
	return out
}

// samePodInfo compares every field of two verdicts.
func samePodInfo(a, b ambient.PodInfo) bool {
	return a.State == b.State && a.Reason == b.Reason && a.Waypoint == b.Waypoint &&
		a.Protocol == b.Protocol && a.Owner == b.Owner &&
		a.MTLS.Strict == b.MTLS.Strict && a.MTLS.By == b.MTLS.By && slices.Equal(a.MTLS.Ports, b.MTLS.Ports)
}

// hboneInput tells the NetworkPolicy checks which pods the mesh carries and
// which waypoint pods sit in front of each destination.
func hboneInput(c *ambient.Cluster, a *ambient.Analysis) netpol.HBONEInput {
	in := netpol.HBONEInput{
		Namespaces:      c.Namespaces,
		Pods:            c.Pods,
		NetworkPolicies: c.NetworkPolicies,
		Meshed:          make(map[netpol.Key]netpol.Dataplane),
		Waypoints:       make(map[netpol.Key][]netpol.Key),
		Ingress:         make(map[netpol.Key]netpol.IngressPath),
		EastWest:        make(map[netpol.Key]netpol.IngressPath),
		RootNamespace:   c.RootNamespace,
		ProxyHBONE: netpol.ProxyHBONE{
			Off:    !c.Install.Switch(install.EnvSendingHBONE),
			Prefer: c.Install.Switch(install.EnvPreferSendingHBONE),
		},
	}
	if len(c.NetworkPolicies) == 0 {
		return in // nothing can block HBONE; skip the indexing
	}
	// Pods of each waypoint, by the label istiod puts on them.
	wpPods := map[ambient.Key][]netpol.Key{}
	for _, p := range c.Pods {
		if gw := p.Labels["gateway.networking.k8s.io/gateway-name"]; gw != "" {
			k := ambient.Key{Namespace: p.Namespace, Name: gw}
			wpPods[k] = append(wpPods[k], netpol.Key{Namespace: p.Namespace, Name: p.Name})
		}
	}
	// Services by namespace, for the service waypoint of each pod.
	svcs := map[string][]*corev1.Service{}
	for _, s := range c.Services {
		svcs[s.Namespace] = append(svcs[s.Namespace], s)
	}
	for _, p := range c.Pods {
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		nk := netpol.Key{Namespace: p.Namespace, Name: p.Name}
		info := a.Pods[k]
		switch info.State {
		case ambient.PodCaptured, ambient.PodPending:
			in.Meshed[nk] = netpol.Ambient
		default:
			// Gateways are HBONE clients of ambient pods (their Envoy
			// tunnels from the gateway pod's IP), a classic gateway
			// too though its injected proxy looks like a sidecar.
			if kind := ambient.GatewayKindOf(p); kind != ambient.NotAGateway {
				if plane := gatewayPlane(c, kind); plane != netpol.NotMeshed {
					in.Meshed[nk] = plane
				}
				continue
			}
			if info.State != ambient.PodSidecar {
				continue
			}
			in.Meshed[nk] = netpol.Sidecar
		}
		seen := map[ambient.Key]bool{}
		add := func(b ambient.WaypointBinding) {
			if !b.Bound() || seen[b.Waypoint] {
				return
			}
			seen[b.Waypoint] = true
			in.Waypoints[nk] = append(in.Waypoints[nk], wpPods[b.Waypoint]...)
		}
		add(info.Waypoint)
		var gw, ew netpol.IngressPath
		routed := false
		for _, s := range svcs[p.Namespace] {
			if len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
				continue
			}
			si := a.Services[ambient.Key{Namespace: s.Namespace, Name: s.Name}]
			add(si.Waypoint)
			if ingressViaWaypoint(c, s, si) {
				routed = true
				gw.Waypoints = append(gw.Waypoints, wpPods[si.Waypoint.Waypoint]...)
			} else {
				gw.Direct = true
			}
			if si.Waypoint.Bound() {
				ew.Waypoints = append(ew.Waypoints, wpPods[si.Waypoint.Waypoint]...)
			}
		}
		if routed {
			in.Ingress[nk] = gw
		}
		if len(ew.Waypoints) > 0 {
			// East-west gateways also dial the pod itself for traffic a
			// waypoint in the client's network already handled
			// (x-istio-source: waypoint), and from 1.29 for ingress
			// traffic to a Service without ingress-use-waypoint.
			ew.Direct = true
			in.EastWest[nk] = ew
		}
	}
	return in
}

// gatewayPlane is how a gateway pod takes part in the mesh, NotMeshed for
// one that forwards nothing: an east-west gateway forwards only with
// AMBIENT_ENABLE_MULTI_NETWORK (without it istiod gives it no services to
// serve). Whether ingress gateways tunnel (PILOT_ENABLE_SENDING_HBONE) is
// HBONEInput.ProxyHBONE's to say. kind is a gateway's: callers have
// already set aside pods that are none.
func gatewayPlane(c *ambient.Cluster, kind ambient.GatewayKind) netpol.Dataplane {
	if kind == ambient.EastWestGateway {
		if !c.Install.Switch(install.EnvAmbientMultiNetwork) {
			return netpol.NotMeshed
		}
		return netpol.EastWest
	}
	return netpol.Gateway
}

// ingressViaWaypoint reports whether ingress gateways send traffic for the
// Service to its waypoint rather than to its pods, as istiod's
// findServiceWaypoint decides: ENABLE_INGRESS_WAYPOINT_ROUTING on, a
// Service VIP, a bound waypoint, and istio.io/ingress-use-waypoint as the
// installed istiod reads it (ambient's IngressUseWaypoint).
func ingressViaWaypoint(c *ambient.Cluster, s *corev1.Service, si ambient.ServiceInfo) bool {
	return si.IngressUseWaypoint && si.Waypoint.Bound() &&
		ambient.HasVIP(s) &&
		c.Install.Switch(install.EnvIngressWaypointRouting)
}

// sameHBONE reports whether two inputs give the same NetworkPolicy
// findings. netpol reads of a pod only its name, labels and containers'
// ports and probes, and of a namespace its name and labels; objects the
// informers did not touch are the same pointers. If netpol starts reading
// more of a pod (its status, say), samePod must compare that too.
func sameHBONE(a, b netpol.HBONEInput) bool {
	return a.RootNamespace == b.RootNamespace && a.ProxyHBONE == b.ProxyHBONE &&
		slices.Equal(a.NetworkPolicies, b.NetworkPolicies) &&
		slices.EqualFunc(a.Namespaces, b.Namespaces, sameNamespace) &&
		slices.EqualFunc(a.Pods, b.Pods, samePod) &&
		maps.Equal(a.Meshed, b.Meshed) &&
		maps.EqualFunc(a.Waypoints, b.Waypoints, slices.Equal) &&
		maps.EqualFunc(a.Ingress, b.Ingress, sameIngressPath) &&
		maps.EqualFunc(a.EastWest, b.EastWest, sameIngressPath) &&
		slices.Equal(a.Istiod, b.Istiod) && slices.Equal(a.Ztunnels, b.Ztunnels)
}

func sameIngressPath(x, y netpol.IngressPath) bool {
	return x.Direct == y.Direct && slices.Equal(x.Waypoints, y.Waypoints)
}

func sameNamespace(x, y *corev1.Namespace) bool {
	return x == y || x.Name == y.Name && maps.Equal(x.Labels, y.Labels)
}

func samePod(x, y *corev1.Pod) bool {
	return x == y || x.Namespace == y.Namespace && x.Name == y.Name &&
		maps.Equal(x.Labels, y.Labels) &&
		equality.Semantic.DeepEqual(x.Spec.Containers, y.Spec.Containers) &&
		equality.Semantic.DeepEqual(x.Spec.InitContainers, y.Spec.InitContainers)
}

// sameMarks: two findings an Index counts alike (it reads only the
// severity and the objects named).
func sameMarks(x, y finding.Finding) bool {
	return x.Severity == y.Severity && x.Object == y.Object && slices.Equal(x.Affects, y.Affects)
}
