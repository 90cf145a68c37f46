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

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/traffic"
)

// The traffic view against a real API server: ztunnel metrics travel
// through the pod proxy (the API server's egress goes to the env's loopback
// pod network, where a fake ztunnel serves growing counters), and two
// polls give the live rate of the web → api edge.
func TestTrafficThroughThePodProxy(t *testing.T) {
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
	env.ServePodPort(t, zt.Status.PodIP, ztread.MetricsPort, ln.Addr().String())

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
		t.Fatalf("rates through the pod proxy = %+v", rates)
	}
}
