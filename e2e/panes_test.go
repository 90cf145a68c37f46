package e2e

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The four main panes are found on the screen by their titles, such as
// "Workloads ‹loki› (5/14) /prom".
var titleRE = regexp.MustCompile(`(Namespaces|Workloads|Waypoints|Policies)(?: ‹([^›]*)›)? \((?:(\d+)/)?(\d+)\)( /\S*)?`)

// title is one pane title as drawn.
type title struct {
	Pane     string // Namespaces, Workloads, Waypoints or Policies
	Drill    string // the namespace in ‹›, if any
	Shown    int    // rows the filter keeps (Total when there is no filter)
	Total    int    // rows before the filter
	Filter   string // "/text" when filtered
	Row, Col int    // where the title starts, in cells
}

// titles returns every pane title on the screen.
func titles(rows []string) []title {
	var out []title
	for r, line := range rows {
		for _, loc := range titleRE.FindAllStringSubmatchIndex(line, -1) {
			m := func(i int) string {
				if loc[2*i] < 0 {
					return ""
				}
				return line[loc[2*i]:loc[2*i+1]]
			}
			total, _ := strconv.Atoi(m(4))
			shown := total
			if m(3) != "" {
				shown, _ = strconv.Atoi(m(3))
			}
			out = append(out, title{
				Pane: m(1), Drill: m(2), Shown: shown, Total: total, Filter: strings.TrimSpace(m(5)),
				Row: r, Col: cells(line[:loc[0]]),
			})
		}
	}
	return out
}

// findTitle returns the title of pane, failing the test when it is not
// on the screen.
func findTitle(t *testing.T, rows []string, pane string) title {
	t.Helper()
	for _, ti := range titles(rows) {
		if ti.Pane == pane {
			return ti
		}
	}
	t.Fatalf("no %s pane on the screen:\n%s", pane, strings.Join(rows, "\n"))
	return title{}
}

// cells is the width of s in terminal cells; every glyph ambx draws in its
// tables is one cell wide.
func cells(s string) int { return len([]rune(s)) }

// cut returns the cells [from, to) of line (to < 0: to the end).
func cut(line string, from, to int) string {
	r := []rune(line)
	if from >= len(r) {
		return ""
	}
	if to < 0 || to > len(r) {
		to = len(r)
	}
	return string(r[from:to])
}

// cursor is the row marker of the focused pane.
const cursor = "▸"

// focused returns the pane whose rows hold the cursor: the one the keys
// go to. ok is false when no pane shows a cursor.
func focused(rows []string) (pane string, ok bool) {
	ts := titles(rows)
	for r, line := range rows {
		i := strings.Index(line, cursor)
		if i < 0 {
			continue
		}
		c := cells(line[:i])
		// The pane drawn above and to the left of the cursor, nearest to
		// it: titles sit one cell right of their pane's left edge.
		best := -1
		for j, ti := range ts {
			if ti.Row >= r || ti.Col > c+1 {
				continue
			}
			if best < 0 || ti.Row > ts[best].Row || (ti.Row == ts[best].Row && ti.Col > ts[best].Col) {
				best = j
			}
		}
		if best >= 0 {
			return ts[best].Pane, true
		}
	}
	return "", false
}

// table is one pane's table as the screen shows it.
type table struct {
	Title  title
	Header []string   // column names
	Rows   [][]string // data rows split into words, the cursor marker and finding mark removed
	Marks  []string   // each row's finding mark (✖ ⚠ ℹ), "" when it has none
	Cursor int        // index in Rows of the row with the cursor, -1 if none
	Room   int        // how many data rows the pane has space for
}

// findingMarks are the marks a row with findings starts with, in its
// worst finding's severity.
var findingMarks = map[string]bool{"✖": true, "⚠": true, "ℹ": true}

// readTable returns pane's table; ok is false when the pane is not drawn.
func readTable(rows []string, pane string) (tb table, ok bool) {
	ts := titles(rows)
	for _, ti := range ts {
		if ti.Pane == pane {
			tb.Title, ok = ti, true
			break
		}
	}
	if !ok || tb.Title.Row+1 >= len(rows) {
		return table{}, false
	}
	me := tb.Title
	from, to := me.Col-1, -1
	end := len(rows) - 1 // the status bar is not part of a pane
	for _, ti := range ts {
		if ti.Row == me.Row && ti.Col > me.Col && (to < 0 || ti.Col-1 < to) {
			to = ti.Col - 1 // the pane to the right begins here
		}
		if ti.Row > me.Row && ti.Row < end && ti.Col-1 >= from-1 && ti.Col-1 <= from+1 {
			end = ti.Row // the pane below begins here
		}
	}
	tb.Header = strings.Fields(cut(rows[me.Row+1], from, to))
	tb.Cursor = -1
	tb.Room = max(0, end-me.Row-2)
	for _, line := range rows[me.Row+2 : max(me.Row+2, end)] {
		part := cut(line, from, to)
		f := strings.Fields(strings.Replace(part, cursor, " ", 1))
		if len(f) == 0 || strings.Join(f, " ") == "no rows" {
			continue
		}
		if strings.Contains(part, cursor) {
			tb.Cursor = len(tb.Rows)
		}
		mark := ""
		if findingMarks[f[0]] {
			mark, f = f[0], f[1:]
		}
		tb.Marks = append(tb.Marks, mark)
		tb.Rows = append(tb.Rows, f)
	}
	return tb, true
}

// mustTable is readTable for a pane that must be on the screen.
func mustTable(t *testing.T, rows []string, pane string) table {
	t.Helper()
	tb, ok := readTable(rows, pane)
	if !ok {
		t.Fatalf("no %s pane on the screen:\n%s", pane, strings.Join(rows, "\n"))
	}
	return tb
}

// cell returns the word under column name in row. Columns are counted from
// the left up to the first one whose cells hold spaces ("● ambient"), and
// from the right after it, so name must be a one-word column on either
// side of the MESH column.
func (tb table) cell(row []string, name string) (string, bool) {
	mesh := -1
	for i, h := range tb.Header {
		if h == "MESH" {
			mesh = i
		}
	}
	for i, h := range tb.Header {
		if h != name {
			continue
		}
		j := i
		if mesh >= 0 && i > mesh {
			j = len(row) - (len(tb.Header) - i)
		}
		if j >= 0 && j < len(row) {
			return row[j], true
		}
	}
	return "", false
}

// meshState returns the mesh state word of a row ("ambient", "sidecar",
// "opted-out"…): the word after the MESH column's glyph.
func (tb table) meshState(row []string) (string, bool) {
	for i, h := range tb.Header {
		if h == "MESH" && i+1 < len(row) {
			return row[i+1], true
		}
	}
	return "", false
}
