package ui

import (
	"maps"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
)

func TestMetricsNeedFollowsTheScreen(t *testing.T) {
	all := usage.Need{Pods: true}
	for _, tc := range []struct {
		name          string
		width, height int
		ns            string
		keys          []string
		want          usage.Need
	}{
		{"grid with the overhead strip: every namespace", 160, 50, "", nil, all},
		{"drilled, strip still sums the whole mesh", 160, 50, "shop", nil, all},
		{"grid without the strip, drilled: that namespace", 160, 18, "shop", nil, usage.Need{Pods: true, Namespace: "shop"}},
		{"one pane at a time, Namespaces: nothing", 50, 14, "", []string{"1"}, usage.Need{}},
		{"one pane at a time, Policies: nothing", 50, 14, "", []string{"4"}, usage.Need{}},
		{"one pane at a time, Workloads", 50, 14, "", []string{"2"}, all},
		{"help over the screen: nothing", 160, 50, "", []string{"?"}, usage.Need{}},
		{"mesh overhead view: every namespace", 160, 18, "shop", []string{"o"}, all},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Options{Theme: theme.Dark, Namespace: tc.ns, Now: func() time.Time { return t0 }})
			mm, _ := m.Update(tea.WindowSizeMsg{Width: tc.width, Height: tc.height})
			if got := mm.(Model).MetricsNeed(); !got.None() {
				t.Errorf("need %+v before the first snapshot, want nothing", got)
			}
			mm, _ = mm.Update(SnapshotMsg{testSnapshot()})
			m = press(mm.(Model), tc.keys...)
			if got := m.MetricsNeed(); got != tc.want {
				t.Errorf("need %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestSameFiguresKeepTheScreen: a poll with the figures of the last one
// (the metrics API between two scrapes) leaves every row as it was and the
// overhead view says when it was taken; a poll with one changed figure
// shows it.
func TestSameFiguresKeepTheScreen(t *testing.T) {
	m := press(newModel(160, 50), "2")
	s := testSnapshot()
	poll := func(taken time.Time, cpu func(i int) int64) *usage.Usage {
		u := &usage.Usage{Taken: taken, Available: true, Sampled: taken, Window: 15 * time.Second, Pods: map[usage.Key]usage.Resources{}, Proxies: map[usage.Key]usage.Resources{}}
		for i, p := range s.Pods {
			u.Pods[usage.Key{Namespace: p.Namespace, Name: p.Name}] = usage.Resources{CPUMilli: cpu(i), MemBytes: 64 << 20}
		}
		return u
	}
	seven := func(int) int64 { return 7 }
	send := func(u *usage.Usage) string {
		mm, _ := m.Update(UsageMsg{u})
		m = mm.(Model)
		return m.Render()
	}
	first := send(poll(t0, seven))
	if !strings.Contains(first, "7m") {
		t.Fatalf("first poll's figures not on screen:\n%s", first)
	}
	later := t0.Add(time.Minute + 2*time.Second)
	if again := send(poll(later, seven)); again != first {
		t.Fatalf("same figures changed the screen:\nbefore\n%s\nafter\n%s", first, again)
	}
	if o := press(m, "o").Render(); !strings.Contains(o, later.Format("15:04:05")) {
		t.Errorf("overhead view does not say the last poll's time %s:\n%s", later.Format("15:04:05"), o)
	}
	moved := send(poll(later.Add(15*time.Second), func(i int) int64 {
		if i == 0 {
			return 321
		}
		return 7
	}))
	if !strings.Contains(moved, "321m") {
		t.Fatalf("a changed figure is not on screen:\n%s", moved)
	}
}

// TestNoMetricsWhilePodsLoad: until the pods' first list is in, no row
// has a pod to show figures for, so the poller is asked for nothing; the
// snapshot that brings the pods asks for them again.
func TestNoMetricsWhilePodsLoad(t *testing.T) {
	m := press(newModel(160, 50), "2")
	loaded := testSnapshot()
	loading := *loaded
	loading.Pods = nil
	loading.Resources = maps.Clone(loaded.Resources)
	loading.Resources[kube.ResPods] = kube.ResourceState{Availability: kube.Syncing, Loaded: 500, Total: 10600}
	mm, _ := m.Update(SnapshotMsg{&loading})
	m = mm.(Model)
	if got := m.MetricsNeed(); !got.None() {
		t.Errorf("need %+v while pods load, want nothing", got)
	}
	if !strings.Contains(m.Render(), "loading pods") {
		t.Fatalf("the screen does not say the pods are loading:\n%s", m.Render())
	}
	mm, _ = m.Update(SnapshotMsg{loaded})
	m = mm.(Model)
	if got := m.MetricsNeed(); got != (usage.Need{Pods: true}) {
		t.Errorf("need %+v once pods are in, want every pod's figures", got)
	}
}
