package demo

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// probeSNAT is where istio-cni makes kubelet probes come from once a pod is
// captured (ambient-reference.md section 4).
const probeSNAT = "169.254.7.127/32"

func npPort(p int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(p))}
}

func pods(labels map[string]string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: labels}}
}

func nsNamed(names ...string) *metav1.LabelSelector {
	if len(names) == 1 {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": names[0]}}
	}
	return &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: names}}}
}

func probes() networkingv1.NetworkPolicyIngressRule {
	return networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: probeSNAT}}}}
}

func networkPolicies(now time.Time) []*networkingv1.NetworkPolicy {
	np := func(ns, name string, age time.Duration, selector map[string]string, rules ...networkingv1.NetworkPolicyIngressRule) *networkingv1.NetworkPolicy {
		return &networkingv1.NetworkPolicy{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid("NetworkPolicy", ns, name), Generation: 1,
				CreationTimestamp: metav1.NewTime(at(now, age))},
			Spec: networkingv1.NetworkPolicySpec{
				PodSelector: metav1.LabelSelector{MatchLabels: selector},
				Ingress:     rules,
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			},
		}
	}
	return []*networkingv1.NetworkPolicy{
		// Planted mistake 4: written before ambient, for Loki's HTTP port.
		// Probes started failing when the namespace was enrolled, so the
		// probe address was added; HBONE on 15008 fails silently and was not.
		np("loki", "loki", 280*day, helm("loki", "loki", "single-binary"),
			networkingv1.NetworkPolicyIngressRule{
				From: []networkingv1.NetworkPolicyPeer{
					pods(helm("promtail", "promtail")),
					pods(helm("loki", "loki", "canary")),
					pods(helm("loki", "loki", "gateway")),
					{NamespaceSelector: nsNamed("default"), PodSelector: &metav1.LabelSelector{MatchLabels: helm("grafana", "grafana")}},
				},
				Ports: []networkingv1.NetworkPolicyPort{npPort(3100)},
			},
			probes(),
		),
		// Planted mistake 5: 15008 opened, but only from istio-system, as if
		// ztunnel pods sent HBONE. In-pod ztunnel sends it from the client
		// pods themselves, which only reach the app port.
		np("localstack", "localstack", 120*day, helm("localstack", "localstack"),
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsNamed("argo-workflows", "example-worker")}},
				Ports: []networkingv1.NetworkPolicyPort{npPort(4566)},
			},
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsNamed("istio-system")}},
				Ports: []networkingv1.NetworkPolicyPort{npPort(15008)},
			},
			probes(),
		),
		// Planted mistake 8: homepage is served only through the ingress
		// gateway, and this was written to say so, for its app port. The
		// gateway's Envoy sends HBONE to ambient pods from its own
		// address, so it is refused on 15008 and the dashboard times out.
		np("homepage", "homepage", 60*day, helm("homepage", "homepage"),
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsNamed("istio-ingress"), PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{labelGatewayName: ingressGateway}}}},
				Ports: []networkingv1.NetworkPolicyPort{npPort(3000)},
			},
			probes(),
		),
		// Correct for ambient: clients may call the pods directly (app port
		// and HBONE), calls to the Service arrive through the waypoint's
		// HBONE, and probes come from the SNAT address.
		np("example-api", "example-api", 7*day, map[string]string{"app": "example-api"},
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsNamed("example-worker")}},
				Ports: []networkingv1.NetworkPolicyPort{npPort(9898), npPort(15008)},
			},
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{pods(map[string]string{labelGatewayName: "example-api-waypoint"})},
				Ports: []networkingv1.NetworkPolicyPort{npPort(15008)},
			},
			probes(),
		),
		// Right for sidecars, wrong once migrated: written when legacy-apps
		// joined the mesh with sidecars, it admits legacy-web on billing's
		// app port only. Its sidecars take mTLS on that port (no HBONE,
		// see plaintextSidecar); once migrated, ztunnel delivers on 15008,
		// which this drops. No finding today; the migration's what-if says
		// it would break, with its patch.
		np("legacy-apps", "legacy-billing", 200*day, map[string]string{"app": "legacy-billing"},
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{pods(map[string]string{"app": "legacy-web"})},
				Ports: []networkingv1.NetworkPolicyPort{npPort(5678)},
			},
		),
		// Correct outside the mesh: example-admin is not enrolled, so its
		// pods need no HBONE port.
		np("example-admin", "admin", 16*day, map[string]string{"app": "admin"},
			networkingv1.NetworkPolicyIngressRule{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{npPort(9898)},
			},
		),
	}
}
