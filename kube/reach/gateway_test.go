package reach

import (
	"os"
	"strings"
	"testing"
)

// TestGatewayClientsToAService: an ingress gateway (Gateway API or
// classic) reaches a Service bound to a waypoint through that waypoint
// only with istio.io/ingress-use-waypoint as the installed istiod reads it
// and ENABLE_INGRESS_WAYPOINT_ROUTING on, else straight to the endpoint's
// 15008; an east-west gateway goes through the waypoint without any
// label, while AMBIENT_ENABLE_MULTI_NETWORK lets it forward at all.
func TestGatewayClientsToAService(t *testing.T) {
	const (
		via    = "carried as HBONE via waypoint billing/waypoint"
		direct = "carried as HBONE by the ingress gateway: 80 → 15008 (targetPort 8080), bypassing waypoint billing/waypoint"
	)
	gateways := `
apiVersion: v1
kind: Namespace
metadata: {name: ingress}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: public-istio, namespace: ingress}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: public}}
  template:
    metadata: {labels: {gateway.networking.k8s.io/gateway-name: public, gateway.istio.io/managed: istio.io-gateway-controller, istio.io/dataplane-mode: none}}
    spec:
      containers: [{name: istio-proxy, image: auto, args: [proxy, router]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: istio-ingressgateway, namespace: ingress}
spec:
  selector: {matchLabels: {istio: ingressgateway}}
  template:
    metadata: {labels: {istio: ingressgateway, sidecar.istio.io/inject: "false"}}
    spec:
      containers: [{name: istio-proxy, image: docker.io/istio/proxyv2:1.29.2, args: [proxy, router]}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: eastwest, namespace: ingress}
spec:
  selector: {matchLabels: {gateway.networking.k8s.io/gateway-name: eastwest}}
  template:
    metadata: {labels: {gateway.networking.k8s.io/gateway-name: eastwest, gateway.istio.io/managed: istio.io-eastwest-controller, istio.io/dataplane-mode: none}}
    spec:
      containers: [{name: istio-proxy, image: auto, args: [proxy, waypoint]}]
`
	istiod := istiodDeployment
	label := func(v string) string {
		return `
apiVersion: v1
kind: Namespace
metadata: {name: billing, labels: {istio.io/dataplane-mode: ambient, istio.io/use-waypoint: waypoint, istio.io/ingress-use-waypoint: "` + v + `"}}
`
	}
	for _, tc := range []struct {
		name  string
		from  string
		docs  []string
		want  string
		avoid string
	}{
		{name: "Gateway API gateway, no label", from: "ingress/public-istio", docs: []string{istiod("1.29.2")}, want: direct, avoid: via},
		{name: "classic gateway, no label", from: "ingress/istio-ingressgateway", docs: []string{istiod("1.29.2")}, want: direct, avoid: via},
		{name: "namespace label true, 1.29", from: "ingress/public-istio", docs: []string{istiod("1.29.2"), label("true")}, want: via},
		{name: "namespace label true, 1.24 reads the Service's only", from: "ingress/public-istio", docs: []string{istiod("1.24.6"), label("true")}, want: direct, avoid: via},
		{name: "namespace label 1, 1.29: EqualFold", from: "ingress/istio-ingressgateway", docs: []string{istiod("1.29.2"), label("1")}, want: direct},
		{name: "namespace label 1, 1.30: ParseBool", from: "ingress/istio-ingressgateway", docs: []string{istiod("1.30.1"), label("1")}, want: via},
		{name: "routing off", from: "ingress/public-istio", docs: []string{istiod("1.29.2", "ENABLE_INGRESS_WAYPOINT_ROUTING", "false"), label("true")},
			want: direct + " (istiod's ENABLE_INGRESS_WAYPOINT_ROUTING is off)"},
		{name: "east-west, no label", from: "ingress/eastwest", docs: []string{istiod("1.29.2", "AMBIENT_ENABLE_MULTI_NETWORK", "true")}, want: via},
		{name: "east-west without multi-network forwards nothing of its own", from: "ingress/eastwest", docs: []string{istiod("1.29.2")}, want: "direct to the endpoint", avoid: via},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(dir+"/gateways.yaml", []byte(gateways), 0o600); err != nil {
				t.Fatal(err)
			}
			for i, d := range tc.docs {
				if err := os.WriteFile(dir+"/extra"+string(rune('a'+i))+".yaml", []byte(d), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := run(t, nil, append(meshAndServices, "-f", dir, tc.from, "svc/billing/api:80")...)
			if code != exitOK || !strings.Contains(out, tc.want) || (tc.avoid != "" && strings.Contains(out, tc.avoid)) {
				t.Errorf("exit %d\n got %q\nwant it to say %q (and not %q)\nstderr %s", code, out, tc.want, tc.avoid, errOut)
			}
		})
	}
}
