package netpol_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/netpol"
	"github.com/ambx/ambx/kube/synth"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// synthPolicies adds NetworkPolicies to a kube/synth cluster, one kind per
// index modulo 6, so that every waypoint and egress path of the HBONE
// checks has work: app-port ingress, default-deny ingress, default-deny
// egress (with and without 15008 to one namespace's waypoint), egress on
// the app port, and waypoints admitting only their own namespace.
func synthPolicies(c *ambient.Cluster, n int) *ambient.Cluster {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	app, dns, hbone := intstr.FromInt32(8080), intstr.FromInt32(53), intstr.FromInt32(15008)
	nss := c.Namespaces[1:] // after istio-system
	nsSel := func(name string) *metav1.LabelSelector {
		return &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": name}}
	}
	toDNS := networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}}}
	for i := range n {
		ns := nss[i%len(nss)].Name
		if i%6 == 5 {
			ns = nss[(i+1)%len(nss)].Name // every third namespace has a waypoint
		}
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("netpol-%05d", i)}}
		switch i % 6 {
		case 0:
			np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%03d", i%20)}}
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: nsSel(nss[(i+1)%len(nss)].Name)}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &app}},
			}}
		case 1:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		case 2:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{toDNS}
		case 3:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{toDNS, {
				To: []networkingv1.NetworkPolicyPeer{{
					NamespaceSelector: nsSel(nss[(i+3)%len(nss)].Name),
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{ambient.LabelGatewayName: "waypoint"}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &hbone}},
			}}
		case 4:
			np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%03d", i%20)}}
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{toDNS, {
				To:    []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &app}},
			}}
		case 5:
			np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{ambient.LabelGatewayName: "waypoint"}}
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &hbone}},
			}}
		}
		c.NetworkPolicies = append(c.NetworkPolicies, np)
	}
	return c
}

// TestSynthClusterFindings pins every NetworkPolicy finding, patch and
// manifest included, that kube.Build reports on a kube/synth cluster. The
// golden file was written by the per-pod checks before they were made to
// share work between pods, waypoints and identical patches, so it holds
// those shortcuts to the same output.
func TestSynthClusterFindings(t *testing.T) {
	c := synthPolicies(synth.Cluster(800, 80, 240, 40), 90)
	fs := netpolFindings(kube.Build(*c, demoNow))
	codes := map[string]bool{}
	var sb strings.Builder
	for _, f := range fs {
		codes[f.Code] = true
		writeFinding(&sb, f)
	}
	for _, code := range []string{"hbone-ingress-blocked", "hbone-egress-blocked", "hbone-waypoint-ingress-blocked",
		"hbone-waypoint-clients-blocked", "hbone-egress-to-waypoint-blocked"} {
		if !codes[code] {
			t.Errorf("no %s finding: the policy mix no longer exercises it", code)
		}
	}
	netpol.Golden(t, "synth-findings.golden", sb.String())
}

func writeFinding(sb *strings.Builder, f finding.Finding) {
	fmt.Fprintf(sb, "=== %s %s %s\n%s\n%s\nfix: %s\n", f.Severity, f.Code, f.Object, f.Title, f.Why, f.Fix)
	if p := f.Patch; p != nil {
		fmt.Fprintf(sb, "patch: %s (%s)\n%s\n---\n%s", p.Title, p.Target, p.JSONPatch, p.Manifest)
	}
}
