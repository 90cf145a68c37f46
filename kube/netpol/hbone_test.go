package netpol

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/finding"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// scene is a small cluster for the HBONE checks.
type scene struct {
	in HBONEInput
}

func newScene() *scene {
	s := &scene{in: HBONEInput{Meshed: map[Key]Dataplane{}, Waypoints: map[Key][]Key{}}}
	s.ns("istio-system")
	s.pod("istio-system", "istiod-7d4f9", lbl("app", "istiod", "istio", "pilot", "pod-template-hash", "7d4f9"), NotMeshed, "grpc-xds:15012", "https-webhook:15017")
	s.pod("istio-system", "ztunnel-a1", lbl("app", "ztunnel", "istio.io/dataplane-mode", "none"), NotMeshed)
	s.pod("istio-system", "ztunnel-b2", lbl("app", "ztunnel", "istio.io/dataplane-mode", "none"), NotMeshed)
	s.ns("kube-system")
	s.pod("kube-system", "coredns-1", lbl("k8s-app", "kube-dns"), NotMeshed, "dns:53/UDP", "dns-tcp:53")
	return s
}

func (s *scene) ns(name string, kv ...string) {
	s.in.Namespaces = append(s.in.Namespaces, testNS(name, kv...))
}

func (s *scene) pod(ns, name string, labels map[string]string, plane Dataplane, ports ...string) *corev1.Pod {
	p := testPod(ns, name, labels, ports...)
	s.in.Pods = append(s.in.Pods, p)
	if plane != NotMeshed {
		s.in.Meshed[Key{ns, name}] = plane
	}
	return p
}

func (s *scene) policy(t testing.TB, doc string) {
	s.in.NetworkPolicies = append(s.in.NetworkPolicies, testPolicy(t, doc))
}

// lokiScene is the demo's first planted mistake: loki opens its app port
// to promtail and grafana, not 15008.
func lokiScene(t testing.TB) *scene {
	s := newScene()
	s.ns("loki", "istio.io/dataplane-mode", "ambient")
	s.ns("default", "istio.io/dataplane-mode", "ambient")
	s.ns("unmeshed")
	s.pod("loki", "loki-0", lbl("app.kubernetes.io/name", "loki", "statefulset.kubernetes.io/pod-name", "loki-0"), Ambient, "http-metrics:3100", "grpc:9095")
	for _, n := range []string{"promtail-4xk2p", "promtail-9qz7m", "promtail-t8w5d"} {
		s.pod("loki", n, lbl("app.kubernetes.io/name", "promtail"), Ambient, "http-metrics:3101")
	}
	s.pod("default", "grafana-5c9d8-kq2xz", lbl("app.kubernetes.io/name", "grafana"), Ambient, "grafana:3000")
	s.pod("unmeshed", "grafana-old", lbl("app.kubernetes.io/name", "grafana"), NotMeshed)
	s.policy(t, `
metadata: {name: loki, namespace: loki}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: loki}}
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {matchLabels: {app.kubernetes.io/name: promtail}}
    - namespaceSelector: {}
      podSelector: {matchLabels: {app.kubernetes.io/name: grafana}}
    ports: [{port: 3100, protocol: TCP}]`)
	return s
}

// localstackScene is the second: 15008 is open only to istio-system.
func localstackScene(t testing.TB) *scene {
	s := newScene()
	s.ns("localstack", "istio.io/dataplane-mode", "ambient")
	s.ns("argo-workflows", "istio.io/dataplane-mode", "ambient")
	s.ns("example-api", "istio.io/dataplane-mode", "ambient")
	s.pod("localstack", "localstack-6b7c9-x2x9v", lbl("app.kubernetes.io/name", "localstack"), Ambient, "edge:4566")
	s.pod("argo-workflows", "argo-server-58f-abcde", lbl("app", "argo-server"), Ambient, "web:2746")
	s.pod("example-api", "api-7f9-zzzzz", lbl("app", "api"), Ambient, "http:8080")
	s.policy(t, `
metadata: {name: localstack, namespace: localstack}
spec:
  podSelector: {}
  ingress:
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: argo-workflows}}
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: example-api}}
    ports: [{port: edge}]
  - from:
    - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}
    ports: [{port: 15008}]`)
	return s
}

func codes(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Code+" "+p.Object.String())
	}
	return out
}

func TestLokiOpensAppPortNotHBONE(t *testing.T) {
	ps := CheckHBONEProblems(lokiScene(t).in)
	if got, want := codes(ps), []string{"hbone-ingress-blocked NetworkPolicy loki/loki"}; !slices.Equal(got, want) {
		t.Fatalf("findings = %q, want %q", got, want)
	}
	f := ps[0]
	if f.Severity != finding.Error {
		t.Errorf("severity %v, want error", f.Severity)
	}
	if want := "loki/loki opens 3100/TCP but not HBONE port 15008"; f.Title != want {
		t.Errorf("title %q, want %q", f.Title, want)
	}
	for _, frag := range []string{"Rule ingress[0] admits 4 pods (default/grafana-5c9d8-kq2xz, loki/promtail-4xk2p, loki/promtail-9qz7m and 1 more)", "to pod loki/loki-0 time out"} {
		if !strings.Contains(f.Why, frag) {
			t.Errorf("why %q lacks %q", f.Why, frag)
		}
	}
	if strings.Contains(f.Why, "grafana-old") {
		t.Errorf("an unmeshed client needs no HBONE: %s", f.Why)
	}
	wantCmd := `kubectl patch networkpolicy loki -n loki --type=json -p '[{"op":"add","path":"/spec/ingress/0/ports/-","value":{"protocol":"TCP","port":15008}}]'`
	if f.Patch.Command != wantCmd || f.Fix != wantCmd {
		t.Errorf("command\n got %s\nwant %s", f.Patch.Command, wantCmd)
	}
	wantManifest := `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: loki-hbone
  namespace: loki
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app.kubernetes.io/name: promtail
    - namespaceSelector: {}
      podSelector:
        matchLabels:
          app.kubernetes.io/name: grafana
    ports:
    - port: 15008
      protocol: TCP
  podSelector:
    matchLabels:
      app.kubernetes.io/name: loki
  policyTypes:
  - Ingress
`
	if f.Patch.Manifest != wantManifest {
		t.Errorf("manifest\n%s\nwant\n%s", f.Patch.Manifest, wantManifest)
	}
	if len(f.Examples) != 2 { // one per client kind: grafana, promtail
		t.Errorf("examples %v, want one from grafana and one from promtail", f.Examples)
	}
	// The pod whose HBONE is cut off carries the mark on its row, not
	// only the policy; its clients, which still work elsewhere, do not.
	if want := []finding.Ref{{Kind: "Pod", Namespace: "loki", Name: "loki-0"}}; !slices.Equal(f.Affects, want) {
		t.Errorf("affects %v, want %v", f.Affects, want)
	}
}

// TestProblemsAffectThePodsTheyBlock: across every scene, each connection a
// problem gives as blocked has its pod on the policy's side among the
// finding's Affects (the destination for ingress, the source for egress),
// so no blocked workload is missing its row mark.
func TestProblemsAffectThePodsTheyBlock(t *testing.T) {
	inputs := map[string]HBONEInput{"loki": lokiScene(t).in, "localstack": localstackScene(t).in, "waypoint": waypointScene(t).in, "synthetic": syntheticInput(1000, 100, 60)}
	for name, in := range inputs {
		for _, p := range CheckHBONEProblems(in) {
			if p.Code == "networkpolicy-invalid" {
				continue
			}
			if len(p.Affects) == 0 {
				t.Errorf("%s: %s %s affects no pod", name, p.Code, p.Object)
			}
			for _, ex := range p.Examples {
				side := ex.To.Pod
				if strings.Contains(p.Code, "egress") {
					side = ex.From.Pod
				}
				if side == (Key{}) {
					continue
				}
				ref := finding.Ref{Kind: "Pod", Namespace: side.Namespace, Name: side.Name}
				if !slices.Contains(p.Affects, ref) {
					t.Errorf("%s: %s %s blocks %s but does not affect %s (affects %v)", name, p.Code, p.Object, ex, ref, p.Affects)
				}
			}
		}
	}
}

func TestLocalstackOpensHBONEOnlyToIstioSystem(t *testing.T) {
	ps := CheckHBONEProblems(localstackScene(t).in)
	if got, want := codes(ps), []string{"hbone-ingress-blocked NetworkPolicy localstack/localstack"}; !slices.Equal(got, want) {
		t.Fatalf("findings = %q, want %q", got, want)
	}
	f := ps[0]
	if !strings.Contains(f.Title, "opens edge/TCP but not HBONE port 15008") {
		t.Errorf("title %q", f.Title)
	}
	if !strings.Contains(f.Why, "2 pods (argo-workflows/argo-server-58f-abcde, example-api/api-7f9-zzzzz)") {
		t.Errorf("why %q should name both client namespaces' pods", f.Why)
	}
	if !strings.Contains(f.Patch.JSONPatch, `"path":"/spec/ingress/0/ports/-"`) {
		t.Errorf("patch should extend the app-port rule, not the istio-system one: %s", f.Patch.JSONPatch)
	}
}

func TestHealthyAndIrrelevantPoliciesGiveNoFindings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		build func(*scene)
	}{
		{"app port and 15008 from the same peers", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: client}}}], ports: [{port: 8080}, {port: 15008}]}]`)
		}},
		{"a range that covers 15008", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 8000, endPort: 16000}]}]`)
		}},
		{"ingress without ports", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {}}]}]`)
		}},
		{"app port open only to unmeshed pods", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: kube-system}}}], ports: [{port: 8080}]}]`)
		}},
		{"app port open only to addresses", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8}}], ports: [{port: 8080}]}]`)
		}},
		{"UDP only: ambient does not carry UDP", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: 8080, protocol: UDP}]}]`)
		}},
		{"a named port the pod does not have admits nothing", func(s *scene) {
			s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{ports: [{port: grpc}]}]`)
		}},
		{"egress only to DNS (unmeshed) and with 15008 to the mesh", func(s *scene) {
			s.policy(t, `
metadata: {name: client, namespace: apps}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}, {port: 53}]
  - to: [{podSelector: {matchLabels: {app: web}}}]
    ports: [{port: http}, {port: 15008}]`)
		}},
		{"policies on unmeshed pods", func(s *scene) {
			s.policy(t, `
metadata: {name: dns, namespace: kube-system}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 53, protocol: UDP}]}]`)
		}},
		{"sidecar to sidecar uses the app port", func(s *scene) {
			s.ns("legacy", "istio-injection", "enabled")
			s.pod("legacy", "old-web", lbl("app", "old-web"), Sidecar, "http:8080")
			s.pod("legacy", "old-client", lbl("app", "old-client"), Sidecar)
			s.policy(t, `
metadata: {name: old-web, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: old-web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: old-client}}}], ports: [{port: 8080}]}]`)
		}},
		{"a lone pod's own traffic is loopback", func(s *scene) {
			s.policy(t, `
metadata: {name: self, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress: [{from: [{podSelector: {matchLabels: {app: web}}}], ports: [{port: 8080}]}]`)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScene()
			s.ns("apps", "istio.io/dataplane-mode", "ambient")
			s.pod("apps", "web", lbl("app", "web"), Ambient, "http:8080")
			s.pod("apps", "client", lbl("app", "client"), Ambient)
			tc.build(s)
			if ps := CheckHBONEProblems(s.in); len(ps) != 0 {
				t.Errorf("unexpected findings: %q\n%s", codes(ps), ps[0].Why)
			}
		})
	}
}

func TestSidecarDestinationNeedsHBONEFromAmbientClients(t *testing.T) {
	for _, tunnel := range []bool{false, true} {
		s := newScene()
		s.ns("apps", "istio.io/dataplane-mode", "ambient")
		s.ns("legacy", "istio-injection", "enabled")
		s.pod("apps", "client", lbl("app", "client"), Ambient)
		s.pod("legacy", "old-client", lbl("app", "old-client"), Sidecar)
		l := lbl("app", "sidecar-app")
		if tunnel {
			l["networking.istio.io/tunnel"] = "http" // HBONE-capable: mesh clients send 15008
		}
		s.pod("legacy", "sidecar-app", l, Sidecar, "http:8080")
		s.policy(t, `
metadata: {name: sidecar-app-web, namespace: legacy}
spec:
  podSelector: {matchLabels: {app: sidecar-app}}
  ingress: [{ports: [{port: 8080, protocol: TCP}]}]`)
		ps := CheckHBONEProblems(s.in)
		if !tunnel {
			// ztunnel reaches a plain sidecar on the app port, in plaintext.
			if len(ps) != 0 {
				t.Fatalf("a sidecar without tunnel=http needs no 15008: %q", codes(ps))
			}
			continue
		}
		if got := codes(ps); !slices.Equal(got, []string{"hbone-ingress-blocked NetworkPolicy legacy/sidecar-app-web"}) {
			t.Fatalf("findings %q", got)
		}
		if !strings.Contains(ps[0].Why, "apps/client") {
			t.Errorf("the ambient client needs HBONE to an HBONE sidecar: %s", ps[0].Why)
		}
	}
}

// TestGatewayIsAnHBONEClient: an ingress gateway's Envoy sends HBONE to
// ambient pods from its own IP, so a policy that opens only the app port
// to it blocks it; the gateway itself receives plaintext.
func TestGatewayIsAnHBONEClient(t *testing.T) {
	s := newScene()
	s.ns("apps", "istio.io/dataplane-mode", "ambient")
	s.ns("ingress")
	s.pod("ingress", "gw", lbl("gateway.networking.k8s.io/gateway-name", "public"), Gateway)
	s.pod("apps", "web", lbl("app", "web"), Ambient, "http:8080")
	s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}}]
    ports: [{port: 8080, protocol: TCP}]`)
	s.policy(t, `
metadata: {name: gw, namespace: ingress}
spec:
  podSelector: {}
  ingress: [{ports: [{port: 80, protocol: TCP}]}]`)
	ps := CheckHBONEProblems(s.in)
	if got := codes(ps); !slices.Equal(got, []string{"hbone-ingress-blocked NetworkPolicy apps/web"}) {
		t.Fatalf("findings %q", got)
	}
	if !strings.Contains(ps[0].Why, "ingress/gw") {
		t.Errorf("why %s", ps[0].Why)
	}
}

// gatewayWaypointScene: an ingress gateway in front of apps/web, which sits
// behind waypoint apps/wp. web admits the gateway on 8080 only and its
// waypoint on 15008; the waypoint admits only the apps namespace.
func gatewayWaypointScene(t testing.TB, path *IngressPath, extra ...string) *scene {
	s := newScene()
	s.ns("apps", "istio.io/dataplane-mode", "ambient")
	s.ns("ingress")
	s.pod("ingress", "public-istio-1", lbl("gateway.networking.k8s.io/gateway-name", "public", "gateway.istio.io/managed", "istio.io-gateway-controller"), Gateway)
	s.pod("apps", "wp-1", lbl("gateway.networking.k8s.io/gateway-name", "wp", "gateway.istio.io/managed", "istio.io-mesh-controller"), NotMeshed)
	s.pod("apps", "web", lbl("app", "web"), Ambient, "http:8080")
	s.in.Waypoints[Key{"apps", "web"}] = []Key{{"apps", "wp-1"}}
	if path != nil {
		s.in.Ingress = map[Key]IngressPath{{"apps", "web"}: *path}
	}
	s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: ingress}}}]
    ports: [{port: 8080, protocol: TCP}]
  - from: [{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}}]
    ports: [{port: 15008, protocol: TCP}]`)
	for _, doc := range extra {
		s.policy(t, doc)
	}
	return s
}

// TestGatewayThroughWaypoint follows findServiceWaypoint: with
// istio.io/ingress-use-waypoint (kube.Build decides per version), an
// ingress gateway sends to the Service's waypoint, so its hops are
// gateway -> waypoint and waypoint -> destination, each on 15008, and the
// destination need not admit the gateway's HBONE; without it, or when
// another Service in front of the pod does not ask, the gateway dials the
// pod's own 15008.
func TestGatewayThroughWaypoint(t *testing.T) {
	gwOut := `
metadata: {name: gw-out, namespace: ingress}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: apps}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080, protocol: TCP}, {port: 15008, protocol: TCP}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: istio-system}}, podSelector: {matchLabels: {app: istiod}}}]
    ports: [{port: 15012, protocol: TCP}]`
	gwOutAppOnly := strings.Replace(gwOut, "[{port: 8080, protocol: TCP}, {port: 15008, protocol: TCP}]", "[{port: 8080, protocol: TCP}]", 1)
	via := &IngressPath{Waypoints: []Key{{"apps", "wp-1"}}}
	both := &IngressPath{Waypoints: []Key{{"apps", "wp-1"}}, Direct: true}
	for _, tc := range []struct {
		name  string
		path  *IngressPath
		extra []string
		want  []string
	}{
		{name: "no label: the gateway dials the pod", want: []string{"hbone-ingress-blocked NetworkPolicy apps/web"}},
		{name: "label, waypoint open: nothing blocks", path: via},
		{name: "label, the waypoint refuses the gateway", path: via, extra: []string{wpOnlyApps},
			want: []string{"hbone-waypoint-clients-blocked NetworkPolicy apps/wp"}},
		{name: "label, the gateway may not send to the waypoint", path: via, extra: []string{gwOut},
			want: []string{"hbone-egress-to-waypoint-blocked NetworkPolicy ingress/gw-out"}},
		{name: "no label, the gateway's egress admits the pod: its ingress still blocks", extra: []string{gwOut},
			want: []string{"hbone-ingress-blocked NetworkPolicy apps/web"}},
		{name: "no label, the gateway may send to the app port only", extra: []string{gwOutAppOnly},
			want: []string{"hbone-egress-blocked NetworkPolicy ingress/gw-out", "hbone-ingress-blocked NetworkPolicy apps/web"}},
		{name: "label, the gateway may send to the app port only: the waypoint hop is what it lacks", path: via, extra: []string{gwOutAppOnly},
			want: []string{"hbone-egress-to-waypoint-blocked NetworkPolicy ingress/gw-out"}},
		{name: "one Service routes through the waypoint, another does not", path: both, extra: []string{wpOnlyApps},
			want: []string{"hbone-ingress-blocked NetworkPolicy apps/web", "hbone-waypoint-clients-blocked NetworkPolicy apps/wp"}},
		{name: "label on a waypoint with no pods: no hop to check", path: &IngressPath{}, extra: []string{wpOnlyApps}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps := CheckHBONEProblems(gatewayWaypointScene(t, tc.path, tc.extra...).in)
			got := codes(ps)
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Fatalf("findings %q, want %q", got, tc.want)
			}
			for _, p := range ps {
				if !strings.Contains(p.Why, "ingress/public-istio-1") {
					t.Errorf("%s does not name the gateway it blocks: %s", p.Code, p.Why)
				}
				for _, ex := range p.Examples {
					if ex.From.Pod != (Key{"ingress", "public-istio-1"}) && ex.To.Pod != (Key{"apps", "web"}) {
						t.Errorf("%s: example %s is not the gateway's hop", p.Code, ex)
					}
				}
			}
		})
	}
}

func TestEgressBlocksHBONE(t *testing.T) {
	s := lokiScene(t)
	s.in.NetworkPolicies = nil
	s.policy(t, `
metadata: {name: grafana-out, namespace: default}
spec:
  podSelector: {matchLabels: {app.kubernetes.io/name: grafana}}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {}, podSelector: {matchLabels: {k8s-app: kube-dns}}}]
    ports: [{port: 53, protocol: UDP}]
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: loki}}}]
    ports: [{port: http-metrics}]`)
	ps := CheckHBONEProblems(s.in)
	if got := codes(ps); !slices.Equal(got, []string{"hbone-egress-blocked NetworkPolicy default/grafana-out"}) {
		t.Fatalf("findings %q", got)
	}
	f := ps[0]
	// The named port resolves on loki (3100) and on promtail (3101): both are destinations.
	for _, frag := range []string{"Rule egress[1] lets pod default/grafana-5c9d8-kq2xz reach 4 pods (loki/loki-0", "on http-metrics/TCP but not on TCP 15008"} {
		if !strings.Contains(f.Why, frag) {
			t.Errorf("why %q lacks %q", f.Why, frag)
		}
	}
	if !strings.Contains(f.Patch.JSONPatch, `"path":"/spec/egress/1/ports/-"`) {
		t.Errorf("patch %s", f.Patch.JSONPatch)
	}
}

// waypointScene has a client namespace, a destination behind a waypoint,
// and every hop of the waypoint path closed on 15008.
func waypointScene(t testing.TB) *scene {
	s := newScene()
	s.ns("example-api", "istio.io/dataplane-mode", "ambient", "istio.io/use-waypoint", "example-api-waypoint")
	s.ns("frontend", "istio.io/dataplane-mode", "ambient")
	s.pod("example-api", "example-api-waypoint-6c8-q4", lbl("gateway.networking.k8s.io/gateway-name", "example-api-waypoint", "gateway.istio.io/managed", "istio.io-mesh-controller", "istio.io/dataplane-mode", "none", "pod-template-hash", "6c8"), NotMeshed)
	for _, n := range []string{"api-1", "api-2"} {
		s.pod("example-api", n, lbl("app", "api"), Ambient, "http:8080")
		s.in.Waypoints[Key{"example-api", n}] = []Key{{"example-api", "example-api-waypoint-6c8-q4"}}
	}
	s.pod("frontend", "web-1", lbl("app", "web"), Ambient)
	// The destination admits its clients on 8080 and 15008, but not the waypoint.
	s.policy(t, `
metadata: {name: api, namespace: example-api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: frontend}}, podSelector: {matchLabels: {app: web}}}]
    ports: [{port: 8080}, {port: 15008}]`)
	// The waypoint may receive nothing and send only to DNS.
	s.policy(t, `
metadata: {name: waypoint-lockdown, namespace: example-api}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: example-api-waypoint}}
  policyTypes: [Ingress, Egress]
  egress: [{ports: [{port: 53, protocol: UDP}]}]`)
	// The client may send to the API directly only.
	s.policy(t, `
metadata: {name: web-out, namespace: frontend}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: example-api}}, podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 8080}, {port: 15008}]`)
	return s
}

func TestWaypointPath(t *testing.T) {
	ps := CheckHBONEProblems(waypointScene(t).in)
	want := []string{
		"hbone-waypoint-ingress-blocked NetworkPolicy example-api/api",
		"hbone-waypoint-clients-blocked NetworkPolicy example-api/waypoint-lockdown",
		"hbone-waypoint-egress-blocked NetworkPolicy example-api/waypoint-lockdown",
		"istiod-egress-blocked NetworkPolicy example-api/waypoint-lockdown",
		"hbone-egress-to-waypoint-blocked NetworkPolicy frontend/web-out",
	}
	if got := codes(ps); !slices.Equal(got, want) {
		t.Fatalf("findings\n got %q\nwant %q", got, want)
	}
	byCode := map[string]Problem{}
	for _, p := range ps {
		byCode[p.Code] = p
	}
	if p := byCode["hbone-waypoint-ingress-blocked"]; !strings.Contains(p.Patch.JSONPatch,
		`{"op":"add","path":"/spec/ingress/-","value":{"ports":[{"protocol":"TCP","port":15008}],"from":[{"podSelector":{"matchLabels":{"gateway.networking.k8s.io/gateway-name":"example-api-waypoint"}},"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"example-api"}}}]}}`) {
		t.Errorf("waypoint ingress patch %s", p.Patch.JSONPatch)
	}
	// The waypoint must admit the same peers the API admits, made explicit
	// about their namespace; the lockdown policy has no ingress list yet.
	if p := byCode["hbone-waypoint-clients-blocked"]; !strings.Contains(p.Patch.JSONPatch,
		`{"op":"add","path":"/spec/ingress","value":[{"ports":[{"protocol":"TCP","port":15008}],"from":[{"podSelector":{"matchLabels":{"app":"web"}},"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"frontend"}}}]}]}`) {
		t.Errorf("waypoint clients patch %s", p.Patch.JSONPatch)
	}
	if p := byCode["istiod-egress-blocked"]; !strings.Contains(p.Title, "keeps waypoint from reaching istiod on 15012/TCP") {
		t.Errorf("istiod title %q", p.Title)
	}
	if p := byCode["hbone-waypoint-egress-blocked"]; !strings.Contains(p.Why, "forwards traffic to 2 pods (example-api/api-1, example-api/api-2)") {
		t.Errorf("waypoint egress why %q", p.Why)
	}
}

// TestSidecarClientsSkipTheWaypoint: a sidecar client of a destination
// behind a waypoint goes straight to the pod (HBONE to its 15008 when the
// sidecar sends HBONE), never through the waypoint, in every release; so
// the waypoint need not admit it and its egress need not reach the
// waypoint, while the destination must admit it on 15008.
func TestSidecarClientsSkipTheWaypoint(t *testing.T) {
	s := newScene()
	s.ns("example-api", "istio.io/dataplane-mode", "ambient", "istio.io/use-waypoint", "wp")
	s.ns("legacy", "istio-injection", "enabled")
	s.pod("example-api", "wp-6c8-q4", lbl("gateway.networking.k8s.io/gateway-name", "wp", "gateway.istio.io/managed", "istio.io-mesh-controller", "istio.io/dataplane-mode", "none", "pod-template-hash", "6c8"), NotMeshed)
	s.pod("example-api", "api-1", lbl("app", "api"), Ambient, "http:8080")
	s.in.Waypoints[Key{"example-api", "api-1"}] = []Key{{"example-api", "wp-6c8-q4"}}
	s.pod("legacy", "old-client", lbl("app", "old-client"), Sidecar)
	// The API admits the sidecar client on 8080 only; the waypoint admits
	// nobody; the client may send to the API only.
	s.policy(t, `
metadata: {name: api, namespace: example-api}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: legacy}}}]
    ports: [{port: 8080}]
  - from: [{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}}]
    ports: [{port: 15008}]`)
	s.policy(t, `
metadata: {name: wp-lockdown, namespace: example-api}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}
  policyTypes: [Ingress]`)
	s.policy(t, `
metadata: {name: out, namespace: legacy}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: example-api}}, podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 8080}, {port: 15008}]
  - ports: [{port: 53, protocol: UDP}, {port: 15012}]`)
	ps := CheckHBONEProblems(s.in)
	if got := codes(ps); !slices.Equal(got, []string{"hbone-ingress-blocked NetworkPolicy example-api/api"}) {
		t.Fatalf("findings %q, want only the destination's missing 15008 for the sidecar", got)
	}
	if !strings.Contains(ps[0].Why, "legacy/old-client") {
		t.Errorf("why %s", ps[0].Why)
	}
}

func TestSidecarsNeedIstiod(t *testing.T) {
	s := newScene()
	s.ns("legacy", "istio-injection", "enabled")
	s.pod("legacy", "old-web", lbl("app", "old-web"), Sidecar, "http:8080")
	s.policy(t, `
metadata: {name: egress-dns-only, namespace: legacy}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress: [{ports: [{port: 53, protocol: UDP}]}]`)
	ps := CheckHBONEProblems(s.in)
	if got := codes(ps); !slices.Equal(got, []string{"istiod-egress-blocked NetworkPolicy legacy/egress-dns-only"}) {
		t.Fatalf("findings %q", got)
	}
	// 15017 is the API server calling the webhook: never a proxy's egress.
	if want := "legacy/egress-dns-only keeps sidecar from reaching istiod on 15012/TCP"; ps[0].Title != want {
		t.Errorf("title %q, want %q", ps[0].Title, want)
	}
	want := `[{"op":"add","path":"/spec/egress/-","value":{"ports":[{"protocol":"TCP","port":15012}],"to":[{"podSelector":{"matchLabels":{"app":"istiod"}},"namespaceSelector":{"matchLabels":{"kubernetes.io/metadata.name":"istio-system"}}}]}}]`
	if ps[0].Patch.JSONPatch != want {
		t.Errorf("patch\n got %s\nwant %s", ps[0].Patch.JSONPatch, want)
	}
}

func TestZtunnelNeedsIstiod(t *testing.T) {
	s := newScene()
	s.policy(t, `
metadata: {name: default-deny, namespace: istio-system}
spec: {podSelector: {}, policyTypes: [Ingress, Egress], ingress: [{ports: [{port: 15012}, {port: 15017}]}]}`)
	ps := CheckHBONEProblems(s.in)
	if got := codes(ps); !slices.Equal(got, []string{"istiod-egress-blocked NetworkPolicy istio-system/default-deny"}) {
		t.Fatalf("findings %q", got)
	}
	if !strings.Contains(ps[0].Why, "2 pods (istio-system/ztunnel-a1, istio-system/ztunnel-b2) may not reach istio-system/istiod-7d4f9") {
		t.Errorf("why %q", ps[0].Why)
	}
}

func TestProbesFromIstioCNI(t *testing.T) {
	s := newScene()
	s.ns("apps", "istio.io/dataplane-mode", "ambient")
	web := s.pod("apps", "web", lbl("app", "web"), Ambient, "http:8080", "admin:9901")
	web.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("admin")}}}
	web.Spec.Containers[0].LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}}}
	side := s.pod("apps", "side", lbl("app", "side"), Sidecar, "http:8080")
	side.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}
	s.pod("apps", "client", lbl("app", "client"), Ambient)
	s.policy(t, `
metadata: {name: web, namespace: apps}
spec:
  podSelector: {}
  ingress: [{from: [{podSelector: {}}], ports: [{port: 8080}, {port: 15008}]}]`)
	ps := CheckHBONEProblems(s.in)
	if got := codes(ps); !slices.Equal(got, []string{"probe-source-blocked NetworkPolicy apps/web"}) {
		t.Fatalf("findings %q", got)
	}
	if !strings.Contains(ps[0].Why, "on 9901/TCP, so probes of pod apps/web fail") {
		t.Errorf("only the ambient pod's HTTP probe on the admin port counts: %s", ps[0].Why)
	}
}

func TestInvalidPolicyIsAFinding(t *testing.T) {
	s := lokiScene(t)
	s.policy(t, `{metadata: {name: broken, namespace: loki}, spec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: nope}}]}]}}`)
	got := codes(CheckHBONEProblems(s.in))
	want := []string{"hbone-ingress-blocked NetworkPolicy loki/loki", "networkpolicy-invalid NetworkPolicy loki/broken"}
	if !slices.Equal(got, want) {
		t.Errorf("findings %q, want %q", got, want)
	}
}

func TestCheckHBONEMatchesProblems(t *testing.T) {
	in := waypointScene(t).in
	fs, ps := CheckHBONE(in), CheckHBONEProblems(in)
	if len(fs) != len(ps) {
		t.Fatalf("%d findings, %d problems", len(fs), len(ps))
	}
	for i := range fs {
		if fs[i].Title != ps[i].Title || fs[i].Patch.JSONPatch != ps[i].Patch.JSONPatch {
			t.Errorf("finding %d differs: %q vs %q", i, fs[i].Title, ps[i].Title)
		}
	}
}

// applyJSONPatch applies a finding's JSON patch to the policy as kubectl
// would: to the object's JSON, where empty lists are omitted.
func applyJSONPatch(t *testing.T, np *networkingv1.NetworkPolicy, ops string) *networkingv1.NetworkPolicy {
	t.Helper()
	doc, err := json.Marshal(np)
	if err != nil {
		t.Fatal(err)
	}
	patch, err := jsonpatch.DecodePatch([]byte(ops))
	if err != nil {
		t.Fatalf("patch does not decode: %v\n%s", err, ops)
	}
	out, err := patch.Apply(doc)
	if err != nil {
		t.Fatalf("patch does not apply to %s/%s: %v\n%s\n%s", np.Namespace, np.Name, err, ops, doc)
	}
	var patched networkingv1.NetworkPolicy
	if err := json.Unmarshal(out, &patched); err != nil {
		t.Fatal(err)
	}
	return &patched
}

func withPolicies(in HBONEInput, pols []*networkingv1.NetworkPolicy) HBONEInput {
	in.NetworkPolicies = pols
	return in
}

// deniedBy reports whether the target policy isolates a side that denies.
func deniedBy(v Verdict, target finding.Ref) bool {
	k := Key{target.Namespace, target.Name}
	return (!v.Ingress.Allowed && slices.Contains(v.Ingress.Isolating, k)) || (!v.Egress.Allowed && slices.Contains(v.Egress.Isolating, k))
}

// TestEveryPatchFixesItsProblem applies each suggested fix, in both its
// forms, and checks that the evaluator then lets the blocked connections
// through on the patched side, and that the checks no longer suggest it.
// Applying every patch of a scene clears the scene.
func TestEveryPatchFixesItsProblem(t *testing.T) {
	scenes := fixScenes(t, func(c *corev1.Container) { c.LivenessProbe = probeOn(8080) })

	for name, s := range scenes {
		t.Run(name, func(t *testing.T) {
			before := CheckHBONEProblems(s.in)
			if len(before) == 0 {
				t.Fatal("scene has no problems to fix")
			}
			c0, _ := NewCluster(s.in.Namespaces, s.in.Pods, s.in.NetworkPolicies)
			all := slices.Clone(s.in.NetworkPolicies)
			for _, p := range before {
				if len(p.Examples) == 0 {
					t.Errorf("%s: no example connection", p.Title)
				}
				for _, ex := range p.Examples {
					if v, _ := c0.Evaluate(ex.From, ex.To, ex.Port, ex.Protocol); !deniedBy(v, p.Object) {
						t.Errorf("%s: example %s is not denied by %s: %s", p.Code, ex, p.Object, v.Reason)
					}
				}
				// Form 1: the JSON patch against the existing policy.
				patched := slices.Clone(s.in.NetworkPolicies)
				for i, np := range patched {
					if np.Namespace == p.Patch.Target.Namespace && np.Name == p.Patch.Target.Name {
						patched[i] = applyJSONPatch(t, np, p.Patch.JSONPatch)
					}
				}
				for i, np := range all {
					if np.Namespace == p.Patch.Target.Namespace && np.Name == p.Patch.Target.Name {
						all[i] = applyJSONPatch(t, np, p.Patch.JSONPatch)
					}
				}
				// Form 2: the standalone manifest beside the existing policy.
				var alt networkingv1.NetworkPolicy
				if err := yaml.UnmarshalStrict([]byte(p.Patch.Manifest), &alt); err != nil {
					t.Fatalf("manifest does not parse: %v\n%s", err, p.Patch.Manifest)
				}
				withAlt := append(slices.Clone(s.in.NetworkPolicies), &alt)
				for form, pols := range map[string][]*networkingv1.NetworkPolicy{"json patch": patched, "manifest": withAlt} {
					c, err := NewCluster(s.in.Namespaces, s.in.Pods, pols)
					if err != nil {
						t.Fatalf("%s leaves an invalid policy: %v", form, err)
					}
					for _, ex := range p.Examples {
						v, _ := c.Evaluate(ex.From, ex.To, ex.Port, ex.Protocol)
						if deniedBy(v, p.Object) || (form == "manifest" && deniedBy(v, finding.Ref{Namespace: alt.Namespace, Name: alt.Name})) {
							t.Errorf("%s %s: %s still denied: %s", p.Code, form, ex, v.Reason)
						}
					}
					for _, q := range CheckHBONEProblems(withPolicies(s.in, pols)) {
						if q.Code == p.Code && q.Object == p.Object && q.Patch.JSONPatch == p.Patch.JSONPatch {
							t.Errorf("%s: the check still suggests %s", form, p.Patch.Command)
						}
					}
				}
			}
			if left := CheckHBONEProblems(withPolicies(s.in, all)); len(left) != 0 {
				t.Errorf("after every patch: %q", codes(left))
			}
			c, _ := NewCluster(s.in.Namespaces, s.in.Pods, all)
			for _, p := range before {
				for _, ex := range p.Examples {
					if v, _ := c.Evaluate(ex.From, ex.To, ex.Port, ex.Protocol); !v.Allowed {
						t.Errorf("after every patch %s is denied: %s", ex, v.Reason)
					}
				}
			}
		})
	}
}

// probeOn is a kubelet TCP probe on the port.
// fixScenes are the scenes whose every suggested patch must fix them: the
// planted loki, localstack and waypoint mistakes, a default-deny namespace
// whose web pod gets a probe from withProbe, and a sidecar without egress.
func fixScenes(t *testing.T, withProbe func(*corev1.Container)) map[string]*scene {
	t.Helper()
	scenes := map[string]*scene{"loki": lokiScene(t), "localstack": localstackScene(t), "waypoint": waypointScene(t)}
	probe := newScene()
	probe.ns("apps", "istio.io/dataplane-mode", "ambient")
	withProbe(&probe.pod("apps", "web", lbl("app", "web"), Ambient, "http:8080").Spec.Containers[0])
	probe.policy(t, `{metadata: {name: deny, namespace: apps}, spec: {podSelector: {}}}`)
	scenes["probe"] = probe
	sidecar := newScene()
	sidecar.ns("legacy")
	sidecar.pod("legacy", "old", lbl("app", "old"), Sidecar)
	sidecar.policy(t, `{metadata: {name: deny-out, namespace: legacy}, spec: {podSelector: {}, policyTypes: [Egress]}}`)
	scenes["sidecar"] = sidecar
	return scenes
}

func probeOn(port int32) *corev1.Probe {
	return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(port)}}}
}

// Waypoint pods are judged once per set that egress rules cannot tell
// apart; a named port can tell two pods of one waypoint apart, and then
// only the pod that lacks it is unreachable.
func TestNamedPortTellsWaypointPodsApart(t *testing.T) {
	s := newScene()
	s.ns("shop", "istio.io/dataplane-mode", "ambient")
	wl := lbl("gateway.networking.k8s.io/gateway-name", "shop-waypoint", "gateway.istio.io/managed", "istio.io-mesh-controller")
	s.pod("shop", "shop-waypoint-a", wl, NotMeshed, "tunnel:15008")
	s.pod("shop", "shop-waypoint-b", wl, NotMeshed)
	s.pod("shop", "cart-1", lbl("app", "cart"), Ambient, "http:8080")
	s.in.Waypoints[Key{"shop", "cart-1"}] = []Key{{"shop", "shop-waypoint-a"}, {"shop", "shop-waypoint-b"}}
	s.pod("shop", "web-1", lbl("app", "web"), Ambient)
	s.policy(t, `
metadata: {name: web-out, namespace: shop}
spec:
  podSelector: {matchLabels: {app: web}}
  policyTypes: [Egress]
  egress:
  - to: [{podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: shop-waypoint}}}]
    ports: [{port: tunnel}]`)
	var got []Problem
	for _, p := range CheckHBONEProblems(s.in) {
		if p.Code == "hbone-egress-to-waypoint-blocked" {
			got = append(got, p)
		}
	}
	if len(got) != 1 {
		t.Fatalf("%d egress-to-waypoint findings, want 1", len(got))
	}
	if want := "shop/web-out keeps meshed pods from reaching waypoint pod shop/shop-waypoint-b"; got[0].Title != want {
		t.Errorf("title %q\nwant  %q", got[0].Title, want)
	}
	want := []Connection{{From: Peer{Pod: Key{"shop", "web-1"}}, To: Peer{Pod: Key{"shop", "shop-waypoint-b"}}, Port: HBONEPort, Protocol: corev1.ProtocolTCP}}
	if !slices.Equal(got[0].Examples, want) {
		t.Errorf("examples %v, want %v", got[0].Examples, want)
	}
}

// wpOnlyApps admits on the waypoint's 15008 only its own namespace's pods:
// a gateway in another namespace is refused at the waypoint.
const wpOnlyApps = `
metadata: {name: wp, namespace: apps}
spec:
  podSelector: {matchLabels: {gateway.networking.k8s.io/gateway-name: wp}}
  ingress:
  - from: [{podSelector: {}}]
    ports: [{port: 15008, protocol: TCP}]`
