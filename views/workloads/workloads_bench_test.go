package workloads_test

import (
	"fmt"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/workloads"
)

func big(pods int) *kube.Snapshot {
	return kube.Build(*synth.Cluster(pods, max(1, pods/10), pods*3/10, pods/20), t0)
}

// BenchmarkSetSnapshot is what the pane costs the UI goroutine per
// published snapshot: rows for every pod, then the table's SetRows.
func BenchmarkSetSnapshot(b *testing.B) {
	for _, n := range []int{100, 10000} {
		s := big(n)
		m := workloads.New(theme.Dark).SetSize(160, 50)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				m = m.SetSnapshot(s)
			}
		})
	}
}

// BenchmarkView draws the pane at 160x50 with the cursor mid-table.
func BenchmarkView(b *testing.B) {
	for _, n := range []int{100, 10000} {
		m := workloads.New(theme.Dark).SetSnapshot(big(n)).SetSize(160, 50)
		for range n / 2 {
			m, _ = m.Update(key("j"))
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View(160, 50, true)
			}
		})
	}
}

// changedOne is c rebuilt after one pod's status changed: every other pod
// is the same object, as the Source hands them out.
func changedOne(pods int) (before, after *kube.Snapshot, changed string) {
	c := synth.Cluster(pods, max(1, pods/10), pods*3/10, pods/20)
	before = kube.Build(*c, t0)
	next := *c
	next.Pods = append([]*corev1.Pod(nil), c.Pods...)
	i := len(next.Pods) / 2
	p := next.Pods[i].DeepCopy()
	p.Status.Phase = corev1.PodSucceeded // READY shows "done"
	next.Pods[i] = p
	return before, kube.Build(next, t0), p.Name
}

// BenchmarkSetSnapshotOnePodChanged is the common snapshot on a live
// cluster: one pod's status changed, so one row is rebuilt.
func BenchmarkSetSnapshotOnePodChanged(b *testing.B) {
	for _, n := range []int{100, 10000} {
		s1, s2, _ := changedOne(n)
		m := workloads.New(theme.Dark).SetSize(160, 50).SetSnapshot(s1)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%2 == 0 {
					m = m.SetSnapshot(s2)
				} else {
					m = m.SetSnapshot(s1)
				}
			}
		})
	}
}

// BenchmarkHeld is what the pane keeps in memory between snapshots, per
// pod (held-B/pod): at 10,000 pods its rows are one of the largest parts
// of ambx's live heap (BENCHMARKS.md, issue 21).
func BenchmarkHeld(b *testing.B) {
	s := big(10000)
	var held uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		m := workloads.New(theme.Dark).SetSize(160, 50).SetSnapshot(s)
		runtime.GC()
		runtime.ReadMemStats(&after)
		held = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(m)
	}
	b.ReportMetric(float64(held)/float64(len(s.Pods)), "held-B/pod")
}
