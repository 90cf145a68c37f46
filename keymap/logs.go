package keymap

import "charm.land/bubbles/v2/key"

// LogKeys work in the ztunnel log pane. Movement uses Table's keys.
type LogKeys struct {
	Filter, Search, Pause, Wrap, Timestamps, Save, Patch key.Binding
	// Cancel leaves the search prompt; Apply keeps what was typed.
	Cancel, Apply key.Binding
}

// Logs is the set of log pane bindings.
var Logs = LogKeys{
	Filter:     bind("only lines about the selection / all lines", "f"),
	Search:     bind("search the log", "/"),
	Pause:      bindShown("space", "pause / resume following", "space", " "),
	Wrap:       bind("wrap long lines", "w"),
	Timestamps: bind("show / hide timestamps", "t"),
	Save:       bind("save the shown lines to a file", "s"),
	Patch:      bind("NetworkPolicy patch for this HBONE timeout", "n"),
	Cancel:     bind("cancel the search", "esc"),
	Apply:      bind("apply the search", "enter"),
}

// LogsHelp is the help overlay's section for the log pane.
func LogsHelp() Section {
	return Section{"Logs", []key.Binding{Logs.Filter, Logs.Search, Logs.Pause, Logs.Wrap, Logs.Timestamps, Logs.Save, Logs.Patch}}
}
