package audit

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"sigs.k8s.io/yaml"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/manifest"
)

var update = flag.Bool("update", false, "rewrite testdata: the golden reports and the demo's manifests")

// golden compares got with testdata/name byte for byte.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if !bytes.Equal(want, got) {
		t.Errorf("%s differs (go test -update rewrites it; read the diff)\n--- got\n%s", path, got)
	}
}

func render(t *testing.T, r *Report, format string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r, format); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var exts = map[string]string{"table": "txt", "json": "json", "yaml": "yaml", "markdown": "md", "sarif": "sarif"}

// demoReport is the live demo's report, as `ambx audit --demo` prints it.
func demoReport(mutate func(*kube.Snapshot)) *Report {
	s := demo.Homelab()
	if mutate != nil {
		mutate(s)
	}
	return Build(Input{Snapshot: s, Source: Source{Kind: "cluster", Context: s.Context}, Version: "test"})
}

func manifestReport(t *testing.T, scope []string, paths ...string) *Report {
	return manifestReportAt(t, demo.Epoch, scope, paths...)
}

func manifestReportAt(t *testing.T, now time.Time, scope []string, paths ...string) *Report {
	t.Helper()
	set, err := manifest.Load(paths)
	if err != nil {
		t.Fatal(err)
	}
	return Build(Input{Snapshot: FromManifests(set, now), Source: Source{Kind: "files", Files: paths}, Version: "test", Origin: set.Origin, Notes: set.Notes, Scope: scope})
}

// TestGolden: every format of three reports: the live demo, the demo with
// a resource it could not read (partial), and manifests with file:line.
func TestGolden(t *testing.T) {
	reports := map[string]*Report{
		"demo": demoReport(nil),
		"partial": demoReport(func(s *kube.Snapshot) {
			s.Resources[kube.ResNetworkPolicies] = kube.ResourceState{Availability: kube.Forbidden, Detail: "forbidden: User \"auditor\" cannot list resource \"networkpolicies\""}
		}),
		"mesh": manifestReport(t, nil, "../reach/testdata/mesh"),
	}
	for name, r := range reports {
		for _, f := range Formats {
			t.Run(name+"/"+f, func(t *testing.T) {
				golden(t, "golden/"+name+"."+exts[f], render(t, r, f))
			})
		}
	}
	if got := reports["partial"].Result; got != ResultPartial {
		t.Errorf("a forbidden resource gave result %q", got)
	}
	if got := reports["demo"].Result; got != ResultFindings {
		t.Errorf("demo result %q", got)
	}
}

// TestDeterministic: the same state renders byte-identical reports.
func TestDeterministic(t *testing.T) {
	for _, f := range Formats {
		a, b := render(t, demoReport(nil), f), render(t, demoReport(nil), f)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two reports of the same state differ", f)
		}
	}
}

func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open("testdata/sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("sarif-schema-2.1.0.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("sarif-schema-2.1.0.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSARIFValidates: the SARIF output is valid SARIF 2.1.0 (the OASIS
// schema, vendored in testdata), and a NetworkPolicy that blocks HBONE is
// reported on the line of the field its fix changes.
func TestSARIFValidates(t *testing.T) {
	schema := sarifSchema(t)
	for name, r := range map[string]*Report{"demo": demoReport(nil), "mesh": manifestReport(t, nil, "../reach/testdata/mesh"),
		"partial": demoReport(func(s *kube.Snapshot) {
			s.Resources[kube.ResPods] = kube.ResourceState{Availability: kube.Failing, Detail: "boom"}
		})} {
		out := render(t, r, "sarif")
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("%s: not JSON: %v", name, err)
		}
		if err := schema.Validate(v); err != nil {
			t.Errorf("%s: not valid SARIF 2.1.0: %v", name, err)
		}
	}
	// The schema is not a rubber stamp: a result without a message fails.
	bad := []byte(`{"version":"2.1.0","runs":[{"tool":{"driver":{"name":"ambx"}},"results":[{"ruleId":"x"}]}]}`)
	v, _ := jsonschema.UnmarshalJSON(bytes.NewReader(bad))
	if schema.Validate(v) == nil {
		t.Fatal("the schema accepted a result without a message")
	}

	var log struct {
		Runs []struct {
			Invocations []struct {
				ExecutionSuccessful bool `json:"executionSuccessful"`
			} `json:"invocations"`
			Results []struct {
				RuleID    string `json:"ruleId"`
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }    `json:"artifactLocation"`
						Region           struct{ StartLine int } `json:"region"`
					} `json:"physicalLocation"`
				} `json:"locations"`
			} `json:"results"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(render(t, manifestReport(t, nil, "../reach/testdata/mesh"), "sarif"), &log); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, res := range log.Runs[0].Results {
		pl := res.Locations[0].PhysicalLocation
		if res.RuleID == "hbone-ingress-blocked" && pl.ArtifactLocation.URI == "../reach/testdata/mesh/mesh.yaml" {
			// loki's policy: "ports: [{port: 3100}]" of ingress[0] is where 15008 goes.
			if got := lineText(t, "../reach/testdata/mesh/mesh.yaml", pl.Region.StartLine); strings.TrimSpace(got) != "ports: [{port: 3100}]" {
				t.Errorf("HBONE finding at line %d: %q, want the rule's ports", pl.Region.StartLine, got)
			}
			found = true
		}
	}
	if !found {
		t.Errorf("no hbone-ingress-blocked result on mesh.yaml: %+v", log.Runs[0].Results)
	}
}

func lineText(t *testing.T, path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if n < 1 || n > len(lines) {
		return ""
	}
	return lines[n-1]
}

// key is a finding as the user reads it, without where it was found.
func key(f Finding) string {
	return fmt.Sprintf("%s %s %s: %s", f.Severity, f.Code, objectString(f.Object), f.Title)
}

// TestManifestsFindTheDemoMistakes: the demo's objects written as
// manifests (testdata/demo, generated from kube/demo by this test) give
// the same findings as the live demo: the planted mistakes, nothing else.
func TestManifestsFindTheDemoMistakes(t *testing.T) {
	writeDemoManifests(t)
	files := manifestReport(t, nil, "testdata/demo")
	live := demoReport(nil)
	var got, want []string
	for _, f := range files.Findings {
		got = append(got, key(f))
		if f.Location.File == "" || f.Location.Line == 0 {
			t.Errorf("%s has no file:line", key(f))
		}
	}
	for _, f := range live.Findings {
		want = append(want, key(f))
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings from manifests\n%s\nwant (live demo)\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, code := range []string{"pod-needs-restart", "waypoint-missing", "policy-l7-on-ztunnel", "hbone-ingress-blocked"} {
		if !slices.ContainsFunc(files.Findings, func(f Finding) bool { return f.Code == code }) {
			t.Errorf("planted mistake %s not found in the manifests", code)
		}
	}
}

// writeDemoManifests checks that testdata/demo is what kube/demo holds
// (so it cannot drift from the live demo), or rewrites it with -update.
func writeDemoManifests(t *testing.T) {
	t.Helper()
	c := demo.Objects(demo.Epoch)
	files := map[string][]any{}
	add := func(file, apiVersion, kind string, objs []any) {
		for _, o := range objs {
			b, err := json.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(b, &m); err != nil {
				t.Fatal(err)
			}
			m["apiVersion"], m["kind"] = apiVersion, kind
			if md, ok := m["metadata"].(map[string]any); ok {
				delete(md, "managedFields")
			}
			files[file] = append(files[file], m)
		}
	}
	anys := func(n int, at func(int) any) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	add("namespaces.yaml", "v1", "Namespace", anys(len(c.Namespaces), func(i int) any { return c.Namespaces[i] }))
	add("nodes.yaml", "v1", "Node", anys(len(c.Nodes), func(i int) any { return c.Nodes[i] }))
	add("pods.yaml", "v1", "Pod", anys(len(c.Pods), func(i int) any { return c.Pods[i] }))
	add("services.yaml", "v1", "Service", anys(len(c.Services), func(i int) any { return c.Services[i] }))
	add("networkpolicies.yaml", "networking.k8s.io/v1", "NetworkPolicy", anys(len(c.NetworkPolicies), func(i int) any { return c.NetworkPolicies[i] }))
	add("gateways.yaml", "gateway.networking.k8s.io/v1", "GatewayClass", anys(len(c.GatewayClasses), func(i int) any { return c.GatewayClasses[i] }))
	add("gateways.yaml", "gateway.networking.k8s.io/v1", "Gateway", anys(len(c.Gateways), func(i int) any { return c.Gateways[i] }))
	add("security.yaml", "security.istio.io/v1", "AuthorizationPolicy", anys(len(c.AuthorizationPolicies), func(i int) any { return c.AuthorizationPolicies[i] }))
	add("security.yaml", "security.istio.io/v1", "PeerAuthentication", anys(len(c.PeerAuthentications), func(i int) any { return c.PeerAuthentications[i] }))
	add("security.yaml", "security.istio.io/v1", "RequestAuthentication", anys(len(c.RequestAuthentications), func(i int) any { return c.RequestAuthentications[i] }))
	add("serviceentries.yaml", "networking.istio.io/v1", "ServiceEntry", anys(len(c.ServiceEntries), func(i int) any { return c.ServiceEntries[i] }))
	add("serviceentries.yaml", "networking.istio.io/v1", "WorkloadEntry", anys(len(c.WorkloadEntries), func(i int) any { return c.WorkloadEntries[i] }))
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		var b bytes.Buffer
		b.WriteString("# Generated from kube/demo by kube/audit's TestManifestsFindTheDemoMistakes (go test -update); do not edit.\n")
		for _, o := range files[name] {
			y, err := yaml.Marshal(o)
			if err != nil {
				t.Fatal(err)
			}
			b.WriteString("---\n")
			b.Write(y)
		}
		golden(t, "demo/"+name, b.Bytes())
	}
}

// TestScopeAndFailOn: -n keeps the namespace's findings and objects only.
func TestScope(t *testing.T) {
	r := Build(Input{Snapshot: demo.Homelab(), Source: Source{Kind: "cluster"}, Version: "test", Scope: []string{"loki"}})
	if len(r.Findings) != 1 || r.Findings[0].Object.Namespace != "loki" {
		t.Errorf("scoped findings %+v", r.Findings)
	}
	for _, p := range r.Verdicts.Pods {
		if p.Namespace != "loki" {
			t.Errorf("pod %s/%s outside the scope", p.Namespace, p.Name)
		}
	}
	if len(r.Verdicts.Namespaces) != 1 || r.Verdicts.Namespaces[0].Name != "loki" {
		t.Errorf("namespaces %+v", r.Verdicts.Namespaces)
	}
}

// TestUnreachableIsPartial: a cluster that never answered is a partial
// report naming every resource, never a clean one.
func TestUnreachableIsPartial(t *testing.T) {
	r := Build(Input{Snapshot: &kube.Snapshot{Problem: "cannot reach API server: connection refused"}, Source: Source{Kind: "cluster"}, Version: "test"})
	if r.Result != ResultPartial || len(r.Unread) != len(kube.Resources) {
		t.Fatalf("result %s, unread %+v", r.Result, r.Unread)
	}
	for _, f := range Formats {
		out := string(render(t, r, f))
		if strings.Contains(out, "CLEAN") || strings.Contains(out, `"result": "clean"`) || strings.Contains(out, "result: clean") {
			t.Errorf("%s output says clean:\n%s", f, out)
		}
	}
}

// TestHostileText: names and messages with control sequences reach no
// output raw; JSON stays valid and keeps the exact strings.
func TestHostileText(t *testing.T) {
	evil := "x\x1b]52;c;aGk=\x07\r\n\u009b31m\u202eok"
	s := demo.Homelab()
	s.Findings = append(s.Findings, finding.Finding{Severity: finding.Error, Code: "evil" + evil, Object: finding.Ref{Kind: "Pod", Namespace: "loki", Name: evil},
		Title: evil, Why: evil, Fix: "line1\n" + evil})
	r := Build(Input{Snapshot: s, Source: Source{Kind: "cluster", Context: evil}, Version: "test"})
	for _, f := range Formats {
		out := render(t, r, f)
		for i, c := range string(out) {
			if (c < 0x20 && c != '\n') || c == 0x7f || (c >= 0x80 && c < 0xa0) || c == 0x202e {
				t.Fatalf("%s: control %U at byte %d reached the output", f, c, i)
			}
		}
		if f == "json" {
			var back Report
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("json: %v", err)
			}
			if back.Source.Context != evil {
				t.Errorf("json changed the string: %q", back.Source.Context)
			}
		}
	}
}
