package ui

import (
	"context"
	"fmt"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/views/confirm"
	"github.com/ambx/ambx/views/detail"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/logs"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/patch"
	"github.com/ambx/ambx/views/picker"
)

// modal is a view that takes the keyboard until esc closes it. Modals stack:
// findings → patch → esc returns to findings.
type modal int

const (
	modalHelp modal = iota + 1
	modalFindings
	modalDetail
	modalPatch
	modalLogs
	modalConfirm
	modalOverhead
	modalPicker
)

// WriteResultMsg is the outcome of an applied plan.
type WriteResultMsg struct {
	Plan writer.Plan
	Done string
	Err  error
}

// planMsg carries a plan built in a command (restarts list workloads);
// checked says the user's rights were asked for it.
type planMsg struct {
	plan    writer.Plan
	err     error
	checked bool
}

func ambientKey(p *podRef) ambient.Key { return ambient.Key{Namespace: p.Namespace, Name: p.Name} }

// podRef is a pod of the snapshot.
type podRef = corev1.Pod

func (m Model) podsWhere(keep func(*podRef) bool) []*podRef {
	var out []*podRef
	for _, p := range m.snap.Pods {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
}

func (m Model) top() modal {
	if len(m.stack) == 0 {
		return 0
	}
	return m.stack[len(m.stack)-1]
}

func (m Model) push(md modal) Model {
	m.stack = append(append([]modal(nil), m.stack...), md)
	return m.resize()
}

func (m Model) pop() Model {
	if len(m.stack) == 0 {
		return m
	}
	if m.top() == modalLogs {
		m.logs.Close()
	}
	m.stack = m.stack[:len(m.stack)-1]
	return m
}

// modalKey handles a key while a modal is open.
func (m Model) modalKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	top := m.top()
	if top == modalLogs && m.logs.Searching() {
		var cmd tea.Cmd
		m.logs, cmd = m.logs.Update(k)
		return m, cmd
	}
	if top == modalConfirm {
		var cmd tea.Cmd
		m.confirm, cmd = m.confirm.Update(k)
		return m, cmd
	}
	if top == modalPicker && !key.Matches(k, keymap.Global.Back) {
		var cmd tea.Cmd
		m.picker, cmd = m.picker.Update(k)
		return m, cmd
	}
	switch {
	case key.Matches(k, keymap.Global.Back):
		return m.pop(), nil
	case key.Matches(k, keymap.Global.Quit) && top != modalLogs:
		return m, tea.Quit
	case top == modalHelp && key.Matches(k, keymap.Global.Help):
		return m.pop(), nil
	case top == modalOverhead && key.Matches(k, keymap.Global.Overhead):
		return m.pop(), nil
	}
	var cmd tea.Cmd
	switch top {
	case modalHelp:
		to, _ := pane.ScrollTo(k, m.helpOffset, max(1, m.height-4))
		m.helpOffset = max(0, min(to, m.helpMaxOffset()))
	case modalFindings:
		m.findings, cmd = m.findings.Update(k)
	case modalDetail:
		m.detail, cmd = m.detail.Update(k)
	case modalPatch:
		m.patch, cmd = m.patch.Update(k)
	case modalLogs:
		if key.Matches(k, keymap.Global.Quit) {
			return m.pop(), nil
		}
		m.logs, cmd = m.logs.Update(k)
	}
	return m, cmd
}

// openDetail opens the detail view of the focused pane's row.
func (m Model) openDetail() (Model, tea.Cmd) {
	if m.snap == nil {
		return m, nil
	}
	t := m.theme
	switch m.focus {
	case PaneNamespaces:
		if ns, ok := m.namespaces.Selected(); ok {
			m.detail = detail.ForNamespace(m.snap, ns, t)
		} else {
			return m, nil
		}
	case PaneWorkloads:
		if k, ok := m.workloads.Selected(); ok {
			m.detail = detail.ForPod(m.snap, k, t)
		} else {
			return m, nil
		}
	case PaneWaypoints:
		if k, ok := m.waypoints.Selected(); ok {
			m.detail = detail.ForWaypoint(m.snap, k, t)
		} else {
			return m, nil
		}
	case PanePolicies:
		if kind, k, ok := m.policies.Selected(); ok {
			m.detail = detail.ForPolicy(m.snap, kind, k, t)
		} else {
			return m, nil
		}
	}
	return m.push(modalDetail), nil
}

func (m Model) openFindings() Model {
	m.findings = findings.New(m.theme).SetSnapshot(m.snap).SetNamespace(m.drill)
	return m.push(modalFindings)
}

// openPatch opens the HBONE patches that concern the focused row.
func (m Model) openPatch() (Model, tea.Cmd) {
	if m.snap == nil {
		return m, nil
	}
	var p patch.Model
	var what string
	switch m.focus {
	case PaneWorkloads:
		k, ok := m.workloads.Selected()
		if !ok {
			return m, nil
		}
		p, what = patch.ForPod(m.theme, m.snap, k), "pod "+k.String()
	default:
		ns := m.scopeNamespace()
		if ns == "" {
			return m, nil
		}
		p, what = patch.ForNamespace(m.theme, m.snap, ns), "namespace "+ns
	}
	if p.Len() == 0 {
		return m, status(fmt.Sprintf("no NetworkPolicy blocks HBONE for %s", what), false)
	}
	m.patch = p
	return m.push(modalPatch), nil
}

func status(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return StatusMsg{Text: text, Error: isErr} }
}

// openLogs follows the ztunnels of the nodes that run the selection.
func (m Model) openLogs() (Model, tea.Cmd) {
	if m.snap == nil {
		return m, nil
	}
	if m.opt.Logs == nil {
		return m, status("ztunnel logs are not available for this cluster", true)
	}
	var title, ns string
	whole := false
	var selected []*podRef
	switch m.focus {
	case PaneWorkloads:
		k, ok := m.workloads.Selected()
		if !ok {
			return m, nil
		}
		title, ns = k.String(), k.Namespace
		selected = m.podsWhere(func(p *podRef) bool { return p.Namespace == k.Namespace && p.Name == k.Name })
	default:
		ns = m.scopeNamespace()
		if ns == "" {
			return m, status("select a namespace or a workload to follow its ztunnel logs", false)
		}
		title, whole = ns, true
		selected = m.podsWhere(func(p *podRef) bool { return p.Namespace == ns })
	}
	if len(selected) == 0 {
		return m, status("no pods selected", false)
	}
	// Services in front of the selection: ztunnel logs name them as dst.service.
	var services []string
	for _, s := range m.snap.Services {
		if s.Namespace != ns || len(s.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		for _, p := range selected {
			if sel.Matches(labels.Set(p.Labels)) {
				services = append(services, s.Name)
				break
			}
		}
	}
	target := logs.TargetFor(title, ns, whole, selected, m.snap.Pods, services)
	if m.logsCancel != nil {
		m.logsCancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.logsCancel = cancel
	var cmd tea.Cmd
	m.logs, cmd = logs.Open(ctx, m.theme, target, m.opt.Logs, logs.Options{Stream: logstream.Options{Locator: m.opt.LogLocator}})
	m = m.push(modalLogs)
	return m, cmd
}

// jump focuses the pane that shows a finding's object.
func (m Model) jump(r finding.Ref) Model {
	m.stack = nil
	switch r.Kind {
	case "Namespace":
		m.focus = PaneNamespaces
		m.namespaces.Table = m.namespaces.Table.SelectKey(r.Name)
		return m
	case "Pod":
		m = m.drillInto(r.Namespace)
		m.focus = PaneWorkloads
		m.workloads.Table = m.workloads.Table.SelectKey(r.Namespace + "/" + r.Name)
	case "Gateway":
		m = m.drillInto(r.Namespace)
		m.focus = PaneWaypoints
		m.waypoints.Table = m.waypoints.Table.SelectKey(r.Namespace + "/" + r.Name)
	case "AuthorizationPolicy", "PeerAuthentication", "RequestAuthentication":
		m = m.drillInto(r.Namespace)
		m.focus = PanePolicies
		m.policies.Table = m.policies.Table.SelectKey(r.Kind + "/" + r.Namespace + "/" + r.Name)
	default:
		// Services and NetworkPolicies have no pane: show their namespace.
		if r.Namespace != "" {
			m = m.drillInto(r.Namespace)
			m.focus = PaneWorkloads
		}
	}
	return m
}

// toggle plans the ambient toggle for the focused namespace or pod.
func (m Model) toggle() (Model, tea.Cmd) {
	if m.opt.Writer == nil || m.opt.ReadOnly {
		return m, status("read-only mode: changes are disabled", true)
	}
	if m.snap == nil {
		return m, nil
	}
	var plan writer.Plan
	var err error
	switch m.focus {
	case PaneNamespaces:
		name, ok := m.namespaces.Selected()
		if !ok {
			return m, nil
		}
		for _, ns := range m.snap.Namespaces {
			if ns.Name == name {
				plan, err = m.opt.Writer.ToggleNamespaceAmbient(ns, m.snap)
			}
		}
	case PaneWorkloads:
		k, ok := m.workloads.Selected()
		if !ok {
			return m, nil
		}
		for _, p := range m.snap.Pods {
			if p.Namespace == k.Namespace && p.Name == k.Name {
				plan, err = m.opt.Writer.TogglePodOptOut(p, m.snap)
			}
		}
	default:
		return m, status("a toggles ambient on a namespace or the opt-out on a pod", false)
	}
	return m.askPlan(plan, err)
}

// restart plans a rollout restart of the drilled or selected namespace.
func (m Model) restart() (Model, tea.Cmd) {
	if m.opt.Writer == nil || m.opt.ReadOnly {
		return m, status("read-only mode: changes are disabled", true)
	}
	ns := m.scopeNamespace()
	if ns == "" || m.snap == nil {
		return m, status("select a namespace to restart its workloads", false)
	}
	w, snap := m.opt.Writer, m.snap
	return m, func() tea.Msg {
		p, err := w.RestartPlan(context.Background(), ns, snap, writer.RestartNeeded)
		return planMsg{plan: p, err: err}
	}
}

// askPlan checks the user's rights, then opens the confirm dialog.
func (m Model) askPlan(plan writer.Plan, err error) (Model, tea.Cmd) {
	if err != nil {
		return m, status(err.Error(), true)
	}
	if plan.ID == "" {
		return m, nil
	}
	w := m.opt.Writer
	return m, func() tea.Msg {
		ok, reason, err := w.CanApply(context.Background(), plan)
		if err == nil && !ok {
			err = fmt.Errorf("not allowed: %s", reason)
		}
		if err != nil {
			return planMsg{err: err}
		}
		return planMsg{plan: plan, checked: true}
	}
}

func (m Model) showPlan(p planMsg) (Model, tea.Cmd) {
	if p.err != nil {
		return m, status(p.err.Error(), true)
	}
	if !p.checked {
		return m.askPlan(p.plan, nil)
	}
	m.pending = p.plan
	m.confirm = confirm.FromPlan(m.theme, p.plan)
	return m.push(modalConfirm), nil
}

func (m Model) answered(r confirm.Result) (Model, tea.Cmd) {
	m = m.pop()
	if !r.Confirmed || r.ID != m.pending.ID {
		return m, status("cancelled: nothing changed", false)
	}
	plan, w := m.pending, m.opt.Writer
	m.pending = writer.Plan{}
	return m, func() tea.Msg {
		done, err := w.Apply(context.Background(), plan)
		return WriteResultMsg{Plan: plan, Done: done, Err: err}
	}
}

func (m Model) modalView(width, height int) string {
	switch m.top() {
	case modalFindings:
		return m.findings.View(width, height)
	case modalDetail:
		return m.detail.View(width, height)
	case modalPatch:
		return m.patch.View(width, height)
	case modalLogs:
		return m.logs.View(width, height)
	case modalOverhead:
		return m.overhead.View(width, height, true)
	case modalHelp:
		return m.helpView(width, height)
	}
	return ""
}

// below returns the modal under the top one, to draw beneath a dialog.
func (m Model) below() modal {
	if len(m.stack) < 2 {
		return 0
	}
	return m.stack[len(m.stack)-2]
}

// patchForConnection opens the HBONE patches for the destination of a
// timed-out connection in the log pane.
func (m Model) patchForConnection(r logs.PatchRequest) (Model, tea.Cmd) {
	if m.snap == nil {
		return m, nil
	}
	for _, p := range m.snap.Pods {
		if (r.ToIP != "" && p.Status.PodIP == r.ToIP) || (r.ToWorkload != "" && p.Namespace == r.ToNamespace && p.Name == r.ToWorkload) {
			pm := patch.ForPod(m.theme, m.snap, ambientKey(p))
			if pm.Len() == 0 {
				return m, status("no NetworkPolicy found blocking HBONE to "+p.Namespace+"/"+p.Name+": check cloud firewalls or CNI policy", false)
			}
			m.patch = pm
			return m.push(modalPatch), nil
		}
	}
	return m, status("the destination of that connection is not a pod ambx knows", false)
}

// useWaypoint starts choosing a waypoint for the Service in front of the
// selected pod: first the Service when several select it, then the waypoint.
func (m Model) useWaypoint() (Model, tea.Cmd) {
	if m.opt.Writer == nil || m.opt.ReadOnly {
		return m, status("read-only mode: changes are disabled", true)
	}
	if m.snap == nil || m.focus != PaneWorkloads {
		return m, status("W sets the waypoint of the Service in front of the selected workload", false)
	}
	k, ok := m.workloads.Selected()
	if !ok {
		return m, nil
	}
	var pod *podRef
	for _, p := range m.snap.Pods {
		if p.Namespace == k.Namespace && p.Name == k.Name {
			pod = p
		}
	}
	m.pickServices = nil
	for _, s := range m.snap.Services {
		if pod != nil && s.Namespace == pod.Namespace && len(s.Spec.Selector) > 0 &&
			labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			m.pickServices = append(m.pickServices, s)
		}
	}
	switch len(m.pickServices) {
	case 0:
		return m, status("no Service selects "+k.String(), false)
	case 1:
		return m.pickWaypoint(m.pickServices[0])
	}
	items := make([]picker.Item, len(m.pickServices))
	for i, s := range m.pickServices {
		items[i] = picker.Item{Label: s.Name, Note: waypointNote(m.snap.Mesh.Services[ambient.Key{Namespace: s.Namespace, Name: s.Name}].Waypoint)}
	}
	m.picker = picker.New(m.theme, "service", "Which Service of "+k.String()+"?", items, 0)
	return m.push(modalPicker), nil
}

func waypointNote(b ambient.WaypointBinding) string {
	switch {
	case b.Waypoint.Name == "":
		return "no waypoint"
	case b.Problem != "":
		return "uses " + b.Waypoint.String() + " (" + b.Problem + ")"
	}
	return "uses " + b.Waypoint.String()
}

// pickWaypoint lists the choices for one Service: clear its label, opt it
// out, or any waypoint that exists.
func (m Model) pickWaypoint(svc *corev1.Service) (Model, tea.Cmd) {
	m.pickService = svc
	m.pickWaypoints = []ambient.Key{{}, {Name: "none"}}
	items := []picker.Item{
		{Label: "clear", Note: "remove istio.io/use-waypoint (the namespace's waypoint applies)"},
		{Label: "none", Note: "opt out of the namespace's waypoint"},
	}
	current := m.snap.Mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}].Waypoint.Waypoint
	sel := 0
	for _, w := range m.snap.Mesh.Waypoints {
		if w.Key == current {
			sel = len(items)
		}
		note := w.Key.Namespace + " · for " + w.For
		if !w.Programmed {
			note += " · not programmed"
		}
		m.pickWaypoints = append(m.pickWaypoints, w.Key)
		items = append(items, picker.Item{Label: w.Key.Name, Note: note})
	}
	m.picker = picker.New(m.theme, "waypoint", "Waypoint for Service "+svc.Namespace+"/"+svc.Name, items, sel)
	if m.top() == modalPicker {
		return m, nil
	}
	return m.push(modalPicker), nil
}

func (m Model) chosen(c picker.Chosen) (Model, tea.Cmd) {
	switch c.ID {
	case "service":
		if c.Index < len(m.pickServices) {
			return m.pickWaypoint(m.pickServices[c.Index])
		}
	case "waypoint":
		m = m.pop()
		if c.Index < len(m.pickWaypoints) && m.pickService != nil {
			wp := m.pickWaypoints[c.Index]
			if wp.Name == "none" && wp.Namespace == "" {
				wp = writer.NoWaypoint
			}
			plan, err := m.opt.Writer.SetServiceWaypoint(m.pickService, wp, m.snap)
			return m.askPlan(plan, err)
		}
	}
	return m, nil
}

// scopeNamespace is the namespace a namespace-wide action applies to: the
// selected row in the Namespaces pane, else the drilled-in namespace.
func (m Model) scopeNamespace() string {
	if m.focus == PaneNamespaces {
		if sel, ok := m.namespaces.Selected(); ok {
			return sel
		}
	}
	return m.drill
}
