package ui

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
)

// e in the demo, as --demo wires it: loki-0's readiness misses are listed
// as a Warning drawn in the warning colour, its namespace lists them too,
// and a pod the demo holds no event about says so rather than showing an
// empty list.
func TestEventsInTheDemo(t *testing.T) {
	c := demo.Clients(demo.Epoch)
	m := New(Options{Theme: theme.Dark, Now: func() time.Time { return demo.Epoch }, ReadOnly: true, Events: EventsFrom(c)})
	m = drive(t, m, tea.WindowSizeMsg{Width: 160, Height: 35})
	m = drive(t, m, SnapshotMsg{demo.Homelab()})

	m = keys(t, typeLine(t, keys(t, m, "2", "/"), "^loki-0$"), "enter")
	m = keys(t, m, "e")
	plain := ansi.Strip(m.Render())
	for _, want := range []string{"Events of Pod loki/loki-0 (1)", "Warning", "Unhealthy", "14", "kubelet", "Readiness probe failed"} {
		if !strings.Contains(plain, want) {
			t.Fatalf("the events of loki-0 lack %q:\n%s", want, plain)
		}
	}
	// The cursor row is drawn in the cursor's style: a newer event takes
	// the cursor, so the warning's own colour shows on its row.
	podEvent(t, c, "loki", "loki-0", "newer", "Normal", "Pulled", "Container image already present", 0)
	m = keys(t, keys(t, m, "esc"), "e")
	screen := m.Render()
	if plain := ansi.Strip(screen); strings.Index(plain, "Pulled") > strings.Index(plain, "Unhealthy") {
		t.Fatalf("not newest first:\n%s", plain)
	}
	row := lineWith(t, screen, "Unhealthy")
	warn := theme.Dark.Tone(theme.ToneWarn).Render("x")
	warnSGR := warn[2:strings.Index(warn, "m")]
	if got := attrsAt(row, "Warning"); got != warnSGR {
		t.Errorf("Warning is drawn with %q, want the warning colour %q: %q", got, warnSGR, row)
	}

	m = keys(t, m, "esc", "esc", "1")
	m = keys(t, selectNamespace(t, m, "loki"), "e")
	if plain := ansi.Strip(m.Render()); !strings.Contains(plain, "Events in namespace loki (2)") || !strings.Contains(plain, "Pod/loki-0") {
		t.Fatalf("the loki namespace's events do not list loki-0's:\n%s", plain)
	}

	m = keys(t, m, "esc")
	m = keys(t, selectNamespace(t, m, "example-admin"), "e")
	if plain := ansi.Strip(m.Render()); !strings.Contains(plain, "no events: the API server holds none about") {
		t.Fatalf("a namespace without events does not say so:\n%s", plain)
	}
}
