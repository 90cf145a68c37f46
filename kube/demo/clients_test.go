package demo

import (
	"context"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
)

// keys returns ns/name of each object, in list order.
func keys[T any](items []T, meta func(*T) metav1.Object) []string {
	out := make([]string, len(items))
	for i := range items {
		m := meta(&items[i])
		out[i] = m.GetNamespace() + "/" + m.GetName()
	}
	slices.Sort(out)
	return out
}

func ptrKeys[T metav1.Object](items []T) []string {
	out := make([]string, len(items))
	for i, m := range items {
		out[i] = m.GetNamespace() + "/" + m.GetName()
	}
	slices.Sort(out)
	return out
}

func sameKeys(t *testing.T, kind string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: the demo holds none, nothing to compare", kind)
	}
	if !slices.Equal(got, want) {
		t.Errorf("%s: fake clientset lists %d %v\nObjects holds %d %v", kind, len(got), got, len(want), want)
	}
}

func TestClientsListWhatObjectsHolds(t *testing.T) {
	ctx := context.Background()
	cl := Clients(Epoch)
	want := Objects(Epoch)
	all := metav1.ListOptions{}

	if !cl.Demo || cl.Context == "" || cl.Server == "" {
		t.Errorf("Clients = {Demo: %v, Context: %q, Server: %q}; the status bar needs all three", cl.Demo, cl.Context, cl.Server)
	}

	ns, err := cl.Kube.CoreV1().Namespaces().List(ctx, all)
	must(t, err)
	sameKeys(t, "namespaces", keys(ns.Items, func(o *corev1.Namespace) metav1.Object { return o }), ptrKeys(want.Namespaces))

	pods, err := cl.Kube.CoreV1().Pods("").List(ctx, all)
	must(t, err)
	sameKeys(t, "pods", keys(pods.Items, func(o *corev1.Pod) metav1.Object { return o }), ptrKeys(want.Pods))

	svcs, err := cl.Kube.CoreV1().Services("").List(ctx, all)
	must(t, err)
	sameKeys(t, "services", keys(svcs.Items, func(o *corev1.Service) metav1.Object { return o }), ptrKeys(want.Services))

	nodes, err := cl.Kube.CoreV1().Nodes().List(ctx, all)
	must(t, err)
	sameKeys(t, "nodes", keys(nodes.Items, func(o *corev1.Node) metav1.Object { return o }), ptrKeys(want.Nodes))

	nps, err := cl.Kube.NetworkingV1().NetworkPolicies("").List(ctx, all)
	must(t, err)
	sameKeys(t, "networkpolicies", keys(nps.Items, func(o *networkingv1.NetworkPolicy) metav1.Object { return o }), ptrKeys(want.NetworkPolicies))

	gws, err := cl.Gateway.GatewayV1().Gateways("").List(ctx, all)
	must(t, err)
	sameKeys(t, "gateways", keys(gws.Items, func(o *gwv1.Gateway) metav1.Object { return o }), ptrKeys(want.Gateways))

	classes, err := cl.Gateway.GatewayV1().GatewayClasses().List(ctx, all)
	must(t, err)
	sameKeys(t, "gatewayclasses", keys(classes.Items, func(o *gwv1.GatewayClass) metav1.Object { return o }), ptrKeys(want.GatewayClasses))

	aps, err := cl.Istio.SecurityV1().AuthorizationPolicies("").List(ctx, all)
	must(t, err)
	sameKeys(t, "authorizationpolicies", ptrKeys(aps.Items), ptrKeys(want.AuthorizationPolicies))

	pas, err := cl.Istio.SecurityV1().PeerAuthentications("").List(ctx, all)
	must(t, err)
	sameKeys(t, "peerauthentications", ptrKeys(pas.Items), ptrKeys(want.PeerAuthentications))

	ras, err := cl.Istio.SecurityV1().RequestAuthentications("").List(ctx, all)
	must(t, err)
	sameKeys(t, "requestauthentications", ptrKeys(ras.Items), ptrKeys(want.RequestAuthentications))

	// Status is what the analysis reads most; make sure it survives the fake.
	for _, ap := range aps.Items {
		if len(ap.Status.Conditions) == 0 {
			t.Errorf("AuthorizationPolicy %s/%s lost its status in the fake", ap.Namespace, ap.Name)
		}
	}
	for _, s := range svcs.Items {
		if s.Labels["istio.io/use-waypoint"] != "" && len(s.Status.Conditions) == 0 {
			t.Errorf("Service %s/%s lost its WaypointBound condition in the fake", s.Namespace, s.Name)
		}
	}

	workloads := map[string][]string{}
	for _, o := range Workloads(Epoch) {
		m := o.(metav1.Object)
		workloads[kindOf(o)] = append(workloads[kindOf(o)], m.GetNamespace()+"/"+m.GetName())
	}
	deps, err := cl.Kube.AppsV1().Deployments("").List(ctx, all)
	must(t, err)
	sameKeys(t, "deployments", keys(deps.Items, func(o *appsv1.Deployment) metav1.Object { return o }), sorted(workloads["Deployment"]))
	rss, err := cl.Kube.AppsV1().ReplicaSets("").List(ctx, all)
	must(t, err)
	sameKeys(t, "replicasets", keys(rss.Items, func(o *appsv1.ReplicaSet) metav1.Object { return o }), sorted(workloads["ReplicaSet"]))
	dss, err := cl.Kube.AppsV1().DaemonSets("").List(ctx, all)
	must(t, err)
	sameKeys(t, "daemonsets", keys(dss.Items, func(o *appsv1.DaemonSet) metav1.Object { return o }), sorted(workloads["DaemonSet"]))
	sss, err := cl.Kube.AppsV1().StatefulSets("").List(ctx, all)
	must(t, err)
	sameKeys(t, "statefulsets", keys(sss.Items, func(o *appsv1.StatefulSet) metav1.Object { return o }), sorted(workloads["StatefulSet"]))
}

func sorted(s []string) []string { slices.Sort(s); return s }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestMetricsClientListsSeededMetrics(t *testing.T) {
	ctx := context.Background()
	cl := Clients(Epoch)
	want := Objects(Epoch)
	wantPods, wantNodes := Metrics(Epoch)

	pm, err := cl.Metrics.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{})
	must(t, err)
	sameKeys(t, "podmetrics", keys(pm.Items, func(o *metricsv1beta1.PodMetrics) metav1.Object { return o }), ptrKeys(want.Pods))
	if len(wantPods) != len(want.Pods) {
		t.Errorf("Metrics returns %d PodMetrics for %d running pods", len(wantPods), len(want.Pods))
	}

	loki, err := cl.Metrics.MetricsV1beta1().PodMetricses("loki").List(ctx, metav1.ListOptions{})
	must(t, err)
	if len(loki.Items) != 14 {
		t.Errorf("podmetrics in namespace loki = %d, want 14", len(loki.Items))
	}

	istiod, err := cl.Metrics.MetricsV1beta1().PodMetricses("istio-system").List(ctx, metav1.ListOptions{LabelSelector: "app=istiod"})
	must(t, err)
	if len(istiod.Items) != 1 {
		t.Fatalf("podmetrics for app=istiod = %d, want 1 (label selectors must work on the fake)", len(istiod.Items))
	}
	cpu := istiod.Items[0].Containers[0].Usage.Cpu().MilliValue()
	mem := istiod.Items[0].Containers[0].Usage.Memory().Value() >> 20
	if cpu < 2 || cpu > 5 || mem < 35 || mem > 45 {
		t.Errorf("istiod uses %dm/%dMi, want about 3m/39Mi", cpu, mem)
	}

	got, err := cl.Metrics.MetricsV1beta1().PodMetricses("default").Get(ctx, "prometheus-0", metav1.GetOptions{})
	must(t, err)
	if got.Containers[0].Usage.Memory().Value()>>20 != 400 {
		t.Errorf("prometheus-0 memory = %s, want about 400Mi", got.Containers[0].Usage.Memory())
	}

	nm, err := cl.Metrics.MetricsV1beta1().NodeMetricses().List(ctx, metav1.ListOptions{})
	must(t, err)
	sameKeys(t, "nodemetrics", keys(nm.Items, func(o *metricsv1beta1.NodeMetrics) metav1.Object { return o }), ptrKeys(want.Nodes))
	if len(wantNodes) != 5 {
		t.Errorf("Metrics returns %d NodeMetrics, want 5", len(wantNodes))
	}
}

// TestInformersSync runs the clients the way kube.Source does: through
// shared informers, which list and then watch.
func TestInformersSync(t *testing.T) {
	cl := Clients(Epoch)
	f := informers.NewSharedInformerFactory(cl.Kube, 0)
	pods := f.Core().V1().Pods().Informer()
	nps := f.Networking().V1().NetworkPolicies().Informer()
	stop := make(chan struct{})
	f.Start(stop)
	defer func() {
		close(stop)
		f.Shutdown() // waits for the informers, so only after stop is closed
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(ctx.Done(), pods.HasSynced, nps.HasSynced) {
		t.Fatal("informers over the demo clients did not sync")
	}
	want := Objects(Epoch)
	if got := len(pods.GetStore().List()); got != len(want.Pods) {
		t.Errorf("pod informer holds %d pods, want %d", got, len(want.Pods))
	}
	if got := len(nps.GetStore().List()); got != len(want.NetworkPolicies) {
		t.Errorf("networkpolicy informer holds %d, want %d", got, len(want.NetworkPolicies))
	}
}

// TestWritesLand checks the two writes the UI makes (a label patch and a
// rollout restart) change the demo cluster, so the demo can show their effect.
func TestWritesLand(t *testing.T) {
	ctx := context.Background()
	cl := Clients(Epoch)

	_, err := cl.Kube.CoreV1().Namespaces().Patch(ctx, "example-admin", types.JSONPatchType,
		[]byte(`[{"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}]`), metav1.PatchOptions{})
	must(t, err)
	ns, err := cl.Kube.CoreV1().Namespaces().Get(ctx, "example-admin", metav1.GetOptions{})
	must(t, err)
	if ns.Labels["istio.io/dataplane-mode"] != "ambient" {
		t.Errorf("after the label patch example-admin has labels %v", ns.Labels)
	}

	restart := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-08-24T09:31:00Z"}}}}}`
	_, err = cl.Kube.AppsV1().Deployments("unipoller").Patch(ctx, "unpoller", types.StrategicMergePatchType, []byte(restart), metav1.PatchOptions{})
	must(t, err)
	d, err := cl.Kube.AppsV1().Deployments("unipoller").Get(ctx, "unpoller", metav1.GetOptions{})
	must(t, err)
	if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
		t.Error("the rollout restart patch did not reach the Deployment's template")
	}

	// Each call is its own cluster: the writes above must not leak.
	fresh, err := Clients(Epoch).Kube.CoreV1().Namespaces().Get(ctx, "example-admin", metav1.GetOptions{})
	must(t, err)
	if fresh.Labels["istio.io/dataplane-mode"] != "" {
		t.Error("a write to one demo cluster showed up in another")
	}
}

func TestDiscoveryReportsAPIs(t *testing.T) {
	cl := Clients(Epoch)
	for _, c := range []struct {
		name string
		gv   string
		res  string
		disc interface {
			ServerResourcesForGroupVersion(string) (*metav1.APIResourceList, error)
		}
	}{
		{"kube", "networking.k8s.io/v1", "networkpolicies", cl.Kube.Discovery()},
		{"kube", "metrics.k8s.io/v1beta1", "pods", cl.Kube.Discovery()},
		{"istio", "security.istio.io/v1", "authorizationpolicies", cl.Istio.Discovery()},
		{"gateway", "gateway.networking.k8s.io/v1", "gateways", cl.Gateway.Discovery()},
	} {
		list, err := c.disc.ServerResourcesForGroupVersion(c.gv)
		if err != nil {
			t.Errorf("%s discovery of %s: %v", c.name, c.gv, err)
			continue
		}
		if !slices.ContainsFunc(list.APIResources, func(r metav1.APIResource) bool { return r.Name == c.res }) {
			t.Errorf("%s discovery of %s lacks %s", c.name, c.gv, c.res)
		}
	}
}

// TestSourceSyncsEveryResource runs the demo through kube.Source, as
// --demo does: every resource must sync promptly, or panes stay "loading".
func TestSourceSyncsEveryResource(t *testing.T) {
	c := Clients(Epoch)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got *kube.Snapshot
	kube.NewSource(c).Run(ctx, func(s *kube.Snapshot) {
		all := true
		for _, st := range s.Resources {
			all = all && st.Availability == kube.Available
		}
		if all && len(s.Resources) == len(kube.Resources) {
			got = s
			cancel()
		}
	})
	if got == nil {
		t.Fatal("the demo never had every resource synced")
	}
	// The installation is read through the Source's label-selected lists
	// just as kube.Build reads it from Objects.
	if in := got.Install; in.Headline() != "Istio "+istioVersion || in.Ztunnel.String() != istioVersion ||
		in.CNI.String() != istioVersion || in.RootNamespace != "istio-system" || !in.CNIConfig.Read || len(in.Problems) != 0 {
		t.Errorf("install through the Source: %q ztunnel %v cni %v root %q cni config %v problems %v",
			in.Headline(), in.Ztunnel, in.CNI, in.RootNamespace, in.CNIConfig.Read, in.Problems)
	}
	if len(got.AuthorizationPolicies) == 0 || len(got.Gateways) == 0 {
		t.Fatalf("synced but empty: %d AuthorizationPolicies, %d Gateways", len(got.AuthorizationPolicies), len(got.Gateways))
	}
}
