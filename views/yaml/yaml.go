// Package yaml is the YAML view (y): the selected object as the API server
// stores it, coloured, scrollable and searchable, managedFields and the
// last-applied annotation hidden until asked for, and copyable.
package yaml

import (
	"fmt"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui/clipboard"
	"github.com/ambx/ambx/views/highlight"
	"github.com/ambx/ambx/views/pane"
)

// Loaded carries the object the root fetched for the view.
type Loaded struct {
	Ref kube.Ref
	Obj runtime.Object
	Err error
}

// Copied reports the end of a copy (c); the root shows Status().
type Copied struct{ Result clipboard.Result }

// Status is the status-bar line for the copy.
func (c Copied) Status() string { return c.Result.Status() }

// Model is the YAML view.
type Model struct {
	theme   *theme.Theme
	ref     kube.Ref
	obj     runtime.Object
	err     error
	full    bool // managedFields and last-applied shown
	text    string
	plain   []string
	colour  []string
	top     int
	width   int
	height  int
	query   string
	typing  bool
	matches []int
	match   int
	copier  func(text string, done func(clipboard.Result) tea.Msg) tea.Cmd
}

// New returns the view waiting for ref's object.
func New(t *theme.Theme, ref kube.Ref) Model {
	return Model{theme: t, ref: ref, copier: clipboard.Copy}
}

// SetCopier replaces the clipboard (tests).
func (m Model) SetCopier(c func(text string, done func(clipboard.Result) tea.Msg) tea.Cmd) Model {
	m.copier = c
	return m
}

// SetSize tells the view its size.
func (m Model) SetSize(w, h int) Model { m.width, m.height = w, h; return m.clamp() }

// Typing reports whether the search line has the keyboard, so esc ends the
// search instead of closing the view.
func (m Model) Typing() bool { return m.typing }

// Text is the YAML shown (plain), for tests.
func (m Model) Text() string { return m.text }

func (m Model) render() Model {
	m.text, m.plain, m.colour = "", nil, nil
	if m.obj == nil {
		return m
	}
	b, err := kube.YAML(m.obj, m.full)
	if err != nil {
		m.err = err
		return m
	}
	m.text = safe.Text(string(b))
	m.plain = strings.Split(strings.TrimRight(m.text, "\n"), "\n")
	m.colour = highlight.Lines(m.theme, highlight.YAML, m.text)
	return m.search().clamp()
}

func (m Model) body() int { return max(1, m.height-2) }

func (m Model) clamp() Model {
	m.top = max(0, min(m.top, len(m.plain)-m.body()))
	return m
}

func (m Model) search() Model {
	m.matches, m.match = nil, 0
	if m.query == "" {
		return m
	}
	q := strings.ToLower(m.query)
	for i, l := range m.plain {
		if strings.Contains(strings.ToLower(l), q) {
			m.matches = append(m.matches, i)
		}
	}
	return m
}

func (m Model) show(line int) Model {
	if line < m.top || line >= m.top+m.body() {
		m.top = line - m.body()/3
	}
	return m.clamp()
}

// Update handles the fetched object and keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case Loaded:
		if msg.Ref != m.ref {
			return m, nil
		}
		m.obj, m.err = msg.Obj, msg.Err
		return m.render(), nil
	case tea.BackgroundColorMsg:
		// The root switched the theme for a new background: the lines
		// were coloured in the old palette.
		return m.render(), nil
	case tea.KeyPressMsg:
		if m.typing {
			switch msg.String() {
			case "esc":
				m.typing, m.query = false, ""
			case "enter":
				m.typing = false
			case "backspace":
				if r := []rune(m.query); len(r) > 0 {
					m.query = string(r[:len(r)-1])
				}
			default:
				m.query += msg.Text
			}
			m = m.search()
			if len(m.matches) > 0 {
				m = m.show(m.matches[0])
			}
			return m, nil
		}
		page := m.body()
		switch {
		case key.Matches(msg, keymap.Table.Up):
			m.top--
		case key.Matches(msg, keymap.Table.Down):
			m.top++
		case key.Matches(msg, keymap.Table.PageUp):
			m.top -= page
		case key.Matches(msg, keymap.Table.PageDown):
			m.top += page
		case key.Matches(msg, keymap.Table.Top):
			m.top = 0
		case key.Matches(msg, keymap.Table.Bottom):
			m.top = len(m.plain)
		case key.Matches(msg, keymap.Global.Filter):
			m.typing = true
			return m, nil
		case key.Matches(msg, keymap.YAML.Next), key.Matches(msg, keymap.YAML.Prev):
			if len(m.matches) == 0 {
				return m, nil
			}
			d := 1
			if key.Matches(msg, keymap.YAML.Prev) {
				d = len(m.matches) - 1
			}
			m.match = (m.match + d) % len(m.matches)
			return m.show(m.matches[m.match]), nil
		case key.Matches(msg, keymap.YAML.Managed):
			m.full = !m.full
			return m.render(), nil
		case key.Matches(msg, keymap.YAML.Copy):
			if m.text == "" {
				return m, nil
			}
			return m, m.copier(m.text, func(r clipboard.Result) tea.Msg { return Copied{Result: r} })
		}
		return m.clamp(), nil
	}
	return m, nil
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := m.theme
	title := " YAML " + safe.Line(m.ref.String())
	if !m.full {
		title += " · managedFields hidden (m shows)"
	}
	lines := []string{t.PaneTitleFocused.Render(pane.Fit(title, width))}
	switch {
	case m.err != nil:
		lines = append(lines, t.Tone(theme.ToneBad).Render(pane.Fit(" "+safe.Line(m.err.Error()), width)))
	case m.obj == nil:
		lines = append(lines, t.Empty.Render(pane.Fit(" reading "+safe.Line(m.ref.String())+" from the API server…", width)))
	default:
		hit := map[int]bool{}
		for _, i := range m.matches {
			hit[i] = true
		}
		for i := m.top; i < len(m.colour) && len(lines) < height-1; i++ {
			l := " " + m.colour[i]
			if hit[i] {
				l = t.Tone(theme.ToneWarn).Render("▌") + m.colour[i]
			}
			lines = append(lines, pane.Fit(l, width))
		}
	}
	for len(lines) < height-1 {
		lines = append(lines, strings.Repeat(" ", width))
	}
	foot := fmt.Sprintf(" lines %d–%d of %d · / search · n/N next/prev · c copy · m managedFields · esc closes",
		min(m.top+1, len(m.plain)), min(m.top+m.body(), len(m.plain)), len(m.plain))
	if m.typing || m.query != "" {
		foot = fmt.Sprintf(" /%s · %d matches", safe.Line(m.query), len(m.matches))
		if m.typing {
			foot = " /" + safe.Line(m.query) + "▏ · enter keeps, esc clears"
		}
	}
	if height > 1 {
		lines = append(lines, t.Empty.Render(pane.Fit(foot, width)))
	}
	return strings.Join(lines[:height], "\n")
}
