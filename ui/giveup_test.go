package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
)

// manyZtunnels is the homelab with n ztunnels more, one per extra node.
func manyZtunnels(t *testing.T, n int, at time.Time) *kube.Snapshot {
	t.Helper()
	c := demo.Homelab().Cluster
	var zt *corev1.Pod
	for _, p := range c.Pods {
		if p.Labels["app"] == "ztunnel" && p.Status.Phase == corev1.PodRunning {
			zt = p
			break
		}
	}
	if zt == nil {
		t.Fatal("the homelab has no running ztunnel")
	}
	c.Pods = append([]*corev1.Pod(nil), c.Pods...)
	for i := range n {
		p := zt.DeepCopy()
		p.Name = fmt.Sprintf("ztunnel-extra-%02d", i)
		p.UID = types.UID(fmt.Sprint("uid-extra-", i))
		p.Spec.NodeName = fmt.Sprintf("node-extra-%02d", i)
		c.Pods = append(c.Pods, p)
	}
	return snapshotAt(c, at)
}

// dumpReader fails every read while down; up, it answers every ztunnel
// with the dump of the homelab's (the mesh-wide view is the same).
type dumpReader struct {
	demo ztread.Reader
	real ztread.Pod
	mu   sync.Mutex
	down bool
	read map[string]int
}

func (r *dumpReader) ConfigDump(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error) {
	r.mu.Lock()
	r.read[p.Name]++
	down := r.down
	r.mu.Unlock()
	if down {
		return nil, errors.New("forbidden: no pods/portforward")
	}
	return r.demo.ConfigDump(ctx, r.real)
}

func (r *dumpReader) Metrics(context.Context, ztread.Pod) (*ztunnel.Scrape, error) {
	return nil, errors.New("no metrics here")
}

func (r *dumpReader) take() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.read {
		n += c
	}
	r.read = map[string]int{}
	return n
}

// A round whose first reads all fail alike stops dialing: the other
// ztunnels are reported not tried, the findings list gives the first
// failure's reason, the round backs off like one that read none, and once
// a probe answers every ztunnel is read.
func TestASurveyWhoseFirstReadsFailStops(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	s := manyZtunnels(t, 30, at)
	pods := ztread.Ztunnels(s.Pods)
	r := &dumpReader{demo: &demo.Ztunnel{Now: clock}, real: ztread.Ztunnels(demo.Homelab().Pods)[0], down: true, read: map[string]int{}}
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: r})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m = drive(t, m, SnapshotMsg{s})
	if n := r.take(); n < surveyGiveUp || n >= surveyGiveUp+surveyParallel {
		t.Fatalf("the first round, every read failing, read %d of %d ztunnels, want %d to %d", n, len(pods), surveyGiveUp, surveyGiveUp+surveyParallel-1)
	}
	sv := m.survey
	if len(sv.Readings) != len(pods) || sv.Read() != 0 {
		t.Fatalf("the stopped round holds %d readings (%d read), want a failed one for each of %d ztunnels", len(sv.Readings), sv.Read(), len(pods))
	}
	notTried := 0
	for _, rd := range sv.Readings {
		if strings.HasPrefix(rd.Err, "not tried") {
			notTried++
		}
	}
	if notTried < len(pods)-surveyGiveUp-surveyParallel+1 {
		t.Errorf("%d readings say not tried, want the %d or so the round never began", notTried, len(pods)-surveyGiveUp)
	}
	m = keys(t, m, "!")
	if screen := m.Render(); !strings.Contains(screen, "ztunnel not read (forbidden: no pods/portforward): drift checks not run") {
		t.Errorf("the findings list does not say the reads failed, and why:\n%s", screen)
	}
	m = keys(t, m, "esc")

	r.mu.Lock()
	r.down = false
	r.mu.Unlock()
	var rounds []int
	for sec := time.Second; sec <= 2*driftRefresh+5*time.Second; sec += time.Second {
		at = demo.Epoch.Add(sec)
		m = clockTick(t, m, at)
		if n := r.take(); n > 0 {
			rounds = append(rounds, n)
		}
	}
	if len(rounds) < 2 || rounds[0] != 1 || rounds[1] != len(pods) {
		t.Fatalf("reads per round once ztunnels answer: %v, want a probe of 1, then all %d", rounds, len(pods))
	}
	if m.survey.Read() != len(pods) {
		t.Errorf("the round after the probe read %d of %d ztunnels", m.survey.Read(), len(pods))
	}
}

// A round that read any ztunnel reads them all, however many failed
// first, even one that served only after the round had stopped; so does
// one that must (giveUp 0: a probe just answered).
func TestASurveyThatReadOneReadsAll(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	s := manyZtunnels(t, 30, at)
	pods := ztread.Ztunnels(s.Pods)
	real := ztread.Ztunnels(demo.Homelab().Pods)[0]
	for _, tc := range []struct {
		name   string
		giveUp int
		fails  func(i int) bool
		want   int // ztunnels read (Read)
	}{
		{"the first answers, the rest fail", surveyGiveUp, func(i int) bool { return i > 0 }, 1},
		{"the first twenty fail, the rest answer", 0, func(i int) bool { return i < 20 }, len(pods) - 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			index := map[string]int{}
			for i, p := range pods {
				index[p.Name] = i
			}
			var mu sync.Mutex
			calls := 0
			rd := readerFunc(func(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				i := index[p.Name]
				if tc.fails(i) {
					return nil, errors.New("connection refused")
				}
				if i == 0 {
					// The first to answer, after the eight fast failures
					// beside it have stopped the round.
					time.Sleep(100 * time.Millisecond)
				}
				return (&demo.Ztunnel{Now: clock}).ConfigDump(ctx, real)
			})
			sv := survey(context.Background(), rd, pods, nil, len(pods), ztunnel.Versions(&s.Cluster), at, clock, tc.giveUp)
			if calls != len(pods) || len(sv.Readings) != len(pods) || sv.Read() != tc.want {
				t.Errorf("%d reads, %d readings, %d read; want %d, %d, %d", calls, len(sv.Readings), sv.Read(), len(pods), len(pods), tc.want)
			}
		})
	}
}

// readerFunc is a Reader whose dumps come from a function.
type readerFunc func(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error)

func (f readerFunc) ConfigDump(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error) {
	return f(ctx, p)
}

func (readerFunc) Metrics(context.Context, ztread.Pod) (*ztunnel.Scrape, error) {
	return nil, errors.New("no metrics here")
}
