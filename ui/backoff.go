package ui

import (
	"slices"
	"strings"
	"time"

	"github.com/ambx/ambx/kube/ztread"
)

// backoffCap is the longest a round of ztunnel reads waits after rounds in
// which every read failed.
const backoffCap = 10 * time.Minute

// backoff holds off rounds of ztunnel reads (the drift survey's, the rate
// columns' scrapes) that failed as a whole: no right to port-forward or
// proxy, ztunnels that serve nothing. Each such round in a row doubles the
// wait before the next, up to backoffCap; a round with any read that
// succeeded, or other ztunnels to read (a rollout, a node added), starts
// over at once. What the failed round said stays on screen meanwhile.
type backoff struct {
	fails int
	// pods are the ztunnels the last failed round tried.
	pods []ztread.Pod
	// checkedAt is when the ztunnels were last compared with pods, so
	// the comparison, a walk of every pod, runs once a period, not on
	// every tick of the wait.
	checkedAt time.Time
}

// record files the outcome of a round that tried pods: failed is whether
// every read failed.
func (b backoff) record(pods []ztread.Pod, failed bool) backoff {
	if !failed || len(pods) == 0 {
		return backoff{}
	}
	return backoff{fails: b.fails + 1, pods: sortedPods(pods)}
}

// wait is how long after a round the next waits: base while reads
// succeed, doubled for each round in a row that failed, at most
// backoffCap (and never less than base).
func (b backoff) wait(base time.Duration) time.Duration {
	w := base
	for i := 0; i < b.fails && w < backoffCap; i++ {
		w *= 2
	}
	return max(base, min(w, backoffCap))
}

// holds reports whether the wait after the last failed round still holds
// at now, a round last begun at last: it does until wait(base) has passed,
// unless the ztunnels to read (pods, computed only when the period since
// the last look has passed) are not those the failed round tried. The
// returned backoff remembers the look.
func (b backoff) holds(now, last time.Time, base, period time.Duration, pods func() []ztread.Pod) (backoff, bool) {
	if b.fails == 0 || now.Sub(last) >= b.wait(base) {
		return b, false
	}
	if now.Sub(b.checkedAt) < period {
		return b, true
	}
	b.checkedAt = now
	if !slices.Equal(sortedPods(pods()), b.pods) {
		return backoff{}, false // other ztunnels: they may answer
	}
	return b, true
}

// probe is the one ztunnel of pods a backed-off round asks whether reads
// work again (another each round, so one that never answers does not hide
// the rest), or nil when the last round did not fail as a whole or pods
// has one ztunnel at most, so a round reads them all.
func (b backoff) probe(pods []ztread.Pod) []ztread.Pod {
	if b.fails == 0 || len(pods) < 2 {
		return nil
	}
	return pods[b.fails%len(pods):][:1]
}

func sortedPods(pods []ztread.Pod) []ztread.Pod {
	out := slices.Clone(pods)
	for i := range out {
		out[i].UID = "" // a survey's readings name their pods without it
	}
	slices.SortFunc(out, func(a, b ztread.Pod) int {
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		if c := strings.Compare(a.Name, b.Name); c != 0 {
			return c
		}
		return strings.Compare(a.Node, b.Node)
	})
	return out
}
