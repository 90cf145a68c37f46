package usage

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
)

func pod(ns, name, node string, l map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
		Spec:       corev1.PodSpec{NodeName: node},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning},
	}
}

var (
	istiodLabels  = map[string]string{"app": "istiod", "istio": "pilot"}
	cniLabels     = map[string]string{"k8s-app": "istio-cni-node"}
	ztunnelLabels = map[string]string{"app": "ztunnel"}
)

func waypointLabels(gw string) map[string]string {
	return map[string]string{gatewayNameLabel: gw, managedLabel: meshController}
}

// mesh is a three-node cluster: istiod, istio-cni and ztunnel on every
// node, one waypoint with two replicas, three captured pods, one pod
// outside the mesh and two sidecar pods.
func mesh() (*ambient.Cluster, *ambient.Analysis) {
	c := &ambient.Cluster{Pods: []*corev1.Pod{
		pod("apps", "api-1", "n1", map[string]string{"app": "api"}),
		pod("apps", "api-2", "n2", map[string]string{"app": "api"}),
		pod("apps", "waypoint-a", "n1", waypointLabels("waypoint")),
		pod("apps", "waypoint-b", "n2", waypointLabels("waypoint")),
		pod("apps", "worker-1", "n3", map[string]string{"app": "worker"}),
		pod("istio-system", "istio-cni-node-1", "n1", cniLabels),
		pod("istio-system", "istio-cni-node-2", "n2", cniLabels),
		pod("istio-system", "istio-cni-node-3", "n3", cniLabels),
		pod("istio-system", "istiod-7d4", "n1", istiodLabels),
		// GKE runs ztunnel in kube-system; the label decides, not the namespace.
		pod("kube-system", "ztunnel-a", "n1", ztunnelLabels),
		pod("kube-system", "ztunnel-b", "n2", ztunnelLabels),
		pod("kube-system", "ztunnel-c", "n3", ztunnelLabels),
		pod("legacy", "shop-1", "n2", map[string]string{"app": "shop"}),
		pod("legacy", "shop-2", "n3", map[string]string{"app": "shop"}),
		pod("other", "batch", "n3", map[string]string{"app": "batch"}),
	}}
	a := &ambient.Analysis{Pods: map[ambient.Key]ambient.PodInfo{
		{Namespace: "apps", Name: "api-1"}:    {State: ambient.PodCaptured},
		{Namespace: "apps", Name: "api-2"}:    {State: ambient.PodCaptured},
		{Namespace: "apps", Name: "worker-1"}: {State: ambient.PodCaptured},
		{Namespace: "legacy", Name: "shop-1"}: {State: ambient.PodSidecar},
		{Namespace: "legacy", Name: "shop-2"}: {State: ambient.PodSidecar},
		{Namespace: "other", Name: "batch"}:   {State: ambient.PodNotMeshed},
	}}
	return c, a
}

func r(cpu, memMi int64) Resources { return Resources{CPUMilli: cpu, MemBytes: memMi * mi} }

func meshUsage() *Usage {
	return &Usage{
		Available: true,
		Taken:     time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC),
		Pods: map[Key]Resources{
			key("apps", "api-1"):                    r(20, 100),
			key("apps", "api-2"):                    r(20, 100),
			key("apps", "waypoint-a"):               r(4, 30),
			key("apps", "waypoint-b"):               r(3, 28),
			key("apps", "worker-1"):                 r(9, 60),
			key("istio-system", "istio-cni-node-1"): r(1, 14),
			key("istio-system", "istio-cni-node-2"): r(1, 15),
			key("istio-system", "istio-cni-node-3"): r(2, 13),
			key("istio-system", "istiod-7d4"):       r(3, 39),
			key("kube-system", "ztunnel-a"):         r(6, 8),
			key("kube-system", "ztunnel-b"):         r(7, 8),
			key("kube-system", "ztunnel-c"):         r(5, 9),
			key("legacy", "shop-1"):                 r(30, 200),
			key("legacy", "shop-2"):                 r(30, 200),
		},
		Proxies: map[Key]Resources{
			key("legacy", "shop-1"): r(4, 40),
			key("legacy", "shop-2"): r(7, 61),
			// Waypoints and ztunnel also run a container named istio-proxy;
			// they are not sidecars and must not price the estimate.
			key("apps", "waypoint-a"): r(4, 30),
		},
	}
}

func TestOverheadParts(t *testing.T) {
	c, a := mesh()
	o := ComputeOverhead(c, a, meshUsage(), Resources{})

	for _, tc := range []struct {
		name string
		got  Part
		want Part
	}{
		{"istiod", o.Istiod, Part{Pods: 1, Measured: 1, Use: r(3, 39)}},
		{"istio-cni", o.CNI, Part{Pods: 3, Measured: 3, Use: r(4, 42)}},
		{"ztunnel", o.Ztunnel, Part{Pods: 3, Measured: 3, Use: r(18, 25)}},
		{"waypoints", o.Waypoints, Part{Pods: 2, Measured: 2, Use: r(7, 58)}},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
	if want := r(32, 164); o.Total != want {
		t.Errorf("Total = %v, want %v", o.Total, want)
	}
	if want := r(29, 125); o.DataPlane() != want {
		t.Errorf("DataPlane = %v, want %v (all but istiod)", o.DataPlane(), want)
	}
	if o.MeshedPods != 3 || o.Nodes != 3 {
		t.Errorf("MeshedPods=%d Nodes=%d, want 3 captured pods on 3 nodes", o.MeshedPods, o.Nodes)
	}
	wantZ := []Ztunnel{
		{Node: "n1", Pod: key("kube-system", "ztunnel-a"), Use: r(6, 8), Measured: true, Ratio: 1, MemRatio: 8 / 8.5},
		{Node: "n2", Pod: key("kube-system", "ztunnel-b"), Use: r(7, 8), Measured: true, Ratio: 7.0 / 5.5, MemRatio: 8 / 8.5},
		{Node: "n3", Pod: key("kube-system", "ztunnel-c"), Use: r(5, 9), Measured: true, Ratio: 5.0 / 6.5, MemRatio: 9.0 / 8},
	}
	if !reflect.DeepEqual(o.Ztunnels, wantZ) {
		t.Errorf("Ztunnels =\n%+v\nwant\n%+v", o.Ztunnels, wantZ)
	}
	wp, ok := o.Waypoint(key("apps", "waypoint"))
	if !ok || wp != (Part{Pods: 2, Measured: 2, Use: r(7, 58)}) {
		t.Errorf("Waypoint(apps/waypoint) = %+v, %v", wp, ok)
	}
}

func TestSidecarEstimate(t *testing.T) {
	c, a := mesh()
	noSidecars := meshUsage()
	noSidecars.Proxies = map[Key]Resources{key("apps", "waypoint-a"): r(4, 30)}

	for _, tc := range []struct {
		name  string
		u     *Usage
		per   Resources
		want  Resources
		basis Basis
		seen  int
		sum   Resources
	}{
		{
			name: "measured sidecars: average of their istio-proxy containers",
			u:    meshUsage(), want: Resources{CPUMilli: 6, MemBytes: 50*mi + mi/2}, basis: BasisMeasured, seen: 2,
			sum: Resources{CPUMilli: 18, MemBytes: 3 * (50*mi + mi/2)},
		},
		{
			name: "no sidecars to measure: the documented default",
			u:    noSidecars, want: DefaultSidecar, basis: BasisDefault,
			sum: r(30, 150),
		},
		{
			name: "user figure wins over measured sidecars",
			u:    meshUsage(), per: r(25, 80), want: r(25, 80), basis: BasisSet,
			sum: r(75, 240),
		},
		{
			name: "no metrics: still priced by the default, on pod counts alone",
			u:    Unavailable(time.Time{}, "metrics unavailable: x"), want: DefaultSidecar, basis: BasisDefault,
			sum: r(30, 150),
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := ComputeOverhead(c, a, tc.u, tc.per)
			if o.PerSidecar != tc.want || o.Basis != tc.basis || o.SidecarsSeen != tc.seen {
				t.Errorf("per sidecar %+v (%s, %d seen), want %+v (%s, %d seen)", o.PerSidecar, o.Basis, o.SidecarsSeen, tc.want, tc.basis, tc.seen)
			}
			if o.SidecarsWould != tc.sum {
				t.Errorf("sidecars would use %v, want %v (3 captured pods)", o.SidecarsWould, tc.sum)
			}
		})
	}
}

func TestOverheadSkipsFinishedAndCountsUnmeasured(t *testing.T) {
	c, a := mesh()
	done := pod("istio-system", "istiod-old", "n2", istiodLabels)
	done.Status.Phase = corev1.PodFailed
	c.Pods = append(c.Pods, done, pod("istio-system", "istiod-new", "n3", istiodLabels))

	o := ComputeOverhead(c, a, meshUsage(), Resources{})
	// istiod-new has no metrics yet: counted, not measured; istiod-old is gone.
	if want := (Part{Pods: 2, Measured: 1, Use: r(3, 39)}); o.Istiod != want {
		t.Errorf("istiod = %+v, want %+v", o.Istiod, want)
	}
}

func TestOverheadUnavailable(t *testing.T) {
	c, a := mesh()
	o := ComputeOverhead(c, a, Unavailable(time.Time{}, "metrics unavailable: metrics.k8s.io is not served"), Resources{})
	if o.Available || o.Ztunnel.Pods != 3 || o.Ztunnel.Measured != 0 || !o.Total.IsZero() {
		t.Errorf("got %+v, want unavailable with 3 unmeasured ztunnels and no total", o)
	}
	if got, want := o.Summary(), "metrics unavailable: metrics.k8s.io is not served"; got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}
	if got := ComputeOverhead(c, a, nil, Resources{}).Summary(); got != "waiting for metrics…" {
		t.Errorf("Summary before the first poll = %q", got)
	}
}

func TestSummary(t *testing.T) {
	c, a := mesh()
	for _, tc := range []struct {
		name string
		c    *ambient.Cluster
		a    *ambient.Analysis
		per  Resources
		want string
	}{
		{"measured", c, a, Resources{}, "mesh 32m CPU / 164Mi for 3 pods on 3 nodes; sidecars would be ≈ 3 × 6m / 51Mi = 18m / 152Mi"},
		{"set", c, a, r(10, 50), "mesh 32m CPU / 164Mi for 3 pods on 3 nodes; sidecars would be ≈ 3 × 10m / 50Mi = 30m / 150Mi"},
		{"nothing captured", c, &ambient.Analysis{}, Resources{}, "mesh 32m CPU / 164Mi; no pods captured by ambient yet"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ComputeOverhead(tc.c, tc.a, meshUsage(), tc.per).Summary(); got != tc.want {
				t.Errorf("Summary =\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestHotZtunnel(t *testing.T) {
	z := func(cpu, memMi int64) Ztunnel { return Ztunnel{Use: r(cpu, memMi), Measured: true} }
	for _, tc := range []struct {
		name string
		zs   []Ztunnel
		hot  []bool
	}{
		{"one busy node of five", []Ztunnel{z(6, 8), z(6, 8), z(31, 9), z(7, 8), z(5, 8)}, []bool{false, false, true, false, false}},
		{"even load", []Ztunnel{z(6, 8), z(9, 8), z(7, 8)}, []bool{false, false, false}},
		{"idle noise under the floor", []Ztunnel{z(1, 8), z(3, 8), z(1, 8)}, []bool{false, false, false}},
		{"two nodes compare with each other", []Ztunnel{z(5, 8), z(50, 8)}, []bool{false, true}},
		{"memory alone", []Ztunnel{z(6, 8), z(6, 90), z(6, 9)}, []bool{false, true, false}},
		{"a single ztunnel has nothing to compare with", []Ztunnel{z(500, 900)}, []bool{false}},
		{"unmeasured nodes are left out", []Ztunnel{z(40, 8), {Node: "x"}, z(6, 8), z(5, 8)}, []bool{true, false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flagHot(tc.zs)
			for i, want := range tc.hot {
				if tc.zs[i].Hot != want {
					t.Errorf("ztunnel %d (%v): hot=%v, want %v", i, tc.zs[i].Use, tc.zs[i].Hot, want)
				}
			}
		})
	}
}
