package reach

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/manifest"
	"github.com/ambx/ambx/kube/netpol"
)

// judge answers one query with what the mesh does to the connection.
type judge struct {
	c    *netpol.Cluster
	mesh *ambient.Analysis
	set  *manifest.Set
	// intended is set for manifests: their pods are what should run, so a
	// Service's selected pods all count as ready endpoints.
	intended bool
}

// client is how a source pod sends: through its ztunnel, through its
// sidecar, or plainly.
type client int

const (
	plainClient    client = iota
	ztunnelClient         // captured: ztunnel sends HBONE and uses waypoints
	sidecarClient         // sidecar: HBONE to HBONE endpoints, never through waypoints
	gatewayClient         // ingress gateway (Gateway API or classic): like a sidecar, but to a Service's waypoint with ingress-use-waypoint
	eastWestClient        // east-west gateway: to a Service's bound waypoint always, HBONE to the pod otherwise
)

// proxyTunnels reports whether a sidecar sends HBONE to the destination
// pod, as the installed istiod configures it (netpol.ProxyTunnels); when
// not, it connects to the app port like a client outside the mesh, and
// why says so.
func (j judge) proxyTunnels(to netpol.Peer, dst ambient.PodInfo) (ok bool, why string) {
	if dst.Protocol != "HBONE" || !to.IsPod() {
		return false, ""
	}
	var in install.Info
	if j.set != nil {
		in = j.set.Install
	}
	send := netpol.ProxyHBONE{Off: !in.Switch(install.EnvSendingHBONE), Prefer: in.Switch(install.EnvPreferSendingHBONE)}
	var labels map[string]string
	if p := j.c.Pod(to.Pod); p != nil {
		labels = p.Labels
	}
	if netpol.ProxyTunnels(true, labels, send) {
		return true, ""
	}
	if send.Off {
		return false, fmt.Sprintf("sent by the sidecar to the app port, not as HBONE (istiod's %s is off)", install.EnvSendingHBONE)
	}
	return false, fmt.Sprintf("sent by the sidecar as Istio mTLS to the app port: %s takes it, and istiod prefers it to HBONE (%s is off)", to, install.EnvPreferSendingHBONE)
}

func (j judge) info(p netpol.Peer) (ambient.PodInfo, bool) {
	if !p.IsPod() || j.mesh == nil {
		return ambient.PodInfo{}, false
	}
	i, ok := j.mesh.Pods[ambient.Key{Namespace: p.Pod.Namespace, Name: p.Pod.Name}]
	return i, ok
}

// query judges from → to on port. Both captured (or a sidecar to a
// captured pod): the connection the policies see is HBONE to 15008 of the
// destination, or of the waypoint in front of it and from there to the
// destination. A captured pod to one outside the mesh, or anything from
// outside the mesh: ztunnel delivers (or receives) it plainly on the port,
// from the source pod's own address.
func (j judge) query(from, to netpol.Peer, port int32, proto corev1.Protocol) (Result, error) {
	r := Result{From: from.String(), To: to.String(), Port: port, Protocol: proto}
	src, _ := j.info(from)
	dst, _ := j.info(to)
	kind := plainClient
	switch src.State {
	case ambient.PodCaptured, ambient.PodPending:
		kind = ztunnelClient
	case ambient.PodSidecar:
		kind = sidecarClient
	}
	for _, p := range []struct {
		peer netpol.Peer
		info ambient.PodInfo
	}{{from, src}, {to, dst}} {
		if p.info.State == ambient.PodPending {
			r.Reason = fmt.Sprintf("%s is pending in the mesh: istio-cni redirected it but no ztunnel accepted it, so it can neither send nor receive", p.peer)
			return r, nil
		}
	}
	hbone := dst.Protocol == "HBONE" && proto == corev1.ProtocolTCP && kind != plainClient && from != to
	plain := ""
	if hbone && kind == sidecarClient {
		hbone, plain = j.proxyTunnels(to, dst)
	}
	if !hbone {
		v, err := j.c.Evaluate(from, to, port, proto)
		if err != nil {
			return r, err
		}
		r.Allowed, r.Reason = v.Allowed, v.Reason
		if plain != "" {
			r.Reason = plain + "; " + v.Reason
		}
		return r, nil
	}
	r.Carried, r.CarriedPort = "HBONE", netpol.HBONEPort
	carried := fmt.Sprintf("carried as HBONE: %d → %d", port, netpol.HBONEPort)
	if kind == ztunnelClient && dst.Waypoint.Bound() {
		return j.throughWaypoint(r, from, to, dst.Waypoint.Waypoint, carried)
	}
	v, err := j.c.Evaluate(from, to, netpol.HBONEPort, corev1.ProtocolTCP)
	if err != nil {
		return r, err
	}
	r.Allowed, r.Reason = v.Allowed, carried+"; "+v.Reason
	return r, nil
}

// throughWaypoint judges source → each waypoint pod and each waypoint pod
// → destination, all on 15008: ztunnel picks any of the waypoint's pods,
// so one blocked pod breaks a share of the connections.
func (j judge) throughWaypoint(r Result, from, to netpol.Peer, wp ambient.Key, carried string) (Result, error) {
	r.Waypoint = wp.String()
	return j.viaWaypoint(r, from, to, wp, carried+" through waypoint "+wp.String(), netpol.HBONEPort, corev1.ProtocolTCP)
}

// viaWaypoint judges from → each of the waypoint's pods on 15008 and each
// pod → to on last: one blocked pod breaks a share of the connections.
// path is the reason's start, the way the connection is carried.
func (j judge) viaWaypoint(r Result, from, to netpol.Peer, wp ambient.Key, path string, last int32, lastProto corev1.Protocol) (Result, error) {
	var wpPods []netpol.Key
	for _, k := range j.c.PodsIn(wp.Namespace) {
		if j.c.Pod(k).Labels[ambient.LabelGatewayName] == wp.Name {
			wpPods = append(wpPods, k)
		}
	}
	if len(wpPods) == 0 {
		r.Reason = path + "; the waypoint has no pods, so nothing can carry the connection"
		return r, nil
	}
	r.Allowed = true
	var denied []string
	for _, w := range wpPods {
		wpeer := netpol.Peer{Pod: w}
		for _, leg := range []struct {
			from, to netpol.Peer
			port     int32
			proto    corev1.Protocol
		}{{from, wpeer, netpol.HBONEPort, corev1.ProtocolTCP}, {wpeer, to, last, lastProto}} {
			v, err := j.c.Evaluate(leg.from, leg.to, leg.port, leg.proto)
			if err != nil {
				return r, err
			}
			r.Hops = append(r.Hops, Hop{From: leg.from.String(), To: leg.to.String(), Port: leg.port, Allowed: v.Allowed, Reason: v.Reason})
			if !v.Allowed {
				r.Allowed = false
				denied = append(denied, fmt.Sprintf("%s -> %s: %s", leg.from, leg.to, v.Reason))
			}
		}
	}
	if r.Allowed {
		r.Reason = fmt.Sprintf("%s; all %d hops allowed (%s)", path, len(r.Hops), hopList(r.Hops))
	} else {
		r.Reason = path + "; " + strings.Join(denied, "; ")
	}
	return r, nil
}

func hopList(hs []Hop) string {
	s := make([]string, len(hs))
	for i, h := range hs {
		s[i] = h.From + " -> " + h.To
	}
	return strings.Join(s, ", ")
}
