package table

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/theme"
)

func hitTable(marked bool) Model {
	m := New(
		Column{Title: "NAMESPACE", Min: 9, Priority: 1},
		Column{Title: "NAME", Min: 4, Name: true},
		Column{Title: "NODE", Min: 6, Priority: 2},
		Column{Title: "AGE", Min: 3, Priority: 3, Right: true},
	)
	var rows []Row
	for i := range 12 {
		r := row(fmt.Sprintf("k%02d", i), []string{"shop", "bank"}[i%2], fmt.Sprintf("pod-%02d", i), fmt.Sprintf("node-%d", i%3), fmt.Sprintf("%dm", i))
		if marked && i%4 == 0 {
			r.Mark = Cell{Text: "✖"}
		}
		rows = append(rows, r)
	}
	return m.SetHeight(4).SetRows(rows)
}

// cellAt is the text of the drawn line under cell x: the run of
// non-spaces around it, "" on a space.
func cellAt(line string, x int) string {
	r := []rune(strings.Replace(ansi.Strip(line), "▸", " ", 1))
	if x >= len(r) || r[x] == ' ' {
		return ""
	}
	lo, hi := x, x
	for lo > 0 && r[lo-1] != ' ' {
		lo--
	}
	for hi < len(r) && r[hi] != ' ' {
		hi++
	}
	return string(r[lo:hi])
}

// Every cell of every frame: HitTest names the column whose title the
// header draws above it and the row whose text the line draws, so a click
// lands where the eye does, at any width, scrolled or not, with marks.
func TestHitTestMatchesView(t *testing.T) {
	for _, tc := range []struct {
		name          string
		marked        bool
		width, height int
		down          int // cursor moves before the frame (scrolls it)
	}{
		{"wide", false, 60, 6, 0},
		{"marks", true, 60, 6, 0},
		{"narrow hides columns", true, 22, 6, 0},
		{"scrolled", true, 60, 6, 9},
		{"one line", false, 40, 1, 0},
		{"taller than the rows", false, 60, 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := hitTable(tc.marked).Move(tc.down)
			lines := strings.Split(m.View(theme.Plain, tc.width, tc.height, true), "\n")
			f := m.frame(tc.width, tc.height)
			for y := range tc.height {
				for x := range tc.width {
					h := m.HitTest(tc.width, tc.height, x, y)
					if h.Header != (y == 0) {
						t.Fatalf("(%d,%d): Header=%v", x, y, h.Header)
					}
					var line string
					if y < len(lines) {
						line = lines[y]
					}
					drawn := cellAt(line, x)
					switch {
					case y == 0 && h.Column >= 0:
						title := m.cols[h.Column].Title
						if drawn != "" && !strings.HasPrefix(title, strings.TrimSuffix(drawn, "…")) {
							t.Errorf("(%d,%d): header draws %q, HitTest says %s", x, y, drawn, title)
						}
					case y > 0 && h.Row >= 0:
						r := m.rows[m.visible[h.Row]]
						if !strings.Contains(line, cellText(r, 1)) && !strings.Contains(line, "…") {
							t.Errorf("(%d,%d): line %q is not row %s", x, y, line, r.Key)
						}
						if h.Column >= 0 && drawn != "" {
							want := cellText(r, h.Column)
							if !strings.HasPrefix(want, strings.TrimSuffix(drawn, "…")) && !strings.Contains(want, strings.Trim(drawn, "…")) {
								t.Errorf("(%d,%d): draws %q, HitTest says column %s of %s (%q)", x, y, drawn, m.cols[h.Column].Title, r.Key, want)
							}
						}
					case y > 0 && h.Row < 0:
						if y-1 < f.end-f.m.offset {
							t.Errorf("(%d,%d): no row, but the frame draws one there: %q", x, y, line)
						}
					}
					// Text drawn anywhere but the mark's cell is some column's.
					if h.Column < 0 && drawn != "" && !(tc.marked && x == gutter) {
						t.Errorf("(%d,%d): %q drawn but no column hit", x, y, drawn)
					}
				}
			}
		})
	}
}

func TestHitTestOutside(t *testing.T) {
	m := hitTable(false)
	for _, p := range [][2]int{{-1, 0}, {0, -1}, {60, 0}, {0, 6}} {
		if h := m.HitTest(60, 6, p[0], p[1]); h.Column != -1 || h.Row != -1 || h.Header {
			t.Errorf("%v outside the frame hits %+v", p, h)
		}
	}
	if h := m.HitTest(0, 0, 0, 0); h.Row != -1 {
		t.Errorf("an empty frame hits %+v", h)
	}
	// Below the last row of a short table: no row.
	short := New(Column{Title: "NAME", Min: 4}).SetHeight(5).SetRows([]Row{row("a", "a"), row("b", "b")})
	if h := short.HitTest(20, 6, 3, 4); h.Row != -1 {
		t.Errorf("below the rows hits row %d", h.Row)
	}
	if h := short.HitTest(20, 6, 3, 2); h.Row != 1 || h.Column != 0 {
		t.Errorf("second row hits %+v", h)
	}
}

// A row hit selects that row, in a scrolled frame too; the selection is
// the row drawn under the click.
func TestClickSelectsTheDrawnRow(t *testing.T) {
	m := hitTable(true).Move(9) // scrolled: the first rows are off screen
	lines := strings.Split(m.View(theme.Plain, 60, 6, true), "\n")
	h := m.HitTest(60, 6, 10, 2)
	m = m.SetCursor(h.Row)
	if !strings.Contains(lines[2], cellText(m.rows[m.visible[m.cursor]], 1)) {
		t.Fatalf("selected %s, the click was on %q", m.SelectedKey(), lines[2])
	}
	// Selecting a drawn row does not scroll the frame.
	if again := strings.Split(m.View(theme.Plain, 60, 6, true), "\n"); ansi.Strip(again[1])[1:] != ansi.Strip(lines[1])[1:] {
		t.Errorf("the frame scrolled: %q then %q", lines[1], again[1])
	}
	if m.SetCursor(99).Cursor() != m.Len()-1 || m.SetCursor(-5).Cursor() != 0 {
		t.Error("SetCursor does not clamp")
	}
}

// A header hit sorts by that column; a second one reverses; the cursor
// stays on its row; out of range changes nothing.
func TestSortByHeader(t *testing.T) {
	m := hitTable(false).SetCursor(3)
	key := m.SelectedKey()
	m = m.SortBy(3) // AGE: natural order, 0m 1m … 11m
	if title, desc, ok := m.SortedBy(); !ok || title != "AGE" || desc {
		t.Fatalf("SortedBy = %s %v %v", title, desc, ok)
	}
	if m.SelectedKey() != key {
		t.Errorf("cursor moved to %s", m.SelectedKey())
	}
	if got := cellText(m.rows[m.visible[0]], 3); got != "0m" {
		t.Errorf("first row after ascending sort: %s", got)
	}
	m = m.SortBy(3)
	if _, desc, _ := m.SortedBy(); !desc || cellText(m.rows[m.visible[0]], 3) != "11m" {
		t.Errorf("a second SortBy did not reverse: first %s", cellText(m.rows[m.visible[0]], 3))
	}
	m = m.SortBy(1)
	if title, desc, _ := m.SortedBy(); title != "NAME" || desc {
		t.Errorf("another column sorts ascending: %s %v", title, desc)
	}
	if n := m.SortBy(-1).SortBy(4); order(n) != order(m) {
		t.Error("an out-of-range column changed the order")
	}
}
