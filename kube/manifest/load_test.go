package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
)

func TestLoadKindsLinesAndIntent(t *testing.T) {
	const doc = `# leading comment
apiVersion: v1
kind: Namespace
metadata:
  name: apps
  labels: {istio.io/dataplane-mode: ambient}
---
apiVersion: v1
kind: Namespace
metadata: {name: side, labels: {istio-injection: enabled}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: apps}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: web, image: nginx}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: old, namespace: side}
spec:
  selector: {matchLabels: {app: old}}
  template:
    metadata: {labels: {app: old}}
    spec: {containers: [{name: old, image: nginx}]}
---
apiVersion: v1
kind: List
items:
- apiVersion: security.istio.io/v1beta1
  kind: AuthorizationPolicy
  metadata: {name: deny, namespace: apps}
  spec: {action: DENY, rules: [{}]}
- apiVersion: networking.k8s.io/v1
  kind: NetworkPolicy
  metadata: {name: np, namespace: apps}
  spec:
    podSelector: {}
    ingress:
    - ports:
      - port: 80
---
apiVersion: gateway.networking.k8s.io/v1beta1
kind: Gateway
metadata: {name: waypoint, namespace: apps}
spec:
  gatewayClassName: istio-waypoint
  listeners: [{name: mesh, port: 15008, protocol: HBONE}]
`
	s, err := LoadBytes("m.yaml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.AuthorizationPolicies) != 1 || len(s.NetworkPolicies) != 1 || len(s.Gateways) != 1 || len(s.Namespaces) != 2 {
		t.Fatalf("objects: %+v", s.Cluster)
	}
	for key, line := range map[string]int{"Namespace apps": 2, "Pod apps/web": 12, "AuthorizationPolicy apps/deny": 33, "NetworkPolicy apps/np": 37, "Gateway apps/waypoint": 46, "Pod apps/waypoint": 46} {
		if got := s.Origin[key]; got.File != "m.yaml" || got.Line != line {
			t.Errorf("%s at %s:%d, want line %d", key, got.File, got.Line, line)
		}
	}
	if got := s.Origin["NetworkPolicy apps/np"].LineOf("/spec/ingress/0/ports/-"); got != 43 {
		t.Errorf("ports of the NetworkPolicy at line %d, want 43", got)
	}
	if got := s.Origin["NetworkPolicy apps/np"].LineOf("/spec/egress"); got != 40 {
		t.Errorf("a missing field points at its parent: line %d, want 40 (spec)", got)
	}
	a := ambient.Analyze(&s.Cluster)
	for pod, want := range map[string]ambient.PodState{"apps/web": ambient.PodCaptured, "side/old": ambient.PodSidecar, "apps/waypoint": ambient.PodOptedOut} {
		ns, name, _ := strings.Cut(pod, "/")
		if got := a.Pods[ambient.Key{Namespace: ns, Name: name}].State; got != want {
			t.Errorf("%s: %s, want %s", pod, got, want)
		}
	}
	if w, ok := a.Waypoint(ambient.Key{Namespace: "apps", Name: "waypoint"}); !ok || !w.Programmed || w.Ready != 1 {
		t.Errorf("intended waypoint %+v", w)
	}
}

func TestLoadJSONStreamLines(t *testing.T) {
	s, err := LoadBytes("s.json", []byte("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"a\"}}\n\n{\"apiVersion\":\"v1\",\n\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Origin["Namespace a"].Line != 1 || s.Origin["Namespace b"].Line != 3 || s.Origin["Namespace b"].Where != "s.json: document 2" {
		t.Errorf("origins %+v", s.Origin)
	}
}

// TestLoadOnlyRegularFiles: a *.yaml that is a link to /dev/zero or a FIFO
// is refused at once, never read until memory runs out or forever.
func TestLoadOnlyRegularFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "zero.yaml")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "fifo.yaml"), 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, MaxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, tc := range []struct{ path, want string }{
			{filepath.Join(dir, "zero.yaml"), "not a regular file (a device)"},
			{filepath.Join(dir, "fifo.yaml"), "not a regular file (a named pipe)"},
			{big, "more than the 16 MiB"},
		} {
			if _, err := Load([]string{tc.path}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: %v, want %q", tc.path, err, tc.want)
			}
		}
		s, err := Load([]string{dir})
		if err != nil || len(s.Notes) != 2 || !strings.Contains(s.Notes[0], "not a regular file; skipped") {
			t.Errorf("folder walk: %v, notes %q", err, s.Notes)
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("Load hung on a FIFO")
	}
}

func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"apiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: x, labels: {app: a}}\nspec: {containers: [{name: c, ports: [{name: http, containerPort: 80}]}]}\n---\n" +
			"apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec: {podSelector: {}, ingress: [{from: [{ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}}], ports: [{port: http}, {port: 1, endPort: 9}]}]}\n",
		`{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"x"}},{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"},"spec":{"template":{"metadata":{"labels":{"a":"b"}}}}}]}`,
		"apiVersion: v1\nkind: ReplicationController\nmetadata: {name: rc}\nspec: {}\n",
		"apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {jobTemplate: {}}\n",
		"apiVersion: v1\nkind: List\nitems: [{apiVersion: v1, kind: List, items: [{kind: Pod}]}]\n",
		"--- \n---\n- 1\n- 2\n", "--- x\n", "{a: 1}\n", "{\"kind\":\"Namespace\"}\n{oops",
		"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: w}\nspec: {gatewayClassName: istio-waypoint}\n",
		"kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nspec: {podSelector: {matchExpressions: [{key: a, operator: In}]}}\n",
		"{", "null", "[]", "apiVersion: 3\nkind: {}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadBytes("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		ambient.Analyze(&s.Cluster)
	})
}

// TestLoadInstallation: a rendered chart's istiod Deployment sets the
// version verdicts follow.
func TestLoadInstallation(t *testing.T) {
	s, err := LoadBytes("istio.yaml", []byte(`apiVersion: apps/v1
kind: Deployment
metadata: {name: istiod, namespace: istio-system, labels: {app: istiod, istio.io/rev: default}}
spec:
  selector: {matchLabels: {app: istiod}}
  template:
    metadata: {labels: {app: istiod}}
    spec: {containers: [{name: discovery, image: docker.io/istio/pilot:1.28.2}]}
`))
	if err != nil {
		t.Fatal(err)
	}
	if v := s.Install.Istiod; !v.Known() || v.Minor != 28 || v.Patch != 2 {
		t.Errorf("istiod version %+v, want 1.28.2 (problems %q)", v, s.Install.Problems)
	}
}
