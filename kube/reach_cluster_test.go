package kube_test

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/reach"
)

// ambx reach to a Service on a real API server: the Service's endpoints
// are the pods kwok runs, its named targetPort is looked up on each pod,
// and a captured client goes through the Service's waypoint, whose hop to
// the endpoints on 15008 the NetworkPolicy does not admit.
func TestClusterReachService(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "node-a", nil)
	ctx := context.Background()
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"})
	captured := map[string]string{"ambient.istio.io/redirection": "enabled"} // as istio-cni marks a captured pod
	web := func(name string, port int32) *corev1.Pod {
		p := pod("shop", name, node.Name, map[string]string{"app": "web"})
		p.Annotations = captured
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: port}}
		return p
	}
	env.CreatePod(t, web("web-1", 8080))
	env.CreatePod(t, web("web-2", 9090))
	client := pod("shop", "client", node.Name, map[string]string{"app": "client"})
	client.Annotations = captured
	env.CreatePod(t, client)
	env.CreatePod(t, pod("shop", "waypoint-1", node.Name, map[string]string{ambient.LabelGatewayName: "waypoint", "istio.io/dataplane-mode": "none"}))
	if _, err := env.Client.CoreV1().Services("shop").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// web admits its app ports from the namespace, not HBONE.
	if _, err := env.Client.NetworkingV1().NetworkPolicies("shop").Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Port: ptr.To(intstr.FromInt32(8080))}, {Port: ptr.To(intstr.FromInt32(9090))}},
			}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gc := gwclient.NewForConfigOrDie(env.Config)
	if _, err := gc.GatewayV1().GatewayClasses().Create(ctx, &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-waypoint"},
		Spec:       gwv1.GatewayClassSpec{ControllerName: "istio.io/mesh-controller"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gw, err := gc.GatewayV1().Gateways("shop").Create(ctx, &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "waypoint", Namespace: "shop", Labels: map[string]string{"istio.io/waypoint-for": "service"}},
		Spec: gwv1.GatewaySpec{GatewayClassName: "istio-waypoint",
			Listeners: []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// What istiod writes once the waypoint's Service has endpoints: only
	// then does it bind anything to the waypoint.
	gw.Status.Addresses = []gwv1.GatewayStatusAddress{{Type: ptr.To(gwv1.HostnameAddressType), Value: "waypoint.shop.svc.cluster.local"}}
	gw.Status.Conditions = []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed", Message: "Resource programmed", LastTransitionTime: metav1.Now(), ObservedGeneration: gw.Generation}}
	if _, err := gc.GatewayV1().Gateways("shop").UpdateStatus(ctx, gw, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	connect := func() (*kube.Clients, error) {
		return kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig, WrapTransport: guard.Wrap})
	}
	var out, errb bytes.Buffer
	code := reach.Main(ctx, []string{"--timeout", "30s", "shop/client", "svc/shop/web:http"}, &out, &errb, connect)
	want := "denied   shop/client -> svc/shop/web 80/TCP (http) → shop/web-1 8080/TCP  carried as HBONE via waypoint shop/waypoint: 80 → 15008, then to shop/web-1 as HBONE: 8080 → 15008; shop/waypoint-1 -> shop/web-1: ingress denied: shop/web-1 is isolated for ingress by NetworkPolicy shop/web and no rule admits shop/waypoint-1 on 15008/TCP\n" +
		"denied   shop/client -> svc/shop/web 80/TCP (http) → shop/web-2 9090/TCP  carried as HBONE via waypoint shop/waypoint: 80 → 15008, then to shop/web-2 as HBONE: 9090 → 15008; shop/waypoint-1 -> shop/web-2: ingress denied: shop/web-2 is isolated for ingress by NetworkPolicy shop/web and no rule admits shop/waypoint-1 on 15008/TCP\n"
	if code != 0 || out.String() != want {
		t.Fatalf("exit %d\n got %q\nwant %q\nstderr: %s", code, out.String(), want, errb.String())
	}

	// Once the policy admits HBONE, both hops of both endpoints are allowed.
	patch := `{"spec":{"ingress":[{"from":[{"podSelector":{}}],"ports":[{"port":8080},{"port":9090},{"port":15008}]}]}}`
	if _, err := env.Client.NetworkingV1().NetworkPolicies("shop").Patch(ctx, "web", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out.Reset()
		errb.Reset()
		code = reach.Main(ctx, []string{"shop/client", "svc/shop/web"}, &out, &errb, connect)
		if code == 0 && strings.Count(out.String(), "allowed  shop/client -> svc/shop/web 80/TCP (http) → shop/web-") == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the patch: exit %d\n%s\nstderr: %s", code, out.String(), errb.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
}
