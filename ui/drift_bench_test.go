package ui

import (
	"context"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
)

// BenchmarkSurveyMsg is what a finished round of ztunnel reads costs the
// UI goroutine at 10,000 application pods (100 ztunnels) when every read
// failed as the last round's did: the issue 21 cluster's case, whose
// ztunnels serve nothing. The round's reads are made outside the timer;
// cpu-ns/op as in BenchmarkSnapshotMsg.
func BenchmarkSurveyMsg(b *testing.B) {
	s := bigSnapshot(10000)
	now := t0
	clock := func() time.Time { return now }
	m := New(Options{Theme: theme.Dark, Now: clock, Ztunnel: failingReader{}})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	mm, _ = mm.Update(SnapshotMsg{s})
	pods := ztread.Ztunnels(s.Pods)
	if len(pods) == 0 {
		b.Fatal("no ztunnel in the cluster")
	}
	round := func() surveyMsg {
		sv := survey(context.Background(), failingReader{}, pods, nil, len(pods), ztunnel.Versions(&s.Cluster), now, clock, 0)
		return surveyMsg{survey: sv, pods: s.Pods}
	}
	mm, _ = mm.Update(round())
	b.ReportAllocs()
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		now = now.Add(2 * time.Minute)
		msg := round()
		b.StartTimer()
		start := cpuTime()
		mm, _ = mm.Update(msg)
		_ = mm.(Model).View()
		cpu += cpuTime() - start
	}
	b.ReportMetric(float64(cpu)/float64(b.N), "cpu-ns/op")
}
