package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/theme"
)

// The status bar names the installed Istio; i opens the install view and
// i or esc closes it. When the version is unread, the bar says what is
// assumed.
func TestInstallViewAndHeadline(t *testing.T) {
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }})
	mm, _ := m.Update(tea.WindowSizeMsg{Width: 140, Height: 40})
	mm, _ = mm.Update(SnapshotMsg{demo.Homelab()})
	m = mm.(Model)
	if v := m.View().Content; !strings.Contains(v, "Istio 1.31.1") {
		t.Fatalf("the status bar does not name the Istio version:\n%s", v)
	}
	m = press(m, "i")
	v := m.View().Content
	if !strings.Contains(v, "Istio installation") || !strings.Contains(v, "PILOT_ENABLE_AMBIENT") {
		t.Fatalf("i does not open the install view:\n%s", v)
	}
	m = press(m, "i")
	if strings.Contains(m.View().Content, "istiod switches") {
		t.Fatal("i does not close the install view")
	}

	s := demo.Homelab()
	s.Install = install.Discover(install.Objects{Unread: map[string]string{"deployments": "forbidden"}})
	mm, _ = m.Update(SnapshotMsg{s})
	m = mm.(Model)
	if v := m.View().Content; !strings.Contains(v, "Istio unreadable, assuming "+install.AssumedVersion.MinorString()) {
		t.Fatalf("the status bar hides that the version is assumed:\n%s", v)
	}
}
