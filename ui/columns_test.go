package ui

import (
	"fmt"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/pane/panetest"
)

// The main screen over the demo cluster at 200x50, 120x35 and 80x24, all
// namespaces and drilled into argo-workflows: the column rules as the user
// meets them. Every grid pane is also checked for rows that read alike.
func TestScreenSizes(t *testing.T) {
	for _, sz := range [][2]int{{200, 50}, {120, 35}, {80, 24}} {
		for _, drill := range []string{"", "argo-workflows"} {
			name := fmt.Sprintf("%dx%d", sz[0], sz[1])
			if drill != "" {
				name += "_" + drill
			}
			t.Run(name, func(t *testing.T) {
				m, _ := demoModel(t, true)
				m = drive(t, m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
				if drill != "" {
					m = selectNamespace(t, m, drill)
					m = keys(t, m, "enter")
				}
				screen := m.Render()
				if !m.grid() {
					t.Fatalf("no grid at %dx%d", sz[0], sz[1])
				}
				w, h := m.gridSizes()
				for c, i := range m.gridPanes() {
					panetest.RowsApart(t, m.panes[i].pane.View(w[c], h[c], false))
				}
				for _, col := range []string{"LAYER", "ENFORCED BY"} {
					if !strings.Contains(screen, col) {
						t.Errorf("the Policies pane lost %s", col)
					}
				}
				golden.RequireEqual(t, screen)
			})
		}
	}
}
