package table

import (
	"strconv"
	"strings"

	"github.com/ambx/ambx/views/filter"
)

// SetFilter keeps only the rows the filter line s matches (see package
// filter: text, regex, "!" to invert, "-l" for labels).
func (m Model) SetFilter(s string) Model {
	key := m.SelectedKey()
	m.filter = filter.Parse(s)
	m = m.refilter()
	if key != "" {
		m = m.SelectKey(key)
	}
	return m
}

// Filter returns the filter line as typed.
func (m Model) Filter() string { return m.filter.Raw }

// LabelsOf is an object's labels as a row carries them: never nil, so a
// "-l" filter can tell an object without labels from a row that has none
// to offer.
func LabelsOf(l map[string]string) map[string]string {
	if l == nil {
		return map[string]string{}
	}
	return l
}

// keep returns the indexes of the rows the filter shows, in row order.
func (m Model) keep() []int {
	out := make([]int, 0, len(m.rows))
	var cells []string
	var ms measurer
	for i := range m.rows {
		if m.keepRow(&m.rows[i], &cells, &ms) {
			out = append(out, i)
		}
	}
	return out
}

// keeps reports whether the filter shows a prepared row.
func (m Model) keeps(r *Row) bool {
	var cells []string
	var ms measurer
	return m.keepRow(r, &cells, &ms)
}

// keepRow is keeps with a buffer for a regex's cells and a measurer that
// lower-cases the text of rows whose search text is not built yet.
func (m Model) keepRow(r *Row, cells *[]string, ms *measurer) bool {
	f := m.filter
	var line string
	switch f.Mode {
	case filter.None, filter.Broken, filter.Selector:
		// Decided without the row's text.
	default:
		line = ms.searchText(r)
	}
	if f.Mode == filter.Regex {
		*cells = (*cells)[:0]
		for _, c := range r.Cells {
			*cells = append(*cells, c.Text)
		}
	}
	return f.Keep(line, *cells, r.Labels)
}

// FilterNote says what the user should know about the filter beyond the
// rows it kept, for a table drawn width cells wide: how the line was taken
// (not a regex, a bad selector), that no row carries labels, or that rows
// on screen match only in a column too narrow a pane does not show.
func (m Model) FilterNote(width int) string {
	f := m.filter
	var notes []string
	if f.Note != "" {
		notes = append(notes, f.Note)
	}
	if f.Labels() && len(m.rows) > 0 && !m.labelled() {
		notes = append(notes, "these rows carry no labels")
	}
	if n := m.hiddenMatches(width); n > 0 {
		what := strconv.Itoa(n) + " rows match"
		if n == 1 {
			what = "1 row matches"
		}
		notes = append(notes, what+" only in hidden columns")
	}
	return strings.Join(notes, " · ")
}

func (m Model) labelled() bool {
	for i := range m.rows {
		if m.rows[i].Labels != nil {
			return true
		}
	}
	return false
}

// hiddenMatches counts the rows on screen that the filter kept only for
// text in a column the layout at width leaves out: such a row seems not to
// match at all. Only the drawn rows are checked, which is what the user
// can be confused by, and keeps a frame's cost independent of the rows.
func (m Model) hiddenMatches(width int) int {
	f := m.filter
	if f.Invert || (f.Mode != filter.Text && f.Mode != filter.Regex) {
		return 0
	}
	// As View lays the table out: the cursor gutter and, when some row
	// has one, the mark column.
	inner := width - 1
	if m.marks > 0 && inner > 2 {
		inner -= 2
	}
	lines := max(1, m.lines)
	end := min(len(m.visible), m.offset+lines)
	// A column left out for holding one value is said in the title: a
	// match there is not hidden.
	idx := m.plan(inner, m.offset, end).idx
	for i := range m.cols {
		if m.isSame(i) {
			idx = append(idx, i)
		}
	}
	if len(idx) >= len(m.cols) {
		return 0
	}
	n := 0
	cells := make([]string, 0, len(idx))
	for v := m.offset; v < end; v++ {
		r := &m.rows[m.visible[v]]
		cells = cells[:0]
		var b strings.Builder
		for _, i := range idx {
			if i < len(r.Cells) {
				cells = append(cells, r.Cells[i].Text)
				b.WriteString(strings.ToLower(r.Cells[i].Text))
			}
			b.WriteByte(' ')
		}
		if !f.MatchText(b.String(), cells) {
			n++
		}
	}
	return n
}
