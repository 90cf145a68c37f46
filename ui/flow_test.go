package ui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
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
	case sessionMsg:
		if _, tick := msg.msg.(TickMsg); tick {
			return nil
		}
		return []tea.Msg{msg}
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
	if bar := m.statusBar(); !strings.Contains(bar, "example-admin") || strings.Contains(bar, "R to restart") {
		t.Fatalf("status bar does not report the write, or offers a restart before the analysis saw it: %q", bar)
	}
	// The next snapshot shows the namespace enrolled with a pod istio-cni
	// did not capture: now the restart is advised, with how many.
	s, err := kube.SnapshotOnce(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	need := s.Mesh.Namespaces["example-admin"].Counts[ambient.PodNeedsRestart]
	m = drive(t, m, SnapshotMsg{s})
	bar := m.statusBar()
	if need == 0 {
		t.Fatalf("the analysis says no pod of example-admin needs a restart; this test needs one")
	}
	if !strings.Contains(bar, "R to restart") || !strings.Contains(bar, fmt.Sprint(need)) {
		t.Fatalf("status bar does not offer the restart the analysis advises for %d pods: %q", need, bar)
	}
}

// A restart is offered only when the analysis advises one: a namespace
// whose pods istio-cni captured needs none, and the status bar says so.
func TestRestartOfferFollowsAnalysis(t *testing.T) {
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 35})
	s := demo.Homelab()
	m = drive(t, m, SnapshotMsg{s})
	// loki is enrolled and every pod captured.
	m.write.enrolled = "loki"
	m = drive(t, m, SnapshotMsg{s})
	if bar := m.statusBar(); strings.Contains(bar, "R to restart") || !strings.Contains(bar, "no pod needing a restart") {
		t.Fatalf("status bar after enrolling a fully captured namespace: %q", bar)
	}
	// Not yet seen enrolled: no advice either way, and it keeps waiting.
	m.write.enrolled = "example-admin"
	m = drive(t, m, SnapshotMsg{s})
	if bar := m.statusBar(); strings.Contains(bar, "R to restart") || m.write.enrolled != "example-admin" {
		t.Fatalf("advice before the namespace shows enrolled: %q", bar)
	}
}

func TestReadOnlyRefusesToggleWithoutAsking(t *testing.T) {
	m, c := demoModel(t, true)
	m = selectNamespace(t, m, "example-admin")
	// y would answer a confirm dialog, had one opened; on the main screen
	// it opens the YAML view, so each refusal is read before it.
	for _, k := range []string{"a", "R"} {
		m = keys(t, m, k)
		if !strings.Contains(m.statusBar(), "read-only") {
			t.Fatalf("status bar after %s does not say why: %q", k, m.statusBar())
		}
		m = keys(t, m, "y")
	}
	if isTop[confirmOverlay](m) {
		t.Fatal("read-only mode opened a confirm dialog")
	}
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "" {
		t.Fatal("read-only mode labelled the namespace")
	}
}

func TestUseWaypointPicksAndLabelsTheService(t *testing.T) {
	m, c := demoModel(t, false)
	m = keys(t, m, "2", "/", "w", "o", "r", "k", "e", "r", "enter")
	m = keys(t, m, "W")
	// On a pod, W asks what to bind: the pod itself, or (the cursor's
	// choice) the Service in front of it.
	if !isTop[pickerOverlay](m) || !strings.Contains(m.Render(), "Bind what to a waypoint") {
		t.Fatalf("no bind picker:\n%s", m.Render())
	}
	m = keys(t, m, "enter")
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
	// The access review and the what-if run side by side; the what-if is
	// held back here, as a slow one on a big cluster would be.
	access, whatIf := splitWhatIf(t, review)
	mm, guard := m.Update(access)
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
	// Armed, but the what-if has not spoken: the dialog says it is
	// checking, offers no verdict, and y waits.
	screen := m.Render()
	if !strings.Contains(screen, "checking what this would break…") || strings.Contains(screen, "What-if:") {
		t.Errorf("before the what-if arrived the dialog reads:\n%s", screen)
	}
	m = keys(t, m, "y")
	ns, _ = c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "" || !isTop[confirmOverlay](m) || !strings.Contains(m.Render(), "wait: checking what this would break…") {
		t.Fatalf("y before the what-if arrived: label %q\n%s", ns.Labels["istio.io/dataplane-mode"], m.Render())
	}
	m = drive(t, m, whatIf)
	if screen := m.Render(); strings.Contains(screen, "checking what this would break") || !strings.Contains(screen, "What-if: 1 pod captured; it breaks:") {
		t.Errorf("once the what-if arrived the dialog reads:\n%s", screen)
	}
	m = keys(t, m, "y")
	ns, _ = c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-admin", metav1.GetOptions{})
	if ns.Labels["istio.io/dataplane-mode"] != "ambient" {
		t.Fatalf("y after the guard time did not apply: label %q", ns.Labels["istio.io/dataplane-mode"])
	}
}

// splitWhatIf runs the batch a write key returns and separates the access
// review's answer from the what-if's, so a test can deliver them in any
// order.
func splitWhatIf(t *testing.T, cmd tea.Cmd) (access, whatIf tea.Msg) {
	t.Helper()
	for _, msg := range run(cmd) {
		switch msg.(type) {
		case accessMsg:
			access = msg
		case whatIfMsg:
			whatIf = msg
		}
	}
	if access == nil || whatIf == nil {
		t.Fatalf("the write key ran access %v, what-if %v", access, whatIf)
	}
	return access, whatIf
}

// typeLine types each rune of s as a key.
func typeLine(t *testing.T, m Model, s string) Model {
	for _, r := range s {
		m = keys(t, m, string(r))
	}
	return m
}

// TestCommandServicesAndWaypoint: :svc shows the Services pane full-width;
// W on a Service row picks its waypoint and labels the Service.
func TestCommandServicesAndWaypoint(t *testing.T) {
	m, c := demoModel(t, false)
	m = typeLine(t, m, ":svc")
	m = keys(t, m, "enter")
	screen := m.Render()
	if m.Focus() != "Services" || !strings.Contains(screen, "Services (34)") || strings.Contains(screen, "Namespaces (") {
		t.Fatalf(":svc did not show the Services pane alone:\n%s", screen)
	}
	if !strings.Contains(screen, "worker-waypoint ✖") || !strings.Contains(screen, "WaypointIsNotReady") {
		t.Fatalf("the Services pane does not say why worker has no waypoint:\n%s", screen)
	}
	m = keys(t, m, "/")
	m = typeLine(t, m, "example-worker")
	m = keys(t, m, "enter", "W")
	if !isTop[pickerOverlay](m) || !strings.Contains(m.Render(), "Waypoint for Service example-worker/worker") {
		t.Fatalf("W on a Service row did not offer its waypoints:\n%s", m.Render())
	}
	m = keys(t, m, "j", "enter") // none: opt out
	if !isTop[confirmOverlay](m) || !strings.Contains(m.Render(), "Opt Service example-worker/worker out of waypoints") {
		t.Fatalf("no confirm dialog for the opt-out:\n%s", m.Render())
	}
	m = keys(t, m, "y")
	svc, err := c.Kube.CoreV1().Services("example-worker").Get(context.Background(), "worker", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.Labels["istio.io/use-waypoint"]; got != "none" {
		t.Fatalf("use-waypoint = %q, want none", got)
	}
	if bar := m.statusBar(); !strings.Contains(bar, "labelled istio.io/use-waypoint=none") {
		t.Fatalf("the status bar does not report the write: %q", bar)
	}
}

// TestCommandNetworkPolicies: :np lists the NetworkPolicies with their HBONE
// verdict; n on a blocking one opens its namespace's patch.
func TestCommandNetworkPolicies(t *testing.T) {
	m, _ := demoModel(t, false)
	m = typeLine(t, m, ":np")
	m = keys(t, m, "enter")
	screen := m.Render()
	if m.Focus() != "NetworkPolicies" || !strings.Contains(screen, "NetworkPolicies (6)") {
		t.Fatalf(":np did not show the NetworkPolicies pane:\n%s", screen)
	}
	for _, want := range []string{"loki/loki opens 3100/TCP but not HBONE port 15008", "✔ admits", "✖ blocks"} {
		if !strings.Contains(screen, want) {
			t.Errorf("NetworkPolicies pane lacks %q", want)
		}
	}
	m = keys(t, m, "/", "l", "o", "k", "i", "enter", "n")
	if !isTop[patchOverlay](m) || !strings.Contains(m.Render(), "15008") {
		t.Fatalf("n on the loki policy did not open its patch:\n%s", m.Render())
	}
	m = keys(t, m, "q")
	if len(m.stack) != 0 {
		t.Fatal("q did not close the patch view")
	}
}

// TestWaypointOnANamespace: W on a namespace row labels the namespace.
func TestWaypointOnANamespace(t *testing.T) {
	m, c := demoModel(t, false)
	m = selectNamespace(t, m, "example-api")
	m = keys(t, m, "W")
	if !isTop[pickerOverlay](m) || !strings.Contains(m.Render(), "Waypoint for namespace example-api") {
		t.Fatalf("W on a namespace did not offer waypoints:\n%s", m.Render())
	}
	if !strings.Contains(m.Render(), "ambient-apps · for service · ✖ its listener") {
		t.Errorf("waypoints the namespace may not use are not marked:\n%s", m.Render())
	}
	m = keys(t, m, "j", "enter")
	if !strings.Contains(m.Render(), "Opt namespace example-api out of waypoints") {
		t.Fatalf("no confirm dialog for the namespace:\n%s", m.Render())
	}
	m = keys(t, m, "y")
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "example-api", metav1.GetOptions{})
	if got := ns.Labels["istio.io/use-waypoint"]; got != "none" {
		t.Fatalf("namespace use-waypoint = %q, want none", got)
	}
}

// TestCommandLine: completion, history, a namespace argument, unknown
// commands and :q.
func TestCommandLine(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, m, ":", "n", "e", "t")
	if !strings.Contains(m.statusBar(), ":net▏pol") {
		t.Fatalf("no completion shown: %q", m.statusBar())
	}
	m = keys(t, m, "tab", "enter")
	if m.Focus() != "NetworkPolicies" {
		t.Fatalf("tab-completed :netpol focused %s", m.Focus())
	}
	m = typeLine(t, m, ":wl loki")
	m = keys(t, m, "enter")
	if m.Focus() != "Workloads" || m.Drill() != "loki" {
		t.Fatalf(":wl loki: focus %s drill %q", m.Focus(), m.Drill())
	}
	m = keys(t, m, ":", "up")
	if !strings.Contains(m.statusBar(), ":wl loki") {
		t.Fatalf("up does not recall the last command: %q", m.statusBar())
	}
	m = keys(t, m, "up", "enter")
	if m.Focus() != "NetworkPolicies" {
		t.Fatalf("the older command was not run: focus %s", m.Focus())
	}
	m = typeLine(t, m, ":nope")
	m = keys(t, m, "enter")
	if !strings.Contains(m.statusBar(), "unknown command :nope") {
		t.Fatalf("unknown command not reported: %q", m.statusBar())
	}
	m = typeLine(t, m, ":q")
	_, cmd := m.Update(keyMsg("enter"))
	if cmd == nil {
		t.Fatal(":q returned no command")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal(":q does not quit")
	}
}

// TestWhatIfBeforeTheDialog: a what-if that finishes before the access
// review is kept for the dialog, which opens with it; one for a plan no
// longer under review is dropped.
func TestWhatIfBeforeTheDialog(t *testing.T) {
	m, _ := demoModel(t, false)
	m = selectNamespace(t, m, "example-admin")
	mm, review := m.Update(keyMsg("a"))
	m = mm.(Model)
	access, whatIf := splitWhatIf(t, review)
	m = drive(t, m, whatIfMsg{id: "enroll some other plan", lines: []string{"What-if: stale"}})
	m = drive(t, m, whatIf)
	mm, _ = m.Update(access)
	m = mm.(Model)
	screen := m.Render()
	if strings.Contains(screen, "checking what this would break") || strings.Contains(screen, "stale") ||
		!strings.Contains(screen, "What-if: 1 pod captured; it breaks:") {
		t.Errorf("the dialog opened after its what-if reads:\n%s", screen)
	}
}
