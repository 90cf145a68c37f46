// Package ui is the root model: it owns the layout, focus, the status bar,
// the filter line, overlays and ticks, and routes every message to the pane
// or overlay it belongs to.
package ui

import (
	"context"
	"fmt"
	"github.com/ambx/ambx/views/safe"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/confirm"
	"github.com/ambx/ambx/views/detail"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/logs"
	"github.com/ambx/ambx/views/namespaces"
	"github.com/ambx/ambx/views/overhead"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/patch"
	"github.com/ambx/ambx/views/picker"
	"github.com/ambx/ambx/views/policies"
	"github.com/ambx/ambx/views/waypoints"
	"github.com/ambx/ambx/views/workloads"
)

// Pane indexes, in tab order.
const (
	PaneNamespaces = iota
	PaneWorkloads
	PaneWaypoints
	PanePolicies
	paneCount
)

// SnapshotMsg carries a new snapshot from the Source.
type SnapshotMsg struct{ Snapshot *kube.Snapshot }

// TickMsg refreshes time-dependent text (the "updated Ns ago" age).
type TickMsg time.Time

// StatusMsg shows a message in the status bar for a few seconds.
type StatusMsg struct {
	Text  string
	Error bool
}

// Options configure the root model.
type Options struct {
	Theme     *theme.Theme
	Context   string
	ReadOnly  bool
	Snapshots <-chan *kube.Snapshot // nil in tests that feed SnapshotMsg directly
	Now       func() time.Time      // nil means time.Now
	Version   string
	Namespace string // start drilled into this namespace
	// Logs opens ztunnel log streams; nil hides the log pane.
	Logs logstream.Opener
	// LogLocator finds the ztunnel that replaced a deleted one (a rollout);
	// nil keeps retrying the same pod.
	LogLocator logstream.Locator
	// Writer applies label patches; nil (or ReadOnly) hides every write.
	Writer *writer.Writer
	// Usage delivers metrics polls; nil means no metrics.
	Usage <-chan *usage.Usage
	// PerSidecar is the user's figure for one sidecar (zero: measure or default).
	PerSidecar usage.Resources
}

// UsageMsg carries a metrics poll.
type UsageMsg struct{ Usage *usage.Usage }

// Model is the root model.
type Model struct {
	opt    Options
	theme  *theme.Theme
	width  int
	height int

	snap  *kube.Snapshot
	focus int

	namespaces namespaces.Model
	workloads  workloads.Model
	waypoints  waypoints.Model
	policies   policies.Model

	drill string // the namespace drilled into, "" for all

	filtering bool
	filterBuf string

	stack      []modal
	findings   findings.Model
	detail     detail.Model
	patch      patch.Model
	logs       logs.Model
	logsCancel context.CancelFunc
	confirm    confirm.Model
	pending    writer.Plan
	overhead   overhead.Model
	usage      *usage.Usage
	helpOffset int

	picker        picker.Model
	pickServices  []*corev1.Service
	pickService   *corev1.Service
	pickWaypoints []ambient.Key

	status      string
	statusError bool
	statusUntil time.Time
}

// New returns the root model.
func New(o Options) Model {
	if o.Theme == nil {
		o.Theme = theme.Current
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	t := o.Theme
	m := Model{
		opt:        o,
		theme:      t,
		namespaces: namespaces.New(t),
		workloads:  workloads.New(t),
		waypoints:  waypoints.New(t),
		policies:   policies.New(t),
		overhead:   overhead.New(t, o.PerSidecar),
	}
	if o.Namespace != "" {
		m = m.drillInto(o.Namespace)
		m.focus = PaneWorkloads
	}
	return m
}

// Init starts listening for snapshots and the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.waitSnapshot(), m.waitUsage(), tick())
}

func (m Model) waitUsage() tea.Cmd {
	ch := m.opt.Usage
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		u, ok := <-ch
		if !ok {
			return nil
		}
		return UsageMsg{u}
	}
}

func tick() tea.Cmd {
	return tea.Tick(time.Second, func(t time.Time) tea.Msg { return TickMsg(t) })
}

func (m Model) waitSnapshot() tea.Cmd {
	ch := m.opt.Snapshots
	if ch == nil {
		return nil
	}
	return func() tea.Msg {
		s, ok := <-ch
		if !ok {
			return nil
		}
		return SnapshotMsg{s}
	}
}

// Focus returns the focused pane index.
func (m Model) Focus() int { return m.focus }

// Drill returns the namespace drilled into.
func (m Model) Drill() string { return m.drill }

// Update routes a message.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m = m.resize()
		return m, nil
	case SnapshotMsg:
		m = m.setSnapshot(msg.Snapshot)
		return m, m.waitSnapshot()
	case TickMsg:
		return m, tick()
	case UsageMsg:
		m.usage = msg.Usage
		m.workloads = m.workloads.SetUsage(msg.Usage)
		m.waypoints = m.waypoints.SetUsage(msg.Usage)
		m.overhead = m.overhead.Set(m.snap, m.usage)
		return m, m.waitUsage()
	case StatusMsg:
		m.status, m.statusError = msg.Text, msg.Error
		m.statusUntil = m.opt.Now().Add(5 * time.Second)
		return m, nil
	case tea.KeyPressMsg:
		if len(m.stack) > 0 {
			return m.modalKey(msg)
		}
		return m.key(msg)
	case findings.Jump:
		return m.jump(msg.Ref), nil
	case findings.OpenPatch:
		m.patch = patch.ForFinding(m.theme, msg.Finding)
		return m.push(modalPatch), nil
	case patch.Copied:
		return m, status(msg.Status(), msg.Err != nil)
	case patch.Saved:
		return m, status(msg.Status(), msg.Err != nil)
	case logs.PatchRequest:
		return m.patchForConnection(msg)
	case logs.BatchMsg, logs.EndedMsg, logs.SavedMsg:
		var cmd tea.Cmd
		m.logs, cmd = m.logs.Update(msg)
		return m, cmd
	case confirm.Result:
		return m.answered(msg)
	case picker.Chosen:
		return m.chosen(msg)
	case planMsg:
		return m.showPlan(msg)
	case WriteResultMsg:
		if msg.Err != nil {
			return m, status(msg.Err.Error(), true)
		}
		done := msg.Done
		if msg.Plan.Target.Kind == "Namespace" && strings.HasSuffix(done, "=ambient") {
			// istio-cni captures running pods itself; a restart is for the
			// ones it could not, and for sidecar pods leaving injection.
			done += " · R to restart"
		}
		return m, status(done, false)
	}
	return m, nil
}

func (m Model) setSnapshot(s *kube.Snapshot) Model {
	m.snap = s
	m.namespaces = m.namespaces.SetSnapshot(s)
	m.workloads = m.workloads.SetSnapshot(s)
	m.waypoints = m.waypoints.SetSnapshot(s)
	m.policies = m.policies.SetSnapshot(s)
	m.overhead = m.overhead.Set(s, m.usage)
	if m.top() == modalFindings {
		m.findings = m.findings.SetSnapshot(s)
	}
	return m
}

func (m Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if k.String() == "ctrl+c" {
		return m, tea.Quit
	}
	if m.filtering {
		return m.filterKey(k), nil
	}
	switch {
	case key.Matches(k, keymap.Global.Quit):
		return m, tea.Quit
	case key.Matches(k, keymap.Global.Help):
		m.helpOffset = 0
		return m.push(modalHelp), nil
	case key.Matches(k, keymap.Global.Findings):
		return m.openFindings(), nil
	case key.Matches(k, keymap.Global.Overhead):
		return m.push(modalOverhead), nil
	case key.Matches(k, keymap.Table.Detail):
		return m.openDetail()
	case key.Matches(k, keymap.Action.NetPol):
		return m.openPatch()
	case key.Matches(k, keymap.Action.Logs):
		return m.openLogs()
	case key.Matches(k, keymap.Action.Toggle):
		return m.toggle()
	case key.Matches(k, keymap.Action.Restart):
		return m.restart()
	case key.Matches(k, keymap.Action.UseWaypoint):
		return m.useWaypoint()
	case key.Matches(k, keymap.Global.NextPane):
		m.focus = (m.focus + 1) % paneCount
	case key.Matches(k, keymap.Global.PrevPane):
		m.focus = (m.focus + paneCount - 1) % paneCount
	case key.Matches(k, keymap.Global.Pane1):
		m.focus = PaneNamespaces
	case key.Matches(k, keymap.Global.Pane2):
		m.focus = PaneWorkloads
	case key.Matches(k, keymap.Global.Pane3):
		m.focus = PaneWaypoints
	case key.Matches(k, keymap.Global.Pane4):
		m.focus = PanePolicies
	case key.Matches(k, keymap.Global.Filter):
		m.filtering = true
		m.filterBuf = m.paneFilter()
	case key.Matches(k, keymap.Global.Back):
		switch {
		case m.paneFilter() != "":
			m = m.setPaneFilter("")
		case m.drill != "":
			m = m.drillInto("")
			m.focus = PaneNamespaces
		}
	case key.Matches(k, keymap.Table.Enter) && m.focus == PaneNamespaces:
		if ns, ok := m.namespaces.Selected(); ok {
			m = m.drillInto(ns)
			m.focus = PaneWorkloads
		}
	default:
		return m.routeToPane(k)
	}
	return m, nil
}

func (m Model) routeToPane(msg tea.Msg) (tea.Model, tea.Cmd) {
	var cmd tea.Cmd
	switch m.focus {
	case PaneNamespaces:
		m.namespaces, cmd = m.namespaces.Update(msg)
	case PaneWorkloads:
		m.workloads, cmd = m.workloads.Update(msg)
	case PaneWaypoints:
		m.waypoints, cmd = m.waypoints.Update(msg)
	case PanePolicies:
		m.policies, cmd = m.policies.Update(msg)
	}
	return m, cmd
}

func (m Model) drillInto(ns string) Model {
	m.drill = ns
	m.workloads = m.workloads.SetNamespace(ns)
	m.waypoints = m.waypoints.SetNamespace(ns)
	m.policies = m.policies.SetNamespace(ns)
	if ns != "" {
		m.namespaces.Table = m.namespaces.Table.SelectKey(ns)
	}
	return m
}

func (m Model) filterKey(k tea.KeyPressMsg) Model {
	switch k.String() {
	case "esc":
		m.filtering = false
		return m.setPaneFilter("")
	case "enter":
		m.filtering = false
		return m
	case "backspace":
		if r := []rune(m.filterBuf); len(r) > 0 {
			m.filterBuf = string(r[:len(r)-1])
		}
	case "ctrl+u":
		m.filterBuf = ""
	default:
		if t := k.Text; t != "" {
			m.filterBuf += t
		} else if k.String() == "space" {
			m.filterBuf += " "
		}
	}
	// Filter as the user types, like k9s.
	return m.setPaneFilter(m.filterBuf)
}

func (m Model) paneFilter() string {
	switch m.focus {
	case PaneNamespaces:
		return m.namespaces.Table.Filter()
	case PaneWorkloads:
		return m.workloads.Table.Filter()
	case PaneWaypoints:
		return m.waypoints.Table.Filter()
	}
	return m.policies.Table.Filter()
}

func (m Model) setPaneFilter(f string) Model {
	switch m.focus {
	case PaneNamespaces:
		m.namespaces = m.namespaces.SetFilter(f)
	case PaneWorkloads:
		m.workloads = m.workloads.SetFilter(f)
	case PaneWaypoints:
		m.waypoints = m.waypoints.SetFilter(f)
	case PanePolicies:
		m.policies = m.policies.SetFilter(f)
	}
	return m
}

// grid reports whether all four panes fit; otherwise only the focused one
// is drawn, full size.
func (m Model) grid() bool { return m.width >= 60 && m.height >= 16 }

// stripLines is 1 when the mesh-overhead strip fits above the panes.
func (m Model) stripLines() int {
	if m.grid() && m.height >= 20 {
		return 1
	}
	return 0
}

// paneSizes returns each pane's width and height for the current layout.
func (m Model) paneSizes() (w [paneCount]int, h [paneCount]int) {
	body := max(0, m.height-1-m.stripLines())
	if !m.grid() {
		for i := range w {
			w[i], h[i] = m.width, body
		}
		return
	}
	left := m.width / 2
	right := m.width - left - 1 // one column gap
	// Namespaces and workloads have the most rows: give them more height.
	top := body * 3 / 5
	bottom := body - top
	w = [paneCount]int{left, right, left, right}
	h = [paneCount]int{top, top, bottom, bottom}
	return
}

func (m Model) resize() Model {
	bw, bh := m.width, max(0, m.height-1)
	m.findings = m.findings.SetSize(bw, bh)
	m.detail = m.detail.SetSize(bw, bh)
	m.patch = m.patch.SetSize(bw, bh)
	m.logs = m.logs.SetSize(bw, bh)
	_, h := m.paneSizes()
	m.namespaces = m.namespaces.SetSize(0, h[0])
	m.workloads = m.workloads.SetSize(0, h[1])
	m.waypoints = m.waypoints.SetSize(0, h[2])
	m.policies = m.policies.SetSize(0, h[3])
	return m
}

// View renders the whole screen.
func (m Model) View() tea.View {
	// Frame is the last guard: views make cluster text safe where it
	// enters them, and whatever slipped past still cannot drive the terminal.
	v := tea.NewView(safe.Frame(m.Render()))
	v.AltScreen = true
	return v
}

// Render renders the screen as a string (View wraps it for Bubble Tea;
// tests read it directly).
func (m Model) Render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	w, h := m.paneSizes()
	views := [paneCount]func(int, int, bool) string{
		m.namespaces.View, m.workloads.View, m.waypoints.View, m.policies.View,
	}
	var body string
	top := m.top()
	if top == modalConfirm || top == modalPicker {
		top = m.below()
	}
	if top != 0 {
		body = m.modalView(m.width, max(0, m.height-1))
	} else if m.grid() {
		gap := strings.Repeat(" \n", max(0, h[0]-1)) + " "
		gap2 := strings.Repeat(" \n", max(0, h[2]-1)) + " "
		top := lipgloss.JoinHorizontal(lipgloss.Top, views[0](w[0], h[0], m.focus == 0), gap, views[1](w[1], h[1], m.focus == 1))
		bottom := lipgloss.JoinHorizontal(lipgloss.Top, views[2](w[2], h[2], m.focus == 2), gap2, views[3](w[3], h[3], m.focus == 3))
		body = top + "\n" + bottom
		if m.stripLines() > 0 {
			body = m.overhead.View(m.width, 1, false) + "\n" + body
		}
	} else {
		body = views[m.focus](w[m.focus], h[m.focus], true)
	}
	if m.height > 1 {
		body += "\n"
	} else {
		body = ""
	}
	screen := body + m.statusBar()
	switch m.top() {
	case modalConfirm:
		screen = m.overlay(screen, m.confirm.View(min(m.width, 90), max(1, m.height-2)))
	case modalPicker:
		screen = m.overlay(screen, m.picker.View(m.width, m.height))
	}
	return screen
}

// overlay draws box centred over screen.
func (m Model) overlay(screen, box string) string {
	bw, bh := lipgloss.Width(box), lipgloss.Height(box)
	x := max(0, (m.width-bw)/2)
	y := max(0, (m.height-bh)/2)
	c := lipgloss.NewCanvas(m.width, m.height)
	c.Compose(lipgloss.NewCompositor(lipgloss.NewLayer(screen), lipgloss.NewLayer(box).X(x).Y(y).Z(1)))
	return c.Render()
}

func (m Model) statusBar() string {
	t := m.theme
	var left []string
	ctx := m.opt.Context
	if m.snap != nil && m.snap.Context != "" {
		ctx = m.snap.Context
	}
	if ctx == "" {
		ctx = "no context"
	}
	left = append(left, t.BarContext.Render(" "+safe.Line(ctx)+" "))
	if m.opt.ReadOnly {
		left = append(left, t.BarReadOnly.Render(" READ-ONLY "))
	}
	switch {
	case m.snap == nil:
		left = append(left, t.BarHint.Render(" connecting…"))
	case !m.snap.Reachable:
		left = append(left, t.BarBad.Render(" ✖ "+safe.Line(m.snap.Problem)+" "))
	default:
		age := m.opt.Now().Sub(m.snap.Taken).Round(time.Second)
		if age < 0 {
			age = 0
		}
		left = append(left, t.BarOK.Render(" ● connected"))
		if !m.showingStatus() {
			// A message needs the room more than the age does.
			left = append(left, t.BarHint.Render(" updated "+age.String()+" ago"))
		}
	}
	if m.drill != "" {
		left = append(left, t.BarFilter.Render(" ns:"+safe.Line(m.drill)))
	}
	l := strings.Join(left, "")
	var right string
	switch {
	case m.filtering:
		right = t.BarFilter.Render(" /"+safe.Line(m.filterBuf)+"▏") + t.BarHint.Render("  enter keep  esc clear ")
	case m.showingStatus():
		st := t.BarMessage
		if m.statusError {
			st = t.BarError
		}
		// API errors and write results quote the server: one line, safe.
		right = st.Render(" " + safe.Line(m.status) + " ")
	default:
		right = m.hints(m.width - lipgloss.Width(l) - 1)
	}
	gapW := m.width - lipgloss.Width(l) - lipgloss.Width(right)
	if gapW < 1 {
		// Narrow: the context and state matter more than the hints.
		line := l + t.Bar.Render(" ") + right
		return fitLine(line, m.width, t)
	}
	return l + t.Bar.Render(strings.Repeat(" ", gapW)) + right
}

// showingStatus reports whether a status message is on screen.
func (m Model) showingStatus() bool {
	return !m.filtering && m.status != "" && m.opt.Now().Before(m.statusUntil)
}

func fitLine(s string, w int, t *theme.Theme) string {
	sw := lipgloss.Width(s)
	if sw > w {
		return lipgloss.NewStyle().MaxWidth(w).Render(s)
	}
	return s + t.Bar.Render(strings.Repeat(" ", w-sw))
}

func (m Model) hints(room int) string {
	t := m.theme
	pairs := [][2]string{{"?", "help"}, {"/", "filter"}}
	if m.focus == PaneNamespaces {
		pairs = append(pairs, [2]string{"enter", "drill"})
	}
	if m.drill != "" {
		pairs = append(pairs, [2]string{"esc", "back"})
	}
	pairs = append(pairs, [2]string{"d", "detail"}, [2]string{"!", "findings"})
	if m.focus == PaneWorkloads || m.focus == PaneNamespaces {
		pairs = append(pairs, [2]string{"l", "logs"}, [2]string{"n", "hbone"})
		if !m.opt.ReadOnly && m.opt.Writer != nil {
			pairs = append(pairs, [2]string{"a", "ambient"})
		}
	}
	pairs = append(pairs, [2]string{"q", "quit"})
	// As many hints as fit, most useful first; quit always shows last.
	var b strings.Builder
	used := 1
	for i, p := range pairs {
		w := len([]rune(p[0])) + len([]rune(p[1])) + 2
		last := i == len(pairs)-1
		if !last && used+w+len("q quit")+2 > room {
			continue
		}
		b.WriteString(t.BarKey.Render(" " + p[0]))
		b.WriteString(t.BarHint.Render(" " + p[1]))
		used += w
	}
	b.WriteString(t.BarHint.Render(" "))
	return b.String()
}

// helpLines is the help text, one entry a line, before it is flowed into
// columns.
func (m Model) helpLines() []string {
	t := m.theme
	var lines []string
	for _, sec := range keymap.Help() {
		lines = append(lines, t.OverlayTitle.Render(sec.Title))
		for _, k := range sec.Bindings {
			h := k.Help()
			lines = append(lines, t.OverlayKey.Render(pane.Fit(h.Key, 10))+t.OverlayText.Render(h.Desc))
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

// helpView renders the help in exactly width x height cells: as many
// columns as fit, scrolled by helpOffset when even those are too short.
func (m Model) helpView(width, height int) string {
	t := m.theme
	if width <= 0 || height <= 0 {
		return ""
	}
	lines := m.helpLines()
	cols, rows, colW := helpLayout(lines, width)
	const gap = 4
	body := max(1, height-2) // title and footer
	off := max(0, min(m.helpOffset, rows-body))
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

// helpMaxOffset is the furthest the help can scroll at the current size.
func (m Model) helpMaxOffset() int {
	_, rows, _ := helpLayout(m.helpLines(), m.width)
	return max(0, rows-max(1, m.height-3))
}
