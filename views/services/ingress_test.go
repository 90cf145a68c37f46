package services_test

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/services"
)

// ingressCluster: three Services in front of a waypoint's namespace: web
// bound with istio.io/ingress-use-waypoint=true, api bound without it, db
// asking for ingress routing with no waypoint; env is istiod's.
func ingressCluster(env map[string]string) ambient.Cluster {
	v, _ := install.ParseVersion("1.29.6")
	host := gwv1.HostnameAddressType
	svc := func(name string, l map[string]string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, Labels: l},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, ClusterIP: "10.96.0.10",
				Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}}
	}
	return ambient.Cluster{
		Install:    install.Info{Istiod: v, Ztunnel: v, CNI: v, Env: env},
		Namespaces: []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}}},
		Pods: []*corev1.Pod{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "wp-1", Labels: map[string]string{"gateway.networking.k8s.io/gateway-name": "wp", "gateway.istio.io/managed": "istio.io-mesh-controller", "istio.io/dataplane-mode": "none"}},
			Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "istio-proxy"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.11",
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}},
		Services: []*corev1.Service{
			svc("api", map[string]string{"istio.io/use-waypoint": "wp"}),
			svc("db", map[string]string{"istio.io/ingress-use-waypoint": "true"}),
			svc("web", map[string]string{"istio.io/use-waypoint": "wp", "istio.io/ingress-use-waypoint": "true"}),
		},
		Gateways: []*gwv1.Gateway{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "wp"},
			Spec:       gwv1.GatewaySpec{GatewayClassName: "istio-waypoint", Listeners: []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}}},
			Status: gwv1.GatewayStatus{Addresses: []gwv1.GatewayStatusAddress{{Type: &host, Value: "wp.apps.svc.cluster.local"}},
				Conditions: []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed"}}},
		}},
		GatewayClasses: []*gwv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "istio-waypoint"},
			Spec: gwv1.GatewayClassSpec{ControllerName: "istio.io/mesh-controller"}}},
	}
}

// TestIngressColumnFollowsRoutingSwitch: the INGRESS column says what the
// installed istiod does. With ENABLE_INGRESS_WAYPOINT_ROUTING on (its
// default) web's gateways go through the waypoint and api's skip it; set
// off, istiod routes no ingress traffic to any waypoint, so web skips it
// too, whatever its label asks.
func TestIngressColumnFollowsRoutingSwitch(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"on", map[string]string{"PILOT_ENABLE_AMBIENT": "true"}},
		{"off", map[string]string{"PILOT_ENABLE_AMBIENT": "true", "ENABLE_INGRESS_WAYPOINT_ROUTING": "false"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := kube.Build(ingressCluster(tc.env), time.Unix(1e9, 0))
			m := services.New(theme.Plain).SetSize(120, 8)
			m = m.SetSnapshot(s)
			golden.RequireEqual(t, m.View(120, 8, true))
		})
	}
	// A pane kept across the switch's change redraws its rows.
	m := services.New(theme.Plain).SetSize(120, 8)
	m = m.SetSnapshot(kube.Build(ingressCluster(map[string]string{"PILOT_ENABLE_AMBIENT": "true"}), time.Unix(1e9, 0)))
	off := kube.Build(ingressCluster(map[string]string{"PILOT_ENABLE_AMBIENT": "true", "ENABLE_INGRESS_WAYPOINT_ROUTING": "false"}), time.Unix(1e9, 0))
	fresh := services.New(theme.Plain).SetSize(120, 8).SetSnapshot(off)
	if got, want := m.SetSnapshot(off).View(120, 8, true), fresh.View(120, 8, true); got != want {
		t.Errorf("the kept pane shows\n%s\nwant\n%s", got, want)
	}
}
