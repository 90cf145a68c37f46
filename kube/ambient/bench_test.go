package ambient_test

import (
	"testing"

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
