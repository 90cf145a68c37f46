package detail

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	metav1alpha1 "istio.io/api/meta/v1alpha1"
	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

var now = time.Date(2026, time.August, 24, 9, 30, 0, 0, time.UTC)

func pod(ns, name, ip string, lbl, ann map[string]string, containers ...string) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl, Annotations: ann},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	for _, c := range containers {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: c})
	}
	return p
}

// fixture: shop is ambient with a namespace waypoint; cart is captured,
// legacy started before enrollment; an L7 ALLOW is attached by selector
// (so ztunnel enforces it), another by targetRefs to the waypoint; a
// mesh-wide STRICT PeerAuthentication.
func fixture() *kube.Snapshot {
	amb := map[string]string{ambient.LabelDataplaneMode: "ambient", ambient.LabelUseWaypoint: "waypoint"}
	hostname := gwv1.HostnameAddressType
	l7 := &secv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-get-only"}}
	l7.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: map[string]string{"app": "cart"}}
	l7.Spec.Rules = []*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{{Operation: &secv1beta1.Operation{Methods: []string{"GET"}}}}}}
	l7.Status.Conditions = []*metav1alpha1.IstioCondition{{Type: "ZtunnelAccepted", Status: "True", Reason: "UnsupportedValue",
		Message: "ztunnel does not support HTTP attributes (found: methods). In ambient mode you must use a waypoint proxy to enforce HTTP rules. Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested."}}
	atWaypoint := &secv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "waypoint-allow"}}
	atWaypoint.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "waypoint"}}
	atWaypoint.Status.Conditions = []*metav1alpha1.IstioCondition{{Type: "WaypointAccepted", Status: "True", Reason: "Accepted", Message: "bound to shop/waypoint"}}
	strict := &secv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "default"}}
	strict.Spec.Mtls = &secv1beta1.PeerAuthentication_MutualTLS{Mode: secv1beta1.PeerAuthentication_MutualTLS_STRICT}
	return kube.Build(ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: amb}},
		},
		Pods: []*corev1.Pod{
			pod("istio-system", "istio-cni-node-x7k2p", "", map[string]string{"k8s-app": "istio-cni-node"}, nil),
			pod("istio-system", "ztunnel-9vq4d", "10.0.0.2", map[string]string{"app": "ztunnel", ambient.LabelDataplaneMode: "none"}, nil),
			pod("shop", "cart-0", "10.0.0.10", map[string]string{"app": "cart"}, map[string]string{ambient.AnnotationRedirection: "enabled"}),
			pod("shop", "legacy-0", "10.0.0.11", map[string]string{"app": "legacy"}, nil),
			pod("shop", "waypoint-5c8d-q2w7e", "10.0.0.12", map[string]string{"gateway.networking.k8s.io/gateway-name": "waypoint", ambient.LabelDataplaneMode: "none"}, nil),
		},
		Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "cart"}}}},
		Gateways: []*gwv1.Gateway{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "waypoint"},
			Spec:       gwv1.GatewaySpec{GatewayClassName: "istio-waypoint", Listeners: []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}}},
			Status: gwv1.GatewayStatus{
				Addresses:  []gwv1.GatewayStatusAddress{{Type: &hostname, Value: "waypoint.shop.svc.cluster.local"}},
				Conditions: []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed", Message: "Resource programmed, assigned to service(s) waypoint.shop.svc.cluster.local:15008"}},
			},
		}},
		AuthorizationPolicies: []*secv1.AuthorizationPolicy{l7, atWaypoint},
		PeerAuthentications:   []*secv1.PeerAuthentication{strict},
	}, now)
}

func checkSize(t *testing.T, got string, width, height int) {
	t.Helper()
	lines := strings.Split(got, "\n")
	if len(lines) != height {
		t.Fatalf("%d lines, want %d", len(lines), height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != width {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, w, width, l)
		}
	}
}

func views(s *kube.Snapshot) map[string]Model {
	return map[string]Model{
		"pod_captured":   ForPod(s, ambient.Key{Namespace: "shop", Name: "cart-0"}, theme.Plain),
		"pod_restart":    ForPod(s, ambient.Key{Namespace: "shop", Name: "legacy-0"}, theme.Plain),
		"pod_missing":    ForPod(s, ambient.Key{Namespace: "shop", Name: "gone"}, theme.Plain),
		"namespace":      ForNamespace(s, "shop", theme.Plain),
		"waypoint":       ForWaypoint(s, ambient.Key{Namespace: "shop", Name: "waypoint"}, theme.Plain),
		"policy_l7":      ForPolicy(s, "AuthorizationPolicy", ambient.Key{Namespace: "shop", Name: "cart-get-only"}, theme.Plain),
		"policy_targets": ForPolicy(s, "AuthorizationPolicy", ambient.Key{Namespace: "shop", Name: "waypoint-allow"}, theme.Plain),
		"peerauthn":      ForPolicy(s, "PeerAuthentication", ambient.Key{Namespace: "istio-system", Name: "default"}, theme.Plain),
	}
}

func TestView(t *testing.T) {
	for name, m := range views(fixture()) {
		for _, size := range []struct {
			suffix string
			w, h   int
		}{{"", 110, 40}, {"_narrow", 50, 30}, {"_tiny", 20, 5}} {
			t.Run(name+size.suffix, func(t *testing.T) {
				got := m.SetSize(size.w, size.h).View(size.w, size.h)
				checkSize(t, got, size.w, size.h)
				golden.RequireEqual(t, got)
			})
		}
	}
}

func TestAnySize(t *testing.T) {
	for name, m := range views(fixture()) {
		for w := 1; w <= 60; w += 3 {
			for h := 1; h <= 8; h++ {
				m2, _ := m.SetSize(w, h).Update(tea.KeyPressMsg{Code: 'G', Text: "G"})
				got := m2.View(w, h)
				lines := strings.Split(got, "\n")
				if len(lines) != h {
					t.Fatalf("%s at %dx%d: %d lines", name, w, h, len(lines))
				}
				for _, l := range lines {
					if ansi.StringWidth(l) != w {
						t.Fatalf("%s at %dx%d: line %q is %d wide", name, w, h, l, ansi.StringWidth(l))
					}
				}
			}
		}
	}
}

// TestWhatItSays checks the facts a user opens the view for.
func TestWhatItSays(t *testing.T) {
	s := fixture()
	for _, tc := range []struct {
		name string
		m    Model
		want []string
		not  []string
	}{
		{"captured pod shows intent and state, its waypoint and both policies", views(s)["pod_captured"],
			[]string{"ambient.istio.io/redirection", "enabled", "istio.io/dataplane-mode=ambient", "10.0.0.10", "node-a",
				"takes \"service\" traffic only", "cart: waypoint shop/waypoint", "cart-get-only", "L7 ALLOW policy blocks all traffic", "selector app=cart", "waypoint-allow", "mesh-wide"}, nil},
		{"pod that needs a restart names the finding and its fix", views(s)["pod_restart"],
			[]string{"restart", "not captured by ambient", "kubectl"}, []string{"cart-get-only"}},
		{"namespace counts pods per state", views(s)["namespace"],
			[]string{"istio.io/dataplane-mode=ambient", "istio.io/use-waypoint=waypoint", "1  captured by ztunnel", "1  capture failed: check istio-cni"}, nil},
		{"waypoint shows status, pods and policies", views(s)["waypoint"],
			[]string{"Resource programmed", "pods ready", "1/1", "shop/cart", "waypoint-allow"}, nil},
		{"L7 policy by selector says what ztunnel will do", views(s)["policy_l7"],
			[]string{"ztunnel", "L7", "methods", "ZtunnelAccepted=True UnsupportedValue"}, nil},
		{"missing object says so", views(s)["pod_missing"], []string{"not in the cluster any more"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := strings.Join(tc.m.doc.lines(theme.Plain, 200), "\n")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("missing %q in:\n%s", w, text)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(text, w) {
					t.Errorf("unexpected %q in:\n%s", w, text)
				}
			}
		})
	}
}

func TestScroll(t *testing.T) {
	m := views(fixture())["pod_captured"].SetSize(60, 8)
	top := func(m Model) string { return strings.TrimSpace(strings.Split(m.View(60, 8), "\n")[1]) }
	first := top(m)
	m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	if top(m) == first {
		t.Fatal("j did not scroll")
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'k', Text: "k"})
	if top(m) != first {
		t.Fatalf("k did not scroll back: %q", top(m))
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyPgDown})
	if m.offset != 6 {
		t.Fatalf("pgdown scrolled to %d, want a page of 6", m.offset)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'G', Text: "G"})
	total := len(m.doc.lines(theme.Plain, 60))
	if m.offset != total-7 {
		t.Fatalf("G scrolled to %d, want %d (last line at the bottom)", m.offset, total-7)
	}
	m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	if m.offset != total-7 {
		t.Fatal("j scrolled past the end")
	}
	// A new snapshot keeps the position.
	if m2 := m.SetSnapshot(fixture()); m2.offset != m.offset {
		t.Fatalf("new snapshot moved the view from %d to %d", m.offset, m2.offset)
	}
}

// TestNamespaceMigration: a namespace still on sidecars says how far its
// move to ambient is and that M does it.
func TestNamespaceMigration(t *testing.T) {
	got := ForNamespace(demo.Homelab(), "legacy-apps", theme.Plain).SetSize(200, 30).View(200, 30)
	want := "migration      2 sidecar pods left, 0 pods moved, 0 move on a restart (the namespace still has istio-injection=enabled and it is not enrolled) · M migrates"
	if !strings.Contains(got, want) {
		t.Errorf("legacy-apps detail lacks %q:\n%s", want, got)
	}
	if got := ForNamespace(demo.Homelab(), "loki", theme.Plain).SetSize(120, 30).View(120, 30); strings.Contains(got, "migration") {
		t.Errorf("a namespace with nothing to migrate shows a migration line:\n%s", got)
	}
}
