package ambient_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// TestWaypointResolution follows fetchWaypointForService/Workload (reference
// 1.4): one cluster per case, asserting the binding of a Service "svc" or a
// captured pod "pod" in namespace "app".
func TestWaypointResolution(t *testing.T) {
	const (
		svc_ = "service"
		pod_ = "pod"
	)
	amb := "istio.io/dataplane-mode=ambient"
	for _, tc := range []struct {
		name      string
		target    string // service or pod
		nsLabels  []string
		objLabels []string
		gateways  []*gwv1.Gateway
		classes   []*gwv1.GatewayClass
		others    []*corev1.Namespace
		want      ambient.WaypointBinding
	}{
		{name: "service label", target: svc_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "service"}},
		{name: "namespace label", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "namespace"}},
		{name: "service label beats namespace label", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=ns-wp"}, objLabels: []string{"istio.io/use-waypoint=svc-wp"},
			gateways: []*gwv1.Gateway{waypointGW("app", "ns-wp"), waypointGW("app", "svc-wp")},
			want:     ambient.WaypointBinding{Waypoint: key("app", "svc-wp"), Source: "service"}},
		{name: "none on the service opts out of the namespace waypoint", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, objLabels: []string{"istio.io/use-waypoint=none"},
			gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want:     ambient.WaypointBinding{Source: "service", Note: "opted out with istio.io/use-waypoint=none"}},
		{name: "none on the namespace", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=none"},
			want:     ambient.WaypointBinding{Source: "namespace", Note: "its namespace opts out with istio.io/use-waypoint=none"}},
		{name: "missing named waypoint does not fall back to the namespace's", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, objLabels: []string{"istio.io/use-waypoint=gone"},
			gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want:     ambient.WaypointBinding{Waypoint: key("app", "gone"), Source: "service", Reason: "WaypointIsNotReady", Problem: `waypoint "app/gone" is not ready`}},
		{name: "gateway without addresses is not ready", target: svc_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", unaddressed("Pending", "Waiting for controller"))},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "service", Reason: "WaypointIsNotReady", Problem: `waypoint "app/wp" is not ready`}},
		{name: "cross-namespace waypoint allowed from all", target: svc_,
			objLabels: []string{"istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"},
			gateways:  []*gwv1.Gateway{waypointGW("infra", "shared", allowFrom(gwv1.NamespacesFromAll))},
			want:      ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "service"}},
		{name: "cross-namespace waypoint with default allowedRoutes denies attachment", target: svc_,
			objLabels: []string{"istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"},
			gateways:  []*gwv1.Gateway{waypointGW("infra", "shared")},
			want: ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "service", Reason: "AttachmentDenied",
				Problem: `we are not permitted to attach to waypoint "infra/shared" (missing allowedRoutes?)`}},
		{name: "cross-namespace waypoint with a matching namespace selector", target: svc_,
			nsLabels:  []string{amb, "team=shop"},
			objLabels: []string{"istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"},
			gateways:  []*gwv1.Gateway{waypointGW("infra", "shared", allowFrom(gwv1.NamespacesFromSelector, "team=shop"))},
			want:      ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "service"}},
		{name: "cross-namespace waypoint with another namespace selector", target: svc_,
			nsLabels:  []string{amb, "team=blog"},
			objLabels: []string{"istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"},
			gateways:  []*gwv1.Gateway{waypointGW("infra", "shared", allowFrom(gwv1.NamespacesFromSelector, "team=shop"))},
			want: ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "service", Reason: "AttachmentDenied",
				Problem: `we are not permitted to attach to waypoint "infra/shared" (missing allowedRoutes?)`}},
		{name: "namespace label with use-waypoint-namespace", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"},
			gateways: []*gwv1.Gateway{waypointGW("infra", "shared", allowFrom(gwv1.NamespacesFromAll))},
			want:     ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "namespace"}},
		{name: "service cannot use a workload waypoint", target: svc_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", gwLabels("istio.io/waypoint-for=workload"))},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "service", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "service" which the waypoint "app/wp" does not support`}},
		{name: "service via namespace label to a workload waypoint is still an error", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", gwLabels("istio.io/waypoint-for=workload"))},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "namespace", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "service" which the waypoint "app/wp" does not support`}},
		{name: "pod label to a default (service) waypoint is an error", target: pod_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "pod", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "workload" which the waypoint "app/wp" does not support`}},
		{name: "pod via namespace label to a service waypoint silently has none", target: pod_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want: ambient.WaypointBinding{Note: `namespace waypoint app/wp takes "service" traffic only, so traffic addressed to the pod skips it`}},
		{name: "pod label to a workload waypoint", target: pod_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", gwLabels("istio.io/waypoint-for=workload"))},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "pod"}},
		{name: "pod via namespace label to an all waypoint", target: pod_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", gwLabels("istio.io/waypoint-for=all"))},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "namespace"}},
		{name: "GatewayClass label sets the traffic type", target: pod_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			classes: []*gwv1.GatewayClass{waypointClass("istio.io/waypoint-for=workload")},
			want:    ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "pod"}},
		{name: "Gateway label beats GatewayClass label", target: pod_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", gwLabels("istio.io/waypoint-for=service"))},
			classes: []*gwv1.GatewayClass{waypointClass("istio.io/waypoint-for=workload")},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "pod", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "workload" which the waypoint "app/wp" does not support`}},
		{name: "waypoint-for none takes nothing", target: svc_,
			objLabels: []string{"istio.io/use-waypoint=wp"}, gateways: []*gwv1.Gateway{waypointGW("app", "wp", gwLabels("istio.io/waypoint-for=none"))},
			want: ambient.WaypointBinding{Waypoint: key("app", "wp"), Source: "service", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "service" which the waypoint "app/wp" does not support`}},
		{name: "the waypoint's own Service is never bound", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, objLabels: []string{"gateway.istio.io/managed=istio.io-mesh-controller"},
			gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want:     ambient.WaypointBinding{}},
		{name: "east-west gateway Service is never bound", target: svc_,
			nsLabels: []string{amb, "istio.io/use-waypoint=wp"}, objLabels: []string{"gateway.istio.io/managed=istio.io-eastwest-controller"},
			gateways: []*gwv1.Gateway{waypointGW("app", "wp")},
			want:     ambient.WaypointBinding{}},
		{name: "no labels, no waypoint", target: svc_, nsLabels: []string{amb}, want: ambient.WaypointBinding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &ambient.Cluster{
				Namespaces:     []*corev1.Namespace{namespace("app", tc.nsLabels...), namespace("infra")},
				Gateways:       tc.gateways,
				GatewayClasses: tc.classes,
			}
			var got ambient.WaypointBinding
			if tc.target == svc_ {
				c.Services = []*corev1.Service{service("app", "svc", tc.objLabels...)}
				got = ambient.Analyze(c).Services[key("app", "svc")].Waypoint
			} else {
				c.Pods = []*corev1.Pod{pod("app", "pod", captured, labels(tc.objLabels...))}
				got = ambient.Analyze(c).Pods[key("app", "pod")].Waypoint
			}
			if got != tc.want {
				t.Errorf("binding =\n  %+v\nwant\n  %+v", got, tc.want)
			}
			if got.Bound() != (tc.want.Waypoint.Name != "" && tc.want.Problem == "") {
				t.Errorf("Bound() = %v", got.Bound())
			}
		})
	}
}

func key(ns, name string) ambient.Key { return ambient.Key{Namespace: ns, Name: name} }

func TestWaypointInfo(t *testing.T) {
	pods := append(waypointPods("shop", "waypoint", 2),
		pod("shop", "reviews", captured, labels("istio.io/use-waypoint=all-wp")),
		pod("shop", "ratings", captured),
		pod("shop", "not-ambient", labels("istio.io/use-waypoint=all-wp", "istio.io/dataplane-mode=none")),
	)
	notReady(pods[1])
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("shop", "istio.io/dataplane-mode=ambient", "istio.io/use-waypoint=waypoint", "istio.io/rev=canary")},
		Pods:       pods,
		Services: []*corev1.Service{
			service("shop", "reviews"), service("shop", "ratings"),
			service("shop", "details", "istio.io/use-waypoint=all-wp"),
			service("shop", "waypoint", "gateway.istio.io/managed=istio.io-mesh-controller"),
		},
		Gateways: []*gwv1.Gateway{
			waypointGW("shop", "all-wp", gwLabels("istio.io/waypoint-for=all", "istio.io/rev=stable")),
			waypointGW("shop", "waypoint"),
			waypointGW("shop", "pending", unaddressed("AddressNotAssigned", "Failed to assign to any requested addresses")),
			waypointGW("shop", "ingress", class("istio")),
		},
	}
	a := ambient.Analyze(c)
	if len(a.Waypoints) != 3 {
		t.Fatalf("waypoints = %+v, want all-wp, pending, waypoint (the ingress Gateway is not one)", a.Waypoints)
	}
	wp, ok := a.Waypoint(key("shop", "waypoint"))
	if !ok {
		t.Fatal("waypoint shop/waypoint not found")
	}
	if wp.For != "service" || !wp.Programmed || !wp.Addressed || wp.Replicas != 2 || wp.Ready != 1 || wp.Revision != "canary" {
		t.Errorf("shop/waypoint = %+v", wp)
	}
	if got := keys(wp.Services); got != "shop/ratings shop/reviews" {
		t.Errorf("shop/waypoint services = %s", got)
	}
	if len(wp.Workloads) != 0 || strings.Join(wp.Namespaces, " ") != "shop" {
		t.Errorf("shop/waypoint workloads %v namespaces %v", wp.Workloads, wp.Namespaces)
	}
	all, _ := a.Waypoint(key("shop", "all-wp"))
	if all.For != "all" || all.Revision != "stable" || keys(all.Services) != "shop/details" || keys(all.Workloads) != "shop/reviews" {
		t.Errorf("shop/all-wp = %+v", all)
	}
	pending, _ := a.Waypoint(key("shop", "pending"))
	if pending.Programmed || pending.Addressed || pending.ProgrammedMsg != "Failed to assign to any requested addresses" {
		t.Errorf("shop/pending = %+v", pending)
	}
	if !a.Services[key("shop", "waypoint")].IsWaypoint {
		t.Error("the waypoint's own Service is not marked IsWaypoint")
	}
}

func keys(ks []ambient.Key) string {
	var s []string
	for _, k := range ks {
		s = append(s, k.String())
	}
	return strings.Join(s, " ")
}

func TestWaypointFindings(t *testing.T) {
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			namespace("shop", "istio.io/dataplane-mode=ambient"),
			namespace("blog", "istio.io/dataplane-mode=ambient", "istio.io/use-waypoint=missing-ns-wp"),
			namespace("infra"),
		},
		Pods: append(append(dataplane("node-1"), waypointPods("shop", "wl-wp", 1)...),
			pod("shop", "api-7d4f9-a", captured, ownedBy("api"), labels("istio.io/use-waypoint=gone")),
			pod("shop", "api-7d4f9-b", captured, ownedBy("api"), labels("istio.io/use-waypoint=gone")),
			pod("blog", "web", captured),
		),
		Services: []*corev1.Service{
			service("shop", "cart", "istio.io/use-waypoint=nope"),
			service("shop", "orders", "istio.io/use-waypoint=wl-wp"),
			service("shop", "users", "istio.io/use-waypoint=slow"),
			service("shop", "search", "istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"),
			service("shop", "mail", "istio.io/use-waypoint=dead"),
			// Inherits the namespace's missing waypoint: reported once, on the namespace.
			service("blog", "posts"),
		},
		Gateways: []*gwv1.Gateway{
			waypointGW("shop", "wl-wp", gwLabels("istio.io/waypoint-for=workload")),
			waypointGW("shop", "slow", unaddressed("Pending", "Waiting for controller")),
			waypointGW("shop", "idle", unaddressed("Pending", "Waiting for controller")),
			waypointGW("infra", "shared"),
			waypointGW("shop", "dead"), // addressed, but no pods
			waypointGW("shop", "typo", gwLabels("istio.io/waypoint-for=Service")),
		},
	}
	a := ambient.Analyze(c)
	want := []string{
		"error waypoint-attachment-denied Gateway infra/shared",
		"error waypoint-no-ready-pods Gateway shop/dead",
		"error waypoint-not-programmed Gateway shop/slow",
		"error waypoint-traffic-type Gateway shop/wl-wp",
		"error waypoint-missing Namespace blog",
		"error waypoint-missing Namespace shop",
		"error waypoint-missing Service shop/cart",
		"warning waypoint-not-programmed Gateway shop/idle",
		"warning waypoint-traffic-type Gateway shop/typo",
	}
	if got := codes(a.Findings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, f := range a.Findings {
		if f.Why == "" || f.Fix == "" || f.Title == "" {
			t.Errorf("%s %s lacks title, why or fix", f.Code, f.Object)
		}
		switch {
		case f.Code == "waypoint-missing" && f.Object.Name == "shop":
			if !strings.HasPrefix(f.Title, "2 pods use waypoint shop/gone") || !strings.Contains(f.Fix, "--name gone --for workload") {
				t.Errorf("pod group finding = %q / %q", f.Title, f.Fix)
			}
		case f.Code == "waypoint-missing" && f.Object.Name == "cart":
			if f.Fix != "istioctl waypoint apply -n shop --name nope --for service --wait" {
				t.Errorf("service fix = %q", f.Fix)
			}
		case f.Code == "waypoint-attachment-denied":
			if !strings.Contains(f.Fix, "from: All") || !strings.Contains(f.Why, "service/shop/search") {
				t.Errorf("attachment finding = %q / %q", f.Why, f.Fix)
			}
		case f.Code == "waypoint-traffic-type" && f.Object.Name == "wl-wp":
			if !strings.Contains(f.Why, "service/shop/orders") || !strings.Contains(f.Fix, "istio.io/waypoint-for=all") {
				t.Errorf("traffic finding = %q / %q", f.Why, f.Fix)
			}
		case f.Code == "waypoint-not-programmed" && f.Object.Name == "slow":
			if !strings.Contains(f.Title, "Waiting for controller") {
				t.Errorf("not programmed title = %q", f.Title)
			}
		}
	}
}

// TestWaypointNoReadyPodsWhateverProgrammed: a bound, addressed waypoint
// without ready pods fails its traffic; Programmed=False (what istiod
// writes once the pods are gone) must not hide it.
func TestWaypointNoReadyPodsWhateverProgrammed(t *testing.T) {
	for _, programmed := range []string{"True", "False", ""} {
		gw := waypointGW("shop", "wp")
		if programmed == "" {
			gw.Status.Conditions = nil
		} else {
			gw.Status.Conditions = []metav1.Condition{metaCondition("Programmed", programmed, "AddressNotAssigned", `no instances found for hostname "wp.shop.svc.cluster.local"`)}
		}
		c := &ambient.Cluster{
			Namespaces: []*corev1.Namespace{namespace("shop", "istio.io/dataplane-mode=ambient")},
			Pods:       append(dataplane("node-1"), pod("shop", "api", captured)),
			Services:   []*corev1.Service{service("shop", "api", "istio.io/use-waypoint=wp")},
			Gateways:   []*gwv1.Gateway{gw},
		}
		if got := codes(ambient.Analyze(c).Findings); strings.Join(got, ";") != "error waypoint-no-ready-pods Gateway shop/wp" {
			t.Errorf("Programmed=%q: findings %v", programmed, got)
		}
	}
}

// TestAllowedRoutesFixKeepsTheGateway: the suggested Gateway keeps its
// listeners, labels and annotations and opens only the HBONE listener.
func TestAllowedRoutesFixKeepsTheGateway(t *testing.T) {
	gw := waypointGW("infra", "shared", gwLabels("istio.io/waypoint-for=all"))
	gw.Annotations = map[string]string{"ambient.istio.io/waypoint-inbound-binding": "PROXY/15088", "kubectl.kubernetes.io/last-applied-configuration": "{}"}
	gw.Spec.Listeners = append(gw.Spec.Listeners, gwv1.Listener{Name: "proxy", Port: 15088, Protocol: "istio.io/PROXY"})
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("shop", "istio.io/dataplane-mode=ambient"), namespace("infra")},
		Services:   []*corev1.Service{service("shop", "search", "istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra")},
		Gateways:   []*gwv1.Gateway{gw},
	}
	f := findingsFor(ambient.Analyze(c), "waypoint-attachment-denied")
	if len(f) != 1 {
		t.Fatalf("findings %v", f)
	}
	for _, want := range []string{"name: proxy", "port: 15088", "waypoint-inbound-binding: PROXY/15088", "istio.io/waypoint-for: all", "from: All", "name: mesh"} {
		if !strings.Contains(f[0].Fix, want) {
			t.Errorf("fix lacks %q:\n%s", want, f[0].Fix)
		}
	}
	if strings.Contains(f[0].Fix, "last-applied-configuration") || strings.Count(f[0].Fix, "from: All") != 1 {
		t.Errorf("fix:\n%s", f[0].Fix)
	}
}
