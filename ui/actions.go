package ui

import (
	"context"
	"fmt"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/views/detail"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/logs"
	"github.com/ambx/ambx/views/patch"
)

func status(text string, isErr bool) tea.Cmd {
	return func() tea.Msg { return StatusMsg{Text: text, Error: isErr} }
}

func (m Model) topOverlay() overlay {
	if len(m.stack) == 0 {
		return nil
	}
	return m.stack[len(m.stack)-1]
}

// push opens o on top of the stack, sized and fed the current snapshot.
func (m Model) push(o overlay) Model {
	o = o.SetSize(m.width, max(0, m.height-1))
	m.stack = append(append([]overlay(nil), m.stack...), o)
	return m
}

// pop closes the top overlay.
func (m Model) pop() Model {
	if len(m.stack) == 0 {
		return m
	}
	m.stack[len(m.stack)-1].Close()
	m.stack = append([]overlay(nil), m.stack[:len(m.stack)-1]...)
	return m
}

// closeAll closes every overlay, top first.
func (m Model) closeAll() Model {
	for len(m.stack) > 0 {
		m = m.pop()
	}
	return m
}

// overlayKey gives a key to the top overlay, which may close itself.
func (m Model) overlayKey(k tea.KeyPressMsg) (tea.Model, tea.Cmd) {
	next, cmd := m.topOverlay().Update(k)
	if next == nil {
		return m.pop(), cmd
	}
	stack := append([]overlay(nil), m.stack...)
	stack[len(stack)-1] = next
	m.stack = stack
	return m, cmd
}

// selected is the object under the focused pane's cursor.
func (m Model) selected() (kube.Ref, bool) {
	if m.snap == nil {
		return kube.Ref{}, false
	}
	return m.focused().Selected()
}

func ambientKey(r kube.Ref) ambient.Key { return ambient.Key{Namespace: r.Namespace, Name: r.Name} }

// openDetail opens the detail view of the selected object.
func (m Model) openDetail() (Model, tea.Cmd) {
	r, ok := m.selected()
	if !ok {
		return m, nil
	}
	t := m.theme
	var d detail.Model
	switch r.Kind {
	case kube.KindNamespace:
		d = detail.ForNamespace(m.snap, r.Name, t)
	case kube.KindPod:
		d = detail.ForPod(m.snap, ambientKey(r), t)
	case kube.KindWaypoint:
		d = detail.ForWaypoint(m.snap, ambientKey(r), t)
	case kube.KindAuthorizationPolicy, kube.KindPeerAuthentication, kube.KindRequestAuthentication:
		d = detail.ForPolicy(m.snap, string(r.Kind), ambientKey(r), t)
	default:
		return m, status("no detail view for "+string(r.Kind)+" yet", false)
	}
	return m.push(detailOverlay{d}), nil
}

func (m Model) openFindings() Model {
	return m.push(findingsOverlay{findings.New(m.theme).SetSnapshot(m.snap).SetNamespace(m.drill)})
}

// openPatch opens the HBONE patches that concern the selection: a pod's,
// or those of the namespace in scope.
func (m Model) openPatch() (Model, tea.Cmd) {
	if m.snap == nil {
		return m, nil
	}
	var p patch.Model
	var what string
	if r, ok := m.selected(); ok && r.Kind == kube.KindPod {
		p, what = patch.ForPod(m.theme, m.snap, ambientKey(r)), "pod "+r.Namespace+"/"+r.Name
	} else {
		ns := m.scopeNamespace()
		if ns == "" {
			return m, nil
		}
		p, what = patch.ForNamespace(m.theme, m.snap, ns), "namespace "+ns
	}
	if p.Len() == 0 {
		return m, status(fmt.Sprintf("no NetworkPolicy blocks HBONE for %s", what), false)
	}
	return m.push(patchOverlay{p}), nil
}

func (m Model) podsWhere(keep func(*corev1.Pod) bool) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range m.snap.Pods {
		if keep(p) {
			out = append(out, p)
		}
	}
	return out
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
	var selected []*corev1.Pod
	if r, ok := m.selected(); ok && r.Kind == kube.KindWaypoint {
		// A waypoint: its pods' Envoy access logs.
		ctx, cancel := context.WithCancel(m.opt.Ctx)
		lm, cmd := logs.Open(ctx, m.theme, logs.WaypointTarget(r.Namespace, r.Name, m.snap.Pods), m.opt.Logs, logs.Options{})
		return m.push(logsOverlay{m: lm, cancel: cancel}), cmd
	}
	if r, ok := m.selected(); ok && r.Kind == kube.KindPod {
		title, ns = r.Namespace+"/"+r.Name, r.Namespace
		selected = m.podsWhere(func(p *corev1.Pod) bool { return p.Namespace == r.Namespace && p.Name == r.Name })
	} else {
		ns = m.scopeNamespace()
		if ns == "" {
			return m, status("select a namespace or a workload to follow its ztunnel logs", false)
		}
		title, whole = ns, true
		selected = m.podsWhere(func(p *corev1.Pod) bool { return p.Namespace == ns })
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
	if !whole {
		// A pod behind a waypoint: that waypoint's Envoy logs its calls.
		target = target.WithWaypoints(m.waypointsInFront(selected), m.snap.Pods)
	}
	ctx, cancel := context.WithCancel(m.opt.Ctx)
	lm, cmd := logs.Open(ctx, m.theme, target, m.opt.Logs, logs.Options{Stream: logstream.Options{Locator: m.opt.LogLocator}})
	return m.push(logsOverlay{m: lm, cancel: cancel}), cmd
}

// waypointsInFront are the waypoints (ns/name) bound to the pods or to
// the Services that select them, as the analysis resolved them.
func (m Model) waypointsInFront(pods []*corev1.Pod) []string {
	if m.snap == nil || m.snap.Mesh == nil {
		return nil
	}
	var out []string
	for _, p := range pods {
		if b := m.snap.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Waypoint; b.Bound() {
			out = append(out, b.Waypoint.String())
		}
		for _, s := range m.snap.Services {
			if s.Namespace != p.Namespace || len(s.Spec.Selector) == 0 || !labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.Labels)) {
				continue
			}
			if b := m.snap.Mesh.Services[ambient.Key{Namespace: s.Namespace, Name: s.Name}].Waypoint; b.Bound() {
				out = append(out, b.Waypoint.String())
			}
		}
	}
	return out
}

// jump shows a finding's object: the pane that lists its kind, drilled into
// its namespace, the cursor on its row.
func (m Model) jump(r kube.Ref) Model {
	m = m.closeAll()
	i, ok := m.paneFor(r.Kind)
	if r.Namespace != "" {
		m = m.drillInto(r.Namespace)
	}
	if !ok {
		// No pane lists this kind: show what runs in its namespace.
		if r.Namespace != "" {
			m = m.focusKind(kube.KindPod)
		}
		return m
	}
	m.focus = i
	p, _ := m.focused().Select(r)
	return m.setFocused(p)
}

// toggle plans the ambient toggle for the selected namespace or pod.
func (m Model) toggle() (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	r, ok := m.selected()
	if !ok {
		return m, nil
	}
	switch r.Kind {
	case kube.KindNamespace:
		for _, ns := range m.snap.Namespaces {
			if ns.Name == r.Name {
				return m.askPlan(m.opt.Writer.ToggleNamespaceAmbient(ns, m.snap))
			}
		}
	case kube.KindPod:
		for _, p := range m.snap.Pods {
			if p.Namespace == r.Namespace && p.Name == r.Name {
				return m.askPlan(m.podPlan(p))
			}
		}
	default:
		return m, status("a toggles ambient on a namespace or the opt-out on a pod", false)
	}
	return m, nil
}

// restart plans a rollout restart of the namespace in scope.
func (m Model) restart() (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	ns := m.scopeNamespace()
	if ns == "" || m.snap == nil {
		return m, status("select a namespace to restart its workloads", false)
	}
	w, snap, ctx := m.opt.Writer, m.snap, m.opt.Ctx
	return m, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, applyTimeout)
		defer cancel()
		p, err := w.RestartPlan(ctx, ns, snap, writer.RestartNeeded)
		return planMsg{plan: p, err: restartHint(err, snap, ns)}
	}
}

// patchForConnection opens the HBONE patches for the destination of a
// timed-out connection in the log pane.
func (m Model) patchForConnection(r logs.PatchRequest) (Model, tea.Cmd) {
	if m.snap == nil {
		return m, nil
	}
	for _, p := range m.snap.Pods {
		if (r.ToIP != "" && p.Status.PodIP == r.ToIP) || (r.ToWorkload != "" && p.Namespace == r.ToNamespace && p.Name == r.ToWorkload) {
			pm := patch.ForPod(m.theme, m.snap, ambient.Key{Namespace: p.Namespace, Name: p.Name})
			if pm.Len() == 0 {
				return m, status("no NetworkPolicy found blocking HBONE to "+p.Namespace+"/"+p.Name+": check cloud firewalls or CNI policy", false)
			}
			return m.push(patchOverlay{pm}), nil
		}
	}
	return m, status("the destination of that connection is not a pod ambx knows", false)
}

// scopeNamespace is the namespace a namespace-wide action applies to: the
// selected namespace row, the namespace of the selected object, else the
// drilled-in namespace.
func (m Model) scopeNamespace() string {
	r, ok := m.selected()
	switch {
	case ok && r.Kind == kube.KindNamespace:
		return r.Name
	case ok && r.Namespace != "":
		return r.Namespace
	}
	return m.drill
}
