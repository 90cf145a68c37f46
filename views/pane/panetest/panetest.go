// Package panetest renders any of the four resource panes over the demo
// cluster in the situations every pane must handle, against golden files,
// so each pane's test is one call.
package panetest

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/pane"
)

func key(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: []rune(s)[0], Text: s} }

// Goldens checks a new pane over the demo cluster: wide and focused, narrow
// and blurred, and filtered with the cursor moved. Files are
// testdata/<Test>_<case>.golden.
func Goldens(t *testing.T, empty pane.Resource) {
	t.Run("wide", func(t *testing.T) {
		m := empty.SetSnapshot(demo.Homelab()).SetSize(100, 24)
		golden.RequireEqual(t, m.View(100, 24, true))
	})
	t.Run("narrow", func(t *testing.T) {
		m := empty.SetSnapshot(demo.Homelab()).SetSize(40, 8)
		golden.RequireEqual(t, m.View(40, 8, false))
	})
	t.Run("filtered and moved", func(t *testing.T) {
		m := empty.SetSnapshot(demo.Homelab()).SetSize(100, 10).SetFilter("a")
		for _, k := range []string{"j", "G", "k"} {
			m, _ = m.Update(key(k))
		}
		golden.RequireEqual(t, m.View(100, 10, true))
	})
}

// Screens renders a pane over the demo cluster at the terminal sizes
// every pane must read well at, full-screen as the root shows a pane that
// is not in the grid: 200x50, 120x35 and 80x24. Files are
// testdata/<Test>_<size>.golden.
func Screens(t *testing.T, empty pane.Resource) { ScreensOf(t, empty, demo.Homelab()) }

// ScreensOf is Screens over snapshot s.
func ScreensOf(t *testing.T, empty pane.Resource, s *kube.Snapshot) {
	for _, sz := range [][2]int{{200, 50}, {120, 35}, {80, 24}} {
		t.Run(fmt.Sprintf("%dx%d", sz[0], sz[1]), func(t *testing.T) {
			m := empty.SetSnapshot(s).SetSize(sz[0], sz[1])
			v := m.View(sz[0], sz[1], true)
			RowsApart(t, v)
			golden.RequireEqual(t, v)
		})
	}
}

// RowsApart fails t when two rows of a rendered pane (below its title and
// header) read the same: the user could not tell their objects apart.
func RowsApart(t testing.TB, view string) {
	t.Helper()
	lines := strings.Split(view, "\n")
	seen := map[string]int{}
	for i, l := range lines {
		if i < 2 {
			continue
		}
		// The cursor's mark is not part of what the row says.
		l = strings.TrimSpace(strings.Replace(l, "▸", " ", 1))
		if l == "" {
			continue
		}
		if j, ok := seen[l]; ok {
			t.Errorf("rows %d and %d read the same: %q\n%s", j, i, l, view)
		}
		seen[l] = i
	}
}
