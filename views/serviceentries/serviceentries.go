// Package serviceentries is the ServiceEntries pane: each ServiceEntry with
// its hosts, the waypoint istiod binds it to and why, and istiod's
// WaypointBound condition as written on it.
package serviceentries

import (
	"strings"

	metav1alpha1 "istio.io/api/meta/v1alpha1"

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
		Title: "ServiceEntries",
		Kinds: []kube.Kind{kube.KindServiceEntry},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 2},
			{Title: "NAME", Min: 8, Max: 26, Name: true},
			{Title: "HOSTS", Min: 8, Max: 32, Priority: 3},
			{Title: "WAYPOINT", Min: 8, Max: 24},
			{Title: "WHY", Min: 20, Max: 48, Priority: 1},
			{Title: "ISTIOD SAYS", Min: 11, Max: 40, Priority: 4},
		},
		Rows:    rows,
		NoUsage: true,
	})
}

func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "Istio networking CRDs are not installed (networking.istio.io): no ServiceEntries can exist", kube.ResServiceEntries)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	rows := make([]table.Row, 0, len(s.ServiceEntries))
	for _, se := range s.ServiceEntries {
		if se == nil || in.Namespace != "" && se.Namespace != in.Namespace {
			continue
		}
		wp, why := binding(lookup.ServiceEntryWaypoint(s, se), se.Namespace)
		rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindServiceEntry, Namespace: se.Namespace, Name: se.Name}.Key(), Labels: table.LabelsOf(se.Labels), Cells: []table.Cell{
			pane.Dim(se.Namespace),
			pane.Plain(se.Name),
			pane.Plain(strings.Join(se.Spec.GetHosts(), ",")),
			wp,
			why,
			bound(se.Status.GetConditions()),
		}})
	}
	if note == "" && len(rows) == 0 {
		note = "no ServiceEntries"
		if in.Namespace != "" {
			note += " in " + in.Namespace
		}
	}
	return rows, note
}

func binding(b ambient.WaypointBinding, ns string) (wp, why table.Cell) {
	switch {
	case b.Waypoint.Name != "" && b.Problem != "":
		return table.Cell{Text: b.Waypoint.Name + " ✖", Tone: theme.ToneBad}, table.Cell{Text: b.Reason + ": " + b.Problem, Tone: theme.ToneBad}
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

// bound is istiod's own WaypointBound condition, when it wrote one: the
// status says what istiod did, the WAYPOINT column what the labels ask.
func bound(conds []*metav1alpha1.IstioCondition) table.Cell {
	for _, c := range conds {
		if c.GetType() != "istio.io/WaypointBound" {
			continue
		}
		text := c.GetStatus() + " " + c.GetReason()
		if c.GetStatus() == "True" {
			return table.Cell{Text: text, Tone: theme.ToneGood}
		}
		return table.Cell{Text: text, Tone: theme.ToneBad}
	}
	return pane.Dim("-")
}
