package lookup

import (
	netv1 "istio.io/client-go/pkg/apis/networking/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
)

// ServiceEntryWaypoint is the waypoint istiod binds a ServiceEntry to, as
// the analysis resolved it (ambient.Analysis.ServiceEntries): its own
// istio.io/use-waypoint label, else its namespace's, with the version's
// rules (from 1.31, meshConfig.serviceEntryVisibility). An entry without
// one carries istiod's WaypointMissing condition (1.28+) as its note.
func ServiceEntryWaypoint(s *kube.Snapshot, se *netv1.ServiceEntry) ambient.WaypointBinding {
	if s == nil || s.Mesh == nil || se == nil {
		return ambient.WaypointBinding{}
	}
	info := s.Mesh.ServiceEntries[ambient.Key{Namespace: se.Namespace, Name: se.Name}]
	if info.IsWaypoint {
		return ambient.WaypointBinding{Note: "belongs to a waypoint or east-west gateway: never bound"}
	}
	b := info.Waypoint
	if m := info.WaypointMissing; m != nil && b.Problem == "" {
		// Nothing asked for a waypoint, or it opted out: what the entry
		// loses without one is istiod's WaypointMissing, in its words.
		note := "istiod: " + m.Reason + ": " + m.Message
		if b.Note != "" {
			note = b.Note + "; " + note
		}
		b.Note = note
	}
	return b
}
