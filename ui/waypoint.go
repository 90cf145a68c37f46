package ui

import (
	"slices"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/lookup"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/views/picker"
	"github.com/ambx/ambx/views/waypointnew"
)

// The waypoint actions: W binds a namespace, Service or pod to a waypoint
// (or unbinds it), C creates a waypoint, ctrl+d deletes one. Each ends in a
// writer plan and takes the one write path (write.go).

// waypointTarget is what W labels: a namespace, a Service or a pod.
type waypointTarget struct {
	obj  metav1.Object
	what string // "Service shop/cart", "namespace shop", "pod shop/cart-1"
	ns   string // where a waypoint without a namespace is looked up
	kind kube.Kind
}

func serviceTarget(s *corev1.Service) waypointTarget {
	return waypointTarget{obj: s, what: "Service " + s.Namespace + "/" + s.Name, ns: s.Namespace, kind: kube.KindService}
}

func namespaceTarget(n *corev1.Namespace) waypointTarget {
	return waypointTarget{obj: n, what: "namespace " + n.Name, ns: n.Name, kind: kube.KindNamespace}
}

func podTarget(p *corev1.Pod) waypointTarget {
	return waypointTarget{obj: p, what: "pod " + p.Namespace + "/" + p.Name, ns: p.Namespace, kind: kube.KindPod}
}

// waypointChoice is the user's pick in the waypoint picker; create asks
// for a new waypoint instead.
type waypointChoice struct {
	target   waypointTarget
	waypoint ambient.Key
	create   bool
}

// bindChoice is the user's pick of what to bind, for a pod: the pod
// itself or a Service in front of it.
type bindChoice struct{ target waypointTarget }

// useWaypoint starts choosing a waypoint for the selected namespace,
// Service or pod (asking, for a pod, whether the pod itself or a Service
// in front of it).
func (m Model) useWaypoint() (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	r, ok := m.selected()
	if !ok {
		return m, nil
	}
	switch r.Kind {
	case kube.KindService:
		for _, s := range m.snap.Services {
			if s.Namespace == r.Namespace && s.Name == r.Name {
				return m.pickWaypoint(serviceTarget(s)), nil
			}
		}
		return m, status("Service "+r.Namespace+"/"+r.Name+" is not in the cluster any more", true)
	case kube.KindNamespace:
		for _, ns := range m.snap.Namespaces {
			if ns.Name == r.Name {
				return m.pickWaypoint(namespaceTarget(ns)), nil
			}
		}
		return m, status("namespace "+r.Name+" is not in the cluster any more", true)
	case kube.KindPod:
	default:
		return m, status("W binds a namespace, a Service or a pod to a waypoint ("+keymap.Action.CreateWaypoint.Help().Key+" creates one)", false)
	}
	var pod *corev1.Pod
	for _, p := range m.snap.Pods {
		if p.Namespace == r.Namespace && p.Name == r.Name {
			pod = p
		}
	}
	if pod == nil {
		return m, status("pod "+r.Namespace+"/"+r.Name+" is not in the cluster any more", true)
	}
	targets := []waypointTarget{podTarget(pod)}
	items := []picker.Item{{Label: "pod " + pod.Name, Note: "its own label: traffic sent to the pod itself · " + waypointNote(m.snap.Mesh.Pods[ambient.Key{Namespace: pod.Namespace, Name: pod.Name}].Waypoint)}}
	for _, s := range lookup.ServicesSelecting(&m.snap.Cluster, pod) {
		targets = append(targets, serviceTarget(s))
		items = append(items, picker.Item{Label: "Service " + s.Name, Note: "traffic sent to the Service · " + waypointNote(m.snap.Mesh.Services[ambient.Key{Namespace: s.Namespace, Name: s.Name}].Waypoint)})
	}
	sel := 0
	if len(targets) > 1 {
		sel = 1 // a Service is what most traffic is addressed to
	}
	return m.push(pickerOverlay{
		m:      picker.New(m.theme, "bind", "Bind what to a waypoint, for "+r.Namespace+"/"+r.Name+"?", items, sel),
		id:     "bind",
		choose: func(i int) tea.Msg { return bindChoice{targets[i]} },
	}), nil
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

// pickWaypoint lists the choices for a target: clear its label, opt it
// out, any waypoint (those it may use first, the others with istiod's
// reason it would refuse them), or a new one.
func (m Model) pickWaypoint(t waypointTarget) Model {
	choices := []waypointChoice{{target: t}, {target: t, waypoint: writer.NoWaypoint}}
	clear := "remove istio.io/use-waypoint (the namespace's waypoint applies)"
	optOut := "opt out of the namespace's waypoint"
	traffic := ambient.TrafficService
	var current ambient.Key
	k := ambient.Key{Namespace: t.obj.GetNamespace(), Name: t.obj.GetName()}
	switch t.kind {
	case kube.KindService:
		current = m.snap.Mesh.Services[k].Waypoint.Waypoint
	case kube.KindPod:
		current, traffic = m.snap.Mesh.Pods[k].Waypoint.Waypoint, ambient.TrafficWorkload
	default:
		clear = "remove istio.io/use-waypoint: Services and pods without their own label use no waypoint"
		optOut = "label istio.io/use-waypoint=none"
		current = m.snap.Mesh.Namespaces[t.ns].Waypoint.Waypoint
	}
	items := []picker.Item{{Label: "clear", Note: clear}, {Label: "none", Note: optOut}}
	sel := 0
	for _, c := range lookup.WaypointsForTraffic(m.snap, t.ns, traffic) {
		w := c.Waypoint
		if w.Key == current {
			sel = len(items)
		}
		note := w.Key.Namespace + " · for " + w.For
		if c.Problem != "" {
			note += " · ✖ " + c.Problem
		} else if !w.Programmed {
			note += " · not programmed"
		}
		choices = append(choices, waypointChoice{target: t, waypoint: w.Key})
		items = append(items, picker.Item{Label: w.Key.Name, Note: note})
	}
	choices = append(choices, waypointChoice{target: t, create: true})
	items = append(items, picker.Item{Label: "new…", Note: "create a waypoint in " + t.ns + " (" + keymap.Action.CreateWaypoint.Help().Key + ")"})
	return m.push(pickerOverlay{
		m:      picker.New(m.theme, "waypoint", "Waypoint for "+t.what, items, sel),
		id:     "waypoint",
		choose: func(i int) tea.Msg { return choices[i] },
	})
}

// chooseWaypoint plans the label the user picked, or opens the create
// form when they asked for a new waypoint.
func (m Model) chooseWaypoint(c waypointChoice) (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	if c.create {
		return m.openWaypointForm(c.target.ns, c.target.kind == kube.KindNamespace), nil
	}
	return m.askPlan(m.opt.Writer.SetWaypoint(c.target.obj, c.waypoint, m.snap))
}

// createWaypoint opens the create form for the namespace of the selected
// row (or the drilled-in one); on a namespace row it offers to enrol it.
func (m Model) createWaypoint() (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	if m.snap == nil {
		return m, status("no cluster state read yet", true)
	}
	if st := m.snap.State(kube.ResGateways); st.Availability == kube.Missing {
		return m, status("the Gateway API CRDs are not installed: no waypoint can be created (install them first)", true)
	}
	ns, enroll := m.drill, false
	if r, ok := m.selected(); ok {
		switch {
		case r.Kind == kube.KindNamespace:
			ns, enroll = r.Name, true
		case r.Namespace != "":
			ns = r.Namespace
		}
	}
	return m.openWaypointForm(ns, enroll), nil
}

func (m Model) openWaypointForm(ns string, enroll bool) Model {
	classFor := ""
	for _, c := range m.snap.GatewayClasses {
		if c != nil && c.Name == ambient.WaypointGatewayClass {
			classFor = c.Labels[ambient.LabelWaypointFor]
		}
	}
	return m.push(waypointFormOverlay{m: waypointnew.NewForm(m.theme, ns, enroll, classFor).WithRevisions(revisions(m.snap.Install))})
}

// revisions are the istio.io/rev values the installation answers to: its
// istiod revisions and revision tags, sorted.
func revisions(in install.Info) []string {
	seen := map[string]bool{}
	var out []string
	add := func(r string) {
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	for _, c := range in.Components {
		if c.Kind == install.Istiod {
			add(c.Revision)
		}
	}
	for _, t := range in.Tags {
		add(t.Name)
	}
	slices.Sort(out)
	return out
}

// submitWaypoint plans the waypoint of the form: a refusal stays in the
// form for the user to correct, a plan goes to the access review.
func (m Model) submitWaypoint(s waypointnew.Submit) (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	plan, err := m.opt.Writer.CreateWaypoint(s.Spec, m.snap)
	if f, ok := m.topOverlay().(waypointFormOverlay); ok {
		if err != nil {
			f.m = f.m.SetProblem(err.Error())
			m.stack = append(append([]overlay(nil), m.stack[:len(m.stack)-1]...), f)
			return m, nil
		}
		m = m.pop()
	}
	return m.askPlan(plan, err)
}

// deleteWaypoint plans deleting the selected waypoint.
func (m Model) deleteWaypoint() (Model, tea.Cmd) {
	if !m.canWrite() {
		return m, readOnly()
	}
	r, ok := m.selected()
	if !ok || r.Kind != kube.KindWaypoint {
		return m, status(keymap.Action.DeleteWaypoint.Help().Key+" deletes a waypoint: select one in the Waypoints pane", false)
	}
	for _, gw := range m.snap.Gateways {
		if gw != nil && gw.Namespace == r.Namespace && gw.Name == r.Name {
			return m.askPlan(m.opt.Writer.DeleteWaypoint(gw, m.snap))
		}
	}
	return m, status("waypoint "+r.Namespace+"/"+r.Name+" is not in the cluster any more", true)
}

// followWaypoint opens the progress view after a waypoint was created.
func (m Model) followWaypoint(r WriteResultMsg) (Model, tea.Cmd, bool) {
	if r.Plan.Target.Kind != writer.KindGateway || !strings.HasPrefix(r.Plan.ID, "create-waypoint ") {
		return m, nil, false
	}
	key := ambient.Key{Namespace: r.Plan.Target.Namespace, Name: r.Plan.Target.Name}
	p := waypointnew.NewProgress(m.theme, key, m.opt.Now()).SetSnapshot(m.snap)
	return m.push(waypointProgressOverlay{m: p}), status(r.Done, false), true
}

// waypointFormOverlay is the create-waypoint form (C). Only esc closes
// it: q is a letter of a name.
type waypointFormOverlay struct{ m waypointnew.Form }

func (o waypointFormOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && k.String() == keymap.Global.Back.Keys()[0] {
		return nil, status("cancelled: nothing created", false)
	}
	switch msg.(type) {
	case tea.KeyPressMsg, tea.PasteMsg:
		var cmd tea.Cmd
		o.m, cmd = o.m.Update(msg)
		return o, cmd
	}
	return o, nil
}
func (o waypointFormOverlay) View(w, h int) string               { return o.m.View(min(w, 90), max(1, h-2)) }
func (o waypointFormOverlay) SetSize(int, int) overlay           { return o }
func (o waypointFormOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o waypointFormOverlay) Close()                             {}
func (o waypointFormOverlay) isDialog()                          {}

// waypointProgressOverlay follows a new waypoint until istiod programs it
// or the wait ends (waypointnew.Timeout), on every snapshot and tick.
type waypointProgressOverlay struct{ m waypointnew.Progress }

func (o waypointProgressOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && closes(k) {
		return nil, nil
	}
	return o, nil
}
func (o waypointProgressOverlay) Tick(now time.Time) (overlay, tea.Cmd) {
	o.m = o.m.Tick(now)
	return o, nil
}
func (o waypointProgressOverlay) View(w, h int) string     { return o.m.View(min(w, 100), max(1, h-2)) }
func (o waypointProgressOverlay) SetSize(int, int) overlay { return o }
func (o waypointProgressOverlay) SetSnapshot(s *kube.Snapshot) overlay {
	o.m = o.m.SetSnapshot(s)
	return o
}
func (o waypointProgressOverlay) Close()    {}
func (o waypointProgressOverlay) isDialog() {}
