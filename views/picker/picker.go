// Package picker is a small list to choose one item from, such as the
// waypoint a Service should use.
package picker

import (
	"github.com/ambx/ambx/kube/safe"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// Item is one choice.
type Item struct {
	Label string
	Note  string // dim text after the label
}

// Chosen is sent when the user picks an item.
type Chosen struct {
	ID    string // the picker's ID
	Index int
}

// Model is a picker.
type Model struct {
	theme  *theme.Theme
	id     string
	title  string
	items  []Item
	cursor int
}

// New returns a picker with the cursor on item sel.
func New(t *theme.Theme, id, title string, items []Item, sel int) Model {
	title = safe.Line(title)
	items = append([]Item(nil), items...)
	for i := range items {
		items[i].Label, items[i].Note = safe.Line(items[i].Label), safe.Line(items[i].Note)
	}
	return Model{theme: t, id: id, title: title, items: items, cursor: max(0, min(sel, len(items)-1))}
}

// Update moves the cursor; enter sends Chosen.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	switch {
	case key.Matches(k, keymap.Table.Up):
		m.cursor = max(0, m.cursor-1)
	case key.Matches(k, keymap.Table.Down):
		m.cursor = min(len(m.items)-1, m.cursor+1)
	case key.Matches(k, keymap.Table.Enter):
		if len(m.items) > 0 {
			id, i := m.id, m.cursor
			return m, func() tea.Msg { return Chosen{ID: id, Index: i} }
		}
	}
	return m, nil
}

// View renders the picker as a box at most width wide and height tall.
func (m Model) View(width, height int) string {
	t := m.theme
	inner := max(10, min(width-4, 70))
	lines := []string{t.OverlayTitle.Render(pane.Fit(m.title, inner)), ""}
	room := max(1, height-6)
	first := max(0, min(m.cursor-room+1, len(m.items)-room))
	for i := first; i < len(m.items) && i < first+room; i++ {
		it := m.items[i]
		mark := "  "
		if i == m.cursor {
			mark = "▸ "
		}
		text := pane.Fit(mark+it.Label+"  "+it.Note, inner)
		if i == m.cursor {
			lines = append(lines, t.Selected.Render(text))
		} else {
			lines = append(lines, t.OverlayText.Render(text))
		}
	}
	lines = append(lines, "", t.OverlayText.Render(pane.Fit("enter choose · esc cancel", inner)))
	return t.Overlay.Render(strings.Join(lines, "\n"))
}
