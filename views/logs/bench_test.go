package logs_test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/ztlog"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/logs"
)

// rawLines makes n distinct access lines, a quarter of them about promtail.
func rawLines(n int) []string {
	out := make([]string, n)
	base := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	for i := range out {
		src := fmt.Sprintf("worker-%d", i)
		if i%4 == 0 {
			src = "promtail-d7454"
		}
		ts := base.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000000Z")
		l := strings.Replace(timeout, "2026-11-22T10:00:01.100000Z", ts, 1)
		out[i] = strings.Replace(l, "promtail-57c88", src, 1)
	}
	return out
}

// ingest does what the stream and the pane do per line: parse, then add
// to the ring in batches of 500.
func ingest(m logs.Model, raw []string) logs.Model {
	batch := make([]logstream.Entry, 0, 500)
	for _, s := range raw {
		l := ztlog.Parse(s)
		batch = append(batch, logstream.Entry{Kind: logstream.KindLine, Pod: "ztunnel-54cb5", Node: "homelab-w2", Line: l, At: l.Time})
		if len(batch) == cap(batch) {
			m = m.Ingest(batch)
			batch = make([]logstream.Entry, 0, 500)
		}
	}
	return m.Ingest(batch)
}

func BenchmarkIngest5000(b *testing.B) {
	raw := rawLines(5000)
	m := logs.New(theme.Dark, promtail, nil, logs.Options{}).SetSize(160, 50)
	b.ReportAllocs()
	for b.Loop() {
		m = ingest(m, raw)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*5000), "ns/line")
}

func BenchmarkViewFullRing(b *testing.B) {
	m := ingest(logs.New(theme.Dark, promtail, nil, logs.Options{}).SetSize(160, 50), rawLines(10_000))
	m, _ = press(m, "f")
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View(160, 50)
	}
}

func BenchmarkViewFullRingWrapped(b *testing.B) {
	m := ingest(logs.New(theme.Dark, promtail, nil, logs.Options{}).SetSize(160, 50), rawLines(10_000))
	m, _ = press(m, "f", "w", "space", "g")
	b.ReportAllocs()
	for b.Loop() {
		_ = m.View(160, 50)
	}
}

// TestDrawsOnlyWhatFits: speed is for the benchmarks (timed tests flake on
// shared machines), but how much a frame allocates is deterministic, and a
// frame over a full ring must allocate no more than one over a short one.
func TestDrawsOnlyWhatFits(t *testing.T) {
	m := logs.New(theme.Dark, promtail, nil, logs.Options{}).SetSize(160, 50)
	full := ingest(m, rawLines(10_000))
	small := ingest(logs.New(theme.Dark, promtail, nil, logs.Options{}).SetSize(160, 50), rawLines(100))
	f := testing.AllocsPerRun(20, func() { _ = full.View(160, 50) })
	s := testing.AllocsPerRun(20, func() { _ = small.View(160, 50) })
	if f > 2*s+50 {
		t.Errorf("View over 10,000 lines allocates %.0f times, over 100 lines %.0f: it must draw only what fits", f, s)
	}
}

// TestMemoryIsBounded feeds ten times the ring's capacity and checks the
// heap stays near what one full ring costs.
func TestMemoryIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("memory")
	}
	raw := rawLines(10_000)
	m := ingest(logs.New(theme.Dark, promtail, nil, logs.Options{}).SetSize(160, 50), raw)
	heap := func() uint64 {
		runtime.GC()
		var s runtime.MemStats
		runtime.ReadMemStats(&s)
		return s.HeapAlloc
	}
	one := heap()
	for range 10 {
		m = ingest(m, rawLines(10_000))
	}
	if after := heap(); after > one+one/2 {
		t.Errorf("heap grew from %d to %d bytes after 100,000 more lines into a ring of 10,000", one, after)
	}
	if v := m.View(160, 50); !strings.Contains(v, "/10000 lines") {
		t.Errorf("ring not full:\n%s", v)
	}
	runtime.KeepAlive(raw)
}
