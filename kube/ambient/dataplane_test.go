package ambient_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
)

func TestDataplaneReadiness(t *testing.T) {
	ztunnel := func(n string) *corev1.Pod { return dataplane(n)[0] }
	cniPod := func(n string) *corev1.Pod { return dataplane(n)[1] }
	for _, tc := range []struct {
		name  string
		pods  []*corev1.Pod
		title string // "" when no finding
		why   string
	}{
		{"ready everywhere", append(dataplane("node-1", "node-2"),
			pod("shop", "a", captured, node("node-1")), pod("shop", "b", captured, node("node-2"))), "", ""},
		{"ztunnel not ready on one node", []*corev1.Pod{
			ztunnel("node-1"), cniPod("node-1"), cniPod("node-2"), func() *corev1.Pod { p := ztunnel("node-2"); notReady(p); return p }(),
			pod("shop", "a", captured, node("node-1")), pod("shop", "b", pendingRedir, node("node-2")), pod("shop", "c", pendingRedir, node("node-2"))},
			"Ambient data plane not ready on 1 node", "node-2: ztunnel not ready (2 pods)"},
		{"a node without ztunnel counts", []*corev1.Pod{
			ztunnel("node-1"), cniPod("node-1"), cniPod("node-2"),
			pod("shop", "a", captured, node("node-2"))},
			"Ambient data plane not ready on 1 node", "node-2: no ztunnel (1 pod)"},
		{"istio-cni not ready", []*corev1.Pod{
			ztunnel("node-1"), func() *corev1.Pod { p := cniPod("node-1"); notReady(p); return p }(),
			pod("shop", "a", node("node-1"))}, // needs restart: still waits for capture
			"Ambient data plane not ready on 1 node", "node-1: istio-cni not ready (1 pod)"},
		{"nothing installed", []*corev1.Pod{pod("shop", "a", captured, node("node-1")), pod("shop", "b", captured, node("node-2"))},
			"Ambient data plane not ready on 2 nodes", "node-1: no ztunnel, no istio-cni (1 pod); node-2: no ztunnel, no istio-cni (1 pod)"},
		{"pods outside ambient do not need ztunnel", []*corev1.Pod{
			pod("shop", "a", labels("istio.io/dataplane-mode=none"), node("node-2")), pod("shop", "b", hostNetwork, node("node-2"))}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambient.Analyze(&ambient.Cluster{
				Namespaces: []*corev1.Namespace{namespace("istio-system"), namespace("shop", "istio.io/dataplane-mode=ambient")},
				Pods:       tc.pods,
			})
			fs := findingsFor(a, "dataplane-not-ready")
			if tc.title == "" {
				if len(fs) != 0 {
					t.Fatalf("unexpected findings %v: %s", codes(fs), fs[0].Why)
				}
				return
			}
			if len(fs) != 1 || fs[0].Object.String() != "Namespace shop" {
				t.Fatalf("findings = %v, want one on Namespace shop", codes(fs))
			}
			if fs[0].Title != tc.title+" running this namespace's pods" || !strings.Contains(fs[0].Why, "("+tc.why+")") {
				t.Errorf("finding = %q / %q", fs[0].Title, fs[0].Why)
			}
		})
	}
}

func TestFindingsOrder(t *testing.T) {
	a := ambient.Analyze(&ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			namespace("istio-system"),
			namespace("b", "istio.io/dataplane-mode=ambient", "istio-injection=enabled"),
			namespace("a", "istio.io/dataplane-mode=ambient"),
		},
		Pods:     append(dataplane("node-1"), pod("a", "p"), pod("b", "p", pendingRedir), pod("a", "q", pendingRedir)),
		Services: []*corev1.Service{service("a", "s", "istio.io/use-waypoint=none-such")},
	})
	want := []string{
		"error pod-redirection-pending Namespace a",
		"error pod-redirection-pending Namespace b",
		"error waypoint-missing Service a/s",
		"warning pod-needs-restart Namespace a",
		"warning namespace-multiple-injection-labels Namespace b",
	}
	if got := codes(a.Findings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestDataplaneInKubeSystem: ztunnel and istio-cni run in kube-system (GKE,
// OpenShift); found there by label, they count, and no node reads "no
// ztunnel".
func TestDataplaneInKubeSystem(t *testing.T) {
	moved := func(nodes ...string) []*corev1.Pod {
		ps := dataplane(nodes...)
		for _, p := range ps {
			p.Namespace = "kube-system"
		}
		return ps
	}
	for _, tc := range []struct {
		name      string
		ztunnelNS string // what discovery found; "" when no DaemonSet was read
		want      string // "" when no finding
	}{
		{"discovered in kube-system", "kube-system", ""},
		{"DaemonSets unreadable: any namespace", "", ""},
		{"discovered elsewhere: these are not the ztunnels", "istio-system", "node-1: no ztunnel (1 pod)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &ambient.Cluster{
				Namespaces: []*corev1.Namespace{namespace("kube-system"), namespace("shop", "istio.io/dataplane-mode=ambient")},
				Pods:       append(moved("node-1"), pod("shop", "a", captured, node("node-1"))),
			}
			c.Install.ZtunnelNamespace = tc.ztunnelNS
			fs := findingsFor(ambient.Analyze(c), "dataplane-not-ready")
			switch {
			case tc.want == "" && len(fs) != 0:
				t.Fatalf("false finding: %s", fs[0].Why)
			case tc.want != "" && (len(fs) != 1 || !strings.Contains(fs[0].Why, tc.want)):
				t.Fatalf("findings %v, want one saying %q", codes(fs), tc.want)
			case tc.want != "" && !strings.Contains(fs[0].Fix, "-n "+tc.ztunnelNS):
				t.Errorf("fix %q does not look where ztunnel runs", fs[0].Fix)
			}
		})
	}
}
