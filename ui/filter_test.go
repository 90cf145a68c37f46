package ui

import (
	tea "charm.land/bubbletea/v2"
	"strings"
	"testing"
)

// shownNames is the first column of the focused pane's rows, through its
// selection: what the user can walk with j.
func paneRows(t *testing.T, m Model) []string {
	t.Helper()
	m = keys(t, m, "g")
	var out []string
	for i := 0; i < 60; i++ {
		r, ok := m.focused().Selected()
		if !ok {
			break
		}
		if len(out) > 0 && out[len(out)-1] == r.Name {
			break
		}
		out = append(out, r.Name)
		m = keys(t, m, "j")
	}
	return out
}

// The filter line's modes, typed as a user types them in the Namespaces
// pane of the demo: "!" inside the line is text (it does not open the
// findings), "-l" takes a label selector, a regex works, and a broken one
// is matched as text and said to be.
func TestFilterModesInThePane(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, m, "1")
	all := paneRows(t, m)

	ambient := typeLine(t, keys(t, m, "/"), "-l istio.io/dataplane-mode=ambient")
	if len(m.stack) != 0 {
		t.Fatal("an overlay opened while typing the filter")
	}
	got := paneRows(t, keys(t, ambient, "enter"))
	if len(got) == 0 || len(got) >= len(all) || !contains(got, "loki") || contains(got, "legacy-apps") {
		t.Fatalf("-l dataplane-mode=ambient kept %v of %v", got, all)
	}

	// The same, inverted: "!" typed in the line is text, not the findings key.
	not := typeLine(t, keys(t, m, "/"), "!-l istio.io/dataplane-mode=ambient")
	if len(not.stack) != 0 {
		t.Fatalf("! in the filter line opened an overlay")
	}
	inv := paneRows(t, keys(t, not, "enter"))
	if len(inv)+len(got) != len(all) || contains(inv, "loki") || !contains(inv, "legacy-apps") {
		t.Fatalf("inverted selector kept %v; selector kept %v of %v", inv, got, all)
	}
	if !strings.Contains(not.Render(), "/!-l istio.io/dataplane-mode=ambient") {
		t.Errorf("the pane title should show the filter as typed:\n%s", not.Render())
	}

	// A set-based selector, parsed by apimachinery.
	set := paneRows(t, keys(t, typeLine(t, keys(t, m, "/"), "-l kubernetes.io/metadata.name in (loki,default)"), "enter"))
	if strings.Join(set, " ") != "default loki" {
		t.Errorf("-l name in (loki,default) kept %v", set)
	}

	// A regex, anchored at the cell.
	re := paneRows(t, keys(t, typeLine(t, keys(t, m, "/"), "^l.*i$"), "enter"))
	if strings.Join(re, " ") != "loki" {
		t.Errorf("^l.*i$ kept %v", re)
	}

	// Not a regex: matched as text, and the title says so.
	bad := keys(t, typeLine(t, keys(t, m, "/"), "loki("), "enter")
	if rows := paneRows(t, bad); len(rows) != 0 {
		t.Errorf("loki( as text should match nothing, kept %v", rows)
	}
	if !strings.Contains(bad.Render(), "matched as text") {
		t.Errorf("a bad regex should say it was matched as text:\n%s", bad.Render())
	}

	// A broken selector says why and shows nothing.
	broken := keys(t, typeLine(t, keys(t, m, "/"), "-l app in ("), "enter")
	if rows := paneRows(t, broken); len(rows) != 0 {
		t.Errorf("a broken selector kept %v", rows)
	}
	if !strings.Contains(broken.Render(), "bad label selector") {
		t.Errorf("a broken selector should say so:\n%s", broken.Render())
	}

	// Outside the line, ! is the findings key again.
	if f := keys(t, ambient, "enter", "!"); len(f.stack) == 0 {
		t.Errorf("! after the filter line closed should open the findings")
	}
}

// A row kept for text in a column the narrow pane does not show says so.
func TestFilterSaysWhenAMatchIsHidden(t *testing.T) {
	m, _ := demoModel(t, false)
	// 120x35: the grid, where the Workloads pane has no room for NODE.
	m = keys(t, m, "2")
	scr := m.Render()
	if strings.Contains(scr, "NODE") {
		t.Fatalf("NODE is shown at this width; the test needs it hidden:\n%s", scr)
	}
	// While typing, the status line has the room to say it whole. (One
	// node, homelab-w2, would make NODE a one-value column, which the
	// title names: not hidden. The four workers keep it a column.)
	m = typeLine(t, keys(t, m, "/"), "homelab-w")
	scr = m.Render()
	if !strings.Contains(scr, "17 rows match only in hidden columns") {
		t.Errorf("pods matched only on their node should be explained:\n%s", scr)
	}
	// After enter the pane's title keeps saying it.
	scr = keys(t, m, "enter").Render()
	if !strings.Contains(scr, "Workloads (63/73) /homelab-w (17 rows match only") {
		t.Errorf("the title should keep the notice:\n%s", scr)
	}
	// Where NODE is shown, nothing needs explaining.
	wide := keys(t, typeLine(t, keys(t, drive(t, m, tea.WindowSizeMsg{Width: 200, Height: 40}), "esc", "/"), "homelab-w"), "enter")
	if scr := wide.Render(); strings.Contains(scr, "hidden columns") || !strings.Contains(scr, "NODE") {
		t.Errorf("with NODE shown there is no hidden match:\n%s", scr)
	}
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
