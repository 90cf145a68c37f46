// Package lookup answers the questions the views and the root ask about one
// object of a snapshot: which Services select a pod, which NetworkPolicies
// and Istio policies apply to it, which waypoints a Service may use. Pure
// functions over the snapshot's values, so the panes only read them.
package lookup

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	typev1beta1 "istio.io/api/type/v1beta1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
)

// ServicesSelecting returns the Services whose selector matches the pod:
// same namespace, and a non-empty selector (an empty one selects nothing;
// its endpoints are managed by hand).
func ServicesSelecting(c *ambient.Cluster, p *corev1.Pod) []*corev1.Service {
	if p == nil {
		return nil
	}
	var out []*corev1.Service
	for _, svc := range c.Services {
		if svc == nil || svc.Namespace != p.Namespace || len(svc.Spec.Selector) == 0 {
			continue
		}
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) {
			out = append(out, svc)
		}
	}
	return out
}

// PodsSelectedBy returns the pods a Service's selector matches.
func PodsSelectedBy(c *ambient.Cluster, svc *corev1.Service) []*corev1.Pod {
	if svc == nil || len(svc.Spec.Selector) == 0 {
		return nil
	}
	var out []*corev1.Pod
	for _, p := range c.Pods {
		if p != nil && p.Namespace == svc.Namespace && Selects(svc.Spec.Selector, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// PodsByNamespace returns a function giving the pods of one namespace.
// The Source's pods are sorted by namespace, so a namespace's pods are
// one run of the slice and no map is built; pods in any other order are
// grouped by a map.
func PodsByNamespace(pods []*corev1.Pod) func(ns string) []*corev1.Pod {
	return podsByNamespace(pods, slices.IsSortedFunc(pods, func(a, b *corev1.Pod) int { return strings.Compare(a.Namespace, b.Namespace) }))
}

// NamespacePods is PodsByNamespace for a snapshot's pods: their order was
// checked once when the snapshot was built (Snapshot.PodsSorted), so a
// pane asking on every snapshot does not walk every pod to learn it.
func NamespacePods(s *kube.Snapshot) func(ns string) []*corev1.Pod {
	if s == nil {
		return func(string) []*corev1.Pod { return nil }
	}
	if s.PodsSorted() {
		return podsByNamespace(s.Pods, true)
	}
	return PodsByNamespace(s.Pods)
}

func podsByNamespace(pods []*corev1.Pod, sorted bool) func(ns string) []*corev1.Pod {
	if !sorted {
		m := map[string][]*corev1.Pod{}
		for _, p := range pods {
			m[p.Namespace] = append(m[p.Namespace], p)
		}
		return func(ns string) []*corev1.Pod { return m[ns] }
	}
	return func(ns string) []*corev1.Pod {
		lo, _ := slices.BinarySearchFunc(pods, ns, func(p *corev1.Pod, ns string) int { return strings.Compare(p.Namespace, ns) })
		hi := lo
		for hi < len(pods) && pods[hi].Namespace == ns {
			hi++
		}
		return pods[lo:hi]
	}
}

// Selects reports whether a Service's selector matches a pod's labels:
// every key of sel is a label with the same value, as
// labels.SelectorFromSet(sel).Matches, without building and sorting a
// selector for each of thousands of Services on every snapshot. An empty
// sel selects every pod.
func Selects(sel, podLabels map[string]string) bool {
	for k, v := range sel {
		if lv, ok := podLabels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}

// NetworkPolicySelector is the policy's podSelector; an invalid one is an
// error (the API server validates it, but a snapshot may hold anything).
func NetworkPolicySelector(np *networkingv1.NetworkPolicy) (labels.Selector, error) {
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("NetworkPolicy %s/%s: podSelector: %w", np.Namespace, np.Name, err)
	}
	return sel, nil
}

// NetworkPoliciesSelecting returns the NetworkPolicies of the pod's
// namespace whose podSelector matches it (an empty selector matches every
// pod). Policies with an invalid selector are skipped and returned in bad.
func NetworkPoliciesSelecting(c *ambient.Cluster, p *corev1.Pod) (out []*networkingv1.NetworkPolicy, bad []error) {
	if p == nil {
		return nil, nil
	}
	for _, np := range c.NetworkPolicies {
		if np == nil || np.Namespace != p.Namespace {
			continue
		}
		sel, err := NetworkPolicySelector(np)
		if err != nil {
			bad = append(bad, err)
			continue
		}
		if sel.Matches(labels.Set(p.Labels)) {
			out = append(out, np)
		}
	}
	return out, bad
}

// PodsSelectedByNetworkPolicy returns the pods a NetworkPolicy applies to.
func PodsSelectedByNetworkPolicy(c *ambient.Cluster, np *networkingv1.NetworkPolicy) ([]*corev1.Pod, error) {
	sel, err := NetworkPolicySelector(np)
	if err != nil {
		return nil, err
	}
	var out []*corev1.Pod
	for _, p := range c.Pods {
		if p != nil && p.Namespace == np.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out, nil
}

// PoliciesTargeting returns the AuthorizationPolicies and
// RequestAuthentications whose targetRefs name the Service (kind Service,
// core group, the policy's own namespace: istiod binds no other), with what
// the analysis made of each.
func PoliciesTargeting(s *kube.Snapshot, svc ambient.Key) []ambient.PolicyInfo {
	if s == nil || s.Mesh == nil {
		return nil
	}
	names := func(ns string, one *typev1beta1.PolicyTargetReference, many []*typev1beta1.PolicyTargetReference) bool {
		if ns != svc.Namespace {
			return false
		}
		for _, r := range append([]*typev1beta1.PolicyTargetReference{one}, many...) {
			if r == nil || r.GetKind() != "Service" || r.GetName() != svc.Name {
				continue
			}
			if g := r.GetGroup(); g != "" && g != "core" {
				continue
			}
			if n := r.GetNamespace(); n != "" && n != ns {
				continue
			}
			return true
		}
		return false
	}
	var out []ambient.PolicyInfo
	add := func(kind, ns, name string) {
		if pi, ok := s.Mesh.Policy(kind, ambient.Key{Namespace: ns, Name: name}); ok {
			out = append(out, pi)
		}
	}
	for _, p := range s.AuthorizationPolicies {
		if p != nil && names(p.Namespace, p.Spec.GetTargetRef(), p.Spec.GetTargetRefs()) {
			add("AuthorizationPolicy", p.Namespace, p.Name)
		}
	}
	for _, p := range s.RequestAuthentications {
		if p != nil && names(p.Namespace, p.Spec.GetTargetRef(), p.Spec.GetTargetRefs()) {
			add("RequestAuthentication", p.Namespace, p.Name)
		}
	}
	return out
}

// ServicePolicies is PoliciesTargeting for every Service at once, by the
// Service's key: one pass over the policies instead of one per Service,
// which a pane of thousands of Services cannot afford on every snapshot.
func ServicePolicies(s *kube.Snapshot) map[ambient.Key][]ambient.PolicyInfo {
	if s == nil || s.Mesh == nil {
		return nil
	}
	out := map[ambient.Key][]ambient.PolicyInfo{}
	add := func(kind, ns, name string, one *typev1beta1.PolicyTargetReference, many []*typev1beta1.PolicyTargetReference) {
		pi, ok := s.Mesh.Policy(kind, ambient.Key{Namespace: ns, Name: name})
		if !ok {
			return
		}
		var named []string // each Service once, however many refs name it
		for i := -1; i < len(many); i++ {
			r := one
			if i >= 0 {
				r = many[i]
			}
			if r == nil || r.GetKind() != "Service" {
				continue
			}
			if g := r.GetGroup(); g != "" && g != "core" {
				continue
			}
			if n := r.GetNamespace(); n != "" && n != ns {
				continue
			}
			if !slices.Contains(named, r.GetName()) {
				named = append(named, r.GetName())
				k := ambient.Key{Namespace: ns, Name: r.GetName()}
				out[k] = append(out[k], pi)
			}
		}
	}
	for _, p := range s.AuthorizationPolicies {
		if p != nil {
			add("AuthorizationPolicy", p.Namespace, p.Name, p.Spec.GetTargetRef(), p.Spec.GetTargetRefs())
		}
	}
	for _, p := range s.RequestAuthentications {
		if p != nil {
			add("RequestAuthentication", p.Namespace, p.Name, p.Spec.GetTargetRef(), p.Spec.GetTargetRefs())
		}
	}
	return out
}

// WaypointChoice is one waypoint a Service could be labelled to use, and
// why it would not work when it would not.
type WaypointChoice struct {
	Waypoint ambient.WaypointInfo
	// Problem is istiod's reason it would refuse the binding ("" when it
	// would accept it): not ready, another traffic type, attachment denied.
	Problem string
}

// WaypointsFor lists every waypoint with whether a Service in namespace ns
// may use it (through its own label or its namespace's), usable ones first,
// each group sorted by namespace and name. It follows
// fetchWaypointForService: the waypoint must be addressed, take "service"
// or "all" traffic, and its listener must admit the namespace.
func WaypointsFor(s *kube.Snapshot, ns string) []WaypointChoice {
	return WaypointsForTraffic(s, ns, ambient.TrafficService)
}

// WaypointsForTraffic is WaypointsFor for objects of a traffic type:
// ambient.TrafficWorkload for a pod, whose waypoint must take "workload"
// or "all" traffic (fetchWaypointForWorkload).
func WaypointsForTraffic(s *kube.Snapshot, ns, traffic string) []WaypointChoice {
	if s == nil || s.Mesh == nil {
		return nil
	}
	gws := map[ambient.Key]int{}
	for i, gw := range s.Gateways {
		if gw != nil {
			gws[ambient.Key{Namespace: gw.Namespace, Name: gw.Name}] = i
		}
	}
	var nsObj *corev1.Namespace
	for _, n := range s.Namespaces {
		if n != nil && n.Name == ns {
			nsObj = n
		}
	}
	out := make([]WaypointChoice, 0, len(s.Mesh.Waypoints))
	for _, w := range s.Mesh.Waypoints {
		c := WaypointChoice{Waypoint: w}
		i, ok := gws[w.Key]
		switch {
		case !ok:
			c.Problem = "its Gateway is not in the snapshot"
		case !w.Addressed:
			c.Problem = fmt.Sprintf("waypoint %q is not ready", w.Key.String())
		case w.For != traffic && w.For != ambient.TrafficAll:
			c.Problem = fmt.Sprintf("takes %q traffic, not %s traffic", w.For, traffic)
		case !ambient.AttachAllowed(s.Gateways[i], nsObj, ns):
			c.Problem = "its listener's allowedRoutes do not admit namespace " + ns
		}
		out = append(out, c)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if (a.Problem == "") != (b.Problem == "") {
			return a.Problem == ""
		}
		if a.Waypoint.Key.Namespace != b.Waypoint.Key.Namespace {
			return a.Waypoint.Key.Namespace < b.Waypoint.Key.Namespace
		}
		return a.Waypoint.Key.Name < b.Waypoint.Key.Name
	})
	return out
}
