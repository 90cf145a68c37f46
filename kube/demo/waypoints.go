package demo

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"
)

// AcceptDelay and ProgramDelay are how long the demo's stand-in for
// istiod takes to accept a waypoint created in the demo, and then to run
// its pod and program it: long enough that the progress view is seen.
var (
	AcceptDelay  = 1 * time.Second
	ProgramDelay = 2 * time.Second
)

// deployWaypoints makes the demo answer waypoint writes the way istiod and
// the Kubernetes controllers do: a Gateway of class istio-waypoint is
// accepted, gets a ready pod and a Service named after it, then an address
// and Programmed=True; deleting it removes them (they are owned by it).
func deployWaypoints(gc *gwfake.Clientset, kc *kubefake.Clientset) {
	// Read once per cluster, as rollouts does with its step.
	accept, program := AcceptDelay, ProgramDelay
	var seq atomic.Int32
	gc.PrependReactor("create", "gateways", func(a k8stesting.Action) (bool, runtime.Object, error) {
		gw, ok := a.(k8stesting.CreateAction).GetObject().(*gwv1.Gateway)
		if !ok || gw.Spec.GatewayClassName != "istio-waypoint" {
			return false, nil, nil
		}
		ns, name := a.GetNamespace(), gw.Name
		n := seq.Add(1)
		time.AfterFunc(accept, func() {
			setStatus(gc, ns, name, func(st *gwv1.GatewayStatus) {
				st.Conditions = []metav1.Condition{
					waypointCondition("Accepted", metav1.ConditionTrue, "Accepted", "Resource accepted"),
					// What istiod says while the waypoint has no ready pod.
					waypointCondition("Programmed", metav1.ConditionFalse, "AddressNotAssigned",
						`Failed to assign to any requested addresses: no instances found for hostname "`+name+"."+ns+`.svc.cluster.local"`),
				}
			})
		})
		time.AfterFunc(accept+program, func() {
			ip := fmt.Sprintf("10.96.250.%d", n%250+1)
			runWaypoint(kc, ns, name, n, ip, fmt.Sprintf("10.244.250.%d", n%250+1))
			host := name + "." + ns + ".svc.cluster.local"
			setStatus(gc, ns, name, func(st *gwv1.GatewayStatus) {
				st.Addresses = []gwv1.GatewayStatusAddress{
					{Type: ptr.To(gwv1.IPAddressType), Value: ip},
					{Type: ptr.To(gwv1.HostnameAddressType), Value: host},
				}
				st.Conditions = []metav1.Condition{
					waypointCondition("Accepted", metav1.ConditionTrue, "Accepted", "Resource accepted"),
					waypointCondition("Programmed", metav1.ConditionTrue, "Programmed", "Resource programmed, assigned to service(s) "+host+":15008"),
				}
			})
		})
		return false, nil, nil
	})
	gc.PrependReactor("delete", "gateways", func(a k8stesting.Action) (bool, runtime.Object, error) {
		ns, name := a.GetNamespace(), a.(k8stesting.DeleteAction).GetName()
		// After the delete itself, as the garbage collector would.
		go func() {
			ctx := context.Background()
			sel := metav1.ListOptions{LabelSelector: labelGatewayName + "=" + name}
			pods, _ := kc.CoreV1().Pods(ns).List(ctx, sel)
			for _, p := range pods.Items {
				_ = kc.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{})
			}
			svcs, _ := kc.CoreV1().Services(ns).List(ctx, sel)
			for _, s := range svcs.Items {
				_ = kc.CoreV1().Services(ns).Delete(ctx, s.Name, metav1.DeleteOptions{})
			}
		}()
		return false, nil, nil
	})
}

func waypointCondition(typ string, status metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: 1, LastTransitionTime: metav1.Now()}
}

// setStatus changes a Gateway's status, unless it was deleted meanwhile.
func setStatus(gc *gwfake.Clientset, ns, name string, change func(*gwv1.GatewayStatus)) {
	ctx := context.Background()
	gw, err := gc.GatewayV1().Gateways(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return
	}
	gw = gw.DeepCopy()
	change(&gw.Status)
	_, _ = gc.GatewayV1().Gateways(ns).UpdateStatus(ctx, gw, metav1.UpdateOptions{})
}

func proxyImage() string { repo, tag := istio("proxyv2"); return repo + ":" + tag }

// runWaypoint creates the Service and the ready pod istiod's Deployment
// would give the waypoint, labelled as the waypoint template labels them.
func runWaypoint(kc *kubefake.Clientset, ns, gw string, seq int32, clusterIP, podIP string) {
	ctx := context.Background()
	labels := map[string]string{
		labelGatewayName: gw, "gateway.networking.k8s.io/gateway-class-name": "istio-waypoint",
		labelManaged: meshController, labelDataplaneMode: "none", "sidecar.istio.io/inject": "false",
		"service.istio.io/canonical-name": gw, "service.istio.io/canonical-revision": "latest",
	}
	node := ""
	if nodes, err := kc.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err == nil && len(nodes.Items) > 0 {
		node = nodes.Items[0].Name
	}
	now := metav1.Now()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: gw, CreationTimestamp: now,
			Labels: map[string]string{labelGatewayName: gw, labelManaged: meshController}},
		Spec: corev1.ServiceSpec{ClusterIP: clusterIP, Selector: map[string]string{labelGatewayName: gw},
			Ports: []corev1.ServicePort{
				{Name: "status-port", Port: 15021, TargetPort: intstr.FromInt32(15021)},
				{Name: "mesh", Port: 15008, TargetPort: intstr.FromInt32(15008)},
			}},
	}
	_, _ = kc.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{})
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-6b9d7c5f4-%05x", gw, seq*7919%0xfffff),
			CreationTimestamp: now, Labels: labels, Annotations: map[string]string{"istio.io/rev": "default"}},
		Spec: corev1.PodSpec{NodeName: node, ServiceAccountName: gw,
			Containers: []corev1.Container{{Name: "istio-proxy", Image: proxyImage(), Args: []string{"proxy", "waypoint"}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: podIP, StartTime: &now,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "istio-proxy", Ready: true, Started: ptr.To(true),
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: now}}}}},
	}
	if _, err := kc.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{}); err == nil {
		recordStart(kc, pod, now.Time)
	}
}
