package ztunnel_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/ztunnel"
)

func now() time.Time { return demo.Epoch }

// open opens the view on node the way the root does and runs the read
// synchronously, as the Bubble Tea runtime would run the command.
func open(t *testing.T, node string, fail error) ztunnel.Model {
	t.Helper()
	z := &demo.Ztunnel{Now: now}
	fetch := func(p ztread.Pod) tea.Cmd {
		return func() tea.Msg {
			if fail != nil {
				return ztunnel.Loaded{Pod: p, Err: fail, At: now()}
			}
			d, err := z.ConfigDump(context.Background(), p)
			return ztunnel.Loaded{Pod: p, Dump: d, Err: err, At: now()}
		}
	}
	m, _ := ztunnel.Open(theme.Plain, demo.Homelab(), node, fetch, now)
	m = m.SetSize(120, 35)
	p := ztunnel.Ztunnels(demo.Homelab())
	for _, zp := range p {
		if zp.Node == node {
			m, _ = m.Update(fetch(zp)())
			return m
		}
	}
	t.Fatalf("no ztunnel on %s", node)
	return m
}

func key(m ztunnel.Model, k string) ztunnel.Model {
	msg := tea.KeyPressMsg{Code: rune(k[0]), Text: k}
	switch k {
	case "tab":
		msg = tea.KeyPressMsg{Code: tea.KeyTab}
	}
	m, _ = m.Update(msg)
	return m
}

func TestZtunnelWorkloads(t *testing.T) {
	m := open(t, "homelab-w1", nil)
	golden.RequireEqual(t, m.View(120, 35))
}

// The drift tab names the two drifts planted in the demo that concern the
// ztunnel on homelab-w3 (grafana held as TCP; an expiring certificate).
func TestZtunnelDrift(t *testing.T) {
	m := open(t, "homelab-w3", nil)
	for i := 0; i < 4; i++ {
		m = key(m, "tab")
	}
	v := m.View(120, 20)
	if !strings.Contains(v, "Drift (2)") || !strings.Contains(v, "held") && !strings.Contains(v, "TCP") {
		t.Fatalf("drift tab:\n%s", v)
	}
	golden.RequireEqual(t, v)
}

func TestZtunnelCertificatesAt80x24(t *testing.T) {
	m := open(t, "homelab-w3", nil)
	for i := 0; i < 3; i++ {
		m = key(m, "tab")
	}
	golden.RequireEqual(t, m.SetSize(80, 24).View(80, 24))
}

// A failed read says why (here: the port-forward right), never an empty
// table that reads as "ztunnel holds nothing".
func TestZtunnelReadErrorIsShown(t *testing.T) {
	m := open(t, "homelab-w1", errors.New("forbidden: ambx needs create on pods/portforward"))
	v := m.View(100, 10)
	if !strings.Contains(v, "Could not read") || !strings.Contains(v, "pods/portforward") {
		t.Fatalf("read error not shown:\n%s", v)
	}
	if len(m.Drift()) != 0 {
		t.Fatalf("drift from a failed read: %v", m.Drift())
	}
}

// Typing a filter narrows the rows; esc clears it without closing.
func TestZtunnelFilter(t *testing.T) {
	m := open(t, "homelab-w1", nil)
	m = key(m, "/")
	for _, r := range "grafana" {
		m = key(m, string(r))
	}
	v := m.View(120, 12)
	rows := 0
	for _, l := range strings.Split(v, "\n")[3:] {
		if strings.TrimSpace(l) != "" {
			rows++
			if !strings.Contains(l, "grafana") {
				t.Errorf("row without grafana after /grafana: %q", l)
			}
		}
	}
	if rows == 0 {
		t.Fatalf("no rows after /grafana:\n%s", v)
	}
}

// An open view reads its ztunnel again once Refresh has passed, and not
// while a read is under way.
func TestZtunnelRefreshesOnTheClock(t *testing.T) {
	m := open(t, "homelab-w1", nil)
	if _, cmd := m.Tick(now().Add(ztunnel.Refresh / 2)); cmd != nil {
		t.Fatal("re-read before Refresh passed")
	}
	m, cmd := m.Tick(now().Add(ztunnel.Refresh))
	if cmd == nil {
		t.Fatal("no re-read after Refresh")
	}
	if _, again := m.Tick(now().Add(2 * ztunnel.Refresh)); again != nil {
		t.Fatal("a second read while the first is under way")
	}
	if _, ok := cmd().(ztunnel.Loaded); !ok {
		t.Fatal("the re-read does not deliver a config_dump")
	}
}
