package picker

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

func items() []Item {
	return []Item{{"none (opt out)", ""}, {"waypoint", "ambient-apps · service"}, {"egress", "istio-egress · all"}}
}

func TestView(t *testing.T) {
	m := New(theme.Plain, "x", "Waypoint for Service ambient-apps/httpbin", items(), 1)
	golden.RequireEqual(t, m.View(60, 12))
}

func TestMoveAndChoose(t *testing.T) {
	m := New(theme.Plain, "svc", "t", items(), 0)
	m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
	m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"}) // stays on the last
	_, cmd := m.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if cmd == nil {
		t.Fatal("enter chose nothing")
	}
	if got := cmd().(Chosen); got.ID != "svc" || got.Index != 2 {
		t.Fatalf("chose %+v, want svc/2", got)
	}
	if !strings.Contains(m.View(60, 12), "▸ egress") {
		t.Fatal("cursor not drawn on the chosen item")
	}
}

func TestTinyAndEmpty(t *testing.T) {
	for _, sz := range [][2]int{{1, 1}, {20, 5}} {
		_ = New(theme.Plain, "x", "t", items(), 5).View(sz[0], sz[1])
		_ = New(theme.Plain, "x", "t", nil, 0).View(sz[0], sz[1])
	}
	if _, cmd := New(theme.Plain, "x", "t", nil, 0).Update(tea.KeyPressMsg{Code: tea.KeyEnter}); cmd != nil {
		t.Fatal("enter on an empty picker chose something")
	}
}
