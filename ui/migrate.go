package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/views/migration"
)

// The sidecar-to-ambient migration (M): a plan built in a command (it lists
// the namespace's workloads), the usual access review and confirm dialog
// with the what-if of the whole migration, then a progress overlay that
// follows the rollouts snapshot by snapshot.

// migrate plans the migration of the namespace in scope.
func (m Model) migrate() (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	name := m.scopeNamespace()
	if name == "" || m.snap == nil {
		return m, status("select a namespace to migrate it from sidecars to ambient", false)
	}
	ns := m.namespaceObject(name)
	if ns == nil {
		return m, status("namespace "+name+" is not in the cluster any more", true)
	}
	w, snap, ctx := m.opt.Writer, m.snap, m.opt.Ctx
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, applyTimeout)
		defer cancel()
		p, err := w.MigratePlan(ctx, ns, snap)
		return planMsg{plan: p, err: err}
	}
}

func (m Model) namespaceObject(name string) *corev1.Namespace {
	if m.snap == nil {
		return nil
	}
	for _, ns := range m.snap.Namespaces {
		if ns != nil && ns.Name == name {
			return ns
		}
	}
	return nil
}

// isMigration reports whether a plan is a migration (MigratePlan's IDs).
func isMigration(p writer.Plan) bool { return strings.HasPrefix(p.ID, "migrate ") }

// migrationWorkloads lists the rollouts a migration plan starts, each with
// the pods it has now: those are the pods its restart replaces.
func (m Model) migrationWorkloads(p writer.Plan) []migration.Workload {
	if !isMigration(p) || m.snap == nil || m.snap.Mesh == nil {
		return nil
	}
	var out []migration.Workload
	for _, t := range p.Targets {
		if t.Kind == writer.KindNamespace {
			continue
		}
		owner := strings.ToLower(t.Kind) + "/" + t.Name
		wl := migration.Workload{Owner: owner}
		for _, pod := range m.snap.Pods {
			if pod == nil || pod.Namespace != t.Namespace || pod.DeletionTimestamp != nil {
				continue
			}
			if m.snap.Mesh.Pods[ambient.Key{Namespace: pod.Namespace, Name: pod.Name}].Owner == owner {
				wl.Old = append(wl.Old, pod.Name)
			}
		}
		out = append(out, wl)
	}
	// An empty, non-nil list still means "a migration is being applied".
	if out == nil {
		out = []migration.Workload{}
	}
	return out
}

// followMigration opens the progress overlay once the migration is applied.
func (m Model) followMigration(p writer.Plan, wls []migration.Workload, done string) (Model, tea.Cmd) {
	v := migration.New(m.theme, p.Target.Name, wls, m.snap, m.opt.Now())
	return m.push(migrationOverlay{m: v, why: m.rolloutWhy()}), status(done, false)
}

// whyEvery is how often a stalled migration reads again why it stalls.
const whyEvery = 15 * time.Second

// rolloutWhyMsg carries why each unfinished rollout of ns stalls.
type rolloutWhyMsg struct {
	ns  string
	why map[string][]string
}

// rolloutWhy reads, in a command, why rollouts stall: each Deployment's
// conditions (ProgressDeadlineExceeded, ReplicaFailure) and the recent
// Warning events of the workload's objects in the namespace.
func (m Model) rolloutWhy() func(ns string, owners []string) tea.Cmd {
	w, events, ctx, now := m.opt.Writer, m.opt.Events, m.opt.Ctx, m.opt.Now
	if w == nil {
		return nil
	}
	return func(ns string, owners []string) tea.Cmd {
		return func() tea.Msg {
			ctx, cancel := context.WithTimeout(ctx, applyTimeout)
			defer cancel()
			var evs kube.Events
			var evErr error
			if events != nil {
				evs, evErr = events(ctx, kube.Ref{Kind: kube.KindNamespace, Name: ns}, now())
			}
			out := map[string][]string{}
			for _, o := range owners {
				lines, err := w.RolloutWhy(ctx, ns, o)
				if err != nil {
					lines = append(lines, "its "+o+" could not be read: "+err.Error())
				}
				lines = append(lines, warningsAbout(evs, o)...)
				if evErr != nil {
					lines = append(lines, "its events could not be read: "+evErr.Error())
				}
				out[o] = lines
			}
			return rolloutWhyMsg{ns: ns, why: out}
		}
	}
}

// warningsAbout are the newest Warning events about owner's objects: the
// workload itself, its ReplicaSets and pods, named after it.
func warningsAbout(evs kube.Events, owner string) []string {
	_, name, _ := strings.Cut(owner, "/")
	var out []string
	for _, e := range evs.Items {
		if e.Type != corev1.EventTypeWarning || len(out) == 3 {
			continue
		}
		_, obj, _ := strings.Cut(e.Object, "/")
		if obj == name || strings.HasPrefix(obj, name+"-") {
			out = append(out, "Warning "+e.Reason+" on "+e.Object+": "+e.Message)
		}
	}
	return out
}

// migrationOverlay is the progress view of a migration.
type migrationOverlay struct {
	m migration.Model
	// said is the last verdict put on the status bar, so each is said once.
	said string
	// why reads why the unfinished rollouts stall; asked is when it last
	// did.
	why   func(ns string, owners []string) tea.Cmd
	asked time.Time
}

func (o migrationOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && closes(k) {
		return nil, nil
	}
	if w, ok := msg.(rolloutWhyMsg); ok {
		if w.ns == o.m.Namespace() {
			for owner, lines := range w.why {
				o.m = o.m.SetWhy(owner, lines)
			}
		}
		return o, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o migrationOverlay) View(w, h int) string     { return o.m.View(w, h) }
func (o migrationOverlay) SetSize(w, h int) overlay { o.m = o.m.SetSize(w, h); return o }
func (o migrationOverlay) SetSnapshot(s *kube.Snapshot) overlay {
	o.m = o.m.SetSnapshot(s)
	return o // the next Tick puts a new verdict on the status bar
}
func (o migrationOverlay) Close() {}

// Tick moves the progress clock: a stall or timeout is a matter of time.
func (o migrationOverlay) Tick(now time.Time) (overlay, tea.Cmd) {
	o.m = o.m.Tick(now)
	var ask tea.Cmd
	if (o.m.Stalled() || o.m.TimedOut()) && o.why != nil && (o.asked.IsZero() || now.Sub(o.asked) >= whyEvery) {
		o.asked = now
		ask = o.why(o.m.Namespace(), o.m.Unfinished())
	}
	o2 := o.verdict()
	if o2.(migrationOverlay).said != o.said {
		line, _ := o2.(migrationOverlay).m.Status()
		return o2, tea.Batch(ask, status(line, !o2.(migrationOverlay).m.Done()))
	}
	return o2, ask
}

// verdict records the verdict reached (done, stalled, timed out).
func (o migrationOverlay) verdict() overlay {
	switch {
	case o.m.Done():
		o.said = "done"
	case o.m.TimedOut():
		o.said = "timeout"
	case o.m.Stalled():
		o.said = "stalled"
	default:
		o.said = ""
	}
	return o
}

// podPlan chooses what a on a pod does: its own ambient label in a
// namespace that is not enrolled (or to take that label off again), else
// the opt-out.
func (m Model) podPlan(p *corev1.Pod) (writer.Plan, error) {
	switch p.Labels[ambient.LabelDataplaneMode] {
	case "ambient":
		return m.opt.Writer.TogglePodAmbient(p, m.snap)
	case "none":
		return m.opt.Writer.TogglePodOptOut(p, m.snap)
	}
	if ns := m.namespaceObject(p.Namespace); ns != nil && ns.Labels[ambient.LabelDataplaneMode] != "ambient" {
		return m.opt.Writer.TogglePodAmbient(p, m.snap)
	}
	return m.opt.Writer.TogglePodOptOut(p, m.snap)
}

// restartHint words a restart that found nothing to do, pointing at M
// when the namespace's sidecar pods are what is left to move.
func restartHint(err error, snap *kube.Snapshot, ns string) error {
	if writer.KindOf(err) != writer.KindNothing {
		return err
	}
	if mg := whatif.MigrationOf(snap, ns); mg.Sidecars > mg.OnRestart {
		return fmt.Errorf("M migrates it to ambient: its %d sidecar pods stay on sidecars while %s (%s)", mg.Sidecars, migrationBlocker(mg, ns), err.Error())
	}
	return err
}

func migrationBlocker(mg whatif.Migration, ns string) string {
	switch {
	case mg.Injects != "" && !mg.Enrolled:
		return ns + " has " + mg.Injects + " and is not enrolled"
	case mg.Injects != "":
		return ns + " has " + mg.Injects
	}
	return ns + " is not enrolled"
}
