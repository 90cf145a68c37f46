package ambient_test

import (
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// Namespace-wide policies of one namespace reach the same pods, and the
// root namespace's reach every pod; those counts are made once per
// namespace and kind of count, so policies must still be told apart where
// Istio tells them apart: an AuthorizationPolicy applies to a classic
// gateway's Envoy, a PeerAuthentication counts it as any other pod.
func TestNamespaceWidePoliciesCountTheirOwnPods(t *testing.T) {
	empty := func(p *secv1.AuthorizationPolicy) { p.Spec.Selector = &typev1beta1.WorkloadSelector{} }
	c := policyCluster(authz("istio-system", "mesh-1"), authz("istio-system", "mesh-2"), authz("shop", "ns-1"), authz("shop", "ns-2", empty))
	c.Pods = append(c.Pods, pod("istio-system", "istio-ingressgateway-0", labels("istio=ingressgateway", "sidecar.istio.io/inject=false"), router))
	c.PeerAuthentications = append(c.PeerAuthentications, peerAuthn("istio-system", "mesh-pa", secv1beta1.PeerAuthentication_MutualTLS_STRICT, 0))
	a := ambient.Analyze(c)
	counts := func(kind, ns, name string) [6]int {
		p := policyOf(t, a, kind, key(ns, name))
		return [6]int{p.SelectedAmbient, p.SelectedUncaptured, p.SelectedSidecar, p.SelectedGateway, p.SelectedOther, p.SelectedAmbient + p.SelectedUncaptured + p.SelectedSidecar + p.SelectedGateway + p.SelectedOther}
	}
	mesh := counts(ambient.KindAuthorizationPolicy, "istio-system", "mesh-1")
	if mesh != counts(ambient.KindAuthorizationPolicy, "istio-system", "mesh-2") {
		t.Errorf("two mesh-wide AuthorizationPolicies count %v and %v", mesh, counts(ambient.KindAuthorizationPolicy, "istio-system", "mesh-2"))
	}
	if mesh[3] != 1 {
		t.Errorf("mesh-wide AuthorizationPolicy counts %d gateway pods, want the classic gateway: %v", mesh[3], mesh)
	}
	pa := counts(ambient.KindPeerAuthentication, "istio-system", "mesh-pa")
	if pa[3] != 0 || pa[5] != mesh[5] || pa[0] != mesh[0] {
		t.Errorf("mesh-wide PeerAuthentication counts %v, want the AuthorizationPolicy's pods %v with no gateway among them", pa, mesh)
	}
	ns := counts(ambient.KindAuthorizationPolicy, "shop", "ns-1")
	if ns != counts(ambient.KindAuthorizationPolicy, "shop", "ns-2") || ns[5] == 0 || ns[5] >= mesh[5] {
		t.Errorf("namespace-wide %v, with an empty selector %v, mesh-wide %v: want the same shop pods twice, fewer than the mesh's",
			ns, counts(ambient.KindAuthorizationPolicy, "shop", "ns-2"), mesh)
	}
}
