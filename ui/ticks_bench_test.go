package ui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/theme"
)

// BenchmarkProgressTick is a snapshot the Source publishes while the pods'
// first list streams in, at the 50,000-pod size (5,000 namespaces, 15,000
// Services, 2,500 policies): the last one's analysis with a new clock and
// pod count, then its frame. It comes every 500 pods.
func BenchmarkProgressTick(b *testing.B) {
	s := loading(53000, 5000, 15000, 2500)
	s.Context = "bench"
	s.Resources = loadingStates(0, 53000)
	m := New(Options{Theme: theme.Dark, Now: func() time.Time { return t0 }})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: 160, Height: 50})
	mm, _ = mm.Update(SnapshotMsg{s})
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		i++
		n := *s
		n.Taken = s.Taken.Add(time.Duration(i) * 100 * time.Millisecond)
		n.Seq = uint64(i)
		n.Resources = loadingStates(i*500%53000, 53000)
		mm, _ = mm.Update(SnapshotMsg{&n})
		_ = mm.(Model).Render()
	}
}
