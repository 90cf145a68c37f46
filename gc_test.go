package main

import (
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/metrics"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui"
)

func podsIn(a kube.Availability) *kube.Snapshot {
	return &kube.Snapshot{Resources: map[kube.Resource]kube.ResourceState{kube.ResPods: {Availability: a, Loaded: 10, Total: 10600}}}
}

func TestGCPaceFollowsTheLoad(t *testing.T) {
	var calls []int
	g := &gcPace{set: func(p int) int { calls = append(calls, p); return 0 },
		limit: func(int64) int64 { return 0 }, read: func() memoryNow { return memoryNow{} }}
	published := 0
	count := func(*kube.Snapshot) { published++ }

	first := g.watch(count)
	loading := podsIn(kube.Syncing) // "loading pods 10 / 10,600"
	first(loading)
	g.shown(loading)
	first(&kube.Snapshot{}) // nothing read yet
	if want := []int{loadGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("while the pods load: GOGC set to %v, want %v", calls, want)
	}
	listed := podsIn(kube.Available)
	first(listed)
	g.shown(listed)
	first(podsIn(kube.Available))
	g.shown(podsIn(kube.Available))
	if want := []int{loadGCPercent, idleGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("after the pods are read: GOGC set to %v, want %v", calls, want)
	}

	// A context switch loads another cluster at the load pace; the old
	// session's Source, still stopping, cannot switch it to idle, nor can
	// the UI showing its last snapshot.
	second := g.watch(count)
	old := podsIn(kube.Available)
	first(old)
	g.shown(old)
	second(podsIn(kube.Syncing))
	if want := []int{loadGCPercent, idleGCPercent, loadGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("while the second context loads: GOGC set to %v, want %v", calls, want)
	}
	// Pods that cannot be read are as loaded as they will get.
	forbidden := podsIn(kube.Forbidden)
	second(forbidden)
	g.shown(forbidden)
	if want := []int{loadGCPercent, idleGCPercent, loadGCPercent, idleGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("pods forbidden: GOGC set to %v, want %v", calls, want)
	}
	if published != 7 {
		t.Errorf("%d snapshots published, want all 7", published)
	}
}

// A GOGC or GOMEMLIMIT the user set leaves both alone.
func TestGCPaceLeavesTheUsersSettings(t *testing.T) {
	for _, env := range [][2]string{{"GOGC", "200"}, {"GOMEMLIMIT", "1GiB"}} {
		t.Run(env[0], func(t *testing.T) {
			t.Setenv(env[0], env[1])
			g := newGCPace()
			var calls []int
			var limits []int64
			g.set = func(p int) int { calls = append(calls, p); return 0 }
			g.limit = func(b int64) int64 { limits = append(limits, b); return 0 }
			w := g.watch(func(*kube.Snapshot) {})
			s := podsIn(kube.Available)
			w(s)
			g.shown(s)
			if len(calls) != 0 || len(limits) != 0 {
				t.Errorf("%s=%s in the environment, yet GOGC set to %v and the memory limit to %v", env[0], env[1], calls, limits)
			}
		})
	}
}

const mib = 1 << 20

func TestIdleLimit(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    memoryNow
		want int64
	}{
		// 10,600 pods at idle: 61 MiB live, 64 MiB of objects before the
		// sweep, 12 MiB of free pages, 96 MiB mapped: the runtime's own
		// 20 MiB stay, the free pages do not.
		{"10,600 pods", memoryNow{live: 61 * mib, objects: 64 * mib, free: 12 * mib, mapped: 96 * mib}, (61*mib + 61*mib*limitPercent/100) + 20*mib + limitSlack},
		{"nothing collected yet", memoryNow{objects: 3 * mib, mapped: 8 * mib}, 0},
		{"figures that do not add up", memoryNow{live: 10 * mib, objects: 20 * mib, free: 5 * mib, mapped: 24 * mib}, 0},
	} {
		if got := idleLimit(tc.m); got != tc.want {
			t.Errorf("%s: idleLimit = %.1f MiB, want %.1f", tc.name, float64(got)/mib, float64(tc.want)/mib)
		}
	}
}

// The limit follows the live heap only at the idle pace: while a session
// loads, everything it allocates stays live and a limit would only repeat
// collections of a growing heap.
func TestMemoryLimitFollowsTheIdleHeap(t *testing.T) {
	var limits []int64
	now := memoryNow{live: 50 * mib, objects: 50 * mib, free: 10 * mib, mapped: 80 * mib}
	g := &gcPace{set: func(int) int { return 0 }, limit: func(b int64) int64 { limits = append(limits, b); return 0 },
		read: func() memoryNow { return now }}
	w := g.watch(func(*kube.Snapshot) {})
	w(podsIn(kube.Syncing))
	g.follow() // a collection while the pods load
	if len(limits) != 0 {
		t.Fatalf("memory limit set to %v while the pods load", limits)
	}
	listed := podsIn(kube.Available)
	w(listed)
	if len(limits) != 0 {
		t.Fatalf("memory limit set to %v before the UI built its panes from the pods", limits)
	}
	g.shown(listed)
	if want := []int64{idleLimit(now)}; !slices.Equal(limits, want) {
		t.Fatalf("at the idle pace: limits %v, want %v", limits, want)
	}
	now.live, now.objects, now.mapped = 70*mib, 70*mib, 100*mib // the cluster grew
	g.follow()
	if got := limits[len(limits)-1]; got != idleLimit(now) || got <= limits[0] {
		t.Fatalf("after the heap grew: limit %d, want %d", got, idleLimit(now))
	}
	// Another context loads: no limit until it is read.
	w2 := g.watch(func(*kube.Snapshot) {})
	n := len(limits)
	g.follow()
	if limits[n-1] != math.MaxInt64 || len(limits) != n {
		t.Fatalf("while another context loads: limits %v, want the last one lifted and no other", limits)
	}
	listed2 := podsIn(kube.Available)
	w2(listed2)
	g.shown(listed2)
	if len(limits) != n+1 {
		t.Fatalf("after the second context is read: limits %v, want one more", limits)
	}
}

func TestAfterEachGCRunsAfterCollections(t *testing.T) {
	ran := make(chan struct{}, 16)
	afterEachGC(func() {
		select {
		case ran <- struct{}{}:
		default:
		}
	})
	for i := range 3 {
		runtime.GC()
		select {
		case <-ran:
		case <-time.After(10 * time.Second):
			t.Fatalf("collection %d: no call within 10 s", i+1)
		}
	}
}

// The figures the limit is set from are the runtime's own: a live heap
// that a collection measured, and the rest adding up.
func TestReadMemory(t *testing.T) {
	keep := make([]byte, 8*mib)
	runtime.GC()
	m := readMemory()
	runtime.KeepAlive(keep)
	if m.live < 8*mib || m.objects < m.live/2 || m.mapped < m.objects+m.free {
		t.Fatalf("readMemory = %+v: want a live heap over 8 MiB inside what is mapped", m)
	}
	if idleLimit(m) <= int64(m.live) {
		t.Fatalf("idleLimit = %d for a live heap of %d", idleLimit(m), m.live)
	}
}

// The explorer's model tells the pace of each snapshot it applied: the
// idle soft limit begins once the screen is built from the listed pods.
func TestTheExplorerSettlesThePaceOnceItAppliedThePods(t *testing.T) {
	var limits []int64
	now := memoryNow{live: 50 * mib, objects: 50 * mib, free: 10 * mib, mapped: 80 * mib}
	g := &gcPace{set: func(int) int { return 0 },
		limit: func(b int64) int64 { limits = append(limits, b); return 0 }, read: func() memoryNow { return now }}
	d := demanding{Model: ui.New(ui.Options{Theme: theme.Plain}), demand: metrics.NewDemand(usage.Need{}), pace: g}
	publish := g.watch(func(*kube.Snapshot) {})
	s := demo.Homelab()
	publish(s)
	if len(limits) != 0 {
		t.Fatalf("published, not applied: memory limit set to %v", limits)
	}
	if next, _ := d.Update(ui.SnapshotMsg{Snapshot: s}); next == nil {
		t.Fatal("the explorer's model is not the UI's after a snapshot")
	}
	if want := []int64{idleLimit(now)}; !slices.Equal(limits, want) {
		t.Errorf("after the UI applied the snapshot: memory limits %v, want %v", limits, want)
	}
}
