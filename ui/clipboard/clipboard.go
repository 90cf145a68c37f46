// Package clipboard copies text to the user's clipboard from a terminal
// program: through the native clipboard when this machine has one the user
// sits at, and through the terminal (OSC 52) otherwise, so copying also
// works over SSH and inside tmux.
package clipboard

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	tea "charm.land/bubbletea/v2"
	"github.com/atotto/clipboard"
	"github.com/charmbracelet/x/ansi"
)

// Method is how text reached the clipboard.
type Method string

// Methods, as the status bar names them.
const (
	Native           Method = "native clipboard"
	OSC52            Method = "OSC 52"
	OSC52Passthrough Method = "OSC 52 via tmux passthrough"
	OSC52Screen      Method = "OSC 52 via screen passthrough"
)

// Result reports one copy.
type Result struct {
	Bytes  int
	Method Method // empty when Err is set before anything was sent
	Err    error
}

// Status is the line the status bar shows for a copy.
func (r Result) Status() string {
	if r.Err != nil {
		return "copy failed: " + r.Err.Error()
	}
	return fmt.Sprintf("copied %d bytes to the clipboard (%s)", r.Bytes, r.Method)
}

// Copier decides how to copy. Its fields are the machine it runs on, so
// tests can describe another one.
type Copier struct {
	// Native writes to the native clipboard; nil when there is none.
	Native func(string) error
	// Getenv reads the environment.
	Getenv func(string) string
	// TmuxOption reads a global tmux option of the tmux the program runs in.
	TmuxOption func(name string) (string, error)
}

// Default describes this machine: atotto/clipboard when it found a
// clipboard tool, the process environment, and the tmux on PATH.
func Default() Copier {
	c := Copier{Getenv: os.Getenv, TmuxOption: tmuxOption}
	if !clipboard.Unsupported {
		c.Native = clipboard.WriteAll
	}
	return c
}

// Copy copies text with Default and reports the Result through done.
func Copy(text string, done func(Result) tea.Msg) tea.Cmd {
	return Default().Copy(text, done)
}

// Copy returns a command that copies text and then delivers done(Result).
// The terminal path goes through the Bubble Tea program's own output, so
// the escape sequence never interleaves with a frame being drawn.
func (c Copier) Copy(text string, done func(Result) tea.Msg) tea.Cmd {
	return func() tea.Msg {
		if text == "" {
			return done(Result{Err: errors.New("nothing to copy")})
		}
		var nativeErr error
		if c.Native != nil && c.nativeIsLocal() {
			if nativeErr = c.Native(text); nativeErr == nil {
				return done(Result{Bytes: len(text), Method: Native})
			}
		}
		seq, method, err := c.Plan(text)
		if err != nil {
			if nativeErr != nil {
				err = fmt.Errorf("%w (native clipboard: %v)", err, nativeErr)
			}
			return done(Result{Err: err})
		}
		write := tea.Raw(seq)
		if method == OSC52 && seq == ansi.SetSystemClipboard(text) {
			write = tea.SetClipboard(text)
		}
		res := Result{Bytes: len(text), Method: method}
		// A Cmd may return a sequence: the program writes, then reports,
		// in that order.
		return tea.Sequence(write, func() tea.Msg { return done(res) })()
	}
}

// nativeIsLocal reports whether the native clipboard is the user's: over
// SSH it belongs to the remote machine (pbcopy on a remote Mac succeeds
// and copies nowhere useful), unless an X or Wayland display was forwarded.
func (c Copier) nativeIsLocal() bool {
	env := c.getenv
	if env("SSH_CONNECTION") == "" && env("SSH_TTY") == "" {
		return true
	}
	return env("DISPLAY") != "" || env("WAYLAND_DISPLAY") != ""
}

func (c Copier) getenv(k string) string {
	if c.Getenv == nil {
		return ""
	}
	return c.Getenv(k)
}

// Plan returns the escape sequence that carries text to the clipboard
// through the terminal between us and the user, and what it is called.
func (c Copier) Plan(text string) (string, Method, error) {
	seq := ansi.SetSystemClipboard(text)
	if c.getenv("TMUX") != "" {
		return c.tmux(seq)
	}
	if strings.HasPrefix(c.getenv("TERM"), "screen") && c.getenv("STY") != "" {
		// screen drops OSCs it does not know; its passthrough limits chunk size.
		return ansi.ScreenPassthrough(seq, 768), OSC52Screen, nil
	}
	return seq, OSC52, nil
}

// tmux: with set-clipboard on, tmux takes the OSC 52 itself (it fills a
// paste buffer and forwards it to the outer terminal); otherwise only a DCS
// passthrough reaches the outer terminal, and only when tmux allows it.
func (c Copier) tmux(seq string) (string, Method, error) {
	read := c.TmuxOption
	if read == nil {
		read = func(string) (string, error) { return "", errors.New("tmux not asked") }
	}
	sc, scErr := read("set-clipboard")
	if scErr == nil && sc == "on" {
		return seq, OSC52, nil
	}
	ap, apErr := read("allow-passthrough")
	if apErr == nil && (ap == "on" || ap == "all") {
		return ansi.TmuxPassthrough(seq), OSC52Passthrough, nil
	}
	if scErr != nil && apErr != nil {
		// tmux could not be asked: send both forms, one may pass.
		return seq + ansi.TmuxPassthrough(seq), OSC52, nil
	}
	return "", "", fmt.Errorf("tmux drops OSC 52 with set-clipboard %s: run tmux set -g set-clipboard on (or set -g allow-passthrough on)", orUnset(sc))
}

func orUnset(s string) string {
	if s == "" {
		return "unset"
	}
	return s
}

// tmuxOption asks the tmux server named by $TMUX for a global option.
// allow-passthrough is a pane option since tmux 3.3; -gw reads its global
// (window) default, which is what panes inherit.
func tmuxOption(name string) (string, error) {
	args := []string{"show-options", "-gv", name}
	if name == "allow-passthrough" {
		args = []string{"show-options", "-gwv", name}
	}
	out, err := exec.Command("tmux", args...).Output()
	if err != nil {
		return "", fmt.Errorf("tmux show-options %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}
