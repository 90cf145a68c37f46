package ui

import (
	"slices"
	"strings"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/textinput"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
)

// promptMode is what the line at the bottom is typing: nothing, a filter
// for the focused pane (/) or a command (:).
type promptMode int

const (
	promptOff promptMode = iota
	promptFilter
	promptCommand
)

// prompt is the text line of / and :, a bubbles textinput, so editing keys
// and paste work as in any line editor.
type prompt struct {
	mode  promptMode
	input textinput.Model
	// history holds the commands run, oldest first; at is the entry shown
	// while stepping through it (len(history) when not stepping).
	history []string
	at      int
}

func newInput() textinput.Model {
	in := textinput.New()
	in.Prompt = ""
	// The line is drawn by statusBar, with its own cursor mark: a virtual
	// cursor would need the program's clock and draws styles of its own.
	in.SetVirtualCursor(false)
	in.ShowSuggestions = true
	in.KeyMap.NextSuggestion = key.NewBinding(key.WithKeys("ctrl+n"))
	in.KeyMap.PrevSuggestion = key.NewBinding(key.WithKeys("ctrl+p"))
	in.Focus()
	return in
}

// open starts typing in mode, the line holding value.
func (p prompt) open(mode promptMode, value string) prompt {
	p.mode = mode
	p.input = newInput()
	p.input.SetValue(value)
	p.input.CursorEnd()
	p.at = len(p.history)
	return p
}

// commandNames are the words :  knows besides the panes' names.
var commandNames = []string{"q", "quit", "grid", "full", "help", "zt", "ztunnel", "traffic", "yaml", "events", "ctx"}

// suggestions completes a command: its name, then its argument: a
// kubeconfig context after :ctx, a namespace after the others.
func (m Model) suggestions(value string) []string {
	name, _, hasArg := strings.Cut(value, " ")
	if !hasArg {
		var out []string
		for _, r := range m.panes {
			out = append(out, r.commands...)
		}
		return append(out, commandNames...)
	}
	if n := strings.ToLower(name); n == "ctx" || n == "context" {
		out := make([]string, 0, len(m.ctxNames))
		for _, c := range m.ctxNames {
			out = append(out, name+" "+c)
		}
		return out
	}
	if m.snap == nil {
		return nil
	}
	out := make([]string, 0, len(m.snap.Namespaces))
	for _, ns := range m.snap.Namespaces {
		out = append(out, name+" "+ns.Name)
	}
	return out
}

// contextNamesMsg carries the kubeconfig's context names for completion.
type contextNamesMsg struct{ names []string }

// readContextNames lists the kubeconfig's contexts for :ctx completion;
// reading the file is I/O, so it runs in a command, each time : opens (a
// context added meanwhile is offered). nil where there is no switch.
func (m Model) readContextNames() tea.Cmd {
	if m.opt.Switch == nil || m.opt.Contexts == nil {
		return nil
	}
	list := m.opt.Contexts
	return func() tea.Msg {
		cs, err := list()
		if err != nil {
			return nil // :ctx itself says why when it is run
		}
		names := make([]string, 0, len(cs))
		for _, c := range cs {
			// Completion goes into the line as typed: a context whose
			// name holds a space or control character is not offered
			// (the picker of :ctx still lists it, made safe).
			if c.Name != "" && safe.Clean(c.Name) && !strings.ContainsAny(c.Name, " \t") {
				names = append(names, c.Name)
			}
		}
		return contextNamesMsg{names}
	}
}

// gotContextNames keeps the names and completes with them at once when
// the line already reads ":ctx …".
func (m Model) gotContextNames(msg contextNamesMsg) Model {
	m.ctxNames = msg.names
	if m.prompt.mode == promptCommand {
		m.prompt.input.SetSuggestions(m.suggestions(m.prompt.input.Value()))
	}
	return m
}

// promptKey edits the line; enter runs it, esc leaves it.
func (m Model) promptKey(msg tea.Msg) (Model, tea.Cmd) {
	p := m.prompt
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, keymap.Prompt.Cancel):
			m.prompt.mode = promptOff
			if p.mode == promptFilter {
				m = m.setFocused(m.focused().SetFilter(""))
			}
			return m, nil
		case key.Matches(k, keymap.Prompt.Run):
			m.prompt.mode = promptOff
			if p.mode == promptCommand {
				return m.runCommand(p.input.Value())
			}
			return m, nil
		case p.mode == promptCommand && key.Matches(k, keymap.Prompt.Older, keymap.Prompt.Newer):
			return m.stepHistory(key.Matches(k, keymap.Prompt.Older)), nil
		}
	}
	var cmd tea.Cmd
	p.input, cmd = p.input.Update(msg)
	if p.mode == promptCommand {
		p.input.SetSuggestions(m.suggestions(p.input.Value()))
	}
	m.prompt = p
	if p.mode == promptFilter {
		// Filter as the user types, like k9s.
		m = m.setFocused(m.focused().SetFilter(p.input.Value()))
	}
	return m, cmd
}

func (m Model) stepHistory(older bool) Model {
	p := m.prompt
	switch {
	case older && p.at > 0:
		p.at--
	case !older && p.at < len(p.history):
		p.at++
	default:
		return m
	}
	v := ""
	if p.at < len(p.history) {
		v = p.history[p.at]
	}
	p.input.SetValue(v)
	p.input.CursorEnd()
	m.prompt = p
	return m
}

// runCommand does what a : line says.
func (m Model) runCommand(line string) (Model, tea.Cmd) {
	line = strings.TrimSpace(line)
	if line == "" {
		return m, nil
	}
	if n := len(m.prompt.history); n == 0 || m.prompt.history[n-1] != line {
		m.prompt.history = append(slices.Clip(m.prompt.history), line)
	}
	fields := strings.Fields(line)
	name, arg := strings.ToLower(fields[0]), ""
	if len(fields) > 1 {
		arg = fields[1]
	}
	switch name {
	case "q", "quit", "q!":
		return m, tea.Quit
	case "grid":
		m.zoom = false
		if !m.panes[m.focus].grid {
			m = m.focusKind(kube.KindNamespace)
		}
		return m, nil
	case "full":
		m.zoom = true
		return m, nil
	case "help":
		return m.push(helpOverlay{theme: m.theme, panes: m.paneHelp(), readOnly: !m.canWrite(), noMouse: m.opt.NoMouse}), nil
	case "zt", "ztunnel":
		return m.openZtunnel()
	case "traffic":
		return m.openTraffic()
	case "yaml":
		return m.openYAML()
	case "events":
		return m.openEvents()
	case "ctx", "context":
		if arg != "" {
			return m.switchTo(arg)
		}
		return m.openContexts()
	}
	for i, r := range m.panes {
		if !slices.Contains(r.commands, name) {
			continue
		}
		m.focus = i
		if arg != "" {
			if !m.hasNamespace(arg) {
				return m, status("no namespace "+arg, true)
			}
			m = m.drillInto(arg)
		}
		return m, nil
	}
	return m, status("unknown command :"+name+" (try :"+strings.Join(m.firstCommands(), ", :")+", :q)", true)
}

func (m Model) hasNamespace(ns string) bool {
	if m.snap == nil {
		return false
	}
	for _, n := range m.snap.Namespaces {
		if n.Name == ns {
			return true
		}
	}
	return false
}

func (m Model) firstCommands() []string {
	out := make([]string, len(m.panes))
	for i, r := range m.panes {
		out[i] = r.commands[0]
	}
	return out
}

// promptView is the line as the status bar shows it: the typed text, a
// cursor mark and the completion's rest dimmed.
func (m Model) promptView(t *theme.Theme) string {
	p := m.prompt
	lead := "/"
	help := "  enter keep  esc clear "
	if p.mode == promptCommand {
		lead, help = ":", "  tab complete  ↑↓ history  enter run  esc cancel "
	} else if note := m.filterNote(); note != "" {
		help = "  " + note + " "
	}
	r := []rune(p.input.Value())
	pos := min(max(0, p.input.Position()), len(r))
	line := t.BarFilter.Render(" " + lead + safe.Line(string(r[:pos])) + "▏" + safe.Line(string(r[pos:])))
	if p.mode == promptCommand && pos == len(r) {
		if s := p.input.CurrentSuggestion(); len(s) > len(p.input.Value()) && strings.HasPrefix(s, p.input.Value()) {
			line += t.BarHint.Render(safe.Line(s[len(p.input.Value()):]))
		}
	}
	return line + t.BarHint.Render(help)
}
