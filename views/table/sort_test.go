package table

import (
	"strings"
	"testing"
)

func rowsOf(vals ...string) []Row {
	var out []Row
	for i, v := range vals {
		out = append(out, Row{Key: v + "#" + string(rune('a'+i)), Cells: []Cell{{Text: v}, {Text: strings.Repeat("x", i%2)}}})
	}
	return out
}

func order(m Model) string {
	var out []string
	for _, i := range m.visible {
		out = append(out, m.rows[i].Cells[0].Text)
	}
	return strings.Join(out, " ")
}

func TestNatural(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"pod-9", "pod-10", -1}, {"10", "9", 1}, {"007", "7", 0}, {"Alpha", "alpha", 0},
		{"a", "ab", -1}, {"1.5", "1.10", -1}, {"", "a", -1}, {"128Mi", "64Mi", 1},
	} {
		if got := natural(tc.a, tc.b); got != tc.want {
			t.Errorf("natural(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// s cycles the sort column, S reverses it; the order survives new rows
// (a snapshot), ties keep the pane's order, and the cursor stays on its row.
func TestSortKeepsAcrossRowsAndCursor(t *testing.T) {
	m := New(Column{Title: "NAME"}, Column{Title: "X"}).SetHeight(10)
	m = m.SetRows(rowsOf("web-10", "web-9", "api", "web-9"))
	m = m.Move(1) // web-9#b
	if got := order(m); got != "web-10 web-9 api web-9" {
		t.Fatalf("unsorted order %q", got)
	}
	m = m.SortNext()
	if got := order(m); got != "api web-9 web-9 web-10" {
		t.Fatalf("sorted by NAME: %q", got)
	}
	if m.SelectedKey() != "web-9#b" {
		t.Fatalf("cursor left its row: %s", m.SelectedKey())
	}
	if col, desc, ok := m.SortedBy(); !ok || col != "NAME" || desc {
		t.Fatalf("SortedBy = %q %v %v", col, desc, ok)
	}
	m = m.SortReverse()
	if got := order(m); got != "web-10 web-9 web-9 api" {
		t.Fatalf("reversed: %q", got)
	}
	m = m.SetRows(rowsOf("b-1", "b-3", "b-2"))
	if got := order(m); got != "b-3 b-2 b-1" {
		t.Fatalf("a new set of rows lost the sort: %q", got)
	}
	m = m.SortNext().SortNext()
	if _, _, ok := m.SortedBy(); ok || order(m) != "b-1 b-3 b-2" {
		t.Fatalf("cycling past the last column should restore the rows' order: %q", order(m))
	}
}
