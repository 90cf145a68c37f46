package kube_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/kubeenv"
)

// TestIstiodAgreesOnIngressGatewayPolicies: an AuthorizationPolicy whose
// targetRef is an ingress Gateway (class istio) runs on that gateway's own
// Envoy, HTTP rules included. istiod (release-1.31,
// pilot/pkg/serviceregistry/ambient/policies.go WaypointPolicyStatusCollection)
// judges a Gateway targetRef by its Waypoints collection, which holds every
// Gateway with status.addresses whatever its class, so it writes
// WaypointAccepted=True "bound to <ns>/<name>" for an addressed ingress
// Gateway and WaypointAccepted=False TargetNotFound "not bound" for a Gateway
// that does not exist. ambx must agree with both, and say the gateway
// enforces the first (not "enforced by nothing", not "needs a waypoint").
func TestIstiodAgreesOnIngressGatewayPolicies(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Istiod: true})
	env.CreateNode(t, "node-a", nil)
	const ns = "ing"
	f := &bindingFixture{}
	f.ns(ns, nil)
	// No cloud provider gives a LoadBalancer an address here; a ClusterIP
	// Service does get one, and with it istiod's status.addresses.
	public := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "public",
			Annotations: map[string]string{"networking.istio.io/service-type": "ClusterIP"}},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners:        []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType}},
		},
	}
	// Left a LoadBalancer, this one never gets an address, but istiod
	// still deploys it and its pods run.
	pending := public.DeepCopy()
	pending.Name, pending.Annotations = "pending", nil
	f.gateways = append(f.gateways, public, pending)
	l7 := []*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{{Operation: &secv1beta1.Operation{Methods: []string{"GET"}, Paths: []string{"/api/*"}}}}}}
	gwRef := func(name string) []*typev1beta1.PolicyTargetReference {
		return []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "Gateway", name)}
	}
	policy := func(name string, p *secv1.AuthorizationPolicy, want kubeenv.StatusWant, check func(*kube.Snapshot, ambient.PolicyInfo) string) {
		f.policy(name, p, want, "", nil)
		f.cases[len(f.cases)-1].check = func(s *kube.Snapshot) string {
			pi, ok := s.Mesh.Policy(ambient.KindAuthorizationPolicy, ambient.Key{Namespace: p.Namespace, Name: p.Name})
			if !ok {
				return "ambx has no analysis of it"
			}
			return check(s, pi)
		}
	}
	policy("targetRef to an ingress Gateway: its own Envoy enforces it, HTTP rules included",
		authz(ns, "to-ingress", &secv1beta1.AuthorizationPolicy{TargetRefs: gwRef("public"), Rules: l7}),
		atWaypoint("True", "Accepted"), ingressEnforced(ns+"/public"))
	policy("targetRef to a Gateway that does not exist",
		authz(ns, "to-ghost", &secv1beta1.AuthorizationPolicy{TargetRefs: gwRef("ghost"), Rules: l7}),
		atWaypoint("False", "TargetNotFound"), notEnforced("Gateway "+ns+"/ghost was not found"))
	policy("targetRef to an ingress Gateway whose LoadBalancer has no address: its pods enforce it all the same",
		authz(ns, "to-pending", &secv1beta1.AuthorizationPolicy{TargetRefs: gwRef("pending"), Rules: l7}),
		atWaypoint("False", "TargetNotFound"), ingressEnforced(ns+"/pending"))
	f.cases[len(f.cases)-1].quirk = "istiod's status counts only Gateways with status.addresses, but an ingress gateway's pods take a targetRef to it by their gateway-name label (ShouldAttachPolicy), address or not"
	createFixture(t, env, f)

	programmed := kubeenv.StatusWant{Kind: kubeenv.KindGateway, Namespace: ns, Name: "public",
		Type: string(gwv1.GatewayConditionProgrammed), Status: "True"}
	wants := []kubeenv.StatusWant{programmed}
	for _, c := range f.cases {
		wants = append(wants, c.want)
	}
	started := time.Now()
	statuses := env.WaitIstioStatus(t, istiodTimeout, wants...)
	t.Logf("istiod wrote the %d expected conditions after %s", len(wants), time.Since(started).Round(time.Millisecond))
	if st := statuses[programmed.Key()]; st.Addresses == 0 {
		t.Fatalf("istiod programmed ingress Gateway %s/public without status.addresses", ns)
	}
	for _, c := range f.cases {
		st := statuses[c.want.Key()]
		if cond, ok := st.Condition("ZtunnelAccepted"); ok {
			t.Errorf("%s: istiod wrote %s on a targetRefs policy, which it never sends to ztunnel", c.want.Key(), describe(cond, true))
		}
		cond, _ := st.Condition("WaypointAccepted")
		t.Logf("istiod on %s: %s", c.want.Key(), describe(cond, true))
	}
	// The ingress Gateway is not a waypoint: wait on the policies only,
	// and for a settled snapshot, the first whose policy checks ran.
	delete(statuses, programmed.Key())
	s := watch(t, env.Kubeconfig).await(t, 90*time.Second, func(s *kube.Snapshot) string {
		if !s.Settled() {
			return "snapshot not settled yet"
		}
		if !slices.ContainsFunc(s.Pods, func(p *corev1.Pod) bool {
			return p.Namespace == ns && p.Labels[ambient.LabelGatewayName] == "pending" && p.Status.PodIP != ""
		}) {
			return "no running pod of ingress Gateway " + ns + "/pending yet"
		}
		for _, c := range f.cases {
			pi, _ := s.Mesh.Policy(ambient.KindAuthorizationPolicy, ambient.Key{Namespace: c.want.Namespace, Name: c.want.Name})
			for _, cond := range statuses[c.want.Key()].Conditions {
				if want := conditionText(cond); !slices.Contains(pi.Conditions, want) {
					return fmt.Sprintf("%s: snapshot has %q, istiod wrote %q", c.want.Key(), pi.Conditions, want)
				}
			}
		}
		return ""
	})
	for _, c := range f.cases {
		t.Run(c.name, func(t *testing.T) { compareCase(t, s, statuses, c) })
	}
}

// ingressEnforced: the policy runs on the named ingress Gateway's pods,
// with its HTTP rules, and ambx raises no finding on it.
func ingressEnforced(gw string) func(s *kube.Snapshot, pi ambient.PolicyInfo) string {
	return func(s *kube.Snapshot, pi ambient.PolicyInfo) string {
		switch {
		case pi.EnforcedBy != ambient.EnforcedByGateway:
			return fmt.Sprintf("ambx says %s enforces it (%s), want the ingress gateway", pi.EnforcedBy, pi.Effect)
		case !slices.Equal(pi.BoundTo, []string{gw}):
			return fmt.Sprintf("ambx binds it to %v, want [%s]", pi.BoundTo, gw)
		case pi.Layer != ambient.L7:
			return fmt.Sprintf("ambx says its rules are %s, want L7", pi.Layer)
		case strings.Contains(pi.Effect, "Not enforced") || strings.Contains(pi.Effect, "waypoint"):
			return fmt.Sprintf("ambx's effect is %q", pi.Effect)
		}
		if f := policyFindings(s, pi); len(f) > 0 {
			return fmt.Sprintf("ambx reports %v on it", f)
		}
		return ""
	}
}

// notEnforced: nothing enforces the policy, for the reason given, and ambx
// reports that as an error.
func notEnforced(why string) func(s *kube.Snapshot, pi ambient.PolicyInfo) string {
	return func(s *kube.Snapshot, pi ambient.PolicyInfo) string {
		switch {
		case len(pi.BoundTo) > 0:
			return fmt.Sprintf("ambx binds it to %v", pi.BoundTo)
		case !strings.Contains(pi.Effect, "Not enforced anywhere") || !strings.Contains(pi.Effect, why):
			return fmt.Sprintf("ambx's effect is %q, want it not enforced because %s", pi.Effect, why)
		}
		if f := policyFindings(s, pi); !slices.Contains(f, "policy-target-unbound") {
			return fmt.Sprintf("ambx reports %v on it, want policy-target-unbound", f)
		}
		return ""
	}
}

func policyFindings(s *kube.Snapshot, pi ambient.PolicyInfo) []string {
	var codes []string
	for _, f := range s.Findings {
		if f.Object.Kind == pi.Kind && f.Object.Namespace == pi.Key.Namespace && f.Object.Name == pi.Key.Name {
			codes = append(codes, f.Code)
		}
	}
	return codes
}
