package hostile_test

import (
	"fmt"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/safe/hostile"
	"github.com/ambx/ambx/kube/ztlog"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/confirm"
	"github.com/ambx/ambx/views/detail"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/logs"
	"github.com/ambx/ambx/views/namespaces"
	"github.com/ambx/ambx/views/overhead"
	"github.com/ambx/ambx/views/patch"
	"github.com/ambx/ambx/views/picker"
	"github.com/ambx/ambx/views/policies"
	"github.com/ambx/ambx/views/waypoints"
	"github.com/ambx/ambx/views/workloads"
)

var sizes = [][2]int{{160, 50}, {80, 24}, {40, 12}}

// render checks a view at each size with the plain theme, where any ESC
// is injected, and with the dark theme, where only SGR is allowed.
func render(t *testing.T, what string, view func(th *theme.Theme, w, h int) string) {
	t.Helper()
	for _, sz := range sizes {
		hostile.Check(t, fmt.Sprintf("%s %dx%d", what, sz[0], sz[1]), view(theme.Plain, sz[0], sz[1]))
		hostile.CheckStyled(t, fmt.Sprintf("%s %dx%d dark", what, sz[0], sz[1]), view(theme.Dark, sz[0], sz[1]))
	}
}

func TestHostileSnapshotsNeverReachTheTerminal(t *testing.T) {
	for _, all := range []bool{false, true} {
		s := hostile.Snapshot(all)
		u := hostile.Usage(s)
		name := fmt.Sprintf("all=%v", all)
		if len(s.Pods) == 0 || len(s.Findings) == 0 {
			t.Fatalf("%s: the hostile cluster has %d pods, %d findings: nothing would be tested", name, len(s.Pods), len(s.Findings))
		}
		render(t, name+" namespaces", func(th *theme.Theme, w, h int) string {
			return namespaces.New(th).SetSnapshot(s).SetSize(w, h).View(w, h, true)
		})
		render(t, name+" workloads", func(th *theme.Theme, w, h int) string {
			return workloads.New(th).SetSnapshot(s).SetUsage(u).SetSize(w, h).View(w, h, true)
		})
		render(t, name+" waypoints", func(th *theme.Theme, w, h int) string {
			return waypoints.New(th).SetSnapshot(s).SetUsage(u).SetSize(w, h).View(w, h, true)
		})
		render(t, name+" policies", func(th *theme.Theme, w, h int) string {
			return policies.New(th).SetSnapshot(s).SetSize(w, h).View(w, h, true)
		})
		for _, ns := range s.Namespaces {
			render(t, name+" drilled workloads", func(th *theme.Theme, w, h int) string {
				return workloads.New(th).SetSnapshot(s).SetNamespace(ns.Name).SetSize(w, h).View(w, h, true)
			})
			render(t, name+" namespace detail", func(th *theme.Theme, w, h int) string {
				return detail.ForNamespace(s, ns.Name, th).SetSize(w, h).View(w, h)
			})
			render(t, name+" namespace patch", func(th *theme.Theme, w, h int) string {
				return patch.ForNamespace(th, s, ns.Name).SetSize(w, h).View(w, h)
			})
		}
		for _, p := range s.Pods {
			k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
			render(t, name+" pod detail", func(th *theme.Theme, w, h int) string {
				return detail.ForPod(s, k, th).SetSize(w, h).View(w, h)
			})
		}
		for _, g := range s.Gateways {
			k := ambient.Key{Namespace: g.Namespace, Name: g.Name}
			render(t, name+" waypoint detail", func(th *theme.Theme, w, h int) string {
				return detail.ForWaypoint(s, k, th).SetSize(w, h).View(w, h)
			})
		}
		for _, p := range s.AuthorizationPolicies {
			k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
			render(t, name+" policy detail", func(th *theme.Theme, w, h int) string {
				return detail.ForPolicy(s, "AuthorizationPolicy", k, th).SetSize(w, h).View(w, h)
			})
		}
		for i, f := range s.Findings {
			render(t, name+" findings", func(th *theme.Theme, w, h int) string {
				m := findings.New(th).SetSnapshot(s).SetSize(w, h)
				for range i {
					m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
				}
				return m.View(w, h)
			})
			if f.Patch != nil {
				render(t, name+" finding patch", func(th *theme.Theme, w, h int) string {
					return patch.ForFinding(th, f).SetSize(w, h).View(w, h)
				})
			}
		}
		render(t, name+" overhead", func(th *theme.Theme, w, h int) string {
			m := overhead.New(th, u.Pods[ambient.Key{}]).Set(s, u)
			return m.View(w, 1, false) + "\n" + m.View(w, h, true)
		})
	}
}

func TestHostileDialogsNeverReachTheTerminal(t *testing.T) {
	for i, p := range hostile.Payloads {
		c := confirm.Content{ID: "x", Title: "Enroll " + p, Description: "namespace " + p + " will be enrolled",
			Patch: `{"metadata":{"labels":{"x":"` + p + `"}}}`, PatchLabel: "JSON patch " + p,
			Consequences: []string{"pods in " + p + " restart", p}}
		render(t, fmt.Sprintf("confirm %d", i), func(th *theme.Theme, w, h int) string {
			return confirm.New(th, c).View(w, h)
		})
		items := []picker.Item{{Label: "waypoint" + p, Note: p}, {Label: "none"}}
		render(t, fmt.Sprintf("picker %d", i), func(th *theme.Theme, w, h int) string {
			return picker.New(th, "id", "Waypoint for "+p, items, 0).View(w, h)
		})
		f := finding.Finding{Code: "X", Title: "blocked " + p, Why: "because\n" + p, Fix: "fix " + p,
			Object: finding.Ref{Kind: "Pod", Namespace: "ns" + p, Name: "pod" + p},
			Patch:  &finding.Patch{Title: "allow " + p, Command: "kubectl patch " + p, Manifest: "name: " + p + "\n"}}
		render(t, fmt.Sprintf("patch %d", i), func(th *theme.Theme, w, h int) string {
			return patch.ForFinding(th, f).SetSize(w, h).View(w, h)
		})
	}
}

func TestHostileLogLinesNeverReachTheTerminal(t *testing.T) {
	target := logs.Target{Title: "loki/promtail" + hostile.Payloads[0], Namespace: "loki",
		Plan: logstream.Plan{Targets: []logstream.Target{
			{Namespace: "istio-system", Pod: "ztunnel-a" + hostile.Payloads[1], Node: "node" + hostile.Payloads[3]},
			{Namespace: "istio-system", Pod: "ztunnel-b", Node: "node-b" + hostile.Payloads[4]},
		}, Missing: []string{"node-c" + hostile.Payloads[2]}}}
	var entries []logstream.Entry
	entries = append(entries, logstream.Entry{Kind: logstream.KindStatus, Text: "stream ended: " + hostile.Payloads[5]})
	for _, raw := range hostile.LogLines() {
		l := ztlog.Parse(raw)
		entries = append(entries, logstream.Entry{Kind: logstream.KindLine, Node: "node" + hostile.Payloads[3], Line: l, At: l.Time})
	}
	keys := [][]string{nil, {"k"}, {"k", "k", "k"}, {"w"}, {"w", "k", "k"}, {"t"}, {"f"}}
	for _, ks := range keys {
		render(t, fmt.Sprintf("logs %v", ks), func(th *theme.Theme, w, h int) string {
			m := logs.New(th, target, nil, logs.Options{}).SetSize(w, h).Ingest(entries)
			for _, k := range ks {
				m, _ = m.Update(tea.KeyPressMsg{Code: rune(k[0]), Text: k})
			}
			return m.View(w, h)
		})
	}
	// Every selected row, so each hint line is drawn.
	m := logs.New(theme.Plain, target, nil, logs.Options{}).SetSize(160, 50).Ingest(entries)
	for range entries {
		m, _ = m.Update(tea.KeyPressMsg{Code: 'k', Text: "k"})
		hostile.Check(t, "logs selected row", m.View(160, 50))
	}
}

// The hostile cluster must not break the analysis either: it is still read.
func TestHostileSnapshotIsAnalysed(t *testing.T) {
	s := hostile.Snapshot(false)
	if s.Mesh == nil || len(s.Mesh.Pods) == 0 {
		t.Fatalf("no analysis of the hostile cluster")
	}
	_ = kube.ResNamespaces
}
