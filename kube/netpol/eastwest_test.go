package netpol

import (
	"slices"
	"strings"
	"testing"
)

// eastWestScene: an east-west gateway in istio-system and an ingress
// gateway in ingress, both in front of apps/web behind waypoint apps/wp.
// web admits both gateways on 8080 only and its waypoint on 15008.
func eastWestScene(t testing.TB, ingress, eastWest *IngressPath, extra ...string) *scene {
	s := gatewayWaypointScene(t, ingress, extra...)
	s.pod("istio-system", "eastwest-1", lbl("gateway.networking.k8s.io/gateway-name", "eastwest", "gateway.istio.io/managed", "istio.io-eastwest-controller"), EastWest)
	if eastWest != nil {
		s.in.EastWest = map[Key]IngressPath{{"apps", "web"}: *eastWest}
	}
	// web's policy admits the ingress namespace on 8080; let the east-west
	// gateway's namespace in on the app port as well.
	s.policy(t, `
metadata: {name: web-from-eastwest, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}, podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: eastwest}}}]
    ports: [{port: 8080, protocol: TCP}]`)
	return s
}

// TestEastWestGatewayPaths: an east-west gateway sends a Service's traffic
// to its bound waypoint without any ingress-use-waypoint label, so its hop
// is east-west -> waypoint on 15008, and the destination need not admit it
// on 15008; where it dials the pod (no waypoint, or from 1.29 ingress-marked
// traffic to a Service without the label: kube.Build decides), the pod's
// 15008 must admit it. Ingress gateways keep their own path.
func TestEastWestGatewayPaths(t *testing.T) {
	ewOut := `
metadata: {name: ew-out, namespace: istio-system}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: eastwest}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: apps}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080, protocol: TCP}, {port: 15008, protocol: TCP}]
  - to: [{podSelector: {matchLabels: {app: istiod}}}]
    ports: [{port: 15012, protocol: TCP}]`
	via := &IngressPath{Waypoints: []Key{{"apps", "wp-1"}}}
	both := &IngressPath{Waypoints: []Key{{"apps", "wp-1"}}, Direct: true}
	for _, tc := range []struct {
		name              string
		ingress, eastWest *IngressPath
		extra             []string
		want              []string
		blocked           []string // pods the findings must name
	}{
		{name: "no waypoint path for either: both gateways dial the pod",
			want:    []string{"hbone-ingress-blocked NetworkPolicy apps/web", "hbone-ingress-blocked NetworkPolicy apps/web-from-eastwest"},
			blocked: []string{"ingress/public-istio-1", "istio-system/eastwest-1"}},
		{name: "east-west through the waypoint, ingress direct: only the ingress gateway is refused",
			eastWest: via,
			want:     []string{"hbone-ingress-blocked NetworkPolicy apps/web"},
			blocked:  []string{"ingress/public-istio-1"}},
		{name: "both through the waypoint: nothing blocks", ingress: via, eastWest: via},
		{name: "east-west through a waypoint that admits only apps",
			ingress: via, eastWest: via, extra: []string{wpOnlyApps},
			want:    []string{"hbone-waypoint-clients-blocked NetworkPolicy apps/wp"},
			blocked: []string{"istio-system/eastwest-1", "ingress/public-istio-1"}},
		{name: "east-west egress opens the pod, not the waypoint",
			ingress: via, eastWest: via, extra: []string{ewOut},
			want:    []string{"hbone-egress-to-waypoint-blocked NetworkPolicy istio-system/ew-out"},
			blocked: []string{"istio-system/eastwest-1"}},
		{name: "east-west both through the waypoint and direct (1.29+ ingress-marked traffic)",
			ingress: via, eastWest: both,
			want:    []string{"hbone-ingress-blocked NetworkPolicy apps/web-from-eastwest"},
			blocked: []string{"istio-system/eastwest-1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := CheckHBONEProblems(eastWestScene(t, tc.ingress, tc.eastWest, tc.extra...).in)
			got := codes(ps)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("findings %q, want %q", got, tc.want)
			}
			var why strings.Builder
			for _, p := range ps {
				why.WriteString(p.Why)
			}
			for _, b := range tc.blocked {
				if !strings.Contains(why.String(), b) {
					t.Errorf("no finding names %s: %s", b, why.String())
				}
			}
		})
	}
}

// TestEastWestGatewayDialsIstiod: like every proxy, an east-west gateway
// fetches its configuration from istiod on 15012.
func TestEastWestGatewayDialsIstiod(t *testing.T) {
	s := eastWestScene(t, nil, &IngressPath{Waypoints: []Key{{"apps", "wp-1"}}}, `
metadata: {name: ew-out, namespace: istio-system}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: eastwest}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}, namespaceSelector: {}}]
    ports: [{port: 15008, protocol: TCP}]`)
	ps := CheckHBONEProblems(s.in)
	var got []string
	for _, p := range ps {
		if p.Code == "istiod-egress-blocked" {
			got = append(got, p.Why)
		}
	}
	if len(got) != 1 || !strings.Contains(got[0], "istio-system/eastwest-1") {
		t.Fatalf("istiod-egress-blocked for the east-west gateway: %q (all: %q)", got, codes(ps))
	}
}
