package kubeenv

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

// process is one control-plane binary run by the env, its output kept in a
// log file in the env's directory.
type process struct {
	name string
	path string
	args []string
	env  []string // nil: the test binary's environment
	log  string

	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

func newProcess(dir, bin, name string, args ...string) *process {
	return &process{
		name: name,
		path: filepath.Join(bin, name),
		args: args,
		log:  filepath.Join(dir, name+".log"),
	}
}

// start runs the binary. It may be called again after stop, which is how
// the API server is restarted on the same port and etcd.
func (p *process) start() error {
	out, err := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n=== kubeenv: start %s at %s\n", p.name, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(p.path, p.args...)
	cmd.Env = p.env
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		// A test binary that crashes or is killed must not leave servers
		// behind holding ports and memory on a shared machine.
		Pdeathsig: syscall.SIGKILL,
		// Own process group: a ^C in the terminal reaches the test binary,
		// which then tears down in order, instead of every child at once.
		Setpgid: true,
	}
	done := make(chan struct{})
	started := make(chan error, 1)
	// Pdeathsig fires when the thread that forked the child exits, not the
	// process, and the Go runtime may retire idle threads. Forking from a
	// locked thread that stays locked until the child exits ties the two
	// lifetimes together; the thread is discarded with the goroutine.
	go func() {
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err != nil {
			out.Close()
			close(done)
			return
		}
		p.err = cmd.Wait()
		out.Close()
		close(done)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	p.cmd, p.done = cmd, done
	return nil
}

// running reports whether the process was started and has not exited.
func (p *process) running() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// exited returns an error describing the exit when the process has ended,
// so waiting for readiness can stop early with the reason.
func (p *process) exited() error {
	if p.done == nil {
		return fmt.Errorf("%s was never started", p.name)
	}
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v); last log lines:\n%s", p.name, p.err, p.tail(30))
	default:
		return nil
	}
}

// stop asks the process to end and kills it if it has not within grace.
func (p *process) stop(grace time.Duration) {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "    " + strings.ReplaceAll(string(bytes.Join(lines, []byte("\n"))), "\n", "\n    ")
}

// freePorts returns n distinct TCP ports free on 127.0.0.1. They are held
// until all are chosen, so the same port is not handed out twice; another
// program can still take one before the server binds it, which start-up
// then reports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// waitFor polls ready until it returns nil, the process dies, or timeout.
func waitFor(p *process, timeout time.Duration, ready func() error) error {
	deadline := time.Now().Add(timeout)
	var last error
	for {
		if err := p.exited(); err != nil {
			return err
		}
		if last = ready(); last == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.Join(fmt.Errorf("%s not ready after %s", p.name, timeout), last,
				fmt.Errorf("last log lines:\n%s", p.tail(30)))
		}
		time.Sleep(100 * time.Millisecond)
	}
}
