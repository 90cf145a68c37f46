package ui

import (
	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/namespaces"
	"github.com/ambx/ambx/views/netpols"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/policies"
	"github.com/ambx/ambx/views/serviceentries"
	"github.com/ambx/ambx/views/services"
	"github.com/ambx/ambx/views/waypoints"
	"github.com/ambx/ambx/views/workloads"
)

// registration is one pane of the main screen and how the user reaches it.
// This list is the only place that names the panes: routing, filtering,
// drill-down, sizes, snapshots, `:` commands, number keys and help all
// loop over it.
type registration struct {
	pane pane.Resource
	// commands are the `:` names that show the pane, the first one canonical.
	commands []string
	// grid places the pane in the four-pane grid (in registry order: top
	// left, top right, bottom left, bottom right); other panes are shown
	// full-width when chosen.
	grid bool
}

func registry(t *theme.Theme) []registration {
	return []registration{
		{pane: namespaces.New(t), commands: []string{"ns", "namespaces", "namespace"}, grid: true},
		{pane: workloads.New(t), commands: []string{"wl", "pods", "pod", "po", "workloads"}, grid: true},
		{pane: waypoints.New(t), commands: []string{"wp", "waypoints", "waypoint", "gw"}, grid: true},
		{pane: policies.New(t), commands: []string{"pol", "policies", "policy", "ap"}, grid: true},
		{pane: services.New(t), commands: []string{"svc", "services", "service"}},
		{pane: netpols.New(t), commands: []string{"np", "netpol", "networkpolicies", "networkpolicy"}},
		{pane: serviceentries.New(t), commands: []string{"se", "serviceentries", "serviceentry"}},
	}
}

// paneFor returns the index of the pane whose rows are of kind k.
func (m Model) paneFor(k kube.Kind) (int, bool) {
	for i, r := range m.panes {
		for _, pk := range r.pane.Kinds() {
			if pk == k {
				return i, true
			}
		}
	}
	return 0, false
}

// focused is the pane with the keyboard.
func (m Model) focused() pane.Resource { return m.panes[m.focus].pane }

// eachPane replaces every pane with f's result.
func (m Model) eachPane(f func(pane.Resource) pane.Resource) Model {
	panes := make([]registration, len(m.panes))
	for i, r := range m.panes {
		r.pane = f(r.pane)
		panes[i] = r
	}
	m.panes = panes
	return m
}

// setFocused replaces the focused pane.
func (m Model) setFocused(p pane.Resource) Model {
	panes := append([]registration(nil), m.panes...)
	panes[m.focus].pane = p
	m.panes = panes
	return m
}

// grid returns the indexes of the grid panes.
func (m Model) gridPanes() []int {
	var out []int
	for i, r := range m.panes {
		if r.grid {
			out = append(out, i)
		}
	}
	return out
}

// paneHelp lists the panes for the help: the number key, the name and the
// `:` command that show each.
func (m Model) paneHelp() [][2]string {
	var out [][2]string
	for i, r := range m.panes {
		k := ""
		if i < len(keymap.Global.Panes) {
			k = keymap.Global.Panes[i].Help().Key
		}
		out = append(out, [2]string{k, r.pane.Name() + "  :" + r.commands[0]})
	}
	return out
}
