// Package waypoints is the Waypoints pane: each waypoint Gateway, the
// traffic it accepts, whether istiod programmed it, its ready pods and who
// is bound to it.
package waypoints

import (
	"fmt"
	"strings"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	return pane.NewModel(t, pane.Spec{
		Title: "Waypoints",
		Kinds: []kube.Kind{kube.KindWaypoint},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 2},
			{Title: "NAME", Min: 8, Max: 28, Name: true},
			{Title: "FOR", Min: 8, Max: 8, Priority: 1},
			{Title: "PROGRAMMED", Min: 10, Max: 10},
			{Title: "READY", Min: 5, Right: true, Priority: 3},
			{Title: "BOUND", Min: 5, Max: 40, Priority: 4},
			{Title: "CPU", Min: 5, Right: true, Priority: 5},
			{Title: "MEM", Min: 6, Right: true, Priority: 5},
		},
		Rows: rows,
		// READY counts pods; BOUND reads Services and pods.
		Reads: []kube.Resource{kube.ResPods, kube.ResServices, kube.ResNamespaces},
	})
}

func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "Gateway API CRDs are not installed: no waypoints can exist (install the Gateway API CRDs, then istioctl waypoint apply)", kube.ResGateways)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	if note == "" && len(s.Mesh.Waypoints) == 0 {
		note = "no waypoints: L7 policy and routing need one (" + create() + " creates one, as istioctl waypoint apply -n NS does)"
	}
	rows := make([]table.Row, 0, len(s.Mesh.Waypoints))
	for _, w := range s.Mesh.Waypoints {
		if in.Namespace != "" && w.Key.Namespace != in.Namespace {
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
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindWaypoint, Namespace: w.Key.Namespace, Name: w.Key.Name}.Key(), Cells: []table.Cell{
			pane.Dim(w.Key.Namespace),
			{Text: w.Key.Name, Tone: theme.ToneAccent},
			pane.Plain(w.For),
			prog,
			ready,
			bound(w),
			pane.Plain(cpuCell(in.Usage, s, w)),
			pane.Plain(memCell(in.Usage, s, w)),
		}})
	}
	if note == "" && len(rows) == 0 && in.Namespace != "" {
		note = "no waypoint in " + in.Namespace + ": L7 policy and routing need one (" + create() + " creates one, as istioctl waypoint apply -n " + in.Namespace + " does)"
	}
	return rows, note
}

// create names the key that creates a waypoint, as the keymap binds it.
func create() string { return keymap.Action.CreateWaypoint.Help().Key }

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
