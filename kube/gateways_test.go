package kube_test

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
)

// gatewayPod replaces ingressCluster's Gateway API ingress pod with
// another kind of gateway, in the same namespace and with the same IP.
func gatewayPod(c *ambient.Cluster, kind string) {
	proxy := func(args ...string) []corev1.Container {
		return []corev1.Container{{Name: "istio-proxy", Args: args}}
	}
	p := c.Pods[2].DeepCopy()
	switch kind {
	case "east-west":
		p.Name = "eastwest-1"
		p.Labels = map[string]string{"gateway.networking.k8s.io/gateway-name": "eastwest", "gateway.istio.io/managed": "istio.io-eastwest-controller", "istio.io/dataplane-mode": "none"}
		p.Spec.Containers = proxy("proxy", "waypoint", "--domain", "$(POD_NAMESPACE).svc.cluster.local")
	case "classic":
		// The istio-ingressgateway of istioctl installs: never injected.
		p.Name = "istio-ingressgateway-1"
		p.Labels = map[string]string{"istio": "ingressgateway", "app": "istio-ingressgateway", "sidecar.istio.io/inject": "false"}
		p.Spec.Containers = proxy("proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local")
	case "classic-injected":
		// The istio/gateway chart: injected with the gateway template.
		p.Name = "istio-gateway-1"
		p.Labels = map[string]string{"istio": "gateway", "app": "istio-gateway", "sidecar.istio.io/inject": "true"}
		p.Annotations = map[string]string{"sidecar.istio.io/status": `{"templates":["gateway"]}`, "inject.istio.io/templates": "gateway"}
		p.Spec.Containers = proxy("proxy", "router", "--domain", "$(POD_NAMESPACE).svc.cluster.local")
	case "sidecar":
		p.Name = "client-1"
		p.Labels = map[string]string{"app": "client"}
		p.Annotations = map[string]string{"sidecar.istio.io/status": `{"containers":["istio-proxy"]}`}
		p.Spec.Containers = append([]corev1.Container{{Name: "app"}}, proxy("proxy", "sidecar")...)
	}
	c.Pods[2] = p
}

func hboneFindings(s *kube.Snapshot) []string {
	var got []string
	for _, f := range s.Findings {
		switch f.Code {
		case "hbone-ingress-blocked", "hbone-waypoint-clients-blocked", "hbone-egress-blocked", "hbone-egress-to-waypoint-blocked":
			got = append(got, f.Code+" "+f.Object.String())
		}
	}
	slices.Sort(got)
	return got
}

// TestEastWestGatewayPath: an east-west gateway sends a Service's traffic
// to its bound waypoint with no ingress-use-waypoint label, in every
// release that has one (listener_waypoint.go buildWaypointInternal), and
// dials the pods too for traffic a waypoint already handled; without a
// bound waypoint it dials the pods only. Without AMBIENT_ENABLE_MULTI_NETWORK
// istiod gives it nothing to forward; PILOT_ENABLE_SENDING_HBONE, which
// stops sidecars and ingress gateways tunnelling, is not its switch: it
// forwards the client's inner tunnel like a waypoint.
func TestEastWestGatewayPath(t *testing.T) {
	const (
		direct = "hbone-ingress-blocked NetworkPolicy apps/web"
		viaWP  = "hbone-waypoint-clients-blocked NetworkPolicy apps/wp"
	)
	multi := map[string]string{"PILOT_ENABLE_AMBIENT": "true", "AMBIENT_ENABLE_MULTI_NETWORK": "true"}
	for _, tc := range []struct {
		name     string
		env      map[string]string
		svc      map[string]string
		unbound  bool
		versions []string
		want     []string
	}{
		{name: "bound, no label: the waypoint and the pods", env: multi, versions: []string{"1.27.3", "1.28.10", "1.29.6", "1.30.3", "1.31.1"}, want: []string{direct, viaWP}},
		{name: "bound, label true: the same", env: multi, svc: map[string]string{"istio.io/ingress-use-waypoint": "true"}, versions: []string{"1.28.10", "1.29.6"}, want: []string{direct, viaWP}},
		{name: "no waypoint: the pods only", env: multi, unbound: true, versions: []string{"1.27.3", "1.31.1"}, want: []string{direct}},
		{name: "multi-network off: it forwards nothing", env: map[string]string{"PILOT_ENABLE_AMBIENT": "true"}, versions: []string{"1.27.3", "1.31.1"}},
		{name: "multi-network on without ambient: forced off", env: map[string]string{"AMBIENT_ENABLE_MULTI_NETWORK": "true"}, versions: []string{"1.29.6"}},
		{name: "sending HBONE off: it still forwards tunnels, as waypoints do", env: map[string]string{"PILOT_ENABLE_AMBIENT": "true", "AMBIENT_ENABLE_MULTI_NETWORK": "true", "PILOT_ENABLE_SENDING_HBONE": "false"},
			versions: []string{"1.29.6"}, want: []string{direct, viaWP}},
	} {
		for _, v := range tc.versions {
			t.Run(tc.name+" "+v, func(t *testing.T) {
				c := ingressCluster(v, tc.env, tc.svc, nil, "10.96.0.50")
				if tc.unbound {
					delete(c.Services[0].Labels, "istio.io/use-waypoint")
				}
				gatewayPod(&c, "east-west")
				if got := hboneFindings(kube.Build(c, time.Unix(1e9, 0))); !slices.Equal(got, tc.want) {
					t.Fatalf("HBONE findings %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestClassicGatewayPath: a classic gateway (istio/gateway chart or
// istio-ingressgateway) is a router to istiod, so findServiceWaypoint
// treats it as the Gateway API one: it sends HBONE from its pod, and to
// the Service's waypoint only with ingress-use-waypoint as the installed
// istiod reads it. Injected with the gateway template it carries
// sidecar.istio.io/status, but it is no sidecar: sidecars never use a
// waypoint.
func TestClassicGatewayPath(t *testing.T) {
	const (
		direct = "hbone-ingress-blocked NetworkPolicy apps/web"
		viaWP  = "hbone-waypoint-clients-blocked NetworkPolicy apps/wp"
	)
	on := map[string]string{"PILOT_ENABLE_AMBIENT": "true"}
	label := func(v string) map[string]string { return map[string]string{"istio.io/ingress-use-waypoint": v} }
	for _, kind := range []string{"classic", "classic-injected"} {
		for _, tc := range []struct {
			name string
			env  map[string]string
			svc  map[string]string
			want map[string]string
		}{
			{name: "no label", env: on, want: map[string]string{"1.24.6": direct, "1.31.1": direct}},
			{name: "label true", env: on, svc: label("true"), want: map[string]string{"1.24.6": viaWP, "1.29.6": viaWP, "1.31.1": viaWP}},
			{name: "label 1", env: on, svc: label("1"), want: map[string]string{"1.29.6": direct, "1.30.0": viaWP}},
			{name: "routing off", env: map[string]string{"PILOT_ENABLE_AMBIENT": "true", "ENABLE_INGRESS_WAYPOINT_ROUTING": "false"}, svc: label("true"),
				want: map[string]string{"1.24.6": direct, "1.31.1": direct}},
			{name: "sending HBONE off: it dials the app port, which web admits", env: map[string]string{"PILOT_ENABLE_AMBIENT": "true", "PILOT_ENABLE_SENDING_HBONE": "false"},
				want: map[string]string{"1.29.6": ""}},
		} {
			for v, want := range tc.want {
				t.Run(kind+" "+tc.name+" "+v, func(t *testing.T) {
					c := ingressCluster(v, tc.env, tc.svc, nil, "10.96.0.50")
					gatewayPod(&c, kind)
					var wantList []string
					if want != "" {
						wantList = []string{want}
					}
					if got := hboneFindings(kube.Build(c, time.Unix(1e9, 0))); !slices.Equal(got, wantList) {
						t.Fatalf("HBONE findings %q, want %q", got, wantList)
					}
				})
			}
		}
	}
}

// TestSidecarClientNeverUsesWaypoint: the contrast: a sidecar in the same
// place dials the pod even with ingress-use-waypoint on the Service.
func TestSidecarClientNeverUsesWaypoint(t *testing.T) {
	c := ingressCluster("1.29.6", map[string]string{"PILOT_ENABLE_AMBIENT": "true"}, map[string]string{"istio.io/ingress-use-waypoint": "true"}, nil, "10.96.0.50")
	gatewayPod(&c, "sidecar")
	c.Namespaces[1].Labels = map[string]string{"istio-injection": "enabled"}
	if got, want := hboneFindings(kube.Build(c, time.Unix(1e9, 0))), []string{"hbone-ingress-blocked NetworkPolicy apps/web"}; !slices.Equal(got, want) {
		t.Fatalf("HBONE findings %q, want %q", got, want)
	}
}
