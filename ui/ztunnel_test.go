package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
)

func ztunnelModel(t *testing.T, at *time.Time) Model {
	t.Helper()
	clock := func() time.Time { return *at }
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: &demo.Ztunnel{Now: clock}})
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 35})
	return drive(t, m, SnapshotMsg{demo.Homelab()})
}

// z on a pod opens the ztunnel of its node, read through the Reader, with
// the demo's planted drift on its Drift tab; esc closes it.
func TestZtunnelViewOnAPodsNode(t *testing.T) {
	at := demo.Epoch
	m := ztunnelModel(t, &at)
	m = keys(t, m, "2", "/")
	m = keys(t, m, "g", "r", "a", "f", "a", "n", "a", "enter", "z")
	if !isTop[ztunnelOverlay](m) {
		t.Fatalf("z did not open the ztunnel view:\n%s", m.Render())
	}
	screen := m.Render()
	if !strings.Contains(screen, "on homelab-w1") || !strings.Contains(screen, "Workloads (") {
		t.Fatalf("the view is not on grafana's node (homelab-w1) or did not read:\n%s", screen)
	}
	m = keys(t, m, "shift+tab")
	if screen := m.Render(); !strings.Contains(screen, "ztunnel sees this captured pod as TCP") {
		t.Fatalf("drift tab lacks the planted TCP drift:\n%s", screen)
	}
	m = keys(t, m, "esc")
	if len(m.stack) != 0 {
		t.Fatal("esc did not close the ztunnel view")
	}
}

// T opens the traffic view; the root's clock tick polls again, and the
// second poll gives live rates.
func TestTrafficViewPollsOnTheClock(t *testing.T) {
	at := demo.Epoch
	m := ztunnelModel(t, &at)
	m = keys(t, m, "T")
	if !isTop[trafficOverlay](m) {
		t.Fatalf("T did not open the traffic view:\n%s", m.Render())
	}
	at = at.Add(10 * time.Second)
	m = drive(t, m, TickMsg(at))
	screen := m.Render()
	if !strings.Contains(screen, "loki/promtail") || !strings.Contains(screen, "NETWORK_POLICY") {
		t.Fatalf("no live edges after the second poll:\n%s", screen)
	}
	m = keys(t, m, "T")
	if len(m.stack) != 0 {
		t.Fatal("T did not close the traffic view")
	}
}

// :zt and :traffic open the same views as z and T.
func TestZtunnelCommands(t *testing.T) {
	at := demo.Epoch
	m := ztunnelModel(t, &at)
	m = keys(t, m, ":", "z", "t", "enter")
	if !isTop[ztunnelOverlay](m) {
		t.Fatalf(":zt did not open the ztunnel view:\n%s", m.Render())
	}
	m = keys(t, m, "esc", ":", "t", "r", "a", "f", "f", "i", "c", "enter")
	if !isTop[trafficOverlay](m) {
		t.Fatalf(":traffic did not open the traffic view:\n%s", m.Render())
	}
}
