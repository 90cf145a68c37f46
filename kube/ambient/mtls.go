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

// effectiveMTLS follows what istiod sends ztunnel for a pod, the same in
// every release from 1.24: convertedSelectorPeerAuthentications picks the
// mesh, then the namespace (unless UNSET), then the workload mode, DISABLE
// acting as PERMISSIVE; with portLevelMtls it references the workload's
// converted DENY policy instead of the static STRICT one, and
// convertPeerAuthentication decides what that policy holds. Their
// conditions disagree in corners, and ambx follows them as written:
//   - a port-level DISABLE under a workload UNSET counts only beside a
//     port-level PERMISSIVE (only PERMISSIVE makes istiod reference the
//     converted policy);
//   - under a namespace UNSET and a mesh STRICT, a workload UNSET with a
//     port-level PERMISSIVE drops STRICT on every port (the converted
//     policy comes out empty and the static one is no longer referenced);
//   - a port-level STRICT under a workload PERMISSIVE or DISABLE is lost
//     when the namespace has no mode and the mesh is STRICT.
//
// Ports lists the honoured exceptions to Strict: "8080 PERMISSIVE" when
// Strict, "9090 STRICT" when not.
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
	own := paMode(w)
	inherited := m.Strict
	switch own {
	case modeStrict:
		m.Strict, m.By = true, keyOf(w)
	case modePermissive, modeDisable:
		m.Strict, m.By = false, keyOf(w)
	}
	levels := w.Spec.GetPortLevelMtls()
	if len(levels) == 0 {
		return m
	}
	has := func(modes ...mtlsMode) bool {
		for _, l := range levels {
			for _, md := range modes {
				if l.GetMode() == md {
					return true
				}
			}
		}
		return false
	}
	// Does the pod reference the converted policy, and the static STRICT?
	var referenced bool
	switch own {
	case modeStrict:
		referenced = has(modePermissive, modeDisable)
	case modePermissive, modeDisable:
		referenced = has(modeStrict)
	default:
		if inherited {
			referenced = has(modePermissive)
		} else {
			referenced = has(modeStrict)
		}
	}
	if !referenced {
		return m
	}
	// What the converted policy denies (convertPeerAuthentication).
	ns, mesh := ps.namespace, ps.mesh
	nsStrict := ns != nil && paMode(ns) == modeStrict
	nsNone := ns == nil || paMode(ns) == modeUnset
	meshStrict := mesh != nil && paMode(mesh) == modeStrict
	var exempt, strictPorts []string
	for _, port := range sortedPorts(levels) {
		switch pm := levels[port].GetMode(); pm {
		case modeStrict:
			if own == modeStrict || (own == modeUnset && nsStrict) || (nsNone && meshStrict) {
				continue // istiod leaves it to the parent policy
			}
			strictPorts = append(strictPorts, fmt.Sprintf("%d %s", port, pm))
		case modePermissive, modeDisable:
			if own == modePermissive || own == modeDisable {
				continue
			}
			if own == modeUnset && ((ns != nil && !nsStrict) || (ns == nil && !meshStrict)) {
				continue
			}
			exempt = append(exempt, fmt.Sprintf("%d %s", port, pm))
		}
	}
	merge := (meshStrict && (nsNone || nsStrict)) || nsStrict
	switch {
	case own == modeStrict:
		m.Strict, m.Ports = true, exempt
	case merge && len(exempt) > 0:
		// The inherited STRICT, merged into the converted policy.
		m.Strict, m.Ports = true, exempt
	default:
		// The static STRICT is no longer referenced; only STRICT ports
		// are, if any survived.
		m.Strict, m.Ports, m.By = false, strictPorts, keyOf(w)
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
