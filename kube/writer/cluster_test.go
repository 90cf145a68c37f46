package writer

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/kubeenv"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// serverKept clears what the API server itself changes on every write,
// so what remains is what the patch changed.
func serverKept(o metav1.Object) {
	o.SetResourceVersion("")
	o.SetManagedFields(nil)
	o.SetGeneration(0)
}

func clientsAs(t *testing.T, cfg *rest.Config, wrap func(*rest.Config)) *kube.Clients {
	t.Helper()
	cfg = rest.CopyConfig(cfg)
	if wrap != nil {
		wrap(cfg)
	}
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &kube.Clients{Kube: k}
}

// TestClusterWrites runs the writer against a real kube-apiserver: its
// JSON patch handling, optimistic concurrency, RBAC and audit log are the
// ones a user's cluster has.
func TestClusterWrites(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Audit: true, NoGatewayAPICRDs: true})
	ctx := context.Background()
	admin := New(&kube.Clients{Kube: env.Client}, false)
	getNS := func(t *testing.T, name string) *corev1.Namespace {
		t.Helper()
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ns
	}

	t.Run("toggle adds and removes the label and nothing else changes", func(t *testing.T) {
		env.CreateNamespace(t, "toggle", map[string]string{"team": "a", ambient.LabelInjection: "disabled"})
		before := getNS(t, "toggle")
		plan, err := admin.ToggleNamespaceAmbient(before, snapshot(before))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Apply(ctx, plan); err != nil {
			t.Fatal(err)
		}
		enrolled := getNS(t, "toggle")
		a, b := enrolled.DeepCopy(), before.DeepCopy()
		serverKept(a)
		serverKept(b)
		onlyLabelDiffers(t, b, a, ambient.LabelDataplaneMode, "ambient")

		plan, err = admin.ToggleNamespaceAmbient(enrolled, snapshot(enrolled))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Apply(ctx, plan); err != nil {
			t.Fatal(err)
		}
		left := getNS(t, "toggle")
		serverKept(left)
		if !reflect.DeepEqual(left, b) {
			t.Errorf("after adding and removing the label the namespace differs:\nbefore %+v\nafter  %+v", b, left)
		}
	})

	t.Run("a concurrent label change between plan and apply is reported", func(t *testing.T) {
		env.CreateNamespace(t, "race", map[string]string{"team": "a"})
		seen := getNS(t, "race")
		plan, err := admin.ToggleNamespaceAmbient(seen, snapshot(seen))
		if err != nil {
			t.Fatal(err)
		}
		other := seen.DeepCopy()
		other.Labels["team"] = "b"
		if _, err := env.Client.CoreV1().Namespaces().Update(ctx, other, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		_, err = admin.Apply(ctx, plan)
		if KindOf(err) != KindConflict || err.Error() != "changed since you looked: namespace race was modified, reopen to see the new state" {
			t.Fatalf("Apply after a concurrent change: %v (kind %d)", err, KindOf(err))
		}
		now := getNS(t, "race")
		if now.Labels["team"] != "b" || now.Labels[ambient.LabelDataplaneMode] != "" {
			t.Errorf("labels %v: the other change must stay and ours must not land", now.Labels)
		}
	})

	t.Run("a user without patch rights is told why", func(t *testing.T) {
		env.CreateNamespace(t, "guarded", nil)
		ns := getNS(t, "guarded")
		role := &rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "read-namespaces"},
			Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}}},
		}
		if _, err := env.Client.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "limited-read-namespaces"},
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: kubeenv.LimitedUser}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cfg, err := env.UserConfig(kubeenv.LimitedUser)
		if err != nil {
			t.Fatal(err)
		}
		limited := New(clientsAs(t, cfg, nil), false)
		want := "forbidden: " + kubeenv.LimitedUser + " cannot patch namespaces/guarded"

		ok, reason, err := limited.CanI(ctx, "patch", "", "namespaces", "", "guarded")
		if err != nil {
			t.Fatal(err)
		}
		if ok || reason != want {
			t.Errorf("CanI = %v, %q; want false, %q", ok, reason, want)
		}
		if ok, _, err := limited.CanI(ctx, "get", "", "namespaces", "", "guarded"); err != nil || !ok {
			t.Errorf("CanI get = %v, %v; the role allows it", ok, err)
		}

		// Had the UI not asked, the server refuses and the user reads the same.
		plan, err := limited.ToggleNamespaceAmbient(ns, snapshot(ns))
		if err != nil {
			t.Fatal(err)
		}
		_, err = limited.Apply(ctx, plan)
		if KindOf(err) != KindForbidden || err.Error() != want {
			t.Errorf("Apply as %s: %v, want %q", kubeenv.LimitedUser, err, want)
		}
		if got := getNS(t, "guarded"); got.Labels[ambient.LabelDataplaneMode] != "" {
			t.Errorf("a refused patch changed the namespace: %v", got.Labels)
		}
	})

	t.Run("the transport guard stops a write before the server sees it", func(t *testing.T) {
		env.CreateNamespace(t, "readonly", nil)
		ns := getNS(t, "readonly")
		guarded := New(clientsAs(t, env.Config, func(c *rest.Config) { c.Wrap(guard.Wrap) }), false)
		plan, err := guarded.ToggleNamespaceAmbient(ns, snapshot(ns))
		if err != nil {
			t.Fatal(err)
		}
		_, err = guarded.Apply(ctx, plan)
		if KindOf(err) != KindReadOnly || err.Error() != "read-only mode: write refused" {
			t.Errorf("Apply through the guard: %v", err)
		}
		for _, ev := range env.MutatingRequests(t, "") {
			if ev.ObjectRef != nil && ev.ObjectRef.Resource == "namespaces" && ev.ObjectRef.Name == "readonly" && ev.Verb != "create" {
				t.Errorf("the API server received %s", ev)
			}
		}
	})

	t.Run("service waypoint labels across namespaces", func(t *testing.T) {
		env.CreateNamespace(t, "web", nil)
		svc, err := env.Client.CoreV1().Services("web").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "front", Labels: map[string]string{"app": "front"}},
			Spec:       corev1.ServiceSpec{Ports: []corev1.ServicePort{{Port: 80}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		plan, err := admin.SetWaypoint(svc, ambient.Key{Namespace: "infra", Name: "shared"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Apply(ctx, plan); err != nil {
			t.Fatal(err)
		}
		got, err := env.Client.CoreV1().Services("web").Get(ctx, "front", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"app": "front", ambient.LabelUseWaypoint: "shared", ambient.LabelUseWaypointNS: "infra"}
		if !reflect.DeepEqual(got.Labels, want) {
			t.Errorf("labels %v, want %v", got.Labels, want)
		}
		plan, err = admin.SetWaypoint(got, ambient.Key{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Apply(ctx, plan); err != nil {
			t.Fatal(err)
		}
		cleared, err := env.Client.CoreV1().Services("web").Get(ctx, "front", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		a, b := cleared.DeepCopy(), svc.DeepCopy()
		serverKept(a)
		serverKept(b)
		if !reflect.DeepEqual(a, b) {
			t.Errorf("after set and clear the Service differs:\nbefore %+v\nafter  %+v", b, a)
		}
	})

	t.Run("restart sets the rollout annotation and nothing else", func(t *testing.T) {
		env.CreateNamespace(t, "apps", map[string]string{ambient.LabelDataplaneMode: "ambient"})
		labels := map[string]string{"app": "api"}
		dep, err := env.Client.AppsV1().Deployments("apps").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "api"},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "api", Image: "api:1"}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w := New(&kube.Clients{Kube: env.Client}, false)
		w.now = func() time.Time { return fixedNow }
		plan, err := w.RestartPlan(ctx, "apps", nil, RestartAll)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Targets) != 1 || plan.Targets[0].String() != "Deployment apps/api" {
			t.Fatalf("targets %v", plan.Targets)
		}
		if _, err := w.Apply(ctx, plan); err != nil {
			t.Fatal(err)
		}
		got, err := env.Client.AppsV1().Deployments("apps").Get(ctx, "api", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if at := got.Spec.Template.Annotations[AnnotationRestartedAt]; at != "2026-08-24T09:30:00Z" {
			t.Errorf("restartedAt = %q", at)
		}
		a, b := got.DeepCopy(), dep.DeepCopy()
		delete(a.Spec.Template.Annotations, AnnotationRestartedAt)
		if len(a.Spec.Template.Annotations) == 0 {
			a.Spec.Template.Annotations = nil
		}
		if !reflect.DeepEqual(a.Spec, b.Spec) {
			t.Errorf("spec changed beyond the annotation:\n%+v\n%+v", b.Spec, a.Spec)
		}
		if !strings.Contains(plan.Consequences[0], "whether or not its pods need it") {
			t.Errorf("consequences %q", plan.Consequences)
		}
	})
}
