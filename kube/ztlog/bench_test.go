package ztlog_test

import (
	"testing"

	"github.com/ambx/ambx/kube/ztlog"
)

// The log pane must keep up with 5,000 lines a second, so a line has to
// parse in well under 20µs; these show the real cost and allocations.

func BenchmarkParseAccess(b *testing.B) {
	line := sampleLines(b)[6] // the HBONE timeout: the longest common line
	b.ReportAllocs()
	for b.Loop() {
		l := ztlog.Parse(line)
		if l.Conn.Direction != ztlog.DirOutbound {
			b.Fatal("not parsed")
		}
	}
}

func BenchmarkParseSamples(b *testing.B) {
	lines := sampleLines(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = ztlog.Parse(lines[i%len(lines)])
		i++
	}
}

// TestParseIsFast fails when parsing gets an order of magnitude slower than
// the budget, so a regression shows in ordinary test runs too.
func TestParseIsFast(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	lines := sampleLines(t)
	r := testing.Benchmark(func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			_ = ztlog.Parse(lines[i%len(lines)])
		}
	})
	if per := r.NsPerOp(); per > 20_000 {
		t.Errorf("Parse takes %dns a line; the pane's budget is 20µs", per)
	}
	if a := r.AllocsPerOp(); a > 3 {
		t.Errorf("Parse makes %d allocations a line, want at most 3", a)
	}
}
