package workloads_test

import (
	"fmt"
	"testing"

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
