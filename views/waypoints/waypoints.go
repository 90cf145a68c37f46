// Package waypoints is the Waypoints pane: each waypoint Gateway, the
// traffic it accepts, whether istiod programmed it, its ready pods and who
// is bound to it.
package waypoints

import (
	"fmt"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Model is the Waypoints pane.
type Model struct {
	pane.Pane
	snap      *kube.Snapshot
	usage     *usage.Usage
	namespace string
}

// SetUsage fills the CPU and MEM columns (summed over the waypoint's pods).
func (m Model) SetUsage(u *usage.Usage) Model { m.usage = u; return m.rebuild() }

// New returns an empty pane.
func New(t *theme.Theme) Model {
	return Model{Pane: pane.New(t, "Waypoints",
		table.Column{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 2},
		table.Column{Title: "NAME", Min: 8, Max: 28},
		table.Column{Title: "FOR", Min: 8, Max: 8, Priority: 1},
		table.Column{Title: "PROGRAMMED", Min: 10, Max: 10},
		table.Column{Title: "READY", Min: 5, Right: true, Priority: 3},
		table.Column{Title: "BOUND", Min: 5, Max: 40, Priority: 4},
		table.Column{Title: "CPU", Min: 5, Right: true, Priority: 5},
		table.Column{Title: "MEM", Min: 6, Right: true, Priority: 5},
	)}
}

// SetSnapshot rebuilds the rows.
func (m Model) SetSnapshot(s *kube.Snapshot) Model { m.snap = s; return m.rebuild() }

// SetNamespace limits the pane to one namespace ("" for all).
func (m Model) SetNamespace(ns string) Model { m.namespace = ns; m.Scope = ns; return m.rebuild() }

func (m Model) rebuild() Model {
	s := m.snap
	m.Note = pane.Unavailable(s, "Gateway API CRDs are not installed: no waypoints can exist (install the Gateway API CRDs, then istioctl waypoint apply)", kube.ResGateways)
	if s == nil || s.Mesh == nil {
		return m
	}
	if m.Note == "" && len(s.Mesh.Waypoints) == 0 {
		m.Note = "no waypoints: L7 policy and routing need one (istioctl waypoint apply -n NS)"
	}
	rows := make([]table.Row, 0, len(s.Mesh.Waypoints))
	for _, w := range s.Mesh.Waypoints {
		if m.namespace != "" && w.Key.Namespace != m.namespace {
			continue
		}
		prog := table.Cell{Text: "✔ True", Tone: theme.ToneGood}
		if !w.Programmed {
			prog = table.Cell{Text: "✖ False", Tone: theme.ToneBad}
		}
		ready := table.Cell{Text: fmt.Sprintf("%d/%d", w.Ready, w.Replicas)}
		if w.Ready == 0 || w.Ready < w.Replicas {
			ready.Tone = theme.ToneBad
		}
		rows = append(rows, table.Row{Key: w.Key.String(), Cells: []table.Cell{
			pane.Dim(w.Key.Namespace),
			{Text: w.Key.Name, Tone: theme.ToneAccent},
			pane.Plain(w.For),
			prog,
			ready,
			bound(w),
			pane.Plain(cpuCell(m.usage, s, w)),
			pane.Plain(memCell(m.usage, s, w)),
		}})
	}
	if m.Note == "" && len(rows) == 0 && m.namespace != "" {
		m.Note = "no waypoint in " + m.namespace + ": L7 policy and routing need one (istioctl waypoint apply -n " + m.namespace + ")"
	}
	m.Table = m.Table.SetRows(rows)
	return m
}

func bound(w ambient.WaypointInfo) table.Cell {
	n := len(w.Services) + len(w.Workloads)
	if n == 0 {
		return table.Cell{Text: "none", Tone: theme.ToneDim}
	}
	var parts []string
	for _, k := range w.Services {
		parts = append(parts, "svc/"+k.Name)
	}
	for _, k := range w.Workloads {
		parts = append(parts, "pod/"+k.Name)
	}
	return table.Cell{Text: fmt.Sprintf("%d: %s", n, strings.Join(parts, ", "))}
}

// SetFilter filters the rows by substring.
func (m Model) SetFilter(f string) Model { m.Table = m.Table.SetFilter(f); return m }

// Update handles movement.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	m.Pane, cmd = m.Pane.Update(msg)
	return m, cmd
}

// Selected returns the waypoint under the cursor.
func (m Model) Selected() (ambient.Key, bool) {
	k := m.Table.SelectedKey()
	ns, name, ok := strings.Cut(k, "/")
	return ambient.Key{Namespace: ns, Name: name}, ok
}

// SetSize tells the pane its height.
func (m Model) SetSize(_, height int) Model { m.Pane = m.Pane.SetHeight(height); return m }

// podsUsage sums the usage of a waypoint's pods (named by the Gateway).
func podsUsage(u *usage.Usage, s *kube.Snapshot, w ambient.WaypointInfo) (usage.Resources, bool) {
	if u == nil || !u.Available {
		return usage.Resources{}, false
	}
	var sum usage.Resources
	found := false
	for _, p := range s.Pods {
		if p.Namespace == w.Key.Namespace && p.Labels["gateway.networking.k8s.io/gateway-name"] == w.Key.Name {
			if r, ok := u.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]; ok {
				sum, found = sum.Add(r), true
			}
		}
	}
	return sum, found
}

func cpuCell(u *usage.Usage, s *kube.Snapshot, w ambient.WaypointInfo) string {
	r, ok := podsUsage(u, s, w)
	if !ok {
		return unavailable(u)
	}
	return usage.FormatCPU(r.CPUMilli)
}

func memCell(u *usage.Usage, s *kube.Snapshot, w ambient.WaypointInfo) string {
	r, ok := podsUsage(u, s, w)
	if !ok {
		return unavailable(u)
	}
	return usage.FormatMem(r.MemBytes)
}

func unavailable(u *usage.Usage) string {
	switch {
	case u == nil:
		return "…"
	case !u.Available:
		return "n/a"
	}
	return "-"
}
