package install

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	inst "github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

func snapshotOf(o inst.Objects) *kube.Snapshot {
	c := ambient.Cluster{Install: inst.Discover(o)}
	return kube.Build(c, demo.Epoch)
}

func TestDemo(t *testing.T) {
	got := New(theme.Plain).SetSnapshot(demo.Homelab()).View(130, 40)
	for _, want := range []string{"Istio 1.31.1", "istio-system/istiod", "PILOT_ENABLE_AMBIENT", "istiod env", "default in 1.31"} {
		if !strings.Contains(got, want) {
			t.Errorf("the demo's install view lacks %q", want)
		}
	}
	golden.RequireEqual(t, got)
}

func TestForbidden(t *testing.T) {
	s := snapshotOf(inst.Objects{Unread: map[string]string{"deployments": "forbidden: User \"viewer\" cannot list resource \"deployments\"", "daemonsets": "forbidden"}})
	got := New(theme.Plain).SetSnapshot(s).View(110, 30)
	if !strings.Contains(got, "Verdicts assume Istio "+inst.AssumedVersion.MinorString()) {
		t.Errorf("forbidden: the assumed version is not on screen:\n%s", got)
	}
	golden.RequireEqual(t, got)
}

func TestSkewAndSwitches(t *testing.T) {
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istiod-1-29", Labels: map[string]string{"app": "istiod", "istio.io/rev": "1-29"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "discovery", Image: "istio/pilot:1.29.1",
			Env: []corev1.EnvVar{{Name: "PILOT_ENABLE_AMBIENT", Value: "true"}, {Name: "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY", Value: "true"}, {Name: "ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY", Value: "nah"}}}}}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 1},
	}
	z := &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "ztunnel", Labels: map[string]string{"app.kubernetes.io/name": "ztunnel"}},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "istio-proxy", Image: "istio/ztunnel:1.28.0\x1b]52;c;aGk=\x07"}}}}},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 3, NumberReady: 2},
	}
	got := New(theme.Plain).SetSnapshot(snapshotOf(inst.Objects{Deployments: []*appsv1.Deployment{d}, DaemonSets: []*appsv1.DaemonSet{z}})).View(140, 45)
	if strings.ContainsAny(got, "\x1b\x07") {
		t.Fatal("a control byte from an image name reached the screen")
	}
	golden.RequireEqual(t, got)
}

func TestScrollAndTinySizes(t *testing.T) {
	m := New(theme.Plain).SetSnapshot(demo.Homelab()).SetSize(80, 8)
	top := m.View(80, 8)
	m, _ = m.Update(tea.KeyPressMsg{Code: tea.KeyDown})
	if m.View(80, 8) == top {
		t.Error("down does not scroll")
	}
	for _, wh := range [][2]int{{0, 0}, {1, 1}, {5, 2}, {20, 3}} {
		got := m.View(wh[0], wh[1])
		if wh[1] > 0 && len(strings.Split(got, "\n")) != wh[1] {
			t.Errorf("%dx%d: %d lines", wh[0], wh[1], len(strings.Split(got, "\n")))
		}
	}
}
