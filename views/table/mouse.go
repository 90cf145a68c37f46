package table

// Hit is what View draws at one cell of its frame.
type Hit struct {
	// Header says the cell is on the header line.
	Header bool
	// Column is the column drawn there (an index into the table's
	// columns), -1 in the cursor and mark gutter, a gap between columns
	// or past the last one.
	Column int
	// Row is the shown row drawn there (for SetCursor), -1 on the header
	// or below the last row.
	Row int
}

// HitTest says what View(t, width, height, …) draws at cell x, y of its
// frame (0, 0 is the header's first cell). It lays the frame out as View
// does, so it answers for the rows and columns of that frame and no other.
func (m Model) HitTest(width, height, x, y int) Hit {
	miss := Hit{Column: -1, Row: -1}
	if width <= 0 || height <= 0 || x < 0 || y < 0 || x >= width || y >= height {
		return miss
	}
	f := m.frame(width, height)
	h := miss
	h.Header = y == 0
	if y > 0 {
		if v := f.m.offset + y - 1; v < f.end {
			h.Row = v
		}
	}
	at := gutter + f.marks
	for k, i := range f.plan.idx {
		w := f.plan.widths[k]
		if x >= at && x < at+w {
			h.Column = i
			break
		}
		at += w + 1 // the space between columns
	}
	return h
}

// SetCursor moves the cursor to shown row v (as Hit.Row names it), clamped.
func (m Model) SetCursor(v int) Model {
	m.cursor = clamp(v, 0, len(m.visible)-1)
	return m.scroll()
}

// SortBy sorts by column c ascending, or flips the direction when the rows
// are sorted by c already (a second click on a header); the cursor stays
// on its row. A column out of range changes nothing.
func (m Model) SortBy(c int) Model {
	if c < 0 || c >= len(m.cols) {
		return m
	}
	if m.sortBy == c+1 {
		return m.SortReverse()
	}
	key := m.SelectedKey()
	m.sortBy, m.desc = c+1, false
	m = m.refilter()
	return m.SelectKey(key)
}
