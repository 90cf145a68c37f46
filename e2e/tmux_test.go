package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"
)

// waitLimit bounds every wait for the screen: content, not speed, is what
// the tests assert, so it is generous.
const waitLimit = 10 * time.Second

// term is ambx running in a private tmux server, in a window of a fixed
// size. When ambx exits, the pane prints EXIT=<status> and stays open.
type term struct {
	t             *testing.T
	sock          string
	width, height int
}

// startTerm runs ambx with args in a width×height terminal.
func startTerm(t *testing.T, width, height int, args ...string) *term {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed, so the terminal cannot be driven (.ci/test installs it): ", err)
	}
	x := &term{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock"), width: width, height: height}
	cmd := append([]string{bin}, args...)
	// ambx saves logs to its working directory: a temporary one keeps them
	// out of the source tree.
	x.tmux("new-session", "-d", "-s", "ambx", "-c", t.TempDir(), "-x", strconv.Itoa(width), "-y", strconv.Itoa(height),
		strings.Join(cmd, " ")+"; echo EXIT=$?; sleep 30")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.sock, "kill-server").Run() })
	// tmux would hold an ESC for 500 ms to see whether a key follows it.
	x.tmux("set-option", "-s", "escape-time", "0")
	return x
}

func (x *term) tmux(args ...string) string {
	x.t.Helper()
	// -u: the screen is UTF-8 whatever the test's locale says, and
	// -f /dev/null keeps a user's tmux.conf out of the test.
	cmd := exec.Command("tmux", append([]string{"-u", "-f", "/dev/null", "-S", x.sock}, args...)...)
	cmd.Env = append(os.Environ(), "LANG=C.UTF-8", "LC_ALL=C.UTF-8", "TERM=xterm-256color")
	out, err := cmd.CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the terminal shows now, one string per row. Rows that
// the program wrote past the right edge come back joined (-J), so a line
// too wide for the terminal shows as one.
func (x *term) screen() []string {
	x.t.Helper()
	out := x.tmux("capture-pane", "-p", "-J", "-t", "ambx")
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	for i, r := range rows {
		rows[i] = strings.TrimRight(r, " ")
	}
	x.sane(rows)
	return rows
}

// sane fails the test when the screen is broken, whatever the step.
func (x *term) sane(rows []string) {
	x.t.Helper()
	if p := problems(rows, x.width); p != "" {
		x.t.Fatalf("%s:\n%s", p, strings.Join(rows, "\n"))
	}
}

// problems says what is wrong with a screen width cells wide: a Go panic
// on it, or a row wider than the terminal. "" means nothing.
func problems(rows []string, width int) string {
	text := strings.Join(rows, "\n")
	for _, bad := range []string{"panic:", "goroutine ", "runtime error", "[recovered]"} {
		if strings.Contains(text, bad) {
			return fmt.Sprintf("the screen shows %q", bad)
		}
	}
	for i, r := range rows {
		if w := ansi.StringWidth(r); w > width {
			return fmt.Sprintf("row %d is %d cells wide in a %d-cell terminal", i, w, width)
		}
	}
	return ""
}

// waitFor waits until the screen holds every one of want and returns it.
func (x *term) waitFor(want ...string) []string {
	x.t.Helper()
	return x.waitUntil("the screen to show "+quote(want), func(rows []string) bool {
		text := strings.Join(rows, "\n")
		for _, w := range want {
			if !strings.Contains(text, w) {
				return false
			}
		}
		return true
	})
}

// waitGone waits until the screen holds none of gone and returns it.
func (x *term) waitGone(gone ...string) []string {
	x.t.Helper()
	return x.waitUntil("the screen to lose "+quote(gone), func(rows []string) bool {
		text := strings.Join(rows, "\n")
		for _, g := range gone {
			if strings.Contains(text, g) {
				return false
			}
		}
		return true
	})
}

// waitUntil polls the screen until ok holds for it.
func (x *term) waitUntil(what string, ok func([]string) bool) []string {
	x.t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		rows := x.screen()
		if ok(rows) {
			return rows
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("waited %s for %s; the screen is:\n%s", waitLimit, what, strings.Join(rows, "\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// press types keys one tmux send-keys at a time, in tmux's key names
// (Escape, Enter, Tab, BTab, or literal characters).
func (x *term) press(keys ...string) {
	x.t.Helper()
	for _, k := range keys {
		x.tmux("send-keys", "-t", "ambx", k)
		if k == "Escape" {
			// The terminal reader (ultraviolet) holds a lone ESC for 50 ms
			// to tell it from alt+key. A key sent at once after it, even
			// once the screen shows ESC's effect, was sometimes lost
			// (TestTinyTerminal's d, one run in two); a person's next key
			// comes later than that.
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// typeText types s literally.
func (x *term) typeText(s string) {
	x.t.Helper()
	x.tmux("send-keys", "-t", "ambx", "-l", s)
}

// flag reads one of tmux's pane flags, such as alternate_on.
func (x *term) flag(name string) string {
	x.t.Helper()
	return strings.TrimSpace(x.tmux("display-message", "-p", "-t", "ambx", "#{"+name+"}"))
}

// quit presses q and checks that ambx exits 0 and gives the terminal back:
// the normal screen, a visible cursor, no trace of the UI.
func (x *term) quit(uiText string) {
	x.t.Helper()
	x.press("q")
	rows := x.waitFor("EXIT=")
	text := strings.Join(rows, "\n")
	if !strings.Contains(text, "EXIT=0") {
		x.t.Fatalf("ambx did not exit 0:\n%s", text)
	}
	if strings.Contains(text, uiText) {
		x.t.Errorf("after quitting the terminal still shows %q:\n%s", uiText, text)
	}
	if got := x.flag("alternate_on"); got != "0" {
		x.t.Errorf("after quitting the terminal is still on the alternate screen (alternate_on=%s)", got)
	}
	if got := x.flag("cursor_flag"); got != "1" {
		x.t.Errorf("after quitting the cursor is hidden (cursor_flag=%s)", got)
	}
}

func quote(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = "«" + s + "»"
	}
	return strings.Join(q, " ")
}
