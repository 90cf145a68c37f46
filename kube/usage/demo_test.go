package usage_test

import (
	"testing"

	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
)

const mi = 1 << 20

// demoOverhead is what `ambx --demo` shows in its header.
func demoOverhead(t *testing.T) usage.Overhead {
	t.Helper()
	c := demo.Objects(demo.Epoch)
	pm, nm := demo.Metrics(demo.Epoch)
	pods := make([]metricsv1beta1.PodMetrics, len(pm))
	for i, p := range pm {
		pods[i] = *p
	}
	nodes := make([]metricsv1beta1.NodeMetrics, len(nm))
	for i, n := range nm {
		nodes[i] = *n
	}
	return usage.ComputeOverhead(c, ambient.Analyze(c), usage.FromMetrics(demo.Epoch, pods, nodes), usage.Resources{})
}

// within checks a figure against the demo's tables. The demo adds under 1m
// and 0.5Mi of jitter per container, and metrics-server's nanocores round
// up to the next millicore as in kubectl top, so each pod may read up to
// 1m and 0.5Mi above its table entry.
func within(t *testing.T, what string, got usage.Part, pods int, cpu, memMi int64) {
	t.Helper()
	if got.Pods != pods || got.Measured != pods {
		t.Errorf("%s: %d pods, %d measured; want %d of each", what, got.Pods, got.Measured, pods)
	}
	if got.Use.CPUMilli < cpu || got.Use.CPUMilli > cpu+int64(pods) {
		t.Errorf("%s: CPU %dm, want %dm..%dm", what, got.Use.CPUMilli, cpu, cpu+int64(pods))
	}
	if lo, hi := memMi*mi, memMi*mi+int64(pods)*mi/2; got.Use.MemBytes < lo || got.Use.MemBytes > hi {
		t.Errorf("%s: memory %s, want %dMi..%.1fMi", what, usage.FormatMem(got.Use.MemBytes), memMi, float64(hi)/mi)
	}
}

func TestDemoOverhead(t *testing.T) {
	o := demoOverhead(t)
	if !o.Available {
		t.Fatalf("demo metrics unavailable: %s", o.Problem)
	}
	// kube/demo/cluster.go: istiod 3m/39Mi; istio-cni 1,1,2,1,1m and
	// 15,14,15,14,13Mi; ztunnel 4,6,19,7,5m and 7,8,13,8,8Mi; waypoints
	// 2m/30Mi and 2m/31Mi.
	within(t, "istiod", o.Istiod, 1, 3, 39)
	within(t, "istio-cni", o.CNI, 5, 6, 71)
	within(t, "ztunnel", o.Ztunnel, 5, 41, 44)
	within(t, "waypoints", o.Waypoints, 2, 4, 61)
	within(t, "total", usage.Part{Pods: 13, Measured: 13, Use: o.Total}, 13, 54, 215)

	// The 29 captured pods of the meshed namespaces plus 8 in the example,
	// ambient-apps and homepage namespaces, on all five nodes.
	if o.MeshedPods != 37 || o.Nodes != 5 {
		t.Errorf("%d captured pods on %d nodes, want 37 on 5", o.MeshedPods, o.Nodes)
	}
	// legacy-apps runs two sidecars, each istio-proxy at 4m/38Mi.
	if o.Basis != usage.BasisMeasured || o.SidecarsSeen != 2 {
		t.Errorf("per-sidecar basis %s from %d sidecars, want measured from 2", o.Basis, o.SidecarsSeen)
	}
	within(t, "per sidecar", usage.Part{Pods: 1, Measured: 1, Use: o.PerSidecar}, 1, 4, 38)

	// homelab-w2's ztunnel carries loki's traffic and is the one hot node.
	var hot []string
	for _, z := range o.Hot() {
		hot = append(hot, z.Node)
	}
	if len(hot) != 1 || hot[0] != "homelab-w2" {
		t.Errorf("hot ztunnels %v, want [homelab-w2]", hot)
	}
}
