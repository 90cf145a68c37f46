package ui

import (
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/theme"
)

// While the pods' first list streams in, the Source publishes the same
// analysis again with a new clock and the pods' new count. Panes that
// declare they read neither keep their rows then: each must show what a
// pane given only the newer snapshot shows, so a pane whose note counts
// the pods, or whose rows read the clock, cannot keep a stale one.
func TestPanesAfterAProgressTickShowWhatAFreshPaneShows(t *testing.T) {
	s := loading(400, 40, 120, 20)
	s.Resources = loadingStates(500, 4000)
	tick := *s
	tick.Taken = s.Taken.Add(90 * time.Minute)
	tick.Seq++
	tick.Resources = loadingStates(3500, 4000)
	const w, h = 160, 40
	for i, r := range registry(theme.Plain) {
		kept := r.pane.SetSize(w, h).SetSnapshot(s).SetSnapshot(&tick)
		fresh := registry(theme.Plain)[i].pane.SetSize(w, h).SetSnapshot(&tick)
		if got, want := kept.View(w, h, true), fresh.View(w, h, true); got != want {
			t.Errorf("%s after a progress tick shows\n%s\nwant\n%s", r.pane.Name(), got, want)
		}
	}
}

// loading is a snapshot of a synth cluster of that size whose pods' first
// list is still streaming: everything but the pods (add loadingStates).
func loading(pods, namespaces, services, policies int) *kube.Snapshot {
	c := *synth.Cluster(pods, namespaces, services, policies)
	c.Pods = nil
	return kube.Build(c, t0)
}

// loadingStates is every resource read but the pods, loaded of total in.
func loadingStates(loaded, total int) map[kube.Resource]kube.ResourceState {
	st := map[kube.Resource]kube.ResourceState{}
	for _, r := range kube.Resources {
		st[r] = kube.ResourceState{Availability: kube.Available}
	}
	st[kube.ResPods] = kube.ResourceState{Availability: kube.Syncing, Loaded: loaded, Total: total}
	return st
}
