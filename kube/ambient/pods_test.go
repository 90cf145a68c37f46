package ambient_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
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
		{"ambient namespace pod started before enrollment", amb, pod("shop", "p"), ambient.PodNeedsRestart, "never captured"},
		{"pod label ambient alone is enough", plain, pod("shop", "p", labels("istio.io/dataplane-mode=ambient")), ambient.PodNeedsRestart, "its own"},
		{"pod label none beats namespace ambient", amb, pod("shop", "p", labels("istio.io/dataplane-mode=none")), ambient.PodOptedOut, ""},
		{"pod in a Pending phase on a node needs restart", amb, pod("shop", "p", phase(corev1.PodPending)), ambient.PodNeedsRestart, ""},
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
			a := ambient.Analyze(&ambient.Cluster{Namespaces: []*corev1.Namespace{ns}, Pods: []*corev1.Pod{tc.pod}})
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
	if restart.Fix != "kubectl rollout restart -n shop deployment/reviews\nkubectl delete pod -n shop debug" {
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
