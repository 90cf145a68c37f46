package kube_test

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// ingressCluster: an ingress gateway in "ingress" in front of apps/web,
// whose Service is bound to waypoint apps/wp. web admits the gateway on
// 8080 and its waypoint on 15008; the waypoint admits only its own
// namespace. So the finding says which way the gateway goes: straight to
// web (hbone-ingress-blocked on web) or through the waypoint
// (hbone-waypoint-clients-blocked on wp).
func ingressCluster(istiod string, env map[string]string, svcLabels, nsLabels map[string]string, clusterIP string) ambient.Cluster {
	v, _ := install.ParseVersion(istiod)
	running := func(ns, name string, lbl, ann map[string]string, ip string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl, Annotations: ann},
			Spec: corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app",
				Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip,
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
	}
	appsLabels := map[string]string{"istio.io/dataplane-mode": "ambient"}
	for k, v := range nsLabels {
		appsLabels[k] = v
	}
	svcL := map[string]string{"istio.io/use-waypoint": "wp"}
	for k, v := range svcLabels {
		svcL[k] = v
	}
	tcp := func(p int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(p))}
	}
	nsSel := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": name}}
	}
	host := gwv1.HostnameAddressType
	return ambient.Cluster{
		Install: install.Info{Istiod: v, Ztunnel: v, CNI: v, Env: env},
		Namespaces: []*corev1.Namespace{
			{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: appsLabels}},
			{ObjectMeta: metav1.ObjectMeta{Name: "ingress"}},
			{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}},
		},
		Pods: []*corev1.Pod{
			running("apps", "web-1", map[string]string{"app": "web"}, map[string]string{"ambient.istio.io/redirection": "enabled"}, "10.0.0.10"),
			running("apps", "wp-1", map[string]string{"gateway.networking.k8s.io/gateway-name": "wp", "gateway.istio.io/managed": "istio.io-mesh-controller", "istio.io/dataplane-mode": "none"}, nil, "10.0.0.11"),
			running("ingress", "public-istio-1", map[string]string{"gateway.networking.k8s.io/gateway-name": "public", "gateway.istio.io/managed": "istio.io-gateway-controller", "istio.io/dataplane-mode": "none"}, nil, "10.0.0.12"),
		},
		Services: []*corev1.Service{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", Labels: svcL},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, ClusterIP: clusterIP,
				Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}}},
		}},
		Gateways: []*gwv1.Gateway{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "wp"},
			Spec:       gwv1.GatewaySpec{GatewayClassName: "istio-waypoint", Listeners: []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}}},
			Status: gwv1.GatewayStatus{Addresses: []gwv1.GatewayStatusAddress{{Type: &host, Value: "wp.apps.svc.cluster.local"}},
				Conditions: []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed"}}},
		}},
		GatewayClasses: []*gwv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: "istio-waypoint"},
			Spec: gwv1.GatewayClassSpec{ControllerName: "istio.io/mesh-controller"}}},
		NetworkPolicies: []*networkingv1.NetworkPolicy{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web"},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress: []networkingv1.NetworkPolicyIngressRule{
						{From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsSel("ingress")}}, Ports: []networkingv1.NetworkPolicyPort{tcp(8080)}},
						{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"gateway.networking.k8s.io/gateway-name": "wp"}}}},
							Ports: []networkingv1.NetworkPolicyPort{tcp(15008)}},
					},
				}},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "wp"},
				Spec: networkingv1.NetworkPolicySpec{
					PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"gateway.networking.k8s.io/gateway-name": "wp"}},
					PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
					Ingress: []networkingv1.NetworkPolicyIngressRule{
						{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}}, Ports: []networkingv1.NetworkPolicyPort{tcp(15008)}},
					},
				}},
		},
	}
}

// TestGatewayUsesWaypointByVersion: whether an ingress gateway's HBONE is
// judged against the destination or against the Service's waypoint follows
// findServiceWaypoint and the installed istiod's reading of
// istio.io/ingress-use-waypoint (reference 3.4): 1.24 the Service's own
// label, exactly "true"; 1.25-1.29 the Service's, else the namespace's,
// "true" in any case; 1.30+ strconv.ParseBool. ENABLE_INGRESS_WAYPOINT_ROUTING
// off, or a Service without a VIP, sends the gateway to the pods.
func TestGatewayUsesWaypointByVersion(t *testing.T) {
	const (
		direct  = "hbone-ingress-blocked NetworkPolicy apps/web"
		viaWP   = "hbone-waypoint-clients-blocked NetworkPolicy apps/wp"
		vip     = "10.96.0.50"
		label   = "istio.io/ingress-use-waypoint"
		routing = "ENABLE_INGRESS_WAYPOINT_ROUTING"
	)
	on := map[string]string{"PILOT_ENABLE_AMBIENT": "true"}
	off := map[string]string{"PILOT_ENABLE_AMBIENT": "true", routing: "false"}
	for _, tc := range []struct {
		name      string
		svc, ns   string // label values; "" is absent
		env       map[string]string
		clusterIP string
		want      map[string]string // istiod version -> the finding
	}{
		{name: "no label", want: map[string]string{"1.24.6": direct, "1.29.6": direct, "1.31.1": direct}},
		{name: "Service true", svc: "true", want: map[string]string{"1.23.4": direct, "1.24.6": viaWP, "1.28.10": viaWP, "1.30.3": viaWP}},
		{name: "Service TRUE", svc: "TRUE", want: map[string]string{"1.24.6": direct, "1.25.5": viaWP, "1.29.6": viaWP, "1.30.3": viaWP}},
		{name: "Service 1", svc: "1", want: map[string]string{"1.24.6": direct, "1.29.6": direct, "1.30.0": viaWP, "1.31.1": viaWP}},
		{name: "Service yes", svc: "yes", want: map[string]string{"1.29.6": direct, "1.30.3": direct}},
		{name: "namespace true", ns: "true", want: map[string]string{"1.24.6": direct, "1.25.0": viaWP, "1.30.3": viaWP}},
		{name: "namespace t", ns: "t", want: map[string]string{"1.29.6": direct, "1.30.0": viaWP}},
		{name: "Service false over namespace true", svc: "false", ns: "true", want: map[string]string{"1.25.5": direct, "1.31.1": direct}},
		{name: "routing switched off", svc: "true", env: off, want: map[string]string{"1.24.6": direct, "1.31.1": direct}},
		{name: "headless Service", svc: "true", clusterIP: corev1.ClusterIPNone, want: map[string]string{"1.24.6": direct, "1.31.1": direct}},
	} {
		for v, want := range tc.want {
			t.Run(tc.name+" "+v, func(t *testing.T) {
				env, ip := tc.env, tc.clusterIP
				if env == nil {
					env = on
				}
				if ip == "" {
					ip = vip
				}
				var svcL, nsL map[string]string
				if tc.svc != "" {
					svcL = map[string]string{label: tc.svc}
				}
				if tc.ns != "" {
					nsL = map[string]string{label: tc.ns}
				}
				s := kube.Build(ingressCluster(v, env, svcL, nsL, ip), time.Unix(1e9, 0))
				var got []string
				for _, f := range s.Findings {
					if f.Code == "hbone-ingress-blocked" || f.Code == "hbone-waypoint-clients-blocked" {
						got = append(got, f.Code+" "+f.Object.String())
					}
				}
				if !slices.Equal(got, []string{want}) {
					t.Fatalf("HBONE findings %q, want only %q", got, want)
				}
			})
		}
	}
}
