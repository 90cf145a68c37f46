package ui

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// helpOverlay lists every key binding from keymap and the glyph legends,
// flowed into as many columns as fit.
type helpOverlay struct {
	theme *theme.Theme
	// panes are the registered panes as (key, "Name  :command") pairs,
	// listed under the Panes section.
	panes [][2]string
	// readOnly marks the write keys as disabled.
	readOnly bool
	// noMouse marks the mouse actions as off (--no-mouse).
	noMouse       bool
	offset        int
	width, height int
}

func (o helpOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return o, nil
	}
	if closes(k) || key.Matches(k, keymap.Global.Help) {
		return nil, nil
	}
	to, _ := pane.ScrollTo(k, o.offset, max(1, o.height-3))
	o.offset = max(0, min(to, o.maxOffset()))
	return o, nil
}

func (o helpOverlay) SetSize(w, h int) overlay {
	o.width, o.height = w, h
	o.offset = max(0, min(o.offset, o.maxOffset()))
	return o
}
func (o helpOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o helpOverlay) Close()                             {}

// lines is the help text, one entry a line, before it is flowed into
// columns.
func (o helpOverlay) lines() []string {
	t := o.theme
	var lines []string
	for _, sec := range keymap.Help() {
		lines = append(lines, t.OverlayTitle.Render(sec.Title))
		for _, k := range sec.Bindings {
			h := k.Help()
			if o.readOnly && keymap.IsWrite(k) {
				lines = append(lines, t.Empty.Render(pane.Fit(h.Key, 10)+h.Desc+" (off: read-only)"))
				continue
			}
			if o.noMouse && keymap.IsMouse(k) {
				lines = append(lines, t.Empty.Render(pane.Fit(h.Key, 10)+h.Desc+" (off: --no-mouse)"))
				continue
			}
			lines = append(lines, t.OverlayKey.Render(pane.Fit(h.Key, 10))+t.OverlayText.Render(h.Desc))
		}
		if sec.Title == "Panes" {
			for _, p := range o.panes {
				lines = append(lines, t.OverlayKey.Render(pane.Fit(p[0], 10))+t.OverlayText.Render(p[1]))
			}
		}
		lines = append(lines, "")
	}
	legend := func(title string, marks []pane.Glyph, words []string) {
		lines = append(lines, t.OverlayTitle.Render(title))
		for i, g := range marks {
			lines = append(lines, t.Tone(g.Tone).Render(g.Mark+" "+pane.Fit(words[i], 10))+t.OverlayText.Render(g.Meaning))
		}
		lines = append(lines, "")
	}
	var pm, nm []pane.Glyph
	var pw, nw []string
	for _, st := range pane.PodStates {
		pm, pw = append(pm, pane.PodGlyph(st)), append(pw, string(st))
	}
	for _, st := range pane.NamespaceStates {
		nm, nw = append(nm, pane.NamespaceGlyph(st)), append(nw, string(st))
	}
	legend("Pod mesh state", pm, pw)
	legend("Namespace state", nm, nw)
	return lines
}

// View renders the help in exactly width x height cells: as many columns
// as fit, scrolled by offset when even those are too short.
func (o helpOverlay) View(width, height int) string {
	t := o.theme
	if width <= 0 || height <= 0 {
		return ""
	}
	lines := o.lines()
	cols, rows, colW := helpLayout(lines, width)
	const gap = 4
	body := max(1, height-2) // title and footer
	off := max(0, min(o.offset, rows-body))
	cw := colW
	if cols == 1 {
		cw = max(1, width-1)
	}
	out := []string{t.OverlayTitle.Render(pane.Fit(" ambx — keys and legend", width))}
	for r := off; r < off+body && len(out) < height; r++ {
		var b strings.Builder
		b.WriteString(" ")
		for c := 0; c < cols; c++ {
			idx := c*rows + r
			cell := ""
			if r < rows && idx < len(lines) {
				cell = lines[idx]
			}
			if c > 0 {
				b.WriteString(strings.Repeat(" ", gap))
			}
			b.WriteString(pane.Fit(cell, cw))
		}
		out = append(out, pane.Fit(b.String(), width))
	}
	if len(out) < height {
		foot := " ? or esc closes"
		if rows > body {
			foot = fmt.Sprintf(" j/k scroll (%d–%d of %d) · ? or esc closes", off+1, min(rows, off+body), rows)
		}
		out = append(out, t.OverlayText.Render(pane.Fit(foot, width)))
	}
	for len(out) < height {
		out = append(out, strings.Repeat(" ", width))
	}
	return strings.Join(out, "\n")
}

// helpLayout flows lines into as many columns as fit in width.
func helpLayout(lines []string, width int) (cols, rows, colW int) {
	for _, l := range lines {
		colW = max(colW, lipgloss.Width(l))
	}
	const gap = 4
	cols = max(1, min((width-1+gap)/(colW+gap), len(lines)))
	return cols, (len(lines) + cols - 1) / cols, colW
}

// maxOffset is the furthest the help can scroll at the current size.
func (o helpOverlay) maxOffset() int {
	_, rows, _ := helpLayout(o.lines(), o.width)
	return max(0, rows-max(1, o.height-2))
}
