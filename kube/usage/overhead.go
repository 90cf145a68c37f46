package usage

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube/ambient"
)

// Labels that tell the mesh's own pods apart. Each is matched in every
// namespace: revisioned installs, GKE (ztunnel and istio-cni in
// kube-system) and custom charts do not keep them in istio-system.
const (
	gatewayNameLabel = "gateway.networking.k8s.io/gateway-name"
	managedLabel     = "gateway.istio.io/managed"
	meshController   = "istio.io-mesh-controller"
)

var (
	istiodPods   = labels.SelectorFromSet(labels.Set{"app": "istiod"})
	cniPods      = labels.SelectorFromSet(labels.Set{"k8s-app": "istio-cni-node"})
	ztunnelPods  = labels.SelectorFromSet(labels.Set{"app": "ztunnel"})
	waypointPods = labels.SelectorFromSet(labels.Set{managedLabel: meshController})
)

// DefaultSidecar is what one idle sidecar is assumed to use when the
// cluster has none to measure. Istio's performance page
// (https://istio.io/latest/docs/ops/deployment/performance-and-scalability/)
// puts a sidecar at 0.20 vCPU and 60 MB per 1000 requests per second (1.24)
// and, for memory, "about 50 MB" in a large namespace with namespace
// isolation, independent of request rate (1.22). Homelab and typical
// service pods see a few requests per second, so 10m is the CPU of ~50 rps:
// generous for idle pods, and the memory figure is the documented one.
// Both are deliberately conservative so the comparison does not flatter
// ambient.
var DefaultSidecar = Resources{CPUMilli: 10, MemBytes: 50 * mi}

// Basis says where the per-sidecar figure came from.
type Basis string

// Bases of the per-sidecar figure.
const (
	BasisSet      Basis = "set"      // given by the user
	BasisMeasured Basis = "measured" // average istio-proxy of the cluster's sidecar pods
	BasisDefault  Basis = "default"  // DefaultSidecar
)

// Part is one mesh component summed over its pods.
type Part struct {
	Pods     int // running pods found in the cluster
	Measured int // of those, pods the metrics API had a figure for
	Use      Resources
}

func (p *Part) add(u *Usage, k Key) (Resources, bool) {
	p.Pods++
	r, ok := u.Pod(k)
	if ok {
		p.Measured++
		p.Use = p.Use.Add(r)
	}
	return r, ok
}

// Ztunnel is the ztunnel of one node.
type Ztunnel struct {
	Node     string
	Pod      Key
	Use      Resources
	Measured bool
	// Hot is set when this ztunnel uses more than HotFactor times the
	// median of the others: on a shared per-node proxy, one busy or stuck
	// workload shows up as one hot node.
	Hot bool
	// Ratio and MemRatio are its CPU and memory over the median of the
	// other ztunnels (0 when there is nothing to compare with).
	Ratio, MemRatio float64
}

// Waypoint is the usage of one waypoint's pods.
type Waypoint struct {
	Key Key // the Gateway
	Part
}

// Hot-node rule: more than HotFactor times the median of the other nodes,
// and by more than a floor, so 2m against 1m on an idle cluster is not news.
const (
	HotFactor   = 2.0
	hotFloorCPU = 5       // millicores
	hotFloorMem = 16 * mi // bytes
)

// Overhead is what the mesh itself costs, next to what sidecars would.
type Overhead struct {
	Available bool
	Problem   string
	Taken     time.Time

	Istiod, CNI, Ztunnel, Waypoints Part
	Ztunnels                        []Ztunnel  // by node name
	WaypointList                    []Waypoint // by namespace/name
	Total                           Resources  // all four components, measured pods only

	MeshedPods int // ambient-captured pods: what sidecars would be injected into
	Nodes      int // nodes running a ztunnel (else nodes of captured pods)

	PerSidecar    Resources
	Basis         Basis
	SidecarsSeen  int       // sidecar pods whose istio-proxy was measured (BasisMeasured)
	SidecarsWould Resources // MeshedPods × PerSidecar
}

// ComputeOverhead sums the mesh's components from the cluster's pods and
// the usage, and prices sidecars for the captured pods. A zero perSidecar
// means: the cluster's measured sidecars if any, else DefaultSidecar.
func ComputeOverhead(c *ambient.Cluster, a *ambient.Analysis, u *Usage, perSidecar Resources) Overhead {
	return FindComponents(c, a).Overhead(u, perSidecar)
}

// Components are the mesh's own pods and the pods sidecars would be
// injected into, found from a cluster and its analysis alone. Finding them
// walks every pod; pricing them (Overhead) walks only them, so a metrics
// poll costs no pass over the cluster and a snapshot's Components can be
// found once, off the UI goroutine.
type Components struct {
	istiod, cni, waypointPods []Key
	ztunnels                  []Ztunnel // Node and Pod set, by node name
	waypoints                 []gatewayPods
	sidecars                  []Key
	meshedPods, nodes         int
}

type gatewayPods struct {
	key  Key // the Gateway
	pods []Key
}

// FindComponents sorts the cluster's running pods into the mesh's
// components; nil c finds none.
func FindComponents(c *ambient.Cluster, a *ambient.Analysis) *Components {
	k := &Components{}
	if c == nil {
		return k
	}
	nodes := map[string]bool{}
	waypoints := map[Key]int{}
	for _, p := range c.Pods {
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		key := Key{Namespace: p.Namespace, Name: p.Name}
		set := labels.Set(p.Labels)
		switch {
		case istiodPods.Matches(set):
			k.istiod = append(k.istiod, key)
		case cniPods.Matches(set):
			k.cni = append(k.cni, key)
		case ztunnelPods.Matches(set):
			k.ztunnels = append(k.ztunnels, Ztunnel{Node: p.Spec.NodeName, Pod: key})
			if p.Spec.NodeName != "" {
				nodes[p.Spec.NodeName] = true
			}
		case waypointPods.Matches(set) && set.Has(gatewayNameLabel):
			gw := Key{Namespace: p.Namespace, Name: set.Get(gatewayNameLabel)}
			i, ok := waypoints[gw]
			if !ok {
				i = len(k.waypoints)
				waypoints[gw] = i
				k.waypoints = append(k.waypoints, gatewayPods{key: gw})
			}
			k.waypointPods = append(k.waypointPods, key)
			k.waypoints[i].pods = append(k.waypoints[i].pods, key)
		}
	}
	sort.Slice(k.ztunnels, func(i, j int) bool {
		if k.ztunnels[i].Node != k.ztunnels[j].Node {
			return k.ztunnels[i].Node < k.ztunnels[j].Node
		}
		return k.ztunnels[i].Pod.Name < k.ztunnels[j].Pod.Name
	})
	sort.Slice(k.waypoints, func(i, j int) bool {
		a, b := k.waypoints[i].key, k.waypoints[j].key
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	captured := map[string]bool{}
	if a != nil {
		for _, p := range c.Pods {
			switch a.Pods[Key{Namespace: p.Namespace, Name: p.Name}].State {
			case ambient.PodCaptured:
				k.meshedPods++
				if p.Spec.NodeName != "" {
					captured[p.Spec.NodeName] = true
				}
			case ambient.PodSidecar:
				k.sidecars = append(k.sidecars, Key{Namespace: p.Namespace, Name: p.Name})
			}
		}
	}
	k.nodes = len(nodes)
	if k.nodes == 0 {
		k.nodes = len(captured)
	}
	return k
}

// Overhead prices the components with the usage: what each costs, which
// ztunnels run hot, and what sidecars would cost instead.
func (k *Components) Overhead(u *Usage, perSidecar Resources) Overhead {
	o := Overhead{}
	if u != nil {
		o.Available, o.Problem, o.Taken = u.Available, u.Problem, u.Taken
	}
	if k == nil {
		return o.price(perSidecar, nil, nil)
	}
	for _, key := range k.istiod {
		o.Istiod.add(u, key)
	}
	for _, key := range k.cni {
		o.CNI.add(u, key)
	}
	if len(k.ztunnels) > 0 {
		o.Ztunnels = make([]Ztunnel, len(k.ztunnels))
		for i, z := range k.ztunnels {
			z.Use, z.Measured = o.Ztunnel.add(u, z.Pod)
			o.Ztunnels[i] = z
		}
	}
	for _, key := range k.waypointPods {
		o.Waypoints.add(u, key)
	}
	for _, w := range k.waypoints {
		wp := Waypoint{Key: w.key}
		for _, key := range w.pods {
			wp.add(u, key)
		}
		o.WaypointList = append(o.WaypointList, wp)
	}
	o.Total = o.Istiod.Use.Add(o.CNI.Use).Add(o.Ztunnel.Use).Add(o.Waypoints.Use)
	flagHot(o.Ztunnels)
	o.MeshedPods, o.Nodes = k.meshedPods, k.nodes
	return o.price(perSidecar, u, k.sidecars)
}

// price sets the per-sidecar figure and the estimate.
func (o Overhead) price(perSidecar Resources, u *Usage, sidecars []Key) Overhead {
	switch {
	case !perSidecar.IsZero():
		o.PerSidecar, o.Basis = perSidecar, BasisSet
	default:
		var sum Resources
		n := 0
		if u != nil && u.Available {
			for _, k := range sidecars {
				if r, ok := u.Proxies[k]; ok {
					sum = sum.Add(r)
					n++
				}
			}
		}
		if n > 0 {
			o.PerSidecar = Resources{CPUMilli: divRound(sum.CPUMilli, n), MemBytes: divRound(sum.MemBytes, n)}
			o.Basis, o.SidecarsSeen = BasisMeasured, n
		} else {
			o.PerSidecar, o.Basis = DefaultSidecar, BasisDefault
		}
	}
	o.SidecarsWould = o.PerSidecar.Times(o.MeshedPods)
	return o
}

func divRound(sum int64, n int) int64 { return (sum + int64(n)/2) / int64(n) }

// flagHot marks ztunnels far above the median of the others, by CPU or by
// memory. Comparing with the others (not with a median that includes the
// node itself) lets two nodes be compared at all.
func flagHot(zs []Ztunnel) {
	for i := range zs {
		if !zs[i].Measured {
			continue
		}
		var cpu, mem []int64
		for j := range zs {
			if j != i && zs[j].Measured {
				cpu = append(cpu, zs[j].Use.CPUMilli)
				mem = append(mem, zs[j].Use.MemBytes)
			}
		}
		if len(cpu) == 0 {
			return
		}
		mc, mm := median(cpu), median(mem)
		u := zs[i].Use
		if mc > 0 {
			zs[i].Ratio = float64(u.CPUMilli) / mc
		}
		if mm > 0 {
			zs[i].MemRatio = float64(u.MemBytes) / mm
		}
		hotCPU := float64(u.CPUMilli) > HotFactor*mc && float64(u.CPUMilli)-mc >= hotFloorCPU
		hotMem := float64(u.MemBytes) > HotFactor*mm && float64(u.MemBytes)-mm >= hotFloorMem
		zs[i].Hot = hotCPU || hotMem
	}
}

func median(v []int64) float64 {
	s := append([]int64(nil), v...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	n := len(s)
	if n%2 == 1 {
		return float64(s[n/2])
	}
	return float64(s[n/2-1]+s[n/2]) / 2
}

// DataPlane is what replaces sidecars in ambient: ztunnel, istio-cni and
// waypoints. istiod runs in both modes, so it is left out of the comparison
// with SidecarsWould.
func (o Overhead) DataPlane() Resources {
	return o.CNI.Use.Add(o.Ztunnel.Use).Add(o.Waypoints.Use)
}

// Hot returns the ztunnels flagged hot.
func (o Overhead) Hot() []Ztunnel {
	var out []Ztunnel
	for _, z := range o.Ztunnels {
		if z.Hot {
			out = append(out, z)
		}
	}
	return out
}

// Waypoint returns the usage of one waypoint's pods, for the Waypoints pane.
func (o Overhead) Waypoint(k Key) (Part, bool) {
	for _, w := range o.WaypointList {
		if w.Key == k {
			return w.Part, true
		}
	}
	return Part{}, false
}

// Summary is the overhead in one sentence, e.g. "mesh 38m CPU / 145Mi for
// 29 pods on 5 nodes; sidecars would be ≈ 29 × 10m / 50Mi = 290m / 1.4Gi".
func (o Overhead) Summary() string {
	if !o.Available {
		if o.Problem != "" {
			return o.Problem
		}
		return "waiting for metrics…"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "mesh %s CPU / %s", FormatCPU(o.Total.CPUMilli), FormatMem(o.Total.MemBytes))
	if o.MeshedPods == 0 {
		b.WriteString("; no pods captured by ambient yet")
		return b.String()
	}
	fmt.Fprintf(&b, " for %d %s on %d %s; sidecars would be ≈ %d × %s = %s",
		o.MeshedPods, plural(o.MeshedPods, "pod"), o.Nodes, plural(o.Nodes, "node"),
		o.MeshedPods, o.PerSidecar, o.SidecarsWould)
	return b.String()
}

// BasisText says where the per-sidecar figure came from, for the expanded view.
func (o Overhead) BasisText() string {
	switch o.Basis {
	case BasisSet:
		return "per sidecar: as configured"
	case BasisMeasured:
		return fmt.Sprintf("per sidecar: average istio-proxy of %d measured sidecar %s", o.SidecarsSeen, plural(o.SidecarsSeen, "pod"))
	default:
		return "per sidecar: default from Istio's performance figures (no sidecars here to measure)"
	}
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
