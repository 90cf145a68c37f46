package patch

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

// TestDemo opens the patch view on the demo's loki namespace, whose
// NetworkPolicy leaves out HBONE.
func TestDemo(t *testing.T) {
	s := demo.Homelab()
	m := ForNamespace(theme.Plain, s, "loki").SetSize(100, 24)
	if m.Len() == 0 {
		t.Fatal("no patch for the demo's loki namespace")
	}
	if !strings.Contains(m.Text(), "kubectl patch networkpolicy loki -n loki --type=json") || !strings.Contains(m.Text(), "15008") {
		t.Fatalf("the command does not open 15008 on loki/loki: %s", m.Text())
	}
	for _, form := range []string{"command", "manifest"} {
		t.Run(form, func(t *testing.T) {
			if form == "manifest" {
				m, _ = press(m, "tab")
			}
			got := m.View(100, 24)
			checkSize(t, got, 100, 24)
			golden.RequireEqual(t, got)
		})
	}
}
