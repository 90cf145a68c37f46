package ui

import (
	"context"
	"fmt"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/views/confirm"
	"github.com/ambx/ambx/views/migration"
)

// Every write goes one way: a plan (planMsg) → the API server's access
// review (accessMsg) → the confirm dialog → apply → the result
// (WriteResultMsg). Each step is a message, so nothing blocks Update and the
// status bar can say which step is under way.

// applyTimeout bounds one access review or apply: a hung API server must
// not leave "applying…" on screen for ever.
const applyTimeout = 30 * time.Second

// WriteResultMsg is the outcome of an applied plan.
type WriteResultMsg struct {
	Plan writer.Plan
	Done string
	Err  error
}

// planMsg carries a plan, built in Update or in a command (restarts list
// workloads first).
type planMsg struct {
	plan writer.Plan
	err  error
}

// accessMsg is the answer of the access review for plan.
type accessMsg struct {
	plan writer.Plan
	err  error
}

// whatIfMsg carries the what-if of the plan with ID id, run in a command:
// it re-analyses the whole snapshot, too slow for Update on a big cluster.
type whatIfMsg struct {
	id    string
	lines []string
}

// whatIfCmd runs the plan's what-if. The analysis is pure; a panic in it
// is reported in the dialog as a what-if that could not run, never as a
// clean result.
func whatIfCmd(plan writer.Plan) tea.Cmd {
	return func() (msg tea.Msg) {
		defer func() {
			if r := recover(); r != nil {
				msg = whatIfMsg{id: plan.ID, lines: []string{fmt.Sprintf("What-if: the analysis failed (%v): what this write would break is unknown", r)}}
			}
		}()
		return whatIfMsg{id: plan.ID, lines: plan.WhatIf()}
	}
}

// writeState is the write in flight, at most one.
type writeState struct {
	// step is what the status bar shows while a command runs: "checking
	// access…" or "applying …"; empty when idle.
	step string
	// pending is the plan the open confirm dialog asks about.
	pending writer.Plan
	// enrolled is the namespace just labelled ambient: the first snapshot
	// that shows it enrolled says whether a restart is advised.
	enrolled string
	// migrating are the rollouts a migration plan being applied starts,
	// with their sidecar pods as the user confirmed (see migrate.go).
	migrating []migration.Workload
	// whatIfFor is the plan whose what-if is running or has arrived;
	// whatIf its lines, whatIfDone once they came.
	whatIfFor  string
	whatIf     []string
	whatIfDone bool
}

func (m Model) canWrite() bool { return m.opt.Writer != nil && !m.opt.ReadOnly }

// readOnly is the answer to a write key in read-only mode.
func readOnly() tea.Cmd { return status("read-only mode: changes are disabled", true) }

// askPlan starts the write flow for a plan built in Update.
func (m Model) askPlan(plan writer.Plan, err error) (Model, tea.Cmd) {
	return m.reviewPlan(planMsg{plan: plan, err: err})
}

// reviewPlan asks the API server whether the user may apply the plan.
func (m Model) reviewPlan(p planMsg) (Model, tea.Cmd) {
	if p.err != nil {
		return m, status(p.err.Error(), true)
	}
	if p.plan.ID == "" {
		return m, nil
	}
	if !m.canWrite() {
		return m, readOnly()
	}
	if m.write.step != "" {
		return m, status("wait: "+m.write.step, true)
	}
	m.write.step = "checking access…"
	w, ctx, plan := m.opt.Writer, m.opt.Ctx, p.plan
	access := func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, applyTimeout)
		defer cancel()
		ok, reason, err := w.CanApply(ctx, plan)
		if err == nil && !ok {
			err = fmt.Errorf("not allowed: %s", reason)
		}
		return accessMsg{plan: plan, err: err}
	}
	m.write.whatIfFor, m.write.whatIf, m.write.whatIfDone = "", nil, false
	if !plan.HasWhatIf() {
		return m, access
	}
	// The what-if runs beside the access review; the dialog waits for it.
	m.write.whatIfFor = plan.ID
	return m, tea.Batch(access, whatIfCmd(plan))
}

// whatIfArrived puts the what-if into the dialog of its plan, or keeps it
// for the dialog the access review is about to open.
func (m Model) whatIfArrived(msg whatIfMsg) (Model, tea.Cmd) {
	if msg.id == "" || msg.id != m.write.whatIfFor {
		return m, nil // a plan no longer under review
	}
	m.write.whatIf, m.write.whatIfDone = msg.lines, true
	for i, o := range m.stack {
		if c, ok := o.(confirmOverlay); ok && c.m.ID() == msg.id && c.m.Checking() {
			c.m = c.m.WhatIf(msg.lines)
			stack := append([]overlay(nil), m.stack...)
			stack[i] = c
			m.stack = stack
		}
	}
	return m, nil
}

// showPlan opens the confirm dialog for a plan the user may apply.
func (m Model) showPlan(a accessMsg) (Model, tea.Cmd) {
	m.write.step = ""
	if a.err != nil {
		return m, status(a.err.Error(), true)
	}
	m.write.pending = a.plan
	c := confirm.FromPlan(m.theme, a.plan)
	if c.Checking() && m.write.whatIfDone && m.write.whatIfFor == a.plan.ID {
		c = c.WhatIf(m.write.whatIf)
	}
	// The dialog takes no answer until its guard time has passed.
	return m.push(confirmOverlay{m: c}), c.Init()
}

// answered applies the plan when the dialog said yes to it.
func (m Model) answered(r confirm.Result) (Model, tea.Cmd) {
	if _, ok := m.topOverlay().(confirmOverlay); ok {
		m = m.pop()
	}
	plan := m.write.pending
	m.write.pending = writer.Plan{}
	m.write.whatIfFor, m.write.whatIf, m.write.whatIfDone = "", nil, false
	if !r.Confirmed || r.ID != plan.ID || plan.ID == "" {
		return m, status("cancelled: nothing changed", false)
	}
	if !m.canWrite() {
		return m, readOnly()
	}
	m.write.migrating = m.migrationWorkloads(plan)
	m.write.step = "applying " + plan.Title + "…"
	w, ctx := m.opt.Writer, m.opt.Ctx
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, applyTimeout)
		defer cancel()
		done, err := w.Apply(ctx, plan)
		return WriteResultMsg{Plan: plan, Done: done, Err: err}
	}
}

// written reports the result of an apply.
func (m Model) written(r WriteResultMsg) (Model, tea.Cmd) {
	m.write.step = ""
	migrating := m.write.migrating
	m.write.migrating = nil
	if r.Err != nil {
		return m, status(r.Err.Error(), true)
	}
	if isMigration(r.Plan) {
		return m.followMigration(r.Plan, migrating, r.Done)
	}
	if next, cmd, ok := m.followWaypoint(r); ok {
		return next, cmd
	}
	done := r.Done
	if r.Plan.Target.Kind == "Namespace" && strings.HasSuffix(done, "=ambient") {
		// istio-cni captures running pods itself; a restart is for the
		// ones it could not. Offer R only once the analysis of the
		// enrolled namespace says some pod needs one (restartAdvice).
		m.write.enrolled = r.Plan.Target.Name
	}
	return m, status(done, false)
}

// restartAdvice follows an enrollment: once a snapshot shows the namespace
// enrolled, the status bar offers R only if the analysis marks pods as
// needing a restart, and names how many; otherwise it says none do.
func (m Model) restartAdvice() (Model, tea.Cmd) {
	ns := m.write.enrolled
	if ns == "" || m.snap == nil || m.snap.Mesh == nil {
		return m, nil
	}
	info, ok := m.snap.Mesh.Namespaces[ns]
	if !ok || info.State != ambient.NamespaceAmbient && info.State != ambient.NamespaceMixed {
		return m, nil // not seen enrolled yet
	}
	m.write.enrolled = ""
	if n := info.Counts[ambient.PodNeedsRestart]; n > 0 {
		return m, status(fmt.Sprintf("%s: %d %s a restart to join · R to restart", ns, n, plural(n, "pod needs", "pods need")), false)
	}
	return m, status(ns+" enrolled: the analysis finds no pod needing a restart", false)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
