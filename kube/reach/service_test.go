package reach

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ambx/ambx/kube"
)

var update = flag.Bool("update", false, "rewrite the golden files")

var meshAndServices = []string{"-f", "testdata/mesh", "-f", "testdata/services"}

// TestReachService: a Service destination is judged per endpoint, on its
// targetPort, along the path the client's dataplane takes.
func TestReachService(t *testing.T) {
	for _, tc := range []struct {
		name, from, to string
		port           []string
		code           int
		want           string // stdout, exact
		stderr         string // a fragment
	}{
		{name: "captured client through the Service's waypoint: the waypoint's hop to the endpoint is denied", from: "apps/client", to: "svc/billing/api",
			want: "denied   apps/client -> svc/billing/api 80/TCP (http) → billing/api 8080/TCP  carried as HBONE via waypoint billing/waypoint: 80 → 15008, then to billing/api as HBONE: 8080 → 15008; billing/waypoint -> billing/api: ingress denied: billing/api is isolated for ingress by NetworkPolicy billing/api and no rule admits billing/waypoint on 15008/TCP\n"},
		{name: "the waypoint reaches an endpoint outside the mesh plainly on the targetPort", from: "apps/client", to: "svc/billing/batch:80",
			want: "allowed  apps/client -> svc/billing/batch 80/TCP → billing/batch 8080/TCP  carried as HBONE via waypoint billing/waypoint: 80 → 15008, then plainly to billing/batch (outside the mesh) on 8080; all 2 hops allowed (apps/client -> billing/waypoint, billing/waypoint -> billing/batch)\n"},
		{name: "captured to captured without a waypoint: HBONE to the endpoint", from: "apps/client", to: "svc/apps/loki", port: []string{"3100"},
			want: "denied   apps/client -> svc/apps/loki 3100/TCP (http-metrics) → apps/loki 3100/TCP  carried as HBONE: 3100 → 15008 (targetPort 3100); ingress denied: apps/loki is isolated for ingress by NetworkPolicy apps/loki and no rule admits apps/client on 15008/TCP\n"},
		{name: "a named Service port to a named targetPort", from: "apps/client", to: "svc/apps/grafana:web",
			want: "allowed  apps/client -> svc/apps/grafana 80/TCP (web) → apps/grafana 3000/TCP  carried as HBONE: 80 → 15008 (targetPort 3000); egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy apps/grafana rule ingress[0]\n"},
		{name: "no port: every Service port, UDP never as HBONE", from: "apps/client", to: "svc/apps/grafana",
			want: "allowed  apps/client -> svc/apps/grafana 80/TCP (web) → apps/grafana 3000/TCP  carried as HBONE: 80 → 15008 (targetPort 3000); egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy apps/grafana rule ingress[0]\n" +
				"denied   apps/client -> svc/apps/grafana 8125/UDP (udp-stats) → apps/grafana 8125/UDP  direct to the endpoint: 8125 → 8125; ingress denied: apps/grafana is isolated for ingress by NetworkPolicy apps/grafana and no rule admits apps/client on 8125/UDP\n"},
		{name: "a named targetPort numbered per pod; a selected pod without it is no endpoint", from: "apps/client", to: "svc/pay/pay", port: []string{"http"},
			want: "allowed  apps/client -> svc/pay/pay 80/TCP (http) → pay/pay-v1 8080/TCP  carried as HBONE: 80 → 15008 (targetPort 8080); egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy pay/pay rule ingress[0]\n" +
				"allowed  apps/client -> svc/pay/pay 80/TCP (http) → pay/pay-v2 9090/TCP  carried as HBONE: 80 → 15008 (targetPort 9090); egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy pay/pay rule ingress[0]\n",
			stderr: "note: svc/pay/pay 80/TCP: pay/pay-cron has no TCP container port named http; not an endpoint"},
		{name: "an uncaptured client goes direct to the targetPort", from: "legacy/db", to: "svc/pay/pay:80",
			want: "denied   legacy/db -> svc/pay/pay 80/TCP (http) → pay/pay-v1 8080/TCP  direct to the endpoint: 80 → 8080; ingress denied: pay/pay-v1 is isolated for ingress by NetworkPolicy pay/pay and no rule admits legacy/db on 8080/TCP\n" +
				"denied   legacy/db -> svc/pay/pay 80/TCP (http) → pay/pay-v2 9090/TCP  direct to the endpoint: 80 → 9090; ingress denied: pay/pay-v2 is isolated for ingress by NetworkPolicy pay/pay and no rule admits legacy/db on 9090/TCP\n"},
		{name: "a sidecar client bypasses the Service's waypoint", from: "side/sleep", to: "svc/billing/api:80",
			want: "denied   side/sleep -> svc/billing/api 80/TCP (http) → billing/api 8080/TCP  carried as HBONE by the sidecar: 80 → 15008 (targetPort 8080), bypassing waypoint billing/waypoint (sidecars never use waypoints); ingress denied: billing/api is isolated for ingress by NetworkPolicy billing/api and no rule admits side/sleep on 15008/TCP\n"},
		{name: "captured client to an endpoint outside the mesh: plain", from: "apps/client", to: "svc/legacy/db",
			want: "allowed  apps/client -> svc/legacy/db 5432/TCP (pg) → legacy/db 5432/TCP  ztunnel sends it plainly, legacy/db is outside the mesh: 5432 → 5432; egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy legacy/db rule ingress[0]\n"},
		{name: "no endpoints is a denial, said", from: "apps/client", to: "svc/apps/ghost",
			want: "denied   apps/client -> svc/apps/ghost 80/TCP  no endpoints: the Service selects no pods\n"},
		{name: "a wildcard source skips the endpoint itself", from: "billing/*", to: "svc/billing/batch",
			want: "allowed  billing/api -> svc/billing/batch 80/TCP → billing/batch 8080/TCP  carried as HBONE via waypoint billing/waypoint: 80 → 15008, then plainly to billing/batch (outside the mesh) on 8080; all 2 hops allowed (billing/api -> billing/waypoint, billing/waypoint -> billing/batch)\n" +
				"allowed  billing/waypoint -> svc/billing/batch 80/TCP → billing/batch 8080/TCP  direct to the endpoint: 80 → 8080; egress allowed: no NetworkPolicy selects billing/waypoint for egress; ingress allowed: no NetworkPolicy selects billing/batch for ingress\n"},

		{name: "ExternalName", from: "apps/client", to: "svc/apps/outside", code: 2, stderr: "--to svc/apps/outside: an ExternalName Service (example.com) has no endpoints in the cluster"},
		{name: "unknown Service", from: "apps/client", to: "svc/apps/nope", code: 2, stderr: "--to svc/apps/nope: no Service nope in namespace apps (it holds ghost, grafana, loki, outside)"},
		{name: "unknown port", from: "apps/client", to: "svc/apps/loki:9999", code: 2, stderr: "Service apps/loki has no TCP port 9999 (it has 3100/TCP (http-metrics))"},
		{name: "port twice", from: "apps/client", to: "svc/apps/loki:3100", port: []string{"3100"}, code: 2, stderr: "give the port once"},
		{name: "malformed", from: "apps/client", to: "svc/apps", code: 2, stderr: `"svc/apps": want svc/NS/NAME or svc/NS/NAME:PORT`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, meshAndServices...), "--from", tc.from, "--to", tc.to)
			for _, p := range tc.port {
				args = append(args, "--port", p)
			}
			code, out, errOut := run(t, nil, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if tc.code == 0 && out != tc.want {
				t.Errorf("stdout\n got %q\nwant %q", out, tc.want)
			}
			if tc.code != 0 && out != "" {
				t.Errorf("bad input printed verdicts: %s", out)
			}
			if !strings.Contains(errOut, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errOut)
			}
		})
	}
}

// TestReachServiceGolden is the CLI's output for Service destinations, in
// text and JSON, as a reviewer reads it.
func TestReachServiceGolden(t *testing.T) {
	var got strings.Builder
	for _, q := range [][]string{
		{"--from", "apps/client", "--to", "svc/billing/api"},
		{"--from", "apps/client", "--to", "svc/pay/pay"},
		{"--from", "side/sleep", "--to", "svc/billing/api"},
		{"--from", "203.0.113.9", "--to", "svc/apps/grafana:web"},
	} {
		for _, o := range []string{"text", "json"} {
			args := append(append(append([]string{}, meshAndServices...), q...), "-o", o)
			code, out, errOut := run(t, nil, args...)
			got.WriteString("$ ambx reach " + strings.Join(args, " ") + "\n" + out)
			if errOut != "" {
				got.WriteString("stderr: " + errOut)
			}
			if code != 0 {
				t.Fatalf("%v: exit %d: %s", q, code, errOut)
			}
			if o == "json" {
				for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
					var r Result
					if err := json.Unmarshal([]byte(l), &r); err != nil || r.Service == "" || r.ServicePort == 0 || r.To == "" {
						t.Errorf("json line %q: %+v %v", l, r, err)
					}
				}
			}
		}
	}
	const path = "testdata/services.golden"
	if *update {
		if err := os.WriteFile(path, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("output differs from %s (-update to rewrite):\n%s", path, got.String())
	}
}

// TestReachServiceLive: on a live cluster only ready pods are endpoints,
// unless the Service publishes not-ready addresses.
func TestReachServiceLive(t *testing.T) {
	ready := func(ok bool) []corev1.PodCondition {
		s := corev1.ConditionFalse
		if ok {
			s = corev1.ConditionTrue
		}
		return []corev1.PodCondition{{Type: corev1.PodReady, Status: s}}
	}
	pod := func(n, ip string, ok bool) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: n, Labels: map[string]string{"app": "web"}},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}, Conditions: ready(ok)}}
	}
	svc := func(name string, publish bool) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: name},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, PublishNotReadyAddresses: publish, ClusterIP: "10.96.0.10",
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	}
	client := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}},
		pod("web-ready", "10.244.1.5", true), pod("web-starting", "10.244.1.6", false),
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "client"}, Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.9", Conditions: ready(true)}},
		svc("web", false), svc("web-all", true),
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "deny"}, Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}}},
	)
	connect := func() (*kube.Clients, error) { return &kube.Clients{Kube: client, Fake: true}, nil }
	code, out, errOut := run(t, connect, "--from", "a/client", "--to", "svc/a/web")
	want := "denied   a/client -> svc/a/web 80/TCP (http) → a/web-ready 8080/TCP  direct to the endpoint: 80 → 8080; ingress denied: a/web-ready is isolated for ingress by NetworkPolicy a/deny and no rule admits a/client on 8080/TCP\n"
	if code != 0 || out != want {
		t.Errorf("exit %d\n got %q\nwant %q\nstderr %s", code, out, want, errOut)
	}
	if !strings.Contains(errOut, "note: svc/a/web 80/TCP: a/web-starting is not ready; not an endpoint") {
		t.Errorf("stderr lacks the not-ready note: %q", errOut)
	}
	_, out, _ = run(t, connect, "--from", "a/client", "--to", "svc/a/web-all:http")
	if strings.Count(out, "\n") != 2 || !strings.Contains(out, "→ a/web-starting 8080/TCP") {
		t.Errorf("publishNotReadyAddresses: both pods are endpoints, got:\n%s", out)
	}
}

// TestSidecarSendsHBONEOnlyWhenIstiodSaysSo: with istiod's
// PILOT_ENABLE_SENDING_HBONE off, a sidecar connects to the endpoint's
// targetPort (plaintext, which the ambient endpoint's ztunnel takes as
// inbound plaintext), so 15008 is not what the policies are asked about;
// on (the default), it tunnels to 15008. Either way it skips the waypoint.
func TestSidecarSendsHBONEOnlyWhenIstiodSaysSo(t *testing.T) {
	for _, tc := range []struct {
		env  string
		want string
	}{
		{"true", "denied   side/sleep -> svc/billing/api 80/TCP (http) → billing/api 8080/TCP  carried as HBONE by the sidecar: 80 → 15008 (targetPort 8080), bypassing waypoint billing/waypoint (sidecars never use waypoints); ingress denied: billing/api is isolated for ingress by NetworkPolicy billing/api, billing/api-side and no rule admits side/sleep on 15008/TCP\n"},
		{"false", "allowed  side/sleep -> svc/billing/api 80/TCP (http) → billing/api 8080/TCP  sent by the sidecar to the app port, not as HBONE (istiod's PILOT_ENABLE_SENDING_HBONE is off): 80 → 8080, bypassing waypoint billing/waypoint (sidecars never use waypoints); egress allowed: no NetworkPolicy selects side/sleep for egress; ingress allowed by NetworkPolicy billing/api-side rule ingress[0]\n"},
	} {
		dir := t.TempDir()
		doc := istiodDeployment("1.29.2", "PILOT_ENABLE_SENDING_HBONE", tc.env) + `---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: api-side, namespace: billing}
spec:
  podSelector: {matchLabels: {app: api}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: side}}}]
    ports: [{port: 8080}]
`
		if err := os.WriteFile(dir+"/istiod.yaml", []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := run(t, nil, append(meshAndServices, "-f", dir, "side/sleep", "svc/billing/api:80")...)
		if code != exitOK || out != tc.want {
			t.Errorf("PILOT_ENABLE_SENDING_HBONE=%s: exit %d\n got %q\nwant %q\nstderr %s", tc.env, code, out, tc.want, errOut)
		}
	}
}

// istiodDeployment is an istiod Deployment of the version with ambient on
// and the env given as name, value pairs: what kube/install reads.
func istiodDeployment(version string, env ...string) string {
	doc := `
apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod, istio.io/rev: default}}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec:
      containers:
      - name: discovery
        image: docker.io/istio/pilot:` + version + `
        env:
        - {name: PILOT_ENABLE_AMBIENT, value: "true"}
`
	for i := 0; i+1 < len(env); i += 2 {
		doc += `        - {name: ` + env[i] + `, value: "` + env[i+1] + `"}` + "\n"
	}
	return doc
}
