package ui

import (
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/ambx/ambx/views/pane"
)

// The mouse: a click focuses the pane under it and selects the row (on a
// column header: sorts by it), the wheel scrolls what is under it, and a
// click on a finding jumps to its object. Positions are found from the
// same sizes Render draws with, so a click lands where the eye does.
// Options.NoMouse leaves the terminal's mouse to the terminal (selecting
// text), and the mouse is never asked for.

// wheelLines is how far one wheel step moves, as bubbles' viewport has it.
const wheelLines = 3

// region is where Render draws pane i on the screen.
type region struct{ pane, x, y, w, h int }

func (r region) has(x, y int) bool { return x >= r.x && x < r.x+r.w && y >= r.y && y < r.y+r.h }

// regions are the panes on the main screen and where each is drawn.
func (m Model) regions() []region {
	if m.width <= 0 || m.height <= 1 {
		return nil
	}
	if !m.grid() {
		return []region{{m.focus, 0, 0, m.width, m.height - 1}}
	}
	w, h := m.gridSizes()
	g := m.gridPanes()
	top := m.stripLines()
	right := w[0] + 1 // the one-column gap
	return []region{
		{g[0], 0, top, w[0], h[0]},
		{g[1], right, top, w[1], h[1]},
		{g[2], 0, top + h[0], w[2], h[2]},
		{g[3], right, top + h[0], w[3], h[3]},
	}
}

// paneAt is the region of the pane drawn at x, y.
func (m Model) paneAt(x, y int) (region, bool) {
	for _, r := range m.regions() {
		if r.has(x, y) {
			return r, true
		}
	}
	return region{}, false
}

// mouse routes a mouse message: to the top overlay when one is open,
// else to the pane under the pointer. While the / or : line is typed the
// mouse does nothing, so a click cannot move the filter to another pane.
func (m Model) mouse(msg tea.MouseMsg) (tea.Model, tea.Cmd) {
	if m.opt.NoMouse || m.prompt.mode != promptOff {
		return m, nil
	}
	switch msg := msg.(type) {
	case tea.MouseWheelMsg:
		return m.wheel(msg)
	case tea.MouseClickMsg:
		if msg.Button == tea.MouseLeft {
			return m.click(msg)
		}
	}
	return m, nil
}

// wheel scrolls as the arrow keys do, wheelLines at a time: the top
// overlay (a viewport, a list; of the dialogs only a picker, so the wheel
// never moves a confirmation's answer), or the pane under the pointer,
// which keeps or leaves the focus where it was.
func (m Model) wheel(msg tea.MouseWheelMsg) (tea.Model, tea.Cmd) {
	var k tea.KeyPressMsg
	switch msg.Button {
	case tea.MouseWheelUp:
		k = tea.KeyPressMsg{Code: tea.KeyUp}
	case tea.MouseWheelDown:
		k = tea.KeyPressMsg{Code: tea.KeyDown}
	default:
		return m, nil
	}
	if len(m.stack) > 0 {
		top := m.topOverlay()
		if _, ok := top.(dialog); ok {
			if _, picker := top.(pickerOverlay); !picker {
				return m, nil
			}
		}
		var cmds []tea.Cmd
		var next tea.Model = m
		for range wheelLines {
			var cmd tea.Cmd
			next, cmd = next.(Model).overlayKey(k)
			cmds = append(cmds, cmd)
		}
		return next, tea.Batch(cmds...)
	}
	r, ok := m.paneAt(msg.X, msg.Y)
	if !ok {
		return m, nil
	}
	p := m.panes[r.pane].pane
	var cmds []tea.Cmd
	for range wheelLines {
		var cmd tea.Cmd
		p, cmd = p.Update(k)
		cmds = append(cmds, cmd)
	}
	panes := append([]registration(nil), m.panes...)
	panes[r.pane].pane = p
	m.panes = panes
	return m, tea.Batch(cmds...)
}

// click focuses the pane under the pointer and lets it act on the click
// (select the row, sort by the header); in the findings list a finding
// jumps to its object. Other overlays and dialogs take no clicks: a
// dialog is answered by its keys alone.
func (m Model) click(msg tea.MouseClickMsg) (tea.Model, tea.Cmd) {
	if len(m.stack) > 0 {
		f, ok := m.topOverlay().(findingsOverlay)
		if !ok || msg.Y >= m.height-1 {
			return m, nil
		}
		var cmd tea.Cmd
		f.m, cmd = f.m.Click(msg.X, msg.Y, m.width, m.height-1)
		stack := append([]overlay(nil), m.stack...)
		stack[len(stack)-1] = f
		m.stack = stack
		return m, cmd
	}
	if m.headerShown() && msg.Y == 0 && msg.X >= m.width-lipgloss.Width(m.badge()) {
		// The findings badge at the header's right end opens them, as ! does.
		return m.openFindings(), nil
	}
	r, ok := m.paneAt(msg.X, msg.Y)
	if !ok {
		return m, nil
	}
	m.focus = r.pane
	if c, ok := m.panes[r.pane].pane.(pane.Clicker); ok {
		p, _ := c.Click(msg.X-r.x, msg.Y-r.y, r.w, r.h)
		m = m.setFocused(p)
	}
	return m, nil
}
