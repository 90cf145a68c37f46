package ui

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/kube/ztunnel"
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
// the frame it renders (cpu-ns/op as in BenchmarkSnapshotMsg). The
// Workloads pane has focus and the cursor walks down; 100, 10,000 and
// 50,000 pods should cost the same (issue 21: at most 2 ms at 50,000).
func BenchmarkKeyToFrame(b *testing.B) {
	for _, n := range []int{100, 10000, 50000} {
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
			var cpu time.Duration
			for b.Loop() {
				start := cpuTime()
				mm, _ := m.Update(down)
				m = mm.(Model)
				_ = m.Render()
				cpu += cpuTime() - start
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkSnapshotMsg is what a published snapshot costs the UI
// goroutine: "same" re-sends one snapshot; "one-pod" is a series as a
// Source publishes it (kube.Builder), each snapshot the last with one
// pod's status changed, as a live cluster's snapshots mostly are;
// "loads" alternates two that differ in ztunnel's rates, as an idle
// cluster's do every rate scrape. cpu-ns/op is the process's CPU time
// spent in Update per op (getrusage), which a machine shared with other
// work inflates far less than ns/op; building the series is not counted.
func BenchmarkSnapshotMsg(b *testing.B) {
	for _, n := range []int{100, 10000} {
		s1 := bigSnapshot(n)
		// Two scrapes that read no traffic: the rows keep their "—". On a
		// snapshot of a series, with its PodDelta, as a Source's are.
		var scraped kube.Builder
		scraped.Build(s1.Cluster, t0)
		sl := scraped.Build(s1.Cluster, t0)
		sl.Context, sl.Resources = s1.Context, s1.Resources
		l1, l2 := sl.WithLoads(&ztunnel.Loads{At: t0}), sl.WithLoads(&ztunnel.Loads{At: t0.Add(10 * time.Second)})
		for _, tc := range []struct {
			name       string
			base, next *kube.Snapshot
		}{{"same", s1, s1}, {"one-pod", s1, nil}, {"loads", l1, l2}} {
			var series kube.Builder
			if tc.next == nil {
				tc.base = series.Build(s1.Cluster, t0)
				tc.base.Context = s1.Context
			}
			m := New(Options{Theme: theme.Dark, Now: func() time.Time { return t0 }})
			mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
			mm, _ = mm.Update(SnapshotMsg{tc.base})
			b.Run(fmt.Sprintf("%s/%d", tc.name, n), func(b *testing.B) {
				b.ReportAllocs()
				var cpu time.Duration
				last := tc.base
				for i := 0; b.Loop(); i++ {
					s := tc.base
					switch {
					case tc.next == nil:
						b.StopTimer()
						s = oneChanged(&series, last, i)
						last = s
						b.StartTimer()
					case i%2 == 0:
						s = tc.next
					}
					start := cpuTime()
					mm, _ = mm.Update(SnapshotMsg{s})
					cpu += cpuTime() - start
				}
				b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
			})
		}
	}
}

// oneChanged is the next snapshot of a series after s: one pod's status
// changed (Succeeded, or Running again); every other pod is the same
// object, as the Source hands them out.
func oneChanged(series *kube.Builder, s *kube.Snapshot, i int) *kube.Snapshot {
	c := s.Cluster
	c.Pods = append([]*corev1.Pod(nil), c.Pods...)
	j := (len(c.Pods)/2 + i*7919) % len(c.Pods)
	p := c.Pods[j].DeepCopy()
	if p.Status.Phase == corev1.PodSucceeded {
		p.Status.Phase = corev1.PodRunning
	} else {
		p.Status.Phase = corev1.PodSucceeded
	}
	c.Pods[j] = p
	next := series.Build(c, t0)
	next.Context = s.Context
	return next
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
