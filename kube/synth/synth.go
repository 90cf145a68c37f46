// Package synth builds large, deterministic, realistic clusters for
// benchmarks: the same arguments always give the same objects.
package synth

import (
	"fmt"
	"hash/fnv"
	"sort"
	"time"

	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// Namespace kinds by index modulo 10: mostly ambient, some sidecar, one in
// ten with both labels (a migration), one in ten not meshed.
func nsKind(i int) string {
	switch i % 10 {
	case 6, 7:
		return "sidecar"
	case 8:
		return "mixed"
	case 9:
		return "off"
	}
	return "ambient"
}

// Cluster returns a cluster with the given numbers of application pods,
// application namespaces, Services and policies (AuthorizationPolicy,
// PeerAuthentication and RequestAuthentication together). It adds what a
// real ambient cluster also holds: istio-system with a ztunnel and an
// istio-cni pod per node (one ztunnel not ready), nodes (one per 100 pods,
// at least 3), and a waypoint Gateway with two pods in every third ambient
// namespace. It plants the usual mistakes at a steady rate: pods started
// before enrollment, pending pods, sidecar leftovers, Services naming a
// missing waypoint and L7 rules on ztunnel.
func Cluster(pods, namespaces, services, policies int) *ambient.Cluster {
	if namespaces < 1 {
		namespaces = 1
	}
	c := &ambient.Cluster{}
	nodes := max(3, pods/100)
	for n := range nodes {
		c.Nodes = append(c.Nodes, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: nodeName(n)}})
	}

	c.Namespaces = append(c.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}})
	c.GatewayClasses = append(c.GatewayClasses, &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-waypoint"},
		Spec:       gwv1.GatewayClassSpec{ControllerName: "istio.io/mesh-controller"},
	})
	for n := range nodes {
		z := readyPod("istio-system", fmt.Sprintf("ztunnel-%05d", n), nodeName(n), map[string]string{"app": "ztunnel", ambient.LabelDataplaneMode: "none"})
		if n == nodes-1 {
			z.Status.Conditions[0].Status = corev1.ConditionFalse
		}
		cni := readyPod("istio-system", fmt.Sprintf("istio-cni-node-%05d", n), nodeName(n), map[string]string{"k8s-app": "istio-cni-node"})
		cni.Spec.HostNetwork = true
		c.Pods = append(c.Pods, z, cni)
	}

	waypointNS := map[int]bool{}
	for i := range namespaces {
		name := nsName(i)
		l := map[string]string{}
		switch nsKind(i) {
		case "ambient":
			l[ambient.LabelDataplaneMode] = "ambient"
			if i%3 == 0 {
				l[ambient.LabelUseWaypoint] = "waypoint"
				waypointNS[i] = true
			}
		case "sidecar":
			l[ambient.LabelInjection] = "enabled"
		case "mixed":
			l[ambient.LabelDataplaneMode] = "ambient"
			l[ambient.LabelInjection] = "enabled"
		}
		c.Namespaces = append(c.Namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}})
		if waypointNS[i] {
			c.Gateways = append(c.Gateways, gateway(name, "waypoint"))
			for r := range 2 {
				c.Pods = append(c.Pods, readyPod(name, fmt.Sprintf("waypoint-5c7d9-%d", r), nodeName((i+r)%nodes),
					map[string]string{ambient.LabelGatewayName: "waypoint", ambient.LabelDataplaneMode: "none"}))
			}
		}
	}

	for i := range pods {
		nsIdx := i % namespaces
		ns := nsName(nsIdx)
		app := fmt.Sprintf("app-%03d", (i/namespaces)%20)
		// Mix the index so node and mistake choices do not alias with the
		// namespace kind, which also repeats modulo 10.
		k := i / namespaces
		p := readyPod(ns, fmt.Sprintf("%s-7d4f9-%05d", app, i), nodeName((i*31+k)%nodes), map[string]string{"app": app, "pod-template-hash": "7d4f9"})
		yes := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: app + "-7d4f9", Controller: &yes}}
		switch nsKind(nsIdx) {
		case "ambient":
			switch {
			case k%13 == 7:
				// started before enrollment: no annotation
			case k%29 == 11:
				p.Annotations = map[string]string{ambient.AnnotationRedirection: "pending"}
			case k%31 == 5 && nsIdx%3 == 1:
				injectSidecar(p)
			default:
				p.Annotations = map[string]string{ambient.AnnotationRedirection: "enabled"}
			}
		case "sidecar", "mixed":
			injectSidecar(p)
		}
		c.Pods = append(c.Pods, p)
	}

	for i := range services {
		nsIdx := i % namespaces
		s := &corev1.Service{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsName(nsIdx), Name: fmt.Sprintf("svc-%05d", i)},
			Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": fmt.Sprintf("app-%03d", (i/namespaces)%20)}},
		}
		switch {
		case i%37 == 3:
			s.Labels = map[string]string{ambient.LabelUseWaypoint: "missing-waypoint"}
		case i%10 == 1 && nsKind(nsIdx) == "ambient":
			s.Labels = map[string]string{ambient.LabelUseWaypoint: "none"}
		}
		c.Services = append(c.Services, s)
	}

	created := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range policies {
		nsIdx := i % namespaces
		ns := nsName(nsIdx)
		if i%100 == 99 {
			ns = "istio-system"
		}
		meta := metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("policy-%05d", i), CreationTimestamp: metav1.NewTime(created.Add(time.Duration(i) * time.Minute))}
		app := map[string]string{"app": fmt.Sprintf("app-%03d", (i/namespaces)%20)}
		switch i % 6 {
		case 0, 1:
			p := &secv1.AuthorizationPolicy{ObjectMeta: meta}
			p.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: app}
			p.Spec.Rules = []*secv1beta1.Rule{{
				From: []*secv1beta1.Rule_From{{Source: &secv1beta1.Source{Principals: []string{"cluster.local/ns/" + ns + "/sa/web"}}}},
				To:   []*secv1beta1.Rule_To{{Operation: &secv1beta1.Operation{Ports: []string{"8080"}}}},
			}}
			if i%6 == 1 {
				p.Spec.Rules[0].To[0].Operation.Methods = []string{"GET"}
			}
			c.AuthorizationPolicies = append(c.AuthorizationPolicies, p)
		case 2:
			p := &secv1.AuthorizationPolicy{ObjectMeta: meta}
			p.Spec.Action = secv1beta1.AuthorizationPolicy_DENY
			p.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Kind: "Gateway", Group: "gateway.networking.k8s.io", Name: "waypoint"}}
			p.Spec.Rules = []*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{{Operation: &secv1beta1.Operation{Paths: []string{"/admin"}}}}}}
			c.AuthorizationPolicies = append(c.AuthorizationPolicies, p)
		case 3:
			p := &secv1.AuthorizationPolicy{ObjectMeta: meta}
			p.Spec.Rules = []*secv1beta1.Rule{{When: []*secv1beta1.Condition{{Key: "source.namespace", Values: []string{ns}}}}}
			c.AuthorizationPolicies = append(c.AuthorizationPolicies, p)
		case 4:
			p := &secv1.PeerAuthentication{ObjectMeta: meta}
			p.Spec.Mtls = &secv1beta1.PeerAuthentication_MutualTLS{Mode: secv1beta1.PeerAuthentication_MutualTLS_STRICT}
			c.PeerAuthentications = append(c.PeerAuthentications, p)
		case 5:
			p := &secv1.RequestAuthentication{ObjectMeta: meta}
			p.Spec.JwtRules = []*secv1beta1.JWTRule{{Issuer: "https://issuer.example"}}
			p.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Kind: "Gateway", Group: "gateway.networking.k8s.io", Name: "waypoint"}}
			c.RequestAuthentications = append(c.RequestAuthentications, p)
		}
	}

	sortByKey(c.Namespaces)
	sortByKey(c.Pods)
	sortByKey(c.Services)
	sortByKey(c.Gateways)
	sortByKey(c.AuthorizationPolicies)
	sortByKey(c.PeerAuthentications)
	sortByKey(c.RequestAuthentications)
	return c
}

func nsName(i int) string   { return fmt.Sprintf("ns-%04d", i) }
func nodeName(i int) string { return fmt.Sprintf("node-%04d", i) }

func readyPod(ns, name, node string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      podIP(ns + "/" + name),
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
}

// podIP gives a running pod an address, as the kubelet does; ambient
// judges a pod without one as not yet capturable.
func podIP(key string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	v := h.Sum32()
	return fmt.Sprintf("10.%d.%d.%d", 64+v>>16&63, v>>8&255, 1+v&253)
}

func injectSidecar(p *corev1.Pod) {
	p.Annotations = map[string]string{ambient.AnnotationSidecarState: `{"containers":["istio-proxy"]}`}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
	p.Labels[ambient.LabelTunnel] = "http"
}

func gateway(ns, name string) *gwv1.Gateway {
	host := gwv1.HostnameAddressType
	return &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: "istio-waypoint",
			Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
		},
		Status: gwv1.GatewayStatus{
			Addresses:  []gwv1.GatewayStatusAddress{{Type: &host, Value: name + "." + ns + ".svc.cluster.local"}},
			Conditions: []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed"}},
		},
	}
}

func sortByKey[T interface {
	GetNamespace() string
	GetName() string
}](s []T) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].GetNamespace() != s[j].GetNamespace() {
			return s[i].GetNamespace() < s[j].GetNamespace()
		}
		return s[i].GetName() < s[j].GetName()
	})
}
