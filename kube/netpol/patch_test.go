package netpol

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/finding"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"
)

// toYAML must write exactly what sigs.k8s.io/yaml (and so kubectl) writes.
func TestToYAMLMatchesSigsYAML(t *testing.T) {
	for _, s := range []*scene{lokiScene(t), localstackScene(t), waypointScene(t)} {
		for _, np := range s.in.NetworkPolicies {
			want, err := yaml.Marshal(np)
			if err != nil {
				t.Fatal(err)
			}
			if got := toYAML(np); got != string(want) {
				t.Errorf("toYAML(%s/%s)\n%s\nwant\n%s", np.Namespace, np.Name, got, want)
			}
		}
	}
}

// Manifests are written in two parts, the spec cached across problems
// (patchCache.manifest); the whole must still be exactly what
// sigs.k8s.io/yaml writes for the policy it holds.
func TestManifestsAreWhatSigsYAMLWrites(t *testing.T) {
	inputs := []HBONEInput{syntheticInput(600, 60, 40)}
	for _, s := range []*scene{lokiScene(t), localstackScene(t), waypointScene(t)} {
		inputs = append(inputs, s.in)
	}
	n := 0
	for _, in := range inputs {
		for _, p := range CheckHBONEProblems(in) {
			if p.Patch == nil {
				continue
			}
			var np networkingv1.NetworkPolicy
			if err := yaml.UnmarshalStrict([]byte(p.Patch.Manifest), &np); err != nil {
				t.Fatalf("%s %s: manifest does not parse: %v\n%s", p.Code, p.Object, err, p.Patch.Manifest)
			}
			want, err := yaml.Marshal(&np)
			if err != nil {
				t.Fatal(err)
			}
			if p.Patch.Manifest != string(want) {
				t.Errorf("%s %s: manifest\n%s\nwant\n%s", p.Code, p.Object, p.Patch.Manifest, want)
			}
			n++
		}
	}
	if n < 50 {
		t.Fatalf("only %d manifests checked", n)
	}
}

// Two problems whose appended rules are equal share the rule's JSON and
// the manifest's spec, yet each names its own policy.
func TestSharedRuleKeepsEachPolicysName(t *testing.T) {
	s := waypointScene(t)
	s.ns("backend", "istio.io/dataplane-mode", "ambient")
	s.pod("backend", "worker-1", lbl("app", "worker"), Ambient)
	// A destination anyone may reach, through the same waypoint.
	s.pod("backend", "db-1", lbl("app", "db"), Ambient, "sql:5432")
	s.in.Waypoints[Key{"backend", "db-1"}] = []Key{{"example-api", "example-api-waypoint-6c8-q4"}}
	s.policy(t, `
metadata: {name: worker-out, namespace: backend}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - to: [{namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: example-api}}, podSelector: {matchLabels: {app: api}}}]
    ports: [{port: 8080}, {port: 15008}]`)
	var got []*finding.Patch
	for _, p := range CheckHBONEProblems(s.in) {
		if p.Code == "hbone-egress-to-waypoint-blocked" {
			got = append(got, p.Patch)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d egress-to-waypoint findings, want 2 (backend/worker-out and frontend/web-out)", len(got))
	}
	if got[0].JSONPatch != got[1].JSONPatch {
		t.Errorf("the same rule is appended differently:\n%s\n%s", got[0].JSONPatch, got[1].JSONPatch)
	}
	for i, want := range []string{"backend", "frontend"} {
		if got[i].Target.Namespace != want || !strings.Contains(got[i].Manifest, "namespace: "+want+"\n") ||
			!strings.Contains(got[i].Command, "-n "+want+" ") {
			t.Errorf("patch %d is not for namespace %s:\n%s\n%s", i, want, got[i].Command, got[i].Manifest)
		}
	}
}
