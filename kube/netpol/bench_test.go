package netpol

import (
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// syntheticInput builds a large deterministic cluster: namespaces of three
// workloads each, nine in ten namespaces ambient, a waypoint in one in
// twenty, and policies of the kinds people write (app port from a few
// namespaces, from everywhere by label, default-deny egress with DNS, some
// already right for ambient).
func syntheticInput(pods, namespaces, policies int) HBONEInput {
	in := HBONEInput{Meshed: map[Key]Dataplane{}, Waypoints: map[Key][]Key{}}
	in.Namespaces = append(in.Namespaces, testNS("istio-system"))
	in.Pods = append(in.Pods, testPod("istio-system", "istiod-1", lbl("app", "istiod"), "grpc-xds:15012"))
	perNS := pods / namespaces
	for n := 0; n < namespaces; n++ {
		ns := fmt.Sprintf("team-%04d", n)
		ambient := n%10 != 9
		labels := []string{"tier", []string{"front", "back", "data"}[n%3]}
		if ambient {
			labels = append(labels, "istio.io/dataplane-mode", "ambient")
		}
		in.Namespaces = append(in.Namespaces, testNS(ns, labels...))
		var wp *Key
		if n%20 == 0 {
			k := Key{ns, "waypoint-0"}
			wp = &k
			in.Pods = append(in.Pods, testPod(ns, k.Name, lbl("gateway.networking.k8s.io/gateway-name", "waypoint", managedLabel, managedByMesh)))
		}
		for i := 0; i < perNS; i++ {
			app := fmt.Sprintf("svc%d", i%3)
			p := testPod(ns, fmt.Sprintf("%s-7c9f8-%05d", app, i), lbl("app", app, "pod-template-hash", "7c9f8"), "http:8080", "metrics:9090")
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
			in.Pods = append(in.Pods, p)
			k := Key{ns, p.Name}
			if ambient {
				in.Meshed[k] = Ambient
			}
			if wp != nil {
				in.Waypoints[k] = []Key{*wp}
			}
		}
	}
	tcp := corev1.ProtocolTCP
	udp := corev1.ProtocolUDP
	port := func(n int) []networkingv1.NetworkPolicyPort {
		v := intstr.FromInt32(int32(n))
		return []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &v}}
	}
	for i := 0; i < policies; i++ {
		ns := fmt.Sprintf("team-%04d", (i*7)%namespaces)
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("pol-%d", i)}}
		sel := metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("svc%d", i%3)}}
		switch i % 5 {
		case 0: // app port from three namespaces by name
			np.Spec.PodSelector = sel
			var peers []networkingv1.NetworkPolicyPeer
			for j := 1; j <= 3; j++ {
				peers = append(peers, networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
					MatchLabels: map[string]string{NamespaceNameLabel: fmt.Sprintf("team-%04d", (i+j)%namespaces)}}})
			}
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{From: peers, Ports: port(8080)}}
		case 1: // app port from every front-tier namespace
			np.Spec.PodSelector = sel
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{
					MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"front"}}}}}},
				Ports: port(8080)}}
		case 2: // default-deny egress except DNS
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			v := intstr.FromInt32(53)
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{
				{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &v}}},
				{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}}, Ports: port(8080)},
			}
		case 3: // already right: app port and 15008 from the namespace
			np.Spec.PodSelector = sel
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: append(port(8080), port(15008)...)}}
		case 4: // metrics from anywhere
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{Ports: port(9090)}}
		}
		in.NetworkPolicies = append(in.NetworkPolicies, np)
	}
	return in
}

func TestSyntheticClusterFindsItsProblems(t *testing.T) {
	in := syntheticInput(2000, 200, 100)
	ps := CheckHBONEProblems(in)
	seen := map[string]int{}
	for _, p := range ps {
		seen[p.Code]++
	}
	// Every kind the generator plants shows up; the ones it gets right do not.
	for _, code := range []string{"hbone-ingress-blocked", "hbone-egress-blocked", "probe-source-blocked", "hbone-waypoint-ingress-blocked"} {
		if seen[code] == 0 {
			t.Errorf("no %s among %v", code, seen)
		}
	}
	for _, p := range ps {
		if p.Code == "hbone-ingress-blocked" && p.Object.Name != "" {
			var n int
			fmt.Sscanf(p.Object.Name, "pol-%d", &n)
			if n%5 == 3 {
				t.Errorf("policy %s admits 15008 already: %s", p.Object, p.Why)
			}
		}
	}
}

func BenchmarkCheckHBONE(b *testing.B) {
	in := syntheticInput(10000, 1000, 500)
	b.ReportAllocs()
	b.ResetTimer()
	var n int
	for b.Loop() {
		n = len(CheckHBONE(in))
	}
	b.ReportMetric(float64(n), "findings")
}

func BenchmarkEvaluate(b *testing.B) {
	in := syntheticInput(10000, 1000, 500)
	c, err := NewCluster(in.Namespaces, in.Pods, in.NetworkPolicies)
	if err != nil {
		b.Fatal(err)
	}
	pods := c.Pods()
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for b.Loop() {
		from, to := pods[i%len(pods)], pods[(i*7919)%len(pods)]
		i++
		if _, err := c.Evaluate(Peer{Pod: from}, Peer{Pod: to}, 8080, ""); err != nil {
			b.Fatal(err)
		}
	}
}
