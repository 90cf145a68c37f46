// Package events is the events view (e): the Kubernetes events of the
// selected object, newest first, warnings coloured, read again while the
// view is open. Event text is written by any controller in the cluster:
// it is hostile input and goes through the table's sanitizer.
package events

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Loaded carries one read of the events; Gen numbers the view it was for,
// so a read for a closed view is dropped.
type Loaded struct {
	Gen    int
	Events kube.Events
	Err    error
}

// Model is the events view.
type Model struct {
	theme   *theme.Theme
	ref     kube.Ref
	gen     int
	table   table.Model
	read    bool // at least one read ended
	events  kube.Events
	err     error
	at      time.Time // the last successful read
	width   int
	height  int
	now     time.Time
	reading bool
}

// New returns the view of ref's events, waiting for the first read.
func New(t *theme.Theme, ref kube.Ref, gen int) Model {
	cols := []table.Column{
		{Title: "LAST", Min: 4, Max: 6, Right: true},
		{Title: "TYPE", Min: 7, Max: 7, Priority: 1},
		{Title: "REASON", Min: 8, Max: 24},
	}
	if ref.Kind == kube.KindNamespace {
		cols = append(cols, table.Column{Title: "OBJECT", Min: 12, Max: 40, Priority: 3})
	}
	cols = append(cols,
		table.Column{Title: "COUNT", Min: 5, Max: 6, Right: true, Priority: 2},
		table.Column{Title: "FROM", Min: 8, Max: 20, Priority: 4},
		// The message takes what the others leave; it is shown whole below.
		table.Column{Title: "MESSAGE", Min: 20, Priority: 1},
	)
	return Model{theme: t, ref: ref, gen: gen, table: table.New(cols...), reading: true}
}

// Ref is the object whose events are shown.
func (m Model) Ref() kube.Ref { return m.ref }

// Gen numbers this view among the events views opened.
func (m Model) Gen() int { return m.gen }

// Reading reports whether a read is under way.
func (m Model) Reading() bool { return m.reading }

// Reread marks a new read as started.
func (m Model) Reread() Model { m.reading = true; return m }

// LastRead is when the events were last read (zero before the first).
func (m Model) LastRead() time.Time { return m.at }

// SetNow sets the clock the ages are shown against.
func (m Model) SetNow(now time.Time) Model {
	m.now = now
	return m.rebuild()
}

// SetSize tells the view its size.
func (m Model) SetSize(w, h int) Model {
	m.width, m.height = w, h
	m.table = m.table.SetHeight(m.tableHeight())
	return m
}

func (m Model) tableHeight() int { return max(1, m.height-5) } // title, header, message (2), footer

// Update takes reads and movement keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case Loaded:
		if msg.Gen != m.gen {
			return m, nil
		}
		m.reading, m.read = false, true
		m.err = msg.Err
		if msg.Err == nil {
			m.events, m.at = msg.Events, msg.Events.Read
		}
		return m.rebuild(), nil
	case tea.KeyPressMsg:
		p := pane.Pane{Table: m.table}
		p, _ = p.Update(msg)
		m.table = p.Table
	}
	return m, nil
}

func (m Model) rebuild() Model {
	rows := make([]table.Row, 0, len(m.events.Items))
	for i, e := range m.events.Items {
		tone := theme.ToneNormal
		typ := table.Cell{Text: e.Type}
		if e.Type == "Warning" {
			tone = theme.ToneWarn
			typ.Tone = theme.ToneWarn
		} else {
			typ.Tone = theme.ToneDim
		}
		cells := []table.Cell{
			{Text: pane.Age(e.Last, m.clock()), Tone: theme.ToneDim},
			typ,
			{Text: e.Reason, Tone: tone},
		}
		if m.ref.Kind == kube.KindNamespace {
			cells = append(cells, table.Cell{Text: e.Object})
		}
		cells = append(cells,
			table.Cell{Text: strconv.Itoa(int(e.Count))},
			table.Cell{Text: e.Source, Tone: theme.ToneDim},
			table.Cell{Text: e.Message, Tone: tone},
		)
		// Events carry no stable key the view can read; newest first by
		// position keeps the cursor on the newest row across reads.
		rows = append(rows, table.Row{Key: strconv.Itoa(i), Cells: cells})
	}
	m.table = m.table.SetRows(rows).SetHeight(m.tableHeight())
	return m
}

func (m Model) clock() time.Time {
	if m.now.IsZero() {
		return time.Now()
	}
	return m.now
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := m.theme
	title := " Events of " + safe.Line(m.ref.String())
	if m.ref.Kind == kube.KindNamespace {
		title = " Events in namespace " + safe.Line(m.ref.Name)
	}
	if m.read && m.err == nil || !m.at.IsZero() {
		title += fmt.Sprintf(" (%d)", len(m.events.Items))
	}
	lines := []string{t.PaneTitleFocused.Render(pane.Fit(title, width))}
	note := func(tone theme.Tone, s string) {
		for _, l := range strings.Split(s, "\n") {
			lines = append(lines, t.Tone(tone).Render(pane.Fit(" "+l, width)))
		}
	}
	switch {
	case m.err != nil && m.at.IsZero():
		// Never read: say why, never "no events".
		note(theme.ToneBad, why(m.err))
	case !m.read && m.at.IsZero():
		note(theme.ToneDim, "reading the events of "+safe.Line(m.ref.String())+"…")
	case len(m.events.Items) == 0:
		if m.err != nil {
			note(theme.ToneBad, why(m.err))
		}
		note(theme.ToneDim, "no events: the API server holds none about "+safe.Line(m.ref.String())+" (it keeps them for an hour by default)")
	default:
		if m.err != nil {
			note(theme.ToneBad, why(m.err)+"; showing the last read")
		}
		body := m.table.View(t, width, max(1, height-len(lines)-3), true)
		lines = append(lines, strings.Split(body, "\n")...)
		for len(lines) < height-3 {
			lines = append(lines, strings.Repeat(" ", width))
		}
		// The selected event's message in full: the column cuts it.
		msg := ""
		if i, err := strconv.Atoi(m.table.SelectedKey()); err == nil && i < len(m.events.Items) {
			msg = safe.Line(m.events.Items[i].Message)
		}
		for _, l := range wrap(msg, max(1, width-2), 2) {
			lines = append(lines, pane.Fit(" "+l, width))
		}
	}
	for len(lines) < height-1 {
		lines = append(lines, strings.Repeat(" ", width))
	}
	foot := " " + m.footer()
	if height > 1 {
		lines = append(lines[:min(len(lines), height-1)], t.Empty.Render(pane.Fit(foot, width)))
	}
	return strings.Join(lines[:height], "\n")
}

func (m Model) footer() string {
	var parts []string
	switch {
	case m.at.IsZero():
	case m.reading:
		parts = append(parts, "reading again…")
	default:
		parts = append(parts, "read "+pane.Age(m.at, m.clock())+" ago, again every few seconds")
	}
	if m.events.Truncated {
		parts = append(parts, fmt.Sprintf("the first %d of more (the server's order)", kube.EventLimit))
	}
	parts = append(parts, "j/k move · esc closes")
	return strings.Join(parts, " · ")
}

// why is an error as the user should read it.
func why(err error) string {
	if errors.Is(err, kube.ErrEventsForbidden) {
		return "events not read: " + safe.Line(err.Error())
	}
	return safe.Line(err.Error())
}

// wrap cuts s into at most n lines of w cells (the last one cut short).
func wrap(s string, w, n int) []string {
	r := []rune(s)
	var out []string
	for len(r) > 0 && len(out) < n {
		k := min(len(r), w)
		if len(out) == n-1 && len(r) > w {
			k = max(0, w-1)
			out = append(out, string(r[:k])+"…")
			break
		}
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	for len(out) < n {
		out = append(out, "")
	}
	return out
}
