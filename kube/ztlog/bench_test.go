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

// TestParseAllocations keeps parsing cheap in ordinary test runs: speed is
// for BenchmarkParse (timed tests flake on shared machines), but the number
// of allocations a line costs is deterministic.
func TestParseAllocations(t *testing.T) {
	lines := sampleLines(t)
	i := 0
	a := testing.AllocsPerRun(200, func() {
		_ = ztlog.Parse(lines[i%len(lines)])
		i++
	})
	if a > 3 {
		t.Errorf("Parse makes %.1f allocations a line, want at most 3", a)
	}
}
