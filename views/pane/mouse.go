package pane

import "github.com/ambx/ambx/views/table"

// Clicker is a pane that answers mouse clicks (the root asks for it, so a
// pane that is not a table need not).
type Clicker interface {
	// Click acts on a click at cell x, y of the pane as View(width,
	// height, …) draws it, and says what was there.
	Click(x, y, width, height int) (Resource, table.Hit)
}

// HitTest says what View(width, height, …) draws at cell x, y: the title
// line is neither header nor row.
func (p Pane) HitTest(x, y, width, height int) table.Hit {
	if y < 1 {
		return table.Hit{Column: -1, Row: -1}
	}
	return p.Table.HitTest(width, height-1, x, y-1)
}

// Click selects the row clicked, or sorts by the column whose header was
// clicked (again: the other way round), and says what was hit.
func (p Pane) Click(x, y, width, height int) (Pane, table.Hit) {
	h := p.HitTest(x, y, width, height)
	switch {
	case h.Header && h.Column >= 0:
		p.Table = p.Table.SortBy(h.Column)
	case h.Row >= 0:
		p.Table = p.Table.SetCursor(h.Row)
	}
	return p, h
}

// Click implements Clicker.
func (m Model) Click(x, y, width, height int) (Resource, table.Hit) {
	var h table.Hit
	m.Pane, h = m.Pane.Click(x, y, width, height)
	return m, h
}
