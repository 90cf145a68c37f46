package kubeenv_test

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	secapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube/kubeenv"
)

// One env serves the subtests that do not need their own; each works in
// its own namespace.
func TestCluster(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{FakeMetrics: true, Audit: true})
	node := env.CreateNode(t, "kwok-node-1", map[string]string{"topology.kubernetes.io/zone": "z1"})
	if node.Labels["topology.kubernetes.io/zone"] != "z1" {
		t.Errorf("node labels = %v, want the zone label given", node.Labels)
	}

	t.Run("kubeconfig reaches the server as admin", func(t *testing.T) {
		cfg, err := clientcmd.BuildConfigFromFlags("", env.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cs := kubernetes.NewForConfigOrDie(cfg)
		v, err := cs.Discovery().ServerVersion()
		if err != nil {
			t.Fatal(err)
		}
		if v.GitVersion != "v1.36.3" {
			t.Errorf("server version %q, want v1.36.3 (build.sh's ldflags)", v.GitVersion)
		}
		if _, err := cs.CoreV1().Namespaces().Get(context.Background(), "kube-system", metav1.GetOptions{}); err != nil {
			t.Errorf("get kube-system: %v", err)
		}
	})

	t.Run("Istio AuthorizationPolicy and waypoint Gateway are stored", func(t *testing.T) {
		ctx := context.Background()
		env.CreateNamespace(t, "crds", map[string]string{"istio.io/dataplane-mode": "ambient"})
		ic := istioclient.NewForConfigOrDie(env.Config)
		ap := &secv1.AuthorizationPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "allow-frontend", Namespace: "crds"},
			Spec: secapi.AuthorizationPolicy{
				TargetRefs: []*typeapi.PolicyTargetReference{{Kind: "Service", Group: "", Name: "backend"}},
				Action:     secapi.AuthorizationPolicy_ALLOW,
				Rules: []*secapi.Rule{{From: []*secapi.Rule_From{{Source: &secapi.Source{
					Principals: []string{"cluster.local/ns/crds/sa/frontend"},
				}}}}},
			},
		}
		if _, err := ic.SecurityV1().AuthorizationPolicies("crds").Create(ctx, ap, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create AuthorizationPolicy: %v", err)
		}
		got, err := ic.SecurityV1().AuthorizationPolicies("crds").Get(ctx, "allow-frontend", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Spec.Action != secapi.AuthorizationPolicy_ALLOW || len(got.Spec.TargetRefs) != 1 || got.Spec.TargetRefs[0].GetName() != "backend" ||
			got.Spec.Rules[0].From[0].Source.Principals[0] != "cluster.local/ns/crds/sa/frontend" {
			t.Errorf("stored AuthorizationPolicy spec = %v, want what was created", got.Spec.String())
		}

		gc := gwclient.NewForConfigOrDie(env.Config)
		gw := &gwv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{Name: "waypoint", Namespace: "crds", Labels: map[string]string{"istio.io/waypoint-for": "service"}},
			Spec: gwv1.GatewaySpec{
				GatewayClassName: "istio-waypoint",
				Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
			},
		}
		if _, err := gc.GatewayV1().Gateways("crds").Create(ctx, gw, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Gateway: %v", err)
		}
		list, err := gc.GatewayV1().Gateways("crds").List(ctx, metav1.ListOptions{LabelSelector: "istio.io/waypoint-for=service"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Spec.GatewayClassName != "istio-waypoint" || list.Items[0].Spec.Listeners[0].Port != 15008 {
			t.Errorf("listed gateways = %+v, want the one waypoint with class istio-waypoint on 15008", list.Items)
		}
	})

	t.Run("pod on a kwok node runs and its log is followed", func(t *testing.T) {
		env.CreateNamespace(t, "logs", nil)
		pod := env.CreatePod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "ztunnel-abc", Namespace: "logs", Labels: map[string]string{"app": "ztunnel"}},
			Spec: corev1.PodSpec{
				NodeName:   node.Name,
				Containers: []corev1.Container{{Name: "istio-proxy", Image: "istio/ztunnel"}},
			},
		})
		if pod.Status.Phase != corev1.PodRunning || !strings.HasPrefix(pod.Status.PodIP, "10.244.") {
			t.Fatalf("pod phase %s IP %q, want Running with an IP from 10.244.0.0/16", pod.Status.Phase, pod.Status.PodIP)
		}
		env.AppendPodLog(t, "logs", pod.Name, "istio-proxy", "first line", "second line")
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		raw, err := env.Client.CoreV1().Pods("logs").GetLogs(pod.Name, &corev1.PodLogOptions{Container: "istio-proxy"}).DoRaw(ctx)
		if err != nil {
			t.Fatalf("get log: %v", err)
		}
		if string(raw) != "first line\nsecond line\n" {
			t.Errorf("log = %q, want the two lines written", raw)
		}

		stream, err := env.Client.CoreV1().Pods("logs").GetLogs(pod.Name, &corev1.PodLogOptions{Container: "istio-proxy", Follow: true, Timestamps: true}).Stream(ctx)
		if err != nil {
			t.Fatalf("follow log: %v", err)
		}
		defer stream.Close()
		lines := make(chan string)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stream)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		for _, want := range []string{"first line", "second line"} {
			if got := <-lines; !strings.HasSuffix(got, " "+want) {
				t.Fatalf("followed line %q, want a timestamp then %q", got, want)
			}
		}
		appended := time.Now()
		env.AppendPodLog(t, "logs", pod.Name, "istio-proxy", `error access connection complete src.addr=10.244.0.5:4711 dst.addr=10.244.0.6:8080`)
		select {
		case got := <-lines:
			if !strings.HasSuffix(got, "dst.addr=10.244.0.6:8080") {
				t.Errorf("followed line %q, want the appended one", got)
			}
			t.Logf("appended line arrived after %s", time.Since(appended).Round(time.Millisecond))
		case <-ctx.Done():
			t.Fatal("appended line did not arrive through the followed stream")
		}
	})

	t.Run("fake metrics through the aggregated API", func(t *testing.T) {
		ctx := context.Background()
		env.Metrics.SetPod(metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: "metrics", Labels: map[string]string{"app": "web"}},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{
				corev1.ResourceCPU:    resource.MustParse("250m"),
				corev1.ResourceMemory: resource.MustParse("64Mi"),
			}}},
		})
		env.Metrics.SetPod(metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: "db-1", Namespace: "metrics", Labels: map[string]string{"app": "db"}}})
		env.Metrics.SetNode(metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: node.Name}, Usage: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("1500m"),
		}})
		mc := metricsclient.NewForConfigOrDie(env.Config)
		pm, err := mc.MetricsV1beta1().PodMetricses("metrics").Get(ctx, "web-1", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get PodMetrics: %v", err)
		}
		if cpu := pm.Containers[0].Usage[corev1.ResourceCPU]; cpu.MilliValue() != 250 {
			t.Errorf("web-1 cpu = %s, want 250m", cpu.String())
		}
		if mem := pm.Containers[0].Usage[corev1.ResourceMemory]; mem.Value() != 64<<20 {
			t.Errorf("web-1 memory = %s, want 64Mi", mem.String())
		}
		list, err := mc.MetricsV1beta1().PodMetricses("metrics").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 || list.Items[0].Name != "web-1" {
			t.Errorf("pods with app=web: %d items, want only web-1", len(list.Items))
		}
		if _, err := mc.MetricsV1beta1().PodMetricses("metrics").Get(ctx, "absent", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get absent PodMetrics: err = %v, want NotFound", err)
		}
		nm, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, node.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if cpu := nm.Usage[corev1.ResourceCPU]; cpu.MilliValue() != 1500 {
			t.Errorf("node cpu = %s, want 1500m", cpu.String())
		}
		// A client that asks for protobuf, as ambx does, gets it, as from
		// metrics-server (TestRealMetricsServer).
		pb := rest.CopyConfig(env.Config)
		pb.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
		pmc := metricsclient.NewForConfigOrDie(pb)
		plist, err := pmc.MetricsV1beta1().PodMetricses("metrics").List(ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list PodMetrics as protobuf: %v", err)
		}
		if len(plist.Items) != 2 || plist.Items[0].Name != "db-1" || plist.Items[1].Name != "web-1" {
			t.Errorf("PodMetrics as protobuf: %+v, want db-1 and web-1", plist.Items)
		} else if cpu := plist.Items[1].Containers[0].Usage[corev1.ResourceCPU]; cpu.MilliValue() != 250 || plist.Items[1].Window.Duration != 10*time.Second {
			t.Errorf("web-1 as protobuf: cpu %s window %s, want 250m and 10s", cpu.String(), plist.Items[1].Window.Duration)
		}
		if ct := metricsContentType(t, env.Config, "/apis/metrics.k8s.io/v1beta1/namespaces/metrics/pods"); ct != runtime.ContentTypeProtobuf {
			t.Errorf("PodMetrics list asked for as protobuf came as %q", ct)
		}
	})

	t.Run("limited user is refused what RBAC does not grant", func(t *testing.T) {
		ctx := context.Background()
		env.CreateNamespace(t, "rbac", nil)
		if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "pods-only"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"get", "list", "watch"}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "limited-pods-only"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "pods-only"},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: kubeenv.LimitedUser}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		path, err := env.KubeconfigFor(kubeenv.LimitedUser)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			t.Fatal(err)
		}
		cs := kubernetes.NewForConfigOrDie(cfg)
		// RBAC reads bindings through an informer: allow it a moment.
		err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().Pods("rbac").List(ctx, metav1.ListOptions{})
			return err == nil, nil
		})
		if err != nil {
			t.Fatalf("limited user cannot list pods it is bound to: %v", err)
		}
		_, err = cs.NetworkingV1().NetworkPolicies("rbac").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("limited user lists networkpolicies: err = %v, want Forbidden", err)
		}
		_, err = cs.CoreV1().ConfigMaps("rbac").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "nope"}}, metav1.CreateOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("limited user creates a configmap: err = %v, want Forbidden", err)
		}

		bad, err := env.WriteKubeconfig("intruder", "not-a-token")
		if err != nil {
			t.Fatal(err)
		}
		badCfg, err := clientcmd.BuildConfigFromFlags("", bad)
		if err != nil {
			t.Fatal(err)
		}
		_, err = kubernetes.NewForConfigOrDie(badCfg).CoreV1().Pods("rbac").List(ctx, metav1.ListOptions{})
		if !apierrors.IsUnauthorized(err) {
			t.Errorf("unknown token lists pods: err = %v, want Unauthorized", err)
		}
	})

	t.Run("audit log records writes, not reads", func(t *testing.T) {
		ctx := context.Background()
		env.CreateNamespace(t, "audit", nil)
		if _, err := env.Client.CoreV1().ConfigMaps("audit").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "audited"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.CoreV1().ConfigMaps("audit").Get(ctx, "audited", metav1.GetOptions{}); err != nil {
			t.Fatal(err)
		}
		var creates, reads int
		for _, ev := range env.MutatingRequests(t, kubeenv.AdminUser) {
			if ev.ObjectRef != nil && ev.ObjectRef.Namespace == "audit" && ev.ObjectRef.Resource == "configmaps" {
				if ev.Verb == "create" && ev.Response != nil && ev.Response.Code == 201 {
					creates++
				} else {
					t.Errorf("unexpected mutating request on the configmap: %s", ev)
				}
			}
			if ev.Verb == "get" || ev.Verb == "list" || ev.Verb == "watch" {
				reads++
			}
		}
		if creates != 1 || reads != 0 {
			t.Errorf("mutating requests by admin on audit/configmaps: %d creates and %d reads, want 1 and 0", creates, reads)
		}
		sawGet := false
		for _, ev := range env.AuditEvents(t) {
			if ev.Verb == "get" && ev.ObjectRef != nil && ev.ObjectRef.Name == "audited" {
				sawGet = true
			}
		}
		if !sawGet {
			t.Error("the get of the configmap is missing from the audit log")
		}
		for _, ev := range env.MutatingRequests(t, kubeenv.LimitedUser) {
			if ev.Verb == "create" && ev.ObjectRef != nil && ev.ObjectRef.Name == "" && ev.ObjectRef.Resource == "configmaps" && ev.Response.Code != 403 {
				t.Errorf("limited user's refused create logged with code %d, want 403", ev.Response.Code)
			}
		}
	})

	// Last: the other subtests need the server up.
	t.Run("API server stops and comes back with its data", func(t *testing.T) {
		ctx := context.Background()
		env.CreateNamespace(t, "restart", map[string]string{"kept": "yes"})
		env.StopAPIServer(t)
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := env.Client.CoreV1().Namespaces().Get(short, "restart", metav1.GetOptions{})
		cancel()
		if err == nil {
			t.Fatal("the API server answered while stopped")
		}
		env.StartAPIServer(t)
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "restart", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("after restart: %v", err)
		}
		if ns.Labels["kept"] != "yes" {
			t.Errorf("namespace labels after restart = %v, want kept=yes", ns.Labels)
		}
		// kwok reconnects and keeps managing pods.
		env.CreateNamespace(t, "after-restart", nil)
		env.CreatePod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "late", Namespace: "after-restart"},
			Spec:       corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		})
	})
}

func TestWithoutMeshCRDs(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	ctx := context.Background()
	_, err := istioclient.NewForConfigOrDie(env.Config).SecurityV1().AuthorizationPolicies("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("list AuthorizationPolicies without the CRD: err = %v, want NotFound", err)
	}
	_, err = gwclient.NewForConfigOrDie(env.Config).GatewayV1().Gateways("default").List(ctx, metav1.ListOptions{})
	if !apierrors.IsNotFound(err) {
		t.Errorf("list Gateways without the CRD: err = %v, want NotFound", err)
	}
	if _, err := env.Client.CoreV1().Pods("default").List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("core API without the mesh CRDs: %v", err)
	}
	if _, err := env.Client.Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1"); err == nil {
		t.Error("metrics.k8s.io is served though no metrics option was set")
	}
}

// The real metrics-server scraping kwok: slow (two scrapes at 10 s), so it
// is the only test that runs it.
func TestRealMetricsServer(t *testing.T) {
	if testing.Short() {
		t.Skip("metrics-server needs about 30 s to report")
	}
	env := kubeenv.Start(t, kubeenv.Options{MetricsServer: true, NoIstioCRDs: true, NoGatewayAPICRDs: true})
	node := env.CreateNode(t, "kwok-node-m", nil)
	env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "busy", Namespace: "default", Annotations: map[string]string{
			kubeenv.UsageCPUAnnotation:    "250m",
			kubeenv.UsageMemoryAnnotation: "64Mi",
		}},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
	})
	mc := metricsclient.NewForConfigOrDie(env.Config)
	var pm *metricsv1beta1.PodMetrics
	start := time.Now()
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		var err error
		pm, err = mc.MetricsV1beta1().PodMetricses("default").Get(ctx, "busy", metav1.GetOptions{})
		return err == nil && len(pm.Containers) == 1, nil
	})
	if err != nil {
		t.Fatalf("no PodMetrics from metrics-server: %v", err)
	}
	t.Logf("PodMetrics after %s", time.Since(start).Round(time.Second))
	cpu := pm.Containers[0].Usage[corev1.ResourceCPU]
	if m := cpu.MilliValue(); m < 240 || m > 260 {
		t.Errorf("cpu = %s, want about 250m as annotated", cpu.String())
	}
	if mem := pm.Containers[0].Usage[corev1.ResourceMemory]; mem.Value() != 64<<20 {
		t.Errorf("memory = %s, want 64Mi as annotated", mem.String())
	}
	// The fake serves protobuf because metrics-server does.
	if ct := metricsContentType(t, env.Config, "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods"); ct != runtime.ContentTypeProtobuf {
		t.Errorf("metrics-server answered a protobuf Accept with %q", ct)
	}
}

// metricsContentType is the media type a metrics.k8s.io GET of path comes
// back in when it asks for protobuf first.
func metricsContentType(t *testing.T, cfg *rest.Config, path string) string {
	t.Helper()
	c := rest.CopyConfig(cfg)
	c.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	mc := metricsclient.NewForConfigOrDie(c)
	var ct string
	if err := mc.MetricsV1beta1().RESTClient().Get().AbsPath(path).Do(context.Background()).ContentType(&ct).Error(); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return ct
}

func TestRequireSkipsWithoutBinaries(t *testing.T) {
	if os.Getenv(kubeenv.EnvBin) != "" {
		t.Skip("binaries configured; the skip path is not taken")
	}
	if os.Getenv(kubeenv.EnvRequired) == "1" {
		t.Skip("KUBEENV_REQUIRED=1 turns the skip into a failure")
	}
	ran := false
	t.Run("inner", func(t *testing.T) {
		kubeenv.Require(t)
		ran = true
	})
	if ran {
		t.Error("Require returned without KUBEENV_BIN set")
	}
}
