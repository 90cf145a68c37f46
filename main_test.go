package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/usage"
)

func TestFlags(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no user config
	unsetenv(t, "AMBX_READONLY")
	for _, tc := range []struct {
		args    []string
		wantErr string
		check   func(options) bool
	}{
		{args: []string{"--demo", "--read-only", "--refresh", "5s", "-n", "loki"}, check: func(o options) bool {
			return o.demo && o.readOnly && o.refresh == 5*time.Second && o.namespace == "loki"
		}},
		{args: nil, check: func(o options) bool { return !o.readOnly && o.refresh == 0 }}, // 0: the metrics API's pace
		{args: []string{"--bogus"}, wantErr: "unknown flag: --bogus"},
		{args: []string{"--refresh", "0s"}, wantErr: "--refresh must be positive"},
		{args: []string{"--refresh", "soon"}, wantErr: "invalid argument"},
		{args: []string{"extra"}, wantErr: `unexpected argument "extra"`},
		{args: []string{"--sidecar-cost", "10m"}, wantErr: "want CPU/memory"},
		{args: []string{"--sidecar-cost", "10m/lots"}, wantErr: "memory"},
		{args: []string{"--config", "/nonexistent/ambx.yaml"}, wantErr: "no such file"},
	} {
		o, err := parseFlags(tc.args, &bytes.Buffer{})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%v: error %v, want %q", tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !tc.check(o) {
			t.Errorf("%v: %+v, %v", tc.args, o, err)
		}
	}
}

func TestReadOnlyFromEnvironmentAndConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	t.Setenv("AMBX_READONLY", "1")
	if o, err := parseFlags(nil, &bytes.Buffer{}); err != nil || !o.readOnly {
		t.Fatalf("AMBX_READONLY=1: read-only %v, %v", o.readOnly, err)
	}
	unsetenv(t, "AMBX_READONLY")
	if err := os.MkdirAll(filepath.Join(dir, "ambx"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ambx", "config.yaml"), []byte("readOnly: true\nrefresh: 7s\nsidecarCost: 20m/64Mi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	o, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil || !o.readOnly || o.refresh != 7*time.Second || o.sidecar != "20m/64Mi" {
		t.Fatalf("config file: %+v, %v", o, err)
	}
	// A flag beats the file's refresh, but nothing undoes read-only.
	o, _ = parseFlags([]string{"--refresh", "3s"}, &bytes.Buffer{})
	if o.refresh != 3*time.Second || !o.readOnly {
		t.Fatalf("flag over config: %+v", o)
	}
	if err := os.WriteFile(filepath.Join(dir, "ambx", "config.yaml"), []byte("readOnlee: true\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := parseFlags(nil, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "config") {
		t.Fatalf("a misspelt config key was accepted: %v", err)
	}
}

// unsetenv removes k for the test; t.Setenv restores the old value after.
func unsetenv(t *testing.T, k string) {
	t.Helper()
	t.Setenv(k, "")
	os.Unsetenv(k)
}

func TestSidecarCost(t *testing.T) {
	got, err := parseSidecarCost("10m/50Mi")
	if err != nil || got != (usage.Resources{CPUMilli: 10, MemBytes: 50 << 20}) {
		t.Fatalf("10m/50Mi = %+v, %v", got, err)
	}
	if got, err := parseSidecarCost(""); err != nil || !got.IsZero() {
		t.Fatalf("empty = %+v, %v", got, err)
	}
}

func TestRunExitCodes(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out, errb bytes.Buffer
	if code := run([]string{"--version"}, &out, &errb); code != 0 || !strings.HasPrefix(out.String(), "ambx ") {
		t.Fatalf("--version: %d %q", code, out.String())
	}
	errb.Reset()
	if code := run([]string{"--nope"}, &out, &errb); code != 2 || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("bad flag: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	bad := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(bad, []byte("this: [is not a kubeconfig"), 0o600); err != nil {
		t.Fatal(err)
	}
	if code := run([]string{"--kubeconfig", bad}, &out, &errb); code != 2 || strings.Count(errb.String(), "\n") != 1 {
		t.Fatalf("broken kubeconfig: exit %d, stderr %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"--kubeconfig", "/nonexistent/config"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "/nonexistent/config") {
		t.Fatalf("missing kubeconfig: exit %d, stderr %q", code, errb.String())
	}
}

func TestCommands(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, tc := range []struct {
		args       []string
		code       int
		stdout     []string // fragments of stdout
		stderrLine bool     // stderr is exactly one line
	}{
		{args: []string{"--help"}, stdout: []string{"Usage:\n  ambx [flags]\n  ambx [command]", "reach", "completion", "version", "--read-only"}},
		{args: []string{"version"}, stdout: []string{"ambx dev\n"}},
		{args: []string{"completion", "bash"}, stdout: []string{"bash completion V2 for ambx"}},
		{args: []string{"completion", "zsh"}, stdout: []string{"#compdef ambx"}},
		{args: []string{"completion", "fish"}, stdout: []string{"complete -c ambx"}},
		{args: []string{"reach", "-f", "kube/reach/testdata/shop", "--from", "shop/web", "--to", "shop/db", "--port", "5432"}, stdout: []string{"allowed  shop/web -> shop/db 5432/TCP"}},
		{args: []string{"reach", "--from", "shop/web"}, code: 2},
		{args: []string{"reach", "-f", "kube/reach/testdata/mesh", "-f", "kube/reach/testdata/services", "apps/client", "svc/billing/api:http"},
			stdout: []string{"denied   apps/client -> svc/billing/api 80/TCP (http) → billing/api 8080/TCP  carried as HBONE via waypoint billing/waypoint: 80 → 15008"}},
		{args: []string{"reach", "-f", "kube/reach/testdata/mesh", "apps/client", "svc/billing/api", "extra"}, code: 2, stderrLine: true},
		{args: []string{"reach", "--demo", "ambient-apps/*", "svc/ambient-apps/httpbin"},
			stdout: []string{"-> svc/ambient-apps/httpbin 8000/TCP (http) → ambient-apps/httpbin-", "8080/TCP  carried as HBONE via waypoint ambient-apps/waypoint: 8000 → 15008"}},
		{args: []string{"reach", "--demo", "-f", "kube/reach/testdata/mesh", "apps/client", "svc/billing/api"}, code: 2, stderrLine: true},
		{args: []string{"reach", "-f", "kube/reach/testdata/mesh", "--from", "apps/client", "apps/client", "svc/billing/api"}, code: 2, stderrLine: true},
		{args: []string{"version", "extra"}, code: 2, stderrLine: true},
		{args: []string{"nosuchcommand"}, code: 2, stderrLine: true},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d; stderr %q", tc.args, code, tc.code, errb.String())
		}
		for _, s := range tc.stdout {
			if !strings.Contains(out.String(), s) {
				t.Errorf("%v: stdout lacks %q:\n%s", tc.args, s, out.String())
			}
		}
		if tc.stderrLine && strings.Count(errb.String(), "\n") != 1 {
			t.Errorf("%v: stderr %q, want one line", tc.args, errb.String())
		}
	}
}

func TestDisplayName(t *testing.T) {
	for argv0, want := range map[string]string{
		"ambx": "ambx", "/usr/local/bin/ambx": "ambx", "/home/me/bin/kubectl-ambx": "kubectl ambx",
		"/opt/kubectl-ambx.exe": "kubectl ambx", "kubectl-": "ambx",
	} {
		if got := displayName(argv0); got != want {
			t.Errorf("displayName(%q) = %q, want %q", argv0, got, want)
		}
	}
}

func TestAuditCommand(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // fragment
		stderr string // fragment
	}{
		{args: []string{"audit", "--demo"}, stdout: "FINDINGS: 6 errors, 2 warnings"},
		{args: []string{"audit", "--demo", "--fail-on", "error", "-o", "json"}, code: 1, stdout: `"result": "findings"`},
		{args: []string{"audit", "--demo", "--fail-on", "error", "-n", "unipoller"}, code: 0, stdout: "FINDINGS: 0 errors, 1 warning"},
		{args: []string{"audit", "-f", "kube/reach/testdata/mesh", "-o", "sarif", "--fail-on", "error"}, code: 1, stdout: `"startLine": 117`},
		{args: []string{"audit", "-f", "kube/reach/testdata/shop", "--fail-on", "warning"}, code: 0, stdout: "CLEAN"},
		{args: []string{"audit", "-f", "kube/reach/testdata/bad/typo.yaml"}, code: 2, stderr: `unknown field "spec.ingres"`},
		{args: []string{"audit", "--demo", "-o", "xml"}, code: 2, stderr: "-o must be one of table, json, yaml, markdown, sarif"},
		{args: []string{"audit", "--demo", "--fail-on", "info"}, code: 2, stderr: "--fail-on must be error or warning"},
		{args: []string{"audit", "--kubeconfig", "/nonexistent/config"}, code: 3, stderr: "/nonexistent/config"},
		{args: []string{"audit", "--demo", "--what-if", "enroll example-admin", "--fail-on", "warning"}, code: 1, stdout: "error   probe-source-blocked NetworkPolicy example-admin/admin"},
		{args: []string{"audit", "--demo", "--what-if", "migrate legacy-apps", "--fail-on", "warning"}, code: 1, stdout: "error   hbone-ingress-blocked NetworkPolicy legacy-apps/legacy-billing"},
		{args: []string{"audit", "--demo", "--what-if", "enroll example-admin", "-o", "json"}, code: 0, stdout: `"code": "probe-source-blocked"`},
		{args: []string{"audit", "--demo", "--what-if", "enroll nope"}, code: 2, stderr: "namespace nope is not in the snapshot"},
		{args: []string{"audit", "--demo", "--what-if", "frob x"}, code: 2, stderr: `unknown write "frob"`},
		{args: []string{"audit", "--demo", "--what-if", "enroll shop", "-o", "sarif"}, code: 2, stderr: "--what-if prints table, json or yaml"},
	} {
		var out, errb bytes.Buffer
		code := run(tc.args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.stdout) || !strings.Contains(errb.String(), tc.stderr) {
			t.Errorf("%v: exit %d (want %d)\nstdout %.400s\nstderr %s", tc.args, code, tc.code, out.String(), errb.String())
		}
	}
}

// The mouse is on unless --no-mouse or the config's mouse: false turns it
// off; the flag wins over the file either way.
func TestMouseFromFlagAndConfig(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	unsetenv(t, "AMBX_READONLY")
	if o, err := parseFlags(nil, &bytes.Buffer{}); err != nil || o.noMouse {
		t.Fatalf("default: noMouse %v, %v", o.noMouse, err)
	}
	if o, _ := parseFlags([]string{"--no-mouse"}, &bytes.Buffer{}); !o.noMouse {
		t.Fatal("--no-mouse left the mouse on")
	}
	if err := os.MkdirAll(filepath.Join(dir, "ambx"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		args []string
		want bool // noMouse
	}{
		{"mouse: false\n", nil, true},
		{"mouse: true\n", nil, false},
		{"mouse: true\n", []string{"--no-mouse"}, true},
		{"mouse: false\n", []string{"--no-mouse=false"}, false},
		{"readOnly: false\n", nil, false},
	} {
		if err := os.WriteFile(filepath.Join(dir, "ambx", "config.yaml"), []byte(tc.file), 0o644); err != nil {
			t.Fatal(err)
		}
		o, err := parseFlags(tc.args, &bytes.Buffer{})
		if err != nil || o.noMouse != tc.want {
			t.Errorf("%q %v: noMouse %v, %v; want %v", tc.file, tc.args, o.noMouse, err, tc.want)
		}
	}
}
