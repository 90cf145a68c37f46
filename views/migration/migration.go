// Package migration is the progress view of a sidecar-to-ambient
// migration: per restarted workload, how many of the pods that had
// sidecars are replaced and how many replacements ambient captured, the
// namespace's state as it changes, and a clear word when a rollout stalls
// or the whole migration runs out of time. It renders from snapshots and
// the clock it is given; it knows nothing of the API server.
package migration

import (
	"fmt"
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// Defaults for how long the view waits. A rollout that replaces nothing
// for Stall is said to stall; past Timeout the migration is given up on.
const (
	DefaultStall   = 90 * time.Second
	DefaultTimeout = 5 * time.Minute
)

// Workload is one rollout followed: its owner as ambient.PodInfo.Owner and
// the sidecar pods it had when the migration started.
type Workload struct {
	Owner string
	Old   []string
}

// Progress is one workload's rollout as the last snapshot shows it.
type Progress struct {
	Owner string
	// Total is how many pods had sidecars at the start.
	Total int
	// Replaced counts old pods gone; OldLeft those still there.
	Replaced, OldLeft int
	// New are the replacement pods seen; Captured those ambient carries,
	// Sidecar those injected again, Waiting the rest.
	New, Captured, Sidecar, Waiting int
	// Problem is why a waiting replacement is not captured, from the
	// analysis, when one is not.
	Problem string
	// Done: every old pod replaced and every replacement captured.
	Done bool
}

// Model is the migration progress view.
type Model struct {
	theme     *theme.Theme
	ns        string
	workloads []Workload
	snap      *kube.Snapshot
	start     time.Time
	now       time.Time
	stall     time.Duration
	timeout   time.Duration
	// lastMove is when any rollout last made progress; moved is the sum
	// progress was last measured at.
	lastMove time.Time
	moved    int
	rows     []Progress
	offset   int
	height   int
	// why is what the controllers and events say stops each workload's
	// rollout, by owner, read once the migration stalls (SetWhy).
	why map[string][]string
}

// New follows the migration of ns started at start, of the given
// workloads (restart targets), from snapshot s.
func New(t *theme.Theme, ns string, workloads []Workload, s *kube.Snapshot, start time.Time) Model {
	m := Model{theme: t, ns: ns, workloads: slices.Clone(workloads), start: start, now: start, lastMove: start,
		stall: DefaultStall, timeout: DefaultTimeout}
	return m.SetSnapshot(s)
}

// WithLimits sets the stall and timeout durations (tests shorten them).
func (m Model) WithLimits(stall, timeout time.Duration) Model {
	m.stall, m.timeout = stall, timeout
	return m
}

// Namespace is the namespace followed.
func (m Model) Namespace() string { return m.ns }

// SetSnapshot measures the rollouts in s.
func (m Model) SetSnapshot(s *kube.Snapshot) Model {
	if s == nil {
		return m
	}
	m.snap = s
	m.rows = measure(s, m.ns, m.workloads)
	sum := 0
	for _, r := range m.rows {
		sum += r.Replaced + r.Captured
	}
	if sum != m.moved {
		m.moved, m.lastMove = sum, m.now
	}
	return m
}

// Tick moves the view's clock, for stall and timeout.
func (m Model) Tick(now time.Time) Model {
	if now.After(m.now) {
		m.now = now
	}
	return m
}

// SetSize records the height, for scrolling.
func (m Model) SetSize(_, h int) Model { m.height = h; return m }

// Update scrolls.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if to, ok := pane.ScrollTo(k, m.offset, max(1, m.height-2)); ok {
			m.offset = max(0, to)
		}
	}
	return m, nil
}

// SetWhy records why owner's rollout does not move: its Deployment's
// conditions and its recent Warning events, as read for a stall.
func (m Model) SetWhy(owner string, lines []string) Model {
	why := make(map[string][]string, len(m.why)+1)
	for k, v := range m.why {
		why[k] = v
	}
	why[owner] = slices.Clone(lines)
	m.why = why
	return m
}

// Unfinished are the owners whose rollout is not done.
func (m Model) Unfinished() []string {
	var out []string
	for _, r := range m.rows {
		if !r.Done {
			out = append(out, r.Owner)
		}
	}
	return out
}

// Rows returns the progress of each workload, in the order given.
func (m Model) Rows() []Progress { return slices.Clone(m.rows) }

// Done reports whether every rollout finished with its pods captured.
func (m Model) Done() bool {
	for _, r := range m.rows {
		if !r.Done {
			return false
		}
	}
	return true
}

// Stalled reports whether nothing moved for the stall time, unfinished.
func (m Model) Stalled() bool { return !m.Done() && m.now.Sub(m.lastMove) >= m.stall }

// TimedOut reports whether the migration ran past its timeout unfinished.
func (m Model) TimedOut() bool { return !m.Done() && m.now.Sub(m.start) >= m.timeout }

// Status is the one line that sums the migration up.
func (m Model) Status() (string, theme.Tone) {
	elapsed := m.now.Sub(m.start).Truncate(time.Second)
	switch {
	case m.Done():
		return fmt.Sprintf("%s migrated to ambient in %s: every restarted pod came back captured", m.ns, elapsed), theme.ToneGood
	case m.TimedOut():
		return fmt.Sprintf("timed out after %s: %s; ambx stopped waiting, the rollouts may still finish", m.timeout, m.unfinished()), theme.ToneBad
	case m.Stalled():
		return fmt.Sprintf("stalled: nothing moved for %s; %s", m.now.Sub(m.lastMove).Truncate(time.Second), m.unfinished()), theme.ToneBad
	}
	return fmt.Sprintf("migrating %s… %s elapsed", m.ns, elapsed), theme.ToneInfo
}

// unfinished names the rollouts not done and why, for stall messages.
func (m Model) unfinished() string {
	var parts []string
	for _, r := range m.rows {
		if r.Done {
			continue
		}
		s := fmt.Sprintf("%s has %d of %d replaced", r.Owner, r.Replaced, r.Total)
		switch {
		case r.Sidecar > 0:
			s += fmt.Sprintf(", %d came back with a sidecar", r.Sidecar)
		case r.Problem != "":
			s += " (" + r.Problem + ")"
		case len(m.why[r.Owner]) > 0:
			s += " (" + m.why[r.Owner][0] + ")"
		case r.OldLeft > 0:
			kind, name, _ := strings.Cut(r.Owner, "/")
			s += fmt.Sprintf(" (kubectl rollout status %s %s -n %s)", kind, name, m.ns)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// measure compares each workload's pods in s with the old ones.
func measure(s *kube.Snapshot, ns string, workloads []Workload) []Progress {
	if s.Mesh == nil {
		return nil
	}
	byOwner := map[string][]*corev1.Pod{}
	for _, p := range s.Pods {
		if p == nil || p.Namespace != ns {
			continue
		}
		o := s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Owner
		byOwner[o] = append(byOwner[o], p)
	}
	out := make([]Progress, 0, len(workloads))
	for _, wl := range workloads {
		r := Progress{Owner: wl.Owner, Total: len(wl.Old)}
		old := map[string]bool{}
		for _, n := range wl.Old {
			old[n] = true
		}
		for _, p := range byOwner[wl.Owner] {
			info := s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
			if old[p.Name] {
				r.OldLeft++
				continue
			}
			if p.DeletionTimestamp != nil {
				continue
			}
			r.New++
			switch info.State {
			case ambient.PodCaptured:
				r.Captured++
			case ambient.PodSidecar:
				r.Sidecar++
			default:
				r.Waiting++
				if r.Problem == "" && info.State != ambient.PodUncaptured {
					r.Problem = p.Name + " is " + string(info.State) + ": " + info.Reason
				}
			}
		}
		r.Replaced = r.Total - r.OldLeft
		r.Done = r.OldLeft == 0 && r.Sidecar == 0 && r.Waiting == 0 && r.Captured >= min(r.Total, max(r.New, 1))
		out = append(out, r)
	}
	return out
}

type line struct {
	text string
	tone theme.Tone
	head bool
}

func (m Model) lines() []line {
	var out []line
	add := func(tone theme.Tone, format string, a ...any) {
		out = append(out, line{text: fmt.Sprintf(format, a...), tone: tone})
	}
	st, tone := m.Status()
	add(tone, "%s", st)
	if m.snap == nil || m.snap.Mesh == nil {
		add(theme.ToneDim, "waiting for the cluster…")
		return out
	}
	info := m.snap.Mesh.Namespaces[m.ns]
	g := pane.NamespaceGlyph(info.State)
	out = append(out, line{})
	out = append(out, line{text: "Namespace " + m.ns, head: true})
	add(g.Tone, "state      %s %s", g.Mark, info.State)
	add(theme.ToneNormal, "migration  %s", whatif.MigrationOf(m.snap, m.ns))
	if !m.snap.Reachable {
		add(theme.ToneWarn, "the API server does not answer: counts are as of the last snapshot")
	}
	out = append(out, line{})
	out = append(out, line{text: fmt.Sprintf("%-34s %9s %9s %8s  %s", "WORKLOAD", "REPLACED", "CAPTURED", "SIDECAR", "STATE"), head: true})
	if len(m.rows) == 0 {
		add(theme.ToneDim, "no workload was restarted: the namespace label alone moves its pods")
	}
	for _, r := range m.rows {
		state, tone := "rolling", theme.ToneInfo
		switch {
		case r.Done:
			state, tone = "done", theme.ToneGood
		case r.Sidecar > 0:
			state, tone = "sidecar again", theme.ToneBad
		case m.Stalled() || m.TimedOut():
			state, tone = "stalled", theme.ToneBad
		case r.OldLeft == 0:
			state = "capturing"
		}
		add(tone, "%-34s %9s %9s %8d  %s", r.Owner, fmt.Sprintf("%d/%d", r.Replaced, r.Total), fmt.Sprintf("%d/%d", r.Captured, max(r.New, r.Total)), r.Sidecar, state)
		if r.Problem != "" && !r.Done {
			add(theme.ToneWarn, "  %s", r.Problem)
		}
		if !r.Done {
			for _, w := range m.why[r.Owner] {
				add(theme.ToneBad, "  %s", w)
			}
		}
	}
	return out
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width < 1 || height < 1 {
		return ""
	}
	t := m.theme
	ls := m.lines()
	body := height - 1
	off := min(m.offset, max(0, len(ls)-body))
	title := " Migration of " + m.ns + " to ambient"
	if len(ls) > body {
		title += fmt.Sprintf(" (%d-%d of %d)", off+1, min(off+body, len(ls)), len(ls))
	}
	rows := []string{t.OverlayTitle.Render(pane.Fit(safe.Line(title), width))}
	for i := off; i < len(ls) && len(rows) < height; i++ {
		l := ls[i]
		text := pane.Fit(safe.Line(l.text), width)
		if l.head {
			rows = append(rows, t.Header.Render(text))
		} else {
			rows = append(rows, t.Tone(l.tone).Render(text))
		}
	}
	for len(rows) < height {
		rows = append(rows, strings.Repeat(" ", width))
	}
	return strings.Join(rows, "\n")
}
