// Package namespaces is the Namespaces pane: each namespace's mesh state,
// its pods and how many ambient captured, its waypoint and policy count.
package namespaces

import (
	"strconv"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	return pane.NewModel(t, pane.Spec{
		Title: "Namespaces",
		Kinds: []kube.Kind{kube.KindNamespace},
		Columns: []table.Column{
			{Title: "NAME", Min: 8, Max: 24, Name: true},
			{Title: "MESH", Min: 9, Max: 10},
			{Title: "PODS", Min: 4, Right: true, Priority: 2},
			{Title: "CAPTURED", Min: 8, Right: true, Priority: 1},
			{Title: "WAYPOINT", Min: 8, Max: 24, Priority: 3},
			{Title: "POLICIES", Min: 8, Right: true, Priority: 4},
		},
		Rows:     rows,
		NoUsage:  true,
		Unscoped: true,
		// Counts of unread pods or policies would read as zeros.
		Reads: []kube.Resource{kube.ResPods, kube.ResGateways, kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications},
	})
}

// rows lists every namespace; drilling in does not narrow this pane, it is
// where the user picks the next one.
func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "", kube.ResNamespaces)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	// A count made from objects never read would be a false zero: it shows
	// "?" and the note says which were not read.
	podsUnread := len(s.Unread(kube.ResPods)) > 0
	policiesUnread := len(s.Unread(kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications)) > 0
	unknown := table.Cell{Text: "?", Tone: theme.ToneDim}
	rows := make([]table.Row, 0, len(s.Namespaces))
	for _, ns := range s.Namespaces {
		info := s.Mesh.Namespaces[ns.Name]
		g := pane.NamespaceGlyph(info.State)
		wp := table.Cell{Text: "-", Tone: theme.ToneDim}
		if b := info.Waypoint; b.Waypoint.Name != "" {
			wp = table.Cell{Text: b.Waypoint.Name, Tone: theme.ToneAccent}
			if b.Problem != "" {
				wp = table.Cell{Text: b.Waypoint.Name + " ✖", Tone: theme.ToneBad}
			}
		}
		captured := table.Cell{Text: strconv.Itoa(info.Captured())}
		if restart := info.Counts[ambient.PodNeedsRestart] + info.Counts[ambient.PodPending]; restart > 0 {
			captured = table.Cell{Text: strconv.Itoa(info.Captured()) + " !", Tone: theme.ToneWarn}
		}
		pods, policies := pane.Plain(strconv.Itoa(info.Pods)), pane.Plain(strconv.Itoa(info.Policies))
		if podsUnread {
			pods, captured = unknown, unknown
		}
		if policiesUnread {
			policies = unknown
		}
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindNamespace, Name: ns.Name}.Key(), Labels: table.LabelsOf(ns.Labels), Cells: []table.Cell{
			pane.Plain(ns.Name),
			pane.StateCell(g, string(info.State)),
			pods,
			captured,
			wp,
			policies,
		}})
	}
	return rows, note
}
