package overhead

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

const mi = 1 << 20

func res(cpu, memMi int64) usage.Resources {
	return usage.Resources{CPUMilli: cpu, MemBytes: memMi * mi}
}

func part(pods, measured int, cpu, memMi int64) usage.Part {
	return usage.Part{Pods: pods, Measured: measured, Use: res(cpu, memMi)}
}

func zt(node string, cpu, memMi int64, hot bool, ratio float64) usage.Ztunnel {
	return usage.Ztunnel{Node: node, Pod: usage.Key{Namespace: "istio-system", Name: "ztunnel-" + node}, Use: res(cpu, memMi), Measured: true, Hot: hot, Ratio: ratio}
}

// homelab is a five-node ambient cluster with one busy ztunnel.
func homelab() usage.Overhead {
	o := usage.Overhead{
		Available: true,
		Taken:     time.Date(2026, 8, 24, 9, 30, 0, 0, time.UTC),
		Istiod:    part(1, 1, 3, 39),
		CNI:       part(5, 5, 6, 71),
		Ztunnel:   part(5, 5, 41, 44),
		Waypoints: part(2, 2, 4, 61),
		Ztunnels: []usage.Ztunnel{
			zt("homelab-cp", 4, 7, false, 0.6), zt("homelab-w1", 6, 8, false, 1), zt("homelab-w2", 19, 13, true, 3.5),
			zt("homelab-w3", 7, 8, false, 1.3), zt("homelab-w4", 5, 8, false, 0.8),
		},
		WaypointList: []usage.Waypoint{
			{Key: usage.Key{Namespace: "ambient-apps", Name: "waypoint"}, Part: part(1, 1, 2, 31)},
			{Key: usage.Key{Namespace: "example-api", Name: "example-api-waypoint"}, Part: part(1, 1, 2, 30)},
		},
		Total:        res(54, 215),
		MeshedPods:   36,
		Nodes:        5,
		PerSidecar:   res(4, 38),
		Basis:        usage.BasisMeasured,
		SidecarsSeen: 2,
	}
	o.SidecarsWould = o.PerSidecar.Times(o.MeshedPods)
	return o
}

func unavailable() usage.Overhead {
	o := homelab()
	o.Available = false
	o.Problem = "metrics unavailable: metrics.k8s.io is not served (is metrics-server installed?)"
	o.Taken = time.Time{}
	for _, p := range []*usage.Part{&o.Istiod, &o.CNI, &o.Ztunnel, &o.Waypoints} {
		p.Measured, p.Use = 0, usage.Resources{}
	}
	o.Ztunnels, o.WaypointList, o.Total = nil, nil, usage.Resources{}
	o.PerSidecar, o.Basis, o.SidecarsSeen = usage.DefaultSidecar, usage.BasisDefault, 0
	o.SidecarsWould = o.PerSidecar.Times(o.MeshedPods)
	return o
}

func stale() usage.Overhead {
	o := homelab()
	o.Problem = "metrics stale since 09:30:00: the metrics API did not answer in time; retrying every 4s"
	return o
}

// big has more nodes than an expanded box of modest height can list.
func big() usage.Overhead {
	o := homelab()
	o.Ztunnels = nil
	for i := range 12 {
		cpu := int64(5 + i%3)
		o.Ztunnels = append(o.Ztunnels, zt(fmt.Sprintf("node-%02d", i), cpu, 8, false, 1))
	}
	o.Ztunnels[7] = zt("node-07", 60, 40, true, 10)
	return o
}

func model(o usage.Overhead) Model { return New(theme.Plain, usage.Resources{}).SetOverhead(o) }

// checkSize asserts the view fills exactly width x height cells, which the
// root layout relies on.
func checkSize(t *testing.T, got string, w, h int) {
	t.Helper()
	lines := strings.Split(got, "\n")
	if len(lines) != h {
		t.Errorf("%d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := ansi.StringWidth(l); lw != w {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, lw, w, l)
		}
	}
}

func TestStrip(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    usage.Overhead
		w    int
	}{
		{"wide", homelab(), 140},
		{"medium", homelab(), 100},
		{"narrow", homelab(), 60},
		{"tiny", homelab(), 18},
		{"stale_wide", stale(), 200},
		{"stale_medium", stale(), 120},
		{"unavailable", unavailable(), 100},
		{"unavailable_narrow", unavailable(), 40},
		{"waiting", usage.Overhead{}, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := model(tc.o).View(tc.w, 1, false)
			checkSize(t, got, tc.w, 1)
			golden.RequireEqual(t, got)
		})
	}
}

func TestBox(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    usage.Overhead
		w, h int
	}{
		{"homelab", homelab(), 90, 26},
		{"homelab_short", homelab(), 90, 17},
		{"homelab_narrow", homelab(), 50, 26},
		{"many_nodes", big(), 90, 22},
		{"unavailable", unavailable(), 90, 16},
		{"stale", stale(), 100, 26},
		{"too_small_is_the_strip", homelab(), 90, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := model(tc.o).View(tc.w, tc.h, true)
			h := tc.h
			if h < 5 {
				h = 1
			}
			checkSize(t, got, tc.w, h)
			golden.RequireEqual(t, got)
		})
	}
}

// A person must see the hot node named, and the comparison, in any layout
// wide enough to hold them.
func TestHotNodeAndComparisonAreVisible(t *testing.T) {
	strip := model(homelab()).View(140, 1, false)
	for _, want := range []string{"mesh 54m CPU / 215Mi", "36 pods on 5 nodes", "sidecars would be ≈ 36 × 4m / 38Mi = 144m / 1.3Gi", "ztunnel hot: homelab-w2"} {
		if !strings.Contains(strip, want) {
			t.Errorf("strip %q lacks %q", strip, want)
		}
	}
	box := model(homelab()).View(90, 26, true)
	for _, want := range []string{"homelab-w2", "▲ hot 3.5×", "ambient data plane 51m / 176Mi", "≈ 36 × 4m / 38Mi = 144m / 1.3Gi", "average istio-proxy of 2 measured sidecar pods"} {
		if !strings.Contains(box, want) {
			t.Errorf("box lacks %q:\n%s", want, box)
		}
	}
	many := model(big()).View(90, 22, true)
	if !strings.Contains(many, "node-07") || !strings.Contains(many, "more nodes, quieter") {
		t.Errorf("a box too short for every node must keep the hot one and say how many are hidden:\n%s", many)
	}
}

func TestEverySize(t *testing.T) {
	for _, th := range []*theme.Theme{theme.Plain, theme.Dark} {
		for _, o := range []usage.Overhead{homelab(), unavailable(), big(), {}} {
			everySize(t, New(th, usage.Resources{}).SetOverhead(o))
		}
	}
}

func everySize(t *testing.T, m Model) {
	t.Helper()
	for w := 1; w <= 120; w += 7 {
		for h := 1; h <= 30; h += 3 {
			for _, expanded := range []bool{false, true} {
				got := m.View(w, h, expanded)
				wantH := h
				if !expanded || h < 5 || w < 30 {
					wantH = 1
				}
				checkSize(t, got, w, wantH)
			}
		}
	}
}
