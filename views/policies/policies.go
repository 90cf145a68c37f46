// Package policies is the Policies pane: every AuthorizationPolicy,
// PeerAuthentication and RequestAuthentication with what it targets, where
// Istio enforces it (ztunnel or waypoint) and at which layer.
package policies

import (
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Model is the Policies pane.
type Model struct {
	pane.Pane
	snap      *kube.Snapshot
	namespace string
}

// New returns an empty pane.
func New(t *theme.Theme) Model {
	return Model{Pane: pane.New(t, "Policies",
		table.Column{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 3},
		table.Column{Title: "KIND", Min: 7, Max: 21, Priority: 2},
		table.Column{Title: "NAME", Min: 10, Max: 28},
		table.Column{Title: "TARGET", Min: 8, Max: 24, Priority: 4},
		table.Column{Title: "ACTION", Min: 6, Max: 10, Priority: 1},
		table.Column{Title: "ENFORCED BY", Min: 11, Max: 11},
		table.Column{Title: "LAYER", Min: 5, Max: 5, Priority: 1},
	)}
}

// KindShort abbreviates policy kinds in narrow tables.
var KindShort = map[string]string{
	"AuthorizationPolicy":   "AuthzPolicy",
	"PeerAuthentication":    "PeerAuthn",
	"RequestAuthentication": "RequestAuthn",
}

// SetSnapshot rebuilds the rows.
func (m Model) SetSnapshot(s *kube.Snapshot) Model { m.snap = s; return m.rebuild() }

// SetNamespace limits the pane to one namespace ("" for all).
func (m Model) SetNamespace(ns string) Model { m.namespace = ns; m.Scope = ns; return m.rebuild() }

func (m Model) rebuild() Model {
	s := m.snap
	m.Note = pane.Unavailable(s, "Istio CRDs are not installed (security.istio.io): no Istio policies can exist", kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications)
	if s == nil || s.Mesh == nil {
		return m
	}
	rows := make([]table.Row, 0, len(s.Mesh.Policies))
	for _, p := range s.Mesh.Policies {
		if m.namespace != "" && p.Key.Namespace != m.namespace {
			continue
		}
		name := table.Cell{Text: p.Key.Name}
		if p.HasFindings {
			name = table.Cell{Text: "⚠ " + p.Key.Name, Tone: theme.ToneWarn}
		}
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
		rows = append(rows, table.Row{Key: p.Kind + "/" + p.Key.String(), Cells: []table.Cell{
			pane.Dim(p.Key.Namespace),
			pane.Plain(kind),
			name,
			pane.Plain(p.Target),
			pane.Plain(p.Action),
			enf,
			layer,
		}})
	}
	if m.Note == "" && len(rows) == 0 && m.namespace != "" {
		m.Note = "no AuthorizationPolicy, PeerAuthentication or RequestAuthentication in " + m.namespace
	}
	m.Table = m.Table.SetRows(rows)
	return m
}

// SetFilter filters the rows by substring.
func (m Model) SetFilter(f string) Model { m.Table = m.Table.SetFilter(f); return m }

// Update handles movement.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	var cmd tea.Cmd
	m.Pane, cmd = m.Pane.Update(msg)
	return m, cmd
}

// Selected returns the kind and key of the policy under the cursor.
func (m Model) Selected() (kind string, k ambient.Key, ok bool) {
	kind, rest, ok := strings.Cut(m.Table.SelectedKey(), "/")
	if !ok {
		return "", ambient.Key{}, false
	}
	ns, name, _ := strings.Cut(rest, "/")
	return kind, ambient.Key{Namespace: ns, Name: name}, true
}

// SetSize tells the pane its height.
func (m Model) SetSize(_, height int) Model { m.Pane = m.Pane.SetHeight(height); return m }
