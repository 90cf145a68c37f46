package kubeenv_test

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/ambx/ambx/kube/kubeenv"
)

// With the injector registered, the ReplicaSet controller's pods in a
// namespace labelled istio-injection=enabled come out of the API server
// with istiod's sidecar, and those of an unlabelled namespace without.
func TestSidecarInjectorInjectsControllerPods(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Istiod: true})
	env.CreateNode(t, "node-a", nil)
	env.StartSidecarInjector(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for ns, labels := range map[string]map[string]string{
		"injected": {"istio-injection": "enabled"},
		"plain":    nil,
	} {
		env.CreateNamespace(t, ns, labels)
		sel := map[string]string{"app": "web"}
		if _, err := env.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: sel},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel},
					Spec: corev1.PodSpec{ServiceAccountName: "default", Containers: []corev1.Container{{Name: "app", Image: "example/app"}}}}},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for ns, want := range map[string]bool{"injected": true, "plain": false} {
		var pods []corev1.Pod
		err := wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			l, err := env.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil {
				return false, nil
			}
			pods = l.Items
			running := 0
			for _, p := range pods {
				if p.Status.Phase == corev1.PodRunning {
					running++
				}
			}
			return running == 2, nil
		})
		if err != nil {
			t.Fatalf("%s: the Deployment's two pods are not Running: %v (%d pods)\n%s", ns, err, len(pods), env.LogTails(20))
		}
		for _, p := range pods {
			_, status := p.Annotations["sidecar.istio.io/status"]
			if got := hasProxy(p); got != want || status != want {
				t.Errorf("%s/%s: istio-proxy %v, sidecar.istio.io/status %v; want %v (containers %v, init %v)",
					ns, p.Name, got, status, want, names(p.Spec.Containers), names(p.Spec.InitContainers))
			}
		}
	}
}

func hasProxy(p corev1.Pod) bool {
	for _, c := range append(append([]corev1.Container{}, p.Spec.Containers...), p.Spec.InitContainers...) {
		if c.Name == "istio-proxy" {
			return true
		}
	}
	return false
}

func names(cs []corev1.Container) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	return out
}
