package metrics

import (
	"bytes"
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/kube/usage"
)

// BenchmarkIdleMinute is a model of ambx's idle minute at issue 21's size,
// in process and in seconds instead of the large cluster test's minutes:
// a standing heap like the explorer's (issue 21's synthetic cluster, the
// served PodMetricsList and its encodings: ≈ 60 MiB live) and six polls
// of 10,600 PodMetrics over loopback HTTP, one per 10 s window of the test's
// fake metrics API. Per op (one minute): the most memory the Go runtime
// held from the OS at once (peak-mapped-MiB: what RSS follows, less the
// binary), collections, and the process's CPU time. "typed" is the poll
// as it was (the typed List, then usage.FromMetrics), "poller" as it is;
// gogc=50 is ambx's pace while a cluster loads, 25 once it is loaded.
func BenchmarkIdleMinute(b *testing.B) {
	cs := serveList(b, largeList(b), false)
	standing := synth.Cluster(10000, 1000, 3000, 500)
	p := Poller{Client: cs, body: new(bytes.Buffer)} // as Run polls
	for _, gogc := range []int{50, 25} {
		for _, bc := range []struct {
			name string
			poll func() *usage.Usage
		}{
			{"typed", func() *usage.Usage { return typed(b, cs, "", t0) }},
			{"poller", func() *usage.Usage {
				u, err := p.poll(context.Background(), t0, time.Minute, usage.Need{Pods: true})
				if err != nil {
					b.Fatal(err)
				}
				return u
			}},
		} {
			b.Run(fmt.Sprintf("%s/gogc=%d", bc.name, gogc), func(b *testing.B) {
				defer debug.SetGCPercent(debug.SetGCPercent(gogc))
				keep := bc.poll()
				runtime.GC()
				debug.FreeOSMemory()
				s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/cycles/total:gc-cycles"}}
				rtmetrics.Read(s)
				live, cycles := s[0].Value.Uint64(), s[1].Value.Uint64()
				cpu := processCPU()
				peak, stop := watchMapped()
				for b.Loop() {
					for range 6 {
						keep = bc.poll()
					}
				}
				stop()
				cpu = processCPU() - cpu
				rtmetrics.Read(s)
				b.ReportMetric(mib(live), "live-MiB")
				b.ReportMetric(mib(peak.Load()), "peak-mapped-MiB")
				b.ReportMetric(float64(s[1].Value.Uint64()-cycles)/float64(b.N), "gc/op")
				b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/op")
				runtime.KeepAlive(keep)
			})
		}
	}
	runtime.KeepAlive(standing)
}

// watchMapped samples the memory the Go runtime holds from the OS (mapped
// and not released) until stop is called, keeping the highest.
func watchMapped() (peak *atomic.Uint64, stop func()) {
	peak = new(atomic.Uint64)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := []rtmetrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
		for {
			rtmetrics.Read(s)
			if v := s[0].Value.Uint64() - s[1].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-quit:
				return
			case <-time.After(200 * time.Microsecond):
			}
		}
	}()
	return peak, func() { close(quit); <-done }
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
