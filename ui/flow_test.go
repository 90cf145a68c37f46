package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
)

// drive feeds msg to the model and runs every command it returns, feeding
// their messages back, the way the Bubble Tea runtime would (without
// ticks, which would sleep).
func drive(t *testing.T, m Model, msg tea.Msg) Model {
	t.Helper()
	queue := []tea.Msg{msg}
	for n := 0; len(queue) > 0; n++ {
		if n > 100 {
			t.Fatal("too many messages: a command loops")
		}
		msg := queue[0]
		queue = queue[1:]
		mm, cmd := m.Update(msg)
		m = mm.(Model)
		queue = append(queue, run(cmd)...)
	}
	return m
}

func run(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	switch msg := cmd().(type) {
	case nil:
		return nil
	case tea.BatchMsg:
		var out []tea.Msg
		for _, c := range msg {
			out = append(out, run(c)...)
		}
		return out
	case TickMsg:
		return nil
	default:
		return []tea.Msg{msg}
	}
}

func keys(t *testing.T, m Model, ks ...string) Model {
	for _, k := range ks {
		m = drive(t, m, keyMsg(k))
	}
	return m
}

func demoModel(t *testing.T, readOnly bool) (Model, *kube.Clients) {
	c := demo.Clients(demo.Epoch)
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }, ReadOnly: readOnly, Writer: writer.New(c, readOnly)})
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 35})
	return drive(t, m, SnapshotMsg{demo.Homelab()}), c
}

func selectNamespace(t *testing.T, m Model, name string) Model {
	m = keys(t, m, "1", "g")
	for i := 0; i < 30; i++ {
		if r, _ := m.focused().Selected(); r.Name == name {
			return m
		}
		m = keys(t, m, "j")
	}
	t.Fatalf("namespace %s not in the pane", name)
	return m
}

func TestToggleAmbientAsksThenLabels(t *testing.T) {
	m, c := demoModel(t, false)
	m = selectNamespace(t, m, "example-admin")
	m = keys(t, m, "a")
	screen := m.Render()
	if !strings.Contains(screen, "istio.io~1dataplane-mode") && !strings.Contains(screen, "dataplane-mode") {
		t.Fatalf("confirm dialog does not show the patch:\n%s", screen)
	}
	// The default answer is No: enter changes nothing.
	m = keys(t, m, "enter")
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "" {
		t.Fatal("enter on the default answer labelled the namespace")
	}
	m = keys(t, m, "a", "y")
	ns, _ = c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "ambient" {
		t.Fatalf("after yes the label is %q, want ambient", ns.Labels["istio.io/dataplane-mode"])
	}
	if bar := m.statusBar(); !strings.Contains(bar, "example-admin") || !strings.Contains(bar, "R to restart") {
		t.Fatalf("status bar does not report the write and offer the restart: %q", bar)
	}
}

func TestReadOnlyRefusesToggleWithoutAsking(t *testing.T) {
	m, c := demoModel(t, true)
	m = selectNamespace(t, m, "example-admin")
	m = keys(t, m, "a", "y", "R", "y")
	if isTop[confirmOverlay](m) {
		t.Fatal("read-only mode opened a confirm dialog")
	}
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "" {
		t.Fatal("read-only mode labelled the namespace")
	}
	if !strings.Contains(m.statusBar(), "read-only") {
		t.Fatalf("status bar does not say why: %q", m.statusBar())
	}
}

func TestUseWaypointPicksAndLabelsTheService(t *testing.T) {
	m, c := demoModel(t, false)
	m = keys(t, m, "2", "/", "w", "o", "r", "k", "e", "r", "enter")
	m = keys(t, m, "W")
	if !isTop[pickerOverlay](m) || !strings.Contains(m.Render(), "Waypoint for Service example-worker/worker") {
		t.Fatalf("no waypoint picker:\n%s", m.Render())
	}
	m = keys(t, m, "j", "enter") // "none": opt out
	m = keys(t, m, "y")
	svc, err := c.Kube.CoreV1().Services("example-worker").Get(context.Background(), "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Labels["istio.io/use-waypoint"]; got != "none" {
		t.Fatalf("use-waypoint = %q, want none", got)
	}
}

func TestFindingsJumpAndPatch(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, m, "!")
	if !strings.Contains(m.Render(), "HBONE port 15008") {
		t.Fatalf("findings do not list the HBONE problem:\n%s", m.Render())
	}
	// Move to the loki finding and open its patch.
	for i := 0; i < 20 && !strings.Contains(selectedFinding(m), "loki"); i++ {
		m = keys(t, m, "j")
	}
	m = keys(t, m, "n")
	if !isTop[patchOverlay](m) || !strings.Contains(m.Render(), "15008") {
		t.Fatalf("n did not open the patch:\n%s", m.Render())
	}
	m = keys(t, m, "esc", "enter")
	if len(m.stack) != 0 || m.Drill() != "loki" {
		t.Fatalf("enter did not jump to loki: stack %v drill %q", m.stack, m.Drill())
	}
}

func selectedFinding(m Model) string {
	o, ok := m.topOverlay().(findingsOverlay)
	if !ok {
		return ""
	}
	f, ok := o.m.Selected()
	if !ok {
		return ""
	}
	return f.Object.String() + " " + f.Title
}

func TestDetailOfAPod(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, m, "2", "/", "u", "n", "p", "o", "l", "l", "e", "r", "-", "enter", "d")
	if !isTop[detailOverlay](m) {
		t.Fatal("d did not open the detail view")
	}
	if s := m.Render(); !strings.Contains(s, "restart") {
		t.Fatalf("detail of unpoller does not say it needs a restart:\n%s", s)
	}
	m = keys(t, m, "esc")
	if len(m.stack) != 0 {
		t.Fatal("esc did not close the detail")
	}
}

// isTop reports whether the top overlay is a T.
func isTop[T overlay](m Model) bool {
	_, ok := m.topOverlay().(T)
	return ok
}

// TestDetailFollowsTheCluster: an open detail view is rebuilt from every
// snapshot, so the detail of a pod deleted meanwhile says so instead of
// showing the pod as it was.
func TestDetailFollowsTheCluster(t *testing.T) {
	m := newModel(120, 35)
	m = press(m, "2", "/", "o", "l", "d", "enter", "d")
	if !isTop[detailOverlay](m) || !strings.Contains(m.Render(), "apps/old-1") {
		t.Fatalf("d did not open the detail of apps/old-1:\n%s", m.Render())
	}
	if strings.Contains(m.Render(), "not in the cluster any more") {
		t.Fatal("the pod is said to be gone before it is deleted")
	}
	s := testSnapshot()
	c := s.Cluster
	c.Pods = nil
	for _, p := range s.Pods {
		if p.Name != "old-1" {
			c.Pods = append(c.Pods, p)
		}
	}
	gone := kube.Build(c, t0)
	gone.Resources = s.Resources
	m = drive(t, m, SnapshotMsg{gone})
	if !isTop[detailOverlay](m) {
		t.Fatal("a new snapshot closed the detail view")
	}
	if screen := m.Render(); !strings.Contains(screen, "Pod apps/old-1 is not in the cluster any more") {
		t.Fatalf("the detail of a deleted pod does not say it is gone:\n%s", screen)
	}
}

// TestTypeAheadCannotConfirm: a Tab Enter y typed before the confirm
// dialog's guard time has passed change nothing; y after it applies.
func TestTypeAheadCannotConfirm(t *testing.T) {
	m, c := demoModel(t, false)
	m = selectNamespace(t, m, "example-admin")
	// a: the access review runs, then the dialog opens and returns its
	// guard tick, which is held back: the keys below come faster than it.
	mm, review := m.Update(keyMsg("a"))
	m = mm.(Model)
	if review == nil {
		t.Fatal("a started no access review")
	}
	mm, guard := m.Update(review())
	m = mm.(Model)
	if !isTop[confirmOverlay](m) || guard == nil {
		t.Fatalf("the access review did not open a guarded dialog:\n%s", m.Render())
	}
	for _, k := range []string{"tab", "enter", "y", "l", "enter"} {
		m = drive(t, m, keyMsg(k))
	}
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "" {
		t.Fatal("keys typed before the guard time labelled the namespace")
	}
	if !isTop[confirmOverlay](m) {
		t.Fatal("type-ahead closed the dialog")
	}
	m = drive(t, m, guard())
	m = keys(t, m, "y")
	ns, _ = c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "ambient" {
		t.Fatalf("y after the guard time did not apply: label %q", ns.Labels["istio.io/dataplane-mode"])
	}
}
