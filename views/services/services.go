// Package services is the Services pane: each Service with the waypoint
// istiod binds it to and why, whether ingress gateways route through that
// waypoint, the policies that target it and the pods it selects.
package services

import (
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/lookup"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
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
		Rows:    rows,
		NoUsage: true,
	})
}

func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "", kube.ResServices)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	pods := map[string][]*corev1.Pod{}
	for _, p := range s.Pods {
		pods[p.Namespace] = append(pods[p.Namespace], p)
	}
	targeting := lookup.ServicePolicies(s)
	rows := make([]table.Row, 0, len(s.Services))
	for _, svc := range s.Services {
		if in.Namespace != "" && svc.Namespace != in.Namespace {
			continue
		}
		k := ambient.Key{Namespace: svc.Namespace, Name: svc.Name}
		info := s.Mesh.Services[k]
		wp, why := binding(info, svc.Namespace)
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindService, Namespace: svc.Namespace, Name: svc.Name}.Key(), Labels: table.LabelsOf(svc.Labels), Cells: []table.Cell{
			pane.Dim(svc.Namespace),
			pane.Plain(svc.Name),
			wp,
			why,
			ingress(info),
			policies(targeting[k]),
			selected(svc, pods[svc.Namespace]),
		}})
	}
	if note == "" && len(rows) == 0 && in.Namespace != "" {
		note = "no Services in " + in.Namespace
	}
	return rows, note
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
// it matters only when there is one.
func ingress(info ambient.ServiceInfo) table.Cell {
	bound := info.Waypoint.Bound()
	switch {
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

func selected(svc *corev1.Service, pods []*corev1.Pod) table.Cell {
	if len(svc.Spec.Selector) == 0 {
		return pane.Dim("-") // endpoints managed by hand
	}
	n := len(lookup.PodsSelectedBy(&ambient.Cluster{Pods: pods}, svc))
	if n == 0 {
		return table.Cell{Text: "0", Tone: theme.ToneWarn}
	}
	return pane.Plain(strconv.Itoa(n))
}
