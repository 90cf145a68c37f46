package whatif

import (
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/migration"
)

// Migration is where a namespace stands in its move from sidecars to
// ambient, from the snapshot alone (no simulation, so panes can ask it on
// every snapshot).
type Migration = migration.State

// MigrationOf returns the migration state of namespace ns.
func MigrationOf(s *kube.Snapshot, ns string) Migration {
	return Migrations(s)[ns]
}

// Migrations returns the migration state of every namespace: the one
// kube.Build counted (Snapshot.Migrations), or for a snapshot made by hand
// one pass over its pods.
func Migrations(s *kube.Snapshot) map[string]Migration {
	if s == nil || s.Mesh == nil {
		return nil
	}
	if s.Migrations != nil {
		return s.Migrations
	}
	return migration.Of(&s.Cluster, s.Mesh)
}
