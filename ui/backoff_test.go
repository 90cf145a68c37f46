package ui

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
)

// switchReader is the demo's ztunnels, or (while down) ztunnels that
// refuse every read; it counts the reads of each kind.
type switchReader struct {
	demo *demo.Ztunnel
	mu   sync.Mutex
	down bool
	// metricsDown fails the metrics scrapes alone: the survey still reads.
	metricsDown bool
	// frozen serves each ztunnel's first metrics scrape again: counters
	// that never move, an idle mesh.
	frozen         map[ztread.Pod]*ztunnel.Scrape
	dumps, scrapes int
}

func (r *switchReader) ConfigDump(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error) {
	r.mu.Lock()
	r.dumps++
	down := r.down
	r.mu.Unlock()
	if down {
		return nil, errors.New("forbidden: no pods/portforward")
	}
	return r.demo.ConfigDump(ctx, p)
}

func (r *switchReader) Metrics(ctx context.Context, p ztread.Pod) (*ztunnel.Scrape, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.scrapes++
	if r.down || r.metricsDown {
		return nil, errors.New("forbidden: no pods/proxy")
	}
	if s := r.frozen[p]; s != nil {
		return s, nil
	}
	s, err := r.demo.Metrics(ctx, p)
	if r.frozen != nil && err == nil {
		r.frozen[p] = s
	}
	return s, err
}

func (r *switchReader) set(down bool) {
	r.mu.Lock()
	r.down, r.metricsDown = down, false
	r.mu.Unlock()
}

func (r *switchReader) counts() (dumps, scrapes int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	d, s := r.dumps, r.scrapes
	r.dumps, r.scrapes = 0, 0
	return d, s
}

// clockTick is what a TickMsg does on the main screen (the rounds of
// ztunnel reads it starts), with their results fed back, without the next
// tick's command, which would sleep a second.
func clockTick(t *testing.T, m Model, at time.Time) Model {
	t.Helper()
	m, read := m.surveyDue(at)
	m, scrape := m.loadsDue(at)
	for _, c := range []tea.Cmd{read, scrape} {
		if c != nil {
			m = drive(t, m, c())
		}
	}
	return m
}

// renamedZtunnel is s with its first ztunnel pod replaced by one of
// another name on the same node, as a DaemonSet rollout does.
func renamedZtunnel(t *testing.T, s *kube.Snapshot, at time.Time) *kube.Snapshot {
	t.Helper()
	c := s.Cluster
	c.Pods = slices.Clone(c.Pods)
	i := slices.IndexFunc(c.Pods, func(p *corev1.Pod) bool { return p.Labels["app"] == "ztunnel" })
	if i < 0 {
		t.Fatal("no ztunnel pod")
	}
	p := c.Pods[i].DeepCopy()
	p.Name += "-next"
	p.ResourceVersion += "1"
	c.Pods[i] = p
	return snapshotAt(c, at)
}

// A round of drift reads that failed as a whole holds the next one off,
// twice as long each time up to backoffCap, whatever the API objects do;
// the findings list still says the reads failed and why. Other ztunnels
// to read, or a read that succeeds, start over.
func TestFailedSurveysBackOff(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	r := &switchReader{demo: &demo.Ztunnel{Now: clock}, down: true}
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: r})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	base := demo.Homelab()
	base.LastEvent = at
	m = drive(t, m, SnapshotMsg{base})
	zts := len(ztread.Ztunnels(base.Pods))
	if d, _ := r.counts(); d != zts {
		t.Fatalf("the first round read %d ztunnels, want %d", d, zts)
	}
	tick := func(to time.Duration) int {
		t.Helper()
		at = demo.Epoch.Add(to)
		m = clockTick(t, m, at)
		d, _ := r.counts()
		return d
	}
	// A change 30 s on would have read again: not while every read fails.
	at = demo.Epoch.Add(driftAfterChange)
	changed := snapshotAt(base.Cluster, at)
	m = drive(t, m, SnapshotMsg{changed})
	if d, _ := r.counts(); d != 0 {
		t.Fatalf("a change after a failed round read %d ztunnels at once", d)
	}
	for _, step := range []struct {
		at    time.Duration
		reads bool
	}{
		{driftAfterChange + time.Second, false},
		{driftRefresh, false}, // one failure: 2 × driftRefresh
		{2*driftRefresh - time.Second, false},
		{2 * driftRefresh, true},
		{2*driftRefresh + 4*driftRefresh - time.Second, false}, // two: 4 ×
		{6 * driftRefresh, true},
		{6*driftRefresh + backoffCap - time.Second, false}, // three: 8 ×, past the cap
		{6*driftRefresh + backoffCap, true},
	} {
		if got := tick(step.at); (got > 0) != step.reads {
			t.Fatalf("at %v: %d reads, want a round: %v", step.at, got, step.reads)
		}
	}
	m = keys(t, m, "!")
	if screen := m.Render(); !strings.Contains(screen, "ztunnel not read (forbidden: no pods/portforward): drift checks not run") {
		t.Errorf("while backing off, the findings list does not say the reads failed:\n%s", screen)
	}
	m = keys(t, m, "esc")

	// A ztunnel replaced: read again at the next look, within
	// driftAfterChange, though the wait has minutes to run.
	r.set(false)
	at = at.Add(time.Second)
	m = drive(t, m, SnapshotMsg{renamedZtunnel(t, changed, at)})
	d, _ := r.counts()
	read := d > 0
	for s := time.Second; s <= driftAfterChange && !read; s += time.Second {
		read = tick(at.Sub(demo.Epoch)+time.Second) > 0
	}
	if !read {
		t.Fatal("a new ztunnel was not read within driftAfterChange of a look")
	}
	if m.surveyOff.fails != 0 || m.survey.Read() == 0 {
		t.Fatalf("a round that read ztunnels still backs off (%d failures, %d read)", m.surveyOff.fails, m.survey.Read())
	}
}

// scrapesDown is the homelab on the Workloads pane with every metrics
// scrape failing, on the clock *at; the survey reads (were it down too,
// the scrapes would wait for it: TestScrapesWaitForTheSurveyWhenNothingAnswers).
// Its reads so far are counted away.
func scrapesDown(t *testing.T, at *time.Time) (Model, *switchReader) {
	t.Helper()
	return workloadsReading(t, at, &switchReader{metricsDown: true})
}

// workloadsReading is the homelab on the Workloads pane, its ztunnels read
// through r, on the clock *at; r's reads so far are counted away.
func workloadsReading(t *testing.T, at *time.Time, r *switchReader) (Model, *switchReader) {
	t.Helper()
	clock := func() time.Time { return *at }
	r.demo = &demo.Ztunnel{Now: clock}
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: r})
	m = drive(t, m, tea.WindowSizeMsg{Width: 200, Height: 40})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	m = keys(t, m, "2")
	r.counts()
	return m, r
}

// The rate columns' scrapes back off the same way when every scrape
// fails, and start over when the ztunnels on screen change; a scrape that
// succeeds goes back to loadPeriod.
func TestFailedScrapesBackOff(t *testing.T) {
	at := demo.Epoch
	m, r := scrapesDown(t, &at)
	var scrapedAt []time.Duration
	for s := time.Second; s <= 200*time.Second; s += time.Second {
		at = demo.Epoch.Add(s)
		m = clockTick(t, m, at)
		if _, n := r.counts(); n > 0 {
			scrapedAt = append(scrapedAt, s)
		}
	}
	// The first tick, then 20, 40, 80 s after each failed scrape.
	want := []time.Duration{time.Second, 21 * time.Second, 61 * time.Second, 141 * time.Second}
	if !slices.Equal(scrapedAt, want) {
		t.Fatalf("failed scrapes at %v, want %v", scrapedAt, want)
	}
	if strings.Contains(m.Render(), "CONN/S") {
		t.Error("rate columns shown from scrapes that all failed")
	}
	// The reads come back, with a ztunnel of another name: scraped at
	// the next look (loadPeriod), then every loadPeriod.
	r.set(false)
	at = at.Add(time.Second)
	m = drive(t, m, SnapshotMsg{renamedZtunnel(t, m.src, at)})
	scrapedAt = nil
	from := at
	for s := time.Second; s <= 40*time.Second; s += time.Second {
		at = from.Add(s)
		m = clockTick(t, m, at)
		if _, n := r.counts(); n > 0 {
			scrapedAt = append(scrapedAt, s)
		}
	}
	if len(scrapedAt) < 3 || scrapedAt[0] > loadPeriod || scrapedAt[1]-scrapedAt[0] != loadPeriod {
		t.Fatalf("after the ztunnels changed and answered, scrapes at %v (from the change)", scrapedAt)
	}
	if m.snap.Loads == nil {
		t.Error("scrapes that answered gave no rates")
	}
}

// A scrape whose rates equal the last one's (an idle mesh) keeps the
// rates the panes were built from: no rebuild.
func TestSameRatesRebuildNothing(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	r := &switchReader{demo: &demo.Ztunnel{Now: clock}, frozen: map[ztread.Pod]*ztunnel.Scrape{}}
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: r})
	m = drive(t, m, tea.WindowSizeMsg{Width: 260, Height: 40})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	m = keys(t, m, "2")
	for range 2 {
		at = at.Add(loadPeriod)
		m = clockTick(t, m, at)
	}
	first := m.snap.Loads
	if first == nil || !strings.Contains(m.Render(), "CONN/S") {
		t.Fatalf("two scrapes gave no rate columns:\n%s", m.Render())
	}
	r.counts()
	at = at.Add(loadPeriod)
	m = clockTick(t, m, at)
	if _, n := r.counts(); n == 0 {
		t.Fatal("no third scrape")
	}
	if m.snap.Loads != first {
		t.Error("a scrape with the same rates made new loads: Workloads rebuilds every row")
	}
}

// A backed-off round of scrapes asks one ztunnel, not every one on
// screen: reads that failed as a whole (no right to port-forward, ztunnels
// that serve nothing) would fail the same way, a request each. Once the
// one answers, the next round reads them all again.
func TestBackedOffScrapesAskOneZtunnel(t *testing.T) {
	at := demo.Epoch
	m, r := scrapesDown(t, &at)
	var rounds []int
	run := func(from, to time.Duration) {
		for s := from; s <= to; s += time.Second {
			at = demo.Epoch.Add(s)
			m = clockTick(t, m, at)
			if _, n := r.counts(); n > 0 {
				rounds = append(rounds, n)
			}
		}
	}
	run(time.Second, 200*time.Second)
	shown := len(m.shownZtunnels())
	if shown < 2 {
		t.Fatalf("%d ztunnels on screen: the test needs two or more", shown)
	}
	if want := []int{shown, 1, 1, 1}; !slices.Equal(rounds, want) {
		t.Fatalf("scrapes per round while every read fails: %v, want %v", rounds, want)
	}
	if m.load.off.fails != 4 {
		t.Fatalf("after four failed rounds the backoff counts %d", m.load.off.fails)
	}
	// Reads work again: the next backed-off round's one ztunnel answers,
	// and the round after reads every ztunnel on screen.
	r.set(false)
	rounds = nil
	run(201*time.Second, 161*time.Second+backoffCap)
	if len(rounds) < 3 || rounds[0] != 1 || rounds[1] != shown || rounds[2] != shown {
		t.Fatalf("scrapes per round once reads work: %v, want 1, then %d each", rounds, shown)
	}
}

// A backed-off drift round reads one ztunnel, another each round, not a
// port-forward to every node; while it fails the survey still holds a
// failed reading of every ztunnel, so the screen says none was read. Once
// the one answers, the next round reads them all at once.
func TestBackedOffSurveysAskOneZtunnel(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	r := &switchReader{demo: &demo.Ztunnel{Now: clock}, down: true}
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: r})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	zts := len(ztread.Ztunnels(m.src.Pods))
	if d, _ := r.counts(); zts < 2 || d != zts {
		t.Fatalf("the first round read %d of %d ztunnels (the test needs two or more)", d, zts)
	}
	var rounds []int
	run := func(from, to time.Duration) {
		for s := from; s <= to; s += time.Second {
			at = demo.Epoch.Add(s)
			m = clockTick(t, m, at)
			if d, _ := r.counts(); d > 0 {
				rounds = append(rounds, d)
			}
		}
	}
	run(time.Second, 6*driftRefresh)
	if want := []int{1, 1}; !slices.Equal(rounds, want) {
		t.Fatalf("dumps read per backed-off round: %v, want %v", rounds, want)
	}
	if n := len(m.survey.Readings); n != zts || m.survey.Read() != 0 {
		t.Fatalf("after a failed probe the survey holds %d readings (%d read), want a failed one of each of %d", n, m.survey.Read(), zts)
	}
	m = keys(t, m, "!")
	if screen := m.Render(); !strings.Contains(screen, "ztunnel not read (forbidden: no pods/portforward)") {
		t.Errorf("while probing, the findings list does not say the reads failed:\n%s", screen)
	}
	m = keys(t, m, "esc")
	r.set(false)
	rounds = nil
	run(6*driftRefresh+time.Second, 6*driftRefresh+backoffCap+5*time.Second)
	if len(rounds) < 2 || rounds[0] != 1 || rounds[1] != zts {
		t.Fatalf("dumps read per round once reads work: %v, want 1, then %d", rounds, zts)
	}
	if m.survey.Read() != zts {
		t.Errorf("the round after the probe read %d of %d ztunnels", m.survey.Read(), zts)
	}
}

// When neither the scrapes nor the survey read any ztunnel (no right to
// port-forward, ztunnels that serve nothing), the scrapes make no probes
// of their own: the survey's, minutes apart, stands for both, so an idle
// screen does not cost a port-forward a minute to fail. Once the survey's
// probe answers, the scrapes read every ztunnel on screen at the next
// tick.
func TestScrapesWaitForTheSurveyWhenNothingAnswers(t *testing.T) {
	at := demo.Epoch
	m, r := workloadsReading(t, &at, &switchReader{down: true})
	var scrapedAt, surveyedAt []time.Duration
	var rounds []int
	run := func(from, to time.Duration) {
		for s := from; s <= to; s += time.Second {
			at = demo.Epoch.Add(s)
			m = clockTick(t, m, at)
			d, n := r.counts()
			if d > 0 {
				surveyedAt = append(surveyedAt, s)
			}
			if n > 0 {
				scrapedAt, rounds = append(scrapedAt, s), append(rounds, n)
			}
		}
	}
	run(time.Second, 200*time.Second)
	if m.surveyOff.fails == 0 {
		t.Fatalf("the survey read ztunnels (rounds at %v): the test needs it to fail", surveyedAt)
	}
	// Alone, the scrapes would probe at 21, 61 and 141 s
	// (TestFailedScrapesBackOff).
	if want := []time.Duration{time.Second}; !slices.Equal(scrapedAt, want) {
		t.Fatalf("scrapes at %v while the survey read nothing either, want only the first round %v", scrapedAt, want)
	}
	r.set(false)
	scrapedAt, surveyedAt, rounds = nil, nil, nil
	run(201*time.Second, 400*time.Second)
	if len(surveyedAt) == 0 {
		t.Fatal("the survey never probed again")
	}
	shown := len(m.shownZtunnels())
	if len(scrapedAt) == 0 || scrapedAt[0] > surveyedAt[0]+time.Second || rounds[0] != shown {
		t.Fatalf("after the survey's probe answered at %v, scrapes at %v of %v ztunnels, want every one of the %d on screen at the next tick",
			surveyedAt[0], scrapedAt, rounds, shown)
	}
	if m.load.off.fails != 0 {
		t.Errorf("the scrapes still back off (%d failures) though reads work", m.load.off.fails)
	}
}
