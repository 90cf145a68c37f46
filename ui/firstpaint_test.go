package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
)

// Before the first snapshot nothing was read: no pane may say "no rows",
// as an empty cluster would.
func TestFirstPaintSaysNothingWasReadYet(t *testing.T) {
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }, ReadOnly: true})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 45})
	screen := m.Render()
	if strings.Contains(screen, "no rows") {
		t.Errorf("the first paint reads as an empty cluster:\n%s", screen)
	}
	if n := strings.Count(screen, "waiting for the cluster"); n < 4 {
		t.Errorf("%d of the four panes say they are waiting for the cluster:\n%s", n, screen)
	}
}
