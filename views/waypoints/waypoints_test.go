package waypoints_test

import (
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/waypoints"
)

func homelab() *kube.Snapshot { return demo.Homelab() }

// TestGoldens renders the pane over the demo cluster (see panetest).
func TestGoldens(t *testing.T) { panetest.Goldens(t, waypoints.New(theme.Plain)) }

// The pane full-screen at 200x50, 120x35 and 80x24: the column rules.
func TestScreens(t *testing.T) { panetest.Screens(t, waypoints.New(theme.Plain)) }

// TestDrilledIntoNamespaceWithoutWaypoint says what is missing and how to
// add it, instead of an empty table.
func TestDrilledIntoNamespaceWithoutWaypoint(t *testing.T) {
	m := waypoints.New(theme.Plain).SetSnapshot(homelab()).SetNamespace("loki").SetSize(100, 6)
	golden.RequireEqual(t, m.View(100, 6, true))
}

// TestStates renders the pane in each watch state (see panetest).
func TestStates(t *testing.T) { panetest.States(t, waypoints.New(theme.Plain)) }
