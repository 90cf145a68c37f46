package ztread_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
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
// on a real cluster: config_dump over a port-forward (kwok's PortForward
// connects it to a fake admin server on loopback) and metrics over the pod
// proxy (the node's podCIDR is on loopback, so the API server dials a fake
// metrics server there). The fakes serve recorded ztunnel output.

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

func TestReadThroughAPIServer(t *testing.T) {
	kubeenv.Require(t)
	env, zt, ip := setup(t)
	admin := serve(t, "127.0.0.1:0", "/config_dump", "list-dump.json")
	env.ForwardPort(t, zt.Namespace, zt.Name, ztread.AdminPort, admin)
	env.ServePodPort(t, ip, ztread.MetricsPort, serve(t, "127.0.0.1:0", "/metrics", "metrics.txt"))

	// Read-only, as ambx runs for an audit: the guard is in the transport.
	cfg := rest.CopyConfig(env.Config)
	cfg.Wrap(guard.Wrap)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &ztread.Live{Config: cfg, Client: client}
	mark := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var dumpErr error
	for i := 0; i < 200; i++ { // kwok picks up the PortForward object asynchronously
		d, err := r.ConfigDump(ctx, zt)
		if err == nil {
			if len(d.Workloads) != 3 || d.Version != "1.30.1" || d.Services[0].Waypoint != "shop/waypoint.shop.svc.cluster.local" {
				t.Fatalf("config_dump through the port-forward: %+v", d)
			}
			dumpErr = nil
			break
		}
		dumpErr = err
		time.Sleep(100 * time.Millisecond)
	}
	if dumpErr != nil {
		t.Fatalf("config_dump through a real port-forward: %v", dumpErr)
	}

	s, err := r.Metrics(ctx, zt)
	if err != nil {
		t.Fatalf("metrics through the pod proxy: %v", err)
	}
	if s.Version != "1.30.1" || len(s.Edges) != 2 || s.ActiveProxies != 3 {
		t.Fatalf("metrics through the pod proxy: version %q edges %d proxies %d", s.Version, len(s.Edges), s.ActiveProxies)
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
	// The audit log is written as requests complete; wait for the
	// port-forward's entry, then check that nothing else was sent.
	var writes []kubeenv.AuditEvent
	forwards := 0
	for i := 0; i < 50 && forwards == 0; i++ {
		writes, forwards = writes[:0], 0
		for _, ev := range env.AuditEvents(t) {
			if ev.Received.Time.Before(mark) || ev.User.Username != kubeenv.AdminUser {
				continue
			}
			if ev.ObjectRef != nil && ev.ObjectRef.Subresource == "portforward" {
				forwards++
			}
			switch ev.Verb {
			case "get", "list", "watch":
			default:
				writes = append(writes, ev)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if forwards == 0 {
		t.Fatal("the audit log shows no port-forward: was config_dump read some other way?")
	}
	for _, ev := range writes {
		if ev.ObjectRef == nil || ev.ObjectRef.Subresource != "portforward" || ev.ObjectRef.Name != zt.Name {
			t.Errorf("read-only reading sent a mutating request other than the ztunnel port-forward: %s", ev)
		}
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
