package netpol

import (
	"slices"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/finding"
)

// proxySendScene: an ambient API, a sidecar that takes HBONE
// (tunnel=http, and tlsMode=istio as the injector sets it), a plain
// sidecar client and an ingress gateway. Both destinations open only
// their app port, to everyone; the sidecar client's egress opens 8080
// only.
func proxySendScene(t testing.TB, send ProxyHBONE) *scene {
	s := newScene()
	s.in.ProxyHBONE = send
	s.ns("apps", "istio.io/dataplane-mode", "ambient")
	s.ns("legacy", "istio-injection", "enabled")
	s.ns("ingress")
	s.pod("apps", "client", lbl("app", "client"), Ambient)
	s.pod("apps", "api", lbl("app", "api"), Ambient, "http:8080")
	s.pod("legacy", "old-client", lbl("app", "old-client", "security.istio.io/tlsMode", "istio"), Sidecar)
	s.pod("legacy", "hbone-app", lbl("app", "hbone-app", "security.istio.io/tlsMode", "istio", "networking.istio.io/tunnel", "http"), Sidecar, "http:8080")
	s.pod("ingress", "gw", lbl("gateway.networking.k8s.io/gateway-name", "public"), Gateway)
	s.policy(t, `
metadata: {name: api, namespace: apps}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress: [{ports: [{port: 8080, protocol: TCP}]}]`)
	s.policy(t, `
metadata: {name: hbone-app, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: hbone-app}}
  ingress: [{ports: [{port: 8080, protocol: TCP}]}]`)
	s.policy(t, `
metadata: {name: out, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: old-client}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {}}]
    ports: [{port: 8080}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}}]
    ports: [{port: 15012}]`)
	return s
}

// TestProxiesSendHBONEOnlyWhenIstiodSaysSo: sidecars and gateways tunnel
// to ambient pods only while PILOT_ENABLE_SENDING_HBONE is on (the
// default); off, they connect to the app port (plaintext to an ambient
// pod, which its ztunnel takes as inbound plaintext), so a policy that
// opens only the app port does not block them. To a sidecar that takes
// both HBONE and Istio mTLS they send mTLS unless
// PILOT_PREFER_SENDING_HBONE is on; ztunnel always tunnels to it.
func TestProxiesSendHBONEOnlyWhenIstiodSaysSo(t *testing.T) {
	for _, tc := range []struct {
		name string
		send ProxyHBONE
		// blocked lists, per problem, the clients its Why must name and
		// those it must not.
		want    []string
		names   map[string][]string
		without map[string][]string
	}{
		{
			name: "default: sidecars and gateways tunnel to ambient pods, mTLS to sidecars",
			want: []string{
				"hbone-ingress-blocked NetworkPolicy apps/api",
				"hbone-ingress-blocked NetworkPolicy legacy/hbone-app",
				"hbone-egress-blocked NetworkPolicy legacy/out",
			},
			names: map[string][]string{
				"apps/api":         {"apps/client", "legacy/old-client", "ingress/gw"},
				"legacy/hbone-app": {"apps/client"},
				"legacy/out":       {"apps/api"},
			},
			without: map[string][]string{
				"legacy/hbone-app": {"legacy/old-client", "ingress/gw"},
				"legacy/out":       {"legacy/hbone-app"},
			},
		},
		{
			name: "PILOT_PREFER_SENDING_HBONE: they tunnel to the HBONE sidecar too",
			send: ProxyHBONE{Prefer: true},
			want: []string{
				"hbone-ingress-blocked NetworkPolicy apps/api",
				"hbone-ingress-blocked NetworkPolicy legacy/hbone-app",
				"hbone-egress-blocked NetworkPolicy legacy/out",
			},
			names: map[string][]string{
				"legacy/hbone-app": {"apps/client", "legacy/old-client", "ingress/gw"},
				"legacy/out":       {"apps/api", "legacy/hbone-app"},
			},
		},
		{
			name: "PILOT_ENABLE_SENDING_HBONE=false: only ztunnel clients need 15008",
			send: ProxyHBONE{Off: true, Prefer: true},
			want: []string{
				"hbone-ingress-blocked NetworkPolicy apps/api",
				"hbone-ingress-blocked NetworkPolicy legacy/hbone-app",
			},
			names: map[string][]string{
				"apps/api":         {"apps/client"},
				"legacy/hbone-app": {"apps/client"},
			},
			without: map[string][]string{
				"apps/api":         {"legacy/old-client", "ingress/gw"},
				"legacy/hbone-app": {"legacy/old-client", "ingress/gw"},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := CheckHBONEProblems(proxySendScene(t, tc.send).in)
			got := codes(ps)
			slices.Sort(got)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("findings %q, want %q", got, want)
			}
			for _, p := range ps {
				obj := p.Object.Namespace + "/" + p.Object.Name
				// The pods on the other side of the blocked connections.
				var others []string
				for _, c := range p.Examples {
					o := c.From
					if p.Code == "hbone-egress-blocked" {
						o = c.To
					}
					others = append(others, o.String())
				}
				for _, n := range tc.names[obj] {
					if !slices.Contains(others, n) {
						t.Errorf("%s: %s is not blocked: %q", obj, n, others)
					}
				}
				for _, n := range tc.without[obj] {
					if slices.Contains(others, n) {
						t.Errorf("%s: %s is blocked, but does not send HBONE there: %q", obj, n, others)
					}
				}
			}
		})
	}
}

func TestProxyTunnels(t *testing.T) {
	injected := lbl("security.istio.io/tlsMode", "istio", "networking.istio.io/tunnel", "http")
	for _, tc := range []struct {
		name   string
		hbone  bool
		labels map[string]string
		send   ProxyHBONE
		want   bool
	}{
		{"ambient pod, default", true, nil, ProxyHBONE{}, true},
		{"ambient pod, sending off", true, nil, ProxyHBONE{Off: true}, false},
		{"HBONE sidecar taking mTLS, default", true, injected, ProxyHBONE{}, false},
		{"HBONE sidecar taking mTLS, preferred", true, injected, ProxyHBONE{Prefer: true}, true},
		{"HBONE sidecar, preferred but sending off", true, injected, ProxyHBONE{Off: true, Prefer: true}, false},
		{"TCP workload", false, nil, ProxyHBONE{Prefer: true}, false},
	} {
		if got := ProxyTunnels(tc.hbone, tc.labels, tc.send); got != tc.want {
			t.Errorf("%s: ProxyTunnels = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestWaypointSparesOnlyZtunnelClients: a destination behind a waypoint
// that opens only its app port blocks pod-addressed traffic of ztunnel
// clients (a warning: the waypoint path is fine), but a sidecar client
// never uses the waypoint, so all its connections are blocked: an error.
func TestWaypointSparesOnlyZtunnelClients(t *testing.T) {
	for _, sidecar := range []bool{false, true} {
		s := newScene()
		s.ns("apps", "istio.io/dataplane-mode", "ambient")
		s.ns("legacy", "istio-injection", "enabled")
		s.pod("apps", "wp-1", lbl("gateway.networking.k8s.io/gateway-name", "wp", "gateway.istio.io/managed", "istio.io-mesh-controller"), NotMeshed)
		s.pod("apps", "client", lbl("app", "client"), Ambient)
		s.pod("apps", "api", lbl("app", "api"), Ambient, "http:8080")
		s.in.Waypoints[Key{"apps", "api"}] = []Key{{"apps", "wp-1"}}
		from := "- from: [{podSelector: {matchLabels: {app: client}}}]"
		if sidecar {
			s.pod("legacy", "old-client", lbl("app", "old-client"), Sidecar)
			from = "- from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: legacy}}}]"
		}
		s.policy(t, `
metadata: {name: api, namespace: apps}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  `+from+`
    ports: [{port: 8080}]
  - from: [{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}}]
    ports: [{port: 15008}]`)
		ps := CheckHBONEProblems(s.in)
		if got := codes(ps); !slices.Equal(got, []string{"hbone-ingress-blocked NetworkPolicy apps/api"}) {
			t.Fatalf("sidecar=%v: findings %q", sidecar, got)
		}
		want := finding.Warning
		if sidecar {
			want = finding.Error
		}
		if ps[0].Severity != want {
			t.Errorf("sidecar=%v: severity %v, want %v: %s", sidecar, ps[0].Severity, want, ps[0].Why)
		}
		if sidecar && strings.Contains(ps[0].Why, "not affected") {
			t.Errorf("a sidecar's traffic never goes through the waypoint: %s", ps[0].Why)
		}
	}
}

// TestWaypointSendsMTLSToPlainSidecars: behind a waypoint, a sidecar
// without tunnel=http gets the waypoint's traffic as Istio mTLS on its app
// port, so it need not admit the waypoint on 15008; one labelled
// tunnel=http gets HBONE and must.
func TestWaypointSendsMTLSToPlainSidecars(t *testing.T) {
	for _, tunnel := range []bool{false, true} {
		s := newScene()
		s.ns("legacy", "istio-injection", "enabled", "istio.io/use-waypoint", "wp")
		s.pod("legacy", "wp-1", lbl("gateway.networking.k8s.io/gateway-name", "wp", "gateway.istio.io/managed", "istio.io-mesh-controller"), NotMeshed)
		l := lbl("app", "web", "security.istio.io/tlsMode", "istio")
		if tunnel {
			l["networking.istio.io/tunnel"] = "http"
		}
		s.pod("legacy", "web", l, Sidecar, "http:8080")
		s.in.Waypoints[Key{"legacy", "web"}] = []Key{{"legacy", "wp-1"}}
		s.policy(t, `
metadata: {name: web, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}}]
    ports: [{port: 8080}]`)
		got := codes(CheckHBONEProblems(s.in))
		var want []string
		if tunnel {
			want = []string{"hbone-waypoint-ingress-blocked NetworkPolicy legacy/web"}
		}
		if !slices.Equal(got, want) {
			t.Errorf("tunnel=%v: findings %q, want %q", tunnel, got, want)
		}
	}
}
