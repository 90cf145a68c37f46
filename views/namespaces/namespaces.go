// Package namespaces is the Namespaces pane: each namespace's mesh state,
// its pods and how many ambient captured, its waypoint and policy count.
package namespaces

import (
	"strconv"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Model is the Namespaces pane.
type Model struct {
	pane.Pane
	snap *kube.Snapshot
}

// New returns an empty pane.
func New(t *theme.Theme) Model {
	return Model{Pane: pane.New(t, "Namespaces",
		table.Column{Title: "NAME", Min: 8, Max: 24},
		table.Column{Title: "MESH", Min: 9, Max: 10},
		table.Column{Title: "PODS", Min: 4, Right: true, Priority: 2},
		table.Column{Title: "CAPTURED", Min: 8, Right: true, Priority: 1},
		table.Column{Title: "WAYPOINT", Min: 8, Max: 24, Priority: 3},
		table.Column{Title: "POLICIES", Min: 8, Right: true, Priority: 4},
	)}
}

// SetSnapshot rebuilds the rows from a snapshot.
func (m Model) SetSnapshot(s *kube.Snapshot) Model {
	m.snap = s
	m.Note = pane.Unavailable(s, "", kube.ResNamespaces)
	if s == nil || s.Mesh == nil {
		return m
	}
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
		rows = append(rows, table.Row{Key: ns.Name, Cells: []table.Cell{
			pane.Plain(ns.Name),
			pane.StateCell(g, string(info.State)),
			pane.Plain(strconv.Itoa(info.Pods)),
			captured,
			wp,
			pane.Plain(strconv.Itoa(info.Policies)),
		}})
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

// Selected returns the namespace under the cursor.
func (m Model) Selected() (string, bool) {
	k := m.Table.SelectedKey()
	return k, k != ""
}

// SetSize tells the pane its height.
func (m Model) SetSize(_, height int) Model { m.Pane = m.Pane.SetHeight(height); return m }
