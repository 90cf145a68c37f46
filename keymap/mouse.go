package keymap

import "charm.land/bubbles/v2/key"

// MouseActions are what the mouse does, for the help. They have no keys:
// the root matches mouse messages, and a binding without keys matches no
// key press.
type MouseActions struct {
	Click, Header, Wheel, Finding, Badge key.Binding
}

func mouse(what, help string) key.Binding { return key.NewBinding(key.WithHelp(what, help)) }

// Mouse is the set of mouse actions; --no-mouse (or mouse: false in the
// config file) turns them off and leaves the mouse to the terminal.
var Mouse = MouseActions{
	Click:   mouse("click", "focus the pane, select the row"),
	Header:  mouse("click hdr", "sort by the column (again: reverse)"),
	Wheel:   mouse("wheel", "scroll the pane or view under the pointer"),
	Finding: mouse("click", "in the findings: jump to the object (as enter)"),
	Badge:   mouse("click", "the findings badge (top right): open the findings (as !)"),
}

// MouseHelp is the help's section for the mouse.
func MouseHelp() Section {
	return Section{"Mouse", []key.Binding{Mouse.Click, Mouse.Header, Mouse.Wheel, Mouse.Finding, Mouse.Badge}}
}

// IsMouse reports whether b is one of the mouse actions, which
// --no-mouse turns off.
func IsMouse(b key.Binding) bool {
	for _, m := range MouseHelp().Bindings {
		if len(b.Keys()) == 0 && m.Help() == b.Help() {
			return true
		}
	}
	return false
}
