package ambient_test

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

func TestPodState(t *testing.T) {
	amb := namespace("shop", "istio.io/dataplane-mode=ambient")
	plain := namespace("shop")
	side := namespace("shop", "istio-injection=enabled")
	nativeSidecar := func(p *corev1.Pod) {
		always := corev1.ContainerRestartPolicyAlways
		p.Spec.InitContainers = []corev1.Container{{Name: "istio-proxy", RestartPolicy: &always}}
	}
	loneProxy := func(p *corev1.Pod) { p.Spec.Containers[0].Name = "istio-proxy" }
	for _, tc := range []struct {
		name   string
		ns     *corev1.Namespace
		pod    *corev1.Pod
		want   ambient.PodState
		reason string // a fragment the detail view shows
	}{
		{"redirection enabled is captured", amb, pod("shop", "p", captured), ambient.PodCaptured, "ztunnel accepted"},
		{"captured by its own label in a plain namespace", plain, pod("shop", "p", labels("istio.io/dataplane-mode=ambient"), captured), ambient.PodCaptured, ""},
		{"redirection pending blocks traffic", amb, pod("shop", "p", pendingRedir), ambient.PodPending, "neither send nor receive"},
		{"injected sidecar", side, pod("shop", "p", injected), ambient.PodSidecar, "sidecar"},
		{"sidecar wins over ambient label", amb, pod("shop", "p", injected), ambient.PodSidecar, ""},
		{"sidecar wins over a redirection annotation", amb, pod("shop", "p", injected, captured), ambient.PodSidecar, "istio-cni skips"},
		{"native sidecar init container", amb, pod("shop", "p", nativeSidecar), ambient.PodSidecar, ""},
		{"host network is never captured", amb, pod("shop", "p", hostNetwork), ambient.PodHostNetwork, "host network"},
		{"pod opts out in an ambient namespace", amb, pod("shop", "p", labels("istio.io/dataplane-mode=none")), ambient.PodOptedOut, "dataplane-mode=none"},
		{"waypoint pod carries dataplane-mode none", amb, pod("shop", "waypoint-abc", loneProxy, labels("istio.io/dataplane-mode=none", "gateway.networking.k8s.io/gateway-name=waypoint")), ambient.PodOptedOut, ""},
		{"lone istio-proxy container is not a sidecar", plain, pod("shop", "ingress", loneProxy), ambient.PodNotMeshed, ""},
		{"ambient namespace pod istio-cni failed to capture", amb, pod("shop", "p"), ambient.PodNeedsRestart, "does not retry"},
		{"pod label ambient alone is enough", plain, pod("shop", "p", labels("istio.io/dataplane-mode=ambient")), ambient.PodNeedsRestart, "its own"},
		{"no istio-cni on its node", amb, pod("shop", "p", node("node-2")), ambient.PodUncaptured, "no istio-cni agent runs on node node-2"},
		{"istio-cni not ready on its node", amb, pod("shop", "p", node("node-3")), ambient.PodUncaptured, "is not ready"},
		{"no pod IP yet", amb, pod("shop", "p", func(p *corev1.Pod) { p.Status.PodIP = "" }), ambient.PodUncaptured, "no pod IP"},
		{"pod label none beats namespace ambient", amb, pod("shop", "p", labels("istio.io/dataplane-mode=none")), ambient.PodOptedOut, ""},
		{"a Pending pod is not restartable", amb, pod("shop", "p", phase(corev1.PodPending)), ambient.PodUncaptured, "a restart does not help"},
		{"succeeded pod does not need restart", amb, pod("shop", "p", phase(corev1.PodSucceeded)), ambient.PodNotMeshed, "finished"},
		{"failed pod does not need restart", amb, pod("shop", "p", phase(corev1.PodFailed)), ambient.PodNotMeshed, "finished"},
		{"unscheduled pod will be captured when it starts", amb, pod("shop", "p", unscheduled), ambient.PodNotMeshed, "not scheduled"},
		{"kube-system is excluded even when labelled", namespace("kube-system", "istio.io/dataplane-mode=ambient"), pod("kube-system", "coredns"), ambient.PodNotMeshed, "excludes"},
		{"kube-system pod label ambient is ignored", namespace("kube-system"), pod("kube-system", "p", labels("istio.io/dataplane-mode=ambient")), ambient.PodNotMeshed, "excludes"},
		{"sidecar namespace pod not yet injected", side, pod("shop", "p"), ambient.PodNotMeshed, ""},
		{"plain pod", plain, pod("shop", "p"), ambient.PodNotMeshed, "Neither"},
		{"unknown redirection value is not captured", plain, pod("shop", "p", annotations("ambient.istio.io/redirection=disabled")), ambient.PodNotMeshed, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.ns
			tc.pod.Namespace = ns.Name
			pods := append(dataplane("node-1"), tc.pod, pod("istio-system", "istio-cni-node-3", node("node-3"), labels("k8s-app=istio-cni-node"), hostNetwork, notReady))
			a := ambient.Analyze(&ambient.Cluster{Namespaces: []*corev1.Namespace{ns}, Pods: pods})
			got := a.Pods[ambient.Key{Namespace: ns.Name, Name: tc.pod.Name}]
			if got.State != tc.want {
				t.Fatalf("state = %q (%s), want %q", got.State, got.Reason, tc.want)
			}
			if !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("reason %q does not mention %q", got.Reason, tc.reason)
			}
		})
	}
}

func TestPodProtocolAndOwner(t *testing.T) {
	ns := namespace("shop", "istio.io/dataplane-mode=ambient")
	c := &ambient.Cluster{Namespaces: []*corev1.Namespace{ns}, Pods: []*corev1.Pod{
		pod("shop", "reviews-7d4f9-x1", captured, ownedBy("reviews")),
		pod("shop", "legacy", labels("networking.istio.io/tunnel=http"), injected),
		pod("shop", "batch"),
	}}
	a := ambient.Analyze(c)
	for _, tc := range []struct{ pod, protocol, owner string }{
		{"reviews-7d4f9-x1", "HBONE", "deployment/reviews"},
		{"legacy", "HBONE", "pod/legacy"},
		{"batch", "TCP", "pod/batch"},
	} {
		got := a.Pods[ambient.Key{Namespace: "shop", Name: tc.pod}]
		if got.Protocol != tc.protocol || got.Owner != tc.owner {
			t.Errorf("%s: protocol %q owner %q, want %q %q", tc.pod, got.Protocol, got.Owner, tc.protocol, tc.owner)
		}
	}
}

func TestPodFindings(t *testing.T) {
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			namespace("shop", "istio.io/dataplane-mode=ambient"),
			namespace("legacy", "istio-injection=enabled"),
		},
		Pods: append(dataplane("node-1"),
			pod("shop", "reviews-7d4f9-a", ownedBy("reviews")),
			pod("shop", "reviews-7d4f9-b", ownedBy("reviews")),
			pod("shop", "debug"),
			pod("shop", "job-done", phase(corev1.PodSucceeded)),
			pod("shop", "cart", pendingRedir),
			pod("shop", "old-sidecar-7d4f9-a", injected, ownedBy("old-sidecar")),
			pod("shop", "ratings", captured),
			// A sidecar pod in a sidecar namespace is not a leftover.
			pod("legacy", "app", injected),
		),
	}
	a := ambient.Analyze(c)
	want := []string{
		"error pod-redirection-pending Namespace shop",
		"warning pod-needs-restart Namespace shop",
		"warning sidecar-in-ambient-namespace Namespace shop",
	}
	if got := codes(a.Findings); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	restart := findingsFor(a, "pod-needs-restart")[0]
	if !strings.HasPrefix(restart.Title, "3 pods not captured by ambient: deployment/reviews (2), pod/debug") {
		t.Errorf("restart title = %q", restart.Title)
	}
	if restart.Fix != "kubectl logs -n istio-system istio-cni-node-node-1 -c install-cni | grep -i 'failed capturing'\n# only if it logged \"Failed capturing pod, will not retry\" for them:\nkubectl rollout restart -n shop deployment/reviews\nkubectl delete pod -n shop debug" {
		t.Errorf("restart fix = %q", restart.Fix)
	}
	if n := a.Namespaces["shop"].Counts[ambient.PodNeedsRestart]; n != 3 {
		t.Errorf("shop counts %d pods needing restart, want 3", n)
	}
	pending := findingsFor(a, "pod-redirection-pending")[0]
	if !strings.Contains(pending.Title, "1 pod ") || !strings.Contains(pending.Fix, "spec.nodeName=node-1") {
		t.Errorf("pending finding = %q / %q", pending.Title, pending.Fix)
	}
	leftover := findingsFor(a, "sidecar-in-ambient-namespace")[0]
	if !strings.Contains(leftover.Title, "deployment/old-sidecar") || leftover.Fix != "kubectl rollout restart -n shop deployment/old-sidecar" {
		t.Errorf("sidecar finding = %q / %q", leftover.Title, leftover.Fix)
	}
}

// TestCaptureByInstall: what istio-cni's configuration and version decide.
func TestCaptureByInstall(t *testing.T) {
	v := func(s string) install.Version { x, _ := install.ParseVersion(s); return x }
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	started := func(ago time.Duration) podOpt {
		return func(p *corev1.Pod) { st := metav1.NewTime(now.Add(-ago)); p.Status.StartTime = &st }
	}
	kubeSystem := namespace("kube-system", "istio.io/dataplane-mode=ambient")
	amb := namespace("shop", "istio.io/dataplane-mode=ambient")
	custom := install.CNIConfig{Read: true, AmbientEnabled: true, ExcludeNamespaces: []string{"kube-system"},
		EnablementSelectors: []install.EnablementSelector{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"mesh": "yes"}}}}}
	for _, tc := range []struct {
		name   string
		info   install.Info
		ns     *corev1.Namespace
		pod    *corev1.Pod
		want   ambient.PodState
		reason string
	}{
		{"1.30 agent honours excludeNamespaces", install.Info{CNI: v("1.30.0")}, kubeSystem, pod("kube-system", "p"), ambient.PodNotMeshed, "excludes"},
		{"1.29 agent still enrols labelled pods in excluded namespaces", install.Info{CNI: v("1.29.3")}, kubeSystem, pod("kube-system", "p"), ambient.PodNeedsRestart, ""},
		{"a namespace excluded by config", install.Info{CNI: v("1.30.1"), CNIConfig: install.CNIConfig{Read: true, AmbientEnabled: true, ExcludeNamespaces: []string{"shop"}}}, amb, pod("shop", "p"), ambient.PodNotMeshed, "excludes"},
		{"ambient disabled in istio-cni", install.Info{CNIConfig: install.CNIConfig{Read: true}}, amb, pod("shop", "p"), ambient.PodUncaptured, "AMBIENT_ENABLED=false"},
		{"1.27 custom selectors: the namespace label alone no longer matches", install.Info{CNI: v("1.27.0"), CNIConfig: custom}, amb, pod("shop", "p"), ambient.PodNotMeshed, "matches none"},
		{"1.27 custom selectors match a custom label", install.Info{CNI: v("1.27.0"), CNIConfig: custom}, namespace("shop"), pod("shop", "p", labels("mesh=yes")), ambient.PodNeedsRestart, ""},
		{"1.26 ignores custom selectors", install.Info{CNI: v("1.26.0"), CNIConfig: custom}, amb, pod("shop", "p"), ambient.PodNeedsRestart, ""},
		{"within the grace period", install.Info{}, amb, pod("shop", "p", started(10*time.Second)), ambient.PodUncaptured, "moments ago"},
		{"after the grace period", install.Info{}, amb, pod("shop", "p", started(10*time.Minute)), ambient.PodNeedsRestart, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := &ambient.Cluster{Namespaces: []*corev1.Namespace{tc.ns}, Pods: append(dataplane("node-1"), tc.pod), Install: tc.info, Now: now}
			a := ambient.Analyze(c)
			got := a.Pods[ambient.Key{Namespace: tc.pod.Namespace, Name: tc.pod.Name}]
			if got.State != tc.want || !strings.Contains(got.Reason, tc.reason) {
				t.Errorf("state %q (%s), want %q with %q", got.State, got.Reason, tc.want, tc.reason)
			}
			if tc.name == "within the grace period" && len(findingsFor(a, "pod-not-captured")) != 0 {
				t.Errorf("a pod within the grace period is reported: %v", codes(a.Findings))
			}
		})
	}
}

func TestNotCapturedPointsAtIstioCNI(t *testing.T) {
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("shop", "istio.io/dataplane-mode=ambient")},
		Pods: append(dataplane("node-1"),
			pod("shop", "a", node("node-2")), pod("shop", "b", node("node-3")), pod("shop", "c", phase(corev1.PodPending))),
	}
	a := ambient.Analyze(c)
	f := findingsFor(a, "pod-not-captured")
	if len(f) != 1 || strings.Contains(f[0].Fix, "restart") || strings.Contains(f[0].Fix, "delete") {
		t.Fatalf("not-captured findings %+v", f)
	}
	want := "kubectl get pods -n istio-system -o wide -l k8s-app=istio-cni-node --field-selector spec.nodeName=node-1\n" +
		"kubectl get pods -n istio-system -o wide -l k8s-app=istio-cni-node --field-selector spec.nodeName=node-2\n" +
		"kubectl get pods -n istio-system -o wide -l k8s-app=istio-cni-node --field-selector spec.nodeName=node-3"
	if f[0].Fix != want {
		t.Errorf("fix %q, want %q", f[0].Fix, want)
	}
}

// TestDataplaneFoundByLabel: ztunnel and istio-cni in kube-system (GKE,
// OpenShift) are found, with commands for that namespace, one node each.
func TestDataplaneFoundByLabel(t *testing.T) {
	var dp []*corev1.Pod
	for _, p := range dataplane("node-1", "node-2") {
		p.Namespace = "kube-system"
		dp = append(dp, p)
	}
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("shop", "istio.io/dataplane-mode=ambient"), namespace("kube-system")},
		Pods:       append(dp, pod("shop", "a", captured), pod("shop", "b", captured, node("node-2")), pod("shop", "c", pendingRedir, node("node-3"))),
	}
	a := ambient.Analyze(c)
	dpf := findingsFor(a, "dataplane-not-ready")
	if len(dpf) != 1 || !strings.Contains(dpf[0].Why, "node-3: no ztunnel, no istio-cni") || strings.Contains(dpf[0].Why, "node-1") || strings.Contains(dpf[0].Why, "node-2") {
		t.Fatalf("dataplane findings %+v", dpf)
	}
	if !strings.Contains(dpf[0].Fix, "kubectl get pods -n kube-system -o wide -l app=ztunnel --field-selector spec.nodeName=node-3") {
		t.Errorf("fix %q", dpf[0].Fix)
	}
	pf := findingsFor(a, "pod-redirection-pending")
	if len(pf) != 1 || !strings.HasPrefix(pf[0].Fix, "kubectl get pods -n kube-system -o wide -l app=ztunnel --field-selector spec.nodeName=node-3\n") {
		t.Errorf("pending fix %+v", pf)
	}
}

// TestRecheckWhenTheGraceEnds: a pod istio-cni has not captured within
// moments of starting is given the grace, and the analysis says when to
// judge it again — nothing in a quiet cluster would trigger it otherwise.
func TestRecheckWhenTheGraceEnds(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	young := pod("shop", "young")
	young.Status.StartTime = &metav1.Time{Time: now.Add(-10 * time.Second)}
	young.Status.PodIP = "10.244.1.9"
	c := &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("shop", "istio.io/dataplane-mode=ambient")},
		Pods:       append(dataplane("node-1"), young),
		Now:        now,
	}
	a := ambient.Analyze(c)
	if got := a.Pods[ambient.Key{Namespace: "shop", Name: "young"}].State; got != ambient.PodUncaptured {
		t.Fatalf("a pod 10 s old is %s, want uncaptured within the grace", got)
	}
	if want := now.Add(50 * time.Second); !a.Recheck.Equal(want) {
		t.Fatalf("Recheck = %v, want the end of the grace %v", a.Recheck, want)
	}
	c.Now = now.Add(time.Minute)
	a = ambient.Analyze(c)
	if got := a.Pods[ambient.Key{Namespace: "shop", Name: "young"}].State; got != ambient.PodNeedsRestart || !a.Recheck.IsZero() {
		t.Fatalf("after the grace: %s, Recheck %v; want restart and nothing to recheck", got, a.Recheck)
	}
}
