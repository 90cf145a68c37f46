package ui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/theme"
)

// bigSnapshot is a synthetic cluster of the given number of pods, with a
// tenth as many namespaces, as kube.Build publishes it.
func bigSnapshot(pods int) *kube.Snapshot {
	s := kube.Build(*synth.Cluster(pods, max(1, pods/10), pods*3/10, pods/20), t0)
	s.Context = "bench"
	s.Resources = map[kube.Resource]kube.ResourceState{}
	for _, r := range []kube.Resource{kube.ResNamespaces, kube.ResPods, kube.ResServices, kube.ResNodes, kube.ResNetworkPolicies, kube.ResGateways, kube.ResGatewayClasses, kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications} {
		s.Resources[r] = kube.ResourceState{Availability: kube.Available}
	}
	return s
}

// BenchmarkKeyToFrame is a key press as Bubble Tea handles it: Update, then
// the frame it renders. The Workloads pane has focus and the cursor walks
// down; 100 and 10,000 pods should cost the same.
func BenchmarkKeyToFrame(b *testing.B) {
	for _, n := range []int{100, 10000} {
		m := New(Options{Theme: theme.Dark, Now: func() time.Time { return t0 }})
		mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
		mm, _ = mm.Update(SnapshotMsg{bigSnapshot(n)})
		m = press(mm.(Model), "2")
		if !strings.Contains(m.Render(), "Workloads") {
			b.Fatal("no Workloads pane on screen")
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			down := keyMsg("j")
			for b.Loop() {
				mm, _ := m.Update(down)
				m = mm.(Model)
				_ = m.Render()
			}
		})
	}
}

// BenchmarkSnapshotMsg is what a published snapshot costs the UI
// goroutine: every pane rebuilds its rows.
func BenchmarkSnapshotMsg(b *testing.B) {
	for _, n := range []int{100, 10000} {
		s := bigSnapshot(n)
		m := New(Options{Theme: theme.Dark, Now: func() time.Time { return t0 }})
		mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				mm, _ = mm.Update(SnapshotMsg{s})
			}
		})
	}
}
