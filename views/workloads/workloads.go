// Package workloads is the Workloads pane: every pod with its node, its
// real mesh state, its waypoint, readiness and age.
package workloads

import (
	"fmt"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Model is the Workloads pane.
type Model struct {
	pane.Pane
	snap      *kube.Snapshot
	usage     *usage.Usage
	namespace string
}

// New returns an empty pane.
func New(t *theme.Theme) Model {
	return Model{Pane: pane.New(t, "Workloads",
		table.Column{Title: "NAMESPACE", Min: 9, Max: 16, Priority: 1},
		table.Column{Title: "POD", Min: 12, Max: 30},
		table.Column{Title: "NODE", Min: 6, Max: 14, Priority: 4},
		table.Column{Title: "MESH", Min: 9, Max: 11},
		table.Column{Title: "WAYPOINT", Min: 8, Max: 22, Priority: 3},
		table.Column{Title: "READY", Min: 5, Right: true, Priority: 2},
		table.Column{Title: "AGE", Min: 4, Right: true, Priority: 5},
		table.Column{Title: "CPU", Min: 5, Right: true, Priority: 3},
		table.Column{Title: "MEM", Min: 6, Right: true, Priority: 3},
	)}
}

// SetSnapshot rebuilds the rows.
func (m Model) SetSnapshot(s *kube.Snapshot) Model {
	m.snap = s
	return m.rebuild()
}

// SetUsage fills the CPU and MEM columns from a metrics poll.
func (m Model) SetUsage(u *usage.Usage) Model { m.usage = u; return m.rebuild() }

// SetNamespace limits the pane to one namespace ("" for all).
func (m Model) SetNamespace(ns string) Model {
	m.namespace = ns
	m.Scope = ns
	return m.rebuild()
}

func (m Model) rebuild() Model {
	s := m.snap
	m.Note = pane.Unavailable(s, "", kube.ResPods)
	if s == nil || s.Mesh == nil {
		return m
	}
	rows := make([]table.Row, 0, len(s.Pods))
	for _, p := range s.Pods {
		if m.namespace != "" && p.Namespace != m.namespace {
			continue
		}
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		info := s.Mesh.Pods[k]
		cpu, mem := m.usage.Cells(k)
		rows = append(rows, table.Row{Key: p.Namespace + "/" + p.Name, Cells: []table.Cell{
			pane.Dim(p.Namespace),
			pane.Plain(p.Name),
			pane.Dim(p.Spec.NodeName),
			pane.StateCell(pane.PodGlyph(info.State), string(info.State)),
			waypointCell(info.Waypoint),
			readyCell(p),
			pane.Dim(pane.Age(p.CreationTimestamp.Time, s.Taken)),
			pane.Plain(cpu),
			pane.Plain(mem),
		}})
	}
	m.Table = m.Table.SetRows(rows)
	return m
}

func waypointCell(b ambient.WaypointBinding) table.Cell {
	switch {
	case b.Waypoint.Name == "":
		return table.Cell{Text: "-", Tone: theme.ToneDim}
	case b.Problem != "":
		return table.Cell{Text: b.Waypoint.Name + " ✖", Tone: theme.ToneBad}
	}
	return table.Cell{Text: b.Waypoint.Name, Tone: theme.ToneAccent}
}

func readyCell(p *corev1.Pod) table.Cell {
	ready := 0
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
	}
	total := len(p.Spec.Containers)
	c := table.Cell{Text: fmt.Sprintf("%d/%d", ready, total)}
	if p.Status.Phase == corev1.PodSucceeded {
		c = table.Cell{Text: "done", Tone: theme.ToneDim}
	} else if ready < total {
		c.Tone = theme.ToneWarn
	}
	return c
}

// SetFilter filters the rows by substring.
func (m Model) SetFilter(f string) Model { m.Table = m.Table.SetFilter(f); return m }

// Update handles movement.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	m.Pane, cmd = m.Pane.Update(msg)
	return m, cmd
}

// Selected returns the pod under the cursor.
func (m Model) Selected() (ambient.Key, bool) {
	return splitKey(m.Table.SelectedKey())
}

func splitKey(k string) (ambient.Key, bool) {
	for i := 0; i < len(k); i++ {
		if k[i] == '/' {
			return ambient.Key{Namespace: k[:i], Name: k[i+1:]}, true
		}
	}
	return ambient.Key{}, false
}

// SetSize tells the pane its height.
func (m Model) SetSize(_, height int) Model { m.Pane = m.Pane.SetHeight(height); return m }
