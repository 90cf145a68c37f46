package services_test

import (
	"slices"
	"strings"
	"testing"

	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/lookup"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/services"
)

// A series of snapshots as a Source publishes them (kube.Builder, with
// Versions): the pane keeps its rows while nothing they show changed, and
// after every change shows what a pane built from scratch shows. Each
// change to something a row shows must show: a waypoint's pods going
// unready (its Services' ✖), a Service bound by its label, a policy
// targeting a Service, a finding on one (its mark), a pod behind one
// relabelled (PODS); a pod behind one going unready, which the pane does
// not show, must leave it as a fresh pane draws it.
func TestRowsFollowEveryInputAcrossASeries(t *testing.T) {
	const w, h = 220, 70
	c := *demo.Objects(demo.Epoch)
	var b kube.Builder
	kept := services.New(theme.Plain).SetSize(w, h)
	var last *kube.Snapshot
	show := func(s *kube.Snapshot) string {
		t.Helper()
		if s.VersionsOf() == nil {
			t.Fatal("a snapshot of the series has no versions: the test would not take the kept path")
		}
		kept = kept.SetSnapshot(s)
		// The kept pane's cursor stays on its row; only the rows count.
		got := strings.ReplaceAll(kept.View(w, h, true), "▸", " ")
		want := strings.ReplaceAll(services.New(theme.Plain).SetSize(w, h).SetSnapshot(s).View(w, h, true), "▸", " ")
		if got != want {
			t.Fatalf("the kept pane shows\n%s\nwant\n%s", got, want)
		}
		last = s
		return got
	}
	step := func(what string) string {
		t.Helper()
		t.Log(what)
		s := b.Build(c, demo.Epoch)
		s.Resources = kube.AllRead()
		return show(s)
	}
	changes := func(what string, before string) string {
		t.Helper()
		after := step(what)
		if after == before {
			t.Fatalf("%s: the pane shows the same", what)
		}
		return after
	}
	setPod := func(i int, f func(*corev1.Pod)) {
		c.Pods = slices.Clone(c.Pods)
		p := c.Pods[i].DeepCopy()
		f(p)
		c.Pods[i] = p
	}
	ready := func(v corev1.ConditionStatus) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			for j := range p.Status.Conditions {
				if p.Status.Conditions[j].Type == corev1.PodReady {
					p.Status.Conditions[j].Status = v
				}
			}
		}
	}

	first := step("first")
	if step("the same cluster again") != first {
		t.Fatal("the same cluster shows otherwise")
	}
	mesh := last.Mesh

	// A bound Service, its waypoint's pods, and a Service without
	// findings.
	var bound, free *corev1.Service
	var wp ambient.Key
	for _, svc := range c.Services {
		info := mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}]
		if bound == nil && info.Waypoint.Bound() && info.Waypoint.Problem == "" && !info.IsWaypoint {
			bound, wp = svc, info.Waypoint.Waypoint
		}
	}
	if bound == nil {
		t.Fatal("the demo has no Service bound to a waypoint")
	}
	for _, svc := range c.Services {
		if free == nil && last.Index.Object(finding.Ref{Kind: "Service", Namespace: svc.Namespace, Name: svc.Name}) == (finding.Tally{}) {
			free = svc
		}
	}
	var wpPods []int
	for i, p := range c.Pods {
		if p.Namespace == wp.Namespace && p.Labels["gateway.networking.k8s.io/gateway-name"] == wp.Name {
			wpPods = append(wpPods, i)
		}
	}
	if free == nil || len(wpPods) == 0 {
		t.Fatalf("no Service without findings, or no pods of waypoint %s (%d)", wp, len(wpPods))
	}

	// A pod behind the bound Service goes unready: nothing the pane
	// shows, but it must still be what a fresh pane shows.
	behind := slices.Index(c.Pods, lookup.PodsSelectedBy(&c, bound)[0])
	setPod(behind, ready(corev1.ConditionFalse))
	before := step("a pod behind " + bound.Name + " unready")

	// Its waypoint's pods unready: istiod keeps the binding (a finding
	// on the Gateway says so), so the row stays as a fresh pane has it.
	for _, i := range wpPods {
		setPod(i, ready(corev1.ConditionFalse))
	}
	step("the pods of waypoint " + wp.String() + " unready")
	for _, i := range wpPods {
		setPod(i, ready(corev1.ConditionTrue))
	}
	step("the waypoint's pods ready again")

	// The waypoint loses its addresses: istiod binds nothing to it.
	g := slices.IndexFunc(c.Gateways, func(gw *gwv1.Gateway) bool { return gw.Namespace == wp.Namespace && gw.Name == wp.Name })
	if g < 0 {
		t.Fatalf("no Gateway %s", wp)
	}
	c.Gateways = slices.Clone(c.Gateways)
	gw := c.Gateways[g]
	unaddressed := gw.DeepCopy()
	unaddressed.Status.Addresses = nil
	c.Gateways[g] = unaddressed
	lost := changes("waypoint "+wp.String()+" without addresses", before)
	if !strings.Contains(lost, "✖") && !strings.Contains(lost, "not ready") {
		t.Errorf("nothing says the waypoint of %s is not ready:\n%s", bound.Name, lost)
	}
	c.Gateways = slices.Clone(c.Gateways)
	c.Gateways[g] = gw
	if changes("its addresses back", lost) != before {
		t.Fatal("the waypoint's addresses back: the pane does not show what it did before")
	}

	// The bound Service opts out of its namespace's waypoint.
	c.Services = slices.Clone(c.Services)
	j := slices.Index(c.Services, bound)
	optOut := bound.DeepCopy()
	optOut.Labels = map[string]string{}
	for k, v := range bound.Labels {
		optOut.Labels[k] = v
	}
	optOut.Labels["istio.io/use-waypoint"] = "none"
	c.Services[j] = optOut
	before = changes(bound.Name+" labelled istio.io/use-waypoint=none", before)

	ap := &secv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: bound.Namespace, Name: "aaa-targets-" + bound.Name}}
	ap.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Kind: "Service", Name: bound.Name}}
	c.AuthorizationPolicies = append(slices.Clone(c.AuthorizationPolicies), ap)
	slices.SortFunc(c.AuthorizationPolicies, func(x, y *secv1.AuthorizationPolicy) int {
		return strings.Compare(x.Namespace+"/"+x.Name, y.Namespace+"/"+y.Name)
	})
	before = changes("a policy targeting "+bound.Name, before)
	if !strings.Contains(before, ap.Name) {
		t.Errorf("the policy %s is not shown", ap.Name)
	}

	// A finding on the Service alone, as the ztunnel drift adds them to a
	// copy of the snapshot with the same analysis.
	marked := *last
	marked.Findings = append(slices.Clone(last.Findings), finding.Finding{Severity: finding.Error, Code: "test-mark",
		Object: finding.Ref{Kind: "Service", Namespace: free.Namespace, Name: free.Name}, Title: "a test's finding"})
	marked.Index = finding.NewIndex(marked.Findings)
	if pane.MarkCell(marked.Index.Object(finding.Ref{Kind: "Service", Namespace: free.Namespace, Name: free.Name})) ==
		pane.MarkCell(last.Index.Object(finding.Ref{Kind: "Service", Namespace: free.Namespace, Name: free.Name})) {
		t.Fatal("the finding does not change the Service's mark")
	}
	plain := before
	if show(&marked) == plain {
		t.Fatal("a new finding on a Service: the pane shows the same")
	}
	if step("the finding gone") != plain {
		t.Fatal("the finding gone: the pane does not show what it did before it")
	}

	setPod(behind, func(p *corev1.Pod) { p.Labels = map[string]string{"relabelled": "yes"} })
	changes("a pod behind "+bound.Name+" relabelled", plain)
}
