//go:build unix

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// What a credential plugin writes to the inherited stderr while the screen
// is up lands in the state directory, and is reported, sanitized, after.
func TestQuietStderrKeepsPluginOutputOffTheScreen(t *testing.T) {
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	restore := quietStderr()
	cmd := exec.Command("sh", "-c", `printf 'Please visit https://login.example to sign in\n\033]52;c;eA==\007done\n' >&2`)
	cmd.Stderr = os.Stderr // what client-go's exec authenticator does
	runErr := cmd.Run()
	var report bytes.Buffer
	restore(&report)
	if runErr != nil {
		t.Fatal(runErr)
	}
	b, err := os.ReadFile(filepath.Join(state, "ambx", "stderr.log"))
	if err != nil || !strings.Contains(string(b), "Please visit") {
		t.Fatalf("kept %q, %v", b, err)
	}
	r := report.String()
	if !strings.Contains(r, filepath.Join(state, "ambx", "stderr.log")) || !strings.Contains(r, "Please visit") || strings.ContainsAny(r, "\x1b\x07") {
		t.Errorf("report %q", r)
	}
	if st, _ := os.Stat(filepath.Join(state, "ambx", "stderr.log")); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
}
