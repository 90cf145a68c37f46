package ui

import (
	"strings"
	"testing"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
)

// clockModel is the demo on the main screen with a clock the test moves.
func clockModel(t *testing.T, now *time.Time) Model {
	t.Helper()
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return *now }})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	s := demo.Homelab()
	s.LastEvent = *now
	mm, _ = mm.Update(SnapshotMsg{s})
	return mm.(Model)
}

func sameString(a, b string) bool {
	return len(a) == len(b) && unsafe.StringData(a) == unsafe.StringData(b)
}

// An idle tick hands Bubble Tea the very frame it drew last (the renderer
// then skips it), and nothing is drawn again until a step of the only age
// on the main screen is crossed.
func TestIdleTickKeepsTheFrame(t *testing.T) {
	now := demo.Epoch
	m := clockModel(t, &now)
	first := m.View().Content
	if !strings.Contains(first, "last change 0s ago") {
		t.Fatalf("no age of the last change on screen:\n%s", first)
	}
	for i := 1; i <= 9; i++ {
		now = demo.Epoch.Add(time.Duration(i) * time.Second)
		mm, _ := m.Update(TickMsg(now))
		m = mm.(Model)
		if got := m.View().Content; !sameString(got, first) {
			t.Fatalf("tick %d redrew an unchanged screen", i)
		}
	}
	now = demo.Epoch.Add(10 * time.Second)
	mm, _ := m.Update(TickMsg(now))
	m = mm.(Model)
	second := m.View().Content
	if second == first || !strings.Contains(second, "last change 10s ago") {
		t.Fatalf("the age did not move past its step:\n%s", second)
	}
	if second != safe.Frame(m.Render()) {
		t.Fatal("the kept frame is not the screen")
	}
}

// Whatever changes the screen shows at once: a snapshot, a key, a resize,
// a status message and its expiry, the age crossing each of its steps.
func TestEveryChangeIsDrawn(t *testing.T) {
	now := demo.Epoch
	m := clockModel(t, &now)
	// before is the frame of the last step, drawn before the clock moved.
	before := m.View().Content
	step := func(what string, msg tea.Msg, wantChange bool) {
		t.Helper()
		mm, _ := m.Update(msg)
		m = mm.(Model)
		got := m.View().Content
		if fresh := safe.Frame(m.Render()); got != fresh {
			t.Fatalf("%s: the frame drawn is not the screen:\n%s\nwant:\n%s", what, got, fresh)
		}
		if wantChange && got == before {
			t.Fatalf("%s: the screen did not change", what)
		}
		before = got
	}
	s := demo.Homelab()
	s.LastEvent = now
	s.Pods = s.Pods[1:]
	step("a snapshot with one pod fewer", SnapshotMsg{s}, true)
	step("a key", keyMsg("j"), true)
	step("tab", keyMsg("tab"), true)
	step("a resize", tea.WindowSizeMsg{Width: 120, Height: 35}, true)
	step("a status message", StatusMsg{Text: "copied"}, true)
	now = now.Add(6 * time.Second)
	step("the message's expiry", TickMsg(now), true)
	for _, at := range []time.Duration{10 * time.Second, 50 * time.Second, time.Minute, 59 * time.Minute, time.Hour, 61 * time.Minute, 24 * time.Hour, 25 * time.Hour} {
		now = demo.Epoch.Add(at)
		step("age "+at.String(), TickMsg(now), true)
		step("age "+at.String()+" again", TickMsg(now.Add(time.Second)), false)
	}
	step("help", keyMsg("?"), true)
	help := m.View().Content
	step("a tick under help", TickMsg(now.Add(2*time.Second)), false)
	if !sameString(m.View().Content, help) {
		t.Error("an idle tick under help drew the frame again")
	}
	step("esc", keyMsg("esc"), true)
	step("findings", keyMsg("!"), true)
	now = demo.Epoch.Add(48 * time.Hour)
	step("the age moving under the findings list", TickMsg(now), true)
	step("esc", keyMsg("esc"), true)
	step("filter", keyMsg("/"), true)
	step("typing", keyMsg("g"), true)
	step("a tick while typing", TickMsg(now.Add(3*time.Second)), false)
}

// Two states made from one model (as a test or a context switch does)
// never share a frame.
func TestBranchesDrawTheirOwnFrames(t *testing.T) {
	now := demo.Epoch
	base := clockModel(t, &now)
	_ = base.View()
	a, _ := base.Update(keyMsg("j"))
	b, _ := base.Update(keyMsg("2"))
	va, vb := a.(Model).View().Content, b.(Model).View().Content
	if va == vb {
		t.Fatal("two different states drew one frame")
	}
	if va != safe.Frame(a.(Model).Render()) || vb != safe.Frame(b.(Model).Render()) {
		t.Fatal("a branch's frame is not its screen")
	}
}

func TestChangeAge(t *testing.T) {
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "0s"}, {0, "0s"}, {9999 * time.Millisecond, "0s"}, {10 * time.Second, "10s"},
		{59 * time.Second, "50s"}, {time.Minute, "1m"}, {123 * time.Second, "2m"}, {59*time.Minute + 59*time.Second, "59m"},
		{time.Hour, "1h0m"}, {2*time.Hour + 5*time.Minute + 59*time.Second, "2h5m"},
		{24 * time.Hour, "1d0h"}, {50*time.Hour + 59*time.Minute, "2d2h"},
	} {
		if got := changeAge(c.d); got != c.want {
			t.Errorf("changeAge(%v) = %q, want %q", c.d, got, c.want)
		}
	}
}

// An overlay that acts on ticks (the ztunnel view polls, and says how old
// its reading is) is drawn on every tick.
func TestTickingOverlayIsDrawnOnTicks(t *testing.T) {
	at := demo.Epoch
	m := ztunnelModel(t, &at)
	m = keys(t, m, "z")
	before := m.View().Content
	at = at.Add(time.Second)
	mm, _ := m.Update(TickMsg(at))
	m = mm.(Model)
	if got := m.View().Content; sameString(got, before) || got != safe.Frame(m.Render()) {
		t.Fatal("a tick with the ztunnel view open did not draw it again")
	}
}
