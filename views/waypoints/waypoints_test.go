package waypoints_test

import (
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/waypoints"
)

var t0 = demo.Epoch

func homelab() *kube.Snapshot { return demo.Homelab() }

func key(s string) tea.KeyPressMsg { return tea.KeyPressMsg{Code: []rune(s)[0], Text: s} }

func TestWide(t *testing.T) {
	m := waypoints.New(theme.Plain).SetSnapshot(homelab()).SetSize(100, 24)
	golden.RequireEqual(t, m.View(100, 24, true))
}

func TestNarrow(t *testing.T) {
	m := waypoints.New(theme.Plain).SetSnapshot(homelab()).SetSize(40, 8)
	golden.RequireEqual(t, m.View(40, 8, false))
}

func TestFilteredAndMoved(t *testing.T) {
	m := waypoints.New(theme.Plain).SetSnapshot(homelab()).SetSize(100, 10)
	m = m.SetFilter("a")
	m, _ = m.Update(key("j"))
	m, _ = m.Update(key("G"))
	m, _ = m.Update(key("k"))
	golden.RequireEqual(t, m.View(100, 10, true))
}

// TestDrilledIntoNamespaceWithoutWaypoint says what is missing and how to
// add it, instead of an empty table.
func TestDrilledIntoNamespaceWithoutWaypoint(t *testing.T) {
	m := waypoints.New(theme.Plain).SetSnapshot(homelab()).SetNamespace("loki").SetSize(100, 6)
	golden.RequireEqual(t, m.View(100, 6, true))
}
