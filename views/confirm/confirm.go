// Package confirm is the dialog every write passes through: it shows the
// exact patch and what it will do, defaults to No, and answers with a
// Result message so the caller applies only what the user saw.
//
// It is safe against type-ahead: only y confirms, and until Guard has passed
// since the dialog opened (Init's Armed message), every key but the ones
// that cancel is dropped, so keys typed before the dialog was on screen
// cannot answer it.
package confirm

import (
	"fmt"
	"github.com/ambx/ambx/kube/safe"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
)

// Guard is how long after opening the dialog ignores keys: longer than a
// frame, shorter than a person reading the dialog.
var Guard = 400 * time.Millisecond

// Armed tells the dialog with ID that Guard has passed.
type Armed struct{ ID string }

// Result is the dialog's answer, delivered through a tea.Cmd.
type Result struct {
	Confirmed bool
	ID        string // the ID the dialog was opened with
}

// Content is what a dialog shows.
type Content struct {
	ID           string
	Title        string
	Description  string
	Patch        string // shown verbatim, wrapped but never reflowed
	PatchLabel   string // heading over Patch, e.g. "JSON patch"
	Consequences []string
	// Checking is set while the what-if of the write (kube/whatif) is still
	// running: the dialog says so where its answer will go, and y waits
	// for it, so no dialog reads as clean before the analysis has spoken.
	Checking bool
}

// CheckingLine is what the dialog shows while the what-if runs.
const CheckingLine = "checking what this would break…"

// Model is an open confirm dialog.
type Model struct {
	theme *theme.Theme
	c     Content
	yes   bool // the focused button; false (No) until the user moves
	// armed is set by Armed: before, keys cannot confirm or move focus.
	armed bool
	// nudge is set when enter was pressed on Yes: only y applies, so the
	// dialog says so.
	nudge bool
	// waited is set when y was pressed while the what-if was running.
	waited bool
	// scroll is the first body line shown when the body does not fit.
	scroll int
	// width, height are the last window size seen, to bound scrolling.
	width, height int
}

// New opens a dialog with No focused.
func New(t *theme.Theme, c Content) Model {
	// The patch and its description name cluster objects: shown safe,
	// while Result still answers for exactly the plan the caller holds.
	c.Title, c.PatchLabel = safe.Line(c.Title), safe.Line(c.PatchLabel)
	c.Description, c.Patch = safe.Text(c.Description), safe.Text(c.Patch)
	cons := make([]string, len(c.Consequences))
	for i, s := range c.Consequences {
		cons[i] = safe.Text(s)
	}
	c.Consequences = cons
	return Model{theme: t, c: c}
}

// WhatIf adds the what-if's lines after the consequences and ends the
// wait for them: from now on y applies.
func (m Model) WhatIf(lines []string) Model {
	cons := append([]string(nil), m.c.Consequences...)
	for _, s := range lines {
		cons = append(cons, safe.Text(s))
	}
	m.c.Consequences, m.c.Checking, m.waited = cons, false, false
	return m
}

// Checking reports whether the dialog still waits for its what-if.
func (m Model) Checking() bool { return m.c.Checking }

// FromPlan opens a dialog for a writer plan.
func FromPlan(t *theme.Theme, p writer.Plan) Model {
	label := "Patch"
	switch {
	case p.PatchLabel != "":
		label = p.PatchLabel
	case p.PatchType == types.JSONPatchType:
		label = "JSON patch"
	case p.PatchType == types.StrategicMergePatchType:
		label = "Strategic merge patch"
		if n := len(p.Targets); n > 1 {
			label = fmt.Sprintf("Strategic merge patch, sent to each of the %d workloads", n)
		}
	}
	return New(t, Content{
		ID: p.ID, Title: p.Title, Description: p.Description,
		Patch: p.Patch, PatchLabel: label, Consequences: p.Consequences,
		Checking: p.HasWhatIf(),
	})
}

// Init starts the guard time; the dialog takes keys once its Armed arrives.
func (m Model) Init() tea.Cmd {
	id := m.c.ID
	return tea.Tick(Guard, func(time.Time) tea.Msg { return Armed{ID: id} })
}

// Armed reports whether the guard time has passed.
func (m Model) Armed() bool { return m.armed }

// ID returns the ID the dialog answers with.
func (m Model) ID() string { return m.c.ID }

// Focused reports which button enter would choose.
func (m Model) Focused() (yes bool) { return m.yes }

func (m Model) answer(yes bool) tea.Cmd {
	r := Result{Confirmed: yes, ID: m.c.ID}
	return func() tea.Msg { return r }
}

// Update handles the dialog keys and scrolling; an answer comes back as a
// Result from the returned command.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.scroll = min(m.scroll, m.maxScroll())
	case Armed:
		if msg.ID == m.c.ID {
			m.armed = true
		}
	case tea.KeyPressMsg:
		if key.Matches(msg, keymap.Dialog.No) {
			// Cancelling is always safe, typed ahead or not.
			return m, m.answer(false)
		}
		choosing := key.Matches(msg, keymap.Dialog.Yes, keymap.Dialog.Confirm, keymap.Dialog.Left, keymap.Dialog.Right)
		if choosing && !m.armed {
			return m, nil // typed ahead: scrolling is harmless, choosing is not
		}
		switch {
		case key.Matches(msg, keymap.Dialog.Yes) && m.c.Checking:
			// Not before the user has seen what it would break.
			m.waited = true
		case key.Matches(msg, keymap.Dialog.Yes):
			return m, m.answer(true)
		case key.Matches(msg, keymap.Dialog.Confirm):
			if !m.yes {
				return m, m.answer(false)
			}
			m.nudge = true
		case key.Matches(msg, keymap.Dialog.Left), key.Matches(msg, keymap.Dialog.Right):
			// Two buttons: either direction moves to the other one.
			m.yes = !m.yes
		case key.Matches(msg, keymap.Table.Down):
			m.scroll = min(m.scroll+1, m.maxScroll())
		case key.Matches(msg, keymap.Table.Up):
			m.scroll = max(m.scroll-1, 0)
		case key.Matches(msg, keymap.Table.PageDown):
			m.scroll = min(m.scroll+10, m.maxScroll())
		case key.Matches(msg, keymap.Table.PageUp):
			m.scroll = max(m.scroll-10, 0)
		}
	}
	return m, nil
}

// maxScroll bounds scrolling for the last known size; before any size is
// known it allows scrolling through every line at the narrowest width.
func (m Model) maxScroll() int {
	if m.width <= 0 || m.height <= 0 {
		return max(0, len(m.body(minInner))-1)
	}
	l := m.layout(m.width, m.height)
	if len(l.body) <= l.rows {
		return 0
	}
	// One row of the window says what is hidden.
	return len(l.body) - max(0, l.rows-1)
}

// Sizes of the box.
const (
	maxInner = 96 // wider lines are hard to read; long patch lines wrap
	minInner = 20
	frame    = 4 // rounded border and one cell of padding each side
)

// layout is the dialog cut to a size.
type layout struct {
	inner int
	title []string
	body  []string
	rows  int  // body rows shown, including the scroll indicator
	gaps  bool // blank lines around the body
	boxed bool
}

func (m Model) layout(width, height int) layout {
	l := layout{boxed: width >= minInner/2+frame && height >= 5}
	avail, inside := width, height
	if l.boxed {
		avail, inside = width-frame, height-2
	}
	natural := ansi.StringWidth(m.buttons())
	for _, s := range append(strings.Split(m.c.Patch, "\n"), m.c.Title, m.c.Description, m.c.PatchLabel+":") {
		natural = max(natural, ansi.StringWidth(s))
	}
	for _, s := range m.consequences() {
		natural = max(natural, ansi.StringWidth(s)+2)
	}
	l.inner = max(1, min(natural, avail, maxInner))
	if l.boxed {
		// Wrapped bullets read badly in a sliver; use what the screen has.
		l.inner = max(l.inner, min(avail, minInner))
	}
	l.title = wrap(m.c.Title, l.inner)
	l.body = m.body(l.inner)
	// The buttons always show; then the title; the body gets the rest,
	// with blank lines around it only when that leaves it enough room.
	if len(l.title) > inside-1 {
		l.title = l.title[:max(0, inside-1)]
	}
	left := inside - 1 - len(l.title)
	if left >= len(l.body)+2 || left >= 5 {
		l.gaps = len(l.body) > 0
		left -= 2
	}
	l.rows = max(0, min(left, len(l.body)))
	return l
}

// body is everything between the title and the buttons, wrapped to w.
func (m Model) body(w int) []string {
	var out []string
	if m.c.Description != "" {
		out = append(out, wrap(m.c.Description, w)...)
	}
	if m.c.Patch != "" {
		if len(out) > 0 {
			out = append(out, "")
		}
		if m.c.PatchLabel != "" {
			out = append(out, wrap(m.c.PatchLabel+":", w)...)
		}
		for _, line := range strings.Split(m.c.Patch, "\n") {
			// Hard wrap: the patch is shown as sent, not reflowed at spaces.
			out = append(out, strings.Split(ansi.Hardwrap(line, w, true), "\n")...)
		}
	}
	if cons := m.consequences(); len(cons) > 0 {
		if len(out) > 0 {
			out = append(out, "")
		}
		for _, c := range cons {
			if w < 4 {
				out = append(out, wrap("• "+c, w)...)
				continue
			}
			for i, line := range wrap(c, w-2) {
				if i == 0 {
					out = append(out, "• "+line)
				} else {
					out = append(out, "  "+line)
				}
			}
		}
	}
	return out
}

// consequences are the bullets: the what-if's place says it is being
// checked until its lines arrive.
func (m Model) consequences() []string {
	if !m.c.Checking {
		return m.c.Consequences
	}
	return append(append([]string(nil), m.c.Consequences...), CheckingLine)
}

func wrap(s string, w int) []string {
	if w <= 0 {
		return nil
	}
	// Wrap at spaces, and break words longer than the line.
	return strings.Split(ansi.Wrap(s, w, ""), "\n")
}

// buttons renders the two buttons, the focused one marked so it shows
// without colour too.
func (m Model) buttons() string {
	t := m.theme
	if m.yes {
		return t.Button.Render("[No]") + t.ButtonActive.Render("▸[Yes]")
	}
	return t.ButtonActive.Render("▸[No]") + t.Button.Render("[Yes]")
}

// hint is the key help shown next to the buttons when there is room.
func hint() string {
	var parts []string
	for _, b := range []key.Binding{keymap.Dialog.Yes, keymap.Dialog.No} {
		h := b.Help()
		parts = append(parts, h.Key+" "+h.Desc)
	}
	return strings.Join(parts, " · ")
}

// View renders the dialog no wider than width and no taller than height.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := m.theme
	l := m.layout(width, height)
	var lines []string
	for _, s := range l.title {
		lines = append(lines, t.OverlayTitle.Render(ansi.Truncate(s, l.inner, "…")))
	}
	if l.gaps {
		lines = append(lines, "")
	}
	lines = append(lines, m.bodyView(l)...)
	if l.gaps {
		lines = append(lines, "")
	}
	buttons := m.buttons()
	bw := ansi.StringWidth(buttons)
	h := hint()
	switch {
	case m.waited:
		h = "wait: " + CheckingLine
	case m.nudge:
		h = "press " + keymap.Dialog.Yes.Help().Key + " to apply"
	}
	switch {
	case bw+3+ansi.StringWidth(h) <= l.inner:
		buttons += strings.Repeat(" ", l.inner-bw-ansi.StringWidth(h)) + t.OverlayText.Render(h)
	case bw > l.inner:
		buttons = ansi.Truncate(buttons, l.inner, "")
	}
	lines = append(lines, buttons)
	content := strings.Join(lines, "\n")
	if !l.boxed {
		return content
	}
	return t.Overlay.Width(l.inner + frame).Render(content)
}

// bodyView is the visible window of the body, with a line saying what is
// hidden when it does not all fit.
func (m Model) bodyView(l layout) []string {
	t := m.theme
	style := func(s string) string {
		switch {
		case strings.HasPrefix(s, "• "):
			return t.Tone(theme.ToneWarn).Render("•") + t.OverlayText.Render(s[len("•"):])
		default:
			return t.OverlayText.Render(s)
		}
	}
	patch := m.patchLines(l.inner)
	render := func(i int) string {
		s := ansi.Truncate(l.body[i], l.inner, "…")
		if patch[i] {
			return t.Tone(theme.ToneInfo).Render(s)
		}
		return style(s)
	}
	if l.rows == 0 {
		return nil
	}
	if len(l.body) <= l.rows {
		out := make([]string, len(l.body))
		for i := range l.body {
			out[i] = render(i)
		}
		return out
	}
	// One row says what is hidden; the rest show a window.
	shown := max(0, l.rows-1)
	top := min(max(0, m.scroll), len(l.body)-shown)
	var out []string
	for i := top; i < top+shown; i++ {
		out = append(out, render(i))
	}
	above, below := top, len(l.body)-top-shown
	var more string
	switch {
	case above > 0 && below > 0:
		more = fmt.Sprintf("↑%d ↓%d more lines (%s, %s scroll)", above, below, keymap.Table.Up.Help().Key, keymap.Table.Down.Help().Key)
	case below > 0:
		more = fmt.Sprintf("↓ %d more lines (%s scrolls)", below, keymap.Table.Down.Help().Key)
	default:
		more = fmt.Sprintf("↑ %d more lines (%s scrolls)", above, keymap.Table.Up.Help().Key)
	}
	return append(out, t.Empty.Render(ansi.Truncate(more, l.inner, "…")))
}

// patchLines marks which body lines (at inner width w) belong to the patch.
func (m Model) patchLines(w int) map[int]bool {
	marks := map[int]bool{}
	if m.c.Patch == "" {
		return marks
	}
	i := 0
	if m.c.Description != "" {
		i += len(wrap(m.c.Description, w)) + 1
	}
	if m.c.PatchLabel != "" {
		i += len(wrap(m.c.PatchLabel+":", w))
	}
	for _, line := range strings.Split(m.c.Patch, "\n") {
		for range strings.Split(ansi.Hardwrap(line, w, true), "\n") {
			marks[i] = true
			i++
		}
	}
	return marks
}
