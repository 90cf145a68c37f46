package ui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
)

// podUsage is a poll that read every pod of s: the same figures for each
// call with the same seed, as the fake metrics API serves them.
func podUsage(keys []ambient.Key, taken time.Time, seed int64) *usage.Usage {
	u := &usage.Usage{Taken: taken, Available: true, Sampled: taken, Window: 10 * time.Second, Pods: map[ambient.Key]usage.Resources{}, Proxies: map[ambient.Key]usage.Resources{}}
	for i, k := range keys {
		u.Pods[k] = usage.Resources{CPUMilli: int64(i%50) + seed, MemBytes: int64(i%7+1) << 20}
	}
	return u
}

// BenchmarkUsageMsg is what a metrics poll costs the UI goroutine at
// 10,000 application pods: "same" is a poll whose figures equal the last
// one's (the fake metrics API, or metrics-server between scrapes), "changed"
// one where every pod's CPU moved. cpu-ns/op as in BenchmarkSnapshotMsg.
func BenchmarkUsageMsg(b *testing.B) {
	s := bigSnapshot(10000)
	var keys []ambient.Key
	for _, p := range s.Pods {
		keys = append(keys, ambient.Key{Namespace: p.Namespace, Name: p.Name})
	}
	for _, tc := range []struct {
		name string
		seed int64
	}{{"same", 0}, {"changed", 1}} {
		m := New(Options{Theme: theme.Dark, Now: func() time.Time { return t0 }})
		mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
		mm, _ = mm.Update(SnapshotMsg{s})
		mm, _ = mm.Update(UsageMsg{podUsage(keys, t0, 0)})
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			var cpu time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				u := podUsage(keys, t0.Add(time.Duration(i+1)*10*time.Second), tc.seed*int64(i%2))
				b.StartTimer()
				start := cpuTime()
				mm, _ = mm.Update(UsageMsg{u})
				_ = mm.(Model).Render()
				cpu += cpuTime() - start
			}
			b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkIdleTick is one second of an idle screen at 10,000 pods: the
// clock's tick and the frame Bubble Tea asks View for, with no ztunnel
// reader.
func BenchmarkIdleTick(b *testing.B) {
	s := bigSnapshot(10000)
	now := t0
	m := New(Options{Theme: theme.Dark, Now: func() time.Time { return now }})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	mm, _ = mm.Update(SnapshotMsg{s})
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		now = now.Add(time.Second)
		start := cpuTime()
		mm, _ = mm.Update(TickMsg(now))
		_ = mm.(Model).View()
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}
