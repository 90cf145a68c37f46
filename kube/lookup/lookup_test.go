package lookup_test

import (
	"slices"
	"testing"
	"time"

	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/lookup"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func meta(ns, name string, l map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l}
}

func pod(ns, name string, l map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: meta(ns, name, l)}
}

func svc(ns, name string, sel map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: meta(ns, name, nil), Spec: corev1.ServiceSpec{Selector: sel}}
}

func names[T metav1.Object](objs []T) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.GetNamespace()+"/"+o.GetName())
	}
	return out
}

func TestServicesSelecting(t *testing.T) {
	c := &ambient.Cluster{Services: []*corev1.Service{
		svc("shop", "cart", map[string]string{"app": "cart"}),
		svc("shop", "cart-v1", map[string]string{"app": "cart", "version": "v1"}),
		svc("shop", "cart-v2", map[string]string{"app": "cart", "version": "v2"}),
		svc("shop", "manual", nil), // no selector: endpoints by hand, selects nothing
		svc("other", "cart", map[string]string{"app": "cart"}),
		nil,
	}}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want []string
	}{
		{pod("shop", "cart-1", map[string]string{"app": "cart", "version": "v1"}), []string{"shop/cart", "shop/cart-v1"}},
		{pod("shop", "cart-3", map[string]string{"app": "cart"}), []string{"shop/cart"}},
		{pod("shop", "web", map[string]string{"app": "web"}), nil},
		{pod("shop", "bare", nil), nil},
		{pod("third", "cart", map[string]string{"app": "cart"}), nil},
		{nil, nil},
	} {
		if got := names(lookup.ServicesSelecting(c, tc.pod)); !slices.Equal(got, tc.want) {
			t.Errorf("%v: got %v, want %v", tc.pod, got, tc.want)
		}
	}
	if got := names(lookup.PodsSelectedBy(&ambient.Cluster{Pods: []*corev1.Pod{
		pod("shop", "a", map[string]string{"app": "cart"}), pod("other", "b", map[string]string{"app": "cart"}), pod("shop", "c", nil),
	}}, c.Services[0])); !slices.Equal(got, []string{"shop/a"}) {
		t.Errorf("PodsSelectedBy = %v, want [shop/a]", got)
	}
}

func netpol(ns, name string, sel metav1.LabelSelector) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{ObjectMeta: meta(ns, name, nil), Spec: networkingv1.NetworkPolicySpec{PodSelector: sel}}
}

func TestNetworkPolicies(t *testing.T) {
	all := netpol("shop", "default-deny", metav1.LabelSelector{})
	web := netpol("shop", "web", metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}})
	notWeb := netpol("shop", "not-web", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"web"}}}})
	broken := netpol("shop", "broken", metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Near"}}})
	elsewhere := netpol("other", "default-deny", metav1.LabelSelector{})
	c := &ambient.Cluster{
		NetworkPolicies: []*networkingv1.NetworkPolicy{all, web, notWeb, broken, elsewhere},
		Pods:            []*corev1.Pod{pod("shop", "web-1", map[string]string{"app": "web"}), pod("shop", "db-1", map[string]string{"app": "db"}), pod("other", "x", nil)},
	}
	for _, tc := range []struct {
		pod  *corev1.Pod
		want []string
	}{
		{c.Pods[0], []string{"shop/default-deny", "shop/web"}},
		{c.Pods[1], []string{"shop/default-deny", "shop/not-web"}},
		{c.Pods[2], []string{"other/default-deny"}},
	} {
		got, bad := lookup.NetworkPoliciesSelecting(c, tc.pod)
		if !slices.Equal(names(got), tc.want) {
			t.Errorf("%s: got %v, want %v", tc.pod.Name, names(got), tc.want)
		}
		if wantBad := tc.pod.Namespace == "shop"; (len(bad) == 1) != wantBad {
			t.Errorf("%s: invalid selectors reported %v", tc.pod.Name, bad)
		}
	}
	if got, err := lookup.PodsSelectedByNetworkPolicy(c, notWeb); err != nil || !slices.Equal(names(got), []string{"shop/db-1"}) {
		t.Errorf("pods of not-web = %v, %v", names(got), err)
	}
	if _, err := lookup.PodsSelectedByNetworkPolicy(c, broken); err == nil {
		t.Error("an invalid podSelector selected pods without an error")
	}
}

func ref(kind, group, ns, name string) *typev1beta1.PolicyTargetReference {
	return &typev1beta1.PolicyTargetReference{Kind: kind, Group: group, Namespace: ns, Name: name}
}

func TestPoliciesTargeting(t *testing.T) {
	ap := func(name string, one *typev1beta1.PolicyTargetReference, many ...*typev1beta1.PolicyTargetReference) *secv1.AuthorizationPolicy {
		p := &secv1.AuthorizationPolicy{ObjectMeta: meta("shop", name, nil)}
		p.Spec.TargetRef, p.Spec.TargetRefs = one, many
		return p
	}
	c := ambient.Cluster{
		Namespaces: []*corev1.Namespace{{ObjectMeta: meta("", "shop", nil)}},
		Services:   []*corev1.Service{svc("shop", "cart", map[string]string{"app": "cart"})},
		AuthorizationPolicies: []*secv1.AuthorizationPolicy{
			ap("refs", nil, ref("Service", "", "", "cart")),
			ap("one", ref("Service", "core", "", "cart")),
			ap("second-of-two", nil, ref("Service", "", "", "web"), ref("Service", "", "", "cart")),
			ap("other-service", nil, ref("Service", "", "", "web")),
			ap("gateway-kind", nil, ref("Gateway", "gateway.networking.k8s.io", "", "cart")),
			ap("wrong-group", nil, ref("Service", "gateway.networking.k8s.io", "", "cart")),
			ap("other-namespace", nil, ref("Service", "", "elsewhere", "cart")),
			ap("selector", nil),
		},
		RequestAuthentications: []*secv1.RequestAuthentication{func() *secv1.RequestAuthentication {
			p := &secv1.RequestAuthentication{ObjectMeta: meta("shop", "jwt", nil)}
			p.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{ref("Service", "", "", "cart")}
			return p
		}()},
	}
	s := kube.Build(c, t0)
	var got []string
	for _, p := range lookup.PoliciesTargeting(s, ambient.Key{Namespace: "shop", Name: "cart"}) {
		got = append(got, p.Kind+"/"+p.Key.Name)
	}
	slices.Sort(got)
	want := []string{"AuthorizationPolicy/one", "AuthorizationPolicy/refs", "AuthorizationPolicy/second-of-two", "RequestAuthentication/jwt"}
	if !slices.Equal(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
	if lookup.PoliciesTargeting(nil, ambient.Key{}) != nil {
		t.Error("a nil snapshot has policies")
	}
	// ServicePolicies says the same for every Service, in the same order,
	// a policy naming a Service twice once.
	c.AuthorizationPolicies = append(c.AuthorizationPolicies, ap("twice", ref("Service", "", "", "cart"), ref("Service", "core", "shop", "cart"), ref("Service", "", "", "web")))
	c.Services = append(c.Services, svc("shop", "web", nil), svc("shop", "none", nil))
	s = kube.Build(c, t0)
	all := lookup.ServicePolicies(s)
	for _, sv := range c.Services {
		k := ambient.Key{Namespace: sv.Namespace, Name: sv.Name}
		if got, want := all[k], lookup.PoliciesTargeting(s, k); !slices.EqualFunc(got, want, func(a, b ambient.PolicyInfo) bool { return a.Kind == b.Kind && a.Key == b.Key }) {
			t.Errorf("ServicePolicies[%s] = %v, PoliciesTargeting %v", k, got, want)
		}
	}
	if len(all[ambient.Key{Namespace: "shop", Name: "web"}]) != 3 || lookup.ServicePolicies(nil) != nil {
		t.Errorf("web's policies %v; nil snapshot %v", all[ambient.Key{Namespace: "shop", Name: "web"}], lookup.ServicePolicies(nil))
	}
}

func waypoint(ns, name string, addressed bool, l map[string]string, from *gwv1.FromNamespaces, sel *metav1.LabelSelector) *gwv1.Gateway {
	gw := &gwv1.Gateway{ObjectMeta: meta(ns, name, l), Spec: gwv1.GatewaySpec{
		GatewayClassName: "istio-waypoint",
		Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
	}}
	if from != nil {
		gw.Spec.Listeners[0].AllowedRoutes = &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: from, Selector: sel}}
	}
	if addressed {
		gw.Status.Addresses = []gwv1.GatewayStatusAddress{{Value: "10.0.0.9"}}
	}
	return gw
}

// TestWaypointsFor checks every choice against what the analysis (which
// follows istiod) makes of the Service actually labelled with it: a choice
// is offered as usable exactly when the binding would have no problem.
func TestWaypointsFor(t *testing.T) {
	all, same, selector := gwv1.NamespacesFromAll, gwv1.NamespacesFromSame, gwv1.NamespacesFromSelector
	gws := []*gwv1.Gateway{
		waypoint("shop", "local", true, nil, nil, nil),
		waypoint("shop", "pending", false, nil, nil, nil),
		waypoint("shop", "workload-only", true, map[string]string{"istio.io/waypoint-for": "workload"}, nil, nil),
		waypoint("shop", "for-all", true, map[string]string{"istio.io/waypoint-for": "all"}, nil, nil),
		waypoint("shop", "for-none", true, map[string]string{"istio.io/waypoint-for": "none"}, nil, nil),
		waypoint("infra", "same-only", true, nil, &same, nil),
		waypoint("infra", "from-all", true, nil, &all, nil),
		waypoint("infra", "team-a", true, nil, &selector, &metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}),
		waypoint("infra", "team-b", true, nil, &selector, &metav1.LabelSelector{MatchLabels: map[string]string{"team": "b"}}),
	}
	base := ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			{ObjectMeta: meta("", "shop", map[string]string{"istio.io/dataplane-mode": "ambient", "team": "a"})},
			{ObjectMeta: meta("", "infra", nil)},
		},
		Gateways: gws,
	}
	cart := svc("shop", "cart", map[string]string{"app": "cart"})
	base.Services = []*corev1.Service{cart}
	choices := lookup.WaypointsFor(kube.Build(base, t0), cart.Namespace)
	if len(choices) != len(gws) {
		t.Fatalf("%d choices for %d waypoints", len(choices), len(gws))
	}
	usable := map[string]bool{}
	seenProblem := false
	for _, ch := range choices {
		k := ch.Waypoint.Key
		usable[k.String()] = ch.Problem == ""
		if ch.Problem != "" {
			seenProblem = true
		} else if seenProblem {
			t.Errorf("usable %s listed after an unusable one", k)
		}
		labelled := base
		s := cart.DeepCopy()
		s.Labels = map[string]string{"istio.io/use-waypoint": k.Name, "istio.io/use-waypoint-namespace": k.Namespace}
		labelled.Services = []*corev1.Service{s}
		b := kube.Build(labelled, t0).Mesh.Services[ambient.Key{Namespace: "shop", Name: "cart"}].Waypoint
		if (b.Problem == "") != (ch.Problem == "") {
			t.Errorf("%s: offered with problem %q, but labelled the analysis says %q", k, ch.Problem, b.Problem)
		}
	}
	want := map[string]bool{"shop/local": true, "shop/pending": false, "shop/workload-only": false, "shop/for-all": true, "shop/for-none": false,
		"infra/same-only": false, "infra/from-all": true, "infra/team-a": true, "infra/team-b": false}
	for k, w := range want {
		if usable[k] != w {
			t.Errorf("%s usable = %v, want %v", k, usable[k], w)
		}
	}
}

// Selects agrees with the selector the API machinery builds from a Service's
// selector, including empty values and absent labels.
func TestSelectsIsSelectorFromSet(t *testing.T) {
	pods := []map[string]string{nil, {}, {"app": "web"}, {"app": "web", "v": ""}, {"app": "cart", "v": "1"}, {"v": ""}}
	sels := []map[string]string{{}, {"app": "web"}, {"v": ""}, {"app": "web", "v": ""}, {"app": ""}, {"app": "cart", "v": "1"}}
	for _, sel := range sels {
		for _, l := range pods {
			if got, want := lookup.Selects(sel, l), labels.SelectorFromSet(sel).Matches(labels.Set(l)); got != want {
				t.Errorf("Selects(%v, %v) = %v, SelectorFromSet says %v", sel, l, got, want)
			}
		}
	}
}

// PodsByNamespace gives each namespace exactly its pods, in their order,
// whether the pods come sorted by namespace (a run of the slice) or not.
func TestPodsByNamespace(t *testing.T) {
	pod := func(ns, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	sorted := []*corev1.Pod{pod("a", "1"), pod("a", "2"), pod("b", "1"), pod("d", "1"), pod("d", "2"), pod("d", "3")}
	shuffled := []*corev1.Pod{sorted[3], sorted[0], sorted[2], sorted[4], sorted[1], sorted[5]}
	for _, pods := range [][]*corev1.Pod{sorted, shuffled, nil} {
		of := lookup.PodsByNamespace(pods)
		for _, ns := range []string{"", "a", "b", "c", "d", "e"} {
			var want []*corev1.Pod
			for _, p := range pods {
				if p.Namespace == ns {
					want = append(want, p)
				}
			}
			if got := of(ns); !slices.Equal(got, want) {
				t.Errorf("%d pods, namespace %q: %d pods, want %d", len(pods), ns, len(got), len(want))
			}
		}
	}
}

// NamespacePods trusts the order the builder found, and only for the
// pods it was found for: a snapshot built from shuffled pods, and a copy
// of a sorted one given shuffled pods, still give each namespace exactly
// its pods.
func TestNamespacePods(t *testing.T) {
	pod := func(ns, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	sorted := []*corev1.Pod{pod("a", "1"), pod("a", "2"), pod("b", "1"), pod("d", "1"), pod("d", "2"), pod("d", "3")}
	shuffled := []*corev1.Pod{sorted[3], sorted[0], sorted[2], sorted[4], sorted[1], sorted[5]}
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	built := kube.Build(ambient.Cluster{Pods: sorted}, now)
	if !built.PodsSorted() {
		t.Error("the builder did not find sorted pods sorted")
	}
	copied := *built
	copied.Pods = shuffled
	if copied.PodsSorted() {
		t.Error("a copy given shuffled pods is taken for sorted")
	}
	unsorted := kube.Build(ambient.Cluster{Pods: shuffled}, now)
	if unsorted.PodsSorted() {
		t.Error("shuffled pods are taken for sorted")
	}
	for name, s := range map[string]*kube.Snapshot{"sorted": built, "copy": &copied, "shuffled": unsorted, "by hand": {Cluster: ambient.Cluster{Pods: sorted}}, "nil": nil} {
		of := lookup.NamespacePods(s)
		for _, ns := range []string{"", "a", "b", "c", "d", "e"} {
			var want []*corev1.Pod
			if s != nil {
				for _, p := range s.Pods {
					if p.Namespace == ns {
						want = append(want, p)
					}
				}
			}
			if got := of(ns); !slices.Equal(got, want) {
				t.Errorf("%s, namespace %q: %d pods, want %d", name, ns, len(got), len(want))
			}
		}
	}
}
