package workloads_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/workloads"
)

var t0 = demo.Epoch

func key(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: []rune(s)[0], Text: s} }

func homelab() *kube.Snapshot { return demo.Homelab() }

// TestGoldens renders the pane over the demo cluster (see panetest).
func TestGoldens(t *testing.T) { panetest.Goldens(t, workloads.New(theme.Plain)) }

// The pane full-screen at 200x50, 120x35 and 80x24: the column rules.
func TestScreens(t *testing.T) { panetest.Screens(t, workloads.New(theme.Plain)) }

// TestWithUsage shows the metrics columns filled from a poll of the demo's
// metrics API.
func TestWithUsage(t *testing.T) {
	pods, nodes := demo.Metrics(t0)
	var pm []metricsv1beta1.PodMetrics
	for _, p := range pods {
		pm = append(pm, *p)
	}
	var nm []metricsv1beta1.NodeMetrics
	for _, n := range nodes {
		nm = append(nm, *n)
	}
	m := workloads.New(theme.Plain).SetSnapshot(homelab()).SetUsage(usage.FromMetrics(t0, pm, nm)).SetNamespace("loki").SetSize(120, 10)
	golden.RequireEqual(t, m.View(120, 10, true))
}

// TestMetricsUnavailable says so in the columns instead of leaving them blank.
func TestMetricsUnavailable(t *testing.T) {
	m := workloads.New(theme.Plain).SetSnapshot(homelab()).SetUsage(usage.Unavailable(t0, "metrics unavailable: no metrics-server")).SetSize(120, 6)
	golden.RequireEqual(t, m.View(120, 6, true))
}

// Rows kept between snapshots show what a pane built from scratch shows:
// the pod that changed, a new metrics poll, a later snapshot's ages.
func TestRowsKeptBetweenSnapshotsAreCurrent(t *testing.T) {
	s1, s2, name := changedOne(200)
	kept := workloads.New(theme.Dark).SetSize(160, 12).SetSnapshot(s1).SetSnapshot(s2)
	fresh := workloads.New(theme.Dark).SetSize(160, 12).SetSnapshot(s2)
	look := func(m pane.Resource) string { return m.SetFilter(name).View(160, 12, true) }
	if got, want := look(kept), look(fresh); got != want {
		t.Fatalf("after one pod changed, the kept pane shows\n%s\nwant\n%s", got, want)
	}
	if look(kept) == look(workloads.New(theme.Dark).SetSize(160, 12).SetSnapshot(s1)) {
		t.Fatalf("the changed pod %s looks the same before and after", name)
	}

	u := &usage.Usage{Available: true, Pods: map[usage.Key]usage.Resources{}}
	for _, p := range s2.Pods {
		u.Pods[usage.Key{Namespace: p.Namespace, Name: p.Name}] = usage.Resources{CPUMilli: 7, MemBytes: 9 << 20}
	}
	kept, fresh = kept.SetUsage(u), fresh.SetUsage(u)
	if got, want := look(kept), look(fresh); got != want || !strings.Contains(got, "9Mi") {
		t.Fatalf("after a metrics poll, the kept pane shows\n%s\nwant\n%s", got, want)
	}

	later := *s2
	later.Taken = s2.Taken.Add(50 * time.Hour)
	kept, fresh = kept.SetSnapshot(&later), fresh.SetSnapshot(&later)
	if got, want := kept.View(160, 12, true), fresh.View(160, 12, true); got != want {
		t.Fatalf("two days later, the kept pane shows\n%s\nwant\n%s", got, want)
	}
}

// TestStates renders the pane in each watch state (see panetest).
func TestStates(t *testing.T) { panetest.States(t, workloads.New(theme.Plain)) }

// demoLoads are the rates of two reads of the demo's ztunnels 10 s apart,
// all but the one on skip (whose read "failed").
func demoLoads(t *testing.T, skip string) *ztunnel.Loads {
	t.Helper()
	now := t0
	z := &demo.Ztunnel{Now: func() time.Time { return now }}
	l := &ztunnel.Loads{At: t0}
	for _, p := range ztread.Ztunnels(homelab().Pods) {
		if p.Node == skip {
			continue
		}
		now = t0
		a, err := z.Metrics(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		now = t0.Add(10 * time.Second)
		b, err := z.Metrics(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		l.Add(p.Node, ztunnel.Rates(a, b))
	}
	return l
}

// TestWithZtunnelRates: CONN/S and BYTES/S appear once ztunnel's metrics
// were read, with a number for captured pods on a node whose ztunnel was
// read (0 when quiet) and "—" where the metrics cannot say.
func TestWithZtunnelRates(t *testing.T) {
	s := homelab().WithLoads(demoLoads(t, "homelab-w3"))
	m := workloads.New(theme.Plain).SetSnapshot(s).SetNamespace("default").SetSize(160, 14)
	got := m.View(160, 14, true)
	for _, want := range []string{"CONN/S", "BYTES/S", "—"} {
		if !strings.Contains(got, want) {
			t.Errorf("pane lacks %q:\n%s", want, got)
		}
	}
	golden.RequireEqual(t, got)
	if plain := workloads.New(theme.Plain).SetSnapshot(homelab()).SetSize(160, 6).View(160, 6, true); strings.Contains(plain, "CONN/S") {
		t.Errorf("rate columns shown with no metrics read:\n%s", plain)
	}
}

func TestRateCells(t *testing.T) {
	for _, tc := range []struct {
		v           float64
		rate, bytes string
	}{
		{0, "0", "0"}, {0.004, "0.00", "0"}, {0.05, "0.05", "0"}, {12.4, "12", "12"},
		{2048, "2048", "2.0K"}, {3 << 20, "3145728", "3.0M"}, {5 << 30, "5368709120", "5.0G"},
	} {
		if got := workloads.Rate(tc.v); got != tc.rate {
			t.Errorf("Rate(%v) = %q, want %q", tc.v, got, tc.rate)
		}
		if got := workloads.Bytes(tc.v); got != tc.bytes {
			t.Errorf("Bytes(%v) = %q, want %q", tc.v, got, tc.bytes)
		}
	}
}

// Drilled into argo-workflows the NAMESPACE column says one thing on every
// row: it goes to the title and the pod names get its room.
func TestScreensDrilled(t *testing.T) {
	panetest.Screens(t, workloads.New(theme.Plain).SetNamespace("argo-workflows"))
}

// Rows kept through a series of snapshots as a Source publishes them
// (kube.Builder, so each carries its PodDelta) show what a pane built from
// scratch shows: a pod replaced, verdicts that change with no pod object
// changing (its namespace leaves the mesh), hours passing, and a snapshot
// whose analysis is not the one its delta describes.
func TestRowsKeptThroughASeriesAreCurrent(t *testing.T) {
	var series kube.Builder
	c := homelab().Cluster
	const w, h = 200, 80
	kept := workloads.New(theme.Plain).SetSize(w, h)
	check := func(what string, s *kube.Snapshot) string {
		t.Helper()
		kept = kept.SetSnapshot(s)
		got := kept.View(w, h, true)
		if want := workloads.New(theme.Plain).SetSize(w, h).SetSnapshot(s).View(w, h, true); got != want {
			t.Fatalf("%s: the kept pane shows\n%s\nwant\n%s", what, got, want)
		}
		return got
	}
	first := check("first", series.Build(c, t0))
	check("again", series.Build(c, t0))

	c.Pods = append(c.Pods[:0:0], c.Pods...)
	i := len(c.Pods) / 2
	p := c.Pods[i].DeepCopy()
	p.Status.Phase = "Succeeded"
	c.Pods[i] = p
	replaced := check("a pod replaced", series.Build(c, t0))
	if replaced == first {
		t.Fatal("the replaced pod's row did not change")
	}

	// The enrolled namespace with the most pods asks for a waypoint that
	// does not exist: its pods are the same objects with other verdicts.
	s := series.Build(c, t0)
	check("the same", s)
	ns := ""
	most := 0
	for n, info := range s.Mesh.Namespaces {
		if info.Enrolled && info.Pods > most {
			ns, most = n, info.Pods
		}
	}
	if ns == "" {
		t.Fatal("the demo has no enrolled namespace")
	}
	c.Namespaces = append(c.Namespaces[:0:0], c.Namespaces...)
	for j, n := range c.Namespaces {
		if n.Name == ns {
			n = n.DeepCopy()
			n.Labels["istio.io/use-waypoint"] = "no-such-waypoint"
			c.Namespaces[j] = n
		}
	}
	left := series.Build(c, t0)
	if d := left.PodDeltaOf(); d == nil || len(d.Changed) < most {
		t.Fatalf("the delta names %v changed pods, want at least the %d of %s", d, most, ns)
	}
	if check(ns+" asks for a waypoint", left) == replaced {
		t.Fatalf("%s's pods' rows did not change", ns)
	}
	later := series.Build(c, t0.Add(3*time.Hour+17*time.Minute))
	if check("three hours later", later) == check("the same again", series.Build(c, t0)) {
		t.Fatal("the ages did not change")
	}

	// A copy given another analysis: its delta describes a different one.
	other := *later
	other.Mesh = homelab().Mesh
	check("another analysis", &other)

	// Rate scrapes on one analysis (rows kept for their verdicts), then
	// the namespace's verdicts back while the rates show.
	same := series.Build(c, t0)
	plain := check("no rates", same)
	rated := check("rates", same.WithLoads(demoLoads(t, "homelab-w3")))
	if rated == plain {
		t.Fatal("the rates did not show")
	}
	if check("other rates", same.WithLoads(demoLoads(t, "homelab-w1"))) == rated {
		t.Fatal("rates without homelab-w1 show as those without homelab-w3")
	}
	for j, n := range c.Namespaces {
		if n.Name == ns {
			n = n.DeepCopy()
			delete(n.Labels, "istio.io/use-waypoint")
			c.Namespaces[j] = n
		}
	}
	back := series.Build(c, t0).WithLoads(demoLoads(t, "homelab-w1"))
	if d := back.PodDeltaOf(); d == nil || len(d.Changed) < most {
		t.Fatalf("the delta names %v changed pods, want at least the %d of %s", d, most, ns)
	}
	check(ns+" back, with rates", back)
}

// A metrics poll that moved every pod's figures rebuilds every row, but
// writes each pod's cached entry over rather than leaving the old ones as
// garbage: a pod's new row (its cells, key and figures) is all it costs.
// At 10,000 pods the entries alone were 4 MB of garbage a poll.
func TestAPollThatMovedEveryFigureCostsTheRowsOnly(t *testing.T) {
	s := big(2000)
	poll := func(cpu int64) *usage.Usage {
		u := &usage.Usage{Available: true, Pods: map[usage.Key]usage.Resources{}}
		for _, p := range s.Pods {
			u.Pods[usage.Key{Namespace: p.Namespace, Name: p.Name}] = usage.Resources{CPUMilli: cpu, MemBytes: 9 << 20}
		}
		return u
	}
	m := workloads.New(theme.Dark).SetSize(160, 12).SetSnapshot(s).SetUsage(poll(7))
	u := poll(8)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	m = m.SetUsage(u)
	runtime.ReadMemStats(&after)
	if view := m.View(160, 12, true); !strings.Contains(view, "8m") {
		t.Fatalf("after the second poll the pane shows no 8m:\n%s", view)
	}
	per := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(s.Pods))
	t.Logf("%.0f bytes a pod", per)
	if per > 600 && !raceEnabled {
		t.Errorf("a poll that moved every figure allocated %.0f bytes a pod, want at most 600", per)
	}
}
