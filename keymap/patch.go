package keymap

import "charm.land/bubbles/v2/key"

// PatchKeys work in the patch view; movement uses Table's keys.
type PatchKeys struct {
	Form, Prev, Next, Copy, Write key.Binding
}

// Patch is the set of patch-view bindings.
var Patch = PatchKeys{
	Form:  bind("kubectl patch / NetworkPolicy YAML", "tab"),
	Prev:  bind("previous patch", "["),
	Next:  bind("next patch", "]"),
	Copy:  bind("copy the shown text", "y"),
	Write: bind("write the shown text to a file", "w"),
}

// FindingKeys work in the findings list; movement uses Table's keys.
type FindingKeys struct {
	Jump, Patch key.Binding
}

// Finding is the set of findings-list bindings.
var Finding = FindingKeys{
	Jump:  bind("go to the object", "enter"),
	Patch: bind("suggested patch", "n"),
}
