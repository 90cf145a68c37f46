// Package ui is the root model: it owns the layout, focus, the status bar,
// the filter line, the overlay stack and ticks, and routes every message to
// the pane or overlay it belongs to.
package ui

import (
	"context"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/views/yaml"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/confirm"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/install"
	"github.com/ambx/ambx/views/logs"
	"github.com/ambx/ambx/views/overhead"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/patch"
	"github.com/ambx/ambx/views/waypointnew"
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
	// Fetch reads one object as stored, for the YAML view; nil hides it.
	Fetch func(context.Context, kube.Ref) (runtime.Object, error)
	// Ztunnel reads ztunnels' config_dump and metrics; nil hides the
	// ztunnel and traffic views.
	Ztunnel ztread.Reader
	// Contexts lists the kubeconfig's contexts and Switch connects to one
	// (:ctx), ending this session's watches, polls and streams once the
	// new one is connected; nil (the demo) offers no switch.
	Contexts func() ([]kube.KubeContext, error)
	Switch   func(name string) (Options, error)
	// Events reads an object's Kubernetes events (e); nil hides the view.
	Events EventReader
	// NoMouse leaves the mouse to the terminal (selecting text): the
	// view never asks for mouse events and ignores any that come.
	NoMouse bool
	// Ctx is the program's context: log streams and writes end with it.
	// nil means context.Background().
	Ctx context.Context
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
	usage *usage.Usage
	// src is the Source's snapshot; snap is src with the drift of survey,
	// the last round of ztunnel reads (nil without a ztunnel reader).
	src    *kube.Snapshot
	survey *ztunnel.Survey
	// surveyPods are the pods of the snapshot survey began from.
	surveyPods []*corev1.Pod
	drifted    drifted // the last withDrift
	surveying  bool
	surveyOff  backoff // after rounds whose every read failed
	// surveyAll says a backed-off round's one read answered: the next
	// round reads every ztunnel, at once.
	surveyAll bool
	load      loadState // the Workloads pane's rate columns

	panes []registration
	focus int    // index into panes
	drill string // the namespace drilled into, "" for all

	prompt prompt
	// zoom shows the focused pane full-width even where the grid fits.
	zoom bool

	stack     []overlay
	ztGen     int            // numbers each ztunnel/traffic view opened, so a closed one's ticks are dropped
	eventsGen int            // numbers each events view opened, so a closed one's reads are dropped
	session   int            // counts context switches; commands of an earlier session are dropped (ctx.go)
	ctxNames  []string       // the kubeconfig's contexts, read when : opens, for :ctx completion
	overhead  overhead.Model // the one-line strip above the grid

	write writeState

	status      string
	statusError bool
	statusUntil time.Time

	gen    uint64      // this state's generation (frame.go)
	frames *frameCache // the last frame View drew, shared by copies
}

// New returns the root model.
func New(o Options) Model {
	if o.Theme == nil {
		o.Theme = theme.Current
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Ctx == nil {
		o.Ctx = context.Background()
	}
	// The root's own copy, which every view is given: a change of
	// background (setBackground) restyles them all through it, and the
	// shared themes stay as they are.
	own := *o.Theme
	o.Theme = &own
	t := o.Theme
	m := Model{
		opt:      o,
		theme:    t,
		panes:    registry(t),
		overhead: overhead.New(t, o.PerSidecar),
		frames:   &frameCache{},
		gen:      nextGeneration(),
	}
	if o.Ztunnel != nil {
		m.survey = &ztunnel.Survey{} // not read yet, which the findings say
	}
	if o.Namespace != "" {
		m = m.drillInto(o.Namespace)
		m = m.focusKind(kube.KindPod)
	}
	return m
}

// Init starts listening for snapshots and the clock.
func (m Model) Init() tea.Cmd {
	return tea.Batch(m.waitSnapshot(), m.waitUsage(), tick(), tea.RequestBackgroundColor)
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

// Focus returns the focused pane's name, e.g. "Workloads".
func (m Model) Focus() string { return m.focused().Name() }

// Drill returns the namespace drilled into.
func (m Model) Drill() string { return m.drill }

// update routes a message of the current session (see Update).
func (m Model) update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if !m.idleTick(msg) {
		m = m.changed()
	}
	switch msg := msg.(type) {
	case contextsMsg:
		return m.pickContext(msg)
	case contextNamesMsg:
		return m.gotContextNames(msg), nil
	case switchChoice:
		return m.switchTo(msg.name)
	case switchedMsg:
		return m.switched(msg)
	case tea.BackgroundColorMsg:
		return m.setBackground(msg)
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m = m.resize()
		return m, nil
	case SnapshotMsg:
		m = m.setSnapshot(msg.Snapshot)
		var advice, read tea.Cmd
		m, read = m.surveyDue(m.opt.Now())
		if m, advice = m.restartAdvice(); advice != nil {
			return m, tea.Batch(advice, read, m.waitSnapshot())
		}
		return m, tea.Batch(read, m.waitSnapshot())
	case surveyMsg:
		return m.surveyed(msg), nil
	case loadsMsg:
		return m.loaded(msg), nil
	case TickMsg:
		m, cmd := m.tickOverlays(time.Time(msg))
		m, read := m.surveyDue(time.Time(msg))
		m, scrape := m.loadsDue(time.Time(msg))
		return m, tea.Batch(cmd, read, scrape, tick())
	case UsageMsg:
		// A poll that read the same figures changes no row: the panes keep
		// the last Usage (equal in all they show) and skip a rebuild of
		// every row; the overhead view still shows when it was taken.
		same := m.usage.SameFigures(msg.Usage)
		m.usage = msg.Usage
		if !same {
			m = m.eachPane(func(p pane.Resource) pane.Resource { return p.SetUsage(msg.Usage) })
		}
		m.overhead = m.overhead.Set(m.snap, m.usage)
		m.stack = mapStack(m.stack, func(o overlay) overlay {
			if u, ok := o.(usageOverlay); ok {
				return u.SetUsage(msg.Usage)
			}
			return o
		})
		return m, m.waitUsage()
	case StatusMsg:
		m.status, m.statusError = msg.Text, msg.Error
		m.statusUntil = m.opt.Now().Add(5 * time.Second)
		return m, nil
	case tea.PasteMsg:
		if m.prompt.mode != promptOff && len(m.stack) == 0 {
			return m.promptKey(msg)
		}
		return m.broadcast(msg)
	case tea.KeyPressMsg:
		if key.Matches(msg, keymap.Global.ForceQuit) {
			return m, tea.Quit
		}
		if len(m.stack) > 0 {
			return m.overlayKey(msg)
		}
		return m.key(msg)
	case tea.MouseMsg:
		return m.mouse(msg)
	case findings.Jump:
		return m.jump(kube.RefOf(msg.Ref)), nil
	case findings.OpenPatch:
		return m.push(patchOverlay{patch.ForFinding(m.theme, msg.Finding)}), nil
	case yaml.Copied:
		return m, status(msg.Status(), msg.Result.Err != nil)
	case patch.Copied:
		return m, status(msg.Status(), msg.Err != nil)
	case patch.Saved:
		return m, status(msg.Status(), msg.Err != nil)
	case logs.PatchRequest:
		return m.patchForConnection(msg)
	case confirm.Result:
		return m.answered(msg)
	case planMsg:
		return m.reviewPlan(msg)
	case accessMsg:
		return m.showPlan(msg)
	case whatIfMsg:
		return m.whatIfArrived(msg)
	case WriteResultMsg:
		return m.written(msg)
	case bindChoice:
		return m.pickWaypoint(msg.target), nil
	case waypointChoice:
		return m.chooseWaypoint(msg)
	case waypointnew.Submit:
		return m.submitWaypoint(msg)
	}
	// Everything else belongs to an overlay: a log batch, a picker's choice.
	return m.broadcast(msg)
}

// broadcast gives msg to every overlay; each ignores what is not its own.
func (m Model) broadcast(msg tea.Msg) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	stack := make([]overlay, 0, len(m.stack))
	for _, o := range m.stack {
		next, cmd := o.Update(msg)
		cmds = append(cmds, cmd)
		if next == nil {
			o.Close()
			continue
		}
		stack = append(stack, next)
	}
	m.stack = stack
	return m, tea.Batch(cmds...)
}

func mapStack(s []overlay, f func(overlay) overlay) []overlay {
	out := make([]overlay, len(s))
	for i, o := range s {
		out[i] = f(o)
	}
	return out
}

func (m Model) setSnapshot(s *kube.Snapshot) Model {
	m.src = s
	m, s = m.withDrift(s)
	s = s.WithLoads(m.load.loads)
	m.snap = s
	ps := s
	if s != nil && s.Ztunnel != nil {
		// No pane reads the survey (the badge and the findings list do,
		// from m.snap): without it, a new round of reads that found what
		// the last one did (withDrift) leaves every pane's input the same.
		cp := *s
		cp.Ztunnel = nil
		ps = &cp
	}
	m = m.eachPane(func(p pane.Resource) pane.Resource { return p.SetSnapshot(ps) })
	m.overhead = m.overhead.Set(s, m.usage)
	m.stack = mapStack(m.stack, func(o overlay) overlay { return o.SetSnapshot(s) })
	return m
}

func (m Model) key(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	if m.prompt.mode != promptOff {
		return m.promptKey(k)
	}
	switch {
	case key.Matches(k, keymap.Global.Quit):
		return m, tea.Quit
	case key.Matches(k, keymap.Global.Help):
		return m.push(helpOverlay{theme: m.theme, panes: m.paneHelp(), readOnly: !m.canWrite(), noMouse: m.opt.NoMouse}), nil
	case key.Matches(k, keymap.Global.Findings):
		return m.openFindings(), nil
	case key.Matches(k, keymap.Global.Overhead):
		return m.push(overheadOverlay{m: m.overhead, snap: m.snap, use: m.usage}), nil
	case key.Matches(k, keymap.Global.Install):
		return m.push(installOverlay{m: install.New(m.theme).SetSnapshot(m.snap)}), nil
	case key.Matches(k, keymap.Table.Detail):
		return m.openDetail()
	case key.Matches(k, keymap.Action.NetPol):
		return m.openPatch()
	case key.Matches(k, keymap.Action.Logs):
		return m.openLogs()
	case key.Matches(k, keymap.YAML.Open):
		return m.openYAML()
	case key.Matches(k, keymap.Events.Open):
		return m.openEvents()
	case key.Matches(k, keymap.Ztunnel.Open):
		return m.openZtunnel()
	case key.Matches(k, keymap.Ztunnel.Traffic):
		return m.openTraffic()
	case key.Matches(k, keymap.Action.Toggle):
		return m.toggle()
	case key.Matches(k, keymap.Action.Restart):
		return m.restart()
	case key.Matches(k, keymap.Action.UseWaypoint):
		return m.useWaypoint()
	case key.Matches(k, keymap.Action.CreateWaypoint):
		return m.createWaypoint()
	case key.Matches(k, keymap.Action.DeleteWaypoint):
		return m.deleteWaypoint()
	case key.Matches(k, keymap.Migrate.Start):
		return m.migrate()
	case key.Matches(k, keymap.Global.NextPane):
		m.focus = m.nextGridPane(1)
	case key.Matches(k, keymap.Global.PrevPane):
		m.focus = m.nextGridPane(-1)
	case key.Matches(k, keymap.Global.Filter):
		m.prompt = m.prompt.open(promptFilter, m.focused().Filter())
	case key.Matches(k, keymap.Global.Command):
		m.prompt = m.prompt.open(promptCommand, "")
		m.prompt.input.SetSuggestions(m.suggestions(""))
		return m, m.readContextNames()
	case key.Matches(k, keymap.Global.Back):
		switch {
		case m.focused().Filter() != "":
			m = m.setFocused(m.focused().SetFilter(""))
		case m.drill != "":
			m = m.drillInto("")
			m = m.focusKind(kube.KindNamespace)
		}
	case key.Matches(k, keymap.Table.Enter):
		if r, ok := m.focused().Selected(); ok && r.Kind == kube.KindNamespace {
			m = m.drillInto(r.Name)
			m = m.focusKind(kube.KindPod)
		}
	default:
		if i, ok := m.numberKey(k); ok {
			m.focus = i
			return m, nil
		}
		var cmd tea.Cmd
		p, cmd := m.focused().Update(k)
		return m.setFocused(p), cmd
	}
	return m, nil
}

// numberKey maps 1…9 to the panes in registry order.
func (m Model) numberKey(k tea.KeyPressMsg) (int, bool) {
	for i, b := range keymap.Global.Panes {
		if i < len(m.panes) && key.Matches(k, b) {
			return i, true
		}
	}
	return 0, false
}

// nextGridPane is the pane dir steps from the focused one in tab order:
// among the grid panes while the grid is shown, else among all panes.
func (m Model) nextGridPane(dir int) int {
	order := m.gridPanes()
	if !m.grid() {
		order = make([]int, len(m.panes))
		for i := range order {
			order[i] = i
		}
	}
	at := 0
	for i, p := range order {
		if p == m.focus {
			at = i
		}
	}
	n := len(order)
	return order[((at+dir)%n+n)%n]
}

// focusKind focuses the pane that lists objects of kind k.
func (m Model) focusKind(k kube.Kind) Model {
	if i, ok := m.paneFor(k); ok {
		m.focus = i
	}
	return m
}

func (m Model) drillInto(ns string) Model {
	m.drill = ns
	m = m.eachPane(func(p pane.Resource) pane.Resource { return p.SetNamespace(ns) })
	if ns != "" {
		if i, ok := m.paneFor(kube.KindNamespace); ok {
			p, _ := m.panes[i].pane.Select(kube.Ref{Kind: kube.KindNamespace, Name: ns})
			m.panes[i].pane = p
		}
	}
	return m
}

// grid reports whether the four grid panes fit and the focused pane is one
// of them; otherwise only the focused pane is drawn, full size.
func (m Model) grid() bool {
	return !m.zoom && m.width >= 60 && m.height >= 16 && m.panes[m.focus].grid && len(m.gridPanes()) == 4
}

// stripLines is 1 when the mesh-overhead strip fits above the panes.
func (m Model) stripLines() int {
	if m.grid() && m.height >= 20 {
		return 1
	}
	return 0
}

// gridSizes returns the four grid cells' widths and heights.
func (m Model) gridSizes() (w [4]int, h [4]int) {
	body := max(0, m.height-1-m.stripLines())
	left := m.leftWidth()
	right := m.width - left - 1 // one column gap
	// Namespaces and workloads have the most rows: give them more height.
	top := body * 3 / 5
	bottom := body - top
	return [4]int{left, right, left, right}, [4]int{top, top, bottom, bottom}
}

// leftWidth is the grid's left column: as wide as its panes' content
// wants, between a third and half of the screen, the rest going to the
// workloads and policies on the right.
func (m Model) leftWidth() int {
	type wants interface{ Wants() int }
	want := 0
	g := m.gridPanes()
	for _, c := range []int{0, 2} {
		if c < len(g) {
			if p, ok := m.panes[g[c]].pane.(wants); ok {
				want = max(want, p.Wants())
			}
		}
	}
	if want == 0 {
		return m.width / 2
	}
	return min(max(want, m.width/3), m.width/2)
}

func (m Model) resize() Model {
	bw, bh := m.width, max(0, m.height-1)
	m.stack = mapStack(m.stack, func(o overlay) overlay { return o.SetSize(bw, bh) })
	full := max(0, m.height-1)
	gridIdx := map[int]int{}
	if m.width >= 60 && m.height >= 16 {
		for c, i := range m.gridPanes() {
			gridIdx[i] = c
		}
	}
	_, h := m.gridSizes()
	panes := make([]registration, len(m.panes))
	for i, r := range m.panes {
		// A grid pane keeps its grid height so moving between grid panes
		// does not jump the cursor; full-width panes get the whole body.
		if c, ok := gridIdx[i]; ok && len(gridIdx) == 4 {
			r.pane = r.pane.SetSize(0, h[c])
		} else {
			r.pane = r.pane.SetSize(0, full)
		}
		panes[i] = r
	}
	m.panes = panes
	return m
}

// View renders the whole screen.
func (m Model) View() tea.View {
	v := tea.NewView(m.frame())
	v.AltScreen = true
	if !m.opt.NoMouse {
		// Cell motion reports clicks and the wheel (see mouse.go).
		v.MouseMode = tea.MouseModeCellMotion
	}
	return v
}

// Render renders the screen as a string (View wraps it for Bubble Tea;
// tests read it directly).
func (m Model) Render() string {
	if m.width <= 0 || m.height <= 0 {
		return ""
	}
	bodyH := max(0, m.height-1)
	// The screen is the top full-screen overlay (or the panes) with every
	// dialog above it drawn over it in order.
	base := -1
	for i := len(m.stack) - 1; i >= 0; i-- {
		if _, ok := m.stack[i].(dialog); !ok {
			base = i
			break
		}
	}
	var body string
	switch {
	case base >= 0:
		body = m.stack[base].View(m.width, bodyH)
	case m.grid():
		w, h := m.gridSizes()
		g := m.gridPanes()
		view := func(c int) string { i := g[c]; return m.panes[i].pane.View(w[c], h[c], m.focus == i) }
		gap := strings.Repeat(" \n", max(0, h[0]-1)) + " "
		gap2 := strings.Repeat(" \n", max(0, h[2]-1)) + " "
		top := lipgloss.JoinHorizontal(lipgloss.Top, view(0), gap, view(1))
		bottom := lipgloss.JoinHorizontal(lipgloss.Top, view(2), gap2, view(3))
		body = top + "\n" + bottom
		if m.stripLines() > 0 {
			body = m.strip() + "\n" + body
		}
	default:
		body = m.focused().View(m.width, bodyH, true)
	}
	if m.height > 1 {
		body += "\n"
	} else {
		body = ""
	}
	screen := body + m.statusBar()
	for _, o := range m.stack[base+1:] {
		screen = m.overlay(screen, o.View(m.width, m.height))
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

// lastEvent is " · last change 2m ago", from the watch's last event (or the
// snapshot's time when the watch reported none).
func (m Model) lastEvent() string {
	at := m.snap.LastEvent
	if at.IsZero() {
		if !m.snap.Reachable {
			// No object ever arrived: an age would read as fresh data.
			return " · nothing read yet"
		}
		at = m.snap.Taken
	}
	return " · last change " + changeAge(m.opt.Now().Sub(at)) + " ago"
}

// headerShown reports whether the header line is on screen: the grid is
// drawn (no full-screen overlay over it) and has room for it.
func (m Model) headerShown() bool {
	if m.stripLines() == 0 {
		return false
	}
	for _, o := range m.stack {
		if _, ok := o.(dialog); !ok {
			return false
		}
	}
	return true
}

// badge is the findings count at the header's right end.
func (m Model) badge() string { return findings.Badge(m.theme, m.snap, max(0, m.width/2)) }

// strip is the header line above the grid: the mesh overhead on the left,
// the findings badge on the right.
func (m Model) strip() string {
	badge := m.badge()
	return m.overhead.View(m.width-lipgloss.Width(badge), 1, false) + badge
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
	// The Istio version at a glance; a status message needs the room more,
	// unless the version is only assumed, which must stay on screen.
	if m.snap != nil && m.snap.Install.Discovered && (!m.showingStatus() || m.snap.Install.Assumed()) {
		left = append(left, t.BarHint.Render(" "+safe.Line(m.snap.Install.Headline())))
	}
	if m.opt.ReadOnly {
		left = append(left, t.BarReadOnly.Render(" READ-ONLY "))
	}
	switch {
	case m.snap == nil:
		left = append(left, t.BarHint.Render(" connecting…"))
	case !m.snap.Reachable:
		left = append(left, t.BarBad.Render(" ✖ "+safe.Line(m.snap.Problem)+" "))
		if !m.showingStatus() && m.prompt.mode == promptOff {
			left = append(left, t.BarHint.Render(m.lastEvent()))
		}
	default:
		// Whether the watch is live and when it last saw a change are
		// two facts: a quiet cluster's last change can be an hour old
		// while every event would still arrive at once.
		live := " ● connected · watch live"
		for _, r := range kube.Resources {
			if m.snap.State(r).Availability == kube.Syncing {
				live = " ● connected · loading…"
				break
			}
		}
		left = append(left, t.BarOK.Render(live))
		if !m.showingStatus() && m.prompt.mode == promptOff {
			// A message needs the room more than the age does.
			left = append(left, t.BarHint.Render(m.lastEvent()))
		}
	}
	if !m.headerShown() && !m.showingStatus() && m.prompt.mode == promptOff && m.write.step == "" {
		// No header on this screen: the findings count goes here, unless
		// a message needs the room.
		left = append(left, findings.Badge(t, m.snap, max(0, m.width/4)))
	}
	if m.drill != "" {
		left = append(left, t.BarFilter.Render(" ns:"+safe.Line(m.drill)))
	}
	l := strings.Join(left, "")
	var right string
	switch {
	case m.prompt.mode != promptOff:
		right = m.promptView(t)
	case m.write.step != "":
		right = t.BarMessage.Render(" " + safe.Line(m.write.step) + " ")
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
	if gapW < 1 && m.prompt.mode != promptOff {
		// The line being typed must show whatever the state says (a
		// long "cannot reach" is when :ctx is wanted most): the left
		// is cut instead.
		l = lipgloss.NewStyle().MaxWidth(max(0, m.width-lipgloss.Width(right)-1)).Render(l)
		return fitLine(l+t.Bar.Render(" ")+right, m.width, t)
	}
	if gapW < 1 {
		// Narrow: the context and state matter more than the hints.
		line := l + t.Bar.Render(" ") + right
		return fitLine(line, m.width, t)
	}
	return l + t.Bar.Render(strings.Repeat(" ", gapW)) + right
}

// showingStatus reports whether a status message is on screen.
func (m Model) showingStatus() bool {
	return m.prompt.mode == promptOff && m.status != "" && m.opt.Now().Before(m.statusUntil)
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
	// Each hint is the keymap's binding with a shorter word: the key shown
	// is the binding's own, so a rebound key never leaves a stale hint, and
	// a binding switched off (read-only) is not offered.
	hint := func(b key.Binding, short string) (key.Binding, bool) {
		if !b.Enabled() || len(b.Keys()) == 0 {
			return b, false
		}
		return key.NewBinding(key.WithKeys(b.Keys()...), key.WithHelp(b.Help().Key, short)), true
	}
	var bindings []key.Binding
	add := func(b key.Binding, short string) {
		if h, ok := hint(b, short); ok {
			bindings = append(bindings, h)
		}
	}
	add(keymap.Global.Help, "help")
	add(keymap.Global.Filter, "filter")
	sel, _ := m.focused().Selected()
	if sel.Kind == kube.KindNamespace {
		add(keymap.Table.Enter, "drill")
	}
	if m.drill != "" {
		add(keymap.Global.Back, "back")
	}
	add(keymap.Table.Detail, "detail")
	add(keymap.Global.Findings, "findings")
	if sel.Kind == kube.KindPod || sel.Kind == kube.KindNamespace {
		add(keymap.Action.Logs, "logs")
		add(keymap.Action.NetPol, "hbone")
		if m.canWrite() {
			add(keymap.Action.Toggle, "ambient")
			if sel.Kind == kube.KindNamespace && whatif.MigrationOf(m.snap, sel.Name).Sidecars > 0 {
				add(keymap.Migrate.Start, "migrate")
			}
		}
	}
	add(keymap.Global.Quit, "quit")
	pairs := make([][2]string, len(bindings))
	for i, b := range bindings {
		pairs[i] = [2]string{b.Help().Key, b.Help().Desc}
	}
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
