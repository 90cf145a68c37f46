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
