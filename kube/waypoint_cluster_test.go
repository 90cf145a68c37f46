package kube_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/waypointnew"
)

// TestClusterWaypointLifecycle creates a waypoint through ambx's writer on
// a cluster run by istiod and the real controllers, follows it with the
// progress view until istiod programs it, binds a Service and then a
// namespace to it (istiod's WaypointBound says each took), and deletes it:
// the dialog listed what used it, and istiod's verdict on the Service that
// still names it is the one the dialog predicted.
func TestClusterWaypointLifecycle(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Istiod: true})
	env.CreateNode(t, "node-a", nil)
	ctx := context.Background()
	const ns = "wp-life"
	env.CreateNamespace(t, ns, map[string]string{ambient.LabelDataplaneMode: "ambient"})
	for _, name := range []string{"cart", "api"} {
		if _, err := env.Client.CoreV1().Services(ns).Create(ctx, clusterIPService(ns, name, nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	wr := writer.New(clients, false)
	w := watch(t, env.Kubeconfig)
	has := func(s *kube.Snapshot, svc string) bool {
		for _, x := range s.Services {
			if x.Namespace == ns && x.Name == svc {
				return true
			}
		}
		return false
	}
	s := w.await(t, time.Minute, func(s *kube.Snapshot) string {
		if !has(s, "cart") || !has(s, "api") {
			return "the Services are not in the snapshot yet"
		}
		return ""
	})
	apply := func(t *testing.T, p writer.Plan) {
		t.Helper()
		if ok, why, err := wr.CanApply(ctx, p); err != nil || !ok {
			t.Fatalf("access review of %q: %v %s", p.Title, err, why)
		}
		if _, err := wr.Apply(ctx, p); err != nil {
			t.Fatalf("apply %q: %v", p.Title, err)
		}
	}

	// Create, as istioctl waypoint apply -n wp-life --name l7 would.
	plan, err := wr.CreateWaypoint(writer.NewWaypoint{Namespace: ns, Name: "l7"}, s)
	if err != nil {
		t.Fatal(err)
	}
	started := time.Now()
	apply(t, plan)
	gw, err := clients.Gateway.GatewayV1().Gateways(ns).Get(ctx, "l7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if gw.Spec.GatewayClassName != ambient.WaypointGatewayClass || len(gw.Spec.Listeners) != 1 ||
		gw.Spec.Listeners[0].Port != 15008 || gw.Spec.Listeners[0].Protocol != "HBONE" || gw.Spec.Listeners[0].Name != "mesh" {
		t.Fatalf("created %+v", gw.Spec)
	}
	env.WaitIstioStatus(t, istiodTimeout, kubeenv.StatusWant{Kind: kubeenv.KindGateway, Namespace: ns, Name: "l7",
		Type: string(gwv1.GatewayConditionProgrammed), Status: "True"})
	key := ambient.Key{Namespace: ns, Name: "l7"}
	var progress waypointnew.Progress
	s = w.await(t, 90*time.Second, func(s *kube.Snapshot) string {
		progress = waypointnew.NewProgress(theme.Plain, key, started).SetSnapshot(s).Tick(time.Now())
		if progress.Phase() != waypointnew.Programmed {
			return "the progress view says: " + progress.Why()
		}
		if why := waypointPodsFromControllers(s, ns, "l7"); why != "" {
			return why
		}
		return ""
	})
	t.Logf("istiod programmed the waypoint %s after the create", time.Since(started).Round(time.Second))
	if v := progress.View(100, 20); !strings.Contains(v, "✔ programmed after") || !strings.Contains(v, "✔ waypoint pods ready 1/1") {
		t.Errorf("progress view:\n%s", v)
	}

	// Bind the Service cart.
	var cart *corev1.Service
	for _, x := range s.Services {
		if x.Namespace == ns && x.Name == "cart" {
			cart = x
		}
	}
	plan, err = wr.SetWaypoint(cart, ambient.Key{Name: "l7"}, s)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, plan)
	env.WaitIstioStatus(t, istiodTimeout, boundService(ns, "cart", ns+"/l7"))

	// Bind the namespace: api, which has no label of its own, follows it.
	s = w.await(t, time.Minute, func(s *kube.Snapshot) string {
		if s.Mesh.Services[ambient.Key{Namespace: ns, Name: "cart"}].Waypoint.Bound() {
			return ""
		}
		return "the snapshot does not show cart bound yet"
	})
	var nsObj *corev1.Namespace
	for _, n := range s.Namespaces {
		if n.Name == ns {
			nsObj = n
		}
	}
	plan, err = wr.SetWaypoint(nsObj, ambient.Key{Name: "l7"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(plan.Consequences, "\n"), "1 Service in "+ns+" starts going through the waypoint") {
		t.Errorf("namespace plan consequences:\n%s", strings.Join(plan.Consequences, "\n"))
	}
	apply(t, plan)
	env.WaitIstioStatus(t, istiodTimeout, boundService(ns, "api", ns+"/l7"))
	// ambx binds the namespace itself, not only the Service following it.
	w.await(t, time.Minute, func(s *kube.Snapshot) string {
		wi, _ := s.Mesh.Waypoint(key)
		if !slices.Contains(wi.Namespaces, ns) {
			return "the waypoint does not list the namespace labelled to use it"
		}
		if b := s.Mesh.Namespaces[ns].Waypoint; !b.Bound() || b.Waypoint != key {
			return "the namespace's binding is " + b.Waypoint.String() + " " + b.Problem
		}
		return ""
	})

	// Delete: the dialog names the namespace and the Service labelled to
	// use it and both Services bound now.
	s = w.await(t, time.Minute, func(s *kube.Snapshot) string {
		wi, ok := s.Mesh.Waypoint(key)
		if !ok || len(wi.Services) != 2 {
			return "the snapshot does not show both Services bound yet"
		}
		return ""
	})
	for _, g := range s.Gateways {
		if g.Namespace == ns && g.Name == "l7" {
			gw = g
		}
	}
	plan, err = wr.DeleteWaypoint(gw, s)
	if err != nil {
		t.Fatal(err)
	}
	cons := strings.Join(plan.Consequences, "\n")
	for _, want := range []string{"Labelled to use it: 1 namespace: " + ns + " (1 Service there follows the namespace label).",
		"Labelled to use it: 1 Service: " + ns + "/cart.", "Bound to it now, and losing its L7 policy and routing: svc/" + ns + "/api, svc/" + ns + "/cart."} {
		if !strings.Contains(cons, want) {
			t.Errorf("delete dialog lacks %q:\n%s", want, cons)
		}
	}
	apply(t, plan)
	if _, err := clients.Gateway.GatewayV1().Gateways(ns).Get(ctx, "l7", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("after the delete the Gateway is still there: %v", err)
	}
	// The labels stay; istiod now refuses the binding, as the dialog said.
	st := env.WaitIstioStatus(t, istiodTimeout, kubeenv.StatusWant{Kind: kubeenv.KindService, Namespace: ns, Name: "cart",
		Type: ambient.ConditionWaypointBound, Status: "False"})
	c, _ := st[kubeenv.KindService+" "+ns+"/cart"].Condition(ambient.ConditionWaypointBound)
	if c.Reason != "WaypointIsNotReady" {
		t.Errorf("after the delete istiod says %s %s: %s; the dialog predicted WaypointIsNotReady", c.Status, c.Reason, c.Message)
	}
	// The garbage collector removes what istiod made for it.
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := env.Client.AppsV1().Deployments(ns).Get(ctx, "l7", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waypoint's Deployment outlived its Gateway: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}

	// Per pod: a workload waypoint, a captured pod bound to it by its own
	// label, listed by the delete, unbound after it.
	podWaypoint(t, env, w, wr, apply, ns)
}

// podWaypoint creates a waypoint for workload traffic in ns through the
// writer, binds one captured pod to it, and deletes it again.
func podWaypoint(t *testing.T, env *kubeenv.Env, w *watcher, wr *writer.Writer, apply func(*testing.T, writer.Plan), ns string) {
	t.Helper()
	ctx := context.Background()
	key := ambient.Key{Namespace: ns, Name: "pods"}
	plan, err := wr.CreateWaypoint(writer.NewWaypoint{Namespace: ns, Name: key.Name, For: ambient.TrafficWorkload}, w.await(t, time.Minute, func(*kube.Snapshot) string { return "" }))
	if err != nil {
		t.Fatal(err)
	}
	apply(t, plan)
	// istio-cni's work, done by hand: the pod is captured.
	p := pod(ns, "worker-1", "node-a", map[string]string{"app": "worker"})
	p.Annotations = map[string]string{ambient.AnnotationRedirection: "enabled"}
	env.CreatePod(t, p)
	env.WaitIstioStatus(t, istiodTimeout, kubeenv.StatusWant{Kind: kubeenv.KindGateway, Namespace: ns, Name: key.Name,
		Type: string(gwv1.GatewayConditionProgrammed), Status: "True"})
	podKey := ambient.Key{Namespace: ns, Name: "worker-1"}
	var target *corev1.Pod
	s := w.await(t, 90*time.Second, func(s *kube.Snapshot) string {
		target = nil
		for _, x := range s.Pods {
			if x.Namespace == ns && x.Name == podKey.Name {
				target = x
			}
		}
		if target == nil || s.Mesh.Pods[podKey].State != ambient.PodCaptured {
			return "the snapshot does not hold worker-1 captured yet"
		}
		if wi, ok := s.Mesh.Waypoint(key); !ok || !wi.Programmed || !wi.Addressed {
			return "the snapshot does not show the workload waypoint programmed with an address yet"
		}
		return ""
	})
	plan, err = wr.SetWaypoint(target, ambient.Key{Name: key.Name}, s)
	if err != nil {
		t.Fatal(err)
	}
	apply(t, plan)
	got, err := env.Client.CoreV1().Pods(ns).Get(ctx, podKey.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels[ambient.LabelUseWaypoint] != key.Name {
		t.Fatalf("worker-1's labels after the bind: %v", got.Labels)
	}
	s = w.await(t, time.Minute, func(s *kube.Snapshot) string {
		if b := s.Mesh.Pods[podKey].Waypoint; !b.Bound() || b.Waypoint != key {
			return "worker-1's binding is " + b.Waypoint.String() + " " + b.Problem
		}
		if wi, _ := s.Mesh.Waypoint(key); !slices.Contains(wi.Workloads, podKey) {
			return "the waypoint does not list worker-1 among its workloads"
		}
		return ""
	})
	var gw *gwv1.Gateway
	for _, g := range s.Gateways {
		if g.Namespace == ns && g.Name == key.Name {
			gw = g
		}
	}
	plan, err = wr.DeleteWaypoint(gw, s)
	if err != nil {
		t.Fatal(err)
	}
	cons := strings.Join(plan.Consequences, "\n")
	for _, want := range []string{"Labelled to use it: 1 pod: " + ns + "/worker-1.",
		"Bound to it now, and losing its L7 policy and routing: pod/" + ns + "/worker-1."} {
		if !strings.Contains(cons, want) {
			t.Errorf("delete dialog lacks %q:\n%s", want, cons)
		}
	}
	apply(t, plan)
	w.await(t, time.Minute, func(s *kube.Snapshot) string {
		if b := s.Mesh.Pods[podKey].Waypoint; b.Bound() {
			return "worker-1 is still bound to the deleted waypoint"
		}
		if _, ok := s.Mesh.Waypoint(key); ok {
			return "the snapshot still lists the deleted waypoint"
		}
		return ""
	})
}

func boundService(ns, name, wp string) kubeenv.StatusWant {
	w := boundTo(wp)
	w.Kind, w.Namespace, w.Name = kubeenv.KindService, ns, name
	return w
}
