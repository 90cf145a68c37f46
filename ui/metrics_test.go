package ui

import (
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

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
			m = press(mm.(Model), tc.keys...)
			if got := m.MetricsNeed(); got != tc.want {
				t.Errorf("need %+v, want %+v", got, tc.want)
			}
		})
	}
}
