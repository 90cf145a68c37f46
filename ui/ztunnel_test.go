package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
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

// With a ztunnel reader, the main screen reads every ztunnel: the planted
// drift joins the findings badge and the ! list, and marks grafana's row.
// Before the round finishes the badge says ztunnel is being read, never
// that all is clean.
func TestDriftFindingsOnTheMainScreen(t *testing.T) {
	at := demo.Epoch
	clock := func() time.Time { return at }
	m := New(Options{Theme: theme.Plain, Now: clock, ReadOnly: true, Ztunnel: &demo.Ztunnel{Now: clock}})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	mm, cmd := m.Update(SnapshotMsg{demo.Homelab()})
	m = mm.(Model)
	if screen := m.Render(); !strings.Contains(strings.SplitN(screen, "\n", 2)[0], "ztunnel reading…") {
		t.Fatalf("before the read the header does not say ztunnel is being read:\n%s", screen)
	}
	before := m.snap.Marks().All()
	for _, msg := range run(cmd) {
		m = drive(t, m, msg)
	}
	after := m.snap.Marks().All()
	if after.Errors != before.Errors+1 || after.Warnings != before.Warnings+1 {
		t.Fatalf("drift did not join the counts: %+v, before %+v", after, before)
	}
	head := strings.SplitN(m.Render(), "\n", 2)[0]
	if want := fmt.Sprintf("✖ %d ⚠ %d", after.Errors, after.Warnings); !strings.Contains(head, want) || strings.Contains(head, "ztunnel") {
		t.Errorf("header badge %q, want %q and no ztunnel gap", head, want)
	}
	m = keys(t, m, "!")
	screen := m.Render()
	for _, want := range []string{"ztunnel sees this captured pod as TCP", "certificate for spiffe://"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the findings list lacks %q:\n%s", want, screen)
		}
	}
	if strings.Contains(screen, "drift checks not run") {
		t.Errorf("every ztunnel was read, yet the list says drift checks did not run:\n%s", screen)
	}
}

// A reader that cannot read says so in the header and the list.
func TestDriftUnreadIsSaid(t *testing.T) {
	at := demo.Epoch
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return at }, Ztunnel: failingReader{}})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 40})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	if head := strings.SplitN(m.Render(), "\n", 2)[0]; !strings.Contains(head, "ztunnel not read") {
		t.Errorf("header %q does not say ztunnel was not read", head)
	}
	m = keys(t, m, "!")
	if screen := m.Render(); !strings.Contains(screen, "ztunnel not read (forbidden: no pods/portforward): drift checks not run") {
		t.Errorf("the findings list does not say why drift was not checked:\n%s", screen)
	}
}

type failingReader struct{}

func (failingReader) ConfigDump(context.Context, ztread.Pod) (*ztunnel.Dump, error) {
	return nil, errors.New("forbidden: no pods/portforward")
}
func (failingReader) Metrics(context.Context, ztread.Pod) (*ztunnel.Scrape, error) {
	return nil, errors.New("forbidden: no pods/proxy")
}

// The Workloads pane gains CONN/S and BYTES/S once two scrapes of the
// ztunnels' metrics gave rates, polled on the clock while it is on screen.
func TestWorkloadRateColumns(t *testing.T) {
	at := demo.Epoch
	m := ztunnelModel(t, &at)
	m = keys(t, m, "2")
	if strings.Contains(m.Render(), "CONN/S") {
		t.Fatalf("rate columns before any rates:\n%s", m.Render())
	}
	m = keys(t, m, "z") // a full-screen view: the pane is hidden, no scrape
	at = at.Add(loadPeriod)
	m = drive(t, m, TickMsg(at))
	if m.load.busy || !m.load.last.IsZero() {
		t.Fatal("scraped for the rate columns while the pane was hidden")
	}
	m = keys(t, m, "esc")
	for range 2 {
		at = at.Add(loadPeriod)
		m = drive(t, m, TickMsg(at))
	}
	if m.snap.Loads == nil {
		t.Fatal("two scrapes gave no rates")
	}
	m = drive(t, m, tea.WindowSizeMsg{Width: 260, Height: 35})
	screen := m.Render()
	if !strings.Contains(screen, "CONN/S") || !strings.Contains(screen, "BYTES/S") || !strings.Contains(screen, "56.0K") {
		t.Fatalf("no rate columns after two scrapes:\n%s", screen)
	}
}

// The rate columns scrape only the ztunnels of the nodes whose pods are on
// screen: one proxied GET per node each period, none for rows out of view.
func TestWorkloadRatesScrapeOnlyShownNodes(t *testing.T) {
	at := demo.Epoch
	m := ztunnelModel(t, &at)
	all := len(ztread.Ztunnels(m.src.Pods))
	m = keys(t, m, "2", "/", "g", "r", "a", "f", "a", "n", "a", "enter")
	var nodes []string
	for _, z := range m.shownZtunnels() {
		nodes = append(nodes, z.Node)
	}
	if len(nodes) != 1 || nodes[0] != "homelab-w1" {
		t.Fatalf("with only grafana (on homelab-w1) on screen, the scrape reads the ztunnels of %v", nodes)
	}
	if all < 2 {
		t.Fatalf("the demo has %d ztunnels; the test needs several", all)
	}
	m = keys(t, m, "esc")
	if got := len(m.shownZtunnels()); got < 2 || got > all {
		t.Errorf("unfiltered, the scrape reads %d of %d ztunnels", got, all)
	}
}
