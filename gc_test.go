package main

import (
	"slices"
	"testing"

	"github.com/ambx/ambx/kube"
)

func podsIn(a kube.Availability) *kube.Snapshot {
	return &kube.Snapshot{Resources: map[kube.Resource]kube.ResourceState{kube.ResPods: {Availability: a, Loaded: 10, Total: 10600}}}
}

func TestGCPaceFollowsTheLoad(t *testing.T) {
	var calls []int
	g := &gcPace{set: func(p int) int { calls = append(calls, p); return 0 }}
	published := 0
	count := func(*kube.Snapshot) { published++ }

	first := g.watch(count)
	first(podsIn(kube.Syncing)) // "loading pods 10 / 10,600"
	first(&kube.Snapshot{})     // nothing read yet
	if want := []int{loadGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("while the pods load: GOGC set to %v, want %v", calls, want)
	}
	first(podsIn(kube.Available))
	first(podsIn(kube.Available))
	if want := []int{loadGCPercent, idleGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("after the pods are read: GOGC set to %v, want %v", calls, want)
	}

	// A context switch loads another cluster at the load pace; the old
	// session's Source, still stopping, cannot switch it to idle.
	second := g.watch(count)
	first(podsIn(kube.Available))
	second(podsIn(kube.Syncing))
	if want := []int{loadGCPercent, idleGCPercent, loadGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("while the second context loads: GOGC set to %v, want %v", calls, want)
	}
	// Pods that cannot be read are as loaded as they will get.
	second(podsIn(kube.Forbidden))
	if want := []int{loadGCPercent, idleGCPercent, loadGCPercent, idleGCPercent}; !slices.Equal(calls, want) {
		t.Fatalf("pods forbidden: GOGC set to %v, want %v", calls, want)
	}
	if published != 7 {
		t.Errorf("%d snapshots published, want all 7", published)
	}
}

func TestGCPaceLeavesTheUsersGOGC(t *testing.T) {
	t.Setenv("GOGC", "200")
	g := newGCPace()
	var calls []int
	g.set = func(p int) int { calls = append(calls, p); return 0 }
	w := g.watch(func(*kube.Snapshot) {})
	w(podsIn(kube.Available))
	if len(calls) != 0 {
		t.Errorf("GOGC=200 in the environment, yet set to %v", calls)
	}
}
