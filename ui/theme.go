package ui

import tea "charm.land/bubbletea/v2"

// setBackground follows the terminal's answer to Init's background query:
// every view holds the root's theme by pointer, so replacing the styles it
// points at restyles the whole screen at once. Overlays that keep coloured
// text (the YAML view) are told too, to colour it again.
func (m Model) setBackground(msg tea.BackgroundColorMsg) (Model, tea.Cmd) {
	next := m.theme.ForBackground(msg.IsDark())
	if next.Name == m.theme.Name {
		return m, nil
	}
	*m.theme = *next
	return m.broadcast(msg)
}
