package findings

import (
	"fmt"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
)

func TestBadge(t *testing.T) {
	// The demo's counts, as the findings list has them.
	all := demo.Homelab().Marks().All()
	demoBadge := fmt.Sprintf(" ✖ %d ⚠ %d ! list ", all.Errors, all.Warnings)
	demoNarrow := fmt.Sprintf(" ✖ %d ⚠ %d ", all.Errors, all.Warnings)
	if all.Errors == 0 || all.Warnings == 0 || all.Infos != 0 {
		t.Fatalf("the demo's findings changed (%+v): update this test", all)
	}
	for _, tc := range []struct {
		name  string
		snap  *kube.Snapshot
		width int
		want  string
	}{
		{"demo", demo.Homelab(), 40, demoBadge},
		{"demo, narrow", demo.Homelab(), len(demoNarrow) - 4, demoNarrow},
		{"clean", kube.Build(ambient.Cluster{}, now), 40, " ✔ no findings "},
		{"forbidden", withStates(kube.Build(ambient.Cluster{}, now), map[kube.Resource]kube.Availability{kube.ResNetworkPolicies: kube.Forbidden}, true), 40, " 1 of 4 checks not run ! list "},
		{"unreachable", unreachable(), 40, " 4 of 4 checks not run ! list "},
		{"waiting", nil, 40, " findings: waiting "},
		{"ztunnel reading", withSurvey(&ztunnel.Survey{}), 40, " ztunnel reading… ! list "},
		{"ztunnel forbidden", withSurvey(&ztunnel.Survey{Started: now, Done: now, Ztunnels: 1, Readings: []ztunnel.Reading{{Err: "forbidden"}}}), 40, " ztunnel not read ! list "},
		{"ztunnel read", withSurvey(&ztunnel.Survey{Started: now, Done: now, Ztunnels: 1, Readings: []ztunnel.Reading{{Dump: &ztunnel.Dump{Services: []ztunnel.Service{{}}}}}}), 40, " ✔ no findings "},
		{"too narrow", demo.Homelab(), 4, " ✖ …"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Badge(theme.Plain, tc.snap, tc.width)
			if got != tc.want {
				t.Errorf("Badge = %q, want %q", got, tc.want)
			}
			if w := ansi.StringWidth(got); w > tc.width {
				t.Errorf("%d cells wide in %d", w, tc.width)
			}
		})
	}
}

func withSurvey(sv *ztunnel.Survey) *kube.Snapshot {
	s := kube.Build(ambient.Cluster{}, now)
	return s.WithZtunnel(sv, now)
}
