package usage

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

func list(cpu, mem string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
}

func TestFromMetricsSumsContainersAndKeepsProxies(t *testing.T) {
	taken := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	pods := []metricsv1beta1.PodMetrics{
		{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1"},
			Containers: []metricsv1beta1.ContainerMetrics{
				// metrics-server reports CPU in nanocores and memory in Ki.
				{Name: "cart", Usage: list("2500000n", "40960Ki")},
				{Name: "log-shipper", Usage: list("1500000n", "10Mi")},
				{Name: ProxyContainer, Usage: list("4m", "52Mi")},
			},
		},
		{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "db-0"},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "postgres", Usage: list("250m", "1Gi")}},
		},
	}
	nodes := []metricsv1beta1.NodeMetrics{{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Usage: list("1500m", "6Gi")}}

	u := FromMetrics(taken, pods, nodes)

	if !u.Available || !u.Taken.Equal(taken) {
		t.Fatalf("Available=%v Taken=%v, want true and %v", u.Available, u.Taken, taken)
	}
	// 2.5m + 1.5m + 4m is 8m, as kubectl top says; rounding each
	// container up first would make it 9m.
	if got, want := u.Pods[key("shop", "cart-1")], (Resources{CPUMilli: 8, MemBytes: 102 * mi}); got != want {
		t.Errorf("cart-1 = %+v, want %+v", got, want)
	}
	if got, want := u.Pods[key("shop", "db-0")], (Resources{CPUMilli: 250, MemBytes: gi}); got != want {
		t.Errorf("db-0 = %+v, want %+v", got, want)
	}
	if got, want := u.Proxies[key("shop", "cart-1")], (Resources{CPUMilli: 4, MemBytes: 52 * mi}); got != want {
		t.Errorf("cart-1 istio-proxy = %+v, want %+v", got, want)
	}
	if _, ok := u.Proxies[key("shop", "db-0")]; ok {
		t.Error("db-0 has no istio-proxy container but got a proxy figure")
	}
	if got, want := u.Nodes["w1"], (Resources{CPUMilli: 1500, MemBytes: 6 * gi}); got != want {
		t.Errorf("node w1 = %+v, want %+v", got, want)
	}
}

func TestCells(t *testing.T) {
	k := key("shop", "cart-1")
	ok := &Usage{Available: true, Pods: map[Key]Resources{k: {CPUMilli: 7, MemBytes: 145 * mi}}}
	for _, tc := range []struct {
		name     string
		u        *Usage
		key      Key
		cpu, mem string
	}{
		{"measured", ok, k, "7m", "145Mi"},
		{"pod not in the metrics yet", ok, key("shop", "new"), "-", "-"},
		{"no metrics API", Unavailable(time.Time{}, "metrics unavailable: nope"), k, "n/a", "n/a"},
		{"before the first poll", nil, k, "…", "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cpu, mem := tc.u.Cells(tc.key)
			if cpu != tc.cpu || mem != tc.mem {
				t.Errorf("Cells = %q, %q; want %q, %q", cpu, mem, tc.cpu, tc.mem)
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		r    Resources
		want string
	}{
		{Resources{}, "0m / 0Mi"},
		{Resources{CPUMilli: 38, MemBytes: 145 * mi}, "38m / 145Mi"},
		{Resources{CPUMilli: 2400, MemBytes: 1023*mi + mi/2}, "2400m / 1024Mi"},
		{Resources{CPUMilli: 290, MemBytes: 29 * 50 * mi}, "290m / 1.4Gi"},
		{Resources{CPUMilli: 1, MemBytes: 300 * 1024}, "1m / 0Mi"},
	} {
		if got := tc.r.String(); got != tc.want {
			t.Errorf("%+v.String() = %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestSum(t *testing.T) {
	a, b := key("x", "a"), key("x", "b")
	u := &Usage{Available: true, Pods: map[Key]Resources{a: {3, 10 * mi}, b: {4, 20 * mi}}}
	sum, n := u.Sum([]Key{a, b, key("x", "gone")})
	if sum != (Resources{7, 30 * mi}) || n != 2 {
		t.Errorf("Sum = %+v over %d pods, want 7m/30Mi over 2", sum, n)
	}
	if sum, n := Unavailable(time.Time{}, "x").Sum([]Key{a}); n != 0 || !sum.IsZero() {
		t.Errorf("Sum on unavailable usage = %+v over %d, want nothing", sum, n)
	}
}

func key(ns, name string) Key { return Key{Namespace: ns, Name: name} }

func TestSameFigures(t *testing.T) {
	at := time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)
	k := Key{Namespace: "shop", Name: "cart-1"}
	base := func() *Usage {
		return &Usage{Taken: at, Available: true, Sampled: at, Window: 15 * time.Second,
			Pods: map[Key]Resources{k: {CPUMilli: 5, MemBytes: 7 << 20}}, Proxies: map[Key]Resources{}}
	}
	for _, tc := range []struct {
		name   string
		change func(*Usage)
		same   bool
	}{
		{"taken and sampled later, same figures", func(u *Usage) { u.Taken, u.Sampled = at.Add(time.Minute), at.Add(time.Minute) }, true},
		{"one pod's CPU moved", func(u *Usage) { u.Pods[k] = Resources{CPUMilli: 6, MemBytes: 7 << 20} }, false},
		{"a pod more", func(u *Usage) { u.Pods[Key{Namespace: "shop", Name: "cart-2"}] = Resources{} }, false},
		{"a proxy's own figure", func(u *Usage) { u.Proxies[k] = Resources{CPUMilli: 1} }, false},
		{"nodes read now", func(u *Usage) { u.Nodes = map[string]Resources{} }, false},
		{"pods not read (nil) against none listed", func(u *Usage) { u.Pods = nil }, false},
		{"another namespace", func(u *Usage) { u.Namespace = "shop" }, false},
		{"stale", func(u *Usage) { u.Problem = "stale: timeout" }, false},
		{"unavailable", func(u *Usage) { u.Available = false }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := base()
			tc.change(o)
			if got := base().SameFigures(o); got != tc.same {
				t.Errorf("SameFigures = %v, want %v", got, tc.same)
			}
			if got := o.SameFigures(base()); got != tc.same {
				t.Errorf("reversed: SameFigures = %v, want %v", got, tc.same)
			}
		})
	}
	var none *Usage
	if none.SameFigures(base()) || base().SameFigures(none) || !none.SameFigures(nil) {
		t.Error("nil (no poll yet) must equal only nil")
	}
}

// oldSum is how FromMetrics summed a pod before it folded quantities into
// two values: a ResourceList per pod, read at the end. Kept as the oracle.
func oldSum(p *metricsv1beta1.PodMetrics) Resources {
	sum := corev1.ResourceList{}
	for _, c := range p.Containers {
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if q, ok := c.Usage[name]; ok {
				acc := sum[name]
				acc.Add(q)
				sum[name] = acc
			}
		}
	}
	return FromList(sum)
}

func TestBuilderSumsAsTheResourceListDid(t *testing.T) {
	q := resource.MustParse
	for _, tc := range []struct {
		name       string
		containers []corev1.ResourceList
	}{
		{"none", nil},
		{"nanocores and Ki", []corev1.ResourceList{list("2500000n", "40960Ki"), list("1500000n", "10Mi")}},
		{"mixed scales", []corev1.ResourceList{list("1", "1Gi"), list("250m", "512M"), list("1n", "1")}},
		{"sub-millicore parts add up", []corev1.ResourceList{list("400u", "1"), list("400u", "1"), list("400u", "1")}},
		{"cpu only, memory only", []corev1.ResourceList{{corev1.ResourceCPU: q("3")}, {corev1.ResourceMemory: q("1.5Gi")}}},
		{"empty and nil usage", []corev1.ResourceList{{}, nil, list("1m", "1Mi")}},
		{"other resources ignored", []corev1.ResourceList{{corev1.ResourceCPU: q("2m"), "nvidia.com/gpu": q("1"), corev1.ResourceEphemeralStorage: q("1Gi")}}},
		{"huge", []corev1.ResourceList{list("123456789", "1Ei"), list("987654321", "1Pi")}},
		{"fractions beyond int64 scale", []corev1.ResourceList{list("0.0000000001", "0.5"), list("1.23456789123", "1.5")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}}
			for i, l := range tc.containers {
				p.Containers = append(p.Containers, metricsv1beta1.ContainerMetrics{Name: fmt.Sprint("c", i), Usage: l})
			}
			u := FromMetrics(time.Time{}, []metricsv1beta1.PodMetrics{p}, nil)
			if got, want := u.Pods[key("ns", "p")], oldSum(&p); got != want {
				t.Errorf("sum %+v, the ResourceList's %+v", got, want)
			}
		})
	}
}
