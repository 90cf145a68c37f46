package workloads_test

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
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
