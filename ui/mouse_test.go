package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
)

// spot is where text is first drawn on the screen: the cell column and
// the row of its first character.
func spot(t *testing.T, screen, text string) (x, y int) {
	t.Helper()
	for y, line := range strings.Split(ansi.Strip(screen), "\n") {
		if i := strings.Index(line, text); i >= 0 {
			return ansi.StringWidth(line[:i]), y
		}
	}
	t.Fatalf("%q is not on the screen:\n%s", text, screen)
	return 0, 0
}

// cursorSpot is where the focused pane's cursor mark is drawn.
func cursorSpot(t *testing.T, screen string) (x, y int) {
	t.Helper()
	if strings.Count(screen, "▸") != 1 {
		t.Fatalf("want one cursor mark on the screen:\n%s", screen)
	}
	return spot(t, screen, "▸")
}

func click(t *testing.T, m Model, x, y int) Model {
	t.Helper()
	return drive(t, m, tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseLeft})
}

func wheel(t *testing.T, m Model, x, y int, b tea.MouseButton, n int) Model {
	t.Helper()
	for range n {
		m = drive(t, m, tea.MouseWheelMsg{X: x, Y: y, Button: b})
	}
	return m
}

// lineAt is screen row y.
func lineAt(screen string, y int) string { return strings.Split(ansi.Strip(screen), "\n")[y] }

// A click on a row of a pane that does not have the focus gives it the
// focus and puts the cursor on that row: the mark moves there, and the
// keys act on that object.
func TestClickFocusesThePaneAndSelectsTheRow(t *testing.T) {
	m, _ := demoModel(t, false)
	if m.Focus() != "Namespaces" {
		t.Fatalf("the demo starts on %s", m.Focus())
	}
	wx, wy := spot(t, m.Render(), "Workloads (")
	x, y := spot(t, m.Render(), "prometheus-0")
	m = click(t, m, x+3, y)
	screen := m.Render()
	if m.Focus() != "Workloads" {
		t.Fatalf("the click left the focus on %s:\n%s", m.Focus(), screen)
	}
	if r, _ := m.focused().Selected(); r.Name != "prometheus-0" {
		t.Fatalf("selected %v, clicked prometheus-0", r)
	}
	cx, cy := cursorSpot(t, screen)
	if cy != y || cx != wx-1 {
		t.Fatalf("cursor mark at %d,%d, want %d,%d (the clicked row of Workloads at %d,%d):\n%s", cx, cy, wx-1, y, wx, wy, screen)
	}
	// d now opens the clicked pod.
	if s := keys(t, m, "d").Render(); !strings.Contains(s, "prometheus-0") || !isTop[detailOverlay](keys(t, m, "d")) {
		t.Fatalf("d after the click does not open prometheus-0:\n%s", s)
	}
	// Back to the Namespaces pane with a click on loki.
	x, y = spot(t, screen, "loki ")
	m = click(t, m, x, y)
	if r, _ := m.focused().Selected(); m.Focus() != "Namespaces" || r.Name != "loki" {
		t.Fatalf("click on loki: focus %s, selected %v", m.Focus(), r)
	}
	if _, cy := cursorSpot(t, m.Render()); cy != y {
		t.Fatalf("cursor mark on row %d, clicked %d:\n%s", cy, y, m.Render())
	}
	// On a title, on the status bar or the gap between the panes: the
	// cursor stays on loki. (The demo's 17 namespaces fill the pane at
	// this size, so there is no row below the last to click.)
	for _, p := range [][2]int{{x, 1}, {x, 34}, {wx - 2, y}} {
		before := m.Render()
		m = click(t, m, p[0], p[1])
		if r, _ := m.focused().Selected(); r.Name != "loki" {
			t.Fatalf("click at %v moved the cursor to %v:\n%s", p, r, m.Render())
		}
		if p[1] != 1 && m.Render() != before {
			t.Errorf("click at %v changed the screen:\n%s", p, m.Render())
		}
	}
	// The right button selects nothing.
	x, y = spot(t, m.Render(), "default ")
	m = drive(t, m, tea.MouseClickMsg{X: x, Y: y, Button: tea.MouseRight})
	if r, _ := m.focused().Selected(); r.Name != "loki" {
		t.Fatalf("a right click selected %v", r)
	}
}

// Zoomed to one pane (:full) a click lands on that pane's rows.
func TestClickFullScreenPane(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, typeLine(t, m, ":svc"), "enter")
	screen := m.Render()
	if !strings.Contains(screen, "Services (") {
		t.Fatalf(":svc did not show Services:\n%s", screen)
	}
	x, y := spot(t, screen, "prometheus ")
	m = click(t, m, x, y)
	if r, _ := m.focused().Selected(); m.Focus() != "Services" || r.Name != "prometheus" {
		t.Fatalf("click selected %v in %s:\n%s", r, m.Focus(), m.Render())
	}
}

// The wheel scrolls the pane under the pointer, focused or not, three
// rows a step: rows below the pane's bottom come on screen, and the focus
// stays where it was.
func TestWheelScrollsThePaneUnderThePointer(t *testing.T) {
	m, _ := demoModel(t, false)
	before := m.Render()
	if strings.Contains(before, "istiod-") {
		t.Fatalf("istiod already on screen: this test needs a pod below the fold:\n%s", before)
	}
	x, y := spot(t, before, "prometheus-0")
	m = wheel(t, m, x, y, tea.MouseWheelDown, 1)
	if m.Focus() != "Namespaces" {
		t.Fatalf("the wheel moved the focus to %s", m.Focus())
	}
	wl := m.panes[1].pane
	if r, _ := wl.Selected(); r.Name != "waypoint-8794bf887-985df" {
		t.Fatalf("one wheel step down moved the Workloads cursor to %v, want three rows down", r)
	}
	m = wheel(t, m, x, y, tea.MouseWheelDown, 9)
	if s := m.Render(); !strings.Contains(s, "istiod-") || strings.Contains(s, "httpbin-8657") {
		t.Fatalf("ten wheel steps did not scroll Workloads down to istiod:\n%s", s)
	}
	m = wheel(t, m, x, y, tea.MouseWheelUp, 20)
	if m.Render() != before {
		t.Fatalf("wheeling back up did not restore the screen:\n%s", m.Render())
	}
	// Over the Namespaces pane the wheel moves its cursor.
	x, y = spot(t, before, "ambient-apps")
	m = wheel(t, m, x, y, tea.MouseWheelDown, 1)
	if r, _ := m.focused().Selected(); r.Name != "example-admin" {
		t.Fatalf("wheel over Namespaces selected %v", r)
	}
}

// Overlays scroll under the wheel: the YAML viewport, the findings list;
// a confirmation dialog does not take it (its answer must come from keys).
func TestWheelScrollsOverlays(t *testing.T) {
	c := demo.Clients(demo.Epoch)
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }, Fetch: FetchFrom(c)})
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 12})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	m = keys(t, selectNamespace(t, m, "loki"), "y")
	top := m.Render()
	if !strings.Contains(top, "apiVersion: v1") {
		t.Fatalf("the YAML view does not start at the top:\n%s", top)
	}
	m = wheel(t, m, 10, 5, tea.MouseWheelDown, 1)
	scrolled := m.Render()
	if strings.Contains(scrolled, "apiVersion: v1") || scrolled == top {
		t.Fatalf("a wheel step did not scroll the YAML:\n%s", scrolled)
	}
	m = wheel(t, m, 10, 5, tea.MouseWheelUp, 1)
	if m.Render() != top {
		t.Fatalf("wheel up did not scroll back:\n%s", m.Render())
	}
	// The detail view and the help, both taller than 12 lines.
	m = keys(t, m, "esc", "d")
	if s := wheel(t, m, 10, 5, tea.MouseWheelDown, 1).Render(); !strings.Contains(s, "(4-13/") {
		t.Fatalf("a wheel step did not scroll the detail view three lines:\n%s", s)
	}
	m = keys(t, m, "esc", "?")
	if s := wheel(t, m, 10, 5, tea.MouseWheelDown, 1).Render(); !strings.Contains(s, "scroll (4–") {
		t.Fatalf("a wheel step did not scroll the help three lines:\n%s", s)
	}
	m = keys(t, m, "esc", "!")
	m = wheel(t, m, 10, 3, tea.MouseWheelDown, 1)
	if f, ok := m.topOverlay().(findingsOverlay); !ok {
		t.Fatal("! did not open the findings")
	} else if sel, _ := f.m.Selected(); sel.Object.Name != "homepage" {
		t.Fatalf("a wheel step in the findings selected %v, want the fourth finding", sel.Object)
	}

	// The confirm dialog of a, over the panes.
	m2, _ := demoModel(t, false)
	m2 = keys(t, selectNamespace(t, m2, "example-admin"), "a")
	dialog := m2.Render()
	m2 = wheel(t, m2, 60, 17, tea.MouseWheelDown, 3)
	m2 = click(t, m2, 60, 17)
	if m2.Render() != dialog || len(m2.stack) != 1 {
		t.Fatalf("the mouse changed the confirmation:\n%s", m2.Render())
	}
}

// A click on a finding jumps to its object as enter does: the findings
// close, the object's pane has the focus and the cursor is on it.
func TestClickOnAFindingJumps(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, m, "!")
	x, y := spot(t, m.Render(), "loki/loki opens")
	clicked := click(t, m, x, y)
	if len(clicked.stack) != 0 {
		t.Fatalf("the click left the findings open:\n%s", clicked.Render())
	}
	// Enter on the same finding, by keys: the same screen.
	byKeys := keys(t, m, "j", "j", "j", "j", "j")
	if f, _ := byKeys.topOverlay().(findingsOverlay).m.Selected(); !strings.HasPrefix(f.Title, "loki/loki opens") {
		t.Fatalf("five j's select %q", f.Title)
	}
	byKeys = keys(t, byKeys, "enter")
	if clicked.Render() != byKeys.Render() {
		t.Fatalf("the click's jump differs from enter's:\n%s\nenter:\n%s", clicked.Render(), byKeys.Render())
	}
	if r, _ := clicked.focused().Selected(); r.Name != "loki" || r.Kind != "NetworkPolicy" {
		t.Fatalf("jumped to %v", r)
	}
	// A click on the findings' title or their why/fix panel jumps nowhere.
	m = click(t, m, 5, 0)
	m = click(t, m, 5, 28)
	if !isTop[findingsOverlay](m) {
		t.Fatal("a click off the rows closed the findings")
	}
	// Other overlays take no clicks (the detail view stays).
	m = keys(t, m, "esc", "d")
	m = click(t, m, 5, 5)
	if !isTop[detailOverlay](m) {
		t.Fatal("a click closed the detail view")
	}
}

// A click on a column header sorts the pane by it, a second one the
// other way round; the title says so and the rows follow.
func TestClickOnAHeaderSorts(t *testing.T) {
	m, _ := demoModel(t, false)
	screen := m.Render()
	x, y := spot(t, screen, "PODS")
	m = click(t, m, x+1, y)
	screen = m.Render()
	if !strings.Contains(screen, "▲PODS") {
		t.Fatalf("a click on PODS did not sort by it:\n%s", screen)
	}
	// Ascending: the namespaces without pods come first.
	if first := lineAt(screen, y+1); !strings.Contains(first, "kube-node-lease") && !strings.Contains(first, "kube-public") {
		t.Fatalf("first row sorted by PODS ascending: %q", first)
	}
	m = click(t, m, x+1, y)
	screen = m.Render()
	if !strings.Contains(screen, "▼PODS") || !strings.Contains(lineAt(screen, y+1), "kube-system") {
		t.Fatalf("a second click did not sort by PODS descending (kube-system's 18 first):\n%s", screen)
	}
	// The header of an unfocused pane: the click focuses and sorts it.
	x, y = spot(t, screen, "ACTION")
	m = click(t, m, x, y)
	if s := m.Render(); m.Focus() != "Policies" || !strings.Contains(s, "▲ACTION") {
		t.Fatalf("a click on ACTION: focus %s\n%s", m.Focus(), s)
	}
}

// With NoMouse the view does not ask the terminal for the mouse, and a
// mouse message that comes anyway changes nothing; by default it asks.
func TestNoMouse(t *testing.T) {
	m, _ := demoModel(t, false)
	if got := m.View().MouseMode; got != tea.MouseModeCellMotion {
		t.Fatalf("mouse mode %v by default", got)
	}
	m.opt.NoMouse = true
	if got := m.View().MouseMode; got != tea.MouseModeNone {
		t.Fatalf("mouse mode %v with NoMouse", got)
	}
	screen := m.Render()
	x, y := spot(t, screen, "prometheus-0")
	m = click(t, m, x, y)
	m = wheel(t, m, x, y, tea.MouseWheelDown, 3)
	if m.Render() != screen || m.Focus() != "Namespaces" {
		t.Fatalf("with NoMouse the mouse changed the screen:\n%s", m.Render())
	}
}

// While the / line is typed the mouse does nothing: the filter belongs
// to the pane it was opened on.
func TestMouseWaitsForThePrompt(t *testing.T) {
	m, _ := demoModel(t, false)
	m = typeLine(t, m, "/lo")
	screen := m.Render()
	x, y := spot(t, screen, "prometheus-0")
	if m = click(t, m, x, y); m.Focus() != "Namespaces" || m.Render() != screen {
		t.Fatalf("a click while typing the filter moved the focus to %s", m.Focus())
	}
}

// The help lists what the mouse does, and says it is off with NoMouse.
func TestHelpNamesTheMouse(t *testing.T) {
	m, _ := demoModel(t, false)
	m = drive(t, m, tea.WindowSizeMsg{Width: 200, Height: 60})
	s := keys(t, m, "?").Render()
	for _, want := range []string{"Mouse", "focus the pane, select the row", "sort by the column", "scroll the pane or view under the pointer", "jump to the object", "the findings badge"} {
		if !strings.Contains(s, want) {
			t.Errorf("help lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "off: --no-mouse") {
		t.Errorf("help says the mouse is off:\n%s", s)
	}
	m.opt.NoMouse = true
	if s := keys(t, m, "?").Render(); strings.Count(s, "(off: --no-mouse)") != 5 {
		t.Errorf("with NoMouse the help does not mark the five mouse actions off:\n%s", s)
	}
}

// A click on the findings badge at the header's right end opens the
// findings, as ! does; on the rest of the header it does nothing.
func TestClickOnTheBadgeOpensFindings(t *testing.T) {
	m, _ := demoModel(t, false)
	screen := m.Render()
	m = click(t, m, 5, 0)
	if len(m.stack) != 0 || m.Render() != screen {
		t.Fatalf("a click on the overhead strip did something:\n%s", m.Render())
	}
	x, y := spot(t, screen, "! list")
	if y != 0 {
		t.Fatalf("the badge is on row %d", y)
	}
	m = click(t, m, x, y)
	if !isTop[findingsOverlay](m) || !strings.Contains(m.Render(), "Findings (") {
		t.Fatalf("a click on the badge did not open the findings:\n%s", m.Render())
	}
}
