package ambient_test

import (
	"testing"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/synth"
)

// BenchmarkAnalyze runs the analysis over the size issue 9 names: 10,000
// pods, 1,000 namespaces, 3,000 Services and 500 policies.
// "53000" is issue 21's 50,000-pod size (5,001 namespaces, 15,000
// Services, 2,500 policies, 25 of them in the root namespace).
func BenchmarkAnalyze(b *testing.B) {
	for _, size := range []struct {
		name                                 string
		pods, namespaces, services, policies int
	}{{"10000", 10000, 1000, 3000, 500}, {"53000", 53000, 5001, 15000, 2500}} {
		c := synth.Cluster(size.pods, size.namespaces, size.services, size.policies)
		b.Run(size.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ambient.Analyze(c)
			}
		})
	}
}
