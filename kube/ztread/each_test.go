package ztread

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

func TestEachBoundsParallelReadsAndTimesOutEachOne(t *testing.T) {
	pods := make([]Pod, 9)
	for i := range pods {
		pods[i] = Pod{Name: string(rune('a' + i))}
	}
	var now, peak atomic.Int32
	got := make([]string, len(pods))
	Each(context.Background(), pods, 3, 50*time.Millisecond, func(ctx context.Context, i int, p Pod) {
		n := now.Add(1)
		defer now.Add(-1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		if i == 4 {
			<-ctx.Done() // a stuck read ends with its own timeout
		} else {
			time.Sleep(5 * time.Millisecond)
		}
		got[i] = p.Name
	})
	if p := peak.Load(); p > 3 || p < 1 {
		t.Errorf("%d reads at once, want at most 3", p)
	}
	for i, p := range pods {
		if got[i] != p.Name {
			t.Errorf("read %d saw %q, want %q (every pod once, at its index)", i, got[i], p.Name)
		}
	}
}

func TestEachUntilBeginsNoReadAfterOneStopped(t *testing.T) {
	pods := make([]Pod, 50)
	for i := range pods {
		pods[i] = Pod{Name: string(rune('a' + i))}
	}
	// One at a time, the sixth read stops the run: five more reads would
	// be five port-forwards more.
	var calls atomic.Int32
	begun := EachUntil(context.Background(), pods, 1, time.Second, func(ctx context.Context, i int, p Pod) bool {
		calls.Add(1)
		return i == 5
	})
	if n := calls.Load(); begun != 6 || n != 6 {
		t.Errorf("one at a time, a run stopped by read 5 began %d reads (%d ran), want 6", begun, n)
	}
	// Four at a time, every read stops it: only those already under way run.
	calls.Store(0)
	begun = EachUntil(context.Background(), pods, 4, time.Second, func(context.Context, int, Pod) bool {
		calls.Add(1)
		return true
	})
	if n := int(calls.Load()); begun < 1 || begun > 4 || n != begun {
		t.Errorf("four at a time, a run every read stops began %d reads (%d ran), want 1 to 4", begun, n)
	}
	all := EachUntil(context.Background(), pods, 4, time.Second, func(context.Context, int, Pod) bool { return false })
	if all != len(pods) {
		t.Errorf("a run no read stopped began %d reads of %d", all, len(pods))
	}
}
