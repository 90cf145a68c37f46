package table

import (
	"slices"
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// The column rules, in the order they apply:
//   - an optional column whose value is the same on every shown row is not
//     drawn; Same says it once (the namespace when drilled in);
//   - columns that are never hidden (priority 0) take their content width
//     up to their Max;
//   - optional columns come in by priority while they fit at their Min;
//   - what is left goes to the name column's whole content, then to every
//     column toward its content;
//   - no two drawn rows may read alike: a cut that makes two different
//     values look the same keeps their ends ("argo-wo…-5d94d-x2k4p"), and
//     rows that differ only in a hidden column bring that column back.

// Collapse leaves out the optional columns that hold one value on every
// shown row; whoever draws the table must then show Same.
func (m Model) Collapse() Model {
	m.collapse = true
	m.same = m.sameColumns()
	return m
}

// sameColumns marks the optional columns every shown row holds the same
// value in; with fewer than two rows nothing is "the same".
func (m Model) sameColumns() []bool {
	if !m.collapse || len(m.visible) < 2 {
		return nil
	}
	same := make([]bool, len(m.cols))
	for i := range m.cols {
		same[i] = m.sameColumn(i)
	}
	return same
}

// sameColumn is sameColumns for column i.
func (m Model) sameColumn(i int) bool {
	// An unfilled Optional column is not a fact to state.
	if m.cols[i].Priority == 0 || m.unfilled(i) {
		return false
	}
	v := cellText(m.rows[m.visible[0]], i)
	for _, r := range m.visible[1:] {
		if cellText(m.rows[r], i) != v {
			return false
		}
	}
	return true
}

// sameColumnsAfter is sameColumns after some rows changed while the same
// rows stayed shown in the same order: was is what sameColumns said
// before, shown the changed rows that are shown (indexes into rows). A
// column every shown row held one value in still does when no changed
// row holds another, and the first row is not one of them; others are
// walked again, which stops at the first row that differs.
func (m Model) sameColumnsAfter(was []bool, shown []int) []bool {
	if !m.collapse || len(m.visible) < 2 || len(was) != len(m.cols) {
		return m.sameColumns()
	}
	first := m.visible[0]
	firstChanged := slices.Contains(shown, first)
	same := make([]bool, len(m.cols))
	for i := range m.cols {
		if !was[i] || firstChanged || m.cols[i].Priority == 0 || m.unfilled(i) {
			same[i] = m.sameColumn(i)
			continue
		}
		v := cellText(m.rows[first], i)
		same[i] = true
		for _, r := range shown {
			if cellText(m.rows[r], i) != v {
				same[i] = false
				break
			}
		}
	}
	return same
}

// Same returns "TITLE=value" for each column left out because every shown
// row holds the same value in it, so the pane can say it once.
func (m Model) Same() []string {
	var out []string
	for i, s := range m.same {
		if !s || i >= len(m.cols) {
			continue
		}
		v := cellText(m.rows[m.visible[0]], i)
		if v == "" {
			out = append(out, m.cols[i].Title+" empty")
			continue
		}
		out = append(out, m.cols[i].Title+"="+v)
	}
	return out
}

func cellText(r Row, i int) string {
	if i < len(r.Cells) {
		return r.Cells[i].Text
	}
	return ""
}

// plan is how one frame draws its columns.
type plan struct {
	idx    []int // the columns drawn, in order
	widths []int // their widths
	tails  []int // per drawn column: cells kept from the end of a cut value, 0 to cut at the end
}

// cell pads or cuts text to drawn column k's width.
func (p plan) cell(k int, text string, right bool) string {
	w, t := p.widths[k], p.tails[k]
	if t == 0 || width(text) <= w {
		return pad(text, w, right)
	}
	return middle(text, w, t)
}

// middle cuts s to w cells keeping its last t cells after the ellipsis.
func middle(s string, w, t int) string {
	sw := width(s)
	head := ansi.Truncate(s, w-1-t, "")
	tail := ansi.TruncateLeft(s, sw-t, "")
	return pad(head+"…"+tail, w, false)
}

// plan lays out the columns for a frame of width cells that draws the
// shown rows lo…hi-1.
func (m Model) plan(width, lo, hi int) plan {
	force := map[int]bool{}
	var p plan
	for try := 0; ; try++ {
		p.idx, p.widths = m.layout(width, force)
		p.tails = m.tails(p, lo, hi)
		if try == 3 {
			return p
		}
		c, ok := m.separator(p, lo, hi)
		if !ok || force[c] {
			return p
		}
		force[c] = true
	}
}

// layout picks the columns that fit in width and their widths; force
// admits hidden columns that tell drawn rows apart, as if never hidden.
func (m Model) layout(width int, force map[int]bool) (idx []int, widths []int) {
	include := make([]bool, len(m.cols))
	w := make([]int, len(m.cols))
	used := 0
	for i, c := range m.cols {
		switch {
		case m.unfilled(i):
			continue
		case c.Priority == 0:
			w[i] = m.want(i)
		case force[i]:
			w[i] = c.Min
		default:
			continue
		}
		include[i] = true
		used += w[i] + 1
	}
	// Optional columns by priority (lower first), while they fit.
	order := make([]int, 0, len(m.cols))
	for i, c := range m.cols {
		if c.Priority > 0 && !include[i] && !m.isSame(i) && !m.unfilled(i) {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return m.cols[order[a]].Priority < m.cols[order[b]].Priority })
	for _, i := range order {
		if used+m.cols[i].Min+1 <= width+1 {
			include[i] = true
			w[i] = m.cols[i].Min
			used += w[i] + 1
		}
	}
	for i := range m.cols {
		if include[i] {
			idx = append(idx, i)
			widths = append(widths, w[i])
		}
	}
	total := len(idx) - 1
	for _, x := range widths {
		total += x
	}
	// Too narrow even for the essential columns: shrink the widest of
	// the others first, the name column last.
	for total > width {
		widest := -1
		for k, i := range idx {
			if !m.cols[i].Name && widths[k] > max(1, m.cols[i].Min) && (widest < 0 || widths[k] > widths[widest]) {
				widest = k
			}
		}
		if widest < 0 {
			for k := range widths {
				if widest < 0 || widths[k] > widths[widest] {
					widest = k
				}
			}
		}
		if widest < 0 || widths[widest] <= 1 {
			break
		}
		widths[widest]--
		total--
	}
	spare := width - total
	// The name column's whole content comes first…
	for k, i := range idx {
		if m.cols[i].Name && spare > 0 {
			g := min(spare, m.content(i)-widths[k])
			if g > 0 {
				widths[k] += g
				spare -= g
			}
		}
	}
	// …then every column grows toward its content, a cell at a time.
	for spare > 0 {
		grown := false
		for k, i := range idx {
			if widths[k] < m.want(i) && spare > 0 {
				widths[k]++
				spare--
				grown = true
			}
		}
		if !grown {
			break
		}
	}
	return idx, widths
}

func (m Model) isSame(i int) bool { return i < len(m.same) && m.same[i] }

// unfilled is an Optional column no row has text in.
func (m Model) unfilled(i int) bool {
	return m.cols[i].Optional && (i >= len(m.filled) || m.filled[i] == 0)
}

// want is a column's content width within its Min and Max.
func (m Model) want(i int) int {
	w := max(m.cols[i].Min, m.content(i))
	if m.cols[i].Max > 0 && w > m.cols[i].Max {
		w = m.cols[i].Max
	}
	return w
}

// content is the width of a column's widest cell or its title.
func (m Model) content(i int) int {
	if i < len(m.contentW) {
		return max(m.contentW[i], m.cols[i].Min)
	}
	return m.cols[i].Min
}

// tails finds, for each drawn column, how much of the end to keep so no
// two different values among the drawn rows are cut to the same text.
func (m Model) tails(p plan, lo, hi int) []int {
	tails := make([]int, len(p.idx))
	for k, i := range p.idx {
		w := p.widths[k]
		if w < 4 || m.content(i) <= w {
			continue
		}
		var long []string
		seen := map[string]bool{}
		for v := lo; v < hi; v++ {
			s := cellText(m.rows[m.visible[v]], i)
			if width(s) > w && !seen[s] {
				seen[s] = true
				long = append(long, s)
			}
		}
		if len(long) < 2 || distinct(long, func(s string) string { return pad(s, w, false) }) {
			continue
		}
		for t := 1; t <= w-2; t++ {
			if distinct(long, func(s string) string { return middle(s, w, t) }) {
				tails[k] = readable(long, w, t)
				break
			}
		}
	}
	return tails
}

// readable widens a tail of t cells that tells vals apart to whole words
// (a pod's "-x2k4p" rather than "p"), to at most half the column, while
// the values stay apart.
func readable(vals []string, w, t int) int {
	limit := (w - 1) / 2
	want := t
	for _, v := range vals {
		r := []rune(v)
		n := t
		for n < len(r) && n < limit && !strings.ContainsRune("-./:_", r[len(r)-n]) {
			n++
		}
		if n < len(r) && strings.ContainsRune("-./:_", r[len(r)-n]) || n == limit {
			want = max(want, n)
		}
	}
	for ; want > t; want-- {
		if distinct(vals, func(s string) string { return middle(s, w, want) }) {
			return want
		}
	}
	return t
}

// distinct reports whether cut keeps the (distinct) values apart.
func distinct(vals []string, cut func(string) string) bool {
	seen := make(map[string]bool, len(vals))
	for _, v := range vals {
		c := cut(v)
		if seen[c] {
			return false
		}
		seen[c] = true
	}
	return true
}

// separator returns a hidden column that tells apart two drawn rows that
// read alike in the drawn columns, the one of lowest priority number.
func (m Model) separator(p plan, lo, hi int) (int, bool) {
	drawn := map[string]int{} // drawn text → first row index
	var pairs [][2]int
	for v := lo; v < hi; v++ {
		r := m.rows[m.visible[v]]
		var b strings.Builder
		b.WriteString(r.Mark.Text)
		for k, i := range p.idx {
			b.WriteByte(0)
			b.WriteString(p.cell(k, cellText(r, i), false))
		}
		s := b.String()
		if j, ok := drawn[s]; ok {
			pairs = append(pairs, [2]int{j, m.visible[v]})
			continue
		}
		drawn[s] = m.visible[v]
	}
	if len(pairs) == 0 {
		return 0, false
	}
	shown := make([]bool, len(m.cols))
	for _, i := range p.idx {
		shown[i] = true
	}
	best := -1
	for i, c := range m.cols {
		if shown[i] || m.isSame(i) || m.unfilled(i) {
			continue
		}
		for _, pr := range pairs {
			if cellText(m.rows[pr[0]], i) != cellText(m.rows[pr[1]], i) {
				if best < 0 || c.Priority < m.cols[best].Priority {
					best = i
				}
				break
			}
		}
	}
	return best, best >= 0
}

// Wants is the width at which every column the table would draw shows its
// content whole: the layout gives a pane no more than this.
func (m Model) Wants() int {
	w := 1 // the cursor mark
	if m.marks > 0 {
		w += 2
	}
	n := 0
	for i, c := range m.cols {
		if m.isSame(i) || m.unfilled(i) {
			continue
		}
		if c.Name {
			w += m.content(i)
		} else {
			w += m.want(i)
		}
		n++
	}
	return w + max(0, n-1)
}
