package clipboard

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
)

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

// tmuxOpts is a fake tmux server's global options; nil means tmux cannot
// be asked.
func tmuxOpts(opts map[string]string) func(string) (string, error) {
	if opts == nil {
		return nil
	}
	return func(name string) (string, error) {
		v, ok := opts[name]
		if !ok {
			return "", errors.New("invalid option: " + name)
		}
		return v, nil
	}
}

// copyModel runs one copy inside a real program and keeps the Result.
type copyModel struct {
	cmd tea.Cmd
	got *Result
}

func (m copyModel) Init() tea.Cmd { return m.cmd }

func (m copyModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	if r, ok := msg.(Result); ok {
		*m.got = r
		return m, tea.Quit
	}
	return m, nil
}

func (m copyModel) View() tea.View { return tea.NewView("") }

// run copies text with c inside a Bubble Tea program writing to a buffer,
// and returns the Result and what the terminal received.
func run(t *testing.T, c Copier, text string) (Result, string) {
	t.Helper()
	var out bytes.Buffer
	var got Result
	p := tea.NewProgram(copyModel{cmd: c.Copy(text, func(r Result) tea.Msg { return r }), got: &got},
		tea.WithInput(nil), tea.WithOutput(&out), tea.WithoutSignalHandler(), tea.WithWindowSize(80, 24))
	done := make(chan error, 1)
	go func() { _, err := p.Run(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("program: %v", err)
		}
	case <-time.After(10 * time.Second):
		p.Kill()
		t.Fatal("the copy never reported back")
	}
	return got, out.String()
}

const patchText = "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: allow-hbone # ünïcode\n"

func TestCopy(t *testing.T) {
	plain := ansi.SetSystemClipboard(patchText)
	var native []string
	okNative := func(s string) error { native = append(native, s); return nil }
	badNative := func(string) error { return errors.New("Error: Can't open display: (null)") }
	for _, tc := range []struct {
		name    string
		c       Copier
		method  Method
		sent    string // the escape sequence the terminal must receive; "" for none
		native  bool   // the native clipboard must hold the text
		wantErr string
	}{
		{name: "native clipboard on the desktop", c: Copier{Native: okNative, Getenv: env{"DISPLAY": ":0"}.get}, method: Native, native: true},
		{name: "native write fails: OSC 52", c: Copier{Native: badNative, Getenv: env{}.get}, method: OSC52, sent: plain},
		{name: "no native clipboard: OSC 52", c: Copier{Getenv: env{"TERM": "xterm-256color"}.get}, method: OSC52, sent: plain},
		{name: "over SSH the remote clipboard is skipped", c: Copier{Native: okNative, Getenv: env{"SSH_CONNECTION": "10.0.0.1 5000 10.0.0.2 22"}.get}, method: OSC52, sent: plain},
		{name: "over SSH with a forwarded display the native one is used", c: Copier{Native: okNative, Getenv: env{"SSH_TTY": "/dev/pts/1", "DISPLAY": "localhost:10.0"}.get}, method: Native, native: true},
		{name: "tmux with set-clipboard on takes plain OSC 52", c: Copier{Getenv: env{"TMUX": "/tmp/tmux-0/default,1,0"}.get, TmuxOption: tmuxOpts(map[string]string{"set-clipboard": "on", "allow-passthrough": "off"})}, method: OSC52, sent: plain},
		{name: "tmux with passthrough only gets the DCS wrap", c: Copier{Getenv: env{"TMUX": "x"}.get, TmuxOption: tmuxOpts(map[string]string{"set-clipboard": "external", "allow-passthrough": "on"})}, method: OSC52Passthrough, sent: "\x1bPtmux;\x1b\x1b]52;c;"},
		{name: "tmux that drops OSC 52 says how to fix it", c: Copier{Getenv: env{"TMUX": "x"}.get, TmuxOption: tmuxOpts(map[string]string{"set-clipboard": "external", "allow-passthrough": "off"})}, wantErr: "tmux drops OSC 52 with set-clipboard external: run tmux set -g set-clipboard on"},
		{name: "tmux that cannot be asked gets both forms", c: Copier{Getenv: env{"TMUX": "x"}.get}, method: OSC52, sent: plain + ansi.TmuxPassthrough(plain)},
		{name: "screen gets its passthrough", c: Copier{Getenv: env{"TERM": "screen.xterm-256color", "STY": "1.pts-0"}.get}, method: OSC52Screen, sent: "\x1bP\x1b]52;c;"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			native = nil
			got, out := run(t, tc.c, patchText)
			if tc.wantErr != "" {
				if got.Err == nil || !strings.Contains(got.Err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to say %q", got.Err, tc.wantErr)
				}
				if strings.Contains(out, "\x1b]52;") {
					t.Errorf("sent OSC 52 although it fails: %q", out)
				}
				return
			}
			if got.Err != nil || got.Method != tc.method || got.Bytes != len(patchText) {
				t.Fatalf("result = %+v, want %d bytes by %s", got, len(patchText), tc.method)
			}
			if tc.native != (len(native) == 1 && native[0] == patchText) {
				t.Errorf("native clipboard got %q, want it used: %v", native, tc.native)
			}
			if tc.sent == "" && strings.Contains(out, "]52;") {
				t.Errorf("terminal got OSC 52 although the native clipboard worked: %q", out)
			}
			if !strings.Contains(out, tc.sent) {
				t.Errorf("terminal output lacks %q:\n%q", tc.sent, out)
			}
		})
	}
}

func TestCopyNothing(t *testing.T) {
	got, out := run(t, Copier{Getenv: env{}.get}, "")
	if got.Err == nil || got.Status() != "copy failed: nothing to copy" {
		t.Fatalf("status = %q", got.Status())
	}
	if strings.Contains(out, "]52;") {
		t.Errorf("sent an empty OSC 52: %q", out)
	}
}

func TestStatus(t *testing.T) {
	for _, tc := range []struct {
		r    Result
		want string
	}{
		{Result{Bytes: 812, Method: OSC52}, "copied 812 bytes to the clipboard (OSC 52)"},
		{Result{Bytes: 3, Method: Native}, "copied 3 bytes to the clipboard (native clipboard)"},
		{Result{Err: errors.New("tmux drops OSC 52")}, "copy failed: tmux drops OSC 52"},
	} {
		if got := tc.r.Status(); got != tc.want {
			t.Errorf("Status() = %q, want %q", got, tc.want)
		}
	}
}
