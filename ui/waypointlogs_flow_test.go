package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
)

// logsModel is the demo with its proxy logs, read-only, as --demo runs.
func logsModel(t *testing.T) Model {
	t.Helper()
	objs := demo.Objects(demo.Epoch)
	sim := demo.ZtunnelLogs(objs.Pods).WithServices(objs.Services)
	sim.Now = func() time.Time { return demo.Epoch }
	sim.Interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }, ReadOnly: true, Logs: sim, Ctx: ctx})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 35})
	return drive(t, m, SnapshotMsg{demo.Homelab()})
}

// openLogsOn presses l and delivers the stream's first batches, which hold
// the history, without waiting for live lines.
func openLogsOn(t *testing.T, m Model) Model {
	t.Helper()
	mm, cmd := m.Update(keyMsg("l"))
	m = mm.(Model)
	if !isTop[logsOverlay](m) {
		t.Fatalf("l opened no log view:\n%s", m.Render())
	}
	t.Cleanup(func() { m.closeAll() })
	for i := 0; i < 20 && cmd != nil; i++ {
		done := make(chan tea.Msg, 1)
		go func() { done <- cmd() }()
		select {
		case msg := <-done:
			mm, cmd = m.Update(msg)
			m = mm.(Model)
		case <-time.After(2 * time.Second):
			return m // history delivered; the rest is live
		}
	}
	return m
}

// l on the waypoint ambient-apps/waypoint follows its Envoy access log:
// sleep's calls to httpbin parsed into code, client pod and Service, the
// refused POSTs among them, and code:403 keeping only those.
func TestWaypointLogsFlow(t *testing.T) {
	m := keys(t, logsModel(t), "3", "g")
	for i := 0; i < 10; i++ {
		if r, _ := m.selected(); r.Namespace == "ambient-apps" && r.Name == "waypoint" {
			break
		}
		m = keys(t, m, "j")
	}
	m = openLogsOn(t, m)
	s := m.Render()
	for _, want := range []string{"waypoint logs · ambient-apps/waypoint", "ambient-apps/sleep-", "httpbin.ambient-apps", "GET /get", " 403 "} {
		if !strings.Contains(s, want) {
			t.Fatalf("waypoint log view lacks %q:\n%s", want, s)
		}
	}
	for _, k := range strings.Split("/code:403", "") {
		mm, _ := m.Update(keyMsg(k))
		m = mm.(Model)
	}
	mm, _ := m.Update(keyMsg("enter"))
	m = mm.(Model)
	s = m.Render()
	if strings.Contains(s, " 200 ") || !strings.Contains(s, "POST /post rbac_access_denied_matched_policy[none]") {
		t.Fatalf("code:403 does not keep only the denials:\n%s", s)
	}
	m = keys(t, m, "esc")
	if isTop[logsOverlay](m) {
		t.Fatal("esc did not close the log view")
	}
}

// l on httpbin's pod follows its node's ztunnel and the waypoint in front
// of its Service.
func TestPodBehindWaypointLogsFlow(t *testing.T) {
	m := logsModel(t)
	m = selectNamespace(t, m, "ambient-apps")
	m = keys(t, m, "enter")
	for i := 0; i < 10; i++ {
		if r, _ := m.selected(); strings.HasPrefix(r.Name, "httpbin-") {
			break
		}
		m = keys(t, m, "j")
	}
	if r, _ := m.selected(); !strings.HasPrefix(r.Name, "httpbin-") {
		t.Fatalf("httpbin's pod not selected: %+v\n%s", r, m.Render())
	}
	m = openLogsOn(t, m)
	s := m.Render()
	if !strings.Contains(s, "ztunnel + waypoint logs · ambient-apps/httpbin-") || !strings.Contains(s, "waypoint ambient-apps/waypoint (waypoint-") {
		t.Fatalf("title does not name the ztunnel and the waypoint:\n%s", s)
	}
	if !strings.Contains(s, " wp ") || !strings.Contains(s, "httpbin.ambient-apps") {
		t.Fatalf("no waypoint line about httpbin:\n%s", s)
	}
}
