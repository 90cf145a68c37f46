// Package usage holds what the metrics API reported (CPU and memory per pod
// and per node) and the arithmetic over it: sums, the mesh's own overhead,
// and what sidecars would cost instead. It is pure: the poller in
// kube/metrics fills it, views read it.
package usage

import (
	"fmt"
	"maps"
	"math"
	"time"
	"unique"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/ambient"
)

// Key identifies a pod; it is the analysis' key so panes can look a pod's
// usage up with the key they already hold.
type Key = ambient.Key

// ProxyContainer is the name of Istio's Envoy container in sidecar pods.
const ProxyContainer = "istio-proxy"

// Resources is an amount of CPU and memory in use.
type Resources struct {
	CPUMilli int64 // millicores
	MemBytes int64 // bytes of working set
}

// Add returns r + o.
func (r Resources) Add(o Resources) Resources {
	return Resources{CPUMilli: r.CPUMilli + o.CPUMilli, MemBytes: r.MemBytes + o.MemBytes}
}

// Times returns r scaled by n (n pods of the same cost).
func (r Resources) Times(n int) Resources {
	return Resources{CPUMilli: r.CPUMilli * int64(n), MemBytes: r.MemBytes * int64(n)}
}

// IsZero reports whether r is nothing at all.
func (r Resources) IsZero() bool { return r.CPUMilli == 0 && r.MemBytes == 0 }

// String returns "38m / 145Mi", the form every pane shows.
func (r Resources) String() string { return FormatCPU(r.CPUMilli) + " / " + FormatMem(r.MemBytes) }

// FromList reads CPU and memory out of a metrics ResourceList.
func FromList(l corev1.ResourceList) Resources {
	var r Resources
	if q, ok := l[corev1.ResourceCPU]; ok {
		r.CPUMilli = q.MilliValue()
	}
	if q, ok := l[corev1.ResourceMemory]; ok {
		r.MemBytes = q.Value()
	}
	return r
}

// Need is what the screen shows of the metrics API, so the poller lists
// only that: a pane with CPU and MEM columns needs pods, a node column
// needs nodes. The zero Need asks for nothing.
type Need struct {
	Pods bool
	// Namespace narrows Pods to one namespace; "" means every namespace.
	Namespace string
	Nodes     bool
}

// None reports whether n asks for nothing at all.
func (n Need) None() bool { return !n.Pods && !n.Nodes }

// Covers reports whether figures read for n answer everything o asks for.
func (n Need) Covers(o Need) bool {
	if o.Nodes && !n.Nodes {
		return false
	}
	if !o.Pods {
		return true
	}
	return n.Pods && (n.Namespace == "" || n.Namespace == o.Namespace)
}

// Usage is one poll of the metrics API. It is immutable once published.
type Usage struct {
	Taken     time.Time
	Available bool   // false when the metrics API cannot be read at all
	Problem   string // why not, or what is degraded (stale, node metrics missing)
	// Namespace is the one namespace whose pods were read ("" for all):
	// a pod elsewhere has no figure because it was not asked for.
	Namespace string
	// Sampled is the newest sample time the metrics API reported and
	// Window the longest interval its figures average over: its own
	// resolution, which says when new figures can next exist.
	Sampled time.Time
	Window  time.Duration
	Pods    map[Key]Resources
	// Nodes is nil when node metrics were not asked for.
	Nodes map[string]Resources
	// Proxies holds the istio-proxy container's own usage for every pod
	// that has one, so measured sidecars can price the estimate.
	Proxies map[Key]Resources
}

// FromMetrics builds a Usage from the metrics API's lists, summing each
// pod's containers; nil nodes means node metrics were not read. CPU rounds up to the millicore, as in kubectl top.
func FromMetrics(taken time.Time, pods []metricsv1beta1.PodMetrics, nodes []metricsv1beta1.NodeMetrics) *Usage {
	b := NewBuilder(taken, len(pods))
	for i := range pods {
		b.AddPod(&pods[i])
	}
	if nodes != nil {
		b.AddNodes(nodes)
	}
	return b.Usage()
}

// Builder makes a Usage one PodMetrics at a time, so a poll can fold each
// item in as it is decoded instead of holding the whole list: at 10,600
// pods the decoded list is tens of MiB, which the collector would count
// as live while it is built.
type Builder struct {
	u *Usage
}

// NewBuilder starts a Usage taken at taken with room for pods pods.
func NewBuilder(taken time.Time, pods int) *Builder {
	return &Builder{u: &Usage{
		Taken:     taken,
		Available: true,
		Pods:      make(map[Key]Resources, pods),
		Proxies:   map[Key]Resources{},
	}}
}

// AddPod adds one pod's figures, the sum of its containers. It keeps none
// of p's maps or slices, so the caller may reuse p.
func (b *Builder) AddPod(p *metricsv1beta1.PodMetrics) {
	u := b.u
	// Namespaces repeat across thousands of pods: the interned copy is
	// the one the slimmed pods hold too (kube/source.go), so a Usage adds
	// no string of its own for them.
	k := Key{Namespace: unique.Make(p.Namespace).Value(), Name: p.Name}
	// Sum the quantities before rounding, as kubectl top pod does, so
	// the figures match it and many small containers do not each add
	// a rounded-up millicore.
	var cpu, mem resource.Quantity
	for i := range p.Containers {
		c := &p.Containers[i]
		if q, ok := c.Usage[corev1.ResourceCPU]; ok {
			cpu.Add(q)
		}
		if q, ok := c.Usage[corev1.ResourceMemory]; ok {
			mem.Add(q)
		}
		if c.Name == ProxyContainer {
			u.Proxies[k] = FromList(c.Usage)
		}
	}
	u.Pods[k] = Resources{CPUMilli: cpu.MilliValue(), MemBytes: mem.Value()}
	u.sampled(p.Timestamp.Time, p.Window.Duration)
}

// AddNodes adds the node figures; a Usage built without calling it says
// node metrics were not read.
func (b *Builder) AddNodes(nodes []metricsv1beta1.NodeMetrics) {
	u := b.u
	if u.Nodes == nil {
		u.Nodes = make(map[string]Resources, len(nodes))
	}
	for i := range nodes {
		u.Nodes[nodes[i].Name] = FromList(nodes[i].Usage)
		u.sampled(nodes[i].Timestamp.Time, nodes[i].Window.Duration)
	}
}

// Usage returns what was added. The Builder must not be used after.
func (b *Builder) Usage() *Usage {
	u := b.u
	b.u = nil
	return u
}

func (u *Usage) sampled(at time.Time, window time.Duration) {
	if at.After(u.Sampled) {
		u.Sampled = at
	}
	u.Window = max(u.Window, window)
}

// SameFigures reports whether o shows exactly what u shows in every pane:
// the same availability, problem, scope and figures for the same pods,
// proxies and nodes. Only when and over what window they were taken may
// differ: the metrics API hands the same sample out until its next scrape.
func (u *Usage) SameFigures(o *Usage) bool {
	if u == nil || o == nil {
		return u == o
	}
	return u.Available == o.Available && u.Problem == o.Problem && u.Namespace == o.Namespace &&
		sameMap(u.Pods, o.Pods) && sameMap(u.Proxies, o.Proxies) && sameMap(u.Nodes, o.Nodes)
}

// sameMap is maps.Equal that tells a map not read (nil) from an empty one.
func sameMap[K comparable](a, b map[K]Resources) bool {
	return (a == nil) == (b == nil) && maps.Equal(a, b)
}

// Unavailable is a Usage that says why there are no numbers.
func Unavailable(taken time.Time, problem string) *Usage {
	return &Usage{Taken: taken, Problem: problem}
}

// Pod returns a pod's usage; ok is false when the API had no figure for it
// (not available, or the pod started after the last scrape).
func (u *Usage) Pod(k Key) (r Resources, ok bool) {
	if u == nil || !u.Available {
		return Resources{}, false
	}
	r, ok = u.Pods[k]
	return r, ok
}

// Read reports whether the poll asked for the pod at all: a poll that read
// only nodes, or another namespace, says nothing about it. A failed poll
// did ask.
func (u *Usage) Read(k Key) bool {
	return u != nil && (!u.Available || u.Pods != nil) && (u.Namespace == "" || u.Namespace == k.Namespace)
}

// Sum adds up the usage of the given pods and says how many had a figure.
func (u *Usage) Sum(keys []Key) (sum Resources, measured int) {
	for _, k := range keys {
		if r, ok := u.Pod(k); ok {
			sum = sum.Add(r)
			measured++
		}
	}
	return sum, measured
}

// Cells returns the CPU and MEM column texts for a pod: the figures, "-"
// when the pod has none yet, "n/a" when the metrics API cannot be read and
// "…" before the first poll that read the pod's namespace.
func (u *Usage) Cells(k Key) (cpu, mem string) {
	switch {
	case !u.Read(k):
		return "…", "…"
	case !u.Available:
		return "n/a", "n/a"
	}
	r, ok := u.Pods[k]
	if !ok {
		return "-", "-"
	}
	return FormatCPU(r.CPUMilli), FormatMem(r.MemBytes)
}

const (
	mi = 1 << 20
	gi = 1 << 30
)

// FormatCPU writes millicores the way kubectl top does ("38m").
func FormatCPU(milli int64) string { return fmt.Sprintf("%dm", milli) }

// FormatMem writes bytes as whole Mi below 1Gi ("145Mi", like kubectl top)
// and as Gi with one decimal above ("1.4Gi"), where Mi stop being readable.
func FormatMem(b int64) string {
	if b >= gi || b <= -gi {
		return fmt.Sprintf("%.1fGi", float64(b)/gi)
	}
	return fmt.Sprintf("%dMi", int64(math.Round(float64(b)/mi)))
}
