package e2e

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// A person opens the demo in a roomy terminal and walks every pane and
// overlay, then quits.
func TestWalk120x35(t *testing.T) {
	t.Parallel()
	walk(t, 120, 35)
}

// The same walk in the classic 80×24 terminal, where the panes drop
// columns but must still show what matters.
func TestWalk80x24(t *testing.T) {
	t.Parallel()
	walk(t, 80, 24)
}

func walk(t *testing.T, width, height int) {
	x := startTerm(t, width, height, "--demo")

	t.Log("open: the Namespaces pane lists loki (j scrolls to it in a short terminal)")
	x.waitUntil("the Namespaces pane to list namespaces", func(rows []string) bool {
		tb, ok := readTable(rows, "Namespaces")
		return ok && len(tb.Rows) > 0
	})
	x.waitFocus("Namespaces")
	x.selectRow("Namespaces", "NAME", "loki")
	// A 40-cell Namespaces pane gives PODS's room to the finding marks;
	// then the count is checked in the wider walk only.
	lokiPods := -1
	if nsTable := mustTable(t, x.screen(), "Namespaces"); slices.Contains(nsTable.Header, "PODS") {
		lokiPods = podsOf(t, nsTable, "loki")
	}

	t.Log("panes: tab, shift+tab and 1..4 move the cursor between the four panes")
	for _, step := range []struct{ key, pane string }{
		{"Tab", "Workloads"}, {"Tab", "Waypoints"}, {"Tab", "Policies"}, {"Tab", "Namespaces"},
		{"BTab", "Policies"},
		{"1", "Namespaces"}, {"2", "Workloads"}, {"3", "Waypoints"}, {"4", "Policies"}, {"1", "Namespaces"},
	} {
		x.press(step.key)
		x.waitFocus(step.pane)
	}

	t.Log("drill: enter on loki; Workloads shows only loki's pods")
	rows := x.screen()
	if ns := mustTable(t, rows, "Namespaces"); ns.Cursor < 0 || ns.Rows[ns.Cursor][0] != "loki" {
		t.Fatalf("moving between panes lost the cursor on loki:\n%s", join(rows))
	}
	x.press("Enter")
	rows = x.waitUntil("Workloads to be drilled into loki and focused", func(rows []string) bool {
		tb, ok := readTable(rows, "Workloads")
		p, _ := focused(rows)
		return ok && tb.Title.Drill == "loki" && p == "Workloads"
	})
	w := mustTable(t, rows, "Workloads")
	if lokiPods >= 0 && w.Title.Total != lokiPods {
		t.Errorf("Workloads ‹loki› counts %d pods; the Namespaces pane says loki has %d", w.Title.Total, lokiPods)
	}
	if len(w.Rows) != min(w.Title.Total, w.Room) {
		t.Errorf("Workloads ‹loki› shows %d rows in room for %d, its title counts %d:\n%s", len(w.Rows), w.Room, w.Title.Total, join(rows))
	}
	var sawLoki0 bool
	for i, r := range w.Rows {
		pod := x.cell(w, r, "POD")
		// loki's NetworkPolicy times out every HBONE connection to loki-0:
		// its row says so on the main screen; the other pods are fine.
		if want := map[bool]string{true: "✖"}[pod == "loki-0"]; i < len(w.Marks) && w.Marks[i] != want {
			t.Errorf("Workloads ‹loki› marks %s with %q, want %q:\n%s", pod, w.Marks[i], want, join(rows))
		}
		if ns, ok := w.cell(r, "NAMESPACE"); ok && ns != "loki" {
			t.Errorf("drilled into loki, Workloads shows a pod of %s: %v", ns, r)
		}
		if !strings.HasPrefix(pod, "loki-") && !strings.HasPrefix(pod, "promtail-") {
			t.Errorf("drilled into loki, Workloads shows %q, not a loki or promtail pod", pod)
		}
		sawLoki0 = sawLoki0 || pod == "loki-0"
	}
	if !sawLoki0 {
		t.Errorf("Workloads ‹loki› does not show loki-0:\n%s", join(rows))
	}

	t.Log("filter: / promtail narrows Workloads and the title counts what is left")
	x.press("/")
	x.waitFor("enter keep")
	x.typeText("promtail")
	rows = x.waitUntil("the Workloads title to show the filter", func(rows []string) bool {
		tb, ok := readTable(rows, "Workloads")
		return ok && tb.Title.Filter == "/promtail"
	})
	x.press("Enter")
	rows = x.waitGone("enter keep")
	w = mustTable(t, rows, "Workloads")
	if w.Title.Filter != "/promtail" || w.Title.Shown >= w.Title.Total || w.Title.Shown == 0 {
		t.Errorf("filtered title says %d of %d (%s), want some but not all pods:\n%s", w.Title.Shown, w.Title.Total, w.Title.Filter, join(rows))
	}
	if len(w.Rows) != min(w.Title.Shown, w.Room) {
		t.Errorf("the filtered title counts %d pods, the pane shows %d rows:\n%s", w.Title.Shown, len(w.Rows), join(rows))
	}
	for _, r := range w.Rows {
		if pod := x.cell(w, r, "POD"); !strings.HasPrefix(pod, "promtail-") {
			t.Errorf("filter /promtail shows %q", pod)
		}
	}

	t.Log("help: ? opens it, esc closes it and keeps the filter")
	x.press("?")
	rows = x.waitFor("ambx — keys")
	for _, want := range []string{"tab", "next pane", "quit"} {
		if !strings.Contains(join(rows), want) {
			t.Errorf("help lacks %q:\n%s", want, join(rows))
		}
	}
	x.press("Escape")
	rows = x.waitGone("ambx — keys")
	if w := mustTable(t, rows, "Workloads"); w.Title.Filter != "/promtail" {
		t.Errorf("closing help changed the filter to %q", w.Title.Filter)
	}

	t.Log("esc clears the filter but stays in loki")
	x.press("Escape")
	rows = x.waitUntil("the filter to clear", func(rows []string) bool {
		tb, ok := readTable(rows, "Workloads")
		return ok && tb.Title.Filter == "" && tb.Title.Drill == "loki"
	})

	t.Log("detail: d on a pod shows its mesh state, the one its row shows")
	w = mustTable(t, rows, "Workloads")
	if w.Cursor < 0 {
		t.Fatalf("no cursor in Workloads:\n%s", join(rows))
	}
	pod := x.cell(w, w.Rows[w.Cursor], "POD")
	state, ok := w.meshState(w.Rows[w.Cursor])
	if !ok {
		t.Fatalf("no MESH column in Workloads: %v", w.Header)
	}
	x.press("d")
	rows = x.waitFor("Pod loki/" + pod)
	if line := rowStarting(rows, "state"); !strings.Contains(line, state) {
		t.Errorf("detail of %s says %q; its row says %s:\n%s", pod, line, state, join(rows))
	}
	x.press("Escape")
	x.waitGone("Pod loki/" + pod)

	t.Log("findings: ! lists loki's NetworkPolicy that leaves out HBONE")
	x.press("!")
	rows = x.waitFor("Findings ‹loki›")
	if !anyRow(rows, "NetworkPolicy", "loki/loki") || !strings.Contains(join(rows), "15008") {
		t.Errorf("findings lack the loki/loki NetworkPolicy HBONE problem:\n%s", join(rows))
	}

	t.Log("patch: n opens the patch that adds port 15008")
	x.press("n")
	rows = x.waitFor("Patch ‹NetworkPolicy loki/loki›")
	if !anyRow(rows, "kubectl patch networkpolicy loki -n loki") || !anyRow(rows, `"port":15008`) {
		t.Errorf("the patch does not add 15008 to loki/loki:\n%s", join(rows))
	}
	x.press("Escape")
	x.waitGone("Patch ‹")
	x.waitFor("Findings ‹loki›")
	x.press("Escape")
	x.waitGone("Findings ‹loki›")

	t.Log("logs: l follows the ztunnel log of the pod's node and shows lines")
	x.press("l")
	logLine := regexp.MustCompile(`^\d\d:\d\d:\d\d\.\d{3} +\w+`)
	x.waitUntil("ztunnel log lines", func(rows []string) bool {
		if !strings.Contains(join(rows), "ztunnel logs · loki/"+pod) {
			return false
		}
		for _, r := range rows {
			if logLine.MatchString(r) {
				return true
			}
		}
		return false
	})
	x.press("Escape")
	x.waitGone("ztunnel logs ·")

	t.Log("overhead: o shows what the mesh costs")
	x.press("o")
	x.waitFor("Mesh overhead", "istiod", "ztunnel", "sidecars")
	x.press("Escape")
	x.waitGone("Mesh overhead")

	t.Log("quit: q exits 0 and gives the terminal back")
	x.quit("● connected")
}

// A terminal far too small for the layout still starts, answers keys and
// quits cleanly.
func TestTinyTerminal(t *testing.T) {
	t.Parallel()
	x := startTerm(t, 20, 5, "--demo")
	x.waitFor("Namespaces (")
	x.press("2")
	x.waitFor("Workloads (")
	x.press("?")
	x.waitFor("ambx — keys")
	x.press("Escape")
	x.waitGone("ambx — keys")
	x.press("d")
	x.waitFor("Pod ")
	x.press("Escape")
	x.waitFor("Workloads (")
	x.quit("Workloads (")
}

// In read-only mode the status bar says so and a toggle changes nothing.
func TestReadOnly(t *testing.T) {
	t.Parallel()
	x := startTerm(t, 120, 35, "--read-only", "--demo")
	rows := x.waitUntil("READ-ONLY and the namespaces", func(rows []string) bool {
		tb, ok := readTable(rows, "Namespaces")
		return ok && hasRow(tb, "NAME", "loki") && strings.Contains(rows[len(rows)-1], "READ-ONLY")
	})
	x.waitFocus("Namespaces")
	x.selectRow("Namespaces", "NAME", "loki")
	before := mustTable(t, x.screen(), "Namespaces")
	was, _ := before.meshState(before.Rows[before.Cursor])

	x.press("a")
	rows = x.waitFor("read-only mode")
	if bar := rows[len(rows)-1]; !strings.Contains(bar, "READ-ONLY") || !strings.Contains(bar, "read-only mode") {
		t.Errorf("status bar after a: %q", bar)
	}
	// Were a confirm dialog open, y would accept it. With none, y opens the
	// YAML view, which Escape closes.
	x.press("y")
	x.waitFor("YAML Namespace loki")
	x.press("Escape")
	x.waitGone("YAML Namespace loki")
	// A round trip through help proves ambx has handled a and y.
	x.press("?")
	x.waitFor("ambx — keys")
	x.press("Escape")
	rows = x.waitGone("ambx — keys")
	after := mustTable(t, rows, "Namespaces")
	if after.Cursor < 0 || after.Rows[after.Cursor][0] != "loki" {
		t.Fatalf("the cursor left loki:\n%s", join(rows))
	}
	if now, _ := after.meshState(after.Rows[after.Cursor]); now != was {
		t.Errorf("read-only, a changed loki from %s to %s", was, now)
	}
	x.quit("READ-ONLY")
}

// waitFocus waits until the cursor is in pane.
func (x *term) waitFocus(pane string) []string {
	x.t.Helper()
	return x.waitUntil("the cursor to be in "+pane, func(rows []string) bool {
		p, ok := focused(rows)
		return ok && p == pane
	})
}

// selectRow moves the cursor of the focused pane with j until it is on the
// row whose column is value.
func (x *term) selectRow(pane, column, value string) {
	x.t.Helper()
	for range 100 {
		rows := x.screen()
		tb := mustTable(x.t, rows, pane)
		if tb.Cursor < 0 {
			x.t.Fatalf("no cursor in %s:\n%s", pane, join(rows))
		}
		here := strings.Join(tb.Rows[tb.Cursor], " ")
		if v, _ := tb.cell(tb.Rows[tb.Cursor], column); v == value {
			return
		}
		x.press("j")
		x.waitUntil("the cursor to move down from "+here, func(rows []string) bool {
			tb, ok := readTable(rows, pane)
			return ok && tb.Cursor >= 0 && strings.Join(tb.Rows[tb.Cursor], " ") != here
		})
	}
	x.t.Fatalf("j never reached %s %s in %s", column, value, pane)
}

// cell is table.cell for a column that must be there.
func (x *term) cell(tb table, row []string, column string) string {
	x.t.Helper()
	v, ok := tb.cell(row, column)
	if !ok {
		x.t.Fatalf("%s has no %s column: %v", tb.Title.Pane, column, tb.Header)
	}
	return v
}

// podsOf reads the PODS column of namespace ns in the Namespaces pane.
func podsOf(t *testing.T, tb table, ns string) int {
	t.Helper()
	for _, r := range tb.Rows {
		if v, _ := tb.cell(r, "NAME"); v == ns {
			pods, _ := tb.cell(r, "PODS")
			n, err := strconv.Atoi(pods)
			if err != nil {
				t.Fatalf("PODS of %s is %q, not a number", ns, pods)
			}
			return n
		}
	}
	t.Fatalf("Namespaces does not list %s", ns)
	return 0
}

func hasRow(tb table, column, value string) bool {
	for _, r := range tb.Rows {
		if v, _ := tb.cell(r, column); v == value {
			return true
		}
	}
	return false
}

// rowStarting returns the first screen row that starts with word.
func rowStarting(rows []string, word string) string {
	for _, r := range rows {
		if f := strings.Fields(r); len(f) > 0 && f[0] == word {
			return r
		}
	}
	return ""
}

// anyRow reports whether one screen row holds every one of parts.
func anyRow(rows []string, parts ...string) bool {
	for _, r := range rows {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(r, p)
		}
		if all {
			return true
		}
	}
	return false
}

func join(rows []string) string { return strings.Join(rows, "\n") }
