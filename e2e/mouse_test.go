package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// The mouse is driven by typing into the pane what a terminal sends for
// it once the program asked for SGR mouse reports (xterm's 1006 mode):
// ESC [ < button ; column ; row M on press, m on release, 1-based.

// where is the cell column and row where text first shows on the screen.
func where(t *testing.T, rows []string, text string) (col, row int) {
	t.Helper()
	for r, line := range rows {
		if i := strings.Index(line, text); i >= 0 {
			return cells(line[:i]), r
		}
	}
	t.Fatalf("%q is not on the screen:\n%s", text, join(rows))
	return 0, 0
}

// mouse sends one SGR mouse report for the 0-based cell col, row.
func (x *term) mouse(button, col, row int, final string) {
	x.t.Helper()
	x.typeText(fmt.Sprintf("\x1b[<%d;%d;%d%s", button, col+1, row+1, final))
}

// click presses and releases the left button on a cell.
func (x *term) click(col, row int) {
	x.t.Helper()
	x.mouse(0, col, row, "M")
	x.mouse(0, col, row, "m")
}

// wheelDown turns the wheel one step down over a cell.
func (x *term) wheelDown(col, row int) {
	x.t.Helper()
	x.mouse(65, col, row, "M")
}

// cursorCell is the value of column in the row under pane's cursor, ""
// when the pane has no cursor.
func cursorCell(rows []string, pane, column string) string {
	tb, ok := readTable(rows, pane)
	if !ok || tb.Cursor < 0 {
		return ""
	}
	v, _ := tb.cell(tb.Rows[tb.Cursor], column)
	return v
}

// TestMouse drives the real binary with mouse reports: it asks the
// terminal for the mouse, a click on a pod focuses Workloads with the
// cursor on that pod, the wheel moves it three rows, a click on a header
// sorts the pane, and a click on a finding jumps to its object.
func TestMouse(t *testing.T) {
	x := startTerm(t, 120, 35, "--demo")
	rows := x.waitFor("prometheus-0", "Policies (")
	if any, sgr := x.flag("mouse_any_flag"), x.flag("mouse_sgr_flag"); any != "1" || sgr != "1" {
		t.Fatalf("ambx did not ask for SGR mouse reports: mouse_any_flag=%s mouse_sgr_flag=%s", any, sgr)
	}
	if p, _ := focused(rows); p != "Namespaces" {
		t.Fatalf("the demo starts on %s", p)
	}

	col, row := where(t, rows, "prometheus-0")
	x.click(col+2, row)
	rows = x.waitFocus("Workloads")
	if got := cursorCell(rows, "Workloads", "POD"); got != "prometheus-0" {
		t.Fatalf("the click selected %q, not prometheus-0:\n%s", got, join(rows))
	}
	if _, r := where(t, rows, cursor); r != row {
		t.Fatalf("the cursor is on row %d, the click on %d:\n%s", r, row, join(rows))
	}
	// d opens the clicked pod: the keys act on what was clicked.
	x.press("d")
	x.waitFor("Pod default/prometheus-0")
	x.press("Escape")
	rows = x.waitFor("Workloads (")

	// One wheel step down: the cursor goes three rows down.
	tb := mustTable(t, rows, "Workloads")
	want, _ := tb.cell(tb.Rows[tb.Cursor+3], "POD")
	x.wheelDown(col+2, row)
	rows = x.waitUntil("the wheel to move the cursor to "+want, func(rows []string) bool {
		return cursorCell(rows, "Workloads", "POD") == want
	})

	// A click on the PODS header of Namespaces focuses and sorts it.
	col, row = where(t, rows, "PODS")
	x.click(col+1, row)
	rows = x.waitFor("▲PODS")
	if p, _ := focused(rows); p != "Namespaces" {
		t.Fatalf("the header click left the focus on %s:\n%s", p, join(rows))
	}
	first := mustTable(t, rows, "Namespaces").Rows[0][0]
	if first != "kube-node-lease" && first != "kube-public" {
		t.Fatalf("sorted by PODS the first namespace is %s:\n%s", first, join(rows))
	}

	// A click on loki's NetworkPolicy finding jumps to it.
	x.press("!")
	rows = x.waitFor("Findings (", "loki/loki opens")
	col, row = where(t, rows, "loki/loki opens")
	x.click(col, row)
	rows = x.waitGone("Findings (")
	if !strings.Contains(join(rows), "NetworkPolicies") {
		t.Fatalf("the finding's click did not show the NetworkPolicies pane:\n%s", join(rows))
	}
	if _, r := where(t, rows, cursor); !strings.Contains(rows[r], "loki") {
		t.Fatalf("the cursor is not on loki's NetworkPolicy:\n%s", join(rows))
	}
	x.quit("NetworkPolicies")
}

// With --no-mouse ambx does not ask the terminal for the mouse, and a
// mouse report typed into it anyway moves nothing.
func TestNoMouse(t *testing.T) {
	x := startTerm(t, 120, 35, "--demo", "--no-mouse")
	rows := x.waitFor("prometheus-0", "Policies (")
	if any := x.flag("mouse_any_flag"); any != "0" {
		t.Fatalf("with --no-mouse ambx asked for the mouse: mouse_any_flag=%s", any)
	}
	col, row := where(t, rows, "prometheus-0")
	x.click(col+2, row)
	// A key after the click: once it shows, the click was read too.
	x.press("j")
	rows = x.waitUntil("j to move the Namespaces cursor", func(rows []string) bool {
		return cursorCell(rows, "Namespaces", "NAME") == "argo-workflows"
	})
	if p, _ := focused(rows); p != "Namespaces" {
		t.Fatalf("with --no-mouse a click moved the focus to %s:\n%s", p, join(rows))
	}
	x.quit("Namespaces (")
}
