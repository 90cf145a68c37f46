package overhead

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/metrics"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
)

// firstUsage runs the real poller against cfg until it publishes once.
func firstUsage(t *testing.T, cfg *rest.Config) *usage.Usage {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan *usage.Usage, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		metrics.Poller{Client: metricsclient.NewForConfigOrDie(cfg), Period: 200 * time.Millisecond}.Run(ctx, func(u *usage.Usage) {
			select {
			case got <- u:
			default:
			}
		})
	}()
	defer func() { cancel(); <-done }()
	select {
	case u := <-got:
		return u
	case <-time.After(30 * time.Second):
		t.Fatal("the poller published nothing in 30s")
		return nil
	}
}

// snapshot reads the pods and namespaces the analysis needs from the server.
func snapshot(t *testing.T, cs kubernetes.Interface) *kube.Snapshot {
	t.Helper()
	ctx := context.Background()
	c := &ambient.Cluster{}
	nss, err := cs.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range nss.Items {
		c.Namespaces = append(c.Namespaces, &nss.Items[i])
	}
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		c.Pods = append(c.Pods, &pods.Items[i])
	}
	return &kube.Snapshot{Cluster: *c, Mesh: ambient.Analyze(c), Resources: kube.AllRead(), Reachable: true}
}

// hasRow reports whether a line of the box reads want, ignoring alignment.
func hasRow(box, want string) bool {
	for _, l := range strings.Split(box, "\n") {
		l = strings.Trim(l, "│ ")
		if strings.Join(strings.Fields(l), " ") == want {
			return true
		}
		if strings.HasPrefix(strings.Join(strings.Fields(l), " "), want+" (") {
			return true
		}
	}
	return false
}

func usageOf(cpu, mem string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
}

// TestCluster polls a real API server whose metrics.k8s.io APIService is
// served by the harness, and renders what the poller read.
func TestCluster(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{FakeMetrics: true})
	node := env.CreateNode(t, "kwok-1", nil)
	env.CreateNamespace(t, "istio-system", nil)
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient"})
	for _, p := range []struct {
		ns, name  string
		labels    map[string]string
		annotated bool
		cpu, mem  string
	}{
		{"istio-system", "istiod-1", map[string]string{"app": "istiod"}, false, "3m", "39Mi"},
		{"istio-system", "istio-cni-node-1", map[string]string{"k8s-app": "istio-cni-node"}, false, "1m", "14Mi"},
		{"istio-system", "ztunnel-1", map[string]string{"app": "ztunnel", "istio.io/dataplane-mode": "none"}, false, "6m", "8Mi"},
		{"shop", "cart-1", map[string]string{"app": "cart"}, true, "20m", "100Mi"},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, Labels: p.labels},
			Spec:       corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "main", Image: "example.com/" + p.name}}},
		}
		if p.annotated {
			// What istio-cni writes once a ztunnel accepted the pod.
			pod.Annotations = map[string]string{ambient.AnnotationRedirection: "enabled"}
		}
		env.CreatePod(t, pod)
		env.Metrics.SetPod(metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.ns, Name: p.name, Labels: p.labels},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "main", Usage: usageOf(p.cpu, p.mem)}},
		})
	}
	env.Metrics.SetNode(metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: node.Name}, Usage: usageOf("250m", "1Gi")})

	u := firstUsage(t, env.Config)
	if !u.Available {
		t.Fatalf("metrics unavailable through the aggregator: %s", u.Problem)
	}
	if got := u.Nodes[node.Name]; got != (usage.Resources{CPUMilli: 250, MemBytes: 1 << 30}) {
		t.Errorf("node %s = %v, want 250m / 1.0Gi", node.Name, got)
	}
	m := New(theme.Plain, usage.Resources{}).Set(snapshot(t, env.Client), u)
	strip := m.View(120, 1, false)
	if want := "mesh 10m CPU / 61Mi for 1 pod on 1 node · sidecars would be ≈ 1 × 10m / 50Mi = 10m / 50Mi"; !strings.Contains(strip, want) {
		t.Errorf("strip %q lacks %q", strip, want)
	}
	box := m.View(80, 20, true)
	for _, want := range []string{"istiod 1 3m 39Mi", "istio-cni 1 1m 14Mi", "ztunnel 1 6m 8Mi", "total 3 10m 61Mi", "ambient data plane 7m / 22Mi"} {
		if !hasRow(box, want) {
			t.Errorf("box lacks the row %q:\n%s", want, box)
		}
	}
	if !strings.Contains(box, "kwok-1 ") {
		t.Errorf("box lacks node kwok-1's ztunnel:\n%s", box)
	}

	t.Run("forbidden", func(t *testing.T) {
		cfg, err := env.UserConfig(kubeenv.LimitedUser)
		if err != nil {
			t.Fatal(err)
		}
		u := firstUsage(t, cfg)
		strip := New(theme.Plain, usage.Resources{}).Set(nil, u).View(120, 1, false)
		if want := "mesh overhead: metrics unavailable: forbidden: RBAC does not allow listing metrics.k8s.io pods and nodes"; !strings.Contains(strip, want) {
			t.Errorf("strip %q lacks %q", strip, want)
		}
	})
}

// TestClusterWithoutMetricsAPI is a cluster with no metrics-server.
func TestClusterWithoutMetricsAPI(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	u := firstUsage(t, env.Config)
	strip := New(theme.Plain, usage.Resources{}).Set(nil, u).View(120, 1, false)
	if want := "mesh overhead: metrics unavailable: metrics.k8s.io is not served (is metrics-server installed?)"; !strings.Contains(strip, want) {
		t.Errorf("strip %q lacks %q", strip, want)
	}
}
