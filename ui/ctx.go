package ui

import (
	"github.com/ambx/ambx/kube/ztunnel"
	"reflect"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/views/picker"
)

// A context switch (:ctx) replaces the session: the clients, the Source's
// snapshots, the metrics poll, the log, ztunnel, events and YAML readers.
// Commands of the old session may still be running when it ends; their
// messages must not land in the new one (a survey of the old cluster's
// ztunnels, its last snapshot). So once a switch has happened every
// command the root returns is tagged with its session, and messages of
// another session are dropped.

// sessionMsg is a message from a command of session n.
type sessionMsg struct {
	n   int
	msg tea.Msg
}

// contextsMsg carries the kubeconfig's contexts for the picker.
type contextsMsg struct {
	contexts []kube.KubeContext
	err      error
}

// switchChoice is the context picked.
type switchChoice struct{ name string }

// switchedMsg is the end of a switch: the new session's options, or why
// there is none (the old session then keeps running).
type switchedMsg struct {
	name string
	opt  Options
	err  error
}

// teaPkg is Bubble Tea's package: its messages (quit, batches, sequences,
// clipboard writes) are the runtime's to act on, not the root's.
var teaPkg = reflect.TypeOf(tea.QuitMsg{}).PkgPath()

func fromRuntime(msg tea.Msg) bool {
	t := reflect.TypeOf(msg)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t != nil && t.PkgPath() == teaPkg
}

// Update routes a message, dropping what a command of an ended session
// sends (see sessionMsg).
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if m.session == 0 {
		return m.update(msg)
	}
	switch s := msg.(type) {
	case sessionMsg:
		if s.n != m.session {
			return m, nil
		}
		if fromRuntime(s.msg) {
			// The runtime must see it untagged.
			inner := s.msg
			return m, func() tea.Msg { return inner }
		}
		msg = s.msg
	default:
		// Untagged: the terminal's input, or a runtime message passed
		// on above; anything else comes from the first session.
		if !fromRuntime(msg) {
			return m, nil
		}
	}
	next, cmd := m.update(msg)
	nm, ok := next.(Model)
	if !ok {
		return next, cmd
	}
	return nm, tag(nm.session, cmd)
}

// tag makes cmd's message a sessionMsg of session n; a batch stays a
// batch, of tagged commands, so the runtime still runs them.
func tag(n int, cmd tea.Cmd) tea.Cmd {
	if cmd == nil {
		return nil
	}
	return func() tea.Msg {
		msg := cmd()
		switch b := msg.(type) {
		case nil:
			return nil
		case tea.BatchMsg:
			out := make(tea.BatchMsg, len(b))
			for i, c := range b {
				out[i] = tag(n, c)
			}
			return out
		}
		return sessionMsg{n, msg}
	}
}

// openContexts lists the kubeconfig's contexts (:ctx); reading the file
// is I/O, so it runs in a command.
func (m Model) openContexts() (Model, tea.Cmd) {
	if m.opt.Switch == nil || m.opt.Contexts == nil {
		return m, status("this session cannot switch contexts (the demo has one cluster)", true)
	}
	list := m.opt.Contexts
	return m, func() tea.Msg {
		c, err := list()
		return contextsMsg{c, err}
	}
}

func (m Model) pickContext(msg contextsMsg) (Model, tea.Cmd) {
	if msg.err != nil {
		return m, status("cannot list contexts: "+msg.err.Error(), true)
	}
	if len(msg.contexts) == 0 {
		return m, status("the kubeconfig has no contexts", true)
	}
	items := make([]picker.Item, len(msg.contexts))
	sel := 0
	for i, c := range msg.contexts {
		note := "cluster " + c.Cluster
		if c.Namespace != "" {
			note += ", namespace " + c.Namespace
		}
		if c.Name == m.contextName() {
			note += " · in use"
			sel = i
		}
		items[i] = picker.Item{Label: c.Name, Note: note}
	}
	cs := msg.contexts
	return m.push(pickerOverlay{
		m:      picker.New(m.theme, "ctx", "Switch to context", items, sel),
		id:     "ctx",
		choose: func(i int) tea.Msg { return switchChoice{cs[i].Name} },
	}), nil
}

// contextName is the context in use, as the status bar names it.
func (m Model) contextName() string {
	if m.snap != nil && m.snap.Context != "" {
		return m.snap.Context
	}
	return m.opt.Context
}

// switchTo connects to context name in a command: main's Switch resolves
// the kubeconfig, and only when that works ends the old session's
// watches, polls and streams and starts the new one's.
func (m Model) switchTo(name string) (Model, tea.Cmd) {
	name = strings.TrimSpace(name)
	if m.opt.Switch == nil {
		return m, status("this session cannot switch contexts (the demo has one cluster)", true)
	}
	sw := m.opt.Switch
	m.status, m.statusError, m.statusUntil = "connecting to "+name+"…", false, m.opt.Now().Add(30e9)
	return m, func() tea.Msg {
		opt, err := sw(name)
		return switchedMsg{name: name, opt: opt, err: err}
	}
}

// switched starts the new session: every overlay of the old one closes
// (log streams end with them), the panes wait for the new cluster's first
// snapshot, and read-only stays on whatever the new options say.
func (m Model) switched(msg switchedMsg) (Model, tea.Cmd) {
	if msg.err != nil {
		return m, status("cannot switch to "+msg.name+": "+msg.err.Error(), true)
	}
	for _, o := range m.stack {
		o.Close()
	}
	old := m.opt
	o := msg.opt
	// A read-only session stays read-only: the guard is installed by
	// Switch, and the root keeps every write key off regardless.
	o.ReadOnly = o.ReadOnly || old.ReadOnly
	if o.ReadOnly {
		o.Writer = nil
	}
	o.Theme, o.Now, o.Version, o.PerSidecar = old.Theme, old.Now, old.Version, old.PerSidecar
	o.Switch, o.Contexts, o.NoMouse = old.Switch, old.Contexts, old.NoMouse
	if o.Ctx == nil {
		o.Ctx = old.Ctx
	}
	if o.Context == "" {
		o.Context = msg.name
	}
	m.opt = o
	m.session++
	m.stack = nil
	m.snap, m.src, m.usage = nil, nil, nil
	m.survey, m.surveyPods, m.surveying, m.load = nil, nil, false, loadState{}
	if o.Ztunnel != nil {
		m.survey = &ztunnel.Survey{} // not read yet
	}
	m.write = writeState{}
	m.drill = ""
	// New panes: a pane keeps its rows until a snapshot replaces them,
	// and the old cluster's rows must not stand for the new one's.
	m.panes = registry(m.theme)
	m = m.resize()
	m.overhead = m.overhead.Set(nil, nil)
	m.status, m.statusError, m.statusUntil = "switched to "+o.Context, false, m.opt.Now().Add(5e9)
	return m, tag(m.session, m.Init())
}
