package ambient_test

import (
	"strings"
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// bypassCluster: Service apps/web bound to waypoint apps/wp, an L7 ALLOW
// attached to it, and an ingress gateway's pod in ingress.
func bypassCluster(version string, env, svcLabels, nsLabels map[string]string) *ambient.Cluster {
	v, _ := install.ParseVersion(version)
	nsL := []string{"istio.io/dataplane-mode=ambient"}
	for k, v := range nsLabels {
		nsL = append(nsL, k+"="+v)
	}
	svcL := []string{"istio.io/use-waypoint=wp"}
	for k, v := range svcLabels {
		svcL = append(svcL, k+"="+v)
	}
	web := service("apps", "web", svcL...)
	web.Spec.ClusterIP = "10.96.0.50"
	web.Spec.Selector = map[string]string{"app": "web"}
	c := &ambient.Cluster{
		Install:        install.Info{Istiod: v, Ztunnel: v, CNI: v, Env: env},
		Namespaces:     []*corev1.Namespace{namespace("apps", nsL...), namespace("ingress"), namespace("istio-system")},
		Pods:           append(waypointPods("apps", "wp", 1), pod("apps", "web-1", labels("app=web"), captured)),
		Services:       []*corev1.Service{web},
		Gateways:       []*gwv1.Gateway{waypointGW("apps", "wp")},
		GatewayClasses: []*gwv1.GatewayClass{waypointClass()},
		AuthorizationPolicies: []*secv1.AuthorizationPolicy{authz("apps", "web-get", targetRef("Service", "web"),
			rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}))},
	}
	c.Pods = append(c.Pods, pod("ingress", "public-istio-0", labels("gateway.networking.k8s.io/gateway-name=public", "gateway.istio.io/managed=istio.io-gateway-controller", "istio.io/dataplane-mode=none")))
	return c
}

// TestIngressSkipsWaypointPolicy (reference 3.4): a Service whose waypoint
// enforces AuthorizationPolicies, while ingress gateways do not route to
// that waypoint, lets ingress traffic skip them: one warning on the
// Service, per the installed istiod's reading of ingress-use-waypoint
// (1.24 Service label == "true"; 1.25-1.29 Service else namespace,
// EqualFold; 1.30+ ParseBool), ENABLE_INGRESS_WAYPOINT_ROUTING and the VIP.
func TestIngressSkipsWaypointPolicy(t *testing.T) {
	const label = "istio.io/ingress-use-waypoint"
	on := map[string]string{"PILOT_ENABLE_AMBIENT": "true"}
	l := func(v string) map[string]string { return map[string]string{label: v} }
	for _, tc := range []struct {
		name    string
		env     map[string]string
		svc, ns map[string]string
		mutate  func(c *ambient.Cluster)
		want    map[string]bool // version -> flagged
		fix     string          // in the fix of a flagged case
	}{
		{name: "no label", want: map[string]bool{"1.24.6": true, "1.29.6": true, "1.31.1": true}, fix: "kubectl label service web -n apps istio.io/ingress-use-waypoint=true --overwrite"},
		{name: "Service true", svc: l("true"), want: map[string]bool{"1.23.4": true, "1.24.6": false, "1.29.6": false, "1.31.1": false}},
		{name: "Service TRUE", svc: l("TRUE"), want: map[string]bool{"1.24.6": true, "1.25.5": false, "1.30.3": false}},
		{name: "Service 1", svc: l("1"), want: map[string]bool{"1.29.6": true, "1.30.0": false}, fix: `does not read istio.io/ingress-use-waypoint="1" as true`},
		{name: "namespace true", ns: l("true"), want: map[string]bool{"1.24.6": true, "1.25.0": false, "1.31.1": false}},
		{name: "Service false over namespace true", svc: l("false"), ns: l("true"), want: map[string]bool{"1.25.5": true, "1.31.1": true}},
		{name: "routing switched off", svc: l("true"), env: map[string]string{"PILOT_ENABLE_AMBIENT": "true", "ENABLE_INGRESS_WAYPOINT_ROUTING": "false"},
			want: map[string]bool{"1.24.6": true, "1.31.1": true}, fix: "ENABLE_INGRESS_WAYPOINT_ROUTING=false"},
		{name: "headless Service", svc: l("true"), mutate: func(c *ambient.Cluster) { c.Services[0].Spec.ClusterIP = corev1.ClusterIPNone },
			want: map[string]bool{"1.29.6": true}},
		{name: "no ingress gateway", mutate: func(c *ambient.Cluster) { c.Pods = c.Pods[:len(c.Pods)-1] },
			want: map[string]bool{"1.29.6": false}},
		{name: "a classic gateway", mutate: func(c *ambient.Cluster) {
			c.Pods[len(c.Pods)-1] = pod("istio-system", "istio-ingressgateway-0", labels("istio=ingressgateway"), router)
		}, want: map[string]bool{"1.29.6": true}},
		{name: "policy on the waypoint Gateway", mutate: func(c *ambient.Cluster) {
			c.AuthorizationPolicies[0].Spec.TargetRefs = nil
			targetRef("Gateway", "wp")(c.AuthorizationPolicies[0])
		}, want: map[string]bool{"1.29.6": true}},
		{name: "policy on the waypoint GatewayClass", mutate: func(c *ambient.Cluster) {
			c.AuthorizationPolicies[0] = authz("istio-system", "all-waypoints", targetRef("GatewayClass", "istio-waypoint"))
		}, want: map[string]bool{"1.24.6": false, "1.25.5": true, "1.31.1": true}},
		{name: "a selector policy: ztunnel enforces it either way", mutate: func(c *ambient.Cluster) {
			c.AuthorizationPolicies[0] = authz("apps", "web-l4", selector("app=web"))
		}, want: map[string]bool{"1.29.6": false}},
		{name: "Service not bound", mutate: func(c *ambient.Cluster) { delete(c.Services[0].Labels, "istio.io/use-waypoint") },
			want: map[string]bool{"1.29.6": false}},
	} {
		for v, flagged := range tc.want {
			t.Run(tc.name+" "+v, func(t *testing.T) {
				env := tc.env
				if env == nil {
					env = on
				}
				c := bypassCluster(v, env, tc.svc, tc.ns)
				if tc.mutate != nil {
					tc.mutate(c)
				}
				a := ambient.Analyze(c)
				fs := findingsFor(a, "policy-skipped-by-ingress")
				if !flagged {
					if len(fs) > 0 {
						t.Fatalf("unexpected %s: %s", fs[0].Title, fs[0].Why)
					}
					return
				}
				if len(fs) != 1 {
					t.Fatalf("want one policy-skipped-by-ingress, got %v", codes(a.Findings))
				}
				f := fs[0]
				if f.Object.String() != "Service apps/web" {
					t.Errorf("object %s", f.Object)
				}
				if len(f.Affects) != 1 || f.Affects[0].Kind != ambient.KindAuthorizationPolicy {
					t.Errorf("affects %v, want the policy", f.Affects)
				}
				if tc.fix != "" && !strings.Contains(f.Fix+f.Why, tc.fix) {
					t.Errorf("fix %q / why %q lacks %q", f.Fix, f.Why, tc.fix)
				}
			})
		}
	}
}
