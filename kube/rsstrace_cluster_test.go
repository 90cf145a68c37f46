package kube_test

import (
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"
)

// rssTrace samples a process's resident set every 50 ms, so a test can say
// when the peak came and what it was made of (anonymous memory, the heap
// mostly, or the binary's own pages) rather than only how high VmHWM went.
type rssTrace struct {
	start time.Time
	stop  chan struct{}
	done  chan struct{}

	mu               sync.Mutex
	max              rssSample
	samples          int
	marks            []string // what happened when, for the log
	anonMax, fileMax rssSample
}

// rssSample is one reading of /proc/<pid>/status.
type rssSample struct {
	at               time.Duration // since start
	rss, anon, fileB int64
}

// traceRSS samples pid (found by find, which may not know it at first)
// until stopped.
func traceRSS(start time.Time, find func() int) *rssTrace {
	r := &rssTrace{start: start, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		pid := 0
		for {
			if pid == 0 {
				pid = find()
			}
			if pid != 0 {
				if s, ok := readRSS(pid); ok {
					s.at = time.Since(start)
					r.mu.Lock()
					r.samples++
					if s.rss > r.max.rss {
						r.max = s
					}
					if s.anon > r.anonMax.anon {
						r.anonMax = s
					}
					if s.fileB > r.fileMax.fileB {
						r.fileMax = s
					}
					r.mu.Unlock()
				}
			}
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return r
}

// mark notes an event of the run at the current time.
func (r *rssTrace) mark(what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.marks = append(r.marks, fmt.Sprintf("%s at %s", what, time.Since(r.start).Round(10*time.Millisecond)))
}

// end stops the sampling and describes the peak.
func (r *rssTrace) end() string {
	close(r.stop)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.max
	return fmt.Sprintf("sampled RSS peak %.1f MiB at %s after start (anonymous %.1f, file %.1f); most anonymous %.1f MiB at %s; most file-backed %.1f MiB; %d samples; %s",
		mib(m.rss), m.at.Round(10*time.Millisecond), mib(m.anon), mib(m.fileB), mib(r.anonMax.anon), r.anonMax.at.Round(10*time.Millisecond),
		mib(r.fileMax.fileB), r.samples, strings.Join(r.marks, ", "))
}

func readRSS(pid int) (rssSample, bool) {
	st, err := procStatus(pid)
	if err != nil {
		return rssSample{}, false
	}
	s := rssSample{rss: st["VmRSS"], anon: st["RssAnon"], fileB: st["RssFile"]}
	return s, s.rss > 0
}

// paneChild is the pid of the process named comm under x's tmux shell, 0
// while there is none; unlike childPID it never fails the test, so a
// sampler may call it from its own goroutine.
func paneChild(x tmux, comm string) int {
	out, err := exec.Command("tmux", "-S", x.sock, "display-message", "-p", "-t", "ambx", "#{pane_pid}").Output()
	if err != nil {
		return 0
	}
	pid, _ := shellChild(strings.TrimSpace(string(out)), comm)
	return pid
}
