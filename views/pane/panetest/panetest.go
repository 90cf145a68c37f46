// Package panetest renders any of the four resource panes over the demo
// cluster in the situations every pane must handle, against golden files,
// so each pane's test is one call.
package panetest

import (
	"testing"

	tea "charm.land/bubbletea/v2"

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
