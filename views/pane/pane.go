// Package pane is what the four resource panes share: a title bar over a
// table, the movement keys, and the note shown when the pane cannot show
// its resource (missing CRDs, forbidden, still syncing).
package pane

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/table"
)

// Pane is a titled table.
type Pane struct {
	Title string
	Theme *theme.Theme
	Table table.Model
	// Note replaces the table body when the resource cannot be shown, or is
	// shown under the header when the table is empty.
	Note string
	// Scope is shown in the title bar, e.g. the drilled-in namespace.
	Scope string
	// Partial, when set, names the inputs of some columns that were not
	// read (see Partial); the title bar says so, so a zero there is not
	// taken for a fact.
	Partial string
}

// New returns a pane with the given title and columns.
func New(t *theme.Theme, title string, cols ...table.Column) Pane {
	// The title says the columns left out (see pane.View).
	return Pane{Title: title, Theme: t, Table: table.New(cols...).Collapse()}
}

// Update handles the movement keys; other messages are ignored.
func (p Pane) Update(msg tea.Msg) (Pane, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return p, nil
	}
	page := 10
	switch {
	case key.Matches(k, keymap.Table.Up):
		p.Table = p.Table.Move(-1)
	case key.Matches(k, keymap.Table.Down):
		p.Table = p.Table.Move(1)
	case key.Matches(k, keymap.Table.Top):
		p.Table = p.Table.Top()
	case key.Matches(k, keymap.Table.Bottom):
		p.Table = p.Table.Bottom()
	case key.Matches(k, keymap.Table.PageUp):
		p.Table = p.Table.Move(-page)
	case key.Matches(k, keymap.Table.PageDown):
		p.Table = p.Table.Move(page)
	case key.Matches(k, keymap.Table.Sort):
		p.Table = p.Table.SortNext()
	case key.Matches(k, keymap.Table.Reverse):
		p.Table = p.Table.SortReverse()
	}
	return p, nil
}

// SetHeight tells the table how many rows fit in a pane of this height.
func (p Pane) SetHeight(h int) Pane {
	p.Table = p.Table.SetHeight(h - 2) // title and header
	return p
}

// View renders the pane in exactly width x height cells.
func (p Pane) View(width, height int, focused bool) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := p.Theme
	count := fmt.Sprintf("%d", p.Table.Len())
	if p.Table.Len() != p.Table.Total() {
		count = fmt.Sprintf("%d/%d", p.Table.Len(), p.Table.Total())
	}
	// Scope, note and filter come from the cluster and the keyboard.
	title := " " + safe.Line(p.Title)
	if p.Scope != "" {
		title += " ‹" + safe.Line(p.Scope) + "›"
	}
	title += " (" + count + ")"
	if f := p.Table.Filter(); f != "" {
		title += " /" + safe.Line(f)
		if note := p.Table.FilterNote(width); note != "" {
			title += " (" + safe.Line(note) + ")"
		}
	}
	if col, desc, ok := p.Table.SortedBy(); ok {
		arrow := "▲"
		if desc {
			arrow = "▼"
		}
		title += " " + arrow + col
	}
	if same := p.same(); len(same) > 0 {
		// The columns left out for holding one value on every row.
		title += " · all: " + strings.Join(same, " ")
	}
	if p.Partial != "" {
		title += " · partial: " + p.Partial
	}
	style := t.PaneTitle
	if focused {
		style = t.PaneTitleFocused
	}
	lines := []string{style.Render(Fit(title, width))}
	if height == 1 {
		return lines[0]
	}
	body := p.Table.View(t, width, height-1, focused)
	if p.Table.Total() == 0 && p.Note != "" || p.Table.Len() == 0 {
		note := safe.Text(p.Note)
		if note == "" {
			note = "no rows"
			if p.Table.Filter() != "" {
				note = "no rows match /" + safe.Line(p.Table.Filter())
			}
		}
		hdr := strings.SplitN(body, "\n", 2)[0]
		body = hdr
		if height > 2 {
			for _, l := range wrap(note, width-2) {
				body += "\n" + t.Empty.Render(Fit(" "+l, width))
			}
		}
	}
	lines = append(lines, strings.Split(body, "\n")...)
	for len(lines) < height {
		lines = append(lines, strings.Repeat(" ", width))
	}
	return strings.Join(lines[:height], "\n")
}

// same is the table's one-value columns, less the namespace the title's
// scope already names.
func (p Pane) same() []string {
	var out []string
	for _, s := range p.Table.Same() {
		if p.Scope != "" && s == "NAMESPACE="+p.Scope {
			continue
		}
		out = append(out, s)
	}
	return out
}

// Wants is the width at which the pane shows every column whole.
func (p Pane) Wants() int { return p.Table.Wants() }

// Fit pads or truncates plain text to exactly w cells.
func Fit(s string, w int) string {
	sw := ansi.StringWidth(s)
	if sw > w {
		return ansi.Truncate(s, w, "…")
	}
	return s + strings.Repeat(" ", w-sw)
}

func wrap(s string, w int) []string {
	if w < 4 {
		return []string{s}
	}
	return strings.Split(lipgloss.NewStyle().Width(w).Render(s), "\n")
}

// Unavailable returns the note for a resource that cannot be shown, or ""
// when it is available.
func Unavailable(s *kube.Snapshot, what string, rs ...kube.Resource) string {
	if s == nil {
		return "waiting for the cluster…"
	}
	var notes []string
	for _, r := range rs {
		st := s.State(r)
		switch st.Availability {
		case kube.Syncing:
			notes = append(notes, loading(r, st))
		case kube.Missing:
			notes = append(notes, fmt.Sprintf("%s: %s", r, st.Detail))
		case kube.Forbidden:
			notes = append(notes, fmt.Sprintf("%s: %s", r, st.Detail))
		case kube.Failing:
			notes = append(notes, fmt.Sprintf("%s: %s", r, st.Detail))
		case kube.Unreachable:
			notes = append(notes, fmt.Sprintf("%s not read: %s", r, st.Detail))
		}
	}
	if len(notes) == 0 {
		return ""
	}
	if what != "" && allMissing(s, rs) {
		return what
	}
	return strings.Join(notes, "; ")
}

// loading says how far the first list of r has come: "loading pods
// 5,423 / 10,600…" when the server gave its count, "loading pods 5,423…"
// while only the arrivals are known.
func loading(r kube.Resource, st kube.ResourceState) string {
	switch {
	case st.Total > 0:
		return fmt.Sprintf("loading %s %s / %s…", r, Count(min(st.Loaded, st.Total)), Count(st.Total))
	case st.Loaded > 0:
		return fmt.Sprintf("loading %s %s…", r, Count(st.Loaded))
	}
	return fmt.Sprintf("loading %s…", r)
}

// Count writes n with a comma between thousands, as 10,600.
func Count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Partial names those of rs that were not read ("Pods forbidden"), or ""
// when all were: for the inputs of a pane's secondary columns (a
// namespace's pod counts, a pod's mesh state), which the pane still draws.
func Partial(s *kube.Snapshot, rs ...kube.Resource) string {
	if s == nil {
		return ""
	}
	gaps := s.Unread(rs...)
	parts := make([]string, len(gaps))
	for i, g := range gaps {
		parts[i] = g.String()
	}
	return strings.Join(parts, ", ")
}

func allMissing(s *kube.Snapshot, rs []kube.Resource) bool {
	for _, r := range rs {
		if s.State(r).Availability != kube.Missing {
			return false
		}
	}
	return true
}

// ScrollTo is where the movement keys take a scroll offset in a view of
// page lines: the caller clamps it to what it can show (Bottom asks for
// "as far as it goes"). ok is false for keys that do not scroll.
func ScrollTo(k tea.KeyPressMsg, offset, page int) (to int, ok bool) {
	switch {
	case key.Matches(k, keymap.Table.Up):
		return offset - 1, true
	case key.Matches(k, keymap.Table.Down):
		return offset + 1, true
	case key.Matches(k, keymap.Table.PageUp):
		return offset - page, true
	case key.Matches(k, keymap.Table.PageDown):
		return offset + page, true
	case key.Matches(k, keymap.Table.Top):
		return 0, true
	case key.Matches(k, keymap.Table.Bottom):
		return 1 << 30, true
	}
	return offset, false
}

// FilterNote is what the title says about the filter at this width (see
// table.Model.FilterNote), for the status line while the filter is typed.
func (p Pane) FilterNote(width int) string { return p.Table.FilterNote(width) }
