package main

import (
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/ambx/ambx/kube"
)

// The collector's pace (GOGC) by what the explorer is doing. While a
// cluster's first lists arrive nearly everything allocated stays live, so
// a tight pace only repeats collections of a growing heap: at 10,600 pods
// the garbage collector was already 40 % of start-up's CPU at 50. Once the
// pods are read, the live heap stays put and what is allocated is garbage
// (each metrics poll, each frame); the heap goal, and with it the
// resident size, is live × (1 + GOGC/100), so the idle pace sets the idle
// footprint: at 25 a 70 MiB heap is collected at 88 MiB instead of 105,
// for about one collection more per metrics poll (BENCHMARKS.md).
const (
	loadGCPercent = 50
	idleGCPercent = 25
)

// gcPace switches the collector between the two paces as sessions load.
// A GOGC the user set is never changed.
type gcPace struct {
	set  func(percent int) int // debug.SetGCPercent; tests record the calls
	user bool

	mu  sync.Mutex
	gen int // the current session; a stopped session's Source cannot switch
}

func newGCPace() *gcPace {
	_, user := os.LookupEnv("GOGC")
	return &gcPace{set: debug.SetGCPercent, user: user}
}

// watch returns publish wrapped for a new session: the load pace now,
// the idle pace from the first snapshot in which the pods' first list is
// over (read, or known unreadable).
func (g *gcPace) watch(publish func(*kube.Snapshot)) func(*kube.Snapshot) {
	g.mu.Lock()
	g.gen++
	gen := g.gen
	g.pace(loadGCPercent)
	g.mu.Unlock()
	var loaded atomic.Bool
	return func(s *kube.Snapshot) {
		if !loaded.Load() && s.State(kube.ResPods).Availability != kube.Syncing && !loaded.Swap(true) {
			g.mu.Lock()
			if g.gen == gen {
				g.pace(idleGCPercent)
			}
			g.mu.Unlock()
		}
		publish(s)
	}
}

func (g *gcPace) pace(percent int) {
	if !g.user {
		g.set(percent)
	}
}
