package ambient_test

import (
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// TestAuthorizeViaWaypoint: a call to the Service reviews, bound to
// shop/waypoint, is judged twice (reference 2.2, identity shift): the
// waypoint judges its targetRefs policies against the client, and
// reviews' ztunnel judges its selector policies against the waypoint's
// service account, never the client's.
func TestAuthorizeViaWaypoint(t *testing.T) {
	const client = "spiffe://cluster.local/ns/shop/sa/client"
	const evil = "spiffe://cluster.local/ns/evil/sa/x"
	const wpSA = "cluster.local/ns/shop/sa/waypoint"
	deny := action(secv1beta1.AuthorizationPolicy_DENY)
	byPrincipal := func(p ...string) apOpt {
		return rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Principals: p})}})
	}
	type hop struct {
		out    ambient.AuthzOutcome
		by     string
		reason string
	}
	for _, tc := range []struct {
		name     string
		aps      []*secv1.AuthorizationPolicy
		env      map[string]string
		src      string
		waypoint hop
		ztunnel  hop
		combined ambient.AuthzOutcome
	}{
		{name: "no policy", src: client,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzAllowed},
		{name: "selector ALLOW names only the client: ztunnel sees the waypoint and denies",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "reviews-l4", selector("app=reviews"), byPrincipal("cluster.local/ns/shop/sa/client"))}, src: client,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzDenied, "", "allow policies exist, but none allowed"}, combined: ambient.AuthzDenied},
		{name: "selector ALLOW names the waypoint's account too",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "reviews-l4", selector("app=reviews"), byPrincipal("cluster.local/ns/shop/sa/client", wpSA))}, src: evil,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "shop/reviews-l4", ""}, combined: ambient.AuthzAllowed},
		{name: "selector ALLOW by namespace admits a waypoint in that namespace, whoever called",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "same-ns", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}}))}, src: evil,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "shop/same-ns", ""}, combined: ambient.AuthzAllowed},
		{name: "selector DENY of the waypoint's account",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "no-waypoint", deny, selector("app=reviews"), byPrincipal(wpSA))}, src: client,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzDenied, "shop/no-waypoint", "explicitly denied by: shop/no-waypoint"}, combined: ambient.AuthzDenied},
		{name: "selector DENY of the client never fires behind the waypoint",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "no-evil", deny, selector("app=reviews"), byPrincipal("cluster.local/ns/evil/*"))}, src: evil,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzAllowed},
		{name: "Service targetRef ALLOW admits the client at the waypoint",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "reviews-callers", targetRef("Service", "reviews"), byPrincipal("cluster.local/ns/shop/sa/client"))}, src: client,
			waypoint: hop{ambient.AuthzAllowed, "shop/reviews-callers", ""}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzAllowed},
		{name: "Service targetRef ALLOW refuses another client at the waypoint",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "reviews-callers", targetRef("Service", "reviews"), byPrincipal("cluster.local/ns/shop/sa/client"))}, src: evil,
			waypoint: hop{ambient.AuthzDenied, "", "no ALLOW policy at the waypoint matches this client"}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzDenied},
		{name: "a policy on another Service of the same waypoint does not apply",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "ratings-callers", targetRef("Service", "ratings"), byPrincipal("cluster.local/ns/shop/sa/client"))}, src: evil,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzAllowed},
		{name: "Gateway targetRef DENY by namespace",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "no-evil", deny, targetRef("Gateway", "waypoint"), rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"evil"}})}}))}, src: evil,
			waypoint: hop{ambient.AuthzDenied, "shop/no-evil", "denied at the waypoint by shop/no-evil"}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzDenied},
		{name: "HTTP rules at the waypoint turn on the request",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "get-only", targetRef("Service", "reviews"), rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}))}, src: client,
			waypoint: hop{ambient.AuthzUnknown, "", "allowed by shop/get-only for some requests only (HTTP rules)"}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzUnknown},
		{name: "HTTP rules of another client cannot admit this one",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "get-only", targetRef("Service", "reviews"), rules(&secv1beta1.Rule{
				From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Principals: []string{"cluster.local/ns/shop/sa/client"}})},
				To:   []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}))}, src: evil,
			waypoint: hop{ambient.AuthzDenied, "", "no ALLOW policy at the waypoint matches this client"}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzDenied},
		{name: "PILOT_AUTO_ALLOW_WAYPOINT_POLICY admits the waypoint at ztunnel",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "reviews-l4", selector("app=reviews"), byPrincipal("cluster.local/ns/shop/sa/client"))},
			env: map[string]string{install.EnvEnableAmbient: "true", install.EnvAutoAllowWaypointPolicy: "true"}, src: client,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "istio_allow_waypoint_shop_waypoint", ""}, combined: ambient.AuthzAllowed},
		{name: "the synthetic ALLOW does not lift an explicit DENY",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "no-waypoint", deny, selector("app=reviews"), byPrincipal(wpSA))},
			env: map[string]string{install.EnvEnableAmbient: "true", install.EnvAutoAllowWaypointPolicy: "true"}, src: client,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzDenied, "shop/no-waypoint", "explicitly denied by: shop/no-waypoint"}, combined: ambient.AuthzDenied},
		{name: "a dry-run policy at the waypoint is only logged",
			aps: []*secv1.AuthorizationPolicy{authz("shop", "trial", deny, targetRef("Service", "reviews"), apAnnotations("istio.io/dry-run=true"), rules(&secv1beta1.Rule{}))}, src: client,
			waypoint: hop{ambient.AuthzAllowed, "", ""}, ztunnel: hop{ambient.AuthzAllowed, "", ""}, combined: ambient.AuthzAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := policyCluster(tc.aps...)
			c.Install.Env = tc.env
			for _, s := range c.Services {
				s.Spec.Selector = map[string]string{"app": s.Name}
			}
			var dst, wp *corev1.Pod
			for _, p := range c.Pods {
				switch p.Name {
				case "reviews":
					dst = p
				case "waypoint-a":
					p.Spec.ServiceAccountName = "waypoint"
					wp = p
				}
			}
			a := ambient.Analyze(c)
			v := ambient.AuthorizeViaWaypoint(c, a, ambient.Peer{Identity: tc.src}, ambient.Key{Namespace: "shop", Name: "waypoint"}, wp,
				ambient.Key{Namespace: "shop", Name: "reviews"}, dst)
			if v.Identity != "spiffe://"+wpSA {
				t.Errorf("waypoint identity = %q", v.Identity)
			}
			if got := (hop{v.AtWaypoint.Outcome, v.AtWaypoint.By, v.AtWaypoint.Reason}); got != tc.waypoint {
				t.Errorf("at the waypoint: %+v, want %+v", got, tc.waypoint)
			}
			if got := (hop{v.AtZtunnel.Outcome, v.AtZtunnel.By, v.AtZtunnel.Reason}); got != tc.ztunnel {
				t.Errorf("at reviews' ztunnel: %+v, want %+v", got, tc.ztunnel)
			}
			if v.Outcome() != tc.combined {
				t.Errorf("combined = %s, want %s", v.Outcome(), tc.combined)
			}
		})
	}
}
