package kube_test

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/kube/writer"
)

// A namespace that is not enrolled has a NetworkPolicy admitting only its
// app port. Read through the live Source, as the confirm dialog of the
// enrolment and `ambx audit --what-if 'enroll NS'` read it, the what-if of
// enrolling it names that NetworkPolicy as blocking HBONE, with its patch;
// the binary's audit fails on it. Once that very patch is applied to the
// API server, the what-if finds nothing it breaks and the audit passes.
func TestClusterWhatIfEnrollNetworkPolicy(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "node-a", nil)
	installIstio(t, env, "istio-system", kubeenv.DataplaneVersion, node.Name)
	ctx := context.Background()
	const ns = "np-shop"
	env.CreateNamespace(t, ns, nil)
	for _, name := range []string{"web-1", "web-2"} {
		p := pod(ns, name, node.Name, map[string]string{"app": "web"})
		p.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
		env.CreatePod(t, p)
	}
	// A caller in another namespace, already in the mesh.
	env.CreateNamespace(t, "np-client", map[string]string{ambient.LabelDataplaneMode: "ambient"})
	client := pod("np-client", "sleep", node.Name, map[string]string{"app": "sleep"})
	client.Annotations = map[string]string{ambient.AnnotationRedirection: "enabled"}
	env.CreatePod(t, client)
	tcp := corev1.ProtocolTCP
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web-only-8080"},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: ptr.To(intstr.FromInt32(8080))}},
			}},
		},
	}
	if _, err := env.Client.NetworkingV1().NetworkPolicies(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := watch(t, env.Kubeconfig)
	loaded := func(s *kube.Snapshot) string {
		if why := availability(s, nil); why != "" {
			return why
		}
		if why := missing("pods", names(s.Pods), ns+"/web-1", ns+"/web-2", "np-client/sleep"); why != "" {
			return why
		}
		if why := missing("networkpolicies", names(s.NetworkPolicies), ns+"/web-only-8080"); why != "" {
			return why
		}
		return ""
	}
	s := w.await(t, 30*time.Second, loaded)

	r := whatif.Run(s, whatif.EnrollNamespace(ns)...)
	if len(r.Unknown) > 0 || len(r.Unread) > 0 {
		t.Fatalf("the what-if did not simulate on full data: unknown %v, unread %v", r.Unknown, r.Unread)
	}
	if len(r.Captured) != 2 {
		t.Errorf("the what-if captures %v, want the two web pods", r.Captured)
	}
	if !r.Breaks() || !strings.HasSuffix(r.Summary(), "it breaks:") {
		t.Errorf("the what-if says the enrolment breaks nothing: %s", r.Summary())
	}
	var patch *finding.Patch
	for _, f := range r.Patches() {
		if f.Object.Namespace == ns && f.Object.Name == np.Name {
			patch = f.Patch
		}
	}
	if patch == nil {
		t.Fatalf("the what-if names no patch of %s/%s; NetworkPolicy findings: %+v", ns, np.Name, r.NetworkPolicies)
	}
	lines := strings.Join(r.Lines(), "\n")
	t.Logf("what-if of enrolling %s:\n%s\n%s", ns, r.Summary(), lines)
	if !strings.Contains(lines, "Breaks: ") || !strings.Contains(lines, np.Name) || !strings.Contains(lines, "kubectl patch networkpolicy "+np.Name+" -n "+ns) {
		t.Errorf("the confirm dialog's what-if lines lack the NetworkPolicy and its patch:\n%s", lines)
	}
	if patch.Target.Name != np.Name || patch.Target.Namespace != ns || !strings.Contains(patch.JSONPatch, "15008") {
		t.Errorf("patch %+v", patch)
	}

	// The enrolment's confirm dialog runs the same what-if through the
	// writer's plan.
	clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	wr := writer.New(clients, false)
	dialog := func(s *kube.Snapshot) string {
		t.Helper()
		var nsObj *corev1.Namespace
		for _, n := range s.Namespaces {
			if n.Name == ns {
				nsObj = n
			}
		}
		plan, err := wr.ToggleNamespaceAmbient(nsObj, s)
		if err != nil || !plan.HasWhatIf() {
			t.Fatalf("the enrolment plan: %v, has a what-if: %v", err, plan.HasWhatIf())
		}
		return strings.Join(plan.WhatIf(), "\n")
	}
	if d := dialog(s); !strings.Contains(d, "Breaks: ") || !strings.Contains(d, "kubectl patch networkpolicy "+np.Name+" -n "+ns) {
		t.Errorf("the confirm dialog's what-if lacks the NetworkPolicy and its patch:\n%s", d)
	}

	ambx := buildAmbx(t)
	audit := func(want int) string {
		t.Helper()
		var out, errOut bytes.Buffer
		cmd := exec.Command(ambx, "audit", "--kubeconfig", env.Kubeconfig, "--what-if", "enroll "+ns, "--fail-on", "warning")
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Errorf("ambx audit --what-if 'enroll %s' exited %d, want %d\nstdout:\n%s\nstderr:\n%s", ns, code, want, out.String(), errOut.String())
		}
		return out.String()
	}
	if out := audit(1); !strings.Contains(out, np.Name) || !strings.Contains(out, "kubectl patch networkpolicy "+np.Name) {
		t.Errorf("the audit's what-if names neither the NetworkPolicy nor its patch:\n%s", out)
	}

	// Apply the patch the what-if gave, to the object it names.
	if _, err := env.Client.NetworkingV1().NetworkPolicies(patch.Target.Namespace).Patch(ctx, patch.Target.Name,
		types.JSONPatchType, []byte(patch.JSONPatch), metav1.PatchOptions{}); err != nil {
		t.Fatalf("the what-if's patch does not apply: %v\n%s", err, patch.JSONPatch)
	}
	s = w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		for _, p := range s.NetworkPolicies {
			if p.Namespace == ns && p.Name == np.Name && p.ResourceVersion != "" && len(p.Spec.Ingress) > 0 {
				for _, rule := range p.Spec.Ingress {
					for _, port := range rule.Ports {
						if port.Port != nil && port.Port.IntValue() == 15008 {
							return ""
						}
					}
				}
			}
		}
		return "the snapshot does not hold the patched NetworkPolicy yet"
	})
	r = whatif.Run(s, whatif.EnrollNamespace(ns)...)
	if r.Breaks() || len(r.NetworkPolicies) != 0 || len(r.Lines()) != 0 {
		t.Errorf("after the patch the what-if still breaks: %s\n%s", r.Summary(), strings.Join(r.Lines(), "\n"))
	}
	if !strings.HasSuffix(r.Summary(), "the analysis finds nothing it breaks.") {
		t.Errorf("after the patch the summary is %q", r.Summary())
	}
	if d := dialog(s); strings.Contains(d, "Breaks") || !strings.Contains(d, "the analysis finds nothing it breaks.") {
		t.Errorf("after the patch the confirm dialog's what-if says:\n%s", d)
	}
	if out := audit(0); strings.Contains(out, "Breaks") {
		t.Errorf("after the patch the audit's what-if still reports a break:\n%s", out)
	}
}
