// Package netpol evaluates Kubernetes NetworkPolicies with the exact
// semantics of networking.k8s.io/v1, and checks that pods in Istio's ambient
// mesh can still reach each other over HBONE (TCP 15008) once ztunnel wraps
// their traffic. It is pure: no I/O, only values.
package netpol

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// NamespaceNameLabel is the label the API server puts on every namespace;
// policies select single namespaces with it, and so do our patches.
const NamespaceNameLabel = "kubernetes.io/metadata.name"

// Key identifies a namespaced object; its String form is "ns/name". It has
// the same shape as ambient.Key, so callers convert with netpol.Key(k).
type Key struct{ Namespace, Name string }

// String returns ns/name.
func (k Key) String() string { return k.Namespace + "/" + k.Name }

// Direction is the side of a connection a policy rule governs.
type Direction string

// Directions, spelled as the policy fields are.
const (
	Ingress Direction = "ingress"
	Egress  Direction = "egress"
)

// Cluster is a compiled, read-only set of namespaces, pods and policies.
// Selectors are parsed once here so that each evaluation only matches labels.
type Cluster struct {
	namespaces  map[string]labels.Set
	nsNames     []string // sorted
	pods        map[Key]*pod
	podsByNS    map[string][]*pod // sorted by name
	byNS        map[string][]*policy
	policies    []*policy // sorted by namespace, name
	policyIndex map[Key]*policy
}

type pod struct {
	key    Key
	labels labels.Set
	obj    *corev1.Pod
}

type policy struct {
	key      Key
	obj      *networkingv1.NetworkPolicy
	selector labels.Selector
	affects  [2]bool   // indexed by dirIndex: whether policyTypes include the direction
	rules    [2][]rule // indexed by dirIndex
}

type rule struct {
	policy *policy
	dir    Direction
	index  int
	peers  []peer // nil: every peer, including addresses outside the cluster
	ports  []port // nil: every port and protocol
	named  bool   // some port is named, so what it admits depends on the destination pod
}

type peer struct {
	pods       labels.Selector // nil when the field is absent
	namespaces labels.Selector // nil when absent: then only the policy's own namespace
	block      *ipBlock
	src        networkingv1.NetworkPolicyPeer
}

type ipBlock struct {
	cidr   netip.Prefix
	except []netip.Prefix
}

type port struct {
	protocol corev1.Protocol
	any      bool // no port given: every port of the protocol
	number   int32
	end      int32 // last port of a range, 0 when not a range
	name     string
}

func dirIndex(d Direction) int {
	if d == Egress {
		return 1
	}
	return 0
}

// NewCluster compiles the objects. Namespaces that pods or policies name but
// that are missing from namespaces are synthesized with only their
// kubernetes.io/metadata.name label, which the API server always sets.
// A policy that cannot be compiled (a malformed selector, CIDR, port or
// peer, which the API server would have refused) is left out, and the
// returned error names each one; the Cluster is usable either way.
func NewCluster(namespaces []*corev1.Namespace, pods []*corev1.Pod, policies []*networkingv1.NetworkPolicy) (*Cluster, error) {
	c := &Cluster{
		namespaces:  make(map[string]labels.Set, len(namespaces)),
		pods:        make(map[Key]*pod, len(pods)),
		podsByNS:    make(map[string][]*pod),
		byNS:        make(map[string][]*policy),
		policyIndex: make(map[Key]*policy),
	}
	for _, ns := range namespaces {
		if ns == nil {
			continue
		}
		set := make(labels.Set, len(ns.Labels)+1)
		for k, v := range ns.Labels {
			set[k] = v
		}
		set[NamespaceNameLabel] = ns.Name
		c.namespaces[ns.Name] = set
	}
	for _, p := range pods {
		if p == nil {
			continue
		}
		c.ensureNamespace(p.Namespace)
		pp := &pod{key: Key{p.Namespace, p.Name}, labels: labels.Set(p.Labels), obj: p}
		if _, dup := c.pods[pp.key]; !dup {
			c.podsByNS[p.Namespace] = append(c.podsByNS[p.Namespace], pp)
		} else {
			for i, q := range c.podsByNS[p.Namespace] {
				if q.key == pp.key {
					c.podsByNS[p.Namespace][i] = pp
				}
			}
		}
		c.pods[pp.key] = pp
	}
	for _, list := range c.podsByNS {
		slices.SortFunc(list, func(a, b *pod) int { return strings.Compare(a.key.Name, b.key.Name) })
	}
	var errs []error
	for _, np := range policies {
		if np == nil {
			continue
		}
		c.ensureNamespace(np.Namespace)
		p, err := compilePolicy(np)
		if err != nil {
			errs = append(errs, &PolicyError{Policy: Key{np.Namespace, np.Name}, Err: err})
			continue
		}
		// A later duplicate replaces an earlier one, as re-applying would.
		c.policyIndex[p.key] = p
	}
	for _, p := range c.policyIndex {
		c.policies = append(c.policies, p)
	}
	slices.SortFunc(c.policies, func(a, b *policy) int { return compareKeys(a.key, b.key) })
	for _, p := range c.policies {
		c.byNS[p.key.Namespace] = append(c.byNS[p.key.Namespace], p)
	}
	for name := range c.namespaces {
		c.nsNames = append(c.nsNames, name)
	}
	slices.Sort(c.nsNames)
	return c, errors.Join(errs...)
}

// PolicyError says why a NetworkPolicy could not be compiled.
type PolicyError struct {
	Policy Key
	Err    error
}

// Error names the policy and the field at fault.
func (e *PolicyError) Error() string { return fmt.Sprintf("NetworkPolicy %s: %v", e.Policy, e.Err) }

// Unwrap returns the underlying error.
func (e *PolicyError) Unwrap() error { return e.Err }

func compareKeys(a, b Key) int {
	if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
		return c
	}
	return strings.Compare(a.Name, b.Name)
}

func (c *Cluster) ensureNamespace(name string) {
	if _, ok := c.namespaces[name]; !ok {
		c.namespaces[name] = labels.Set{NamespaceNameLabel: name}
	}
}

// Pods returns the keys of all pods, sorted by namespace then name.
func (c *Cluster) Pods() []Key {
	var out []Key
	for _, ns := range c.nsNames {
		for _, p := range c.podsByNS[ns] {
			out = append(out, p.key)
		}
	}
	return out
}

// PodsIn returns the keys of the pods in one namespace, sorted by name.
func (c *Cluster) PodsIn(namespace string) []Key {
	var out []Key
	for _, p := range c.podsByNS[namespace] {
		out = append(out, p.key)
	}
	return out
}

// HasPod reports whether the cluster holds the pod.
func (c *Cluster) HasPod(k Key) bool { _, ok := c.pods[k]; return ok }

// Pod returns the pod object, or nil when the cluster does not hold it.
func (c *Cluster) Pod(k Key) *corev1.Pod {
	if p := c.pods[k]; p != nil {
		return p.obj
	}
	return nil
}

// Policy returns the compiled policy's object, or nil when the cluster does
// not hold it (or it failed to compile).
func (c *Cluster) Policy(k Key) *networkingv1.NetworkPolicy {
	if p := c.policyIndex[k]; p != nil {
		return p.obj
	}
	return nil
}

func compilePolicy(np *networkingv1.NetworkPolicy) (*policy, error) {
	sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
	if err != nil {
		return nil, fmt.Errorf("spec.podSelector: %w", err)
	}
	p := &policy{key: Key{np.Namespace, np.Name}, obj: np, selector: sel}
	if len(np.Spec.PolicyTypes) == 0 {
		// The API server's defaulting: Ingress always, Egress only when rules are given.
		p.affects[0] = true
		p.affects[1] = len(np.Spec.Egress) > 0
	}
	for i, t := range np.Spec.PolicyTypes {
		switch t {
		case networkingv1.PolicyTypeIngress:
			p.affects[0] = true
		case networkingv1.PolicyTypeEgress:
			p.affects[1] = true
		default:
			return nil, fmt.Errorf("spec.policyTypes[%d]: unknown type %q (want Ingress or Egress)", i, t)
		}
	}
	for i, r := range np.Spec.Ingress {
		cr, err := compileRule(p, Ingress, i, r.From, r.Ports)
		if err != nil {
			return nil, err
		}
		p.rules[0] = append(p.rules[0], cr)
	}
	for i, r := range np.Spec.Egress {
		cr, err := compileRule(p, Egress, i, r.To, r.Ports)
		if err != nil {
			return nil, err
		}
		p.rules[1] = append(p.rules[1], cr)
	}
	return p, nil
}

func compileRule(p *policy, dir Direction, index int, peers []networkingv1.NetworkPolicyPeer, ports []networkingv1.NetworkPolicyPort) (rule, error) {
	field := "from"
	if dir == Egress {
		field = "to"
	}
	where := fmt.Sprintf("spec.%s[%d]", dir, index)
	r := rule{policy: p, dir: dir, index: index}
	for j, pe := range peers {
		cp, err := compilePeer(pe)
		if err != nil {
			return r, fmt.Errorf("%s.%s[%d]: %w", where, field, j, err)
		}
		r.peers = append(r.peers, cp)
	}
	for j, po := range ports {
		cp, err := compilePort(po)
		if err != nil {
			return r, fmt.Errorf("%s.ports[%d]: %w", where, j, err)
		}
		r.named = r.named || cp.name != ""
		r.ports = append(r.ports, cp)
	}
	return r, nil
}

func compilePeer(pe networkingv1.NetworkPolicyPeer) (peer, error) {
	out := peer{src: pe}
	if pe.IPBlock != nil {
		if pe.PodSelector != nil || pe.NamespaceSelector != nil {
			return out, errors.New("ipBlock cannot be combined with podSelector or namespaceSelector")
		}
		cidr, err := netip.ParsePrefix(pe.IPBlock.CIDR)
		if err != nil {
			return out, fmt.Errorf("ipBlock.cidr %q is not a CIDR", pe.IPBlock.CIDR)
		}
		b := &ipBlock{cidr: cidr.Masked()}
		for k, e := range pe.IPBlock.Except {
			ex, err := netip.ParsePrefix(e)
			if err != nil {
				return out, fmt.Errorf("ipBlock.except[%d] %q is not a CIDR", k, e)
			}
			b.except = append(b.except, ex.Masked())
		}
		out.block = b
		return out, nil
	}
	if pe.PodSelector == nil && pe.NamespaceSelector == nil {
		return out, errors.New("a peer needs podSelector, namespaceSelector or ipBlock")
	}
	var err error
	if pe.PodSelector != nil {
		if out.pods, err = metav1.LabelSelectorAsSelector(pe.PodSelector); err != nil {
			return out, fmt.Errorf("podSelector: %w", err)
		}
	}
	if pe.NamespaceSelector != nil {
		if out.namespaces, err = metav1.LabelSelectorAsSelector(pe.NamespaceSelector); err != nil {
			return out, fmt.Errorf("namespaceSelector: %w", err)
		}
	}
	return out, nil
}

func compilePort(po networkingv1.NetworkPolicyPort) (port, error) {
	out := port{protocol: corev1.ProtocolTCP}
	if po.Protocol != nil && *po.Protocol != "" {
		out.protocol = *po.Protocol
	}
	switch out.protocol {
	case corev1.ProtocolTCP, corev1.ProtocolUDP, corev1.ProtocolSCTP:
	default:
		return out, fmt.Errorf("protocol %q is not TCP, UDP or SCTP", out.protocol)
	}
	if po.Port == nil {
		if po.EndPort != nil {
			return out, errors.New("endPort needs port")
		}
		out.any = true
		return out, nil
	}
	if po.Port.Type == intstr.String {
		if po.EndPort != nil {
			return out, errors.New("endPort needs a numeric port")
		}
		if po.Port.StrVal == "" {
			return out, errors.New("port is empty")
		}
		out.name = po.Port.StrVal
		return out, nil
	}
	out.number = po.Port.IntVal
	if out.number < 1 || out.number > 65535 {
		return out, fmt.Errorf("port %d is outside 1-65535", out.number)
	}
	if po.EndPort != nil {
		out.end = *po.EndPort
		if out.end < out.number || out.end > 65535 {
			return out, fmt.Errorf("endPort %d must lie between port %d and 65535", out.end, out.number)
		}
	}
	return out, nil
}

// selects reports whether the policy selects the pod for the direction.
func (p *policy) selects(d Direction, x *pod) bool {
	return p.affects[dirIndex(d)] && x.key.Namespace == p.key.Namespace && p.selector.Matches(x.labels)
}

// isolating returns the policies that select the pod for the direction.
func (c *Cluster) isolating(d Direction, x *pod) []*policy {
	var out []*policy
	for _, p := range c.byNS[x.key.Namespace] {
		if p.selects(d, x) {
			out = append(out, p)
		}
	}
	return out
}

// matchesPod reports whether the peer admits the pod. ipBlock peers never
// do: pods are judged by identity, as the shared cases assume and as most
// CNIs treat pod traffic.
func (c *Cluster) peerMatchesPod(pe *peer, policyNS string, x *pod) bool {
	if pe.block != nil {
		return false
	}
	if pe.namespaces == nil {
		if x.key.Namespace != policyNS {
			return false
		}
	} else if !pe.namespaces.Matches(c.namespaces[x.key.Namespace]) {
		return false
	}
	return pe.pods == nil || pe.pods.Matches(x.labels)
}

func (b *ipBlock) contains(ip netip.Addr) bool {
	ip = ip.Unmap()
	if !b.cidr.Contains(ip) {
		return false
	}
	for _, e := range b.except {
		if e.Contains(ip) {
			return false
		}
	}
	return true
}

// admitsPort reports whether one port entry admits number/proto on the
// destination pod dst (nil for an address outside the cluster, where a
// named port cannot resolve).
func (po *port) admits(number int32, proto corev1.Protocol, dst *pod) bool {
	if po.protocol != proto {
		return false
	}
	switch {
	case po.any:
		return true
	case po.name != "":
		return dst != nil && namedPort(dst.obj, po.name, proto) == number
	case po.end != 0:
		return po.number <= number && number <= po.end
	default:
		return po.number == number
	}
}

// namedPort resolves a container port name on the pod, or returns 0.
func namedPort(p *corev1.Pod, name string, proto corev1.Protocol) int32 {
	for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for _, ct := range list {
			for _, cp := range ct.Ports {
				cpProto := cp.Protocol
				if cpProto == "" {
					cpProto = corev1.ProtocolTCP
				}
				if cp.Name == name && cpProto == proto {
					return cp.ContainerPort
				}
			}
		}
	}
	return 0
}

func (r *rule) admitsPort(number int32, proto corev1.Protocol, dst *pod) bool {
	if r.ports == nil {
		return true
	}
	for i := range r.ports {
		if r.ports[i].admits(number, proto, dst) {
			return true
		}
	}
	return false
}
