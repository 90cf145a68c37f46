package ambient_test

import (
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// TestAuthorize: ztunnel's L4 verdict on a connection to shop/ratings, by
// the policies as istiod translates them and ztunnel evaluates them
// (reference §2.1, §2.3), with the port unknown.
func TestAuthorize(t *testing.T) {
	const shopClient = "spiffe://cluster.local/ns/shop/sa/client"
	const evil = "spiffe://cluster.local/ns/evil/sa/x"
	deny := action(secv1beta1.AuthorizationPolicy_DENY)
	for _, tc := range []struct {
		name   string
		aps    []*secv1.AuthorizationPolicy
		src    string
		dst    string
		want   ambient.AuthzOutcome
		by     string
		reason string
	}{
		{"no policy", nil, shopClient, "ratings", ambient.AuthzAllowed, "", ""},
		{"allow by namespace", []*secv1.AuthorizationPolicy{authz("shop", "same-ns", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}}))},
			shopClient, "ratings", ambient.AuthzAllowed, "shop/same-ns", ""},
		{"allow by namespace, other caller", []*secv1.AuthorizationPolicy{authz("shop", "same-ns", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}}))},
			evil, "ratings", ambient.AuthzDenied, "", "allow policies exist, but none allowed"},
		{"allow selects another pod", []*secv1.AuthorizationPolicy{authz("shop", "reviews-only", selector("app=reviews"), rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}}))},
			evil, "ratings", ambient.AuthzAllowed, "", ""},
		{"deny by principal prefix", []*secv1.AuthorizationPolicy{authz("shop", "no-evil", deny, rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Principals: []string{"cluster.local/ns/evil/*"}})}}))},
			evil, "ratings", ambient.AuthzDenied, "shop/no-evil", "explicitly denied by: shop/no-evil"},
		{"mesh-wide deny in the root namespace", []*secv1.AuthorizationPolicy{authz("istio-system", "no-evil", deny, rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{NotNamespaces: []string{"shop"}})}}))},
			evil, "ratings", ambient.AuthzDenied, "istio-system/no-evil", "explicitly denied by: istio-system/no-evil"},
		{"allow with HTTP rule allows nothing", []*secv1.AuthorizationPolicy{authz("shop", "get-only", rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}))},
			shopClient, "ratings", ambient.AuthzDenied, "", "allow policies exist, but none allowed"},
		{"deny of an HTTP-only clause never fires", []*secv1.AuthorizationPolicy{authz("shop", "no-delete", deny, rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"DELETE"}})}}))},
			evil, "ratings", ambient.AuthzAllowed, "", ""},
		{"deny keeps the L4 half of a mixed source", []*secv1.AuthorizationPolicy{authz("shop", "broad", deny, rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"evil"}, RequestPrincipals: []string{"*"}})}}))},
			evil, "ratings", ambient.AuthzDenied, "shop/broad", "explicitly denied by: shop/broad"},
		{"allow on a port: not known", []*secv1.AuthorizationPolicy{authz("shop", "port", rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Ports: []string{"9080"}})}}))},
			evil, "ratings", ambient.AuthzUnknown, "", "allowed only on some ports or addresses"},
		{"allow-nothing", []*secv1.AuthorizationPolicy{authz("shop", "nothing")},
			shopClient, "ratings", ambient.AuthzDenied, "", "allow policies exist, but none allowed"},
		{"allow-all rule", []*secv1.AuthorizationPolicy{authz("shop", "all", rules(&secv1beta1.Rule{}))},
			evil, "ratings", ambient.AuthzAllowed, "shop/all", ""},
		{"plaintext never matches a namespace rule", []*secv1.AuthorizationPolicy{authz("shop", "same-ns", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}}))},
			"", "ratings", ambient.AuthzDenied, "", "allow policies exist, but none allowed"},
		{"when source.namespace", []*secv1.AuthorizationPolicy{authz("shop", "when", rules(&secv1beta1.Rule{When: []*secv1beta1.Condition{when("source.namespace", "shop")}}))},
			shopClient, "ratings", ambient.AuthzAllowed, "shop/when", ""},
		{"service accounts ns/name", []*secv1.AuthorizationPolicy{authz("shop", "sa", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{ServiceAccounts: []string{"shop/client"}})}}))},
			shopClient, "ratings", ambient.AuthzAllowed, "shop/sa", ""},
		{"uncaptured destination", nil, shopClient, "web", ambient.AuthzUnknown, "", "not captured: ztunnel does not authorize its inbound traffic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := policyCluster(tc.aps...)
			a := ambient.Analyze(c)
			var dst *corev1.Pod
			for _, p := range c.Pods {
				if p.Name == tc.dst {
					dst = p
				}
			}
			v := ambient.Authorize(c, a, ambient.Peer{Identity: tc.src}, dst)
			if v.Outcome != tc.want || v.By != tc.by || v.Reason != tc.reason {
				t.Errorf("Authorize = %+v, want %s by %q (%q)", v, tc.want, tc.by, tc.reason)
			}
		})
	}
}

// A Service bound to a waypoint puts its policies beside the ztunnel
// verdict: their L7 rules need the waypoint.
func TestAuthorizeNamesWaypointPolicies(t *testing.T) {
	l7 := authz("shop", "reviews-l7", targetRef("Service", "reviews"), rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}))
	c := policyCluster(l7)
	c.Services[0].Spec.Selector = map[string]string{"app": "reviews"}
	a := ambient.Analyze(c)
	var reviews *corev1.Pod
	for _, p := range c.Pods {
		if p.Name == "reviews" {
			reviews = p
		}
	}
	v := ambient.Authorize(c, a, ambient.Peer{Identity: "spiffe://cluster.local/ns/shop/sa/client"}, reviews)
	if v.Outcome != ambient.AuthzAllowed || len(v.Waypoint) != 1 || v.Waypoint[0] != "shop/reviews-l7" {
		t.Errorf("Authorize = %+v, want allowed at ztunnel with shop/reviews-l7 at the waypoint", v)
	}
}
