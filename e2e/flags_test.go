package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// runBin runs ambx outside any terminal and returns its exit status and
// output. HOME and KUBECONFIG point nowhere, so no real cluster is read.
func runBin(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runBinIn(t, t.TempDir(), args...)
}

// runBinIn is runBin in directory dir.
func runBinIn(t *testing.T, dir string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdin = nil
	home := t.TempDir()
	for _, kv := range os.Environ() {
		// Inside a pod, client-go would fall back to the pod's own cluster.
		if !strings.HasPrefix(kv, "KUBERNETES_SERVICE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "HOME="+home, "KUBECONFIG="+filepath.Join(home, "absent"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("ambx %s: %v", strings.Join(args, " "), err)
	}
	return code, out.String(), errb.String()
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// Bad input ends with status 2 and one line on stderr that names the
// problem, never a usage dump or a stack.
func TestBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		says []string // the one line names each of these
	}{
		{"unknown flag", []string{"--bogus"}, []string{"--bogus"}},
		{"missing kubeconfig", []string{"--kubeconfig", "/nonexistent"}, []string{"kubeconfig", "/nonexistent"}},
		{"no kubeconfig at all", nil, []string{"no kubeconfig", "--demo"}},
		{"unreadable kubeconfig", []string{"--kubeconfig", "garbage.yaml"}, []string{"garbage.yaml"}},
		{"stray argument", []string{"--demo", "extra"}, []string{"extra"}},
		{"bad refresh", []string{"--refresh", "soon"}, []string{"refresh", "soon"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "garbage.yaml"), []byte("clusters: [\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			code, stdout, stderr := runBinIn(t, dir, tc.args...)
			if code != 2 {
				t.Errorf("ambx %s exited %d, want 2 (stderr %q)", strings.Join(tc.args, " "), code, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			l := lines(stderr)
			if len(l) != 1 {
				t.Fatalf("stderr has %d lines, want 1:\n%s", len(l), stderr)
			}
			if !strings.HasPrefix(l[0], "ambx: ") {
				t.Errorf("stderr %q does not say it is from ambx", l[0])
			}
			for _, s := range tc.says {
				if !strings.Contains(l[0], s) {
					t.Errorf("stderr %q does not name %q", l[0], s)
				}
			}
		})
	}
}

// --version prints the version the binary was built with, and nothing else.
func TestVersion(t *testing.T) {
	code, stdout, stderr := runBin(t, "--version")
	if code != 0 || stderr != "" {
		t.Errorf("ambx --version exited %d with stderr %q", code, stderr)
	}
	if want := "ambx " + stampedVersion + "\n"; stdout != want {
		t.Errorf("ambx --version printed %q, want %q", stdout, want)
	}
}
