// Package services is the Services pane: each Service with the waypoint
// istiod binds it to and why, whether ingress gateways route through that
// waypoint, the policies that target it and the pods it selects.
package services

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/lookup"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	c := &cache{rows: map[*corev1.Service]*cached{}, namespaces: map[string]*nsPods{}}
	return pane.NewModel(t, pane.Spec{
		Title: "Services",
		Kinds: []kube.Kind{kube.KindService},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 2},
			{Title: "NAME", Min: 8, Max: 26, Name: true},
			{Title: "WAYPOINT", Min: 8, Max: 24},
			{Title: "WHY", Min: 24, Max: 48, Priority: 3},
			{Title: "INGRESS", Min: 7, Max: 12, Priority: 4},
			{Title: "POLICIES", Min: 8, Max: 32, Priority: 1},
			{Title: "PODS", Min: 4, Right: true, Priority: 5},
		},
		Rows:    c.build,
		NoUsage: true,
	})
}

// cache keeps each Service's row, and each namespace's pods with the
// counts of those its Services select, between snapshots. Informers
// replace an object when it changes, so the same Service over the same
// pods (the same objects, so the same labels) selects as many as before;
// with the same verdict and policies its row is the same. Counting every
// Service's pods was most of what a snapshot cost this pane. Only the UI
// goroutine builds rows.
type cache struct {
	rows       map[*corev1.Service]*cached
	namespaces map[string]*nsPods
	gen        uint64
	// last is the rows of the last build and built what they were built
	// from: while a snapshot's versions say nothing the rows read
	// changed, the same rows are handed out again without a walk.
	last  []table.Row
	built inputs
}

// inputs is what a build read, as far as the snapshot's versions tell:
// the Services, their verdicts and policies (Versions.Services), the pods
// they select (Versions.PodLabels), istiod's ingress switch and the
// drilled-in namespace.
type inputs struct {
	services, podLabels uint64
	svcs                *(*corev1.Service)
	n                   int
	routing             bool
	namespace           string
}

// inputsOf is what a build from in reads; ok is false when the snapshot
// has no versions, so nothing tells that its rows are the last ones.
func inputsOf(in pane.Input, routing bool) (inputs, bool) {
	s := in.Snapshot
	v := s.VersionsOf()
	if v == nil {
		return inputs{}, false
	}
	k := inputs{services: v.Services, podLabels: v.PodLabels, n: len(s.Services), routing: routing, namespace: in.Namespace}
	if len(s.Services) > 0 {
		k.svcs = &s.Services[0]
	}
	return k, true
}

// cached is one Service's row and what it was built from.
type cached struct {
	info     ambient.ServiceInfo
	policies table.Cell
	pods     int
	routing  bool // ENABLE_INGRESS_WAYPOINT_ROUTING as the installed istiod has it
	row      table.Row
	gen      uint64
}

// nsPods is one namespace's pods when its counts were taken.
type nsPods struct {
	pods   []*corev1.Pod
	counts map[*corev1.Service]int
	gen    uint64
}

func (c *cache) build(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "", kube.ResServices)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	routing := s.Cluster.Install.Switch(install.EnvIngressWaypointRouting)
	k, known := inputsOf(in, routing)
	if known && c.last != nil && k == c.built {
		return c.last, emptyNote(note, c.last, in.Namespace)
	}
	c.gen++
	byNS := lookup.NamespacePods(s)
	targeting := lookup.ServicePolicies(s)
	rows := make([]table.Row, 0, len(s.Services))
	var (
		nsName string
		inNS   []*corev1.Pod
		found  bool
	)
	for _, svc := range s.Services {
		if in.Namespace != "" && svc.Namespace != in.Namespace {
			continue
		}
		k := ambient.Key{Namespace: svc.Namespace, Name: svc.Name}
		info := s.Mesh.Services[k]
		pol := policies(targeting[k])
		// Services come sorted by namespace: find its pods once per run.
		if !found || svc.Namespace != nsName {
			nsName, inNS, found = svc.Namespace, byNS(svc.Namespace), true
		}
		n := c.selected(svc, inNS)
		e := c.rows[svc]
		if e == nil || e.pods != n || e.policies != pol || e.routing != routing || !sameInfo(e.info, info) {
			wp, why := binding(info, svc.Namespace)
			e = &cached{info: info, policies: pol, pods: n, routing: routing, row: table.Row{Key: kube.Ref{Kind: kube.KindService, Namespace: svc.Namespace, Name: svc.Name}.Key(), Labels: table.LabelsOf(svc.Labels), Cells: []table.Cell{
				pane.Dim(svc.Namespace),
				pane.Plain(svc.Name),
				wp,
				why,
				ingress(info, routing),
				pol,
				podsCell(n),
			}}}
			c.rows[svc] = e
		}
		e.gen = c.gen
		// Shared with the last build's table, which only ever writes a
		// cell's sanitized text over it.
		rows = append(rows, e.row)
	}
	c.prune(len(rows))
	c.last, c.built = nil, inputs{}
	if known {
		c.last, c.built = rows, k
	}
	return rows, emptyNote(note, rows, in.Namespace)
}

// emptyNote says a drilled-in namespace has no Services rather than "no
// rows", unless the pane already has a note.
func emptyNote(note string, rows []table.Row, ns string) string {
	if note == "" && len(rows) == 0 && ns != "" {
		return "no Services in " + ns
	}
	return note
}

// prune forgets the rows and namespaces the last build did not use, once
// they are a good part of what is kept.
func (c *cache) prune(used int) {
	if len(c.rows) > used+used/4+64 {
		for svc, e := range c.rows {
			if e.gen != c.gen {
				delete(c.rows, svc)
			}
		}
	}
	if len(c.namespaces) > 64 {
		for ns, e := range c.namespaces {
			if e.gen+4 < c.gen {
				delete(c.namespaces, ns)
			}
		}
	}
}

// sameInfo compares what a Service's row shows of its verdict (and the
// rest of it: Conditions are cheap to compare and may be shown one day).
func sameInfo(a, b ambient.ServiceInfo) bool {
	return a.Waypoint == b.Waypoint && a.IsWaypoint == b.IsWaypoint &&
		a.IngressUseWaypoint == b.IngressUseWaypoint && slices.Equal(a.Conditions, b.Conditions)
}

// selected is how many of its namespace's pods svc selects, -1 for a
// Service without a selector; counted again only when the namespace's
// pods or the Service are new objects.
func (c *cache) selected(svc *corev1.Service, pods []*corev1.Pod) int {
	if len(svc.Spec.Selector) == 0 {
		return -1
	}
	e := c.namespaces[svc.Namespace]
	if e == nil || !slices.Equal(e.pods, pods) {
		e = &nsPods{pods: slices.Clone(pods), counts: map[*corev1.Service]int{}}
		c.namespaces[svc.Namespace] = e
	}
	e.gen = c.gen
	n, ok := e.counts[svc]
	if !ok {
		if len(e.counts) >= 2*len(pods)+64 {
			clear(e.counts) // Services replaced while the pods stayed
		}
		for _, p := range pods {
			if lookup.Selects(svc.Spec.Selector, p.Labels) {
				n++
			}
		}
		e.counts[svc] = n
	}
	return n
}

// binding is the WAYPOINT and WHY cells: the waypoint and which label chose
// it, or why there is none.
func binding(info ambient.ServiceInfo, ns string) (wp, why table.Cell) {
	b := info.Waypoint
	switch {
	case info.IsWaypoint:
		return pane.Dim("-"), pane.Dim("a waypoint's own Service")
	case b.Waypoint.Name != "" && b.Problem != "":
		return table.Cell{Text: b.Waypoint.Name + " ✖", Tone: theme.ToneBad}, table.Cell{Text: strings.TrimSpace(b.Reason + ": " + b.Problem), Tone: theme.ToneBad}
	case b.Waypoint.Name != "":
		why := "from the " + b.Source + " label"
		if b.Waypoint.Namespace != ns {
			why += ", in " + b.Waypoint.Namespace
		}
		return table.Cell{Text: b.Waypoint.Name, Tone: theme.ToneAccent}, pane.Plain(why)
	case b.Note != "":
		return pane.Dim("none"), pane.Dim(b.Note)
	}
	return pane.Dim("-"), pane.Dim("no use-waypoint label")
}

// ingress says whether ingress gateways send to the Service's waypoint;
// it matters only when there is one. With ENABLE_INGRESS_WAYPOINT_ROUTING
// off istiod never routes them there, whatever the label asks.
func ingress(info ambient.ServiceInfo, routing bool) table.Cell {
	bound := info.Waypoint.Bound()
	switch {
	case info.IngressUseWaypoint && !routing && bound:
		// The label asks for the waypoint; the switch refuses it.
		return table.Cell{Text: "skips (off)", Tone: theme.ToneWarn}
	case info.IngressUseWaypoint && !routing:
		return pane.Dim("off (no wp)")
	case info.IngressUseWaypoint && bound:
		return table.Cell{Text: "waypoint", Tone: theme.ToneGood}
	case info.IngressUseWaypoint:
		return pane.Dim("yes (no wp)")
	case bound:
		// Ingress traffic skips the waypoint and its L7 policy.
		return table.Cell{Text: "skips wp", Tone: theme.ToneWarn}
	}
	return pane.Dim("-")
}

func policies(ps []ambient.PolicyInfo) table.Cell {
	if len(ps) == 0 {
		return pane.Dim("0")
	}
	names := make([]string, len(ps))
	tone := theme.ToneNormal
	for i, p := range ps {
		names[i] = p.Key.Name
		if p.HasFindings || p.EnforcedBy == ambient.EnforcedByNone {
			tone = theme.ToneWarn
		}
	}
	return table.Cell{Text: strconv.Itoa(len(ps)) + ": " + strings.Join(names, ", "), Tone: tone}
}

// podsCell is the PODS cell for n selected pods (-1: no selector).
func podsCell(n int) table.Cell {
	switch {
	case n < 0:
		return pane.Dim("-") // endpoints managed by hand
	case n == 0:
		return table.Cell{Text: "0", Tone: theme.ToneWarn}
	}
	return pane.Plain(strconv.Itoa(n))
}
