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
	use := waypointsUsage(in.Usage, s)
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
			pane.Plain(cpuCell(in.Usage, use, w)),
			pane.Plain(memCell(in.Usage, use, w)),
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

// waypointsUsage sums the usage of each waypoint's pods (named by the
// Gateway in their gateway-name label), keyed by the Gateway; a waypoint
// none of whose pods has a figure is absent. One pass over the pods: a
// pass per waypoint cost 70 ms of every metrics poll at 10,000 pods.
func waypointsUsage(u *usage.Usage, s *kube.Snapshot) map[ambient.Key]usage.Resources {
	if u == nil || !u.Available || len(s.Mesh.Waypoints) == 0 {
		return nil
	}
	out := map[ambient.Key]usage.Resources{}
	for _, p := range s.Pods {
		gw, ok := p.Labels[ambient.LabelGatewayName]
		if !ok {
			continue
		}
		if r, ok := u.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]; ok {
			k := ambient.Key{Namespace: p.Namespace, Name: gw}
			out[k] = out[k].Add(r)
		}
	}
	return out
}

func cpuCell(u *usage.Usage, use map[ambient.Key]usage.Resources, w ambient.WaypointInfo) string {
	r, ok := use[w.Key]
	if !ok {
		return unavailable(u)
	}
	return usage.FormatCPU(r.CPUMilli)
}

func memCell(u *usage.Usage, use map[ambient.Key]usage.Resources, w ambient.WaypointInfo) string {
	r, ok := use[w.Key]
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
