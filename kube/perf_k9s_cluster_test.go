package kube_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/ambx/ambx/kube/kubeenv"
)

// clientFigures is what the large-cluster test measures of one client:
// the same figures for ambx and for k9s, taken on the same cluster in the
// same run, so that the comparison survives a loaded machine.
type clientFigures struct {
	name          string
	startup       time.Duration // exec → every pod on screen
	peakStart     int64         // VmHWM when every pod is on screen
	peakIdle      int64         // VmHWM after the idle window
	cpu           time.Duration // user+system CPU over the idle window
	window        time.Duration
	requests      int            // API requests by the client over the window
	requestCounts map[string]int // by verb and resource
}

// k9sBinary is the k9s to compare with: AMBX_PERF_K9S names it (see
// BENCHMARKS.md: `go install github.com/derailed/k9s@v0.50.16`). Empty
// when no comparison was asked for.
func k9sBinary(t *testing.T) string {
	bin := os.Getenv("AMBX_PERF_K9S")
	if bin == "" {
		return ""
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("AMBX_PERF_K9S=%q: %v", bin, err)
	}
	return bin
}

// measureK9s runs k9s on every pod of every namespace (`k9s -A -c pods`)
// in a 160×45 tmux pane, as ambx ran, and measures what ambx was measured
// on: time until every pod is listed (the last one created shows), peak RSS, then CPU, RSS
// and API requests over the same idle window.
func measureK9s(t *testing.T, env *kubeenv.Env, bin string, last types.NamespacedName, window time.Duration, timeout time.Duration) clientFigures {
	t.Helper()
	home := t.TempDir()
	x := tmux{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	// k9s keeps its config, logs and screen dumps under XDG directories:
	// a temporary home keeps them out of the user's.
	envs := []string{"HOME=" + home, "XDG_CONFIG_HOME=" + home + "/config", "XDG_STATE_HOME=" + home + "/state",
		"XDG_DATA_HOME=" + home + "/data", "XDG_CACHE_HOME=" + home + "/cache", "K9S_LOGS_DIR=" + home}
	cmd := "env " + strings.Join(envs, " ") + " " + bin + " --kubeconfig " + env.Kubeconfig + " -A -c pods"
	began := time.Now()
	x.run("-f", "/dev/null", "new-session", "-d", "-s", "ambx", "-c", home, "-x", "160", "-y", "45",
		cmd+"; echo k9s exited $?; sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.sock, "kill-server").Run() })
	// k9s's title, which carries the count, is not always drawn in a
	// tmux pane; instead a filter for the last pod created is typed as
	// soon as the table is there, and its row shows once the list that
	// holds every pod has arrived (k9s lists all of them in one go).
	for deadline := began.Add(timeout); !strings.Contains(x.screen(), "NAMESPACE"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("k9s: no pod table after %s:\n%s", timeout, x.screen())
		}
	}
	x.run("send-keys", "-t", "ambx", "/"+last.Name, "Enter")
	for deadline := began.Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		s := x.screen()
		if podRow(s, last) {
			break
		}
		if strings.Contains(s, "k9s exited") || time.Now().After(deadline) {
			t.Fatalf("k9s: after %s no row for %s:\n%s", time.Since(began).Round(time.Second), last, s)
		}
	}
	f := clientFigures{name: "k9s", startup: time.Since(began), window: window}
	pid := childPID(t, x, "k9s")
	f.peakStart, _ = memory(t, pid)
	time.Sleep(5 * time.Second)
	from := time.Now()
	cpuFrom := cpuTime(t, pid)
	time.Sleep(window)
	f.cpu = cpuTime(t, pid) - cpuFrom
	f.peakIdle, _ = memory(t, pid)
	f.requests, f.requestCounts, _ = requestsBy(t, env, "k9s", from, time.Now())
	return f
}

// podRow reports a table row naming the pod: its namespace and name as
// two cells of one line.
func podRow(screen string, p types.NamespacedName) bool {
	for _, line := range strings.Split(screen, "\n") {
		f := strings.Fields(strings.Trim(line, "│ "))
		if len(f) >= 2 && f[0] == p.Namespace && f[1] == p.Name {
			return true
		}
	}
	return false
}

// requestsBy counts the API requests a client (by user agent prefix) made
// in [from, to], by verb and resource, and lists those that read a watched
// resource again (a LIST, or a watch that starts with every object): an
// idle client should make none.
func requestsBy(t *testing.T, env *kubeenv.Env, agent string, from, to time.Time) (total int, counts map[string]int, relists []string) {
	t.Helper()
	counts = map[string]int{}
	// A request is counted whether it completed or is still open (a
	// pooled port-forward, a watch), as it reached the server either way.
	for _, ev := range append(env.AuditEvents(t), env.OpenRequests(t)...) {
		if !strings.HasPrefix(ev.UserAgent, agent) || ev.Received.Time.Before(from) || ev.Received.Time.After(to) {
			continue
		}
		group, res := "", ""
		if ev.ObjectRef != nil {
			group, res = ev.ObjectRef.APIGroup, ev.ObjectRef.Resource
		}
		counts[ev.Verb+" "+group+"/"+res]++
		total++
		relist := ev.Verb == "list" || ev.Verb == "watch" && strings.Contains(ev.RequestURI, "sendInitialEvents=true")
		if relist && group != "metrics.k8s.io" {
			relists = append(relists, ev.String())
		}
	}
	return total, counts, relists
}

// waitForwardsDone waits until agent, having made a port-forward since
// since, has made none for quiet: ambx's first drift survey round reads
// every ztunnel once the pods are in, start-up work whose end the audit
// log shows. It gives up after limit (a cluster with no ztunnel) and
// returns how many port-forwards it saw.
func waitForwardsDone(t *testing.T, env *kubeenv.Env, agent string, since time.Time, quiet, limit time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		n, last := 0, time.Time{}
		for _, ev := range append(env.AuditEvents(t), env.OpenRequests(t)...) {
			if strings.HasPrefix(ev.UserAgent, agent) && ev.ObjectRef != nil && ev.ObjectRef.Subresource == "portforward" && !ev.Received.Time.Before(since) {
				n++
				if ev.Received.Time.After(last) {
					last = ev.Received.Time
				}
			}
		}
		if n > 0 && time.Since(last) >= quiet || time.Now().After(deadline) {
			return n
		}
		time.Sleep(2 * time.Second)
	}
}

// childPID finds the process named comm among the children of the shell
// tmux runs.
func childPID(t *testing.T, x tmux, comm string) int {
	t.Helper()
	shell := strings.TrimSpace(x.run("display-message", "-p", "-t", "ambx", "#{pane_pid}"))
	pid, err := shellChild(shell, comm)
	if err != nil {
		t.Fatalf("children of the tmux shell %s: %v", shell, err)
	}
	if pid == 0 {
		out, _ := exec.Command("ps", "-o", "pid,ppid,comm", "--ppid", shell).CombinedOutput()
		t.Fatalf("no %s process under the tmux shell %s:\n%s", comm, shell, out)
	}
	return pid
}

// shellChild is the pid of the process named comm among the children of
// the process shell, 0 when none is.
func shellChild(shell, comm string) (int, error) {
	b, err := os.ReadFile("/proc/" + shell + "/task/" + shell + "/children")
	if err != nil {
		return 0, err
	}
	for _, f := range strings.Fields(string(b)) {
		if c, err := os.ReadFile("/proc/" + f + "/comm"); err == nil && strings.TrimSpace(string(c)) == comm {
			pid, _ := strconv.Atoi(f)
			return pid, nil
		}
	}
	return 0, nil
}

// compareWithK9s logs the two clients side by side and holds ambx to what
// issue 21 asks against the tool a user would pick instead: faster to
// every pod, lighter, cheaper idle, and no more API requests while idle.
func compareWithK9s(t *testing.T, plain time.Duration, a, k clientFigures) {
	t.Helper()
	row := func(what, x, y string) string { return fmt.Sprintf("\n| %-34s | %-22s | %-22s |", what, x, y) }
	pct := func(f clientFigures) string {
		return fmt.Sprintf("%s (%.1f %%)", f.cpu.Round(10*time.Millisecond), 100*float64(f.cpu)/float64(f.window))
	}
	table := row("", "ambx", "k9s") +
		row("exec → every pod on screen", fmt.Sprintf("%s (%.1f × L)", a.startup.Round(10*time.Millisecond), float64(a.startup)/float64(plain)),
			fmt.Sprintf("%s (%.1f × L)", k.startup.Round(10*time.Millisecond), float64(k.startup)/float64(plain))) +
		row("peak RSS, every pod on screen", fmt.Sprintf("%.0f MiB", mib(a.peakStart)), fmt.Sprintf("%.0f MiB", mib(k.peakStart))) +
		row("peak RSS after the idle window", fmt.Sprintf("%.0f MiB", mib(a.peakIdle)), fmt.Sprintf("%.0f MiB", mib(k.peakIdle))) +
		row("CPU over "+a.window.Round(time.Second).String()+" idle", pct(a), pct(k)) +
		row("API requests while idle", strconv.Itoa(a.requests), strconv.Itoa(k.requests))
	t.Logf("side by side (L = a plain client-go LIST of all pods, %s):%s\nambx's requests: %v\nk9s's requests: %v",
		plain.Round(time.Millisecond), table, a.requestCounts, k.requestCounts)
	if a.startup > k.startup {
		t.Errorf("ambx took %s to show every pod, k9s %s", a.startup.Round(time.Millisecond), k.startup.Round(time.Millisecond))
	}
	if a.peakIdle > k.peakIdle {
		t.Errorf("ambx peaked at %.0f MiB, k9s at %.0f MiB", mib(a.peakIdle), mib(k.peakIdle))
	}
	if a.cpu > k.cpu {
		t.Errorf("idle, ambx used %s of CPU, k9s %s", a.cpu, k.cpu)
	}
	if a.requests > k.requests {
		t.Errorf("idle, ambx made %d API requests, k9s %d", a.requests, k.requests)
	}
}
