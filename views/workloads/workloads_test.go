package workloads_test

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
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
