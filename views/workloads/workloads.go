// Package workloads is the Workloads pane: every pod with its node, its
// real mesh state, its waypoint, readiness and age.
package workloads

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	return pane.NewModel(t, pane.Spec{
		Title: "Workloads",
		Kinds: []kube.Kind{kube.KindPod},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 16, Priority: 1},
			{Title: "POD", Min: 12, Max: 30},
			{Title: "NODE", Min: 6, Max: 14, Priority: 4},
			{Title: "MESH", Min: 9, Max: 11},
			{Title: "WAYPOINT", Min: 8, Max: 22, Priority: 3},
			{Title: "READY", Min: 5, Right: true, Priority: 2},
			{Title: "AGE", Min: 4, Right: true, Priority: 5},
			{Title: "CPU", Min: 5, Right: true, Priority: 3},
			{Title: "MEM", Min: 6, Right: true, Priority: 3},
		},
		Rows: rows,
	})
}

func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "", kube.ResPods)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	rows := make([]table.Row, 0, len(s.Pods))
	for _, p := range s.Pods {
		if in.Namespace != "" && p.Namespace != in.Namespace {
			continue
		}
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		info := s.Mesh.Pods[k]
		cpu, mem := in.Usage.Cells(k)
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindPod, Namespace: p.Namespace, Name: p.Name}.Key(), Cells: []table.Cell{
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
	return rows, note
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
