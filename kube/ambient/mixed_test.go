package ambient_test

import (
	"strings"
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// TestMixedCluster is a cluster halfway through a sidecar-to-ambient
// migration, with the mistakes such a migration makes.
func TestMixedCluster(t *testing.T) {
	crashing := func() *corev1.Pod { p := dataplane("node-3")[0]; notReady(p); return p }()
	pods := append(dataplane("node-1", "node-2"), crashing, dataplane("node-3")[1])
	pods = append(pods, waypointPods("bookinfo", "waypoint", 1)...)
	pods = append(pods,
		pod("istio-system", "istiod-5f4c-x", ownedBy("istiod")),
		pod("bookinfo", "productpage-7d4f9-a", captured, ownedBy("productpage"), labels("app=productpage")),
		pod("bookinfo", "reviews-v1-7d4f9-a", captured, ownedBy("reviews-v1"), labels("app=reviews"), node("node-2")),
		pod("bookinfo", "reviews-v2-7d4f9-a", captured, ownedBy("reviews-v2"), labels("app=reviews"), node("node-2")),
		pod("bookinfo", "ratings-7d4f9-a", captured, ownedBy("ratings"), labels("app=ratings")),
		pod("bookinfo", "details-7d4f9-a", ownedBy("details"), labels("app=details")), // started before enrollment
		pod("payments", "billing-7d4f9-a", injected, ownedBy("billing"), labels("app=billing")),
		pod("migrating", "cart-7d4f9-a", captured, ownedBy("cart"), node("node-3")),
		pod("migrating", "orders-7d4f9-a", injected, ownedBy("orders")), // leftover sidecar
		pod("batch", "report-28a1-x", phase(corev1.PodSucceeded)),
		pod("monitoring", "node-exporter-a", hostNetwork),
		pod("monitoring", "prometheus-0"),
		pod("kube-system", "coredns-7d4f9-a", ownedBy("coredns")),
	)
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			namespace("batch", "istio.io/dataplane-mode=ambient"),
			namespace("bookinfo", "istio.io/dataplane-mode=ambient", "istio.io/use-waypoint=waypoint"),
			namespace("istio-system"),
			namespace("kube-system"),
			namespace("migrating", "istio.io/dataplane-mode=ambient"),
			namespace("monitoring"),
			namespace("payments", "istio-injection=enabled"),
		},
		Pods: pods,
		Services: []*corev1.Service{
			service("bookinfo", "details"), service("bookinfo", "productpage"),
			service("bookinfo", "ratings", "istio.io/use-waypoint=none"),
			service("bookinfo", "reviews"),
			service("bookinfo", "waypoint", "gateway.istio.io/managed=istio.io-mesh-controller"),
			service("migrating", "cart", "istio.io/use-waypoint=cart-waypoint"), // never created
			service("payments", "billing"),
		},
		Gateways:       []*gwv1.Gateway{waypointGW("bookinfo", "waypoint")},
		GatewayClasses: []*gwv1.GatewayClass{waypointClass()},
		AuthorizationPolicies: []*secv1.AuthorizationPolicy{
			authz("bookinfo", "ratings-l4", selector("app=ratings"), rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Principals: []string{"cluster.local/ns/bookinfo/sa/waypoint"}})}})),
			authz("bookinfo", "reviews-get", targetRef("Service", "reviews"), rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}})),
			authz("payments", "billing-post", selector("app=billing"), rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"POST"}})}})),
			authz("migrating", "orders-l7", rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Paths: []string{"/api/*"}})}})),
		},
		PeerAuthentications:    []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", secv1beta1.PeerAuthentication_MutualTLS_STRICT, 0)},
		RequestAuthentications: []*secv1.RequestAuthentication{requestAuthn("bookinfo", "jwt", []string{"app=productpage"})},
	}
	a := ambient.Analyze(c)

	want := []string{
		"error policy-l7-on-ztunnel AuthorizationPolicy migrating/orders-l7",
		"error dataplane-not-ready Namespace migrating",
		"error waypoint-missing Service migrating/cart",
		"warning pod-needs-restart Namespace bookinfo",
		"warning sidecar-in-ambient-namespace Namespace migrating",
		"warning requestauthentication-no-waypoint RequestAuthentication bookinfo/jwt",
	}
	if got := codes(a.Findings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	nsStates := map[string]ambient.NamespaceState{
		"batch": ambient.NamespaceAmbient, "bookinfo": ambient.NamespaceAmbient, "migrating": ambient.NamespaceMixed,
		"monitoring": ambient.NamespaceOff, "payments": ambient.NamespaceSidecar, "kube-system": ambient.NamespaceOff,
	}
	for ns, want := range nsStates {
		if got := a.Namespaces[ns].State; got != want {
			t.Errorf("namespace %s = %s, want %s", ns, got, want)
		}
	}
	if b := a.Namespaces["bookinfo"]; b.Captured() != 4 || b.Counts[ambient.PodNeedsRestart] != 1 || b.Counts[ambient.PodOptedOut] != 1 || b.Policies != 3 {
		t.Errorf("bookinfo = %+v", b)
	}
	wp, _ := a.Waypoint(key("bookinfo", "waypoint"))
	if keys(wp.Services) != "bookinfo/details bookinfo/productpage bookinfo/reviews" || len(wp.Workloads) != 0 {
		t.Errorf("waypoint binds services %s, workloads %v", keys(wp.Services), wp.Workloads)
	}
	if b := a.Services[key("bookinfo", "ratings")].Waypoint; b.Bound() || b.Note == "" {
		t.Errorf("ratings opted out, binding %+v", b)
	}
	for _, tc := range []struct {
		kind, ns, name string
		by             ambient.Enforcement
	}{
		{"AuthorizationPolicy", "bookinfo", "ratings-l4", ambient.EnforcedByZtunnel},
		{"AuthorizationPolicy", "bookinfo", "reviews-get", ambient.EnforcedByWaypoint},
		{"AuthorizationPolicy", "payments", "billing-post", ambient.EnforcedBySidecar},
		{"AuthorizationPolicy", "migrating", "orders-l7", ambient.EnforcedByZtunnel},
		{"PeerAuthentication", "istio-system", "default", ambient.EnforcedByZtunnel},
		{"RequestAuthentication", "bookinfo", "jwt", ambient.EnforcedByNone},
	} {
		p, ok := a.Policy(tc.kind, key(tc.ns, tc.name))
		if !ok || p.EnforcedBy != tc.by {
			t.Errorf("%s %s/%s enforced by %s, want %s", tc.kind, tc.ns, tc.name, p.EnforcedBy, tc.by)
		}
	}
	dp := findingsFor(a, "dataplane-not-ready")[0]
	if !strings.Contains(dp.Why, "node-3: ztunnel not ready (1 pod)") {
		t.Errorf("data plane finding: %q", dp.Why)
	}
}
