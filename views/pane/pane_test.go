package pane

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
)

// The pods pane says how far the first list has come, never an empty
// table while pods are still arriving.
func TestUnavailableSaysTheLoadingProgress(t *testing.T) {
	for _, tc := range []struct {
		st   kube.ResourceState
		want string
	}{
		{kube.ResourceState{}, "loading pods…"},
		{kube.ResourceState{Loaded: 5423}, "loading pods 5,423…"},
		{kube.ResourceState{Loaded: 5423, Total: 10600}, "loading pods 5,423 / 10,600…"},
		{kube.ResourceState{Total: 10600}, "loading pods 0 / 10,600…"},
		// Pods created while the list arrives: never more than all.
		{kube.ResourceState{Loaded: 10601, Total: 10600}, "loading pods 10,600 / 10,600…"},
		{kube.ResourceState{Availability: kube.Available, Loaded: 5, Total: 9}, ""},
	} {
		s := &kube.Snapshot{Resources: map[kube.Resource]kube.ResourceState{kube.ResPods: tc.st}}
		if got := Unavailable(s, "", kube.ResPods); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.st, got, tc.want)
		}
	}
}

func TestCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 999: "999", 1000: "1,000", 53000: "53,000", 1234567: "1,234,567", -1500: "-1,500"} {
		if got := Count(n); got != want {
			t.Errorf("Count(%d) = %q, want %q", n, got, want)
		}
	}
}

// The age text is the same all over the span AgeSpan gives, at ages from
// a second to years, so a row kept while the clock is inside it shows
// what a fresh one would.
func TestAgeSpanKeepsTheText(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		// Ages spread over every unit: 0 to ~9 years, log-uniform.
		d := time.Duration(math.Exp(r.Float64() * math.Log(float64(9*365*24*time.Hour))))
		now := created.Add(d)
		want := Age(created, now)
		from, to := AgeSpan(created, now)
		if now.Before(from) || !now.Before(to) {
			t.Fatalf("age %v: now outside its span [%v, %v)", d, from.Sub(created), to.Sub(created))
		}
		for _, at := range []time.Time{from, to.Add(-1), from.Add(time.Duration(r.Int64N(int64(to.Sub(from)))))} {
			if got := Age(created, at); got != want {
				t.Fatalf("age %v says %q, but %v in its span says %q", d, want, at.Sub(created), got)
			}
		}
	}
	if from, to := AgeSpan(created, created.Add(-time.Second)); !from.Equal(to) {
		t.Error("a creation time in the future has a span")
	}
	if from, to := AgeSpan(time.Time{}, created); from.After(created) || to.Before(created.Add(100*365*24*time.Hour)) {
		t.Errorf("no creation time reads \"-\" at every instant, but the span is [%v, %v)", from, to)
	}
}
