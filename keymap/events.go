package keymap

import "charm.land/bubbles/v2/key"

// EventsKeys open the events view.
type EventsKeys struct {
	Open key.Binding
}

// Events is the events view binding.
var Events = EventsKeys{
	Open: bind("Kubernetes events of the row, newest first", "e"),
}
