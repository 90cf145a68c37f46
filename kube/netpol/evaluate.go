package netpol

import (
	"fmt"
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Peer is one end of a connection: a pod in the cluster, or an address
// outside it. Exactly one of Pod and IP is set.
type Peer struct {
	Pod Key
	IP  netip.Addr
}

// PodPeer returns the peer for a pod.
func PodPeer(namespace, name string) Peer { return Peer{Pod: Key{namespace, name}} }

// IPPeer returns the peer for an address outside the cluster's pods.
func IPPeer(ip netip.Addr) Peer { return Peer{IP: ip} }

// IsPod reports whether the peer is a pod rather than an address.
func (p Peer) IsPod() bool { return p.Pod.Name != "" }

// String returns ns/pod or the address.
func (p Peer) String() string {
	if p.IsPod() {
		return p.Pod.String()
	}
	return p.IP.String()
}

// RuleRef names one rule of one policy.
type RuleRef struct {
	Policy    Key
	Direction Direction
	Index     int // position in spec.ingress or spec.egress
}

// String returns e.g. "ns/name ingress[0]".
func (r RuleRef) String() string {
	return fmt.Sprintf("%s %s[%d]", r.Policy, r.Direction, r.Index)
}

// Side is the verdict of one direction: the source pod's egress or the
// destination pod's ingress.
type Side struct {
	Direction Direction
	// Judged is false when this end is an address outside the cluster, whose
	// policies are not ours to know; such a side always allows.
	Judged bool
	// Isolated is true when some policy selects the pod for this direction.
	Isolated bool
	Allowed  bool
	// By is the first rule (in namespace/name, then rule order) that admits
	// the connection; nil when the pod is not isolated or nothing admits it.
	By *RuleRef
	// Isolating lists the policies that select the pod for this direction.
	Isolating []Key
	Reason    string
}

// Verdict is whether a connection is allowed, and why.
type Verdict struct {
	Allowed bool
	// Reason is one or two sentences: the denying side first when denied.
	Reason  string
	Egress  Side // the source's side
	Ingress Side // the destination's side
}

// Evaluate judges a new connection from one peer to another on a port: it is
// allowed only when the source's egress and the destination's ingress both
// allow it. A pod selected by no policy for a direction is open in that
// direction; policies add up; a pod always reaches itself. proto defaults to
// TCP. It fails only when a pod is unknown, both peers are addresses, or the
// port is out of range.
func (c *Cluster) Evaluate(from, to Peer, portNum int32, proto corev1.Protocol) (Verdict, error) {
	if proto == "" {
		proto = corev1.ProtocolTCP
	}
	if portNum < 1 || portNum > 65535 {
		return Verdict{}, fmt.Errorf("port %d is outside 1-65535", portNum)
	}
	src, err := c.resolve(from)
	if err != nil {
		return Verdict{}, err
	}
	dst, err := c.resolve(to)
	if err != nil {
		return Verdict{}, err
	}
	if src == nil && dst == nil {
		return Verdict{}, fmt.Errorf("%s and %s are both outside the cluster; one end must be a pod", from, to)
	}
	if src != nil && src == dst {
		why := fmt.Sprintf("%s reaches itself over loopback, which NetworkPolicy never blocks", src.key)
		s := Side{Allowed: true, Reason: why}
		eg, in := s, s
		eg.Direction, in.Direction = Egress, Ingress
		return Verdict{Allowed: true, Reason: why, Egress: eg, Ingress: in}, nil
	}
	q := query{from: from, to: to, src: src, dst: dst, port: portNum, proto: proto}
	v := Verdict{Egress: c.side(Egress, q), Ingress: c.side(Ingress, q)}
	v.Allowed = v.Egress.Allowed && v.Ingress.Allowed
	// Name the denying sides when denied, both judged sides when allowed; an
	// address's side says nothing worth reading.
	var parts []string
	for _, s := range []Side{v.Egress, v.Ingress} {
		if s.Judged && (v.Allowed || !s.Allowed) {
			parts = append(parts, s.Reason)
		}
	}
	v.Reason = strings.Join(parts, "; ")
	return v, nil
}

type query struct {
	from, to Peer
	src, dst *pod // nil for an address
	port     int32
	proto    corev1.Protocol
}

func (q query) what() string { return fmt.Sprintf("%d/%s", q.port, q.proto) }

func (c *Cluster) resolve(p Peer) (*pod, error) {
	if p.IsPod() {
		x := c.pods[p.Pod]
		if x == nil {
			return nil, fmt.Errorf("no pod %s", p.Pod)
		}
		return x, nil
	}
	if !p.IP.IsValid() {
		return nil, fmt.Errorf("a peer needs a pod or an IP address")
	}
	return nil, nil
}

func (c *Cluster) side(d Direction, q query) Side {
	s := Side{Direction: d}
	subject, remote, remotePeer := q.dst, q.src, q.from
	if d == Egress {
		subject, remote, remotePeer = q.src, q.dst, q.to
	}
	if subject == nil {
		s.Allowed = true
		s.Reason = fmt.Sprintf("%s is outside the cluster, so only the pod's side is judged", remotePeerString(d, q))
		return s
	}
	s.Judged = true
	pols := c.isolating(d, subject)
	if len(pols) == 0 {
		s.Allowed = true
		s.Reason = fmt.Sprintf("%s allowed: no NetworkPolicy selects %s for %s", d, subject.key, d)
		return s
	}
	s.Isolated = true
	for _, p := range pols {
		s.Isolating = append(s.Isolating, p.key)
	}
	for _, p := range pols {
		for i := range p.rules[dirIndex(d)] {
			r := &p.rules[dirIndex(d)][i]
			if r.admits(c, remote, remotePeer.IP, q.port, q.proto, q.dst) {
				s.Allowed = true
				s.By = &RuleRef{Policy: p.key, Direction: d, Index: r.index}
				s.Reason = fmt.Sprintf("%s allowed by NetworkPolicy %s rule %s[%d]", d, p.key, d, r.index)
				return s
			}
		}
	}
	names := make([]string, len(pols))
	for i, p := range pols {
		names[i] = p.key.String()
	}
	s.Reason = fmt.Sprintf("%s denied: %s is isolated for %s by NetworkPolicy %s and no rule admits %s on %s",
		d, subject.key, d, strings.Join(names, ", "), remotePeer, q.what())
	return s
}

// denier returns the first policy isolating subject for the direction
// when no rule admits the connection, or nil when it is allowed. It is
// side without the words, for checks that ask it many times.
func (c *Cluster) denier(d Direction, subject, remote *pod, ip netip.Addr, portNum int32, proto corev1.Protocol, dst *pod) *policy {
	var first *policy
	for _, p := range c.byNS[subject.key.Namespace] {
		if !p.selects(d, subject) {
			continue
		}
		if first == nil {
			first = p
		}
		for i := range p.rules[dirIndex(d)] {
			if p.rules[dirIndex(d)][i].admits(c, remote, ip, portNum, proto, dst) {
				return nil
			}
		}
	}
	return first
}

func remotePeerString(d Direction, q query) string {
	if d == Egress {
		return q.from.String()
	}
	return q.to.String()
}

// admits reports whether the rule admits the remote end (a pod, or ip when
// remote is nil) on the port, where dst is the destination pod that named
// ports resolve on.
func (r *rule) admits(c *Cluster, remote *pod, ip netip.Addr, portNum int32, proto corev1.Protocol, dst *pod) bool {
	if !r.admitsPort(portNum, proto, dst) {
		return false
	}
	if r.peers == nil {
		return true
	}
	for i := range r.peers {
		pe := &r.peers[i]
		if remote != nil {
			if c.peerMatchesPod(pe, r.policy.key.Namespace, remote) {
				return true
			}
		} else if pe.block != nil && pe.block.contains(ip) {
			return true
		}
	}
	return false
}
