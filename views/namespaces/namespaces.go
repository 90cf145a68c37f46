// Package namespaces is the Namespaces pane: each namespace's mesh state,
// its pods and how many ambient captured, its waypoint and policy count,
// and how far its move from sidecars to ambient has come.
package namespaces

import (
	"fmt"
	"strconv"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/whatif"
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
			// Only while some namespace has sidecars or injects them, and
			// the first to go when the pane is narrow.
			{Title: "MIGRATION", Min: 9, Max: 28, Priority: 5, Optional: true},
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
	migrations := whatif.Migrations(s)
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
		mig := migrationCell(migrations[ns.Name])
		if podsUnread && mig.Text != "" || podsUnread && migrations[ns.Name].Injects != "" {
			mig = unknown // its pods were not read: how far it came is unknown
		}
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindNamespace, Name: ns.Name}.Key(), Labels: table.LabelsOf(ns.Labels), Cells: []table.Cell{
			pane.Plain(ns.Name),
			pane.StateCell(g, string(info.State)),
			pods,
			captured,
			wp,
			policies,
			mig,
		}})
	}
	return rows, note
}

// migrationCell says how far a namespace's move to ambient has come: pods
// moved of those that must move, and how many a restart would move now.
// Empty for a namespace with no sidecars and no injection label.
func migrationCell(m whatif.Migration) table.Cell {
	if !m.Started() {
		return table.Cell{}
	}
	text := fmt.Sprintf("%d/%d moved", m.Moved, m.Moved+m.Sidecars)
	if m.OnRestart > 0 {
		text += fmt.Sprintf(" (%d on restart)", m.OnRestart)
	}
	tone := theme.ToneWarn // sidecars that stay, or new pods that get one
	if m.Sidecars > 0 && m.OnRestart == m.Sidecars && m.Injects == "" {
		tone = theme.ToneAccent // a restart finishes it
	}
	return table.Cell{Text: text, Tone: tone}
}
