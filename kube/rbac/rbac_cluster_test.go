package rbac_test

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/audit"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/rbac"
	"github.com/ambx/ambx/kube/writer"
)

// bind applies a shipped manifest with its binding's subject replaced by
// the limited test user, as an administrator would bind a person.
func bind(t *testing.T, env *kubeenv.Env, manifest []byte) func() {
	t.Helper()
	ctx := context.Background()
	role, binding, err := rbac.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	binding.Subjects[0].Kind, binding.Subjects[0].Name = "User", kubeenv.LimitedUser
	if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return func() {
		_ = env.Client.RbacV1().ClusterRoleBindings().Delete(ctx, binding.Name, metav1.DeleteOptions{})
	}
}

func connect(t *testing.T, env *kubeenv.Env, readOnly bool) *kube.Clients {
	t.Helper()
	kubeconfig, err := env.KubeconfigFor(kubeenv.LimitedUser)
	if err != nil {
		t.Fatal(err)
	}
	o := kube.ConnectOptions{Kubeconfig: kubeconfig}
	if readOnly {
		o.WrapTransport = guard.Wrap
	}
	c, err := kube.Connect(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestClusterShippedRoles runs ambx's own code as a user bound by exactly
// the shipped manifests: as ambx-auditor the audit reads every resource
// (a complete report, not a partial one) and a write is refused by the
// API server; as ambx-operator the writes ambx's keys make go through,
// and nothing beyond them does.
func TestClusterShippedRoles(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{FakeMetrics: true})
	ctx := context.Background()
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "shop", nil)
	env.CreatePod(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}},
		Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}})
	replicas := int32(0)
	if _, err := env.Client.AppsV1().Deployments("shop").Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("auditor", func(t *testing.T) {
		unbind := bind(t, env, rbac.AuditorYAML)
		defer unbind()
		c := connect(t, env, true)
		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		snap, err := kube.SnapshotOnce(tctx, c)
		if err != nil {
			t.Fatalf("the audit did not settle: %v (%+v)", err, snap)
		}
		for _, r := range kube.Resources {
			if st := snap.State(r); st.Availability != kube.Available {
				t.Errorf("%s: availability %d (%s) as ambx-auditor, want read", r, st.Availability, st.Detail)
			}
		}
		rep := audit.Build(audit.Input{Snapshot: snap, Source: audit.Source{Kind: "cluster", Context: c.Context}, Version: "test"})
		if rep.Result == audit.ResultPartial {
			t.Errorf("the audit as ambx-auditor is partial: %+v", rep.Unread)
		}
		if _, err := c.Metrics.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("metrics as ambx-auditor: %v", err)
		}
		// Without the guard, the API server itself refuses the auditor's write.
		w := writer.New(connect(t, env, false), false)
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := w.ToggleNamespaceAmbient(ns, snap)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Apply(ctx, plan); err == nil || !strings.Contains(strings.ToLower(err.Error()), "forbidden") && !strings.Contains(err.Error(), "not allowed") {
			t.Errorf("ambx-auditor enrolled a namespace: %v", err)
		}
	})

	t.Run("operator", func(t *testing.T) {
		unbind := bind(t, env, rbac.OperatorYAML)
		defer unbind()
		c := connect(t, env, false)
		tctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		defer cancel()
		snap, err := kube.SnapshotOnce(tctx, c)
		if err != nil {
			t.Fatalf("the snapshot did not settle: %v", err)
		}
		w := writer.New(c, false)
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := w.ToggleNamespaceAmbient(ns, snap)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Apply(ctx, plan); err != nil {
			t.Fatalf("ambx-operator cannot enroll a namespace: %v", err)
		}
		if ns, _ := env.Client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{}); ns.Labels["istio.io/dataplane-mode"] != "ambient" {
			t.Errorf("shop labels after enrolling: %v", ns.Labels)
		}
		restart, err := w.RestartPlan(ctx, "shop", snap, writer.RestartAll)
		if err != nil {
			t.Fatalf("ambx-operator cannot plan a restart: %v", err)
		}
		if _, err := w.Apply(ctx, restart); err != nil {
			t.Fatalf("ambx-operator cannot restart shop's workloads: %v", err)
		}
		d, _ := env.Client.AppsV1().Deployments("shop").Get(ctx, "web", metav1.GetOptions{})
		if d.Spec.Template.Annotations["kubectl.kubernetes.io/restartedAt"] == "" {
			t.Errorf("deployment web not restarted: %v", d.Spec.Template.Annotations)
		}
		// C and ctrl+d: create a waypoint, then delete it.
		create, err := w.CreateWaypoint(writer.NewWaypoint{Namespace: "shop", Name: "l7"}, snap)
		if err != nil {
			t.Fatal(err)
		}
		if ok, why, err := w.CanApply(ctx, create); err != nil || !ok {
			t.Fatalf("ambx-operator may not create a waypoint: %v %s", err, why)
		}
		if _, err := w.Apply(ctx, create); err != nil {
			t.Fatalf("ambx-operator cannot create a waypoint: %v", err)
		}
		// ambx reads Gateways by watching them (no get right): so does the test.
		withGW, err := kube.SnapshotOnce(tctx, c)
		if err != nil {
			t.Fatal(err)
		}
		var gw *gwv1.Gateway
		for _, g := range withGW.Gateways {
			if g.Namespace == "shop" && g.Name == "l7" {
				gw = g
			}
		}
		if gw == nil {
			t.Fatal("the created waypoint is not in the operator's snapshot")
		}
		del, err := w.DeleteWaypoint(gw, withGW)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Apply(ctx, del); err != nil {
			t.Fatalf("ambx-operator cannot delete a waypoint: %v", err)
		}
		if _, err := c.Gateway.GatewayV1().Gateways("shop").Update(ctx, gw, metav1.UpdateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("ambx-operator may update a Gateway, which ambx never does: %v", err)
		}
		// Nothing beyond the keys' writes: no NetworkPolicy, no ConfigMap.
		if _, err := c.Kube.CoreV1().ConfigMaps("shop").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("ambx-operator created a ConfigMap: %v", err)
		}
		if _, err := c.Kube.CoreV1().Pods("shop").Get(ctx, "web-1", metav1.GetOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("ambx-operator may get a pod, which ambx never does: %v", err)
		}
	})
}
