package findings

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

var now = time.Date(2026, time.August, 24, 9, 30, 0, 0, time.UTC)

func ns(name string, lbl map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: lbl}}
}

func pod(ns, name string, lbl, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl, Annotations: ann},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.9",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
}

// fixture: shop is enrolled but its cart pod started before enrollment;
// its Service asks for a waypoint that does not exist; loki has a
// NetworkPolicy finding with a patch (set literally: the list shows
// whatever s.Findings holds).
func fixture() *kube.Snapshot {
	amb := map[string]string{ambient.LabelDataplaneMode: "ambient"}
	captured := map[string]string{ambient.AnnotationRedirection: "enabled"}
	s := kube.Build(ambient.Cluster{
		Namespaces: []*corev1.Namespace{ns("istio-system", nil), ns("loki", amb), ns("shop", amb)},
		Pods: []*corev1.Pod{
			pod("istio-system", "istio-cni-node-x7k2p", map[string]string{"k8s-app": "istio-cni-node"}, nil),
			pod("istio-system", "ztunnel-9vq4d", map[string]string{"app": "ztunnel"}, nil),
			pod("loki", "loki-0", map[string]string{"app": "loki"}, captured),
			pod("shop", "cart-7d9f-abcde", map[string]string{"app": "cart"}, nil),
		},
		Services: []*corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart",
			Labels: map[string]string{ambient.LabelUseWaypoint: "cart-waypoint"}}}},
	}, now)
	np := finding.Ref{Kind: "NetworkPolicy", Namespace: "loki", Name: "loki"}
	s.Findings = append(s.Findings, finding.Finding{Severity: finding.Error, Code: "hbone-ingress-blocked", Object: np,
		Title: "blocks HBONE (15008) from promtail to loki",
		Why:   "Ambient delivers mesh traffic on 15008; the policy admits only 3100.",
		Fix:   "kubectl patch networkpolicy loki -n loki --type=json -p '[...]'",
		Patch: &finding.Patch{Title: "Add TCP 15008 to rule ingress[0] of loki/loki", Command: "kubectl patch …", Target: np}})
	return s
}

// withStates sets each resource of s to its state in over (synced when not
// named) and whether the API server answers.
func withStates(s *kube.Snapshot, over map[kube.Resource]kube.Availability, reachable bool) *kube.Snapshot {
	s.Resources = kube.AllRead()
	for r, a := range over {
		s.Resources[r] = kube.ResourceState{Availability: a, Detail: "detail"}
	}
	s.Reachable = reachable
	if !reachable {
		s.Problem = "cannot reach API server: connection refused"
	}
	return s
}

// unreachable is a Source's snapshot when the server never answered:
// nothing read, nothing found.
func unreachable() *kube.Snapshot {
	s := kube.Build(ambient.Cluster{}, now)
	over := map[kube.Resource]kube.Availability{}
	for _, r := range kube.Resources {
		over[r] = kube.Unreachable
	}
	return withStates(s, over, false)
}

func press(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	}
	return tea.KeyPressMsg{Code: rune(k[0]), Text: k}
}

func TestView(t *testing.T) {
	s := fixture()
	for _, tc := range []struct {
		name          string
		ns            string
		snap          *kube.Snapshot
		down          int
		width, height int
	}{
		{"all", "", s, 0, 110, 20},
		{"second_selected", "", s, 1, 110, 20},
		{"namespace", "loki", s, 0, 80, 14},
		{"narrow", "", s, 0, 40, 16},
		{"tiny", "", s, 0, 20, 5},
		{"none", "", kube.Build(ambient.Cluster{}, now), 0, 60, 10},
		{"waiting", "", nil, 0, 60, 10},
		// Each watch state: what the list may and may not claim.
		{"state_synced", "", withStates(fixture(), nil, true), 0, 100, 16},
		{"state_partial", "", withStates(fixture(), map[kube.Resource]kube.Availability{kube.ResNetworkPolicies: kube.Syncing}, true), 0, 100, 16},
		{"state_forbidden", "", withStates(fixture(), map[kube.Resource]kube.Availability{kube.ResNetworkPolicies: kube.Forbidden}, true), 0, 100, 16},
		{"state_forbidden_none", "", withStates(kube.Build(ambient.Cluster{}, now), map[kube.Resource]kube.Availability{kube.ResNetworkPolicies: kube.Forbidden}, true), 0, 100, 12},
		{"state_missing_crd", "", withStates(kube.Build(ambient.Cluster{}, now), map[kube.Resource]kube.Availability{kube.ResGateways: kube.Missing, kube.ResGatewayClasses: kube.Missing}, true), 0, 100, 12},
		{"state_unreachable", "", unreachable(), 0, 100, 16},
		{"state_unreachable_short", "", unreachable(), 0, 60, 6},
		{"state_stale", "", withStates(fixture(), nil, false), 0, 100, 16},
		// The drift checks read ztunnel itself: unread, they say so.
		{"ztunnel_unread_none", "", withSurvey(&ztunnel.Survey{Started: now, Done: now, Ztunnels: 2,
			Readings: []ztunnel.Reading{{Node: "n1", Err: "forbidden: ambx needs create on pods/portforward\x1b[2J"}, {Node: "n2", Err: "timeout"}}}), 0, 100, 10},
		{"ztunnel_partly_read", "", fixture().WithZtunnel(&ztunnel.Survey{Started: now, Done: now, Ztunnels: 2,
			Readings: []ztunnel.Reading{{Node: "n1", Pod: "istio-system/zt-1", Dump: &ztunnel.Dump{Services: []ztunnel.Service{{}}}}, {Node: "n2", Err: "timeout"}}}, now), 0, 100, 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(theme.Plain).SetSnapshot(tc.snap).SetNamespace(tc.ns).SetSize(tc.width, tc.height)
			for range tc.down {
				m, _ = m.Update(press("j"))
			}
			got := m.View(tc.width, tc.height)
			lines := strings.Split(got, "\n")
			if len(lines) != tc.height {
				t.Fatalf("%d lines, want %d", len(lines), tc.height)
			}
			for i, l := range lines {
				if w := ansi.StringWidth(l); w != tc.width {
					t.Errorf("line %d is %d wide, want %d", i, w, tc.width)
				}
			}
			golden.RequireEqual(t, got)
		})
	}
}

func TestKeys(t *testing.T) {
	s := fixture()
	m := New(theme.Plain).SetSnapshot(s).SetSize(100, 20)
	if m.Table.Len() < 3 {
		t.Fatalf("%d findings listed, want the restart, the missing waypoint and the NetworkPolicy", m.Table.Len())
	}
	// Walk the list: enter jumps to each finding's object; n opens a patch
	// only where there is one.
	var jumped []string
	patches := 0
	for range m.Table.Len() {
		f, _ := m.Selected()
		_, cmd := m.Update(press("enter"))
		j, ok := cmd().(Jump)
		if !ok || j.Ref != f.Object {
			t.Fatalf("enter on %s gave %+v", f.Object, j)
		}
		jumped = append(jumped, j.Ref.String())
		_, cmd = m.Update(press("n"))
		switch {
		case f.Patch == nil && cmd != nil:
			t.Errorf("n on %s (no patch) gave %T", f.Code, cmd())
		case f.Patch != nil:
			op, ok := cmd().(OpenPatch)
			if !ok || op.Finding.Patch != f.Patch {
				t.Errorf("n on %s gave %+v, want OpenPatch with its patch", f.Code, op)
			}
			patches++
		}
		m, _ = m.Update(press("j"))
	}
	if patches != 1 {
		t.Errorf("%d findings opened a patch, want 1", patches)
	}
	for _, want := range []string{"NetworkPolicy loki/loki", "Namespace shop", "Service shop/cart"} {
		if !strings.Contains(strings.Join(jumped, ","), want) {
			t.Errorf("no finding jumps to %s; jumps: %v", want, jumped)
		}
	}

	// Drilled into loki, only loki's findings remain.
	m = m.SetNamespace("loki")
	if m.Table.Len() != 1 {
		t.Fatalf("loki shows %d findings, want 1", m.Table.Len())
	}
	// The cursor stays on the same finding across a new snapshot.
	m = New(theme.Plain).SetSnapshot(s).SetSize(100, 20)
	m, _ = m.Update(press("j"))
	before, _ := m.Selected()
	m = m.SetSnapshot(fixture())
	if after, _ := m.Selected(); after.Code != before.Code || after.Object != before.Object {
		t.Fatalf("cursor moved from %s to %s on a new snapshot", before.Object, after.Object)
	}
	// An empty list ignores enter.
	if _, cmd := New(theme.Plain).SetSnapshot(kube.Build(ambient.Cluster{}, now)).Update(press("enter")); cmd != nil {
		t.Fatal("enter on an empty list emitted a message")
	}
}

// Only a snapshot whose every input was read may say it found nothing;
// every other state says which checks did not run.
func TestNeverCleanWithoutData(t *testing.T) {
	empty := func() *kube.Snapshot { return kube.Build(ambient.Cluster{}, now) }
	for _, tc := range []struct {
		name  string
		snap  *kube.Snapshot
		clean bool
		says  string
	}{
		{"synced", empty(), true, "every check ran"},
		{"missing CRDs", withStates(empty(), map[kube.Resource]kube.Availability{kube.ResAuthorizationPolicies: kube.Missing, kube.ResGateways: kube.Missing}, true), true, "every check ran"},
		{"loading", withStates(empty(), map[kube.Resource]kube.Availability{kube.ResPods: kube.Syncing}, true), false, "Pods loading"},
		{"forbidden", withStates(empty(), map[kube.Resource]kube.Availability{kube.ResNetworkPolicies: kube.Forbidden}, true), false, "NetworkPolicies forbidden: HBONE checks not run"},
		{"failing", withStates(empty(), map[kube.Resource]kube.Availability{kube.ResServices: kube.Failing}, true), false, "Services failing"},
		{"unreachable", unreachable(), false, "cannot reach the API server"},
		{"no snapshot", nil, false, "waiting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := New(theme.Plain).SetSnapshot(tc.snap).SetSize(120, 20).View(120, 20)
			if clean := strings.Contains(got, "every check ran"); clean != tc.clean {
				t.Errorf("says clean = %v, want %v:\n%s", clean, tc.clean, got)
			}
			if !strings.Contains(got, tc.says) {
				t.Errorf("does not say %q:\n%s", tc.says, got)
			}
		})
	}
}
