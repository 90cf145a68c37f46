package ambient_test

import (
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/synth"
)

// BenchmarkAnalyze runs the analysis over the size issue 9 names: 10,000
// pods, 1,000 namespaces, 3,000 Services and 500 policies.
func BenchmarkAnalyze(b *testing.B) {
	c := synth.Cluster(10000, 1000, 3000, 500)
	b.ReportAllocs()
	for b.Loop() {
		ambient.Analyze(c)
	}
}

// TestAnalyzeLargeClusterBudget keeps the large cluster well under the
// 200 ms the UI can spend per snapshot, with room for a slow, shared CI box.
func TestAnalyzeLargeClusterBudget(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing is meaningless under -short or -race")
	}
	c := synth.Cluster(10000, 1000, 3000, 500)
	ambient.Analyze(c) // warm up
	best := time.Hour
	for range 3 {
		start := time.Now()
		ambient.Analyze(c)
		best = min(best, time.Since(start))
	}
	if best > 200*time.Millisecond {
		t.Errorf("Analyze took %v on the large cluster, budget 200ms", best)
	}
	t.Logf("Analyze over 10k pods: %v", best)
}
