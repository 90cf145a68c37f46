package kubeenv_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/ambx/ambx/kube/kubeenv"
)

// The controllers and istiod start on demand inside one test of a plain
// env, and stop, by PID, when that test ends while the env lives on.
func TestControllersAndIstiodOnDemand(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "kwok-node-c", nil)
	base := env.PIDs()
	if _, ok := base["kube-controller-manager"]; ok {
		t.Fatalf("a plain env runs the controller-manager: %v", base)
	}

	var extra map[string]int
	t.Run("controllers", func(t *testing.T) {
		env.StartControllers(t)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		env.CreateNamespace(t, "apps", nil)
		labels := map[string]string{"app": "web"}
		_, err := env.Client.AppsV1().Deployments("apps").Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](2),
				Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app",
						Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
				},
			},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := env.Client.CoreV1().Services("apps").Create(ctx, &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "apps"},
			Spec: corev1.ServiceSpec{Selector: labels,
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		// The Deployment controller makes a ReplicaSet, that its pods,
		// the scheduler puts them on the kwok node, kwok runs them and the
		// EndpointSlice controller lists them ready.
		var last string
		err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			d, err := env.Client.AppsV1().Deployments("apps").Get(ctx, "web", metav1.GetOptions{})
			if err != nil || d.Status.ReadyReplicas != 2 {
				last = "deployment not ready"
				return false, nil
			}
			pods, err := env.Client.CoreV1().Pods("apps").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
			if err != nil || len(pods.Items) != 2 {
				last = "not two pods"
				return false, nil
			}
			for _, p := range pods.Items {
				if owner := metav1.GetControllerOf(&p); p.Spec.NodeName != node.Name || owner == nil || owner.Kind != "ReplicaSet" {
					last = "pod " + p.Name + " not scheduled on the kwok node by its ReplicaSet"
					return false, nil
				}
			}
			slices, err := env.Client.DiscoveryV1().EndpointSlices("apps").List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=web"})
			if err != nil || len(slices.Items) != 1 || readyEndpoints(slices.Items[0]) != 2 {
				last = "no EndpointSlice with two ready endpoints"
				return false, nil
			}
			return true, nil
		})
		if err != nil {
			t.Fatalf("controllers: %s: %v\n%s", last, err, workloadState(env, "apps"))
		}
		// The namespace controller finishes a deletion.
		if err := env.Client.CoreV1().Namespaces().Delete(ctx, "apps", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		err = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			_, err := env.Client.CoreV1().Namespaces().Get(ctx, "apps", metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			t.Fatalf("namespace apps never finished deleting: %v", err)
		}

		t.Run("istiod", func(t *testing.T) {
			env.StartIstiod(t)
			// istiod's namespace controller publishes its root certificate
			// into every namespace: it is connected and acting.
			err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
				_, err := env.Client.CoreV1().ConfigMaps("default").Get(ctx, "istio-ca-root-cert", metav1.GetOptions{})
				return err == nil, nil
			})
			if err != nil {
				t.Fatalf("istiod wrote no istio-ca-root-cert: %v", err)
			}
			extra = env.PIDs()
		})
	})
	for _, name := range []string{"kube-controller-manager", "kube-scheduler", "pilot-discovery"} {
		pid, ok := extra[name]
		if !ok {
			t.Errorf("%s was not running during its test: %v", name, extra)
			continue
		}
		if _, still := env.PIDs()[name]; still || alive(pid) {
			t.Errorf("%s (pid %d) still runs after the test that started it", name, pid)
		}
	}
	if now := env.PIDs(); len(now) != len(base) {
		t.Errorf("after the on-demand tests the env runs %v, before it ran %v", now, base)
	}
}

func readyEndpoints(s discoveryv1.EndpointSlice) int {
	n := 0
	for _, e := range s.Endpoints {
		if e.Conditions.Ready != nil && *e.Conditions.Ready {
			n++
		}
	}
	return n
}

// alive reports whether a process with pid exists (signal 0 only checks).
func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// workloadState describes a namespace's Deployments, ReplicaSets and pods
// for a failure message.
func workloadState(env *kubeenv.Env, ns string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	if ds, err := env.Client.AppsV1().Deployments(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, d := range ds.Items {
			fmt.Fprintf(&b, "deployment %s: %+v\n", d.Name, d.Status)
		}
	}
	if rs, err := env.Client.AppsV1().ReplicaSets(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, r := range rs.Items {
			fmt.Fprintf(&b, "replicaset %s: %+v\n", r.Name, r.Status)
		}
	}
	if ps, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, p := range ps.Items {
			fmt.Fprintf(&b, "pod %s on %q: %s %+v\n", p.Name, p.Spec.NodeName, p.Status.Phase, p.Status.Conditions)
		}
	}
	if ev, err := env.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{}); err == nil {
		for _, e := range ev.Items {
			fmt.Fprintf(&b, "event %s %s: %s\n", e.InvolvedObject.Name, e.Reason, e.Message)
		}
	}
	return b.String()
}
