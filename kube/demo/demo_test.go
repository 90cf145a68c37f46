package demo

import (
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

func isCaptured(p *corev1.Pod) bool {
	return p.Annotations["ambient.istio.io/redirection"] == "enabled"
}

func TestCounts(t *testing.T) {
	c := Objects(Epoch)

	if got := len(c.Nodes); got != 5 {
		t.Errorf("nodes = %d, want 5", got)
	}
	for _, n := range c.Nodes {
		if !nodeReady(n) {
			t.Errorf("node %s is not Ready", n.Name)
		}
		if n.Status.NodeInfo.KubeletVersion[:6] != "v1.36." {
			t.Errorf("node %s runs kubelet %s, want v1.36.x", n.Name, n.Status.NodeInfo.KubeletVersion)
		}
	}

	// The issue's meshed namespaces hold exactly 29 captured pods; the
	// stale unpoller is the 30th pod there and is not captured.
	issueNS := []string{"default", "loki", "localstack", "argo-workflows", "unipoller", "trivy-system"}
	perNS := map[string]int{}
	total := 0
	for _, p := range c.Pods {
		if isCaptured(p) {
			perNS[p.Namespace]++
			total++
		}
	}
	inIssue := 0
	for _, ns := range issueNS {
		inIssue += perNS[ns]
	}
	if inIssue != 29 {
		t.Errorf("captured pods in %v = %d (%v), want 29", issueNS, inIssue, perNS)
	}
	if total != 37 {
		t.Errorf("captured pods in the cluster = %d (%v), want 37", total, perNS)
	}
	want := map[string]int{"default": 8, "loki": 14, "localstack": 1, "argo-workflows": 3, "unipoller": 1, "trivy-system": 2,
		"example-api": 2, "example-worker": 2, "ambient-apps": 3, "homepage": 1}
	if !reflect.DeepEqual(perNS, want) {
		t.Errorf("captured per namespace = %v, want %v (the breakdown in cluster.go)", perNS, want)
	}

	count := func(ns string, match func(*corev1.Pod) bool) (n int) {
		for _, p := range c.Pods {
			if p.Namespace == ns && match(p) {
				n++
			}
		}
		return n
	}
	ztunnels := count("istio-system", func(p *corev1.Pod) bool {
		return p.Labels["app"] == "ztunnel" && p.Labels["app.kubernetes.io/name"] == "ztunnel" &&
			p.Labels["istio.io/dataplane-mode"] == "none" && p.Spec.Containers[0].Name == "istio-proxy"
	})
	if ztunnels != 5 {
		t.Errorf("ztunnel pods = %d, want 5", ztunnels)
	}
	if n := count("istio-system", func(p *corev1.Pod) bool { return p.Labels["k8s-app"] == "istio-cni-node" }); n != 5 {
		t.Errorf("istio-cni-node pods = %d, want 5", n)
	}
	if n := count("istio-system", func(p *corev1.Pod) bool { return p.Labels["app"] == "istiod" }); n != 1 {
		t.Errorf("istiod pods = %d, want 1", n)
	}
	if n := count("loki", func(p *corev1.Pod) bool { return p.Labels["app.kubernetes.io/name"] == "promtail" }); n != 5 {
		t.Errorf("promtail pods = %d, want one per node", n)
	}
	sidecars := count("legacy-apps", func(p *corev1.Pod) bool {
		return p.Annotations["sidecar.istio.io/status"] != "" && slices.ContainsFunc(p.Spec.Containers, func(c corev1.Container) bool { return c.Name == "istio-proxy" })
	})
	if sidecars != 2 {
		t.Errorf("sidecar pods in legacy-apps = %d, want 2", sidecars)
	}
	if n := count("example-admin", isCaptured); n != 0 {
		t.Errorf("example-admin is not enrolled but has %d captured pods", n)
	}
	if len(c.Gateways) != 3 {
		t.Errorf("gateways = %d, want the two waypoints and the ingress gateway", len(c.Gateways))
	}
	if len(c.AuthorizationPolicies) != 4 || len(c.PeerAuthentications) != 2 || len(c.RequestAuthentications) != 1 {
		t.Errorf("policies: %d authz, %d peer, %d request; want 4, 2, 1",
			len(c.AuthorizationPolicies), len(c.PeerAuthentications), len(c.RequestAuthentications))
	}
}

func nodeReady(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func TestDeterministic(t *testing.T) {
	a, b := Objects(Epoch), Objects(Epoch)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("two calls with the same now returned different clusters")
	}
	ya, _ := yaml.Marshal(a)
	yb, _ := yaml.Marshal(b)
	if string(ya) != string(yb) {
		t.Fatal("two calls with the same now serialise differently")
	}
	if !reflect.DeepEqual(Workloads(Epoch), Workloads(Epoch)) {
		t.Fatal("Workloads differ between calls")
	}
	pa, na := Metrics(Epoch)
	pb, nb := Metrics(Epoch)
	if !reflect.DeepEqual(pa, pb) || !reflect.DeepEqual(na, nb) {
		t.Fatal("Metrics differ between calls")
	}
	// Fresh objects each call: a caller that mutates its copy must not
	// change what the next caller sees.
	a.Pods[0].Labels["mutated"] = "yes"
	if _, ok := Objects(Epoch).Pods[0].Labels["mutated"]; ok {
		t.Fatal("Objects shares pods between calls")
	}
}

func TestTimesFollowNow(t *testing.T) {
	later := Epoch.Add(90 * time.Minute)
	a, b := Objects(Epoch), Objects(later)
	check := func(kind string, x, y []metav1.Object) {
		t.Helper()
		if len(x) != len(y) {
			t.Fatalf("%s: %d objects at Epoch, %d later", kind, len(x), len(y))
		}
		for i := range x {
			got := y[i].GetCreationTimestamp().Sub(x[i].GetCreationTimestamp().Time)
			if got != 90*time.Minute {
				t.Errorf("%s %s/%s: created %v later when now is 90m later", kind, x[i].GetNamespace(), x[i].GetName(), got)
			}
			if !x[i].GetCreationTimestamp().Time.Before(Epoch) {
				t.Errorf("%s %s/%s created at or after now", kind, x[i].GetNamespace(), x[i].GetName())
			}
		}
	}
	check("Pod", metaObjects(a.Pods), metaObjects(b.Pods))
	check("Namespace", metaObjects(a.Namespaces), metaObjects(b.Namespaces))
	check("Node", metaObjects(a.Nodes), metaObjects(b.Nodes))
	check("Service", metaObjects(a.Services), metaObjects(b.Services))
	check("Gateway", metaObjects(a.Gateways), metaObjects(b.Gateways))
	check("AuthorizationPolicy", metaObjects(a.AuthorizationPolicies), metaObjects(b.AuthorizationPolicies))
	check("NetworkPolicy", metaObjects(a.NetworkPolicies), metaObjects(b.NetworkPolicies))
}

func metaObjects[T metav1.Object](in []T) []metav1.Object {
	out := make([]metav1.Object, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}

func TestSorted(t *testing.T) {
	c := Objects(Epoch)
	sorted := func(kind string, objs []metav1.Object) {
		t.Helper()
		if !slices.IsSortedFunc(objs, func(a, b metav1.Object) int {
			if a.GetNamespace() != b.GetNamespace() {
				return compare(a.GetNamespace(), b.GetNamespace())
			}
			return compare(a.GetName(), b.GetName())
		}) {
			t.Errorf("%s are not sorted by namespace then name", kind)
		}
	}
	sorted("namespaces", metaObjects(c.Namespaces))
	sorted("pods", metaObjects(c.Pods))
	sorted("services", metaObjects(c.Services))
	sorted("nodes", metaObjects(c.Nodes))
	sorted("networkpolicies", metaObjects(c.NetworkPolicies))
	sorted("gateways", metaObjects(c.Gateways))
	sorted("gatewayclasses", metaObjects(c.GatewayClasses))
	sorted("authorizationpolicies", metaObjects(c.AuthorizationPolicies))
	sorted("peerauthentications", metaObjects(c.PeerAuthentications))
	sorted("requestauthentications", metaObjects(c.RequestAuthentications))
}

func compare(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// TestDemoNamesItsIstio: the demo's installation is read like a real one,
// and is healthy, so it adds no finding of its own.
func TestDemoNamesItsIstio(t *testing.T) {
	in := Objects(Epoch).Install
	if in.Headline() != "Istio 1.31.1" || in.Assumed() || in.Revision != "default" || len(in.Tags) != 1 {
		t.Fatalf("demo install: %q assumed %v revision %q tags %v", in.Headline(), in.Assumed(), in.Revision, in.Tags)
	}
	if len(in.Components) != 3 {
		t.Fatalf("components %+v, want istiod, ztunnel, istio-cni", in.Components)
	}
	for _, c := range in.Components {
		if c.Version.String() != "1.31.1" || c.Ready != c.Desired || c.Desired == 0 {
			t.Errorf("%s %s/%s: version %v ready %d/%d", c.Kind, c.Namespace, c.Name, c.Version, c.Ready, c.Desired)
		}
	}
	if !in.Switch("PILOT_ENABLE_AMBIENT") || !in.CNIAmbientEnabled() || !in.CNIDNSCapture() {
		t.Errorf("ambient %v cni %v dns %v", in.Switch("PILOT_ENABLE_AMBIENT"), in.CNIAmbientEnabled(), in.CNIDNSCapture())
	}
	if f := in.Findings(); len(f) != 0 {
		t.Errorf("the demo's install has findings: %+v", f)
	}
}
