package pane

import (
	"testing"

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
