package logstream_test

import (
	"context"
	"io"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ambx/ambx/kube/logstream"
)

func pod(ns, name, node string, labels map[string]string, phase corev1.PodPhase, age time.Duration) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels,
			CreationTimestamp: metav1.NewTime(time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC).Add(-age))},
		Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "istio-proxy"}}},
		Status: corev1.PodStatus{Phase: phase},
	}
}

var zt = map[string]string{"app": "ztunnel"}

func TestZtunnelsFor(t *testing.T) {
	promtail1 := pod("loki", "promtail-a", "node-1", nil, corev1.PodRunning, time.Hour)
	promtail2 := pod("loki", "promtail-b", "node-2", nil, corev1.PodRunning, time.Hour)
	promtail3 := pod("loki", "promtail-c", "node-3", nil, corev1.PodRunning, time.Hour)
	unscheduled := pod("loki", "promtail-d", "", nil, corev1.PodPending, 0)
	old := pod("istio-system", "ztunnel-old", "node-2", zt, corev1.PodRunning, 48*time.Hour)
	old.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	all := []*corev1.Pod{
		promtail1, promtail2, promtail3, unscheduled,
		pod("istio-system", "ztunnel-n1", "node-1", zt, corev1.PodRunning, 24*time.Hour),
		old,
		pod("istio-system", "ztunnel-new", "node-2", zt, corev1.PodRunning, time.Minute),
		pod("istio-system", "istio-cni-node-x", "node-3", map[string]string{"k8s-app": "istio-cni-node"}, corev1.PodRunning, time.Hour),
	}
	for _, tc := range []struct {
		name     string
		selected []*corev1.Pod
		want     logstream.Plan
	}{
		{"one node", []*corev1.Pod{promtail1}, logstream.Plan{Targets: []logstream.Target{
			{Namespace: "istio-system", Pod: "ztunnel-n1", Container: "istio-proxy", Node: "node-1"}}}},
		{"a rollout: the live new ztunnel, not the terminating one", []*corev1.Pod{promtail2}, logstream.Plan{Targets: []logstream.Target{
			{Namespace: "istio-system", Pod: "ztunnel-new", Container: "istio-proxy", Node: "node-2"}}}},
		{"a node without ztunnel, and an unscheduled pod", []*corev1.Pod{promtail3, unscheduled, promtail1, promtail1}, logstream.Plan{
			Targets: []logstream.Target{{Namespace: "istio-system", Pod: "ztunnel-n1", Container: "istio-proxy", Node: "node-1"}},
			Missing: []string{"node-3"}}},
		{"nothing selected", nil, logstream.Plan{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := logstream.ZtunnelsFor(tc.selected, all); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestKubeOpenerReadsPodLog(t *testing.T) {
	cs := fake.NewClientset(pod("istio-system", "ztunnel-n1", "node-1", zt, corev1.PodRunning, time.Hour))
	rc, err := logstream.KubeOpener{Client: cs}.Open(context.Background(), "istio-system", "ztunnel-n1", "istio-proxy", 200, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil || string(b) != "fake logs" { // what the fake clientset's pods/log returns
		t.Errorf("read %q, %v", b, err)
	}
	if _, err := (logstream.KubeOpener{}).Open(context.Background(), "istio-system", "x", "c", 1, true); err == nil {
		t.Error("an opener without a client must say so, not panic")
	}
}

func TestKubeLocator(t *testing.T) {
	cs := fake.NewClientset(
		pod("istio-system", "ztunnel-n1", "node-1", zt, corev1.PodRunning, time.Hour),
		pod("istio-system", "ztunnel-n2", "node-2", zt, corev1.PodRunning, time.Hour),
	)
	got, err := logstream.KubeLocator{Client: cs}.Ztunnel(context.Background(), "node-2")
	if err != nil || got.Pod != "ztunnel-n2" || got.Node != "node-2" {
		t.Errorf("got %+v, %v", got, err)
	}
	if _, err := (logstream.KubeLocator{Client: cs}).Ztunnel(context.Background(), "node-9"); err == nil {
		t.Error("a node without ztunnel must be an error")
	}
}
