// Package ztunnel is the ztunnel view (z, :zt): what one ztunnel itself
// holds — workloads, services, authorization policies after istiod's
// translation, certificates — read from its config_dump, and where that
// disagrees with the API objects and ambx's analysis (drift).
package ztunnel

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/ztread"
	zt "github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Refresh is how often an open view reads its ztunnel again: config_dump
// is large, and a port-forward per read is not free for the API server.
const Refresh = 30 * time.Second

// Loaded carries one config_dump read.
type Loaded struct {
	Pod  ztread.Pod
	Dump *zt.Dump
	Err  error
	At   time.Time
}

// Fetcher reads a ztunnel's config_dump in a tea.Cmd; the root supplies it,
// so the view does no I/O.
type Fetcher func(ztread.Pod) tea.Cmd

type tab int

const (
	tabWorkloads tab = iota
	tabServices
	tabPolicies
	tabCerts
	tabDrift
	tabCount
)

var tabNames = [tabCount]string{"Workloads", "Services", "Policies", "Certificates", "Drift"}

// Model is the ztunnel view.
type Model struct {
	theme   *theme.Theme
	fetch   Fetcher
	now     func() time.Time
	snap    *kube.Snapshot
	pods    []ztread.Pod // every ztunnel, by node
	cur     int
	reading zt.Reading
	loading bool
	at      time.Time
	tab     tab
	pane    pane.Pane
	drift   []finding.Finding
	filter  string
	typing  bool
	started time.Time // when the current read began
	width   int
	height  int
}

// Ztunnels lists the ztunnel pods of a snapshot, sorted by node.
func Ztunnels(s *kube.Snapshot) []ztread.Pod {
	if s == nil {
		return nil
	}
	return ztread.Ztunnels(s.Pods)
}

// Open returns the view on the ztunnel of node (the first ztunnel when
// node is empty or runs none) and the command that reads it.
func Open(t *theme.Theme, s *kube.Snapshot, node string, fetch Fetcher, now func() time.Time) (Model, tea.Cmd) {
	if now == nil {
		now = time.Now
	}
	m := Model{theme: t, fetch: fetch, now: now}
	m = m.SetSnapshot(s)
	for i, p := range m.pods {
		if p.Node == node {
			m.cur = i
		}
	}
	return m.load()
}

func (m Model) load() (Model, tea.Cmd) {
	if len(m.pods) == 0 || m.fetch == nil {
		return m.rebuild(), nil
	}
	m.loading = true
	p := m.pods[m.cur]
	m.reading = zt.Reading{Node: p.Node, Pod: p.Namespace + "/" + p.Name}
	m.started = m.now()
	return m.rebuild(), m.fetch(p)
}

// Tick re-reads the ztunnel once Refresh has passed since the last read
// began; the root calls it with its clock tick, so no command of the view
// sleeps.
func (m Model) Tick(now time.Time) (Model, tea.Cmd) {
	if m.loading || m.started.IsZero() || now.Sub(m.started) < Refresh {
		return m, nil
	}
	return m.load()
}

// SetSnapshot follows the cluster: the ztunnel list and the drift, which
// compares the last read with the newest objects.
func (m Model) SetSnapshot(s *kube.Snapshot) Model {
	m.snap = s
	var cur ztread.Pod
	if m.cur < len(m.pods) {
		cur = m.pods[m.cur]
	}
	m.pods = Ztunnels(s)
	m.cur = 0
	for i, p := range m.pods {
		if p == cur {
			m.cur = i
		}
	}
	return m.rebuild()
}

// SetSize tells the view its size.
func (m Model) SetSize(w, h int) Model {
	m.width, m.height = w, h
	m.pane = m.pane.SetHeight(max(1, h-2))
	return m
}

// Update handles keys and reads.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case Loaded:
		if len(m.pods) == 0 || msg.Pod != m.pods[m.cur] {
			return m, nil
		}
		m.loading = false
		m.at = msg.At
		m.reading = zt.Reading{Node: msg.Pod.Node, Pod: msg.Pod.Namespace + "/" + msg.Pod.Name, Dump: msg.Dump}
		if msg.Err != nil {
			m.reading.Err = msg.Err.Error()
		}
		return m.rebuild(), nil
	case tea.KeyPressMsg:
		if m.typing {
			return m.typeFilter(msg), nil
		}
		switch {
		case key.Matches(msg, keymap.Ztunnel.NextTab):
			m.tab = (m.tab + 1) % tabCount
			return m.rebuild(), nil
		case key.Matches(msg, keymap.Ztunnel.PrevTab):
			m.tab = (m.tab + tabCount - 1) % tabCount
			return m.rebuild(), nil
		case key.Matches(msg, keymap.Ztunnel.Next), key.Matches(msg, keymap.Ztunnel.Prev):
			if len(m.pods) < 2 {
				return m, nil
			}
			d := 1
			if key.Matches(msg, keymap.Ztunnel.Prev) {
				d = len(m.pods) - 1
			}
			m.cur = (m.cur + d) % len(m.pods)
			return m.load()
		case key.Matches(msg, keymap.Ztunnel.Refresh):
			return m.load()
		case key.Matches(msg, keymap.Global.Filter):
			m.typing = true
			return m, nil
		}
		var cmd tea.Cmd
		m.pane, cmd = m.pane.Update(msg)
		return m, cmd
	}
	return m, nil
}

// Typing reports whether the filter line has the keyboard, so esc clears
// it instead of closing the view.
func (m Model) Typing() bool { return m.typing }

func (m Model) typeFilter(k tea.KeyPressMsg) Model {
	switch k.String() {
	case "esc":
		m.typing, m.filter = false, ""
	case "enter":
		m.typing = false
	case "backspace":
		if r := []rune(m.filter); len(r) > 0 {
			m.filter = string(r[:len(r)-1])
		}
	default:
		if k.Text != "" {
			m.filter += k.Text
		}
	}
	m.pane.Table = m.pane.Table.SetFilter(m.filter)
	return m
}

// Drift is the drift of the last read, for the findings list.
func (m Model) Drift() []finding.Finding { return m.drift }

func (m Model) rebuild() Model {
	t := m.theme
	var rows []table.Row
	var cols []table.Column
	d := m.reading.Dump
	m.drift = nil
	if d != nil && m.snap != nil && m.snap.Mesh != nil {
		m.drift = zt.Drift(&m.snap.Cluster, m.snap.Mesh, []zt.Reading{m.reading}, m.now())
	}
	cell := func(s string, tone theme.Tone) table.Cell { return table.Cell{Text: safe.Line(s), Tone: tone} }
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	switch m.tab {
	case tabWorkloads:
		cols = []table.Column{{Title: "NAMESPACE", Min: 9, Max: 24, Priority: 2}, {Title: "NAME", Min: 12, Max: 48},
			{Title: "IP", Min: 7, Max: 15, Priority: 3}, {Title: "NODE", Min: 6, Max: 20, Priority: 4},
			{Title: "PROTOCOL", Min: 8, Max: 8, Priority: 1}, {Title: "WAYPOINT", Min: 8, Max: 40, Priority: 2}, {Title: "STATUS", Min: 7, Max: 9, Priority: 3}}
		if d != nil {
			for _, w := range d.Workloads {
				proto := theme.ToneNormal
				if w.Protocol == "HBONE" {
					proto = theme.ToneGood
				}
				status := theme.ToneGood
				if w.Status != "Healthy" {
					status = theme.ToneBad
				}
				rows = append(rows, table.Row{Key: "w/" + w.Key(), Cells: []table.Cell{cell(w.Namespace, 0), cell(w.Name, 0),
					cell(strings.Join(w.IPs, ","), 0), cell(dash(w.Node), 0), cell(w.Protocol, proto), cell(dash(w.Waypoint), theme.ToneAccent), cell(w.Status, status)}})
			}
		}
	case tabServices:
		cols = []table.Column{{Title: "NAMESPACE", Min: 9, Max: 24, Priority: 2}, {Title: "NAME", Min: 12, Max: 40},
			{Title: "VIPS", Min: 7, Max: 32, Priority: 3}, {Title: "WAYPOINT", Min: 8, Max: 48, Priority: 1}, {Title: "ENDPOINTS", Min: 9, Max: 9, Right: true, Priority: 2}}
		if d != nil {
			for _, s := range d.Services {
				rows = append(rows, table.Row{Key: "s/" + s.Key(), Cells: []table.Cell{cell(s.Namespace, 0), cell(s.Name, 0),
					cell(dash(strings.Join(s.VIPs, ",")), 0), cell(dash(s.Waypoint), theme.ToneAccent), cell(strconv.Itoa(s.Endpoints), 0)}})
			}
		}
	case tabPolicies:
		cols = []table.Column{{Title: "NAMESPACE", Min: 9, Max: 24, Priority: 2}, {Title: "NAME", Min: 12, Max: 48},
			{Title: "SCOPE", Min: 6, Max: 16, Priority: 3}, {Title: "ACTION", Min: 6, Max: 6, Priority: 1}, {Title: "RULES", Min: 5, Max: 5, Right: true, Priority: 1}, {Title: "DRY-RUN", Min: 7, Max: 7, Priority: 3}}
		if d != nil {
			for _, p := range d.Policies {
				dry := "-"
				if p.DryRun {
					dry = "yes"
				}
				act := theme.ToneGood
				if p.Action == "Deny" {
					act = theme.ToneWarn
				}
				rows = append(rows, table.Row{Key: "p/" + p.Key(), Cells: []table.Cell{cell(p.Namespace, 0), cell(p.Name, 0),
					cell(dash(p.Scope), 0), cell(p.Action, act), cell(strconv.Itoa(p.Rules), 0), cell(dry, 0)}})
			}
		}
	case tabCerts:
		cols = []table.Column{{Title: "IDENTITY", Min: 20, Max: 60}, {Title: "STATE", Min: 9, Max: 40, Priority: 1}, {Title: "EXPIRES", Min: 7, Max: 12, Priority: 1}}
		if d != nil {
			for _, c := range d.Certificates {
				state := theme.ToneGood
				if c.State != "Available" {
					state = theme.ToneBad
				}
				exp, tone := "-", theme.ToneNormal
				if !c.Expires.IsZero() {
					left := c.Expires.Sub(m.now())
					exp = "in " + human(left)
					if left <= 0 {
						exp, tone = "expired", theme.ToneBad
					} else if left < zt.CertExpiryWarning {
						tone = theme.ToneWarn
					}
				}
				rows = append(rows, table.Row{Key: "c/" + c.Identity, Cells: []table.Cell{cell(c.Identity, 0), cell(c.State, state), cell(exp, tone)}})
			}
		}
	case tabDrift:
		cols = []table.Column{{Title: "SEVERITY", Min: 8, Max: 8}, {Title: "OBJECT", Min: 12, Max: 50}, {Title: "TITLE", Min: 12}}
		for i, f := range m.drift {
			tone := theme.ToneWarn
			if f.Severity == finding.Error {
				tone = theme.ToneBad
			}
			rows = append(rows, table.Row{Key: "d/" + strconv.Itoa(i), Cells: []table.Cell{cell(f.Severity.String(), tone), cell(f.Object.String(), 0), cell(f.Title, 0)}})
		}
	}
	p := pane.New(t, m.title(), cols...)
	p.Table = p.Table.SetRows(rows).SetFilter(m.filter)
	p.Note = m.note()
	if m.height > 0 {
		p = p.SetHeight(max(1, m.height-2))
	}
	m.pane = p
	return m
}

func (m Model) title() string {
	if len(m.pods) == 0 {
		return "ztunnel"
	}
	p := m.pods[m.cur]
	return fmt.Sprintf("ztunnel %s/%s on %s · %s", p.Namespace, p.Name, p.Node, tabNames[m.tab])
}

// note says why there are no rows: never an empty table for data that was
// not read.
func (m Model) note() string {
	switch {
	case m.snap == nil:
		return "waiting for the cluster…"
	case len(m.pods) == 0:
		return "No running ztunnel pod (label app=ztunnel) in the cluster: nothing to read."
	case m.reading.Err != "":
		return "Could not read " + m.reading.Pod + ": " + m.reading.Err
	case m.reading.Dump == nil:
		return "reading " + m.reading.Pod + " config_dump…"
	case m.tab == tabDrift:
		return "ztunnel holds what the API objects and ambx's analysis say."
	}
	return "ztunnel holds none."
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := m.theme
	var tabs []string
	for i, n := range tabNames {
		if tab(i) == tabDrift && len(m.drift) > 0 {
			n += " (" + strconv.Itoa(len(m.drift)) + ")"
		}
		if tab(i) == m.tab {
			tabs = append(tabs, t.PaneTitleFocused.Render(" "+n+" "))
		} else {
			tabs = append(tabs, " "+n+" ")
		}
	}
	status := ""
	switch {
	case m.loading:
		status = "reading…"
	case !m.at.IsZero():
		status = "read " + human(m.now().Sub(m.at)) + " ago"
		if v := m.reading.Dump; v != nil && v.Version != "" {
			status += " · ztunnel " + safe.Line(v.Version)
		}
	}
	if len(m.pods) > 1 {
		status += fmt.Sprintf(" · %d/%d ([ ] other ztunnel)", m.cur+1, len(m.pods))
	}
	if m.typing {
		status += " · /" + safe.Line(m.filter) + "▏"
	}
	head := pane.Fit(strings.Join(tabs, "")+"  "+t.Empty.Render(status), width)
	lines := []string{head}
	if height > 1 {
		lines = append(lines, strings.Split(m.pane.View(width, height-1, true), "\n")...)
	}
	for len(lines) < height {
		lines = append(lines, strings.Repeat(" ", width))
	}
	return strings.Join(lines[:height], "\n")
}

func human(d time.Duration) string {
	switch {
	case d < 0:
		d = -d
		fallthrough
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}
