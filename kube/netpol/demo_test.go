package netpol_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/netpol"
	jsonpatch "gopkg.in/evanphx/json-patch.v4"
	networkingv1 "k8s.io/api/networking/v1"
)

// netpolCodes are the codes kube/netpol reports, as against kube/ambient's.
var netpolCodes = []string{
	"hbone-ingress-blocked", "hbone-egress-blocked", "hbone-waypoint-ingress-blocked",
	"hbone-waypoint-egress-blocked", "hbone-waypoint-clients-blocked", "hbone-egress-to-waypoint-blocked",
	"istiod-egress-blocked", "probe-source-blocked", "networkpolicy-invalid",
}

func netpolFindings(s *kube.Snapshot) []finding.Finding {
	var out []finding.Finding
	for _, f := range s.Findings {
		if slices.Contains(netpolCodes, f.Code) {
			out = append(out, f)
		}
	}
	return out
}

var demoNow = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// TestDemoPlantedMistakes: the demo's loki, localstack and homepage
// policies (the last blocks the ingress gateway's HBONE), and nothing else,
// are found through the same build the UI runs; each
// suggested patch, applied to the demo's policy, clears its finding.
func TestDemoPlantedMistakes(t *testing.T) {
	cluster := *demo.Objects(demoNow)
	got := netpolFindings(kube.Build(cluster, demoNow))
	var keys []string
	for _, f := range got {
		keys = append(keys, f.Code+" "+f.Object.String())
	}
	want := []string{
		"hbone-ingress-blocked NetworkPolicy homepage/homepage",
		"hbone-ingress-blocked NetworkPolicy localstack/localstack",
		"hbone-ingress-blocked NetworkPolicy loki/loki",
	}
	slices.Sort(keys)
	if !slices.Equal(keys, want) {
		t.Fatalf("NetworkPolicy findings\n got %q\nwant %q", keys, want)
	}
	for _, f := range got {
		if f.Object.Name == "homepage" && !strings.Contains(f.Why, "pod istio-ingress/public-istio-") {
			t.Errorf("the homepage finding should name the ingress gateway's pod as the client it blocks: %s", f.Why)
		}
		t.Run(f.Object.String(), func(t *testing.T) {
			if f.Patch == nil || !strings.Contains(f.Patch.JSONPatch, `"path":"/spec/ingress/0/ports/-","value":{"protocol":"TCP","port":15008}`) {
				t.Fatalf("patch should add 15008 to the app-port rule: %+v", f.Patch)
			}
			examples := demoExamples(t, cluster, f)
			patched := cluster
			patched.NetworkPolicies = slices.Clone(cluster.NetworkPolicies)
			for i, np := range patched.NetworkPolicies {
				if np.Namespace == f.Patch.Target.Namespace && np.Name == f.Patch.Target.Name {
					patched.NetworkPolicies[i] = applyPatch(t, np, f.Patch.JSONPatch)
				}
			}
			for _, g := range netpolFindings(kube.Build(patched, demoNow)) {
				if g.Object == f.Object {
					t.Errorf("after the patch: %s %s: %s", g.Code, g.Object, g.Why)
				}
			}
			c, err := netpol.NewCluster(patched.Namespaces, patched.Pods, patched.NetworkPolicies)
			if err != nil {
				t.Fatal(err)
			}
			for _, ex := range examples {
				if v, _ := c.Evaluate(ex.From, ex.To, ex.Port, ex.Protocol); !v.Allowed {
					t.Errorf("after the patch %s is still denied: %s", ex, v.Reason)
				}
			}
		})
	}
}

// demoExamples returns the blocked connections behind a finding, checking
// that the evaluator denies them before the patch.
func demoExamples(t *testing.T, c ambient.Cluster, f finding.Finding) []netpol.Connection {
	t.Helper()
	a := ambient.Analyze(&c)
	in := netpol.HBONEInput{Namespaces: c.Namespaces, Pods: c.Pods, NetworkPolicies: c.NetworkPolicies, Meshed: map[netpol.Key]netpol.Dataplane{}}
	for k, p := range a.Pods {
		switch p.State {
		case ambient.PodCaptured:
			in.Meshed[netpol.Key(k)] = netpol.Ambient
		case ambient.PodSidecar:
			in.Meshed[netpol.Key(k)] = netpol.Sidecar
		}
	}
	for _, p := range c.Pods {
		if p.Labels["gateway.istio.io/managed"] == "istio.io-gateway-controller" {
			in.Meshed[netpol.Key{Namespace: p.Namespace, Name: p.Name}] = netpol.Gateway
		}
	}
	cl, _ := netpol.NewCluster(c.Namespaces, c.Pods, c.NetworkPolicies)
	for _, p := range netpol.CheckHBONEProblems(in) {
		if p.Code != f.Code || p.Object != f.Object {
			continue
		}
		if len(p.Examples) == 0 {
			t.Fatal("no example connections")
		}
		for _, ex := range p.Examples {
			if v, _ := cl.Evaluate(ex.From, ex.To, ex.Port, ex.Protocol); v.Allowed {
				t.Errorf("example %s is allowed before the patch", ex)
			}
		}
		return p.Examples
	}
	t.Fatalf("%s %s not found without waypoints either", f.Code, f.Object)
	return nil
}

func applyPatch(t *testing.T, np *networkingv1.NetworkPolicy, ops string) *networkingv1.NetworkPolicy {
	t.Helper()
	doc, err := json.Marshal(np)
	if err != nil {
		t.Fatal(err)
	}
	p, err := jsonpatch.DecodePatch([]byte(ops))
	if err != nil {
		t.Fatal(err)
	}
	out, err := p.Apply(doc)
	if err != nil {
		t.Fatalf("patch does not apply: %v", err)
	}
	var patched networkingv1.NetworkPolicy
	if err := json.Unmarshal(out, &patched); err != nil {
		t.Fatal(err)
	}
	return &patched
}
