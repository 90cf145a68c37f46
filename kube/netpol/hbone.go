package netpol

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ambx/ambx/kube/finding"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Ports and addresses ambient mode needs through NetworkPolicies
// (ambient-reference.md section 4).
const (
	HBONEPort         int32 = 15008 // the mTLS tunnel every mesh connection arrives on
	IstiodXDSPort     int32 = 15012 // istiod's XDS and CA, dialled by ztunnel, waypoints and sidecars
	IstiodWebhookPort int32 = 15017 // istiod's webhook container port
)

// managedLabel marks the pods istiod deploys; managedByMesh is its value
// on waypoints.
const (
	managedLabel  = "gateway.istio.io/managed"
	managedByMesh = "istio.io-mesh-controller"
)

// ProbeSource is the address istio-cni rewrites kubelet probes of ambient
// pods to, so ztunnel can tell them from mesh traffic.
var ProbeSource = netip.MustParseAddr("169.254.7.127")

// ProbeSourceV6 is ProbeSource's IPv6 counterpart.
var ProbeSourceV6 = netip.MustParseAddr("fd16:9254:7127:1337:ffff:ffff:ffff:ffff")

// Dataplane is how a pod takes part in the mesh.
type Dataplane int

// Dataplanes. The zero value means the pod is not meshed.
const (
	NotMeshed Dataplane = iota
	Ambient             // captured by istio-cni, traffic carried by ztunnel
	Sidecar             // has an istio-proxy sidecar
	// Gateway is an ingress gateway pod (Gateway API class istio, or a
	// classic Helm-installed router): an HBONE client of ambient pods (its
	// Envoy originates the tunnel from its own IP), never a destination
	// ambient wraps in HBONE.
	Gateway
	// EastWest is an east-west (multi-network) gateway pod: an HBONE client
	// like Gateway, with its own way to each destination
	// (HBONEInput.EastWest).
	EastWest
)

// gatewayPlanes are the gateway kinds, each reaching destinations its own
// way; the index of a plane here numbers the per-kind fields below.
var gatewayPlanes = [...]Dataplane{Gateway, EastWest}

// gwSets holds a bitset per gateway kind, indexed as gatewayPlanes.
type gwSets [len(gatewayPlanes)]bitset

// gatewayIndex returns the plane's index in gatewayPlanes, or -1.
func gatewayIndex(plane Dataplane) int {
	for i, g := range gatewayPlanes {
		if g == plane {
			return i
		}
	}
	return -1
}

// tunnelLabel marks sidecars that accept HBONE (networking.istio.io/tunnel=http);
// other sidecars receive plaintext on the app port. tlsModeLabel, which
// the injector puts on every sidecar, says the pod also takes Istio mTLS.
const (
	tunnelLabel  = "networking.istio.io/tunnel"
	tlsModeLabel = "security.istio.io/tlsMode"
)

// ProxyHBONE is how istiod has sidecars and gateways send to HBONE-capable
// endpoints. The zero value is Istio's default with ambient on: they
// tunnel to ambient pods, and send Istio mTLS to sidecars that take both.
type ProxyHBONE struct {
	// Off is PILOT_ENABLE_SENDING_HBONE=false (or ambient off): sidecars
	// and gateways never tunnel; they connect to the app port, plaintext
	// to ambient pods, whose ztunnel takes it as inbound plaintext.
	Off bool
	// Prefer is PILOT_PREFER_SENDING_HBONE=true: they tunnel even to
	// endpoints that take Istio mTLS (tlsMode=istio).
	Prefer bool
}

// ProxyTunnels reports whether a sidecar or gateway Envoy sends HBONE to
// a destination whose workload is HBONE in ztunnel's view (captured, or a
// sidecar labelled networking.istio.io/tunnel=http), as istiod's endpoint
// builder decides: only while sending HBONE is on, and, to an endpoint
// labelled security.istio.io/tlsMode=istio, only when HBONE is preferred;
// otherwise it sends Istio mTLS (or plaintext) to the app port. Waypoints
// always tunnel and are not judged here.
func ProxyTunnels(dstHBONE bool, dstLabels map[string]string, s ProxyHBONE) bool {
	if !dstHBONE || s.Off {
		return false
	}
	return dstLabels[tlsModeLabel] != "istio" || s.Prefer
}

// HBONEInput is what the HBONE checks read. It holds plain values so that
// kube can fill it from a snapshot and its ambient analysis (kube/build.go
// does).
type HBONEInput struct {
	Namespaces      []*corev1.Namespace
	Pods            []*corev1.Pod
	NetworkPolicies []*networkingv1.NetworkPolicy
	// Meshed says how each meshed pod is in the mesh; pods absent from it
	// are not meshed.
	Meshed map[Key]Dataplane
	// Waypoints lists, per destination pod, the waypoint pods that traffic
	// to it passes through; pods absent from it have none in their path.
	Waypoints map[Key][]Key
	// Ingress says, per destination pod, which way Gateway API ingress
	// gateways reach it; pods absent from it are dialled on their own
	// 15008, as gateways do without istio.io/ingress-use-waypoint.
	Ingress map[Key]IngressPath
	// EastWest is Ingress for east-west gateways: they send a Service's
	// traffic to its bound waypoint whatever ingress-use-waypoint says
	// (pilot's buildWaypointInternal); pods absent from it are dialled on
	// their own 15008.
	EastWest map[Key]IngressPath
	// Istiod and Ztunnels list the control-plane pods. When nil, the pods
	// labelled app=istiod and app=ztunnel in RootNamespace are used.
	Istiod, Ztunnels []Key
	// RootNamespace is Istio's namespace; empty means istio-system.
	RootNamespace string
	// ProxyHBONE is how the installed istiod has sidecars and gateways
	// send.
	ProxyHBONE ProxyHBONE
}

// IngressPath is how ingress gateways reach one destination pod: through
// the waypoints of the Services in front of it that route ingress traffic
// to their waypoint (istiod's findServiceWaypoint: ingress-use-waypoint as
// the installed istiod reads it, ENABLE_INGRESS_WAYPOINT_ROUTING, a Service
// VIP), and directly when some other Service in front of it does not.
type IngressPath struct {
	Waypoints []Key // waypoint pods gateway traffic to the pod passes through
	Direct    bool  // gateways also dial the pod's own 15008
}

// Connection is one connection a problem blocks.
type Connection struct {
	From, To Peer
	Port     int32
	Protocol corev1.Protocol
}

// String returns e.g. "a/x -> b/y 15008/TCP".
func (c Connection) String() string {
	return fmt.Sprintf("%s -> %s %d/%s", c.From, c.To, c.Port, c.Protocol)
}

// Problem is a finding together with connections it blocks, so that a
// caller (or a test) can check that the suggested patch lets them through.
type Problem struct {
	finding.Finding
	// Examples are connections the evaluator denies because of the
	// problem: at most one per pair of pod kinds, and at most 20.
	Examples []Connection
}

const maxExamples = 20

// CheckHBONE finds the NetworkPolicies that keep ambient mesh traffic from
// flowing, each with a suggested patch. It is CheckHBONEProblems without the
// examples.
func CheckHBONE(in HBONEInput) []finding.Finding {
	ps := CheckHBONEProblems(in)
	out := make([]finding.Finding, len(ps))
	for i, p := range ps {
		out[i] = p.Finding
	}
	return out
}

// CheckHBONEProblems runs the checks, most severe problem first:
//   - hbone-ingress-blocked: an ingress rule admits meshed pods on an app
//     port but not on 15008, where ambient delivers their traffic; ztunnel
//     keeps the source address, so the fix adds 15008 to that same rule.
//   - hbone-egress-blocked: the same for a meshed pod's egress rule.
//   - hbone-waypoint-ingress-blocked, hbone-waypoint-egress-blocked: the
//     destination does not admit its waypoint on 15008, or the waypoint may
//     not send there.
//   - hbone-waypoint-clients-blocked, hbone-egress-to-waypoint-blocked: the
//     waypoint does not admit the destination's clients on 15008, or the
//     clients may not send to it.
//   - istiod-egress-blocked: sidecars, waypoints or ztunnel cannot reach
//     istiod on 15012 (15017 is the API server calling the webhook, never a proxy).
//   - probe-source-blocked: kubelet probes, which istio-cni rewrites to come
//     from 169.254.7.127, are not admitted to an ambient pod.
//   - networkpolicy-invalid: a policy the evaluator could not read.
func CheckHBONEProblems(in HBONEInput) []Problem {
	c, err := NewCluster(in.Namespaces, in.Pods, in.NetworkPolicies)
	h := newChecker(c, in)
	h.invalid(err)
	h.ingress()
	h.egress()
	h.waypoints()
	h.istiod()
	h.probes()
	return h.results()
}

type class struct {
	id        int
	plane     Dataplane
	rep       *pod
	pods      []*pod
	waypoints []*pod
	// gwWaypoints are the waypoint pods gateways of each kind
	// (gatewayPlanes) reach the class through; gwDirect reports that they
	// dial its pods directly too.
	gwWaypoints [len(gatewayPlanes)][]*pod
	gwDirect    [len(gatewayPlanes)]bool
}

type checker struct {
	c          *Cluster
	in         HBONEInput
	root       string
	classes    []*class
	nsClasses  map[string][]int
	nsList     []string // namespaces that have meshed classes, sorted
	ambient    bitset   // classes of ambient pods
	meshed     bitset   // classes of ambient, sidecar and gateway pods: HBONE clients
	hboneDst   bitset   // classes ztunnel and waypoints send HBONE to: ambient, and sidecars labelled tunnel=http
	proxyDst   bitset   // classes sidecars and gateways send HBONE to (ProxyTunnels)
	proxySrc   bitset   // classes of sidecar and gateway pods, when they send HBONE at all
	proxies    bitset   // classes of ambient and sidecar pods (not gateways): clients a waypoint serves
	gateways   gwSets   // classes of gateway pods, by kind
	gwIndirect gwSets   // classes gateways of the kind reach only through a waypoint (IngressPath.Direct false)
	matchMemo  map[*rule]bitset
	nsMemo     map[string][]string
	problems   map[problemKey]*problem
	order      []problemKey
	egressIso  bitset               // classes some policy isolates for egress
	egressPols [][]*policy          // by class: the policies isolating it for egress
	toWaypoint map[*policy]*problem // hbone-egress-to-waypoint-blocked, by policy
	// wpPods are the waypoint pods in some class's path, sorted; wpIndex
	// numbers them.
	wpPods  []*pod
	wpIndex map[*pod]int
	// egressWP holds, per waypoint pod, the source classes whose egress to
	// it has been judged.
	egressWP     []bitset
	egressMemo   map[*rule]*egressSets
	targets      map[*pod]*target
	targetsByKey map[string]*target
	peerMemo     map[*pod]keyedPeer
}

func newChecker(c *Cluster, in HBONEInput) *checker {
	h := &checker{
		c: c, in: in, root: in.RootNamespace,
		nsClasses:    map[string][]int{},
		matchMemo:    map[*rule]bitset{},
		nsMemo:       map[string][]string{},
		problems:     map[problemKey]*problem{},
		wpIndex:      map[*pod]int{},
		egressMemo:   map[*rule]*egressSets{},
		toWaypoint:   map[*policy]*problem{},
		targets:      map[*pod]*target{},
		targetsByKey: map[string]*target{},
		peerMemo:     map[*pod]keyedPeer{},
	}
	if h.root == "" {
		h.root = "istio-system"
	}
	byKey := map[string]*class{}
	var sb strings.Builder
	for _, ns := range c.nsNames {
		for _, p := range c.podsByNS[ns] {
			plane := in.Meshed[p.key]
			if plane != Ambient && plane != Sidecar && gatewayIndex(plane) < 0 {
				continue
			}
			wps := podsOf(c, in.Waypoints[p.key])
			var gwDirect [len(gatewayPlanes)]bool
			var gwWps [len(gatewayPlanes)][]*pod
			sb.Reset()
			classKey(&sb, p, plane, wps)
			// Indexed as gatewayPlanes: Gateway, EastWest.
			for i, paths := range [...]map[Key]IngressPath{in.Ingress, in.EastWest} {
				gwDirect[i] = true
				if path, ok := paths[p.key]; ok {
					gwDirect[i], gwWps[i] = path.Direct, podsOf(c, path.Waypoints)
				}
				if !gwDirect[i] || len(gwWps[i]) > 0 {
					sb.WriteByte(0)
					sb.WriteString(strconv.Itoa(i))
					sb.WriteString(strconv.FormatBool(gwDirect[i]))
					for _, w := range gwWps[i] {
						sb.WriteByte(',')
						sb.WriteString(w.key.String())
					}
				}
			}
			k := sb.String()
			cl := byKey[k]
			if cl == nil {
				cl = &class{id: len(h.classes), plane: plane, rep: p, waypoints: wps, gwWaypoints: gwWps, gwDirect: gwDirect}
				byKey[k] = cl
				h.classes = append(h.classes, cl)
				h.nsClasses[ns] = append(h.nsClasses[ns], cl.id)
			}
			cl.pods = append(cl.pods, p)
		}
	}
	for _, cl := range h.classes {
		for _, w := range cl.allWaypoints() {
			if _, ok := h.wpIndex[w]; !ok {
				h.wpIndex[w] = len(h.wpPods)
				h.wpPods = append(h.wpPods, w)
			}
		}
	}
	slices.SortFunc(h.wpPods, func(a, b *pod) int { return compareKeys(a.key, b.key) })
	for i, w := range h.wpPods {
		h.wpIndex[w] = i
	}
	h.egressWP = make([]bitset, len(h.wpPods))
	for ns := range h.nsClasses {
		h.nsList = append(h.nsList, ns)
	}
	slices.Sort(h.nsList)
	h.ambient, h.meshed = newBitset(len(h.classes)), newBitset(len(h.classes))
	h.hboneDst, h.proxies = newBitset(len(h.classes)), newBitset(len(h.classes))
	h.proxyDst, h.proxySrc = newBitset(len(h.classes)), newBitset(len(h.classes))
	for i := range gatewayPlanes {
		h.gateways[i], h.gwIndirect[i] = newBitset(len(h.classes)), newBitset(len(h.classes))
	}
	h.egressIso = newBitset(len(h.classes))
	h.egressPols = make([][]*policy, len(h.classes))
	for _, cl := range h.classes {
		h.meshed.set(cl.id)
		h.egressPols[cl.id] = c.isolating(Egress, cl.rep)
		if len(h.egressPols[cl.id]) > 0 {
			h.egressIso.set(cl.id)
		}
		if cl.plane == Ambient {
			h.ambient.set(cl.id)
		}
		if cl.plane == Ambient || (cl.plane == Sidecar && cl.rep.labels[tunnelLabel] == "http") {
			h.hboneDst.set(cl.id)
			if ProxyTunnels(true, cl.rep.labels, in.ProxyHBONE) {
				h.proxyDst.set(cl.id)
			}
		}
		if g := gatewayIndex(cl.plane); g >= 0 {
			h.gateways[g].set(cl.id)
		} else {
			h.proxies.set(cl.id)
		}
		if (cl.plane == Sidecar || cl.plane == Gateway) && !in.ProxyHBONE.Off {
			h.proxySrc.set(cl.id)
		}
		for i, direct := range cl.gwDirect {
			if !direct {
				h.gwIndirect[i].set(cl.id)
			}
		}
	}
	return h
}

// podsOf returns the pods of keys the cluster holds, sorted and unique.
func podsOf(c *Cluster, keys []Key) []*pod {
	var out []*pod
	for _, k := range keys {
		if w := c.pods[k]; w != nil {
			out = append(out, w)
		}
	}
	slices.SortFunc(out, func(a, b *pod) int { return compareKeys(a.key, b.key) })
	return slices.Compact(out)
}

// allWaypoints returns the waypoint pods in front of the class, for
// ztunnel clients or for gateways, sorted and unique.
func (cl *class) allWaypoints() []*pod {
	out := cl.waypoints
	for _, gw := range cl.gwWaypoints {
		if len(gw) > 0 {
			out = append(slices.Clone(out), gw...)
		}
	}
	if len(out) == len(cl.waypoints) {
		return cl.waypoints
	}
	slices.SortFunc(out, func(a, b *pod) int { return compareKeys(a.key, b.key) })
	return slices.Compact(out)
}

// classKey writes what decides a pod's fate in every check: where it is,
// its labels, its ports and probes, and its waypoints. Pods of one workload
// share it, so checks run once per workload rather than once per pod.
func classKey(sb *strings.Builder, p *pod, plane Dataplane, wps []*pod) {
	var num [20]byte
	sb.WriteString(p.key.Namespace)
	sb.WriteByte(0)
	sb.WriteByte(byte('0' + plane))
	sb.WriteByte(0)
	keys := make([]string, 0, len(p.labels))
	for k := range p.labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		sb.WriteString(k)
		sb.WriteByte('=')
		sb.WriteString(p.labels[k])
		sb.WriteByte(',')
	}
	sb.WriteByte(0)
	for _, list := range [][]corev1.Container{p.obj.Spec.Containers, p.obj.Spec.InitContainers} {
		for _, ct := range list {
			for _, cp := range ct.Ports {
				sb.WriteString(cp.Name)
				sb.WriteByte(':')
				sb.Write(strconv.AppendInt(num[:0], int64(cp.ContainerPort), 10))
				sb.WriteByte('/')
				sb.WriteString(string(cp.Protocol))
				sb.WriteByte(',')
			}
		}
	}
	sb.WriteByte(0)
	for _, pp := range probePorts(p.obj) {
		sb.Write(strconv.AppendInt(num[:0], int64(pp), 10))
		sb.WriteByte(',')
	}
	sb.WriteByte(0)
	for _, w := range wps {
		sb.WriteString(w.key.String())
		sb.WriteByte(',')
	}
}

// probePorts returns the ports kubelet probes the pod on over the network,
// sorted and unique. Exec probes do not use the network.
func probePorts(p *corev1.Pod) []int32 {
	var out []int32
	for _, ct := range p.Spec.Containers {
		for _, pr := range []*corev1.Probe{ct.LivenessProbe, ct.ReadinessProbe, ct.StartupProbe} {
			if pr == nil {
				continue
			}
			var n int32
			switch {
			case pr.HTTPGet != nil:
				n = resolvePort(p, pr.HTTPGet.Port)
			case pr.TCPSocket != nil:
				n = resolvePort(p, pr.TCPSocket.Port)
			case pr.GRPC != nil:
				n = pr.GRPC.Port
			}
			if n > 0 && n <= 65535 {
				out = append(out, n)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func resolvePort(p *corev1.Pod, v intstr.IntOrString) int32 {
	if v.Type == intstr.String {
		return namedPort(p, v.StrVal, corev1.ProtocolTCP)
	}
	return v.IntVal
}

// match returns the meshed classes a rule's peers admit, computed once per
// rule. Peers with only a podSelector mean the policy's own namespace.
func (h *checker) match(r *rule) bitset {
	if m, ok := h.matchMemo[r]; ok {
		return m
	}
	m := newBitset(len(h.classes))
	if r.peers == nil {
		m.or(h.meshed)
	}
	for i := range r.peers {
		pe := &r.peers[i]
		if pe.block != nil {
			continue // addresses outside the cluster do not speak HBONE
		}
		nss := []string{r.policy.key.Namespace}
		if pe.namespaces != nil {
			nss = h.namespacesMatching(pe)
		}
		for _, ns := range nss {
			for _, id := range h.nsClasses[ns] {
				if pe.pods == nil || pe.pods.Matches(h.classes[id].rep.labels) {
					m.set(id)
				}
			}
		}
	}
	h.matchMemo[r] = m
	return m
}

func (h *checker) namespacesMatching(pe *peer) []string {
	k := pe.namespaces.String()
	if nss, ok := h.nsMemo[k]; ok {
		return nss
	}
	var nss []string
	for _, ns := range h.nsList {
		if pe.namespaces.Matches(h.c.namespaces[ns]) {
			nss = append(nss, ns)
		}
	}
	h.nsMemo[k] = nss
	return nss
}

// admitsAppPort reports whether the rule admits some TCP port, other than
// by admitting every port, on the destination (nil for any destination when
// the rule has no named ports). Ambient carries TCP only; UDP and SCTP pass
// outside the mesh and need no HBONE.
func (r *rule) admitsAppPort(dst *pod) bool {
	if r.ports == nil {
		return true
	}
	for i := range r.ports {
		po := &r.ports[i]
		if po.protocol != corev1.ProtocolTCP {
			continue
		}
		if po.name == "" || (dst != nil && namedPort(dst.obj, po.name, corev1.ProtocolTCP) != 0) {
			return true
		}
	}
	return false
}

// ingress finds ingress rules that admit meshed clients on an app port but
// not on 15008.
func (h *checker) ingress() {
	for _, cl := range h.classes {
		if !h.hboneDst.has(cl.id) {
			continue // gateways and plain sidecars receive plaintext on the app port
		}
		pols := h.c.isolating(Ingress, cl.rep)
		if len(pols) == 0 {
			continue
		}
		// ztunnel tunnels to every HBONE destination, and so do east-west
		// gateways, which forward the inner tunnel to the pod's 15008 as
		// waypoints do; sidecars and ingress gateways only as
		// ProxyTunnels says, and otherwise connect to the app port, which
		// the rule already admits.
		sources := h.ambient.clone()
		sources.or(h.gateways[gatewayIndex(EastWest)])
		if h.proxyDst.has(cl.id) {
			sources.or(h.proxySrc)
		}
		for i, direct := range cl.gwDirect {
			if !direct {
				// Every Service in front of the pod sends this kind of
				// gateway's traffic through its waypoint: those gateways
				// never dial the pod, waypoints() checks their hops.
				sources.andNot(h.gateways[i])
			}
		}
		hb := newBitset(len(h.classes))
		var apps []*rule
		for _, p := range pols {
			for i := range p.rules[0] {
				r := &p.rules[0][i]
				if r.admitsPort(HBONEPort, corev1.ProtocolTCP, cl.rep) {
					hb.or(h.match(r))
				} else if r.admitsAppPort(cl.rep) {
					apps = append(apps, r)
				}
			}
		}
		for _, r := range apps {
			blocked := h.match(r).clone()
			blocked.and(sources)
			blocked.andNot(hb)
			if len(cl.pods) == 1 {
				blocked.clear(cl.id) // a pod reaches itself over loopback
			}
			if blocked.empty() {
				continue
			}
			pr := h.problem("hbone-ingress-blocked", r.policy, Ingress, fmt.Sprint(r.index))
			pr.extend = r
			pr.addSubjects(cl.pods)
			pr.remotes = orInto(pr.remotes, blocked)
			// A waypoint spares only ztunnel clients: sidecars and
			// gateways dial the pod whatever its waypoint.
			viaProxy := blocked.clone()
			viaProxy.andNot(h.ambient)
			pr.allWaypointed = pr.allWaypointed && len(cl.waypoints) > 0 && viaProxy.empty()
			blocked.eachWhile(func(id int) bool {
				pr.example(Connection{From: Peer{Pod: h.other(id, cl.rep).key}, To: Peer{Pod: cl.rep.key}, Port: HBONEPort, Protocol: corev1.ProtocolTCP})
				return len(pr.examples) < maxExamples
			})
		}
	}
}

// other returns a pod of the class that is not x, or the class's first pod.
func (h *checker) other(id int, x *pod) *pod {
	for _, p := range h.classes[id].pods {
		if p != x {
			return p
		}
	}
	return h.classes[id].rep
}

func orInto(b, o bitset) bitset {
	if b == nil {
		return o.clone()
	}
	b.or(o)
	return b
}

// egress finds egress rules that let meshed pods reach meshed destinations
// on an app port but not on 15008.
func (h *checker) egress() {
	for _, cl := range h.classes {
		pols := h.egressPols[cl.id]
		if len(pols) == 0 {
			continue
		}
		dests := h.hboneDst
		if cl.plane != Ambient && cl.plane != EastWest {
			if !h.proxySrc.has(cl.id) {
				continue // sending HBONE is off: it dials app ports only
			}
			// A sidecar or gateway tunnels only as ProxyTunnels says.
			dests = h.proxyDst
		}
		if g := gatewayIndex(cl.plane); g >= 0 {
			// A gateway dials the waypoint, not the pod, of destinations
			// whose every Service routes its traffic through it.
			dests = dests.clone()
			dests.andNot(h.gwIndirect[g])
		}
		hb := newBitset(len(h.classes))
		var rules []*rule
		for _, p := range pols {
			for i := range p.rules[1] {
				r := &p.rules[1][i]
				rules = append(rules, r)
				hb.or(h.egressOf(r).hbone)
			}
		}
		for _, r := range rules {
			blocked := h.egressOf(r).appOnly.clone()
			blocked.and(dests)
			blocked.andNot(hb)
			if len(cl.pods) == 1 {
				blocked.clear(cl.id)
			}
			if blocked.empty() {
				continue
			}
			pr := h.problem("hbone-egress-blocked", r.policy, Egress, fmt.Sprint(r.index))
			pr.extend = r
			pr.addSubjects(cl.pods)
			pr.remotes = orInto(pr.remotes, blocked)
			blocked.eachWhile(func(id int) bool {
				pr.example(Connection{From: Peer{Pod: cl.rep.key}, To: Peer{Pod: h.other(id, cl.rep).key}, Port: HBONEPort, Protocol: corev1.ProtocolTCP})
				return len(pr.examples) < maxExamples
			})
		}
	}
}

// egressSets is what an egress rule admits among meshed classes, which
// does not depend on the pod it lets out.
type egressSets struct {
	hbone   bitset // classes it lets pods reach on 15008
	appOnly bitset // classes it lets pods reach on an app port but not 15008
}

func (h *checker) egressOf(r *rule) *egressSets {
	if e := h.egressMemo[r]; e != nil {
		return e
	}
	e := &egressSets{hbone: newBitset(len(h.classes)), appOnly: newBitset(len(h.classes))}
	if !r.named {
		// Without named ports the destination does not matter.
		switch {
		case r.admitsPort(HBONEPort, corev1.ProtocolTCP, nil):
			e.hbone.or(h.match(r))
		case r.admitsAppPort(nil):
			e.appOnly.or(h.match(r))
		}
		h.egressMemo[r] = e
		return e
	}
	h.match(r).each(func(id int) {
		d := h.classes[id].rep
		if r.admitsPort(HBONEPort, corev1.ProtocolTCP, d) {
			e.hbone.set(id)
		} else if r.admitsAppPort(d) {
			e.appOnly.set(id)
		}
	})
	h.egressMemo[r] = e
	return e
}

// waypoints checks every hop of traffic through a waypoint: clients to the
// waypoint, and the waypoint to the destination, each on 15008 and each
// both ways (the sender's egress and the receiver's ingress).
func (h *checker) waypoints() {
	for _, cl := range h.classes {
		if len(cl.allWaypoints()) == 0 {
			continue
		}
		admitted, peers := h.clientsOf(cl)
		// Only ztunnel clients are sent through a waypoint: sidecars never
		// use one, in any release (findServiceWaypoint: "only ingress and
		// e/w gateway will call waypoints"), and go straight to the pod's
		// 15008, which ingress() checks.
		viaZtunnel := admitted.clone()
		viaZtunnel.and(h.ambient)
		// Gateways go through the waypoints of the Services that route
		// them there (ingress: istio.io/ingress-use-waypoint; east-west:
		// any bound waypoint), from their own pod.
		var viaGateway [len(gatewayPlanes)]bitset
		for i := range gatewayPlanes {
			viaGateway[i] = admitted.clone()
			viaGateway[i].and(h.gateways[i])
		}
		for _, w := range cl.allWaypoints() {
			srcs := newBitset(len(h.classes))
			if slices.Contains(cl.waypoints, w) {
				srcs.or(viaZtunnel)
			}
			for i, gw := range cl.gwWaypoints {
				if slices.Contains(gw, w) {
					srcs.or(viaGateway[i])
				}
			}
			if h.hboneDst.has(cl.id) {
				h.waypointHop(cl, w)
			}
			// else a sidecar without tunnel=http: the waypoint sends it
			// Istio mTLS on the app port, as any client would.
			h.clientsToWaypoint(cl, w, srcs, peers)
		}
	}
}

// waypointHop checks the waypoint's own HBONE connection to the
// destination: the destination's ingress and the waypoint's egress.
func (h *checker) waypointHop(cl *class, w *pod) {
	hop := Connection{From: Peer{Pod: w.key}, To: Peer{Pod: cl.rep.key}, Port: HBONEPort, Protocol: corev1.ProtocolTCP}
	v, err := h.c.Evaluate(hop.From, hop.To, hop.Port, hop.Protocol)
	if err != nil {
		return
	}
	if !v.Ingress.Allowed {
		pr := h.problem("hbone-waypoint-ingress-blocked", h.policyOf(v.Ingress), Ingress, "")
		h.addPodPeer(pr, w)
		pr.openPorts = []int32{HBONEPort}
		pr.addSubjects(cl.pods)
		pr.addRemote(w)
		pr.example(hop)
	}
	if !v.Egress.Allowed {
		pr := h.problem("hbone-waypoint-egress-blocked", h.policyOf(v.Egress), Egress, "")
		h.addPodPeer(pr, cl.rep)
		pr.openPorts = []int32{HBONEPort}
		pr.addSubjects([]*pod{w})
		pr.addRemotes(cl.pods)
		pr.example(hop)
	}
}

// clientsOf returns the meshed classes the destination admits on any TCP
// port, and the peers that admit them, rewritten to hold outside the
// policy's namespace. nil peers mean everyone.
func (h *checker) clientsOf(cl *class) (bitset, []networkingv1.NetworkPolicyPeer) {
	pols := h.c.isolating(Ingress, cl.rep)
	if len(pols) == 0 {
		return h.meshed, nil
	}
	srcs := newBitset(len(h.classes))
	var peers []networkingv1.NetworkPolicyPeer
	seen := map[string]bool{}
	everyone := false
	for _, p := range pols {
		for i := range p.rules[0] {
			r := &p.rules[0][i]
			if !r.admitsAppPort(cl.rep) && !r.admitsPort(HBONEPort, corev1.ProtocolTCP, cl.rep) {
				continue
			}
			srcs.or(h.match(r))
			if r.peers == nil {
				everyone = true
			}
			for _, pe := range r.peers {
				abs := absolutePeer(pe.src, p.key.Namespace)
				if k := mustJSON(abs); !seen[k] {
					seen[k] = true
					peers = append(peers, abs)
				}
			}
		}
	}
	if everyone {
		peers = nil
	}
	return srcs, peers
}

func (h *checker) clientsToWaypoint(cl *class, w *pod, srcs bitset, peers []networkingv1.NetworkPolicyPeer) {
	if pols := h.c.isolating(Ingress, w); len(pols) > 0 {
		hb := newBitset(len(h.classes))
		for _, p := range pols {
			for i := range p.rules[0] {
				if r := &p.rules[0][i]; r.admitsPort(HBONEPort, corev1.ProtocolTCP, w) {
					hb.or(h.match(r))
				}
			}
		}
		blocked := srcs.clone()
		blocked.andNot(hb)
		if !blocked.empty() {
			pr := h.problem("hbone-waypoint-clients-blocked", pols[0], Ingress, "")
			pr.everyone = pr.everyone || peers == nil
			pr.addPeers(peers...)
			pr.openPorts = []int32{HBONEPort}
			pr.addSubjects([]*pod{w})
			pr.remotes = orInto(pr.remotes, blocked)
			for _, d := range cl.pods {
				if !slices.Contains(pr.via, d.key) {
					pr.via = append(pr.via, d.key)
				}
			}
			blocked.eachWhile(func(id int) bool {
				pr.example(Connection{From: Peer{Pod: h.classes[id].rep.key}, To: Peer{Pod: w.key}, Port: HBONEPort, Protocol: corev1.ProtocolTCP})
				return len(pr.examples) < maxExamples
			})
		}
	}
	// Each source class's egress to the waypoint pod is judged once, the
	// first time some destination behind the waypoint admits it; later
	// destinations add nothing.
	wi := h.wpIndex[w]
	done := h.egressWP[wi]
	if done == nil {
		done = newBitset(len(h.classes))
		h.egressWP[wi] = done
	}
	isolated := srcs.clone()
	isolated.and(h.egressIso)
	isolated.andNot(done)
	if isolated.empty() {
		return
	}
	done.or(isolated)
	t := h.targetOf(w)
	managed := w.labels[managedLabel] == managedByMesh
	isolated.each(func(id int) {
		deny := t.denier(h, id)
		if deny == nil {
			return
		}
		s := h.classes[id]
		pr := h.toWaypoint[deny]
		if pr == nil {
			pr = h.problem("hbone-egress-to-waypoint-blocked", deny, Egress, "")
			pr.waypoints = newBitset(len(h.wpPods))
			pr.subjectClasses = newBitset(len(h.classes))
			pr.openPorts = []int32{HBONEPort}
			h.toWaypoint[deny] = pr
		}
		if !pr.waypoints.has(wi) {
			pr.waypoints.set(wi)
			pr.addKeyedPeer(t.peer.peer, t.peer.key)
			pr.toWaypoints = pr.toWaypoints && managed
		}
		if !pr.subjectClasses.has(id) {
			pr.subjectClasses.set(id)
			pr.addSubjects(s.pods)
		}
		if len(pr.examples) < maxExamples {
			pr.example(Connection{From: Peer{Pod: s.rep.key}, To: Peer{Pod: w.key}, Port: HBONEPort, Protocol: corev1.ProtocolTCP})
		}
	})
}

// target is a set of waypoint pods that egress rules cannot tell apart:
// one namespace, the same labels and the same container ports (which
// named ports resolve on). Sources' verdicts towards one hold for all,
// and a peer selecting one's workload selects all.
type target struct {
	rep    *pod
	peer   keyedPeer
	admits map[*policy]bool // whether some egress rule of the policy admits rep on 15008
}

func (h *checker) targetOf(w *pod) *target {
	if t := h.targets[w]; t != nil {
		return t
	}
	var sb strings.Builder
	classKey(&sb, w, NotMeshed, nil)
	k := sb.String()
	t := h.targetsByKey[k]
	if t == nil {
		pe := podPeer(w)
		t = &target{rep: w, peer: keyedPeer{pe, mustJSON(pe)}, admits: map[*policy]bool{}}
		h.targetsByKey[k] = t
	}
	h.targets[w] = t
	return t
}

// denier returns the policy that keeps the class from reaching the target
// on 15008, or nil: Cluster.denier, with each policy's verdict on the
// target kept for the next class it isolates.
func (t *target) denier(h *checker, id int) *policy {
	pols := h.egressPols[id]
	for _, p := range pols {
		ok, known := t.admits[p]
		if !known {
			for i := range p.rules[1] {
				if p.rules[1][i].admits(h.c, t.rep, netip.Addr{}, HBONEPort, corev1.ProtocolTCP, t.rep) {
					ok = true
					break
				}
			}
			t.admits[p] = ok
		}
		if ok {
			return nil
		}
	}
	return pols[0]
}

// policyOf returns the first policy that isolates a denied side; that is
// the one a patch extends, since any isolating policy's rules apply.
func (h *checker) policyOf(s Side) *policy { return h.c.policyIndex[s.Isolating[0]] }

// istiod checks that the pods that dial istiod may do so: sidecars (15012
// only), gateways, waypoints and ztunnel, all on 15012.
func (h *checker) istiod() {
	istiod := h.keysOr(h.in.Istiod, "app", "istiod")
	if len(istiod) == 0 {
		return
	}
	target := h.c.pods[istiod[0]]
	type group struct {
		pods  []*pod
		ports []int32
		what  string
	}
	var groups []group
	for _, cl := range h.classes {
		// Proxies dial istiod on 15012 only: 15017 is the API server
		// calling the webhook.
		switch cl.plane {
		case Sidecar:
			groups = append(groups, group{cl.pods, []int32{IstiodXDSPort}, "sidecar"})
		case Gateway:
			groups = append(groups, group{cl.pods, []int32{IstiodXDSPort}, "gateway"})
		case EastWest:
			groups = append(groups, group{cl.pods, []int32{IstiodXDSPort}, "east-west gateway"})
		}
	}
	seen := map[*pod]bool{}
	var wps, zts []*pod
	for _, cl := range h.classes {
		for _, w := range cl.waypoints {
			if !seen[w] {
				seen[w] = true
				wps = append(wps, w)
			}
		}
	}
	for _, p := range h.c.pods {
		if p.labels[managedLabel] == managedByMesh && !seen[p] {
			seen[p] = true
			wps = append(wps, p)
		}
	}
	for _, k := range h.keysOr(h.in.Ztunnels, "app", "ztunnel") {
		zts = append(zts, h.c.pods[k])
	}
	for _, set := range []struct {
		pods []*pod
		what string
	}{{wps, "waypoint"}, {zts, "ztunnel"}} {
		byLabels := map[string]int{}
		slices.SortFunc(set.pods, func(a, b *pod) int { return compareKeys(a.key, b.key) })
		for _, p := range set.pods {
			k := p.key.Namespace + "\x00" + p.labels.String()
			if i, ok := byLabels[k]; ok {
				groups[i].pods = append(groups[i].pods, p)
				continue
			}
			byLabels[k] = len(groups)
			groups = append(groups, group{[]*pod{p}, []int32{IstiodXDSPort}, set.what})
		}
	}
	for _, g := range groups {
		for _, port := range g.ports {
			hop := Connection{From: Peer{Pod: g.pods[0].key}, To: Peer{Pod: target.key}, Port: port, Protocol: corev1.ProtocolTCP}
			v, err := h.c.Evaluate(hop.From, hop.To, hop.Port, hop.Protocol)
			if err != nil || v.Egress.Allowed {
				continue
			}
			pr := h.problem("istiod-egress-blocked", h.policyOf(v.Egress), Egress, "")
			pr.istiod = target
			h.addPodPeer(pr, target)
			if !slices.Contains(pr.ports, port) {
				pr.ports = append(pr.ports, port)
				slices.Sort(pr.ports)
				pr.openPorts = pr.ports
			}
			if !slices.Contains(pr.kinds, g.what) {
				pr.kinds = append(pr.kinds, g.what)
			}
			pr.addSubjects(g.pods)
			pr.addRemote(target)
			pr.example(hop)
		}
	}
}

// keysOr returns keys when given, else the pods in the root namespace with
// the label, sorted; either way only pods the cluster holds.
func (h *checker) keysOr(keys []Key, label, value string) []Key {
	var out []Key
	if keys != nil {
		for _, k := range keys {
			if h.c.pods[k] != nil {
				out = append(out, k)
			}
		}
		return out
	}
	for _, p := range h.c.podsByNS[h.root] {
		if p.labels[label] == value {
			out = append(out, p.key)
		}
	}
	return out
}

// probes checks that kubelet probes, which istio-cni rewrites to come from
// 169.254.7.127 for ambient pods, are admitted.
func (h *checker) probes() {
	for _, cl := range h.classes {
		if cl.plane != Ambient {
			continue
		}
		for _, port := range probePorts(cl.rep.obj) {
			hop := Connection{From: IPPeer(ProbeSource), To: Peer{Pod: cl.rep.key}, Port: port, Protocol: corev1.ProtocolTCP}
			v, err := h.c.Evaluate(hop.From, hop.To, hop.Port, hop.Protocol)
			if err != nil || v.Allowed {
				continue
			}
			pr := h.problem("probe-source-blocked", h.policyOf(v.Ingress), Ingress, "")
			pr.addPeers(
				networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: ProbeSource.String() + "/32"}},
				networkingv1.NetworkPolicyPeer{IPBlock: &networkingv1.IPBlock{CIDR: ProbeSourceV6.String() + "/128"}},
			)
			if !slices.Contains(pr.ports, port) {
				pr.ports = append(pr.ports, port)
				slices.Sort(pr.ports)
			}
			pr.addSubjects(cl.pods)
			pr.example(hop)
		}
	}
}

func (h *checker) invalid(err error) {
	if err == nil {
		return
	}
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	for _, e := range errs {
		var pe *PolicyError
		if !errors.As(e, &pe) {
			continue
		}
		key := problemKey{code: "networkpolicy-invalid", policy: pe.Policy}
		h.problems[key] = &problem{code: "networkpolicy-invalid", invalid: pe}
		h.order = append(h.order, key)
	}
}
