package namespaces

import (
	"testing"

	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/theme"
)

// TestMigrationCell: the MIGRATION column over the states a migration
// passes through, as the pane shows them.
func TestMigrationCell(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    whatif.Migration
		text string
		tone theme.Tone
	}{
		{"plain ambient namespace", whatif.Migration{Moved: 3, Enrolled: true}, "", theme.ToneNormal},
		{"sidecars, injection label still on", whatif.Migration{Sidecars: 2, Injects: "istio-injection=enabled"}, "0/2 moved", theme.ToneWarn},
		{"labels swapped, rollouts under way", whatif.Migration{Sidecars: 1, Moved: 1, OnRestart: 1, Enrolled: true}, "1/2 moved (1 on restart)", theme.ToneAccent},
		{"a sidecar a restart would not move", whatif.Migration{Sidecars: 2, Moved: 1, OnRestart: 1, Enrolled: true}, "1/3 moved (1 on restart)", theme.ToneWarn},
		{"all moved, new pods still injected", whatif.Migration{Moved: 2, Injects: "istio.io/rev=canary", Enrolled: true}, "2/2 moved", theme.ToneWarn},
	} {
		c := migrationCell(tc.m)
		if c.Text != tc.text || (c.Text != "" && c.Tone != tc.tone) {
			t.Errorf("%s: %q tone %v, want %q tone %v", tc.name, c.Text, c.Tone, tc.text, tc.tone)
		}
	}
}
