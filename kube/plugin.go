package kube

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/rest"
)

// Connect timeouts: a dial that hangs (a blackholed address) and a server
// that accepts the connection but never answers (a silent proxy, a hung
// credential plugin behind an auth proxy) both end with a message instead
// of a screen that waits forever.
const (
	DialTimeout   = 10 * time.Second
	AnswerTimeout = 30 * time.Second
)

// harden applies the timeouts to cfg and keeps a credential plugin away
// from the terminal: it may not read stdin (the full-screen UI owns it),
// and its command is returned so StopPlugins can end it on quit.
func harden(cfg *rest.Config, answer time.Duration) (plugins []string) {
	if answer <= 0 {
		answer = AnswerTimeout
	}
	cfg.Dial = (&net.Dialer{Timeout: min(DialTimeout, answer), KeepAlive: 30 * time.Second}).DialContext
	host := cfg.Host
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return answerTimeout{rt: rt, d: answer, host: host}
	})
	if e := cfg.ExecProvider; e != nil {
		e.StdinUnavailable = true
		e.StdinUnavailableMessage = "ambx cannot pass the terminal to a credential plugin; log in with kubectl first, then start ambx"
		plugins = append(plugins, e.Command)
	}
	return plugins
}

// answerTimeout ends a request whose response headers have not arrived
// within d. Only the wait for the headers is bounded: a watch or a large
// list keeps streaming its body as long as it needs.
type answerTimeout struct {
	rt   http.RoundTripper
	d    time.Duration
	host string
}

// ErrNoAnswer is the error of a request the API server did not answer.
var ErrNoAnswer = fmt.Errorf("no answer from the API server")

func (a answerTimeout) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	t := time.AfterFunc(a.d, func() {
		cancel(fmt.Errorf("%w %s within %s (is the address right, and is it up?)", ErrNoAnswer, a.host, a.d))
	})
	resp, err := a.rt.RoundTrip(req.WithContext(ctx))
	if !t.Stop() && err != nil {
		// The timer fired: say why instead of "context canceled".
		cancel(nil)
		return nil, context.Cause(ctx)
	}
	if err != nil {
		cancel(nil)
		return nil, err
	}
	resp.Body = &cancelOnClose{body: resp.Body, cancel: cancel}
	return resp, nil
}

// bodyBuffer is how much of a response body is read from the connection
// at once. client-go's decoders read a watch frame by frame (a 4-byte
// length, then a pod of some 2 KB), and HTTP/2 answers every 4 KB a
// reader takes with a flow-control update, a TLS write of its own: at
// 10,600 pods those writes were 7 % of ambx's start-up CPU, and as many
// frames for the API server to handle on the same cores while it
// streams. Through a buffer, a read takes whatever has arrived, up to
// this, in one go: a watch event is not held back for more.
const bodyBuffer = 64 << 10

// cancelOnClose releases the request's context with its body, which it
// reads through a buffer (bodyBuffer) made at the first small read.
type cancelOnClose struct {
	body interface {
		Read([]byte) (int, error)
		Close() error
	}
	cancel context.CancelCauseFunc
	buf    *bufio.Reader
}

func (c *cancelOnClose) Read(p []byte) (int, error) {
	if c.buf == nil {
		if len(p) >= bodyBuffer {
			return c.body.Read(p)
		}
		c.buf = bufio.NewReaderSize(c.body, bodyBuffer)
	}
	return c.buf.Read(p)
}

func (c *cancelOnClose) Close() error {
	err := c.body.Close()
	c.cancel(nil)
	return err
}

// StopPlugins ends the credential plugins this process started that are
// still running (a hung one would otherwise outlive ambx): direct child
// processes whose program is one of plugins. It returns how many it
// signalled. It reads /proc, so it does nothing where there is none.
func StopPlugins(plugins []string) int {
	return stopChildren("/proc", os.Getpid(), plugins, func(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) })
}

func stopChildren(proc string, parent int, plugins []string, kill func(int) error) int {
	if len(plugins) == 0 {
		return 0
	}
	names := map[string]bool{}
	for _, p := range plugins {
		names[filepath.Base(p)] = true
	}
	ents, err := os.ReadDir(proc)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join(proc, e.Name(), "stat"))
		if err != nil || ppidOf(string(stat)) != parent {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join(proc, e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv0, _, _ := strings.Cut(string(cmdline), "\x00")
		if names[filepath.Base(argv0)] && kill(pid) == nil {
			n++
		}
	}
	return n
}

// ppidOf reads the parent pid from /proc/PID/stat: "pid (comm) state ppid …",
// where comm may itself hold spaces and parentheses.
func ppidOf(stat string) int {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(stat[i+1:])
	if len(f) < 2 {
		return -1
	}
	p, err := strconv.Atoi(f[1])
	if err != nil {
		return -1
	}
	return p
}
