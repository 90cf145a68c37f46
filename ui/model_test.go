package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
)

var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

func ns(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func pod(ns, name string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann, CreationTimestamp: metav1.NewTime(t0.Add(-time.Hour))},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{Ready: true}}},
	}
}

func testSnapshot() *kube.Snapshot {
	amb := map[string]string{"istio.io/dataplane-mode": "ambient"}
	enabled := map[string]string{"ambient.istio.io/redirection": "enabled"}
	c := ambient.Cluster{
		Namespaces: []*corev1.Namespace{ns("apps", amb), ns("loki", amb), ns("plain", nil)},
		Pods: []*corev1.Pod{
			pod("apps", "httpbin-1", enabled), pod("apps", "old-1", nil),
			pod("loki", "loki-0", enabled), pod("loki", "promtail-a", enabled),
			pod("plain", "web-1", nil),
		},
	}
	s := kube.Build(c, t0)
	s.Context = "test-ctx"
	s.Resources = map[kube.Resource]kube.ResourceState{}
	for _, r := range []kube.Resource{kube.ResNamespaces, kube.ResPods, kube.ResGateways, kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications} {
		s.Resources[r] = kube.ResourceState{Availability: kube.Available}
	}
	return s
}

func newModel(w, h int) Model {
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return t0.Add(3 * time.Second) }})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	mm, _ = mm.Update(SnapshotMsg{testSnapshot()})
	return mm.(Model)
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	}
	r := []rune(k)[0]
	return tea.KeyPressMsg{Code: r, Text: k}
}

func press(m Model, keys ...string) Model {
	for _, k := range keys {
		mm, _ := m.Update(keyMsg(k))
		m = mm.(Model)
	}
	return m
}

func TestTabCyclesPanesAndNumbersJump(t *testing.T) {
	m := newModel(120, 35)
	if m.Focus() != "Namespaces" {
		t.Fatalf("initial focus %s", m.Focus())
	}
	m = press(m, "tab")
	if m.Focus() != "Workloads" {
		t.Fatalf("after tab focus %s, want workloads", m.Focus())
	}
	m = press(m, "shift+tab", "shift+tab")
	if m.Focus() != "Policies" {
		t.Fatalf("after 2x shift+tab focus %s, want policies", m.Focus())
	}
	m = press(m, "3")
	if m.Focus() != "Waypoints" {
		t.Fatalf("after 3 focus %s", m.Focus())
	}
}

func TestDrillIntoNamespaceAndBack(t *testing.T) {
	m := newModel(120, 35)
	m = press(m, "j", "enter") // second namespace: loki
	if m.Drill() != "loki" || m.Focus() != "Workloads" {
		t.Fatalf("drill=%q focus=%s, want loki/workloads", m.Drill(), m.Focus())
	}
	screen := m.Render()
	if !strings.Contains(screen, "promtail-a") || strings.Contains(screen, "httpbin-1") {
		t.Fatalf("workloads not limited to loki:\n%s", screen)
	}
	m = press(m, "esc")
	if m.Drill() != "" || m.Focus() != "Namespaces" {
		t.Fatalf("esc: drill=%q focus=%s", m.Drill(), m.Focus())
	}
	if !strings.Contains(m.Render(), "httpbin-1") {
		t.Fatal("esc did not restore all workloads")
	}
}

func TestFilterNarrowsFocusedPane(t *testing.T) {
	m := newModel(120, 35)
	m = press(m, "2", "/", "o", "l", "d", "enter")
	screen := m.Render()
	if !strings.Contains(screen, "old-1") || strings.Contains(screen, "loki-0") {
		t.Fatalf("filter /old did not narrow workloads:\n%s", screen)
	}
	if !strings.Contains(screen, "Workloads (1/5) /old") {
		t.Fatalf("title does not show the filter:\n%s", screen)
	}
	m = press(m, "esc")
	if !strings.Contains(m.Render(), "loki-0") {
		t.Fatal("esc did not clear the filter")
	}
}

func TestHelpOverlayListsBindingsAndLegend(t *testing.T) {
	m := newModel(120, 35)
	m = press(m, "?")
	// The legend follows the bindings; at 120x35 the help scrolls to it.
	screen := m.Render() + press(m, "G").Render()
	for _, want := range []string{"next pane", "filter the pane", "quit", "capture failed: check istio-cni"} {
		if !strings.Contains(screen, want) {
			t.Errorf("help lacks %q", want)
		}
	}
	m = press(m, "?")
	if strings.Contains(m.Render(), "next pane") {
		t.Fatal("? did not close help")
	}
}

func TestQuit(t *testing.T) {
	m := newModel(80, 24)
	for _, k := range []tea.KeyPressMsg{{Code: 'q', Text: "q"}, {Code: 'c', Mod: tea.ModCtrl}} {
		_, cmd := m.Update(k)
		if cmd == nil {
			t.Fatalf("%v: no command", k)
		}
		if _, ok := cmd().(tea.QuitMsg); !ok {
			t.Fatalf("%v: not a quit", k)
		}
	}
}

func TestStatusBar(t *testing.T) {
	m := newModel(120, 35)
	m.opt.ReadOnly = true
	bar := m.statusBar()
	// testSnapshot leaves some resources unsynced: the watch is not
	// live until they are.
	for _, want := range []string{"test-ctx", "READ-ONLY", "connected · loading…", "last change 0s ago"} {
		if !strings.Contains(bar, want) {
			t.Errorf("status bar %q lacks %q", bar, want)
		}
	}
	all := testSnapshot()
	all.Resources = kube.AllRead()
	all.LastEvent = t0.Add(-2 * time.Minute)
	live, _ := m.Update(SnapshotMsg{all})
	for _, want := range []string{"connected · watch live", "last change 2m ago"} {
		if bar := live.(Model).statusBar(); !strings.Contains(bar, want) {
			t.Errorf("status bar %q lacks %q", bar, want)
		}
	}
	s := testSnapshot()
	s.Reachable, s.Problem = false, "cannot reach API server: connection refused"
	mm, _ := m.Update(SnapshotMsg{s})
	if bar := mm.(Model).statusBar(); !strings.Contains(bar, "cannot reach API server") {
		t.Errorf("outage not shown: %q", bar)
	}
}

// TestEverySizeFits renders at many sizes: every line must be exactly as
// wide as the terminal and there must be exactly as many lines.
func TestEverySizeFits(t *testing.T) {
	for _, sz := range [][2]int{{120, 35}, {80, 24}, {60, 16}, {59, 15}, {40, 10}, {20, 5}, {10, 2}, {1, 1}} {
		m := newModel(sz[0], sz[1])
		for _, keys := range [][]string{nil, {"?"}, {"tab", "/", "x"}} {
			mm := press(m, keys...)
			screen := mm.Render()
			lines := strings.Split(screen, "\n")
			if keys == nil && len(lines) != sz[1] {
				t.Errorf("%dx%d: %d lines", sz[0], sz[1], len(lines))
			}
			for i, l := range lines {
				if w := lipglossWidth(l); w > sz[0] {
					t.Errorf("%dx%d %v: line %d is %d wide: %q", sz[0], sz[1], keys, i, w, l)
				}
			}
		}
	}
}

// TestHelpScrollsWhenTooTall: on a small terminal the help flows into one
// column that does not fit; j/G scroll it down to the legend's last line.
func TestHelpScrollsWhenTooTall(t *testing.T) {
	m := newModel(80, 24)
	m = press(m, "?")
	if strings.Contains(m.Render(), "not enrolled") {
		t.Fatal("the whole help fits in 80x24: this test needs a taller help")
	}
	if !strings.Contains(m.Render(), "j/k scroll") {
		t.Fatal("no hint that the help scrolls")
	}
	m = press(m, "G")
	if !strings.Contains(m.Render(), "not enrolled") {
		t.Fatalf("G did not scroll to the legend's end:\n%s", m.Render())
	}
	m = press(m, "g")
	if !strings.Contains(m.Render(), "Program") {
		t.Fatalf("g did not scroll back to the top:\n%s", m.Render())
	}
	// Wide enough for every column: nothing to scroll.
	m = newModel(200, 60)
	m = press(m, "?")
	if s := m.Render(); !strings.Contains(s, "not enrolled") || strings.Contains(s, "j/k scroll") {
		t.Fatalf("200x60 help should fit whole:\n%s", s)
	}
}

// TestReadOnlyHelpMarksWriteKeys: in read-only mode the help still lists
// the write keys, marked off, so a user knows why a does nothing.
func TestReadOnlyHelpMarksWriteKeys(t *testing.T) {
	m := newModel(200, 60)
	m.opt.ReadOnly = true
	m = press(m, "?")
	if s := m.Render(); !strings.Contains(s, "toggle ambient (namespace; pod outside one) / opt-out (pod) (off: read-only)") {
		t.Fatalf("read-only help does not mark the write keys:\n%s", s)
	}
}
