package keymap

import "charm.land/bubbles/v2/key"

// WaypointFormKeys fill in the create-waypoint dialog; printable keys type
// into the focused text field.
type WaypointFormKeys struct {
	Next, Prev, Change, Toggle, Submit key.Binding
}

// WaypointForm is the set of create-waypoint dialog bindings (esc cancels).
var WaypointForm = WaypointFormKeys{
	Next:   bindShown("tab/↓", "next field", "tab", "down"),
	Prev:   bindShown("shift+tab/↑", "previous field", "shift+tab", "up"),
	Change: bindShown("←/→", "change the traffic type", "left", "right"),
	Toggle: bind("enrol the namespace or not", "space"),
	Submit: bind("review the Gateway before it is created", "enter"),
}

// WaypointFormHelp is the help section of the create-waypoint dialog.
func WaypointFormHelp() Section {
	k := WaypointForm
	return Section{"Create waypoint", []key.Binding{k.Next, k.Prev, k.Change, k.Toggle, k.Submit}}
}
