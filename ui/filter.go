package ui

// filterNote is what the focused pane's filter needs saying (not a regex,
// a bad selector, matches only in hidden columns), at the width the pane
// is drawn: the pane's title may be too narrow to show it.
func (m Model) filterNote() string {
	p, ok := m.focused().(interface{ FilterNote(width int) string })
	if !ok {
		return ""
	}
	return p.FilterNote(m.focusedWidth())
}

// focusedWidth is the width the focused pane is drawn at.
func (m Model) focusedWidth() int {
	if m.grid() {
		w, _ := m.gridSizes()
		for c, i := range m.gridPanes() {
			if i == m.focus {
				return w[c]
			}
		}
	}
	return m.width
}
