package clipboard

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
)

// The tmux test re-runs this test binary inside a tmux pane as a small
// Bubble Tea program that copies a file's text; see copyInTmux.
const (
	helperEnv = "AMBX_CLIPBOARD_HELPER" // path of the text to copy
	resultEnv = "AMBX_CLIPBOARD_RESULT" // where the helper writes Result.Status()
)

func TestMain(m *testing.M) {
	if src := os.Getenv(helperEnv); src != "" {
		os.Exit(helper(src, os.Getenv(resultEnv)))
	}
	os.Exit(m.Run())
}

// helper copies the text in src through the terminal, as the patch view
// does, and records the status line in dst.
func helper(src, dst string) int {
	text, err := os.ReadFile(src)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c := Default()
	c.Native = nil // the test is about the terminal path
	var got Result
	p := tea.NewProgram(copyModel{cmd: c.Copy(string(text), func(r Result) tea.Msg { return r }), got: &got})
	if _, err := p.Run(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.WriteFile(dst, []byte(got.Status()), 0o600); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// tmuxServer is a private tmux server for one test.
type tmuxServer struct {
	t    *testing.T
	sock string
}

func (s tmuxServer) cmd(args ...string) (string, error) {
	var stderr bytes.Buffer
	c := exec.Command("tmux", append([]string{"-S", s.sock}, args...)...)
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return string(out), fmt.Errorf("tmux %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// copyInTmux starts a tmux server with the given config, runs the helper
// in it to copy text, and returns the helper's status line and the tmux
// paste buffer (empty when tmux holds none).
func copyInTmux(t *testing.T, config, text string) (status, buffer string) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed: the OSC 52 path inside tmux is not tested here (the CI script installs tmux)")
	}
	// Socket paths are limited to ~100 bytes: t.TempDir can be longer.
	dir, err := os.MkdirTemp("", "ambx-tmux")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := tmuxServer{t: t, sock: filepath.Join(dir, "s")}
	conf := filepath.Join(dir, "tmux.conf")
	src := filepath.Join(dir, "text")
	dst := filepath.Join(dir, "status")
	for path, body := range map[string]string{conf: config + "\nset -g remain-on-exit on\n", src: text} {
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.cmd("-f", conf, "new-session", "-d", "-x", "100", "-y", "30",
		"-e", helperEnv+"="+src, "-e", resultEnv+"="+dst, "-e", "TERM=xterm-256color",
		self, "-test.run=^$"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd("kill-server") })
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(dst)
		if err == nil && len(b) > 0 {
			status = string(b)
			break
		}
		if time.Now().After(deadline) {
			pane, _ := s.cmd("capture-pane", "-p")
			t.Fatalf("the helper did not finish inside tmux; its pane shows:\n%s", pane)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if bufs, _ := s.cmd("list-buffers"); strings.TrimSpace(bufs) != "" {
		buffer, err = s.cmd("show-buffer")
		if err != nil {
			t.Fatal(err)
		}
	}
	return status, buffer
}

func TestCopyInTmux(t *testing.T) {
	text := "kubectl patch networkpolicy allow-web -n loki --type=json -p '[{\"op\":\"add\",\"path\":\"/spec/ingress/0/ports/-\",\"value\":{\"port\":15008,\"protocol\":\"TCP\"}}]'\n" +
		"# ünïcode and a second line\n"
	status, buffer := copyInTmux(t, "set -g set-clipboard on", text)
	if want := fmt.Sprintf("copied %d bytes to the clipboard (OSC 52)", len(text)); status != want {
		t.Fatalf("status = %q, want %q", status, want)
	}
	if buffer != text {
		t.Fatalf("tmux paste buffer = %q, want the copied text %q", buffer, text)
	}
}

func TestCopyInTmuxWithoutSetClipboard(t *testing.T) {
	status, buffer := copyInTmux(t, "set -g set-clipboard off\nset -g allow-passthrough off", "some patch")
	if want := "copy failed: tmux drops OSC 52 with set-clipboard off: run tmux set -g set-clipboard on (or set -g allow-passthrough on)"; status != want {
		t.Fatalf("status = %q, want %q", status, want)
	}
	if buffer != "" {
		t.Fatalf("tmux holds a buffer %q although nothing was sent", buffer)
	}
}
