// Package netpols is the NetworkPolicies pane: each NetworkPolicy with its
// policy types, the pods it selects (and how many ambient captured), and
// whether it blocks HBONE (TCP 15008) for them.
package netpols

import (
	"fmt"
	"strings"

	networkingv1 "k8s.io/api/networking/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/lookup"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	return pane.NewModel(t, pane.Spec{
		Title: "NetworkPolicies",
		Kinds: []kube.Kind{kube.KindNetworkPolicy},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 18, Priority: 2},
			{Title: "NAME", Min: 8, Max: 28, Name: true},
			{Title: "TYPES", Min: 7, Max: 14, Priority: 3},
			{Title: "PODS", Min: 6, Max: 12, Right: true, Priority: 1},
			{Title: "HBONE", Min: 10, Max: 16},
			{Title: "WHY", Min: 10, Max: 60, Priority: 4},
		},
		Rows:    rows,
		NoUsage: true,
		// The note counts the pods' first list as it loads.
		ReadsTicks: true,
	})
}

func rows(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "", kube.ResNetworkPolicies, kube.ResPods)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	// The HBONE checks report on the policy that blocks: index them once.
	byPolicy := map[kube.Ref][]finding.Finding{}
	for _, f := range s.Findings {
		if f.Object.Kind == string(kube.KindNetworkPolicy) {
			r := kube.RefOf(f.Object)
			byPolicy[r] = append(byPolicy[r], f)
		}
	}
	pods := lookup.NamespacePods(s)
	rows := make([]table.Row, 0, len(s.NetworkPolicies))
	for _, np := range s.NetworkPolicies {
		if in.Namespace != "" && np.Namespace != in.Namespace {
			continue
		}
		r := kube.Ref{Kind: kube.KindNetworkPolicy, Namespace: np.Namespace, Name: np.Name}
		selected, err := lookup.PodsSelectedByNetworkPolicy(&ambient.Cluster{Pods: pods(np.Namespace)}, np)
		captured := 0
		for _, p := range selected {
			if s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].State == ambient.PodCaptured {
				captured++
			}
		}
		podsCell := pane.Plain(fmt.Sprintf("%d/%d", captured, len(selected)))
		verdict, why := hbone(byPolicy[r], captured, err)
		if err != nil {
			podsCell = table.Cell{Text: "?", Tone: theme.ToneWarn}
		}
		rows = append(rows, table.Row{Key: r.Key(), Labels: table.LabelsOf(np.Labels), Cells: []table.Cell{
			pane.Dim(np.Namespace),
			pane.Plain(np.Name),
			pane.Plain(types(np)),
			podsCell,
			verdict,
			why,
		}})
	}
	if note == "" && len(rows) == 0 && in.Namespace != "" {
		note = "no NetworkPolicies in " + in.Namespace
	}
	return rows, note
}

// hbone is the verdict of the HBONE checks on one policy.
func hbone(fs []finding.Finding, captured int, selErr error) (verdict, why table.Cell) {
	for _, f := range fs {
		if f.Severity == finding.Error {
			return table.Cell{Text: "✖ blocks", Tone: theme.ToneBad}, table.Cell{Text: f.Title, Tone: theme.ToneBad}
		}
	}
	switch {
	case len(fs) > 0:
		return table.Cell{Text: "⚠ unchecked", Tone: theme.ToneWarn}, table.Cell{Text: fs[0].Title, Tone: theme.ToneWarn}
	case selErr != nil:
		return table.Cell{Text: "⚠ unchecked", Tone: theme.ToneWarn}, table.Cell{Text: selErr.Error(), Tone: theme.ToneWarn}
	case captured == 0:
		return pane.Dim("- n/a"), pane.Dim("selects no captured pod: HBONE does not reach it")
	}
	return table.Cell{Text: "✔ admits", Tone: theme.ToneGood}, pane.Dim("no HBONE block found for its captured pods")
}

// types is the policy's effective policyTypes: written, or inferred the way
// the API server defaults them (Ingress, plus Egress when it has egress rules).
func types(np *networkingv1.NetworkPolicy) string {
	ts := np.Spec.PolicyTypes
	if len(ts) == 0 {
		ts = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		if len(np.Spec.Egress) > 0 {
			ts = append(ts, networkingv1.PolicyTypeEgress)
		}
	}
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = string(t)
	}
	return strings.Join(out, ",")
}
