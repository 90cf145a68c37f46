package reach

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

func run(t *testing.T, connect Connect, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(context.Background(), args, &out, &errb, connect)
	return code, out.String(), errb.String()
}

func TestReachOnFiles(t *testing.T) {
	shop := []string{"-f", "testdata/shop"}
	for _, tc := range []struct {
		name     string
		args     []string
		code     int
		stdout   string   // exact, when set
		lines    int      // number of stdout lines, when set
		has      []string // fragments of stdout
		stderr   []string // fragments of stderr
		noteless bool
	}{
		{name: "named port admits the web deployment", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "5432"},
			stdout: "allowed  shop/web -> shop/db 5432/TCP  egress allowed: no NetworkPolicy selects shop/web for egress; ingress allowed by NetworkPolicy shop/db rule ingress[0]\n"},
		{name: "a cronjob's pod is not the web deployment", args: []string{"--from", "shop/report", "--to", "shop/db", "--port", "5432"},
			stdout: "denied   shop/report -> shop/db 5432/TCP  ingress denied: shop/db is isolated for ingress by NetworkPolicy shop/db and no rule admits shop/report on 5432/TCP\n"},
		{name: "json: an outside address inside the ipBlock", args: []string{"--from", "203.0.113.7", "--to", "shop/web", "--port", "8080", "-o", "json"},
			stdout: `{"from":"203.0.113.7","to":"shop/web","port":8080,"protocol":"TCP","allowed":true,"reason":"ingress allowed by NetworkPolicy shop/web rule ingress[0]"}` + "\n"},
		{name: "an excepted address", args: []string{"--from", "10.1.2.3", "--to", "shop/web", "--port", "8080"},
			has: []string{"denied   10.1.2.3 -> shop/web 8080/TCP  ingress denied: shop/web is isolated for ingress by NetworkPolicy shop/web and no rule admits 10.1.2.3 on 8080/TCP"}},
		{name: "namespace wildcard and repeated ports", args: []string{"--from", "monitoring/*", "--to", "shop/web", "--port", "8080", "--port", "9090"},
			lines: 2, has: []string{"allowed  monitoring/prometheus-0 -> shop/web 8080/TCP  egress allowed: no NetworkPolicy selects monitoring/prometheus-0 for egress; ingress allowed by NetworkPolicy shop/web rule ingress[1]",
				"denied   monitoring/prometheus-0 -> shop/web 9090/TCP"}},
		{name: "every pod, without the pod itself", args: []string{"--from", "*", "--to", "shop/db", "--port", "5432", "-o", "json"},
			lines: 4, has: []string{`"from":"payments/billing"`, `"from":"shop/report"`, `"from":"shop/web","to":"shop/db","port":5432,"protocol":"TCP","allowed":true`}},
		{name: "protocol in lower case", args: []string{"--from", "payments/billing", "--to", "shop/web", "--port", "53/udp"},
			has: []string{"denied   payments/billing -> shop/web 53/UDP"}},
		{name: "a synthesized namespace carries its name label", args: []string{"--from", "payments/billing", "--to", "monitoring/prometheus-0", "--port", "9090"},
			has: []string{"allowed  payments/billing -> monitoring/prometheus-0 9090/TCP"}},
		{name: "skipped kinds and a README say nothing", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "5432"}, noteless: true, lines: 1},

		{name: "missing port", args: []string{"--from", "shop/web", "--to", "shop/db"}, code: 2, stderr: []string{"at least one --port is required"}},
		{name: "named port", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "pg"},
			stdout: "allowed  shop/web -> shop/db 5432/TCP (pg)  egress allowed: no NetworkPolicy selects shop/web for egress; ingress allowed by NetworkPolicy shop/db rule ingress[0]\n"},
		{name: "unknown named port", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "http"}, code: 2, stderr: []string{"shop/db has no TCP container port named http"}},
		{name: "not a port name", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "Not_A_Name"}, code: 2, stderr: []string{`--port "Not_A_Name": want a port number 1-65535 or a port name`}},
		{name: "named port to an address", args: []string{"--from", "shop/web", "--to", "192.0.2.1", "--port", "pg"}, code: 2, stderr: []string{"a named port needs a pod destination"}},
		{name: "bad protocol", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "80/ICMP"}, code: 2, stderr: []string{`protocol "ICMP" is not TCP, UDP or SCTP`}},
		{name: "unknown pod", args: []string{"--from", "shop/nope", "--to", "shop/db", "--port", "1"}, code: 2,
			stderr: []string{"--from shop/nope: no pod or workload nope in namespace shop (it holds db, report, web)"}},
		{name: "empty namespace", args: []string{"--from", "ghost/*", "--to", "shop/db", "--port", "1"}, code: 2, stderr: []string{"--from ghost/*: no pods in namespace ghost"}},
		{name: "no slash", args: []string{"--from", "shop", "--to", "shop/db", "--port", "1"}, code: 2, stderr: []string{`--from "shop": want NS/POD, NS/*, * or an IP address`}},
		{name: "two addresses", args: []string{"--from", "10.0.0.1", "--to", "10.0.0.2", "--port", "1"}, code: 2, stderr: []string{"both addresses"}},
		{name: "bad output", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "1", "-o", "yaml"}, code: 2, stderr: []string{`-o must be text or json, not "yaml"`}},
		{name: "stray argument", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "1", "extra.yaml"}, code: 2, stderr: []string{`unexpected argument "extra.yaml"`}},
		{name: "unknown flag", args: []string{"--form", "shop/web"}, code: 2, stderr: []string{"unknown flag: --form"}},
		{name: "bad timeout", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "1", "--timeout", "0s"}, code: 2, stderr: []string{"--timeout must be positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := tc.args
			if !strings.HasPrefix(tc.name, "unknown flag") {
				args = append(append([]string{}, shop...), args...)
			}
			code, out, errOut := run(t, nil, args...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
			if tc.stdout != "" && out != tc.stdout {
				t.Errorf("stdout\n got %q\nwant %q", out, tc.stdout)
			}
			if tc.lines != 0 && strings.Count(out, "\n") != tc.lines {
				t.Errorf("%d lines, want %d:\n%s", strings.Count(out, "\n"), tc.lines, out)
			}
			for _, h := range tc.has {
				if !strings.Contains(out, h) {
					t.Errorf("stdout lacks %q:\n%s", h, out)
				}
			}
			for _, h := range tc.stderr {
				if !strings.Contains(errOut, h) {
					t.Errorf("stderr lacks %q:\n%s", h, errOut)
				}
			}
			if tc.noteless && errOut != "" {
				t.Errorf("unexpected stderr: %s", errOut)
			}
			if tc.code == 2 && out != "" {
				t.Errorf("bad input printed verdicts: %s", out)
			}
		})
	}
}

func TestReachJSONShape(t *testing.T) {
	_, out, _ := run(t, nil, "-f", "testdata/shop", "--from", "shop/*", "--to", "shop/db", "--port", "5432", "-o", "json")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		for _, k := range []string{"from", "to", "port", "protocol", "allowed", "reason"} {
			if _, ok := m[k]; !ok {
				t.Errorf("%q lacks %q", line, k)
			}
		}
	}
}

func TestReachBadFiles(t *testing.T) {
	q := []string{"--from", "shop/web", "--to", "shop/db", "--port", "5432"}
	for _, tc := range []struct {
		file string
		code int
		want string
	}{
		{"testdata/bad/bad-selector.yaml", 2, `testdata/bad/bad-selector.yaml: document 1: NetworkPolicy shop/odd: spec.podSelector: "Near" is not a valid label selector operator`},
		{"testdata/bad/typo.yaml", 2, `testdata/bad/typo.yaml: document 1 (NetworkPolicy shop/typo): strict decoding error: unknown field "spec.ingres"`},
		{"testdata/bad/syntax.yaml", 2, "testdata/bad/syntax.yaml: document 1: not YAML or JSON"},
		{"testdata/bad/scalar.yaml", 2, `testdata/bad/scalar.yaml: document 1: expected an object with apiVersion and kind, found "\"just some words\""`},
		{"testdata/bad/old-api.yaml", 2, `testdata/bad/old-api.yaml: document 1 (NetworkPolicy shop/old): NetworkPolicy "extensions/v1beta1" is not a version ambx reads`},
		{"testdata/bad/wrong-type.yaml", 2, "testdata/bad/wrong-type.yaml: document 1 (Pod shop/web): "},
		{"testdata/missing.yaml", 2, "testdata/missing.yaml: no such file or directory"},
		{"testdata/bad/nokind.yaml", 0, "note: testdata/bad/nokind.yaml: document 1: no kind; skipped"},
		{"testdata/bad/duplicate.yaml", 0, "note: testdata/bad/duplicate.yaml: document 1: Pod monitoring/prometheus-0 is also defined at testdata/shop/workloads.yaml: document 4; using this one"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			code, out, errOut := run(t, nil, append([]string{"-f", "testdata/shop", "-f", tc.file}, q...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tc.code, errOut)
			}
			if !strings.Contains(errOut, tc.want) {
				t.Errorf("stderr\n got %s\nwant %s", errOut, tc.want)
			}
			if tc.code == 0 && !strings.HasPrefix(out, "allowed  shop/web -> shop/db") {
				t.Errorf("stdout %q", out)
			}
		})
	}
}

func TestReachLiveCluster(t *testing.T) {
	ns := func(n string) *corev1.Namespace { return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n}} }
	pod := func(ns, n, ip string, phase corev1.PodPhase, lbls map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: n, Labels: lbls},
			Status: corev1.PodStatus{Phase: phase, PodIP: ip, PodIPs: []corev1.PodIP{{IP: ip}}}}
	}
	client := fake.NewClientset(
		ns("a"), ns("b"),
		pod("a", "web", "10.244.1.5", corev1.PodRunning, map[string]string{"app": "web"}),
		pod("b", "client", "10.244.2.9", corev1.PodRunning, map[string]string{"app": "client"}),
		pod("b", "done", "10.244.2.10", corev1.PodSucceeded, map[string]string{"app": "client"}),
		&networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "deny"}},
	)
	connect := func() (*kube.Clients, error) { return &kube.Clients{Kube: client, Fake: true}, nil }
	code, out, errOut := run(t, connect, "--from", "b/*", "--to", "10.244.1.5", "--port", "80")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "denied   b/client -> a/web 80/TCP  ingress denied: a/web is isolated for ingress by NetworkPolicy a/deny and no rule admits b/client on 80/TCP\n"
	if out != want {
		t.Errorf("stdout\n got %q\nwant %q (the pod IP means the pod; finished pods are left out)", out, want)
	}
	code, _, errOut = run(t, func() (*kube.Clients, error) { return nil, errors.New("no kubeconfig") }, "--from", "b/*", "--to", "a/web", "--port", "80")
	if code != 1 || !strings.Contains(errOut, "ambx reach: no kubeconfig") {
		t.Errorf("connect failure: exit %d, stderr %q", code, errOut)
	}
}

func TestHelp(t *testing.T) {
	code, out, errOut := run(t, nil, "-h")
	if code != 0 || !strings.Contains(out, "Usage: ambx reach") || !strings.Contains(out, "--port") || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestReachAmbient: between pods the mesh carries, the policies are asked
// about HBONE on 15008 (through the waypoint's pods when one serves the
// destination); to and from pods outside the mesh, about the port itself.
func TestReachAmbient(t *testing.T) {
	for _, tc := range []struct {
		name, from, to, port, want string
	}{
		{"captured to captured: the app port is admitted, HBONE is not", "apps/client", "apps/loki", "3100",
			"denied   apps/client -> apps/loki 3100/TCP  carried as HBONE: 3100 → 15008; ingress denied: apps/loki is isolated for ingress by NetworkPolicy apps/loki and no rule admits apps/client on 15008/TCP\n"},
		{"captured to captured by a named port, HBONE admitted", "apps/client", "apps/grafana", "http",
			"allowed  apps/client -> apps/grafana 3000/TCP (http)  carried as HBONE: 3000 → 15008; egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy apps/grafana rule ingress[0]\n"},
		{"captured to uncaptured: plain on the port", "apps/client", "legacy/db", "5432",
			"allowed  apps/client -> legacy/db 5432/TCP  egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed by NetworkPolicy legacy/db rule ingress[0]\n"},
		{"uncaptured to captured: plain on the port", "legacy/db", "apps/loki", "3100",
			"denied   legacy/db -> apps/loki 3100/TCP  ingress denied: apps/loki is isolated for ingress by NetworkPolicy apps/loki and no rule admits legacy/db on 3100/TCP\n"},
		{"captured to an opted-out pod: plain", "apps/client", "apps/optout", "8080",
			"allowed  apps/client -> apps/optout 8080/TCP  egress allowed: no NetworkPolicy selects apps/client for egress; ingress allowed: no NetworkPolicy selects apps/optout for ingress\n"},
		{"through a waypoint: the waypoint's hop is what the policy denies", "apps/client", "billing/api", "8080",
			"denied   apps/client -> billing/api 8080/TCP  carried as HBONE: 8080 → 15008 through waypoint billing/waypoint; billing/waypoint -> billing/api: ingress denied: billing/api is isolated for ingress by NetworkPolicy billing/api and no rule admits billing/waypoint on 15008/TCP\n"},
		{"UDP is never carried as HBONE", "apps/client", "apps/loki", "3100/udp",
			"denied   apps/client -> apps/loki 3100/UDP  ingress denied: apps/loki is isolated for ingress by NetworkPolicy apps/loki and no rule admits apps/client on 3100/UDP\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, nil, "-f", "testdata/mesh", "--from", tc.from, "--to", tc.to, "--port", tc.port)
			if code != 0 || out != tc.want {
				t.Errorf("exit %d\n got %q\nwant %q\nstderr %s", code, out, tc.want, errOut)
			}
		})
	}
	_, out, _ := run(t, nil, "-f", "testdata/mesh", "--from", "apps/client", "--to", "billing/api", "--port", "8080", "-o", "json")
	var r Result
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Carried != "HBONE" || r.CarriedPort != 15008 || r.Waypoint != "billing/waypoint" || len(r.Hops) != 2 ||
		!r.Hops[0].Allowed || r.Hops[0].To != "billing/waypoint" || r.Hops[1].Allowed || r.Allowed {
		t.Errorf("json %+v", r)
	}
}

// TestReachHostileNames: names from a file cannot put a control sequence
// on the terminal, in text or JSON.
func TestReachHostileNames(t *testing.T) {
	dir := t.TempDir()
	evil := "web\x1b]52;c;aGk=\x07\r\u009b31m\u202e"
	quote := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	doc := `{"apiVersion":"v1","kind":"Pod","metadata":{"name":` + quote(evil) + `,"namespace":"x"}}` + "\n" +
		`{"apiVersion":"networking.k8s.io/v1","kind":"NetworkPolicy","metadata":{"name":` + quote("deny\r\x1b[32mallowed") + `,"namespace":"x"},"spec":{"podSelector":{}}}` + "\n" +
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","namespace":"x"}}` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "evil.json"), []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"text", "json"} {
		code, out, errOut := run(t, nil, "-f", dir, "--from", "x/*", "--to", "x/*", "--port", "80", "-o", o)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		for _, s := range []string{out, errOut} {
			for _, r := range s {
				if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x202e {
					t.Fatalf("-o %s: control %U reached the terminal: %q", o, r, s)
				}
			}
		}
		if o == "json" {
			for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
				var r Result
				if err := json.Unmarshal([]byte(l), &r); err != nil {
					t.Fatalf("not JSON: %q", l)
				}
				if r.From != "x/"+evil && r.To != "x/"+evil {
					t.Errorf("JSON changed the name: %+v", r)
				}
			}
		}
	}
}
