package ztread_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/ztread"
)

// These tests read a ztunnel through a real API server the way ambx does
// on a real cluster: config_dump and metrics over one port-forward (kwok's
// PortForward connects each port to a fake server on loopback), and a
// waypoint's metrics over the pod proxy (the node's podCIDR is on
// loopback, so the API server dials a fake metrics server there). The
// fakes serve recorded ztunnel and waypoint output.

func serve(t *testing.T, addr, path, file string) string {
	t.Helper()
	body, err := os.ReadFile("../ztunnel/testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s: %v", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func setup(t *testing.T) (*kubeenv.Env, ztread.Pod, string) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true, Audit: true, PodNetwork: true})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "istio-system", nil)
	zt := env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "ztunnel-x7k2p", Labels: map[string]string{"app": "ztunnel"}},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/ztunnel:1.30.1",
			Ports: []corev1.ContainerPort{{ContainerPort: 15020, Name: "ztunnel-stats"}}}}},
	})
	zt = env.WaitPodRunning(t, zt.Namespace, zt.Name)
	if net.ParseIP(zt.Status.PodIP) == nil {
		t.Fatalf("ztunnel pod has no IP: %+v", zt.Status)
	}
	return env, ztread.Pod{Namespace: zt.Namespace, Name: zt.Name, Node: node.Name}, zt.Status.PodIP
}

// forward points kwok's port-forward of pod at the fake servers, by port:
// one PortForward object per pod holds all its forwards.
func forward(t *testing.T, env *kubeenv.Env, zt ztread.Pod, targets map[int]string) {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kwok.x-k8s.io/v1alpha1\nkind: PortForward\nmetadata:\n  name: %s\n  namespace: %s\nspec:\n  forwards:\n", zt.Name, zt.Namespace)
	for _, port := range []int{ztread.AdminPort, ztread.MetricsPort} {
		addr, ok := targets[port]
		if !ok {
			continue
		}
		host, tport, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  - ports: [%d]\n    target:\n      address: %s\n      port: %s\n", port, host, tport)
	}
	env.Apply(t, b.String())
}

// retry reads until read succeeds: kwok picks up a PortForward object
// asynchronously, and until then answers "no forward found".
func retry(t *testing.T, what string, read func() error) {
	t.Helper()
	var err error
	for i := 0; i < 200; i++ {
		if err = read(); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %v", what, err)
}

// A ztunnel's config_dump and metrics, read again and again through the
// real API server in read-only mode, cost no port-forward request after the
// first scrape that served and no pod-proxy request: every read is a stream
// pair on the one connection, including reads the pod refused.
func TestReadThroughAPIServer(t *testing.T) {
	kubeenv.Require(t)
	env, zt, ip := setup(t)
	admin := serve(t, "127.0.0.1:0", "/config_dump", "list-dump.json")
	metricsAddr := serve(t, "127.0.0.1:0", "/metrics", "metrics.txt")
	// The pod proxy would reach a metrics server too; ambx must not use it.
	env.ServePodPort(t, ip, ztread.MetricsPort, metricsAddr)
	forward(t, env, zt, map[int]string{ztread.MetricsPort: metricsAddr})

	// Read-only, as ambx runs for an audit: the guard is in the transport.
	// Its own user agent tells its requests from the harness's.
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(guard.Wrap)
	cfg.UserAgent = "ztread-test"
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &ztread.Live{Config: cfg, Client: client}
	mark := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	checkDump := func() error {
		d, err := r.ConfigDump(ctx, zt)
		if err != nil {
			return err
		}
		if len(d.Workloads) != 3 || d.Version != "1.30.1" || d.Services[0].Waypoint != "shop/waypoint.shop.svc.cluster.local" {
			t.Fatalf("config_dump through the port-forward: %+v", d)
		}
		return nil
	}
	checkMetrics := func() error {
		s, err := r.Metrics(ctx, zt)
		if err != nil {
			return err
		}
		if s.Version != "1.30.1" || len(s.Edges) != 2 || s.ActiveProxies != 3 {
			t.Fatalf("metrics through the port-forward: version %q edges %d proxies %d", s.Version, len(s.Edges), s.ActiveProxies)
		}
		return nil
	}
	// The rate columns' scrape comes first here: its connection is kept
	// once a scrape served (until kwok applies the forward, each failed
	// try dials anew: a failed read keeps nothing).
	retry(t, "metrics through a real port-forward", checkMetrics)
	served := time.Now()

	// No forward for 15000 yet: kwok refuses the stream, the read says so,
	// and the connection stays for the reads after.
	err = checkDump()
	if err == nil || !strings.Contains(err.Error(), "port-forward to port 15000") || !strings.Contains(err.Error(), zt.Name) {
		t.Fatalf("config_dump of a port with no forward: %v, want kwok's refusal naming the pod and port", err)
	}
	forward(t, env, zt, map[int]string{ztread.AdminPort: admin, ztread.MetricsPort: metricsAddr})
	retry(t, "config_dump through a real port-forward", checkDump)
	for i := 0; i < 3; i++ {
		if err := checkDump(); err != nil {
			t.Fatalf("config_dump read %d on the pooled connection: %v", i, err)
		}
		if err := checkMetrics(); err != nil {
			t.Fatalf("metrics read %d on the pooled connection: %v", i, err)
		}
	}

	// The guard admits port-forwards to the ztunnel it was asked for and
	// nothing else: another pod's port-forward is refused before it leaves.
	other := zt
	other.Name = "not-a-ztunnel"
	req := client.CoreV1().RESTClient().Post().Resource("pods").Namespace(other.Namespace).Name(other.Name).SubResource("portforward")
	err = req.Do(ctx).Error()
	var ro *guard.ErrReadOnly
	if !errors.As(err, &ro) {
		t.Fatalf("a port-forward to another pod in read-only mode: %v, want refused by the guard", err)
	}

	// The one connection is still open: the API server audited its start.
	open := 0
	for i := 0; i < 50 && open == 0; i++ {
		for _, ev := range env.OpenRequests(t) {
			if ev.UserAgent == cfg.UserAgent && ev.ObjectRef != nil && ev.ObjectRef.Subresource == "portforward" && !ev.Received.Time.Before(mark) {
				open++
			}
		}
		if open == 0 {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if open != 1 {
		t.Fatalf("port-forwards open after the reads: %d, want the one pooled connection", open)
	}

	// A port-forward's completion is audited when it ends: close the
	// reader, then wait for its entry and a little longer for any other.
	r.Close()
	if _, err := r.ConfigDump(ctx, zt); err == nil {
		t.Fatal("a read after Close succeeded")
	}
	var forwards, proxies, writes []kubeenv.AuditEvent
	collect := func() {
		forwards, proxies, writes = nil, nil, nil
		for _, ev := range env.AuditEvents(t) {
			if ev.Received.Time.Before(mark) || ev.UserAgent != cfg.UserAgent {
				continue
			}
			switch {
			case ev.ObjectRef != nil && ev.ObjectRef.Subresource == "portforward":
				forwards = append(forwards, ev)
			case ev.ObjectRef != nil && ev.ObjectRef.Subresource == "proxy":
				proxies = append(proxies, ev)
			case ev.Verb != "get" && ev.Verb != "list" && ev.Verb != "watch":
				writes = append(writes, ev)
			}
		}
	}
	for i := 0; i < 100 && len(forwards) == 0; i++ {
		time.Sleep(100 * time.Millisecond)
		collect()
	}
	time.Sleep(time.Second)
	collect()
	after := 0
	for _, ev := range forwards {
		if ev.ObjectRef.Name != zt.Name {
			t.Errorf("a port-forward to another pod: %s", ev)
		}
		if !ev.Received.Time.Before(served) {
			after++
		}
	}
	if len(forwards) == 0 || after != 0 {
		t.Fatalf("port-forward requests: %d in all, %d after the first scrape that served; want the 9 reads after it (one refused) to cost none: %v", len(forwards), after, forwards)
	}
	for _, ev := range proxies {
		t.Errorf("a ztunnel read went through the pod proxy: %s", ev)
	}
	for _, ev := range writes {
		t.Errorf("read-only reading sent a mutating request other than the ztunnel port-forward: %s", ev)
	}
}

// A waypoint's istio_requests_total through the real pod proxy, read-only.
func TestWaypointRequestsThroughAPIServer(t *testing.T) {
	kubeenv.Require(t)
	env, zt, _ := setup(t)
	env.CreateNamespace(t, "ambient-apps", nil)
	wp := env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ambient-apps", Name: "waypoint-6d8-q1w2e", Labels: map[string]string{
			"gateway.networking.k8s.io/gateway-name": "waypoint", "gateway.istio.io/managed": "istio.io-mesh-controller"}},
		Spec: corev1.PodSpec{NodeName: zt.Node, Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.30.1",
			Ports: []corev1.ContainerPort{{ContainerPort: 15020, Name: "metrics"}}}}},
	})
	wp = env.WaitPodRunning(t, wp.Namespace, wp.Name)
	body, err := os.ReadFile("../waypointstats/testdata/stats.txt")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Skipf("cannot listen: %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stats/prometheus", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(body) })
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	env.ServePodPort(t, wp.Status.PodIP, 15020, ln.Addr().String())

	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(guard.Wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	pods, err := client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var list []*corev1.Pod
	for i := range pods.Items {
		list = append(list, &pods.Items[i])
	}
	found := ztread.Waypoints(list)
	if len(found) != 1 || found[0].Name != wp.Name || found[0].Node != "waypoint" {
		t.Fatalf("waypoint pods found: %+v", found)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := (&ztread.Live{Config: cfg, Client: client}).WaypointRequests(ctx, found[0])
	if err != nil {
		t.Fatalf("waypoint metrics through the pod proxy: %v", err)
	}
	if len(s.Requests) != 2 {
		t.Fatalf("istio_requests_total series: %+v", s.Requests)
	}
}
