package main

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
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

// At the idle pace the heap goal is not all that stays resident: pages
// the load, or a burst of garbage since, freed are returned to the OS
// only slowly, and a drift survey round's port-forwards (each a 0.7 MiB
// SPDY header compressor, 100 of them a round at 100 nodes) leave the
// heap fragmented well past its goal. At 10,600 pods that was 17 MiB over
// the idle footprint at every round (BENCHMARKS.md). So at the idle pace a
// soft memory limit follows the live heap, set after every collection to
// the live heap + limitPercent plus the runtime's own memory: the
// scavenger hands back what lies beyond at once, and the collector starts
// earlier than GOGC 25 would have it. The margin is what memory costs in
// CPU: at 10 % + 4 MiB a 10,600-pod cluster peaked at 118.7-120.0 MiB
// over a run at 0.9-1.0 % of a core idle; at 5 % + 2 MiB, 113.6-116.9 MiB
// at 1.3 %, once the panes stopped making garbage of every row a poll
// changed (BENCHMARKS.md). A 53,000-pod heap is collected more often for
// it (6.4 % of a core idle at 10 % + 4 MiB), a trade BENCHMARKS.md states.
const (
	limitPercent = 5
	limitSlack   = 2 << 20
)

// gcPace switches the collector between the two paces as sessions load.
// A GOGC or GOMEMLIMIT the user set is never changed.
type gcPace struct {
	set   func(percent int) int   // debug.SetGCPercent; tests record the calls
	limit func(bytes int64) int64 // debug.SetMemoryLimit
	read  func() memoryNow        // the runtime's figures after a collection
	user  bool

	mu     sync.Mutex
	gen    int  // the current session; a stopped session's Source cannot switch
	loaded bool // the current session's Source published its pods listed
	idle   bool // the current session is at the idle pace: its soft limit is on
	armed  sync.Once
}

func newGCPace() *gcPace {
	_, gogc := os.LookupEnv("GOGC")
	_, limit := os.LookupEnv("GOMEMLIMIT")
	return &gcPace{set: debug.SetGCPercent, limit: debug.SetMemoryLimit, read: readMemory, user: gogc || limit}
}

// memoryNow is what the runtime holds, in bytes.
type memoryNow struct {
	live    uint64 // the heap marked live by the last collection
	objects uint64 // heap objects, live or not yet swept
	free    uint64 // heap pages free but not returned to the OS
	mapped  uint64 // all the runtime has mapped and not returned
}

var memorySamples = []string{"/gc/heap/live:bytes", "/memory/classes/heap/objects:bytes",
	"/memory/classes/heap/free:bytes", "/memory/classes/total:bytes", "/memory/classes/heap/released:bytes"}

func readMemory() memoryNow {
	s := make([]metrics.Sample, len(memorySamples))
	for i, n := range memorySamples {
		s[i].Name = n
	}
	metrics.Read(s)
	v := func(i int) uint64 {
		if s[i].Value.Kind() != metrics.KindUint64 {
			return 0
		}
		return s[i].Value.Uint64()
	}
	return memoryNow{live: v(0), objects: v(1), free: v(2), mapped: v(3) - min(v(4), v(3))}
}

// idleLimit is the soft limit for m: the live heap grown by the idle pace,
// plus what the runtime holds besides heap objects and free pages (span
// tails, stacks, its metadata), plus slack. Zero when the figures are not
// there to judge by.
func idleLimit(m memoryNow) int64 {
	if m.live == 0 || m.mapped < m.objects+m.free {
		return 0
	}
	own := m.mapped - m.objects - m.free
	return int64(m.live + m.live*limitPercent/100 + own + limitSlack)
}

// watch returns publish wrapped for a new session: the load pace now,
// the idle GOGC from the first snapshot in which the pods' first list is
// over (read, or known unreadable), and the idle soft limit once the UI
// has taken that in (shown).
func (g *gcPace) watch(publish func(*kube.Snapshot)) func(*kube.Snapshot) {
	g.mu.Lock()
	g.gen++
	gen := g.gen
	g.loaded = false
	g.pace(loadGCPercent)
	if g.idle {
		g.idle = false
		g.limit(math.MaxInt64)
	}
	g.mu.Unlock()
	var loaded atomic.Bool
	return func(s *kube.Snapshot) {
		if !loaded.Load() && podsListed(s) && !loaded.Swap(true) {
			g.mu.Lock()
			if g.gen == gen {
				g.loaded = true
				g.pace(idleGCPercent)
			}
			g.mu.Unlock()
		}
		publish(s)
	}
}

func podsListed(s *kube.Snapshot) bool {
	return s != nil && s.State(kube.ResPods).Availability != kube.Syncing
}

// shown is told of every snapshot the UI has applied. The first one with
// the pods listed, once the current session's Source published one,
// starts the idle soft limit: the UI builds its panes' rows from it as it
// applies it, and under a limit a few MiB over the live heap that build
// ran with a collection every 40-50 ms at 10,600 pods. GOGC 25 bounds it
// meanwhile (at 50,000 pods the load pace's 50 would let a 300 MiB heap
// grow by half).
func (g *gcPace) shown(s *kube.Snapshot) {
	if !podsListed(s) {
		return
	}
	g.mu.Lock()
	if !g.loaded || g.idle || g.user {
		g.mu.Unlock()
		return
	}
	g.idle = true
	g.mu.Unlock()
	g.follow()
	g.armed.Do(func() { afterEachGC(g.follow) })
}

func (g *gcPace) pace(percent int) {
	if !g.user {
		g.set(percent)
	}
}

// follow sets the soft limit from the runtime's figures, while the
// current session is at the idle pace.
func (g *gcPace) follow() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.idle {
		return
	}
	if l := idleLimit(g.read()); l > 0 {
		g.limit(l)
	}
}

// gcSentinel is allocated only to become garbage: its cleanup marks the
// end of a collection.
type gcSentinel struct{ _ *byte }

// afterEachGC calls f once after every collection, on the runtime's
// cleanup goroutine, for the life of the process.
func afterEachGC(f func()) {
	runtime.AddCleanup(new(gcSentinel), func(f func()) { f(); afterEachGC(f) }, f)
}
