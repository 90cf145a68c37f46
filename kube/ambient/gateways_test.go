package ambient_test

import (
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// router makes the pod's one container the istio-proxy of a gateway, run
// as `pilot-agent proxy router`.
func router(p *corev1.Pod) {
	p.Spec.Containers = []corev1.Container{{Name: "istio-proxy", Args: []string{"proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local"}}}
}

// TestGatewayKindOf tells the gateways apart as istiod does: by the
// managed label it stamps, else by the proxy type its pilot-agent runs.
func TestGatewayKindOf(t *testing.T) {
	sidecar := func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy", Args: []string{"proxy", "sidecar"}})
	}
	waypointProxy := func(p *corev1.Pod) {
		p.Spec.Containers = []corev1.Container{{Name: "istio-proxy", Args: []string{"proxy", "waypoint"}}}
	}
	for _, tc := range []struct {
		name string
		pod  *corev1.Pod
		want ambient.GatewayKind
	}{
		{"Gateway API ingress", pod("ingress", "public-istio-0", labels("gateway.istio.io/managed=istio.io-gateway-controller", "gateway.networking.k8s.io/gateway-name=public")), ambient.IngressGateway},
		{"east-west", pod("istio-system", "eastwest-0", labels("gateway.istio.io/managed=istio.io-eastwest-controller", "gateway.networking.k8s.io/gateway-name=eastwest"), waypointProxy), ambient.EastWestGateway},
		{"waypoint", pod("apps", "wp-0", labels("gateway.istio.io/managed=istio.io-mesh-controller", "gateway.networking.k8s.io/gateway-name=wp"), waypointProxy), ambient.NotAGateway},
		{"istio-ingressgateway, not injected", pod("istio-system", "istio-ingressgateway-0", labels("istio=ingressgateway", "sidecar.istio.io/inject=false"), router), ambient.ClassicGateway},
		{"istio/gateway chart, injected", pod("istio-ingress", "istio-gateway-0", labels("istio=gateway"), annotations(`sidecar.istio.io/status={"templates":["gateway"]}`), router), ambient.ClassicGateway},
		{"hand-deployed Gateway API pod", pod("ingress", "public-0", labels("gateway.networking.k8s.io/gateway-name=public"), router), ambient.IngressGateway},
		{"a sidecar", pod("apps", "web-0", sidecar), ambient.NotAGateway},
		{"istio label alone is no gateway", pod("istio-system", "x", labels("istio=ingressgateway")), ambient.NotAGateway},
		{"router as the last argument", pod("istio-system", "y", func(p *corev1.Pod) {
			p.Spec.Containers = []corev1.Container{{Name: "istio-proxy", Args: []string{"proxy"}}}
		}), ambient.NotAGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ambient.GatewayKindOf(tc.pod); got != tc.want {
				t.Errorf("kind %d, want %d", got, tc.want)
			}
		})
	}
}

// TestClassicGatewayEnforcesSelectorPolicies (reference 3.2): a classic
// gateway is no Gateway API gateway, so ShouldAttachPolicy applies
// selector and namespace-wide AuthorizationPolicies to it, whatever
// ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY says, and ignores targetRefs;
// the IP allow-list on istio=ingressgateway is real, not dead config.
func TestClassicGatewayEnforcesSelectorPolicies(t *testing.T) {
	allowList := rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{{Source: &secv1beta1.Source{RemoteIpBlocks: []string{"203.0.113.0/24"}}}}})
	for _, tc := range []struct {
		name   string
		env    map[string]string
		inject bool
		policy *secv1.AuthorizationPolicy
		want   ambient.Enforcement
	}{
		{name: "selector allow-list", policy: authz("istio-system", "p", selector("istio=ingressgateway"), allowList), want: ambient.EnforcedByGateway},
		{name: "selector allow-list, injected", inject: true, policy: authz("istio-system", "p", selector("istio=ingressgateway"), allowList), want: ambient.EnforcedByGateway},
		{name: "selector with the Gateway API switch off", env: map[string]string{"PILOT_ENABLE_AMBIENT": "true", "ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY": "false"},
			policy: authz("istio-system", "p", selector("istio=ingressgateway"), allowList), want: ambient.EnforcedByGateway},
		{name: "namespace-wide", policy: authz("istio-system", "p", action(secv1beta1.AuthorizationPolicy_DENY), allowList), want: ambient.EnforcedByGateway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []podOpt{labels("istio=ingressgateway", "app=istio-ingressgateway", "sidecar.istio.io/inject=false"), router}
			if tc.inject {
				opts = append(opts, annotations(`sidecar.istio.io/status={"templates":["gateway"]}`))
			}
			c := &ambient.Cluster{
				Namespaces:            []*corev1.Namespace{namespace("istio-system")},
				Pods:                  []*corev1.Pod{pod("istio-system", "istio-ingressgateway-0", opts...)},
				AuthorizationPolicies: []*secv1.AuthorizationPolicy{tc.policy},
			}
			c.Install.Env = tc.env
			a := ambient.Analyze(c)
			pi := policyOf(t, a, ambient.KindAuthorizationPolicy, key("istio-system", "p"))
			if pi.EnforcedBy != tc.want || pi.SelectedGateway != 1 {
				t.Errorf("enforced by %s (%s), %d gateway pods; want %s by 1", pi.EnforcedBy, pi.Effect, pi.SelectedGateway, tc.want)
			}
		})
	}
}
