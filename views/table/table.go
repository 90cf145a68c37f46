// Package table is the scrolling, filterable table every pane is drawn with.
// It renders only the rows that fit, so a pane of 10,000 rows costs the same
// per frame as one of twenty.
package table

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/filter"
)

// Column describes one column.
type Column struct {
	Title string
	Min   int // narrowest useful width
	Max   int // widest it grows to (0 = no limit beyond content)
	// Priority decides which columns go first when the pane is narrow:
	// lower numbers stay longest. 0 is never hidden.
	Priority int
	Right    bool // right-align (numbers)
	// Optional columns are shown only while some row has text in them:
	// data a pane may not have (ztunnel's rates) adds no empty column.
	Optional bool
	// Name marks the column that names the row's object: it takes its
	// whole content before optional columns grow (see layout.go).
	Name bool
}

// Cell is one cell: text and the role it is drawn in.
type Cell struct {
	Text string
	Tone theme.Tone
}

// Row is one row; Key identifies it across snapshots so the cursor stays on
// the same object when rows change.
type Row struct {
	Key   string
	Cells []Cell
	// Mark is a one-cell glyph drawn before the first column (a row's
	// worst finding); the table gives marks room only when a row has one.
	Mark Cell
	// Labels are the object's labels, for "-l" filters; nil when the
	// row's object has none to offer (use LabelsOf for a labelled kind).
	Labels map[string]string
	search string // lower-cased text the filter matches against, "" until it first needs it
	// clean says no cell needed sanitizing, so a new row with the same
	// key and cells can take this one's search text as it is.
	clean bool
}

// Model is a table's state.
type Model struct {
	cols     []Column
	rows     []Row
	visible  []int // indexes into rows after the filter
	filter   filter.Filter
	cursor   int // index into visible
	offset   int // first visible row drawn
	lines    int // rows that fit, set by SetHeight
	contentW []int
	sortBy   int    // 0: the rows' own order; i+1: column i
	desc     bool   // sortBy descending
	marks    int    // rows that have a Mark
	same     []bool // per column: every shown row holds the same value (layout.go)
	collapse bool   // leave out the columns same marks

	filled []int // per column: how many rows have text in it (for Optional)
}

// New returns an empty table with the given columns.
func New(cols ...Column) Model {
	for i := range cols {
		cols[i].Title = safe.Line(cols[i].Title)
	}
	return Model{cols: cols}
}

// SetRows replaces the rows, keeping the cursor on the row with the same key
// when it still exists.
func (m Model) SetRows(rows []Row) Model {
	if out, ok := m.update(rows); ok {
		return out
	}
	key := m.SelectedKey()
	prev := previous{rows: m.rows}
	m.contentW = make([]int, len(m.cols))
	// How many rows have text in each column, counted in the loop below
	// that measures every cell anyway (unfilled reads it for Optional
	// ones; update keeps the counts).
	m.filled = make([]int, len(m.cols))
	for i := range m.cols {
		m.contentW[i] = ansi.StringWidth(m.cols[i].Title)
	}
	var ms measurer
	m.marks = 0
	for r := range rows {
		row := &rows[r]
		// A snapshot mostly repeats the last one's rows: one that is
		// unchanged keeps its sanitized text and search string (if built).
		if old, ok := prev.same(r, row); ok {
			row.search, row.clean, row.Mark = old.search, true, old.Mark
		} else {
			ms.prepare(row)
		}
		m.count(row, 1, &ms)
	}
	m.rows = rows
	m = m.refilter()
	if key != "" {
		m = m.SelectKey(key)
	}
	return m
}

// update is SetRows for rows with the keys of the table's rows in the same
// order, few of them changed (a snapshot in which one pod changed): it
// prepares, measures and filters only the changed rows. ok is false when
// the rows are not such a set.
func (m Model) update(rows []Row) (Model, bool) {
	old := m.rows
	if len(rows) != len(old) || len(old) == 0 || len(m.contentW) != len(m.cols) || len(m.filled) != len(m.cols) {
		return m, false
	}
	var changed []int
	for i := range rows {
		if rows[i].Key != old[i].Key {
			return m, false
		}
		if !sameRow(&old[i], &rows[i]) {
			if changed = append(changed, i); len(changed) > 64+len(rows)/16 {
				return m, false // as cheap to do all of them
			}
		}
	}
	next := 0 // the next index in changed
	for i := range rows {
		if next < len(changed) && changed[next] == i {
			next++
			continue
		}
		rows[i].search, rows[i].clean, rows[i].Mark = old[i].search, old[i].clean, old[i].Mark
	}
	// Earlier copies of m may still be drawn: new counts, never theirs.
	m.contentW, m.filled = slices.Clone(m.contentW), slices.Clone(m.filled)
	var ms measurer
	recount := make([]bool, len(m.cols))
	visible, order := true, true
	var shown []int // the changed rows that pass the filter
	for _, i := range changed {
		before, row := &old[i], &rows[i]
		ms.prepare(row)
		m.count(before, -1, &ms)
		m.count(row, 1, &ms)
		for c := range m.cols {
			// The widest cell got narrower: only a pass finds the next.
			if w := ms.width(cellText(*before, c)); w == m.contentW[c] && ms.width(cellText(*row, c)) < w {
				recount[c] = true
			}
		}
		kept := m.keeps(row)
		visible = visible && m.keeps(before) == kept
		if kept {
			shown = append(shown, i)
		}
		order = order && (m.sortBy == 0 || cellText(*before, m.sortBy-1) == cellText(*row, m.sortBy-1))
	}
	m.rows = rows
	for c, again := range recount {
		if again {
			m.contentW[c] = ansi.StringWidth(m.cols[c].Title)
			for r := range rows {
				m.contentW[c] = max(m.contentW[c], ms.width(cellText(rows[r], c)))
			}
		}
	}
	if !visible || !order {
		key := m.SelectedKey()
		m = m.refilter()
		if key != "" {
			m = m.SelectKey(key)
		}
		return m, true
	}
	// The same rows are shown in the same order: the cursor stays.
	m.same = m.sameColumnsAfter(m.same, shown)
	return m, true
}

// sameRow reports whether a new row holds what an earlier row of the
// table (prepared, so its text is sanitized) showed and filtered on.
func sameRow(old, row *Row) bool {
	return old.clean && old.Mark == row.Mark && sameCells(old.Cells, row.Cells) &&
		sameLabels(old.Labels, row.Labels)
}

// sameCells compares two rows' cells: a pane mostly hands over the cells
// it kept from the last snapshot, and one array holds the same cells
// without comparing their text.
func sameCells(a, b []Cell) bool {
	if len(a) != len(b) {
		return false
	}
	return len(a) == 0 || &a[0] == &b[0] || slices.Equal(a, b)
}

// sameLabels compares two rows' labels: a pane mostly hands over its
// object's own map, so the same map is the same labels without a walk.
func sameLabels(a, b map[string]string) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer() || maps.Equal(a, b)
}

// count adds a prepared row's marks, widths and filled cells (n = 1) to
// the table's, or takes them away (n = -1; widths only grow, see update).
func (m *Model) count(row *Row, n int, ms *measurer) {
	if row.Mark.Text != "" {
		m.marks += n
	}
	for i, c := range row.Cells {
		if i >= len(m.contentW) {
			break
		}
		if n > 0 {
			m.contentW[i] = max(m.contentW[i], ms.width(c.Text))
		}
		if c.Text != "" {
			m.filled[i] += n
		}
	}
}

// measurer measures and lower-cases text. Text outside ASCII is mostly the
// few state words with a glyph, on every row: each is measured once.
type measurer struct{ wide map[string]folded }

func (ms *measurer) fold(s string) folded {
	if ascii(s) {
		return folded{len(s), strings.ToLower(s)}
	}
	f, ok := ms.wide[s]
	if !ok {
		if ms.wide == nil {
			ms.wide = map[string]folded{}
		}
		f = folded{ansi.StringWidth(s), strings.ToLower(s)}
		ms.wide[s] = f
	}
	return f
}

func (ms *measurer) width(s string) int {
	if ascii(s) {
		return len(s)
	}
	return ms.fold(s).width
}

// prepare makes a new row's text safe: every cell is made safe here,
// where text enters the table, so no pane can show a cluster string raw.
// The search text is not built here but when a filter first needs it
// (searchText): with no filter, the usual case, 10,000 rows would hold a
// megabyte of it for nothing, and build it again whenever a metrics poll
// changed every row.
func (ms *measurer) prepare(row *Row) {
	if row.Mark.Text != "" {
		// Marks are the views' own glyphs, but one cell is all they
		// get: anything else is cut to it.
		row.Mark.Text = ansi.Truncate(safe.Line(row.Mark.Text), 1, "")
	}
	row.clean = true
	row.search = ""
	for i := range row.Cells {
		if t := safe.Line(row.Cells[i].Text); t != row.Cells[i].Text {
			row.Cells[i].Text, row.clean = t, false
		}
	}
}

// searchText is the row's lower-cased text for the filter, built on first
// need and kept in the row: every copy of a prepared row shows the same
// text, so whichever builds it builds the same string. Never empty for a
// built one (each cell adds a space), so "" means not built yet.
func (ms *measurer) searchText(row *Row) string {
	if row.search != "" || len(row.Cells) == 0 {
		return row.search
	}
	n := 0
	for _, c := range row.Cells {
		n += len(c.Text) + 1
	}
	var b strings.Builder
	b.Grow(n)
	for _, c := range row.Cells {
		b.WriteString(ms.fold(c.Text).lower)
		b.WriteByte(' ')
	}
	row.search = b.String()
	return row.search
}

// previous finds the last SetRows' row for a new one: at the same index
// when the rows kept their order, else by key (indexed on first need).
type previous struct {
	rows  []Row
	byKey map[string]int
}

// same returns the previous row with row's key when it was clean and has
// the same cells.
func (p *previous) same(i int, row *Row) (*Row, bool) {
	var old *Row
	switch {
	case i < len(p.rows) && p.rows[i].Key == row.Key:
		old = &p.rows[i]
	case len(p.rows) > 0:
		if p.byKey == nil {
			p.byKey = make(map[string]int, len(p.rows))
			for j := range p.rows {
				p.byKey[p.rows[j].Key] = j
			}
		}
		j, ok := p.byKey[row.Key]
		if !ok {
			return nil, false
		}
		old = &p.rows[j]
	default:
		return nil, false
	}
	if !old.clean || !sameCells(old.Cells, row.Cells) {
		return nil, false
	}
	if old.Mark != row.Mark && ansi.Truncate(safe.Line(row.Mark.Text), 1, "") != old.Mark.Text {
		return nil, false
	}
	return old, true
}

func (m Model) refilter() Model {
	// A fresh slice: an earlier copy of this value may still be drawn, and
	// appending into the shared array would change its rows under it.
	m.visible = m.keep()
	if c := m.sortBy - 1; c >= 0 {
		cell := func(i int) string {
			if c < len(m.rows[i].Cells) {
				return m.rows[i].Cells[c].Text
			}
			return ""
		}
		// Stable, so rows that tie keep the pane's own order.
		sort.SliceStable(m.visible, func(a, b int) bool {
			x, y := cell(m.visible[a]), cell(m.visible[b])
			if m.desc {
				x, y = y, x
			}
			return natural(x, y) < 0
		})
	}
	m.same = m.sameColumns()
	m.cursor = clamp(m.cursor, 0, len(m.visible)-1)
	return m.scroll()
}

// SortNext sorts by the next column (from none to the first, to none after
// the last), ascending; the cursor stays on its row.
func (m Model) SortNext() Model {
	key := m.SelectedKey()
	m.sortBy = (m.sortBy + 1) % (len(m.cols) + 1)
	m.desc = false
	m = m.refilter()
	return m.SelectKey(key)
}

// SortReverse flips the sort direction.
func (m Model) SortReverse() Model {
	if m.sortBy == 0 {
		return m
	}
	key := m.SelectedKey()
	m.desc = !m.desc
	m = m.refilter()
	return m.SelectKey(key)
}

// SortedBy names the sort column and direction; ok is false when the rows
// are in their own order.
func (m Model) SortedBy() (title string, desc, ok bool) {
	if m.sortBy == 0 || m.sortBy > len(m.cols) {
		return "", false, false
	}
	return m.cols[m.sortBy-1].Title, m.desc, true
}

// natural compares strings with runs of digits compared as numbers, so
// "pod-10" sorts after "pod-9" and "12" after "9"; case is ignored.
func natural(a, b string) int {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return cmp.Compare(len(na), len(nb))
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		ra, sa := utf8.DecodeRuneInString(a)
		rb, sb := utf8.DecodeRuneInString(b)
		if la, lb := unicode.ToLower(ra), unicode.ToLower(rb); la != lb {
			return cmp.Compare(la, lb)
		}
		a, b = a[sa:], b[sb:]
	}
	return cmp.Compare(len(a), len(b))
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// SetHeight tells the table how many rows fit below its header, so moving
// the cursor can keep it on screen.
func (m Model) SetHeight(lines int) Model {
	m.lines = max(1, lines)
	return m.scroll()
}

// scroll keeps the cursor inside the drawn window.
func (m Model) scroll() Model {
	lines := max(1, m.lines)
	if m.cursor < m.offset {
		m.offset = m.cursor
	}
	if m.cursor >= m.offset+lines {
		m.offset = m.cursor - lines + 1
	}
	m.offset = clamp(m.offset, 0, max(0, len(m.visible)-lines))
	return m
}

// Len returns the number of rows shown (after the filter).
func (m Model) Len() int { return len(m.visible) }

// Total returns the number of rows before the filter.
func (m Model) Total() int { return len(m.rows) }

// ShownKeys are the keys of the rows on screen, as View draws them: what
// a poller needs to read for the screen and no more.
func (m Model) ShownKeys() []string {
	end := min(len(m.visible), m.offset+max(1, m.lines))
	out := make([]string, 0, max(0, end-m.offset))
	for v := m.offset; v < end; v++ {
		out = append(out, m.rows[m.visible[v]].Key)
	}
	return out
}

// Cursor returns the cursor's position among the shown rows.
func (m Model) Cursor() int { return m.cursor }

// SelectedKey returns the key of the row under the cursor, or "".
func (m Model) SelectedKey() string {
	if m.cursor < 0 || m.cursor >= len(m.visible) {
		return ""
	}
	return m.rows[m.visible[m.cursor]].Key
}

// SelectKey moves the cursor to the row with key k, if shown.
func (m Model) SelectKey(k string) Model {
	for i, r := range m.visible {
		if m.rows[r].Key == k {
			m.cursor = i
			return m.scroll()
		}
	}
	return m
}

// Move moves the cursor by n rows (negative is up), clamped.
func (m Model) Move(n int) Model {
	m.cursor = clamp(m.cursor+n, 0, len(m.visible)-1)
	return m.scroll()
}

// Top moves the cursor to the first row.
func (m Model) Top() Model { m.cursor = 0; return m.scroll() }

// Bottom moves the cursor to the last row.
func (m Model) Bottom() Model { m.cursor = max(0, len(m.visible)-1); return m.scroll() }

func clamp(v, lo, hi int) int {
	if hi < lo {
		return lo
	}
	return min(max(v, lo), hi)
}

// View renders the header and the rows that fit in height lines (header
// included), each exactly width cells wide. focused draws the cursor.
func (m Model) View(t *theme.Theme, width, height int, focused bool) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	f := m.frame(width, height)
	m, marks, lines, end, pl := f.m, f.marks, f.lines, f.end, f.plan
	idx, widths := pl.idx, pl.widths
	var b strings.Builder
	// Header.
	b.WriteString(strings.Repeat(" ", gutter+marks))
	hdr := make([]string, len(idx))
	for k, i := range idx {
		hdr[k] = pad(m.cols[i].Title, widths[k], m.cols[i].Right)
	}
	b.WriteString(t.Header.Render(fit(strings.Join(hdr, " "), width-gutter-marks)))
	if lines <= 0 {
		return b.String()
	}
	var paint painter
	for v := m.offset; v < end; v++ {
		b.WriteByte('\n')
		row := m.rows[m.visible[v]]
		sel := v == m.cursor
		mark := " "
		if sel && focused {
			mark = "▸"
		}
		var line strings.Builder
		if marks > 0 {
			text := pad(row.Mark.Text, 1, false)
			if sel {
				line.WriteString(text)
			} else {
				paint.write(&line, t, row.Mark.Tone, text)
			}
			line.WriteByte(' ')
		}
		for k, i := range idx {
			if k > 0 {
				line.WriteByte(' ')
			}
			var c Cell
			if i < len(row.Cells) {
				c = row.Cells[i]
			}
			text := pl.cell(k, c.Text, m.cols[i].Right)
			if sel {
				line.WriteString(text)
			} else {
				paint.write(&line, t, c.Tone, text)
			}
		}
		body := line.String()
		if sel {
			st := t.SelectedBlurred
			if focused {
				st = t.Selected
			}
			body = st.Render(fit(body, width-gutter))
		} else {
			body = fitStyled(body, width-gutter)
		}
		b.WriteString(mark)
		b.WriteString(body)
	}
	return b.String()
}

// gutter is the cursor mark's column.
const gutter = 1

// frame is how View lays out one frame: HitTest reads the same one, so a
// click lands on the row and column drawn under it.
type frame struct {
	m     Model // scrolled to the frame's window
	marks int   // the row marks and a space, when some row has one
	lines int   // rows below the header
	end   int   // one past the last shown row drawn
	plan  plan
}

func (m Model) frame(width, height int) frame {
	marks := 0
	if m.marks > 0 && width-gutter > 2 {
		marks = 2
	}
	// The window SetHeight kept; re-clamped in case height differs.
	lines := height - 1
	m.lines = max(1, lines)
	m = m.scroll()
	end := min(len(m.visible), m.offset+max(0, lines))
	return frame{m: m, marks: marks, lines: lines, end: end, plan: m.plan(width-gutter-marks, m.offset, end)}
}

// painter styles cells with each tone's escape codes, found once per frame
// by rendering a probe: a Style.Render per cell was most of a frame's cost.
type painter struct {
	known [256]bool
	slow  [256]bool      // the style does more than wrap text in codes
	codes [256][2]string // before, after
}

func (p *painter) write(b *strings.Builder, t *theme.Theme, tone theme.Tone, text string) {
	st := t.Tone(tone)
	if !p.known[tone] {
		p.known[tone] = true
		r := st.Render("x")
		i := strings.IndexByte(r, 'x')
		// Only a style that wraps text in fixed codes (colours,
		// attributes; no padding, width or borders) may be shortcut.
		if i >= 0 && st.Render("a b") == r[:i]+"a b"+r[i+1:] {
			p.codes[tone] = [2]string{r[:i], r[i+1:]}
		} else {
			p.slow[tone] = true
		}
	}
	if p.slow[tone] {
		b.WriteString(st.Render(text))
		return
	}
	b.WriteString(p.codes[tone][0])
	b.WriteString(text)
	b.WriteString(p.codes[tone][1])
}

// folded is a cell's text measured and lower-cased for the filter.
type folded struct {
	width int
	lower string
}

// ascii reports whether s is printable ASCII, whose width is its length.
func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

// width is ansi.StringWidth with a fast path for printable ASCII, which
// nearly every cell is: grapheme segmentation was most of a frame's cost.
func width(s string) int {
	if ascii(s) {
		return len(s)
	}
	return ansi.StringWidth(s)
}

// pad truncates or pads s to exactly w cells.
func pad(s string, w int, right bool) string {
	sw := width(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	if right {
		return strings.Repeat(" ", w-sw) + s
	}
	return s + strings.Repeat(" ", w-sw)
}

func fit(s string, w int) string { return pad(s, w, false) }

// fitStyled pads a string that may hold escape codes to w cells.
func fitStyled(s string, w int) string {
	sw := lipgloss.Width(s)
	if sw > w {
		return ansi.Truncate(s, w, "")
	}
	return s + strings.Repeat(" ", w-sw)
}
