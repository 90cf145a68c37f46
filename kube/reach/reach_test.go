package reach

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/netpol"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
)

func run(t *testing.T, connect func() (kubernetes.Interface, error), args ...string) (int, string, string) {
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
		{name: "named port query", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "pg"}, code: 2, stderr: []string{`--port "pg": want a port number`}},
		{name: "bad protocol", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "80/ICMP"}, code: 2, stderr: []string{`protocol "ICMP" is not TCP, UDP or SCTP`}},
		{name: "unknown pod", args: []string{"--from", "shop/nope", "--to", "shop/db", "--port", "1"}, code: 2,
			stderr: []string{"--from shop/nope: no pod or workload nope in namespace shop (it holds db, report, web)"}},
		{name: "empty namespace", args: []string{"--from", "ghost/*", "--to", "shop/db", "--port", "1"}, code: 2, stderr: []string{"--from ghost/*: no pods in namespace ghost"}},
		{name: "no slash", args: []string{"--from", "shop", "--to", "shop/db", "--port", "1"}, code: 2, stderr: []string{`--from "shop": want NS/POD, NS/*, * or an IP address`}},
		{name: "two addresses", args: []string{"--from", "10.0.0.1", "--to", "10.0.0.2", "--port", "1"}, code: 2, stderr: []string{"both addresses"}},
		{name: "bad output", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "1", "-o", "yaml"}, code: 2, stderr: []string{`-o must be text or json, not "yaml"`}},
		{name: "stray argument", args: []string{"--from", "shop/web", "--to", "shop/db", "--port", "1", "extra.yaml"}, code: 2, stderr: []string{`unexpected argument "extra.yaml"`}},
		{name: "unknown flag", args: []string{"--form", "shop/web"}, code: 2, stderr: []string{"flag provided but not defined: -form"}},
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
		{"testdata/bad/old-api.yaml", 2, `testdata/bad/old-api.yaml: document 1 (NetworkPolicy shop/old): NetworkPolicy "extensions/v1beta1" is not a version reach reads`},
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
	connect := func() (kubernetes.Interface, error) { return client, nil }
	code, out, errOut := run(t, connect, "--from", "b/*", "--to", "10.244.1.5", "--port", "80")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	want := "denied   b/client -> a/web 80/TCP  ingress denied: a/web is isolated for ingress by NetworkPolicy a/deny and no rule admits b/client on 80/TCP\n"
	if out != want {
		t.Errorf("stdout\n got %q\nwant %q (the pod IP means the pod; finished pods are left out)", out, want)
	}
	code, _, errOut = run(t, func() (kubernetes.Interface, error) { return nil, errors.New("no kubeconfig") }, "--from", "b/*", "--to", "a/web", "--port", "80")
	if code != 1 || !strings.Contains(errOut, "ambx reach: no kubeconfig") {
		t.Errorf("connect failure: exit %d, stderr %q", code, errOut)
	}
}

func TestHelp(t *testing.T) {
	code, _, errOut := run(t, nil, "-h")
	if code != 0 || !strings.Contains(errOut, "Usage: ambx reach") || !strings.Contains(errOut, "-port") {
		t.Errorf("exit %d, stderr %q", code, errOut)
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
		"--- \n---\n- 1\n- 2\n",
		"kind: NetworkPolicy\napiVersion: networking.k8s.io/v1\nspec: {podSelector: {matchExpressions: [{key: a, operator: In}]}}\n",
		"{", "null", "[]", "apiVersion: 3\nkind: {}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := LoadBytes("fuzz.yaml", data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml: ") {
				t.Errorf("error does not name the file: %v", err)
			}
			return
		}
		c, _ := netpol.NewCluster(objs.Namespaces, objs.Pods, objs.NetworkPolicies)
		pods := c.Pods()
		for i := 0; i < len(pods) && i < 3; i++ {
			for j := 0; j < len(pods) && j < 3; j++ {
				if _, err := c.Evaluate(netpol.Peer{Pod: pods[i]}, netpol.Peer{Pod: pods[j]}, 80, ""); err != nil {
					t.Errorf("evaluate %s -> %s: %v", pods[i], pods[j], err)
				}
			}
		}
	})
}
