package writer

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/ambient"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

func template(app string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}, Annotations: map[string]string{"prometheus.io/scrape": "true"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: app + ":1"}}},
	}
}

func deployment(ns, name string, paused bool) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "5"},
		Spec: appsv1.DeploymentSpec{Paused: paused, Template: template(name)}}
}

func statefulSet(ns, name string) *appsv1.StatefulSet {
	return &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "5"},
		Spec: appsv1.StatefulSetSpec{Template: template(name)}}
}

func daemonSet(ns, name string) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "5"},
		Spec: appsv1.DaemonSetSpec{Template: template(name)}}
}

const restartBody = `{
  "spec": {
    "template": {
      "metadata": {
        "annotations": {
          "kubectl.kubernetes.io/restartedAt": "2026-08-24T09:30:00Z"
        }
      }
    }
  }
}`

// cniAgent is a ready istio-cni agent on node-1, where the fixture's pods
// run: only with one there does ambient advise restarting a pod it did not
// capture.
func cniAgent() *corev1.Pod {
	return pod("istio-system", "istio-cni-node-7x2kq", withLabel("k8s-app", "istio-cni-node"))
}

func TestRestartPlan(t *testing.T) {
	amb := map[string]string{ambient.LabelDataplaneMode: "ambient"}
	workloads := []runtime.Object{
		deployment("shop", "cart", false), deployment("shop", "web", true), deployment("shop", "fine", false),
		statefulSet("shop", "db"), daemonSet("shop", "agent"),
		deployment("other", "cart", false),
	}
	for _, tc := range []struct {
		name        string
		ns          *corev1.Namespace
		pods        []runtime.Object
		scope       RestartScope
		wantTargets []string
		want        []string
		wantErr     string
	}{
		{
			name: "only workloads whose pods need it",
			ns:   namespace("shop", "3", amb),
			pods: []runtime.Object{
				// The node's istio-cni agent is ready, so a pod it did not
				// capture needs a restart (not a look at the agent).
				cniAgent(),
				// Never captured although labelled: "restart".
				pod("shop", "cart-1", ownedByDeployment("cart")),
				pod("shop", "cart-2", ownedByDeployment("cart")),
				// Sidecar left over after injection was removed.
				pod("shop", "db-0", withSidecar, ownedBy("StatefulSet", "db")),
				pod("shop", "web-1", ownedByDeployment("web")),
				pod("shop", "fine-1", captured, ownedByDeployment("fine")),
				pod("shop", "agent-x", captured, ownedBy("DaemonSet", "agent")),
				pod("shop", "job-1", ownedBy("Job", "nightly")),
			},
			wantTargets: []string{"Deployment shop/cart", "Deployment shop/web", "StatefulSet shop/db"},
			want: []string{
				"Restarts only the 3 of 5 workloads in shop whose pods need a restart.",
				"Each controller replaces its pods following its rollout strategy; running connections to old pods end.",
				"3 pods that ambient did not capture come back captured.",
				"1 sidecar pod comes back without a sidecar, carried by ztunnel.",
				"deployment/web is paused: nothing rolls out until resumed.",
				"Pods of job/nightly also need a restart, but only their owners (or deleting them) can replace them.",
			},
		},
		{
			name: "everything, in a namespace that still injects",
			ns:   namespace("shop", "3", map[string]string{ambient.LabelDataplaneMode: "ambient", ambient.LabelInjection: "enabled"}),
			pods: []runtime.Object{
				pod("shop", "db-0", withSidecar, ownedBy("StatefulSet", "db")),
			},
			scope:       RestartAll,
			wantTargets: []string{"DaemonSet shop/agent", "Deployment shop/cart", "Deployment shop/fine", "Deployment shop/web", "StatefulSet shop/db"},
			want: []string{
				"All 5 Deployments, StatefulSets and DaemonSets in shop are restarted, whether or not their pods need it.",
				"Each controller replaces its pods following its rollout strategy; running connections to old pods end.",
				"Namespace still has istio-injection=enabled: restarted pods get sidecars again.",
				"deployment/web is paused: nothing rolls out until resumed.",
			},
		},
		{
			name:    "nothing needs it",
			ns:      namespace("shop", "3", amb),
			pods:    []runtime.Object{cniAgent(), pod("shop", "fine-1", captured, ownedByDeployment("fine")), pod("shop", "solo")},
			wantErr: "nothing in shop needs a restart: no workload owns a pod waiting for one (pods of pod/solo do, but only their owners can replace them)",
		},
		{
			name:    "no workloads at all",
			ns:      namespace("empty", "3", amb),
			scope:   RestartAll,
			wantErr: "nothing to restart in empty: no Deployment, StatefulSet or DaemonSet",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w, cs := newFake(t, false, workloads...)
			s := snapshot(append([]runtime.Object{tc.ns}, tc.pods...)...)
			plan, err := w.RestartPlan(ctx, tc.ns.Name, s, tc.scope)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || KindOf(err) != KindNothing {
					t.Fatalf("got %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var targets []string
			for _, r := range plan.Targets {
				targets = append(targets, r.String())
			}
			if !reflect.DeepEqual(targets, tc.wantTargets) {
				t.Errorf("targets %v, want %v", targets, tc.wantTargets)
			}
			if !reflect.DeepEqual(plan.Consequences, tc.want) {
				t.Errorf("consequences\n%s\nwant\n%s", strings.Join(plan.Consequences, "\n"), strings.Join(tc.want, "\n"))
			}
			if plan.Patch != restartBody || plan.PatchType != types.StrategicMergePatchType {
				t.Errorf("patch %s (%s)", plan.Patch, plan.PatchType)
			}
			cs.ClearActions()
			line, err := w.Apply(ctx, plan)
			if err != nil {
				t.Fatal(err)
			}
			if want := "restarting " + itoa(len(tc.wantTargets)) + " workloads in shop"; line != want {
				t.Errorf("status line %q, want %q", line, want)
			}
			for _, p := range patches(cs) {
				if string(p.Patch) != restartBody {
					t.Errorf("sent %s to %s", p.Patch, p.Name)
				}
			}
			restarted := map[string]bool{}
			for _, r := range tc.wantTargets {
				restarted[r] = true
			}
			// Every workload's template: annotated exactly when chosen,
			// otherwise unchanged, and nothing else moved.
			for _, o := range workloads {
				var got, before *corev1.PodTemplateSpec
				var ref string
				switch o := o.(type) {
				case *appsv1.Deployment:
					d, err := cs.AppsV1().Deployments(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					got, before, ref = &d.Spec.Template, &o.Spec.Template, "Deployment "+o.Namespace+"/"+o.Name
				case *appsv1.StatefulSet:
					d, err := cs.AppsV1().StatefulSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					got, before, ref = &d.Spec.Template, &o.Spec.Template, "StatefulSet "+o.Namespace+"/"+o.Name
				case *appsv1.DaemonSet:
					d, err := cs.AppsV1().DaemonSets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
					if err != nil {
						t.Fatal(err)
					}
					got, before, ref = &d.Spec.Template, &o.Spec.Template, "DaemonSet "+o.Namespace+"/"+o.Name
				}
				want := before.DeepCopy()
				if restarted[ref] {
					want.Annotations[AnnotationRestartedAt] = "2026-08-24T09:30:00Z"
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s template after apply:\n%+v\nwant\n%+v", ref, got, want)
				}
			}
		})
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

// TestRolloutWhy: a stalled Deployment's own conditions say why; a healthy
// one and a StatefulSet say nothing.
func TestRolloutWhy(t *testing.T) {
	stuck := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"},
		Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "web-7d" has timed out progressing.`},
			{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: `pods "web-7d-x" is forbidden: exceeded quota`},
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue},
		}}}
	fine := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"},
		Status: appsv1.DeploymentStatus{Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}}
	w, _ := newFake(t, false, stuck, fine)
	got, err := w.RolloutWhy(context.Background(), "shop", "deployment/web")
	want := []string{`Progressing=False ProgressDeadlineExceeded: ReplicaSet "web-7d" has timed out progressing.`,
		`ReplicaFailure FailedCreate: pods "web-7d-x" is forbidden: exceeded quota`}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("stuck: %q %v, want %q", got, err, want)
	}
	for _, owner := range []string{"deployment/api", "statefulset/db"} {
		if got, err := w.RolloutWhy(context.Background(), "shop", owner); err != nil || len(got) != 0 {
			t.Errorf("%s: %q %v", owner, got, err)
		}
	}
	if _, err := w.RolloutWhy(context.Background(), "shop", "deployment/gone"); err == nil {
		t.Error("a missing Deployment read without error")
	}
}
