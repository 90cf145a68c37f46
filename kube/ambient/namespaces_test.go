package ambient_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
)

func TestNamespaceState(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ns     *corev1.Namespace
		pods   []*corev1.Pod
		want   ambient.NamespaceState
		counts map[ambient.PodState]int
		ist123 bool
	}{
		{name: "ambient label", ns: namespace("a", "istio.io/dataplane-mode=ambient"),
			pods: []*corev1.Pod{pod("a", "p1", captured), pod("a", "p2", captured), pod("a", "p3")},
			want: ambient.NamespaceAmbient, counts: map[ambient.PodState]int{ambient.PodCaptured: 2, ambient.PodNeedsRestart: 1}},
		{name: "istio-injection enabled", ns: namespace("a", "istio-injection=enabled"),
			pods: []*corev1.Pod{pod("a", "p1", injected)},
			want: ambient.NamespaceSidecar, counts: map[ambient.PodState]int{ambient.PodSidecar: 1}},
		{name: "revision label means sidecar", ns: namespace("a", "istio.io/rev=canary"), want: ambient.NamespaceSidecar},
		{name: "istio-injection disabled is off", ns: namespace("a", "istio-injection=disabled"), want: ambient.NamespaceOff},
		{name: "istio-injection disabled beside a revision is not injected", ns: namespace("a", "istio-injection=disabled", "istio.io/rev=canary"), want: ambient.NamespaceOff},
		{name: "disabled injection beside a revision does not conflict with ambient", ns: namespace("a", "istio.io/dataplane-mode=ambient", "istio-injection=disabled", "istio.io/rev=canary"), want: ambient.NamespaceAmbient},
		{name: "both labels are mixed (IST0123)", ns: namespace("a", "istio.io/dataplane-mode=ambient", "istio-injection=enabled"), want: ambient.NamespaceMixed, ist123: true},
		{name: "revision and ambient are mixed (IST0123)", ns: namespace("a", "istio.io/dataplane-mode=ambient", "istio.io/rev=stable"), want: ambient.NamespaceMixed, ist123: true},
		{name: "ambient label with sidecar pods left is a migration", ns: namespace("a", "istio.io/dataplane-mode=ambient"),
			pods: []*corev1.Pod{pod("a", "p1", captured), pod("a", "p2", injected)},
			want: ambient.NamespaceMixed, counts: map[ambient.PodState]int{ambient.PodCaptured: 1, ambient.PodSidecar: 1}},
		{name: "sidecar label with ambient pods left is a migration", ns: namespace("a", "istio-injection=enabled"),
			pods: []*corev1.Pod{pod("a", "p1", captured), pod("a", "p2", injected)}, want: ambient.NamespaceMixed},
		{name: "no labels", ns: namespace("a"), pods: []*corev1.Pod{pod("a", "p1")},
			want: ambient.NamespaceOff, counts: map[ambient.PodState]int{ambient.PodNotMeshed: 1}},
		{name: "kube-system stays off", ns: namespace("kube-system", "istio.io/dataplane-mode=ambient"), want: ambient.NamespaceOff},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, p := range tc.pods {
				p.Namespace = tc.ns.Name
			}
			pods := append(dataplane("node-1"), tc.pods...)
			a := ambient.Analyze(&ambient.Cluster{Namespaces: []*corev1.Namespace{tc.ns, namespace("istio-system")}, Pods: pods})
			got := a.Namespaces[tc.ns.Name]
			if got.State != tc.want {
				t.Errorf("state = %q (%s), want %q", got.State, got.Reason, tc.want)
			}
			if got.Pods != len(tc.pods) {
				t.Errorf("pods = %d, want %d", got.Pods, len(tc.pods))
			}
			for s, n := range tc.counts {
				if got.Counts[s] != n {
					t.Errorf("count[%s] = %d, want %d", s, got.Counts[s], n)
				}
			}
			if tc.counts != nil && got.Captured() != tc.counts[ambient.PodCaptured] {
				t.Errorf("Captured() = %d", got.Captured())
			}
			f := findingsFor(a, "namespace-multiple-injection-labels")
			if (len(f) == 1) != tc.ist123 {
				t.Fatalf("IST0123 findings = %v, want %v", codes(f), tc.ist123)
			}
			if tc.ist123 && (!strings.Contains(f[0].Title, "IST0123") || !strings.Contains(f[0].Fix, "kubectl label namespace a")) {
				t.Errorf("IST0123 finding = %+v", f[0])
			}
		})
	}
}

func TestPodsInUnknownNamespaceAndBadInput(t *testing.T) {
	if a := ambient.Analyze(nil); a == nil || len(a.Pods) != 0 {
		t.Fatalf("Analyze(nil) = %+v", a)
	}
	a := ambient.Analyze(&ambient.Cluster{
		Namespaces: []*corev1.Namespace{nil},
		Pods:       []*corev1.Pod{nil, pod("ghost", "p", captured)},
		Services:   []*corev1.Service{nil},
		Gateways:   nil,
	})
	if n := a.Namespaces["ghost"]; n.Pods != 1 || n.Captured() != 1 {
		t.Errorf("namespace known only from its pod: %+v", n)
	}
}

// TestDroppingRevisionPinsWaypoints: removing a namespace's istio.io/rev
// moves its unlabelled waypoints to the default revision, so the fix pins
// them first.
func TestDroppingRevisionPinsWaypoints(t *testing.T) {
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("a", "istio.io/dataplane-mode=ambient", "istio.io/rev=stable")},
		Gateways:   []*gwv1.Gateway{waypointGW("a", "waypoint"), waypointGW("a", "pinned", gwLabels("istio.io/rev=canary"))},
	}
	f := findingsFor(ambient.Analyze(c), "namespace-multiple-injection-labels")
	if len(f) != 1 {
		t.Fatalf("findings %v", f)
	}
	want := "# keep ambient:\nkubectl label gateway waypoint -n a istio.io/rev=stable   # keep the waypoint on its revision\nkubectl label namespace a istio.io/rev-\n# or keep sidecars:\nkubectl label namespace a istio.io/dataplane-mode-"
	if f[0].Fix != want {
		t.Errorf("fix:\n%s\nwant:\n%s", f[0].Fix, want)
	}
}
