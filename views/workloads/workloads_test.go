package workloads_test

import (
	"context"
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
