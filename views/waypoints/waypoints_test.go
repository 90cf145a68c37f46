package waypoints_test

import (
	"strings"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/usage"
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

// TestUsageSumsEachWaypointsPods shows a waypoint's CPU and MEM as the sum
// of its own pods' figures (its namespace, its gateway-name label), "-"
// for one whose pods have none, and ignores pods of other Gateways.
func TestUsageSumsEachWaypointsPods(t *testing.T) {
	s := homelab()
	u := &usage.Usage{Available: true, Pods: map[ambient.Key]usage.Resources{
		{Namespace: "ambient-apps", Name: "waypoint-8794bf887-985df"}:       {CPUMilli: 31, MemBytes: 41 << 20},
		{Namespace: "istio-ingress", Name: "public-istio-84b6496cd5-48864"}: {CPUMilli: 900, MemBytes: 900 << 20},
	}}
	view := waypoints.New(theme.Plain).SetSnapshot(s).SetUsage(u).SetSize(200, 8).View(200, 8, true)
	var got []string
	for _, line := range strings.Split(view, "\n") {
		for _, name := range []string{" waypoint ", " example-api-waypoint "} {
			if strings.Contains(line, name) {
				f := strings.Fields(strings.Trim(line, " |"))
				got = append(got, strings.TrimSpace(name)+" "+strings.Join(f[len(f)-2:], " "))
			}
		}
	}
	want := []string{"waypoint 31m 41Mi", "example-api-waypoint - -"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("waypoint usage = %q, want %q\n%s", got, want, view)
	}
}
