package ztunnel

import (
	"os"
	"strings"
	"testing"
	"time"

	apisecv1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

func readDump(t *testing.T, file string) *Dump {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	d, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDecodeLegacyMapDump(t *testing.T) {
	d := readDump(t, "istioctl-dump.json")
	if !d.Legacy || len(d.Workloads) != 27 || len(d.Services) != 19 || len(d.Policies) != 2 || len(d.Certificates) != 4 {
		t.Fatalf("legacy dump: legacy=%v %d workloads, %d services, %d policies, %d certs",
			d.Legacy, len(d.Workloads), len(d.Services), len(d.Policies), len(d.Certificates))
	}
	var ratings Workload
	for _, w := range d.Workloads {
		if w.Key() == "bookinfo/ratings-v1-6484c4d9bb-mdxm5" {
			ratings = w
		}
	}
	if ratings.Protocol != "HBONE" || ratings.Waypoint != "/10.96.65.117" || ratings.Node != "ambient-worker2" || len(ratings.IPs) != 1 {
		t.Fatalf("ratings workload = %+v", ratings)
	}
	var wp Service
	for _, s := range d.Services {
		if s.Key() == "bookinfo/namespace-istio-waypoint" {
			wp = s
		}
	}
	if wp.Endpoints != 1 || len(wp.VIPs) != 1 || wp.VIPs[0] != "/10.96.65.117" {
		t.Fatalf("waypoint service = %+v", wp)
	}
	if d.Policies[0].Key() != "default/allow-nothing" || d.Policies[0].Rules != 0 || d.Policies[1].Rules != 1 {
		t.Fatalf("policies = %+v", d.Policies)
	}
	if d.Local["bookinfo/productpage-v1-796f87b58-97bjk"] != "Up" {
		t.Fatalf("workloadState not read: %v", d.Local)
	}
}

func TestDecodeListDump(t *testing.T) {
	d := readDump(t, "list-dump.json")
	if d.Legacy || len(d.Workloads) != 3 || len(d.Services) != 2 || d.Version != "1.30.1" {
		t.Fatalf("list dump: %+v", d)
	}
	byKey := map[string]Workload{}
	for _, w := range d.Workloads {
		byKey[w.Key()] = w
	}
	if w := byKey["shop/cart-7d4b9-abcde"]; w.Waypoint != "Kubernetes/10.96.0.50" || w.Protocol != "HBONE" {
		t.Errorf("cart = %+v", w)
	}
	if w := byKey["shop/web-5f6c-xyz12"]; w.Protocol != "TCP" || w.Status != "Healthy" {
		t.Errorf("web (protocol and status omitted, ztunnel's defaults) = %+v", w)
	}
	if s := d.Services[0]; s.Waypoint != "shop/waypoint.shop.svc.cluster.local" || s.Endpoints != 1 {
		t.Errorf("cart service with a hostname waypoint = %+v", s)
	}
	if p := d.Policies[0]; p.Key() != "shop/allow-web" || !p.DryRun || p.Rules != 1 {
		t.Errorf("allow-web = %+v", p)
	}
	want, _ := time.Parse(time.RFC3339, "2026-12-01T12:00:00Z")
	if c := d.Certificates[0]; !c.Expires.Equal(want) {
		t.Errorf("cart cert expires %v, want the chain's earliest %v", c.Expires, want)
	}
}

func TestDecodeRejectsWhatIsNotADump(t *testing.T) {
	for _, in := range []string{``, `[]`, `{"workloads": 3}`, `{"workloads": "x"}`, `not json`} {
		if _, err := Decode([]byte(in)); err == nil {
			t.Errorf("Decode(%q) succeeded", in)
		}
	}
	if d, err := Decode([]byte(`{}`)); err != nil || len(d.Workloads) != 0 {
		t.Errorf("an empty object is an empty dump: %v %v", d, err)
	}
}

func TestParseMetricsOpenMetrics(t *testing.T) {
	f, err := os.Open("testdata/metrics.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t0 := time.Unix(1000, 0)
	s, err := ParseMetrics(f, t0)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.30.1" || s.ActiveProxies != 3 || len(s.Edges) != 2 {
		t.Fatalf("scrape: version %q proxies %d edges %d", s.Version, s.ActiveProxies, len(s.Edges))
	}
	cart := Edge{Reporter: "source", SrcNamespace: "shop", SrcWorkload: "web", SrcPrincipal: "spiffe://cluster.local/ns/shop/sa/web",
		DstNamespace: "shop", DstWorkload: "cart", DstService: "cart.shop.svc.cluster.local", Security: "mutual_tls", Flags: "-"}
	if c := s.Edges[cart]; c.Opened != 120 || c.Closed != 118 || c.Sent != 64000 || c.Received != 3200 {
		t.Fatalf("web→cart counters = %+v", c)
	}

	later := &Scrape{At: t0.Add(10 * time.Second), Edges: map[Edge]Counters{}}
	later.Edges[cart] = Counters{Opened: 140, Closed: 139, Sent: 84000, Received: 4200}
	restarted := s.Edges
	for e, c := range restarted {
		if e.Flags == "NETWORK_POLICY" {
			c.Opened = 2 // counter went down: ztunnel restarted
			later.Edges[e] = c
		}
	}
	rates := Rates(s, later)
	if len(rates) != 2 || rates[0].Edge != cart || rates[0].ConnsPerSec != 2 || rates[0].SentPerSec != 2000 {
		t.Fatalf("rates = %+v", rates)
	}
	if rates[1].Opened != 2 {
		t.Errorf("a counter reset counts from zero: %+v", rates[1])
	}
}

func TestParseMetricsErrors(t *testing.T) {
	if _, err := ParseMetrics(strings.NewReader("istio_build{component=\"ztunnel\" 1\n"), time.Now()); err == nil {
		t.Error("malformed metrics parsed")
	}
	s, err := ParseMetrics(strings.NewReader(""), time.Now())
	if err != nil || len(s.Edges) != 0 || s.ActiveProxies != -1 {
		t.Errorf("empty exposition: %+v %v", s, err)
	}
}

func pod(ns, name, node, ip string, ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Annotations: ann},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip},
	}
}

func codes(fs []finding.Finding) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Code+" "+f.Object.String()] = f.Severity.String()
	}
	return m
}

func TestDrift(t *testing.T) {
	captured := map[string]string{ambient.AnnotationRedirection: "enabled"}
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{ambient.LabelDataplaneMode: "ambient"}}}},
		Pods: []*corev1.Pod{
			pod("shop", "cart-7d4b9-abcde", "node-a", "10.0.1.10", captured), // fine
			pod("shop", "web-5f6c-xyz12", "node-a", "10.0.1.11", captured),   // ztunnel says TCP, and node-a runs no proxy for it
			pod("shop", "gone-1", "node-b", "10.0.1.13", captured),           // ztunnel has no workload
		},
		AuthorizationPolicies: []*secv1.AuthorizationPolicy{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "allow-web"},
				Spec: apisecv1.AuthorizationPolicy{Rules: []*apisecv1.Rule{{}, {}}}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "missing"},
				Spec: apisecv1.AuthorizationPolicy{Rules: []*apisecv1.Rule{{}}}},
		},
	}
	a := ambient.Analyze(c)
	now, _ := time.Parse(time.RFC3339, "2026-12-01T11:30:00Z")
	dump := readDump(t, "list-dump.json")
	got := codes(Drift(c, a, []Reading{
		{Node: "node-a", Pod: "istio-system/ztunnel-a", Dump: dump},
		{Node: "node-b", Pod: "istio-system/ztunnel-b", Err: "forbidden"},
	}, now))
	want := map[string]string{
		"ztunnel-workload-tcp Pod shop/web-5f6c-xyz12":                    "error",
		"ztunnel-no-proxy Pod shop/web-5f6c-xyz12":                        "error",
		"ztunnel-workload-missing Pod shop/gone-1":                        "error",
		"ztunnel-policy-rules-dropped AuthorizationPolicy shop/allow-web": "warning",
		"ztunnel-policy-missing AuthorizationPolicy shop/missing":         "error",
		"ztunnel-cert-failed Pod istio-system/ztunnel-a":                  "error",
		"ztunnel-cert-expiring Pod istio-system/ztunnel-a":                "warning",
	}
	for k, sev := range want {
		if got[k] != sev {
			t.Errorf("missing %s (%s); got %v", k, sev, got)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding %s", k)
		}
	}

	if fs := Drift(c, a, []Reading{{Node: "node-a", Err: "port-forward forbidden"}}, now); len(fs) != 0 {
		t.Errorf("nothing read must judge nothing, got %v", codes(fs))
	}
	empty := Drift(c, a, []Reading{{Node: "node-a", Pod: "istio-system/zt", Dump: &Dump{}}}, now)
	if codes(empty)["ztunnel-no-config Pod istio-system/zt"] != "error" {
		t.Errorf("a ztunnel with no config: %v", codes(empty))
	}
}
