// Package policies is the Policies pane: every AuthorizationPolicy,
// PeerAuthentication and RequestAuthentication with what it targets, where
// Istio enforces it (ztunnel or waypoint) and at which layer.
package policies

import (
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	return pane.NewModel(t, pane.Spec{
		Title: "Policies",
		Kinds: []kube.Kind{kube.KindAuthorizationPolicy, kube.KindPeerAuthentication, kube.KindRequestAuthentication},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 3},
			{Title: "KIND", Min: 7, Max: 21, Priority: 2},
			{Title: "NAME", Min: 10, Max: 28, Name: true},
			{Title: "TARGET", Min: 8, Max: 24, Priority: 4},
			{Title: "ACTION", Min: 6, Max: 10, Priority: 1},
			{Title: "ENFORCED BY", Min: 11, Max: 11},
			{Title: "LAYER", Min: 5, Max: 5},
		},
		Rows:    rows,
		NoUsage: true,
		// One kind unread among rows of the others leaves no note, so
		// the title names it; where a policy is enforced depends on the
		// pods and waypoints it selects.
		Reads: []kube.Resource{kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications,
			kube.ResNamespaces, kube.ResPods, kube.ResGateways},
	})
}

// KindShort abbreviates policy kinds in narrow tables.
var KindShort = map[string]string{
	"AuthorizationPolicy":   "AuthzPolicy",
	"PeerAuthentication":    "PeerAuthn",
	"RequestAuthentication": "RequestAuthn",
}

func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "Istio CRDs are not installed (security.istio.io): no Istio policies can exist", kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	rows := make([]table.Row, 0, len(s.Mesh.Policies))
	for _, p := range s.Mesh.Policies {
		if in.Namespace != "" && p.Key.Namespace != in.Namespace {
			continue
		}
		// The row's mark, not its name, carries the severity (see
		// pane.Model): one colour per severity everywhere.
		name := table.Cell{Text: p.Key.Name}
		enf := table.Cell{Text: string(p.EnforcedBy), Tone: theme.ToneInfo}
		switch p.EnforcedBy {
		case ambient.EnforcedByWaypoint:
			enf.Tone = theme.ToneAccent
		case ambient.EnforcedByNone:
			enf.Tone = theme.ToneBad
		}
		layer := table.Cell{Text: string(p.Layer)}
		if p.Layer == ambient.L7 {
			layer.Tone = theme.ToneAccent
		}
		kind := p.Kind
		if short, ok := KindShort[kind]; ok {
			kind = short
		}
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.Kind(p.Kind), Namespace: p.Key.Namespace, Name: p.Key.Name}.Key(), Cells: []table.Cell{
			pane.Dim(p.Key.Namespace),
			pane.Plain(kind),
			name,
			pane.Plain(p.Target),
			pane.Plain(p.Action),
			enf,
			layer,
		}})
	}
	if note == "" && len(rows) == 0 && in.Namespace != "" {
		note = "no AuthorizationPolicy, PeerAuthentication or RequestAuthentication in " + in.Namespace
	}
	return rows, note
}
