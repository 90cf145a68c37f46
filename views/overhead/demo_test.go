package overhead

import (
	"strings"
	"testing"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

// demoModel is the overhead `ambx --demo` shows.
func demoModel() Model {
	c := demo.Objects(demo.Epoch)
	s := &kube.Snapshot{Cluster: *c, Mesh: ambient.Analyze(c), Taken: demo.Epoch, Resources: kube.AllRead(), Reachable: true}
	pm, nm := demo.Metrics(demo.Epoch)
	pods := make([]metricsv1beta1.PodMetrics, len(pm))
	for i, p := range pm {
		pods[i] = *p
	}
	nodes := make([]metricsv1beta1.NodeMetrics, len(nm))
	for i, n := range nm {
		nodes[i] = *n
	}
	return New(theme.Plain, usage.Resources{}).Set(s, usage.FromMetrics(demo.Epoch, pods, nodes))
}

func TestDemo(t *testing.T) {
	m := demoModel()
	t.Run("strip", func(t *testing.T) { golden.RequireEqual(t, m.View(150, 1, false)) })
	t.Run("box", func(t *testing.T) { golden.RequireEqual(t, m.View(96, 26, true)) })
}

func TestPerSidecarSetByUser(t *testing.T) {
	c := demo.Objects(demo.Epoch)
	s := &kube.Snapshot{Cluster: *c, Mesh: ambient.Analyze(c), Resources: kube.AllRead(), Reachable: true}
	u := usage.Unavailable(demo.Epoch, "metrics unavailable: forbidden: RBAC does not allow listing metrics.k8s.io pods and nodes")
	got := New(theme.Plain, usage.Resources{CPUMilli: 20, MemBytes: 64 << 20}).Set(s, u).View(96, 20, true)
	// Without metrics the estimate still stands on the pod count and the
	// user's figure.
	for _, want := range []string{"forbidden: RBAC", "≈ 37 × 20m / 64Mi = 740m / 2.3Gi", "per sidecar: as configured", "ambient data plane n/a"} {
		if !strings.Contains(got, want) {
			t.Errorf("box lacks %q:\n%s", want, got)
		}
	}
}

// With the API server unreachable from the start nothing was read: the
// view says so, never "no pods captured", and says metrics are missing.
func TestUnreachable(t *testing.T) {
	s := &kube.Snapshot{Resources: map[kube.Resource]kube.ResourceState{}, Problem: "cannot reach API server: connection refused"}
	for _, r := range kube.Resources {
		s.Resources[r] = kube.ResourceState{Availability: kube.Unreachable, Detail: s.Problem}
	}
	u := usage.Unavailable(demo.Epoch, "metrics unavailable: dial tcp 127.0.0.1:1: connect: connection refused")
	m := New(theme.Plain, usage.Resources{}).Set(s, u)
	box, strip := m.View(96, 20, true), m.View(150, 1, false)
	for _, got := range []string{box, strip} {
		if strings.Contains(got, "no pods captured") || strings.Contains(got, "nothing to compare") {
			t.Errorf("an unread cluster reads as empty:\n%s", got)
		}
		if !strings.Contains(got, "pods not read (Namespaces unreachable, Pods unreachable)") {
			t.Errorf("does not say the pods were not read:\n%s", got)
		}
	}
	if !strings.Contains(box, "metrics unavailable") {
		t.Errorf("box does not say metrics are unavailable:\n%s", box)
	}
	t.Run("box", func(t *testing.T) { golden.RequireEqual(t, box) })
	t.Run("strip", func(t *testing.T) { golden.RequireEqual(t, strip) })

	// The server went away after the pods were read: the counts are the
	// last known, and the box says so.
	gone := demo.Homelab()
	gone.Reachable, gone.Problem = false, "cannot reach API server: connection refused"
	after := New(theme.Plain, usage.Resources{}).Set(gone, u).View(96, 20, true)
	if !strings.Contains(after, "API server unreachable: pod counts are from the last data read") {
		t.Errorf("an outage after the pods were read is not said:\n%s", after)
	}
	t.Run("after_reading", func(t *testing.T) { golden.RequireEqual(t, after) })
	// The strip, with metrics still in hand, says its counts are old at
	// every width that shows them.
	live := demoModel()
	goneSnap := demo.Homelab()
	goneSnap.Reachable, goneSnap.Problem = false, "cannot reach API server: connection refused"
	stale := New(theme.Plain, usage.Resources{}).Set(goneSnap, nil).SetOverhead(live.Overhead())
	for _, w := range []int{150, 90, 60, 40} {
		if got := stale.View(w, 1, false); !strings.Contains(got, "unreachable") && !strings.Contains(got, "…") {
			t.Errorf("at %d cells the strip shows an outage's counts as current: %q", w, got)
		}
	}
	if got := stale.View(150, 1, false); !strings.Contains(got, "for 37 pods") || !strings.Contains(got, "API server unreachable: last read") {
		t.Errorf("the strip of an outage lost its counts or its warning: %q", got)

	}
	if got := New(theme.Plain, usage.Resources{}).Set(demo.Homelab(), u).View(96, 20, true); strings.Contains(got, "unreachable") {
		t.Errorf("a reachable cluster reads as an outage:\n%s", got)
	}

	// Pods read, no metrics, none captured: metrics unavailable is said.
	read := &kube.Snapshot{Resources: kube.AllRead(), Reachable: true, Mesh: ambient.Analyze(&ambient.Cluster{})}
	got := New(theme.Plain, usage.Resources{}).Set(read, u).View(96, 20, true)
	if !strings.Contains(got, "metrics unavailable, and no pods captured by ambient") {
		t.Errorf("an empty cluster without metrics:\n%s", got)
	}
}
