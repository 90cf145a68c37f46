package ambient

import (
	"fmt"
	"sort"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// mtlsMode is a PeerAuthentication mode as ambient applies it.
type mtlsMode = secv1beta1.PeerAuthentication_MutualTLS_Mode

const (
	modeUnset      = secv1beta1.PeerAuthentication_MutualTLS_UNSET
	modeStrict     = secv1beta1.PeerAuthentication_MutualTLS_STRICT
	modePermissive = secv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE
	modeDisable    = secv1beta1.PeerAuthentication_MutualTLS_DISABLE
)

func paMode(p *secv1.PeerAuthentication) mtlsMode {
	if p == nil {
		return modeUnset
	}
	return p.Spec.GetMtls().GetMode()
}

// mtlsPolicies are the PeerAuthentications that can apply to a pod: the
// oldest mesh-wide one, the oldest namespace-wide one of its namespace, and
// the oldest workload one selecting it (convertedSelectorPeerAuthentications).
type mtlsPolicies struct{ mesh, namespace, workload *secv1.PeerAuthentication }

// MTLS is a pod's effective PeerAuthentication outcome in ambient.
type MTLS struct {
	// Strict: ztunnel rejects connections without a peer identity
	// (istio_converted_static_strict, or the workload's converted policy).
	Strict bool
	// By is the PeerAuthentication that decided, "" for the default.
	By Key
	// Ports are port-level exceptions honoured, as "8080 PERMISSIVE".
	Ports []string
}

// String is e.g. "STRICT (istio-system/default)".
func (m MTLS) String() string {
	s := "PERMISSIVE"
	if m.Strict {
		s = "STRICT"
	}
	if m.By.Name != "" {
		s += " (" + m.By.String() + ")"
	}
	return s
}

// effectiveMTLS follows convertedSelectorPeerAuthentications: mesh, then
// namespace unless UNSET, then the workload policy; DISABLE acts as
// PERMISSIVE. Port-level exceptions apply only from the workload policy:
// under its own STRICT any non-STRICT port is honoured, under an inherited
// STRICT with the workload mode UNSET only PERMISSIVE ports are.
func effectiveMTLS(ps mtlsPolicies) MTLS {
	var m MTLS
	if ps.mesh != nil {
		m.Strict, m.By = paMode(ps.mesh) == modeStrict, keyOf(ps.mesh)
	}
	if ps.namespace != nil && paMode(ps.namespace) != modeUnset {
		m.Strict, m.By = paMode(ps.namespace) == modeStrict, keyOf(ps.namespace)
	}
	w := ps.workload
	if w == nil {
		return m
	}
	switch paMode(w) {
	case modeStrict:
		m.Strict, m.By = true, keyOf(w)
	case modePermissive, modeDisable:
		m.Strict, m.By = false, keyOf(w)
	}
	if m.Strict {
		own := paMode(w) == modeStrict
		for _, port := range sortedPorts(w.Spec.GetPortLevelMtls()) {
			pm := w.Spec.GetPortLevelMtls()[port].GetMode()
			if pm == modePermissive || (own && pm == modeDisable) {
				m.Ports = append(m.Ports, fmt.Sprintf("%d %s", port, pm))
			}
		}
	}
	return m
}

func sortedPorts(m map[uint32]*secv1beta1.PeerAuthentication_MutualTLS) []uint32 {
	out := make([]uint32, 0, len(m))
	for p := range m {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func keyOf(p *secv1.PeerAuthentication) Key { return Key{p.Namespace, p.Name} }

// peerIndex holds the PeerAuthentications by level, oldest first wins.
type peerIndex struct {
	mesh     *secv1.PeerAuthentication
	byNS     map[string]*secv1.PeerAuthentication   // namespace-wide, oldest
	workload map[string][]*secv1.PeerAuthentication // selector policies, oldest first
}

func newPeerIndex(root string, ps []*secv1.PeerAuthentication) peerIndex {
	ix := peerIndex{byNS: map[string]*secv1.PeerAuthentication{}, workload: map[string][]*secv1.PeerAuthentication{}}
	for _, p := range ps {
		if p == nil {
			continue
		}
		if len(p.Spec.GetSelector().GetMatchLabels()) == 0 {
			if p.Namespace == root {
				if ix.mesh == nil || p.CreationTimestamp.Before(&ix.mesh.CreationTimestamp) {
					ix.mesh = p
				}
				continue
			}
			if cur := ix.byNS[p.Namespace]; cur == nil || p.CreationTimestamp.Before(&cur.CreationTimestamp) {
				ix.byNS[p.Namespace] = p
			}
			continue
		}
		if p.Namespace != root {
			ix.workload[p.Namespace] = append(ix.workload[p.Namespace], p)
		}
	}
	for _, list := range ix.workload {
		sort.SliceStable(list, func(i, j int) bool { return list[i].CreationTimestamp.Before(&list[j].CreationTimestamp) })
	}
	return ix
}

// forPod returns the policies that apply to a pod.
func (pi peerIndex) forPod(ns string, l map[string]string) mtlsPolicies {
	ps := mtlsPolicies{mesh: pi.mesh, namespace: pi.byNS[ns]}
	for _, w := range pi.workload[ns] {
		if labels.SelectorFromSet(w.Spec.GetSelector().GetMatchLabels()).Matches(labels.Set(l)) {
			ps.workload = w
			break
		}
	}
	return ps
}

// inherited is what a pod's mode would be without p: the level above p.
func (ps mtlsPolicies) without(p *secv1.PeerAuthentication) mtlsPolicies {
	switch p {
	case ps.workload:
		ps.workload = nil
	case ps.namespace:
		ps.namespace = nil
	case ps.mesh:
		ps.mesh = nil
	}
	return ps
}
