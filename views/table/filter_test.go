package table

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/theme"
)

func podRows() []Row {
	return []Row{
		{Key: "a", Cells: []Cell{{Text: "loki-0"}, {Text: "homelab-w1"}}, Labels: map[string]string{"app": "loki"}},
		{Key: "b", Cells: []Cell{{Text: "web-1"}, {Text: "loki-node"}}, Labels: map[string]string{"app": "web"}},
		{Key: "c", Cells: []Cell{{Text: "web-2"}, {Text: "homelab-w2"}}, Labels: LabelsOf(nil)},
	}
}

func podTable() Model {
	return New(Column{Title: "POD", Min: 8}, Column{Title: "NODE", Min: 10, Priority: 5}).SetRows(podRows()).SetHeight(10)
}

func TestFilterModes(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"loki", "loki-0 web-1"},
		{"!loki", "web-2"},
		{"^web-[12]$", "web-1 web-2"},
		{"-l app=web", "web-1"},
		{"-l app", "loki-0 web-1"},
		{"!-l app", "web-2"},
		{"-l app in (loki,web)", "loki-0 web-1"},
		{"-l app in (", ""},
		{"W2(", ""},
		{"w2", "web-2"},
	} {
		if got := order(podTable().SetFilter(tc.line)); got != tc.want {
			t.Errorf("filter %q keeps %q, want %q", tc.line, got, tc.want)
		}
	}
}

// A row kept for text in a column the pane is too narrow to show gets a
// notice, so the user is not left wondering why it matched.
func TestFilterNoteHiddenColumn(t *testing.T) {
	m := podTable().SetFilter("loki")
	if got := m.FilterNote(40); got != "" {
		t.Errorf("both columns shown: note %q, want none", got)
	}
	// 12 cells: the gutter and POD only; web-1 matched on its NODE.
	if got := m.FilterNote(12); got != "1 row matches only in hidden columns" {
		t.Errorf("NODE hidden: note %q", got)
	}
	view := m.View(theme.Plain, 12, 3, true)
	if strings.Contains(view, "loki-node") || !strings.Contains(view, "web-1") {
		t.Fatalf("the narrow table should show web-1 without its node:\n%s", view)
	}
	if got := m.SetFilter("!loki").FilterNote(12); got != "" {
		t.Errorf("inverted filter: note %q, want none", got)
	}
	if got := m.SetFilter("loki(").FilterNote(40); !strings.Contains(got, "matched as text") {
		t.Errorf("bad regex: note %q", got)
	}
	unlabelled := New(Column{Title: "X"}).SetRows([]Row{{Key: "x", Cells: []Cell{{Text: "x"}}}}).SetFilter("-l app=x")
	if got := unlabelled.FilterNote(40); got != "these rows carry no labels" {
		t.Errorf("rows without labels: note %q", got)
	}
	if m.SetFilter("-l app=x").FilterNote(40) != "" {
		t.Errorf("labelled rows should not say they carry none")
	}
}

// The filter line comes back as typed: label values are case-sensitive,
// and the prompt reopens with it.
func TestFilterKeepsTypedText(t *testing.T) {
	if got := podTable().SetFilter("-l App=Web").Filter(); got != "-l App=Web" {
		t.Errorf("Filter() = %q", got)
	}
}

// Rows hold no search text until a filter needs it, and a row whose cells
// changed is matched by its new text, not by what it said when the
// filter last built it (the cost: 10,000 Workloads rows held a megabyte of
// search text, built again on every metrics poll that changed them all).
func TestSearchTextOnlyForAFilter(t *testing.T) {
	m := podTable()
	for i, r := range m.rows {
		if r.search != "" {
			t.Fatalf("row %d holds search text %q with no filter", i, r.search)
		}
	}
	m = m.SetFilter("LOKI")
	if got := order(m); got != "loki-0 web-1" {
		t.Fatalf("filter loki keeps %q", got)
	}
	rows := podRows()
	rows[0].Cells[0].Text = "tempo-0"
	rows[1].Cells[1].Text = "Homelab-W3"
	if got := order(m.SetRows(rows)); got != "" {
		t.Errorf("after loki-0 became tempo-0 and loki-node homelab-w3, the filter keeps %q, want none", got)
	}
	rows = podRows()
	rows[2].Cells[1].Text = "LOKI-node"
	if got := order(m.SetRows(rows)); got != "loki-0 web-1 web-2" {
		t.Errorf("after web-2 moved to LOKI-node, the filter keeps %q", got)
	}
}
