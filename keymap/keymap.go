// Package keymap declares every key binding ambx answers to, with its help
// text, so the help overlay and the code that matches keys read one list.
package keymap

import (
	"slices"

	"charm.land/bubbles/v2/key"
)

func bind(help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(keys[0], help))
}

func bindShown(shown, help string, keys ...string) key.Binding {
	return key.NewBinding(key.WithKeys(keys...), key.WithHelp(shown, help))
}

// GlobalKeys work in every pane.
type GlobalKeys struct {
	NextPane, PrevPane key.Binding
	// Panes are 1…9: the panes in the order the root registers them (the
	// help names them from that list).
	Panes                 []key.Binding
	Filter, Command, Back key.Binding
	Help, Quit            key.Binding
	// ForceQuit quits from anywhere, even with an overlay open.
	ForceQuit          key.Binding
	Findings, Overhead key.Binding
	// Install opens the Istio installation view.
	Install key.Binding
}

func paneKeys() []key.Binding {
	var out []key.Binding
	for _, k := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		out = append(out, bind("pane "+k, k))
	}
	return out
}

// Global is the set of global bindings.
var Global = GlobalKeys{
	NextPane:  bind("next pane", "tab"),
	PrevPane:  bind("previous pane", "shift+tab"),
	Panes:     paneKeys(),
	Filter:    bind("filter the pane: text, a regex, !… inverts, -l key=value labels", "/"),
	Command:   bind("command line (:svc, :np, :ctx, :q…)", ":"),
	Back:      bind("clear filter / leave drill-down / close", "esc"),
	Help:      bind("help", "?"),
	Quit:      bind("quit (closes an overlay first)", "q"),
	ForceQuit: bind("quit from anywhere", "ctrl+c"),
	Findings:  bind("findings", "!"),
	Overhead:  bind("mesh overhead", "o"),
	Install:   bind("Istio installation: versions, switches", "i"),
}

// PromptKeys edit the / and : line (a text input: the usual editing keys
// and paste work too).
type PromptKeys struct {
	Run, Cancel, Complete, Older, Newer key.Binding
}

// Prompt is the set of prompt bindings.
var Prompt = PromptKeys{
	Run:      bind("run the command / keep the filter", "enter"),
	Cancel:   bind("cancel (a filter is cleared)", "esc"),
	Complete: bind("complete the command", "tab"),
	Older:    bindShown("↑", "older command", "up"),
	Newer:    bindShown("↓", "newer command", "down"),
}

// OverlayKeys work in every overlay.
type OverlayKeys struct {
	Close key.Binding
}

// Overlay is the set of overlay bindings: esc (Global.Back) and q close
// the top overlay.
var Overlay = OverlayKeys{
	Close: bind("close the overlay", "q"),
}

// TableKeys move inside a table.
type TableKeys struct {
	Up, Down, Top, Bottom, PageUp, PageDown key.Binding
	Enter, Detail                           key.Binding
	Sort, Reverse                           key.Binding
}

// Table is the set of table bindings.
var Table = TableKeys{
	Up:       bindShown("k/↑", "up", "k", "up"),
	Down:     bindShown("j/↓", "down", "j", "down"),
	Top:      bind("top", "g", "home"),
	Bottom:   bind("bottom", "G", "end"),
	PageUp:   bindShown("pgup", "page up", "pgup", "ctrl+b"),
	PageDown: bindShown("pgdn", "page down", "pgdown", "ctrl+f"),
	Enter:    bind("drill into namespace / open", "enter"),
	Detail:   bind("details of the row", "d"),
	Sort:     bind("sort by the next column", "s"),
	Reverse:  bind("reverse the sort", "S"),
}

// ActionKeys act on the selected row.
type ActionKeys struct {
	Logs, NetPol, Toggle, Restart, UseWaypoint key.Binding
	// CreateWaypoint and DeleteWaypoint add and remove waypoint Gateways.
	CreateWaypoint, DeleteWaypoint key.Binding
}

// Action is the set of row actions.
var Action = ActionKeys{
	Logs:        bind("ztunnel logs of the workload / namespace (and its waypoint's access log)", "l"),
	NetPol:      bind("NetworkPolicy patch for HBONE", "n"),
	Toggle:      bind("toggle ambient (namespace; pod outside one) / opt-out (pod)", "a"),
	Restart:     bind("restart workloads after enrollment", "R"),
	UseWaypoint: bind("bind a namespace, Service or pod to a waypoint, or unbind it", "W"),
	// C and ctrl+d as k9s has them: create, delete.
	CreateWaypoint: bind("create a waypoint (in the row's namespace)", "C"),
	DeleteWaypoint: bind("delete the waypoint", "ctrl+d"),
}

// IsWrite reports whether b is one of the keys that change the cluster,
// which read-only mode disables.
func IsWrite(b key.Binding) bool {
	for _, w := range []key.Binding{Action.Toggle, Action.Restart, Action.UseWaypoint, Action.CreateWaypoint, Action.DeleteWaypoint, Migrate.Start} {
		if slices.Equal(w.Keys(), b.Keys()) {
			return true
		}
	}
	return false
}

// DialogKeys answer a confirmation.
type DialogKeys struct {
	Yes, No, Left, Right, Confirm key.Binding
}

// Dialog is the set of dialog bindings.
var Dialog = DialogKeys{
	Yes:     bind("applies", "y"),
	No:      bindShown("n/esc", "cancels", "n", "esc"),
	Left:    bind("choose", "left", "h", "shift+tab"),
	Right:   bind("choose", "right", "l", "tab"),
	Confirm: bind("cancels on No (only y applies)", "enter"),
}

// ZtunnelKeys open and drive the views of what ztunnel holds and carries.
type ZtunnelKeys struct {
	Open, Traffic, NextTab, PrevTab, Next, Prev, Refresh key.Binding
}

// Ztunnel is the set of ztunnel and traffic view bindings.
var Ztunnel = ZtunnelKeys{
	Open:    bind("ztunnel view: what the node's ztunnel holds, and drift", "z"),
	Traffic: bind("traffic: live edges from ztunnel metrics", "T"),
	NextTab: bind("next tab", "tab"),
	PrevTab: bind("previous tab", "shift+tab"),
	Next:    bind("next ztunnel", "]"),
	Prev:    bind("previous ztunnel", "["),
	Refresh: bind("read again now", "r"),
}

// YAMLKeys drive the YAML view.
type YAMLKeys struct {
	Open, Next, Prev, Managed, Copy key.Binding
}

// YAML is the set of YAML view bindings.
var YAML = YAMLKeys{
	Open:    bind("YAML of the row, as stored", "y"),
	Next:    bind("next match", "n"),
	Prev:    bind("previous match", "N"),
	Managed: bind("show / hide managedFields and last-applied", "m"),
	Copy:    bind("copy the YAML", "c"),
}

// Section is a titled group of bindings for the help overlay.
type Section struct {
	Title    string
	Bindings []key.Binding
}

// Help returns every section, in the order the overlay shows them.
func Help() []Section {
	return []Section{
		{"Program", []key.Binding{Global.Help, Global.Quit, Global.ForceQuit}},
		{"Panes", []key.Binding{Global.NextPane, Global.PrevPane}},
		{"Move", []key.Binding{Table.Up, Table.Down, Table.Top, Table.Bottom, Table.PageUp, Table.PageDown, Table.Sort, Table.Reverse}},
		{"View", []key.Binding{Table.Enter, Table.Detail, Global.Filter, Global.Command, Global.Back, Global.Findings, Global.Overhead, Global.Install, Ztunnel.Open, Ztunnel.Traffic, YAML.Open, Events.Open}},
		{"Command line", []key.Binding{Prompt.Complete, Prompt.Older, Prompt.Newer, Prompt.Run, Prompt.Cancel}},
		{"Act", []key.Binding{Action.Logs, Action.NetPol, Action.Toggle, Action.Restart, Action.UseWaypoint, Action.CreateWaypoint, Action.DeleteWaypoint, Migrate.Start}},
		WaypointFormHelp(),
		{"Findings", []key.Binding{Finding.Jump, Finding.Patch}},
		MouseHelp(),
		{"Patch view", []key.Binding{Patch.Form, Patch.Prev, Patch.Next, Patch.Copy, Patch.Write}},
		LogsHelp(),
	}
}
