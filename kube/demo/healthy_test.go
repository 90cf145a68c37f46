package demo

import (
	"encoding/json"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// The analysis engineers assert that the planted mistakes, and nothing
// else, show up as findings. These tests hold the rest of the cluster to
// what a healthy one looks like.

func TestPodsRunningWithIPsFromTheirNode(t *testing.T) {
	c := Objects(Epoch)
	nodes := map[string]*corev1.Node{}
	for _, n := range c.Nodes {
		nodes[n.Name] = n
	}
	seen := map[string]string{}
	for _, p := range c.Pods {
		key := p.Namespace + "/" + p.Name
		n, ok := nodes[p.Spec.NodeName]
		if !ok {
			t.Errorf("%s runs on unknown node %q", key, p.Spec.NodeName)
			continue
		}
		if p.Status.Phase != corev1.PodRunning {
			t.Errorf("%s is %s, want Running", key, p.Status.Phase)
		}
		ready := false
		for _, cond := range p.Status.Conditions {
			if cond.Type == corev1.PodReady && cond.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		if !ready {
			t.Errorf("%s is not Ready", key)
		}
		if len(p.Status.ContainerStatuses) != len(p.Spec.Containers) {
			t.Errorf("%s has %d container statuses for %d containers", key, len(p.Status.ContainerStatuses), len(p.Spec.Containers))
		}
		for _, cs := range p.Status.ContainerStatuses {
			if !cs.Ready || cs.State.Running == nil {
				t.Errorf("%s container %s is not running and ready", key, cs.Name)
			}
		}
		ip, err := netip.ParseAddr(p.Status.PodIP)
		if err != nil {
			t.Errorf("%s has pod IP %q: %v", key, p.Status.PodIP, err)
			continue
		}
		if p.Status.HostIP != n.Status.Addresses[0].Address {
			t.Errorf("%s hostIP %s, but node %s is %s", key, p.Status.HostIP, n.Name, n.Status.Addresses[0].Address)
		}
		if p.Spec.HostNetwork {
			if p.Status.PodIP != p.Status.HostIP {
				t.Errorf("host-network %s has IP %s, not its node's %s", key, ip, p.Status.HostIP)
			}
			continue
		}
		cidr := netip.MustParsePrefix(n.Spec.PodCIDR)
		if !cidr.Contains(ip) {
			t.Errorf("%s has IP %s outside %s's pod CIDR %s", key, ip, n.Name, cidr)
		}
		if other, dup := seen[ip.String()]; dup {
			t.Errorf("%s and %s share IP %s", key, other, ip)
		}
		seen[ip.String()] = key
	}
}

func TestOwnersExistAndSelectTheirPods(t *testing.T) {
	c := Objects(Epoch)
	type owner struct {
		selector *metav1.LabelSelector
		owners   []metav1.OwnerReference
	}
	byKey := map[string]owner{}
	for _, o := range Workloads(Epoch) {
		m := o.(metav1.Object)
		var sel *metav1.LabelSelector
		switch w := o.(type) {
		case *appsv1.Deployment:
			sel = w.Spec.Selector
		case *appsv1.ReplicaSet:
			sel = w.Spec.Selector
		case *appsv1.DaemonSet:
			sel = w.Spec.Selector
		case *appsv1.StatefulSet:
			sel = w.Spec.Selector
		}
		byKey[kindOf(o)+" "+m.GetNamespace()+"/"+m.GetName()] = owner{sel, m.GetOwnerReferences()}
	}
	for _, p := range c.Pods {
		key := p.Namespace + "/" + p.Name
		if len(p.OwnerReferences) != 1 || p.OwnerReferences[0].Controller == nil || !*p.OwnerReferences[0].Controller {
			t.Errorf("%s: want exactly one controller owner, have %v", key, p.OwnerReferences)
			continue
		}
		ref := p.OwnerReferences[0]
		if ref.Kind == "Node" {
			if ref.Name != p.Spec.NodeName || p.Namespace != "kube-system" {
				t.Errorf("mirror pod %s is owned by node %s but runs on %s", key, ref.Name, p.Spec.NodeName)
			}
			continue
		}
		o, ok := byKey[ref.Kind+" "+p.Namespace+"/"+ref.Name]
		if !ok {
			t.Errorf("%s is owned by %s %s, which Workloads does not hold", key, ref.Kind, ref.Name)
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(o.selector)
		if err != nil || !sel.Matches(labels.Set(p.Labels)) {
			t.Errorf("%s is not selected by its owner %s %s (%v)", key, ref.Kind, ref.Name, err)
		}
		if ref.Kind == "ReplicaSet" {
			if len(o.owners) != 1 || o.owners[0].Kind != "Deployment" {
				t.Errorf("ReplicaSet %s/%s has owners %v, want its Deployment", p.Namespace, ref.Name, o.owners)
			} else if _, ok := byKey["Deployment "+p.Namespace+"/"+o.owners[0].Name]; !ok {
				t.Errorf("ReplicaSet %s/%s is owned by missing Deployment %s", p.Namespace, ref.Name, o.owners[0].Name)
			}
		}
	}
}

// containerPort finds the port a Service's targetPort names on a pod.
func containerPort(p *corev1.Pod, target intstr.IntOrString, proto corev1.Protocol) bool {
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Protocol != proto {
				continue
			}
			if target.Type == intstr.String && cp.Name == target.StrVal {
				return true
			}
			if target.Type == intstr.Int && cp.ContainerPort == target.IntVal {
				return true
			}
		}
	}
	return false
}

func TestServicesSelectPodsOnDeclaredPorts(t *testing.T) {
	c := Objects(Epoch)
	ips := map[string]string{}
	for _, s := range c.Services {
		key := s.Namespace + "/" + s.Name
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			if other, dup := ips[s.Spec.ClusterIP]; dup {
				t.Errorf("%s and %s share ClusterIP %s", key, other, s.Spec.ClusterIP)
			}
			ips[s.Spec.ClusterIP] = key
			if !netip.MustParsePrefix("10.96.0.0/12").Contains(netip.MustParseAddr(s.Spec.ClusterIP)) {
				t.Errorf("%s ClusterIP %s outside the service CIDR", key, s.Spec.ClusterIP)
			}
		}
		if len(s.Spec.Selector) == 0 {
			if key != "default/kubernetes" {
				t.Errorf("%s has no selector", key)
			}
			continue
		}
		sel := labels.SelectorFromSet(s.Spec.Selector)
		var selected []*corev1.Pod
		for _, p := range c.Pods {
			if p.Namespace == s.Namespace && sel.Matches(labels.Set(p.Labels)) {
				selected = append(selected, p)
			}
		}
		if len(selected) == 0 {
			t.Errorf("%s selects no pods", key)
		}
		waypoint := s.Labels[labelManaged] == meshController
		ingress := s.Labels[labelManaged] == ingressController
		for _, sp := range s.Spec.Ports {
			for _, p := range selected {
				// The waypoint template declares no container port 15008;
				// its Service forwards there by number, as istiod's does.
				if waypoint && sp.TargetPort.IntVal == 15008 {
					continue
				}
				// Nor does the gateway template declare its listeners'
				// ports: Envoy opens them from the Gateway's config.
				if ingress && sp.Name != "status-port" {
					continue
				}
				if !containerPort(p, sp.TargetPort, sp.Protocol) {
					t.Errorf("%s port %s targets %s, which pod %s does not declare", key, sp.Name, sp.TargetPort.String(), p.Name)
				}
			}
		}
	}
}

func TestDataplaneOnEveryNode(t *testing.T) {
	c := Objects(Epoch)
	for _, n := range c.Nodes {
		var zt, cni int
		for _, p := range c.Pods {
			if p.Spec.NodeName != n.Name || p.Namespace != "istio-system" || p.Status.Phase != corev1.PodRunning {
				continue
			}
			switch {
			case p.Labels["app"] == "ztunnel":
				zt++
			case p.Labels["k8s-app"] == "istio-cni-node":
				cni++
			}
		}
		if zt != 1 || cni != 1 {
			t.Errorf("node %s runs %d ztunnel and %d istio-cni pods, want one of each", n.Name, zt, cni)
		}
	}
}

// enrolledAt reads when istio.io/dataplane-mode was set from managedFields.
func enrolledAt(t *testing.T, ns *corev1.Namespace) time.Time {
	t.Helper()
	for _, mf := range ns.ManagedFields {
		var f struct {
			Metadata struct {
				Labels map[string]any `json:"f:labels"`
			} `json:"f:metadata"`
		}
		if err := json.Unmarshal(mf.FieldsV1.Raw, &f); err != nil {
			t.Fatalf("namespace %s managedFields: %v", ns.Name, err)
		}
		if _, ok := f.Metadata.Labels["f:istio.io/dataplane-mode"]; ok {
			return mf.Time.Time
		}
	}
	t.Fatalf("namespace %s has the ambient label but no managedFields entry for it", ns.Name)
	return time.Time{}
}

func TestOnlyUnpollerPredatesEnrollment(t *testing.T) {
	c := Objects(Epoch)
	ambientNS := map[string]time.Time{}
	for _, ns := range c.Namespaces {
		if ns.Labels["istio.io/dataplane-mode"] == "ambient" {
			ambientNS[ns.Name] = enrolledAt(t, ns)
		}
	}
	var stale []string
	for _, p := range c.Pods {
		enrolled, ok := ambientNS[p.Namespace]
		if !ok || p.Labels["istio.io/dataplane-mode"] == "none" {
			continue
		}
		older := p.CreationTimestamp.Time.Before(enrolled)
		if older == isCaptured(p) {
			t.Errorf("%s/%s: created %v, namespace enrolled %v, redirection %q: capture must match age",
				p.Namespace, p.Name, p.CreationTimestamp.Time, enrolled, p.Annotations["ambient.istio.io/redirection"])
		}
		if older {
			stale = append(stale, p.Namespace+"/"+p.Labels["app"])
		}
	}
	if !slices.Equal(stale, []string{"unipoller/unpoller"}) {
		t.Errorf("pods older than their namespace's enrollment: %v, want only unipoller/unpoller", stale)
	}
}

func TestMetricsCoverEveryPodAndNode(t *testing.T) {
	c := Objects(Epoch)
	podMetrics, nodeMetrics := Metrics(Epoch)
	byKey := map[string]int{}
	for i, m := range podMetrics {
		byKey[m.Namespace+"/"+m.Name] = i
	}
	perNode := map[string]int64{}
	hottest, hottestCPU := "", int64(0)
	for _, p := range c.Pods {
		i, ok := byKey[p.Namespace+"/"+p.Name]
		if !ok {
			t.Errorf("no PodMetrics for %s/%s", p.Namespace, p.Name)
			continue
		}
		m := podMetrics[i]
		var names []string
		for _, cm := range m.Containers {
			names = append(names, cm.Name)
			cpu := cm.Usage.Cpu().MilliValue()
			if cpu <= 0 || cm.Usage.Memory().Value() <= 0 {
				t.Errorf("%s/%s container %s reports %v", p.Namespace, p.Name, cm.Name, cm.Usage)
			}
			perNode[p.Spec.NodeName] += cm.Usage.Cpu().MilliValue()
			if p.Labels["app"] == "ztunnel" && cpu > hottestCPU {
				hottest, hottestCPU = p.Spec.NodeName, cpu
			}
		}
		var want []string
		for _, ct := range p.Spec.Containers {
			want = append(want, ct.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s/%s metrics for containers %v, pod has %v", p.Namespace, p.Name, names, want)
		}
	}
	for _, n := range nodeMetrics {
		if got := n.Usage.Cpu().MilliValue(); got <= perNode[n.Name] {
			t.Errorf("node %s uses %dm, not more than its pods' %dm", n.Name, got, perNode[n.Name])
		}
	}
	lokiNode := ""
	for _, p := range c.Pods {
		if p.Namespace == "loki" && p.Name == "loki-0" {
			lokiNode = p.Spec.NodeName
		}
	}
	if hottest != lokiNode {
		t.Errorf("the busiest ztunnel is on %s, want the node running loki-0 (%s)", hottest, lokiNode)
	}
}

// admits reports whether an ingress rule lists port p (or has no port list).
func admits(r networkingv1.NetworkPolicyIngressRule, p int32) bool {
	if len(r.Ports) == 0 {
		return true
	}
	for _, np := range r.Ports {
		if np.Port != nil && np.Port.IntVal == p {
			return true
		}
	}
	return false
}

func TestPlantedNetworkPolicyMistakes(t *testing.T) {
	c := Objects(Epoch)
	podsOf := func(np *networkingv1.NetworkPolicy) []*corev1.Pod {
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err != nil {
			t.Fatalf("%s/%s: %v", np.Namespace, np.Name, err)
		}
		var out []*corev1.Pod
		for _, p := range c.Pods {
			if p.Namespace == np.Namespace && sel.Matches(labels.Set(p.Labels)) {
				out = append(out, p)
			}
		}
		return out
	}
	// A rule that opens an app port to some peers must open 15008 to the
	// same peers, if the pods it protects are captured.
	var broken []string
	for _, np := range c.NetworkPolicies {
		selected := podsOf(np)
		if len(selected) == 0 {
			t.Errorf("NetworkPolicy %s/%s selects no pods", np.Namespace, np.Name)
		}
		if !slices.ContainsFunc(selected, isCaptured) {
			continue
		}
		for _, r := range np.Spec.Ingress {
			if len(r.Ports) == 0 || admits(r, 15008) {
				continue
			}
			peers, _ := json.Marshal(r.From)
			hbone := slices.ContainsFunc(np.Spec.Ingress, func(o networkingv1.NetworkPolicyIngressRule) bool {
				samePeers, _ := json.Marshal(o.From)
				return admits(o, 15008) && string(samePeers) == string(peers)
			})
			if !hbone {
				broken = append(broken, np.Namespace+"/"+np.Name)
			}
		}
	}
	if !slices.Equal(broken, []string{"homepage/homepage", "localstack/localstack", "loki/loki"}) {
		t.Errorf("NetworkPolicies that open an app port but not HBONE to the same peers: %v, want homepage/homepage, localstack/localstack and loki/loki", broken)
	}

	for _, np := range c.NetworkPolicies {
		if np.Namespace != "localstack" {
			continue
		}
		for _, r := range np.Spec.Ingress {
			if admits(r, 15008) && len(r.Ports) > 0 {
				if got := r.From[0].NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"]; got != "istio-system" {
					t.Errorf("localstack admits 15008 from %q, the planted mistake is istio-system only", got)
				}
			}
		}
	}
}

func TestPlantedMeshMistakes(t *testing.T) {
	c := Objects(Epoch)

	gateways := map[string]bool{}
	for _, g := range c.Gateways {
		if g.Spec.GatewayClassName == "istio" {
			ingressGatewayIsHealthy(t, c.Pods, g)
			continue
		}
		gateways[g.Namespace+"/"+g.Name] = true
		if g.Spec.GatewayClassName != "istio-waypoint" || len(g.Spec.Listeners) != 1 ||
			g.Spec.Listeners[0].Port != 15008 || g.Spec.Listeners[0].Protocol != "HBONE" || g.Spec.Listeners[0].Name != "mesh" {
			t.Errorf("waypoint %s/%s is not the shape istioctl writes: %+v", g.Namespace, g.Name, g.Spec)
		}
		programmed := slices.ContainsFunc(g.Status.Conditions, func(c metav1.Condition) bool {
			return c.Type == "Programmed" && c.Status == metav1.ConditionTrue
		})
		if !programmed || len(g.Status.Addresses) == 0 {
			t.Errorf("waypoint %s/%s is not programmed with addresses", g.Namespace, g.Name)
		}
		found := false
		for _, p := range c.Pods {
			if p.Namespace == g.Namespace && p.Labels[labelGatewayName] == g.Name &&
				p.Labels[labelManaged] == meshController && p.Labels[labelDataplaneMode] == "none" {
				found = true
			}
		}
		if !found {
			t.Errorf("waypoint %s/%s has no pod", g.Namespace, g.Name)
		}
	}

	// Every use-waypoint label names an existing waypoint, except the
	// worker Service's, whose condition says so the way istiod writes it.
	var missing []string
	for _, s := range c.Services {
		wp := s.Labels[labelUseWaypoint]
		if wp == "" {
			continue
		}
		if !gateways[s.Namespace+"/"+wp] {
			missing = append(missing, s.Namespace+"/"+s.Name)
			want := `waypoint "example-worker/worker-waypoint" is not ready`
			if len(s.Status.Conditions) != 1 || s.Status.Conditions[0].Reason != "WaypointIsNotReady" ||
				s.Status.Conditions[0].Status != metav1.ConditionFalse || s.Status.Conditions[0].Message != want {
				t.Errorf("%s/%s conditions %+v, want WaypointBound=False WaypointIsNotReady %q", s.Namespace, s.Name, s.Status.Conditions, want)
			}
		}
	}
	for _, ns := range c.Namespaces {
		if wp := ns.Labels[labelUseWaypoint]; wp != "" && !gateways[ns.Name+"/"+wp] {
			missing = append(missing, "namespace "+ns.Name)
		}
	}
	if !slices.Equal(missing, []string{"example-worker/worker"}) {
		t.Errorf("objects asking for a missing waypoint: %v, want only example-worker/worker", missing)
	}

	// Selector policies with HTTP fields: argo's ALLOW and trivy's DENY,
	// each with istiod's message for its action.
	var l7AtZtunnel []string
	for _, ap := range c.AuthorizationPolicies {
		if len(ap.Spec.TargetRefs) > 0 {
			if len(ap.Status.Conditions) != 1 || ap.Status.Conditions[0].Type != "WaypointAccepted" || ap.Status.Conditions[0].Status != "True" {
				t.Errorf("%s/%s targets a waypoint but has conditions %v", ap.Namespace, ap.Name, ap.Status.Conditions)
			}
			continue
		}
		http := false
		for _, r := range ap.Spec.Rules {
			for _, to := range r.To {
				if len(to.Operation.Methods)+len(to.Operation.Paths)+len(to.Operation.Hosts) > 0 {
					http = true
				}
			}
			for _, w := range r.When {
				if !strings.HasPrefix(w.Key, "source.") && !strings.HasPrefix(w.Key, "destination.") {
					http = true
				}
			}
		}
		cond := ap.Status.Conditions[0]
		if cond.Type != "ZtunnelAccepted" || cond.Status != "True" {
			t.Errorf("%s/%s is attached by selector but has condition %s=%s", ap.Namespace, ap.Name, cond.Type, cond.Status)
		}
		if http {
			l7AtZtunnel = append(l7AtZtunnel, ap.Namespace+"/"+ap.Name)
			want := "ztunnel does not support HTTP attributes (found: methods, paths). In ambient mode you must use a waypoint proxy to enforce HTTP rules. " +
				"Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested."
			if ap.Spec.Action.String() == "DENY" {
				want = "ztunnel does not support HTTP attributes (found: methods, paths). In ambient mode you must use a waypoint proxy to enforce HTTP rules. " +
					"DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested."
			}
			if cond.Reason != "UnsupportedValue" || cond.Message != want {
				t.Errorf("%s/%s condition %s: %q, want UnsupportedValue: %q", ap.Namespace, ap.Name, cond.Reason, cond.Message, want)
			}
		} else if cond.Reason != "Accepted" {
			t.Errorf("%s/%s is pure L4 but has reason %s", ap.Namespace, ap.Name, cond.Reason)
		}
	}
	if !slices.Equal(l7AtZtunnel, []string{"argo-workflows/argo-server-api", "trivy-system/trivy-server-deny-cache-deletes"}) {
		t.Errorf("selector policies with HTTP fields: %v, want argo-workflows/argo-server-api and trivy-system/trivy-server-deny-cache-deletes", l7AtZtunnel)
	}
}

// ingressGatewayIsHealthy: the ingress Gateway is programmed with an
// address and has the pod istiod deploys for it, which ambient leaves alone
// (dataplane-mode=none) and which is not a waypoint.
func ingressGatewayIsHealthy(t *testing.T, pods []*corev1.Pod, g *gwv1.Gateway) {
	t.Helper()
	programmed := slices.ContainsFunc(g.Status.Conditions, func(c metav1.Condition) bool {
		return c.Type == "Programmed" && c.Status == metav1.ConditionTrue
	})
	if !programmed || len(g.Status.Addresses) == 0 {
		t.Errorf("ingress gateway %s/%s is not programmed with addresses", g.Namespace, g.Name)
	}
	n := 0
	for _, p := range pods {
		if p.Namespace == g.Namespace && p.Labels[labelGatewayName] == g.Name {
			n++
			if p.Labels[labelManaged] != ingressController || p.Labels[labelDataplaneMode] != "none" || isCaptured(p) ||
				!strings.HasPrefix(p.Name, g.Name+"-istio-") || !slices.Contains(p.Spec.Containers[0].Args, "router") {
				t.Errorf("ingress gateway pod %s/%s is not what istiod deploys: %v %v", p.Namespace, p.Name, p.Labels, p.Spec.Containers[0].Args)
			}
		}
	}
	if n != 1 {
		t.Errorf("ingress gateway %s/%s has %d pods, want 1", g.Namespace, g.Name, n)
	}
}
