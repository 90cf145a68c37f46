package ui

import (
	"strings"

	"charm.land/bubbles/v2/key"

	"github.com/ambx/ambx/keymap"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
)

// y on a row reads the object through the clients (the demo's fake
// clientsets here) and shows its YAML; esc closes it.
func TestYAMLOfTheSelectedRow(t *testing.T) {
	c := demo.Clients(demo.Epoch)
	m := New(Options{Theme: theme.Plain, Now: func() time.Time { return demo.Epoch }, Fetch: FetchFrom(c)})
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 35})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	m = selectNamespace(t, m, "loki")
	m = keys(t, m, "y")
	if !isTop[yamlOverlay](m) {
		t.Fatalf("y did not open the YAML view:\n%s", m.Render())
	}
	screen := m.Render()
	for _, want := range []string{"YAML Namespace loki", "kind: Namespace", "istio.io/dataplane-mode: ambient"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("YAML view lacks %q:\n%s", want, screen)
		}
	}
	m = keys(t, m, "esc")
	if len(m.stack) != 0 {
		t.Fatal("esc did not close the YAML view")
	}
}

// s sorts the focused pane by its next column, S reverses it, and a new
// snapshot keeps the order; the title says what the rows are sorted by.
func TestSortThePane(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, m, "1", "s")
	if !strings.Contains(m.Render(), "▲NAME") {
		t.Fatalf("s did not sort by NAME:\n%s", m.Render())
	}
	m = keys(t, m, "s", "S")
	screen := m.Render()
	if !strings.Contains(screen, "▼MESH") {
		t.Fatalf("s s S did not sort by MESH descending:\n%s", screen)
	}
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	if m.Render() != screen {
		t.Fatalf("a new snapshot changed the sorted screen:\n%s\nwas\n%s", m.Render(), screen)
	}
}

// The status-bar hints come from the keymap: rebinding a key changes its
// hint, and a disabled binding is not offered.
func TestHintsFollowTheKeymap(t *testing.T) {
	saved := keymap.Global.Findings
	defer func() { keymap.Global.Findings = saved }()
	keymap.Global.Findings = key.NewBinding(key.WithKeys("F"), key.WithHelp("F", saved.Help().Desc))
	m, _ := demoModel(t, false)
	m = drive(t, m, tea.WindowSizeMsg{Width: 220, Height: 35}) // room for every hint
	if bar := m.statusBar(); !strings.Contains(bar, "F findings") || strings.Contains(bar, "! findings") {
		t.Fatalf("rebound findings key not in the hints: %q", bar)
	}
	keymap.Global.Findings.SetEnabled(false)
	if bar := m.statusBar(); strings.Contains(bar, "findings") {
		t.Fatalf("a disabled binding is offered: %q", bar)
	}
}
