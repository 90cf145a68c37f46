package traffic_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/waypointstats"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/traffic"
)

// The traffic view against a real API server: ztunnel metrics travel
// through a port-forward to the ztunnel pod (kwok connects it to a fake
// ztunnel on loopback serving growing counters), and two polls give the
// live rate of the web → api edge.
func TestTrafficThroughAPortForward(t *testing.T) {
	kubeenv.Require(t)
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true, PodNetwork: true})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "istio-system", nil)
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient"})
	zt := env.WaitPodRunning(t, "istio-system", env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "ztunnel-x7k2p", Labels: map[string]string{"app": "ztunnel"}},
		Spec:       corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/ztunnel:1.30.1"}}},
	}).Name)
	for _, name := range []string{"web-5f6c-xyz12", "api-7d4b9-abcde"} {
		app := strings.SplitN(name, "-", 2)[0]
		env.CreatePod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: map[string]string{"app": app},
				Annotations: map[string]string{"ambient.istio.io/redirection": "enabled"}},
			Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: app, Image: "example/" + app}}},
		})
	}

	// A ztunnel whose web → api counter grows by 10 connections and 8 KiB
	// between scrapes.
	var scrapes atomic.Int64
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := scrapes.Add(1)
		labels := `reporter="source",source_workload="web",source_workload_namespace="shop",source_principal="spiffe://cluster.local/ns/shop/sa/default",destination_service="api.shop.svc.cluster.local",destination_workload="api",destination_workload_namespace="shop",connection_security_policy="mutual_tls",response_flags="-"`
		fmt.Fprintf(w, "# TYPE istio_tcp_connections_opened counter\nistio_tcp_connections_opened_total{%s} %d\n# TYPE istio_tcp_sent_bytes counter\nistio_tcp_sent_bytes_total{%s} %d\n# EOF\n", labels, 10*n, labels, 8192*n)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	env.ForwardPort(t, zt.Namespace, zt.Name, ztread.MetricsPort, ln.Addr().String())

	clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	snap, err := kube.SnapshotOnce(sctx, clients)
	if err != nil {
		t.Fatal(err)
	}
	reader := &ztread.Live{Config: env.Config, Client: env.Client}
	defer reader.Close()
	waitForward(t, reader, zt)
	poll := func(pods []ztread.Pod) func() []traffic.Result {
		return func() []traffic.Result {
			var out []traffic.Result
			for _, p := range pods {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				s, err := reader.Metrics(ctx, p)
				cancel()
				out = append(out, traffic.Result{Pod: p, Scrape: s, Err: err})
			}
			return out
		}
	}
	at := time.Now()
	m, cmd := traffic.Open(theme.Plain, snap, poll, 1, at)
	m = m.SetSize(160, 10)
	m, _ = m.Update(cmd())
	m, cmd = m.Tick(at.Add(traffic.Period))
	if cmd == nil {
		t.Fatalf("no second poll:\n%s", m.View(160, 10))
	}
	m, _ = m.Update(cmd())
	v := m.View(160, 10)
	if !strings.Contains(v, "shop/web") || !strings.Contains(v, "shop/api") || !strings.Contains(v, "yes") {
		t.Fatalf("the web → api edge is not on screen:\n%s", v)
	}
	rates := m.Rates()
	if len(rates) != 1 || rates[0].Opened != 10 || rates[0].SentPerSec <= 0 {
		t.Fatalf("rates through the port-forward = %+v", rates)
	}
}

// waitForward reads zt's metrics until they come: kwok picks up a
// PortForward object asynchronously, answering "no forward found" until
// then.
func waitForward(t *testing.T, r *ztread.Live, zt *corev1.Pod) {
	t.Helper()
	p := ztread.Pod{Namespace: zt.Namespace, Name: zt.Name, Node: zt.Spec.NodeName, UID: string(zt.UID)}
	var err error
	for i := 0; i < 200; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err = r.Metrics(ctx, p)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("ztunnel metrics through the port-forward: %v", err)
}

// The traffic view's waypoint L7 section against a real API server: a
// waypoint pod (found by istiod's labels) serves istio_requests_total on
// :15020/stats/prometheus from a fake pilot-agent on loopback, the view
// reads it through the pod proxy with the read-only guard in the
// transport, and two polls put the request rates by response code on
// screen.
func TestTrafficL7ThroughThePodProxy(t *testing.T) {
	kubeenv.Require(t)
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true, PodNetwork: true})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "istio-system", nil)
	env.CreateNamespace(t, "ambient-apps", map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"})
	zt := env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "ztunnel-x7k2p", Labels: map[string]string{"app": "ztunnel"}},
		Spec:       corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/ztunnel:1.30.1"}}},
	})
	wp := env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ambient-apps", Name: "waypoint-6d8c9-q1w2e", Labels: map[string]string{
			"gateway.networking.k8s.io/gateway-name": "waypoint", "gateway.istio.io/managed": "istio.io-mesh-controller"}},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.30.1"}}},
	})

	// The ztunnel answers with no traffic; the waypoint's counters grow by
	// 40 answered and 5 forbidden requests between scrapes.
	listen := func(h http.HandlerFunc) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: h}
		go func() { _ = srv.Serve(ln) }()
		t.Cleanup(func() { _ = srv.Close() })
		return ln.Addr().String()
	}
	env.ForwardPort(t, zt.Namespace, zt.Name, ztread.MetricsPort, listen(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "# TYPE istio_build gauge\nistio_build{component=\"ztunnel\",tag=\"1.30.1\"} 1\n")
	}))
	var scrapes atomic.Int64
	var paths atomic.Value
	env.ServePodPort(t, wp.Status.PodIP, waypointstats.Port, listen(func(w http.ResponseWriter, r *http.Request) {
		paths.Store(r.URL.Path)
		if r.URL.Path != "/"+waypointstats.Path {
			http.NotFound(w, r)
			return
		}
		n := scrapes.Add(1)
		series := `reporter="waypoint",source_workload="sleep",source_workload_namespace="ambient-apps",source_principal="spiffe://cluster.local/ns/ambient-apps/sa/sleep",destination_service="httpbin.ambient-apps.svc.cluster.local",destination_workload="httpbin",destination_workload_namespace="ambient-apps",request_protocol="http",response_flags="-",connection_security_policy="mutual_tls"`
		fmt.Fprintf(w, "# TYPE istio_requests_total counter\nistio_requests_total{%s,response_code=\"200\"} %d\nistio_requests_total{%s,response_code=\"403\"} %d\n", series, 40*n, series, 5*n)
	}))

	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(guard.Wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	snap, err := kube.SnapshotOnce(sctx, clients)
	if err != nil {
		t.Fatal(err)
	}
	// Each reader's clock moves 5 s per read, so the rates are exact.
	at := time.Now()
	clock := func() func() time.Time {
		var n atomic.Int64
		return func() time.Time { return at.Add(time.Duration(n.Add(1)) * traffic.Period) }
	}
	ztReader := &ztread.Live{Config: cfg, Client: client, Now: clock()}
	wpReader := &ztread.Live{Config: cfg, Client: client, Now: clock()}
	defer ztReader.Close()
	waitForward(t, ztReader, zt)
	poll := func(pods []ztread.Pod) func() []traffic.Result {
		return func() []traffic.Result {
			var out []traffic.Result
			for _, p := range pods {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				s, err := ztReader.Metrics(ctx, p)
				cancel()
				out = append(out, traffic.Result{Pod: p, Scrape: s, Err: err})
			}
			return out
		}
	}
	wpoll := func(pods []ztread.Pod) func() []traffic.WaypointResult {
		return func() []traffic.WaypointResult {
			var out []traffic.WaypointResult
			for _, p := range pods {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				s, err := wpReader.WaypointRequests(ctx, p)
				cancel()
				out = append(out, traffic.WaypointResult{Pod: p, Scrape: s, Err: err})
			}
			return out
		}
	}
	const w, h = 160, 24
	m, cmd := traffic.OpenL7(theme.Plain, snap, poll, wpoll, 1, at)
	m = m.SetSize(w, h)
	m, _ = m.Update(cmd())
	if v := m.View(w, h); !strings.Contains(v, "Waypoint L7") || !strings.Contains(v, "rates need two reads") {
		t.Fatalf("after one read the L7 section should wait for a second:\n%s", v)
	}
	m, cmd = m.Tick(at.Add(traffic.Period))
	if cmd == nil {
		t.Fatalf("no second poll:\n%s", m.View(w, h))
	}
	m, _ = m.Update(cmd())
	if got := scrapes.Load(); got != 2 {
		t.Fatalf("the waypoint was scraped %d times (last path %v), want 2", got, paths.Load())
	}
	v := m.View(w, h)
	var rows []string
	for _, line := range strings.Split(v, "\n") {
		if strings.Contains(line, "ambient-apps/waypoint") && strings.Contains(line, "ambient-apps/sleep") {
			rows = append(rows, strings.Join(strings.Fields(line), " "))
		}
	}
	// One Service: the column rules name it in the section's title.
	want := []string{
		"ambient-apps/waypoint ambient-apps/sleep 200 8.00",
		"ambient-apps/waypoint ambient-apps/sleep 403 1.00",
	}
	if strings.Join(rows, "\n") != strings.Join(want, "\n") || !strings.Contains(v, "Waypoint L7 (istio_requests_total) (2) · all: SERVICE=httpbin.ambient-apps.svc.cluster.local") {
		t.Fatalf("L7 rows on screen:\n%s\nwant:\n%s\nscreen:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"), v)
	}
}
