package writer

import (
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
)

// fixedNow is the clock of every test writer.
var fixedNow = time.Date(2026, 8, 24, 9, 30, 0, 0, time.UTC)

// newFake returns a writer over a fake clientset holding objs.
func newFake(t *testing.T, readOnly bool, objs ...runtime.Object) (*Writer, *fake.Clientset) {
	t.Helper()
	cs := fake.NewSimpleClientset(objs...)
	w := New(&kube.Clients{Kube: cs}, readOnly)
	w.now = func() time.Time { return fixedNow }
	return w, cs
}

// snapshot analyses objects the way kube.Source does.
func snapshot(objs ...runtime.Object) *kube.Snapshot {
	s := &kube.Snapshot{}
	for _, o := range objs {
		switch o := o.(type) {
		case *corev1.Namespace:
			s.Namespaces = append(s.Namespaces, o)
		case *corev1.Pod:
			s.Pods = append(s.Pods, o)
		case *corev1.Service:
			s.Services = append(s.Services, o)
		}
	}
	s.Mesh = ambient.Analyze(&s.Cluster)
	s.Resources = kube.AllRead()
	return s
}

func namespace(name, rv string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name: name, ResourceVersion: rv, Labels: labels,
		Annotations: map[string]string{"owner": "team-a"},
	}}
}

type podOpt func(*corev1.Pod)

func withLabel(k, v string) podOpt {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels[k] = v
	}
}

func captured(p *corev1.Pod) {
	p.Annotations = map[string]string{ambient.AnnotationRedirection: "enabled"}
}

func withSidecar(p *corev1.Pod) {
	p.Annotations = map[string]string{ambient.AnnotationSidecarState: "{}"}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
}

func hostNetwork(p *corev1.Pod) { p.Spec.HostNetwork = true }

func ownedBy(kind, name string) podOpt {
	return func(p *corev1.Pod) {
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, Controller: &yes}}
	}
}

// ownedByDeployment names the pod's ReplicaSet the way a Deployment does.
func ownedByDeployment(name string) podOpt {
	return func(p *corev1.Pod) {
		ownedBy("ReplicaSet", name+"-5d8f9")(p)
		withLabel("pod-template-hash", "5d8f9")(p)
	}
}

func pod(ns, name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "7", Labels: map[string]string{"app": name}},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.7", Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: corev1.ConditionTrue},
		}},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}
