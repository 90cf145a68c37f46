package keymap

import "charm.land/bubbles/v2/key"

// MigrateKeys start the sidecar-to-ambient migration of a namespace.
type MigrateKeys struct {
	Start key.Binding
}

// Migrate is the migration binding: M on a namespace (or anything in it).
var Migrate = MigrateKeys{
	Start: bind("migrate the namespace from sidecars to ambient", "M"),
}
