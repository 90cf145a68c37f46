package ambient

import (
	"fmt"
	"sort"

	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/install"
)

// podRef is a pod with its decided state, kept per namespace so policy
// selection and findings never scan the whole cluster per object.
type podRef struct {
	pod   *corev1.Pod
	state PodState
}

// podPos is a pod by its place in index.podsByNS.
type podPos struct {
	ns string
	i  int
}

// index holds the lookups one analysis run needs, built once in O(n).
type index struct {
	c        *Cluster
	a        *Analysis
	root     string
	ns       map[string]*corev1.Namespace
	nsOrder  []string // every namespace with a Namespace object or a pod, sorted
	podsByNS map[string][]podRef
	// byLabel finds the pods of every namespace by one label, for the
	// root namespace's selector policies, which reach them all: a label
	// key's values are indexed on the first such policy that names it.
	byLabel map[string]map[string][]podPos
	// wide are the namespace-wide selections counted so far.
	wide      map[wideKey]selection
	classes   map[string]*gwv1.GatewayClass
	waypoints map[Key]*waypoint
	wpPods    map[Key][]*corev1.Pod // pods by the gateway-name label, per namespace
	// referrers counts, per requested waypoint, the objects whose binding
	// names it (resolved or not).
	referrers map[Key]int
	issues    []bindingIssue
	findings  []finding.Finding
	// v is the istiod version verdicts follow.
	v install.Version
	// allowers are the ztunnel ALLOW policies that admit something.
	allowers []allower
	peers    peerIndex
	capture  *capture
}

// bindingIssue is an object whose requested waypoint cannot be used.
type bindingIssue struct {
	kind, namespace, name string
	owner                 string // for pods: the workload to group by
	binding               WaypointBinding
}

// Analyze computes the analysis of a cluster. It is deterministic, does not
// modify its input, and runs in time linear in the number of objects (plus,
// for each policy, the pods of the namespaces it reaches).
func Analyze(c *Cluster) *Analysis {
	if c == nil {
		return &Analysis{Pods: map[Key]PodInfo{}, Namespaces: map[string]NamespaceInfo{}, Services: map[Key]ServiceInfo{},
			ServiceEntries: map[Key]ServiceInfo{}, WorkloadEntries: map[Key]WorkloadEntryInfo{}}
	}
	a := &Analysis{
		Pods:       make(map[Key]PodInfo, len(c.Pods)),
		Namespaces: make(map[string]NamespaceInfo, len(c.Namespaces)),
		Services:   make(map[Key]ServiceInfo, len(c.Services)),
		// Sized lazily: most clusters have neither.
		ServiceEntries:  map[Key]ServiceInfo{},
		WorkloadEntries: map[Key]WorkloadEntryInfo{},
	}
	ix := newIndex(c, a)
	ix.analyzePods()
	ix.analyzeNamespaces()
	ix.analyzeServices()
	ix.analyzeServiceEntries()
	ix.bindPods()
	ix.bindWorkloadEntries()
	ix.analyzeWaypoints()
	ix.analyzePolicies()
	ix.podFindings()
	ix.namespaceFindings()
	ix.bindingFindings()
	ix.dataplaneFindings()
	ix.ingressBypassFindings()
	a.Findings = sortFindings(ix.findings)
	a.Recheck = ix.capture.recheck
	markPolicies(a)
	return a
}

func newIndex(c *Cluster, a *Analysis) *index {
	ix := &index{
		c:         c,
		a:         a,
		root:      c.Root(),
		ns:        make(map[string]*corev1.Namespace, len(c.Namespaces)),
		podsByNS:  make(map[string][]podRef, len(c.Namespaces)),
		classes:   make(map[string]*gwv1.GatewayClass, len(c.GatewayClasses)),
		waypoints: make(map[Key]*waypoint, len(c.Gateways)),
		wpPods:    map[Key][]*corev1.Pod{},
		referrers: map[Key]int{},
		v:         c.Install.Effective(),
		capture:   newCapture(c),
	}
	seen := map[string]bool{}
	for _, n := range c.Namespaces {
		if n == nil {
			continue
		}
		ix.ns[n.Name] = n
		if !seen[n.Name] {
			seen[n.Name] = true
			ix.nsOrder = append(ix.nsOrder, n.Name)
		}
	}
	for _, p := range c.Pods {
		if p != nil && !seen[p.Namespace] {
			seen[p.Namespace] = true
			ix.nsOrder = append(ix.nsOrder, p.Namespace)
		}
	}
	sort.Strings(ix.nsOrder)
	for _, gc := range c.GatewayClasses {
		if gc != nil {
			ix.classes[gc.Name] = gc
		}
	}
	for _, gw := range c.Gateways {
		if gw != nil {
			w := newWaypoint(gw, ix.classes[string(gw.Spec.GatewayClassName)])
			ix.waypoints[w.key] = w
		}
	}
	return ix
}

func (ix *index) analyzePods() {
	infos := make(map[string]*NamespaceInfo, len(ix.nsOrder))
	for _, name := range ix.nsOrder {
		n := namespaceLabels(ix.ns[name], ix.capture)
		infos[name] = &n
	}
	for _, p := range ix.c.Pods {
		if p == nil {
			continue
		}
		state, reason := ix.capture.podState(p, ix.ns[p.Namespace])
		ix.a.Pods[Key{p.Namespace, p.Name}] = PodInfo{State: state, Reason: reason, Protocol: protocol(p), Owner: owner(p)}
		ix.podsByNS[p.Namespace] = append(ix.podsByNS[p.Namespace], podRef{p, state})
		n := infos[p.Namespace]
		n.Pods++
		n.Counts[state]++
		if gw := p.Labels[LabelGatewayName]; gw != "" {
			k := Key{p.Namespace, gw}
			ix.wpPods[k] = append(ix.wpPods[k], p)
		}
	}
	for name, n := range infos {
		ix.a.Namespaces[name] = *n
	}
}

func (ix *index) analyzeNamespaces() {
	for _, name := range ix.nsOrder {
		n := ix.a.Namespaces[name]
		n.State, n.Reason = namespaceState(n)
		if ns := ix.ns[name]; ns != nil {
			n.Waypoint = ix.namespaceBinding(ns)
			if n.Waypoint.Waypoint.Name != "" {
				ix.referrers[n.Waypoint.Waypoint]++
				if n.Waypoint.Problem != "" {
					ix.issues = append(ix.issues, bindingIssue{kind: "Namespace", name: name, binding: n.Waypoint})
				}
			}
		}
		ix.a.Namespaces[name] = n
	}
}

func (ix *index) analyzeServices() {
	for _, s := range ix.c.Services {
		if s == nil {
			continue
		}
		k := Key{s.Namespace, s.Name}
		info := ServiceInfo{IsWaypoint: isWaypointService(s)}
		for _, c := range s.Status.Conditions {
			info.Conditions = append(info.Conditions, conditionString(c.Type, string(c.Status), c.Reason, c.Message))
		}
		switch {
		case info.IsWaypoint:
		case s.Spec.Type == corev1.ServiceTypeExternalName:
			// istiod leaves ExternalName Services out of ambient in every
			// release (serviceServiceBuilder): no waypoint, no condition.
			if _, asked := s.Labels[LabelUseWaypoint]; asked {
				info.Waypoint = WaypointBinding{Source: sourceService, Note: "ExternalName Services are not part of ambient: istiod never binds them to a waypoint"}
				ix.externalNameFinding(s)
			}
		default:
			info.IngressUseWaypoint = ingressUseWaypoint(s.Labels, ix.ns[s.Namespace], ix.v)
			info.Waypoint = ix.resolve(s.Labels, s.Namespace, sourceService, TrafficService)
			ix.noteBinding("Service", s.Namespace, s.Name, "", info.Waypoint)
		}
		ix.a.Services[k] = info
	}
}

// analyzeServiceEntries binds ServiceEntries as istiod's
// serviceEntryServiceBuilder does: like a Service (service traffic), and
// from 1.31 within meshConfig.serviceEntryVisibility, which can hide one
// altogether (NONE) or keep it from a waypoint in another namespace
// (NAMESPACE).
func (ix *index) analyzeServiceEntries() {
	for _, se := range ix.c.ServiceEntries {
		if se == nil {
			continue
		}
		info := ServiceInfo{IsWaypoint: isGatewayManaged(se.Labels), Conditions: conditionStrings(se.Status.GetConditions())}
		k := Key{se.Namespace, se.Name}
		nsObj := ix.ns[se.Namespace]
		var nsLabels map[string]string
		if nsObj != nil {
			nsLabels = nsObj.Labels
		}
		vis := ix.c.Install.ServiceEntryVisibilityFor(nsLabels)
		switch {
		case info.IsWaypoint:
		case vis == install.VisibilityNone:
			if _, asked := se.Labels[LabelUseWaypoint]; asked {
				info.Waypoint = WaypointBinding{Source: sourceServiceEntry, Note: "meshConfig.serviceEntryVisibility resolves it to NONE: istiod publishes nothing for it to ambient proxies"}
			}
		default:
			info.IngressUseWaypoint = ingressUseWaypoint(se.Labels, nsObj, ix.v)
			b := ix.resolve(se.Labels, se.Namespace, sourceServiceEntry, TrafficService)
			if b.Bound() && b.Waypoint.Namespace != se.Namespace && vis == install.VisibilityNamespace {
				b.Reason = ReasonCrossNamespaceForbidden
				b.Problem = fmt.Sprintf("cannot bind to waypoint %q in another namespace: cross-namespace waypoint binding is not permitted for a ServiceEntry with NAMESPACE visibility", b.Waypoint.String())
			}
			info.Waypoint = b
			ix.noteBinding(KindServiceEntry, se.Namespace, se.Name, "", b)
		}
		if vis != install.VisibilityNone {
			// Hidden entries get no ServiceInfo, so no condition either.
			info.WaypointMissing = ix.waypointMissing(se, info.Waypoint)
			ix.waypointMissingFinding(se, info.Waypoint, info.WaypointMissing)
		}
		ix.a.ServiceEntries[k] = info
	}
}

// bindWorkloadEntries resolves each WorkloadEntry's workload waypoint as
// istiod's workloadEntryWorkloadBuilder does: spec.labels merged under the
// object's labels, and no waypoint for an instance of a waypoint itself.
// Unlike a pod it needs no capture: the entry stands for a workload
// outside the cluster.
func (ix *index) bindWorkloadEntries() {
	for _, we := range ix.c.WorkloadEntries {
		if we == nil {
			continue
		}
		info := WorkloadEntryInfo{Conditions: istioConditions(&we.Status)}
		l := we.Labels
		if len(we.Spec.GetLabels()) > 0 {
			l = make(map[string]string, len(we.Labels)+len(we.Spec.GetLabels()))
			for k, v := range we.Spec.GetLabels() {
				l[k] = v
			}
			for k, v := range we.Labels {
				l[k] = v
			}
		}
		if gw := l[LabelGatewayName]; gw == "" || ix.waypoints[Key{we.Namespace, gw}] == nil {
			info.Waypoint = ix.resolve(l, we.Namespace, sourceWorkloadEntry, TrafficWorkload)
			ix.noteBinding(KindWorkloadEntry, we.Namespace, we.Name, "", info.Waypoint)
		}
		ix.a.WorkloadEntries[Key{we.Namespace, we.Name}] = info
	}
}

// bindPods resolves the workload waypoint of pods ambient handles; a waypoint
// means nothing to a pod whose traffic ztunnel never sees.
func (ix *index) bindPods() {
	for _, name := range ix.nsOrder {
		for _, r := range ix.podsByNS[name] {
			if !r.state.inAmbient() {
				continue
			}
			k := Key{r.pod.Namespace, r.pod.Name}
			info := ix.a.Pods[k]
			info.Waypoint = ix.resolve(r.pod.Labels, r.pod.Namespace, sourcePod, TrafficWorkload)
			ix.a.Pods[k] = info
			ix.noteBinding("Pod", r.pod.Namespace, r.pod.Name, info.Owner, info.Waypoint)
		}
	}
}

func (ix *index) noteBinding(kind, ns, name, owner string, b WaypointBinding) {
	if b.Waypoint.Name == "" {
		return
	}
	ix.referrers[b.Waypoint]++
	// Bindings inherited from the namespace label are reported once, on the
	// namespace, unless only this object's traffic type is the problem.
	if b.Problem == "" || (b.Source == sourceNamespace && b.Reason != ReasonUnsupportedTrafficType) {
		return
	}
	ix.issues = append(ix.issues, bindingIssue{kind: kind, namespace: ns, name: name, owner: owner, binding: b})
}

func (ix *index) analyzeWaypoints() {
	bound := map[Key]*WaypointInfo{}
	for _, k := range sortedKeys(ix.waypoints) {
		w := ix.waypoints[k]
		if !isMeshWaypoint(w.gw, w.class) && ix.referrers[k] == 0 {
			continue
		}
		info := WaypointInfo{
			Key:         k,
			Class:       string(w.gw.Spec.GatewayClassName),
			For:         w.trafficType,
			Revision:    revision(w.gw, ix.ns[k.Namespace]),
			Addressed:   w.addressed,
			AllowedFrom: w.allowedFrom(),
		}
		info.Programmed, info.ProgrammedMsg, info.Conditions = gatewayConditions(w.gw)
		for _, p := range ix.wpPods[k] {
			info.Replicas++
			if podReady(p) {
				info.Ready++
			}
		}
		ix.a.Waypoints = append(ix.a.Waypoints, info)
	}
	for i := range ix.a.Waypoints {
		bound[ix.a.Waypoints[i].Key] = &ix.a.Waypoints[i]
	}
	for _, s := range ix.c.Services {
		if s == nil {
			continue
		}
		k := Key{s.Namespace, s.Name}
		if b := ix.a.Services[k].Waypoint; b.Bound() && bound[b.Waypoint] != nil {
			bound[b.Waypoint].Services = append(bound[b.Waypoint].Services, k)
		}
	}
	for _, se := range ix.c.ServiceEntries {
		if se == nil {
			continue
		}
		k := Key{se.Namespace, se.Name}
		if b := ix.a.ServiceEntries[k].Waypoint; b.Bound() && bound[b.Waypoint] != nil {
			bound[b.Waypoint].ServiceEntries = append(bound[b.Waypoint].ServiceEntries, k)
		}
	}
	for _, we := range ix.c.WorkloadEntries {
		if we == nil {
			continue
		}
		k := Key{we.Namespace, we.Name}
		if b := ix.a.WorkloadEntries[k].Waypoint; b.Bound() && bound[b.Waypoint] != nil {
			bound[b.Waypoint].WorkloadEntries = append(bound[b.Waypoint].WorkloadEntries, k)
		}
	}
	for _, name := range ix.nsOrder {
		if b := ix.a.Namespaces[name].Waypoint; b.Waypoint.Name != "" && bound[b.Waypoint] != nil {
			bound[b.Waypoint].Namespaces = append(bound[b.Waypoint].Namespaces, name)
		}
		for _, r := range ix.podsByNS[name] {
			k := Key{r.pod.Namespace, r.pod.Name}
			if b := ix.a.Pods[k].Waypoint; b.Bound() && bound[b.Waypoint] != nil {
				bound[b.Waypoint].Workloads = append(bound[b.Waypoint].Workloads, k)
			}
		}
	}
	for _, w := range bound {
		sort.Slice(w.Services, func(i, j int) bool { return keyLess(w.Services[i], w.Services[j]) })
		sort.Slice(w.Workloads, func(i, j int) bool { return keyLess(w.Workloads[i], w.Workloads[j]) })
	}
}

func sortedKeys[V any](m map[Key]V) []Key {
	keys := make([]Key, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keyLess(keys[i], keys[j]) })
	return keys
}

func (ix *index) analyzePolicies() {
	count := func(ns string) {
		n := ix.a.Namespaces[ns]
		if n.Counts == nil {
			n.Counts = map[PodState]int{}
		}
		n.Policies++
		ix.a.Namespaces[ns] = n
	}
	ix.indexAllowers()
	for _, p := range ix.c.AuthorizationPolicies {
		if p != nil {
			ix.a.Policies = append(ix.a.Policies, ix.authorizationPolicy(p))
			count(p.Namespace)
		}
	}
	oldest := oldestPeerAuthentications(ix.c.PeerAuthentications)
	ix.peers = newPeerIndex(ix.root, ix.c.PeerAuthentications)
	if len(ix.c.PeerAuthentications) > 0 {
		for _, name := range ix.nsOrder {
			for _, r := range ix.podsByNS[name] {
				if r.state.inAmbient() {
					k := Key{r.pod.Namespace, r.pod.Name}
					info := ix.a.Pods[k]
					info.MTLS = effectiveMTLS(ix.peers.forPod(r.pod.Namespace, r.pod.Labels))
					ix.a.Pods[k] = info
				}
			}
		}
	}
	for _, p := range ix.c.PeerAuthentications {
		if p != nil {
			ix.a.Policies = append(ix.a.Policies, ix.peerAuthentication(p, oldest[p.Namespace] == p))
			count(p.Namespace)
		}
	}
	for _, p := range ix.c.RequestAuthentications {
		if p != nil {
			ix.a.Policies = append(ix.a.Policies, ix.requestAuthentication(p))
			count(p.Namespace)
		}
	}
	sort.SliceStable(ix.a.Policies, func(i, j int) bool {
		a, b := ix.a.Policies[i], ix.a.Policies[j]
		return policyLess(a.Kind, a.Key, b.Kind, b.Key)
	})
}

// oldestPeerAuthentications picks, per namespace, the namespace-wide
// PeerAuthentication Istio applies: the oldest, ties broken by name.
func oldestPeerAuthentications(ps []*secv1.PeerAuthentication) map[string]*secv1.PeerAuthentication {
	out := map[string]*secv1.PeerAuthentication{}
	for _, p := range ps {
		if p == nil || len(p.Spec.GetSelector().GetMatchLabels()) > 0 {
			continue
		}
		cur := out[p.Namespace]
		if cur == nil || p.CreationTimestamp.Before(&cur.CreationTimestamp) {
			out[p.Namespace] = p
		}
	}
	return out
}

func markPolicies(a *Analysis) {
	flagged := map[finding.Ref]bool{}
	for _, f := range a.Findings {
		flagged[f.Object] = true
	}
	for i, p := range a.Policies {
		a.Policies[i].HasFindings = flagged[finding.Ref{Kind: p.Kind, Namespace: p.Key.Namespace, Name: p.Key.Name}]
	}
}
