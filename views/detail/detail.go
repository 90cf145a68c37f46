// Package detail is the detail view (key d): everything the analysis knows
// about one namespace, pod, waypoint or policy, as a scrollable document.
package detail

import (
	"fmt"
	"github.com/ambx/ambx/kube/safe"
	"sort"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/pane"
)

// Model is the detail view of one object.
type Model struct {
	theme  *theme.Theme
	build  func(*kube.Snapshot) (title string, d doc)
	title  string
	doc    doc
	offset int
	width  int
	height int
}

func newModel(s *kube.Snapshot, t *theme.Theme, build func(*kube.Snapshot) (string, doc)) Model {
	m := Model{theme: t, build: build, width: 80, height: 24}
	return m.SetSnapshot(s)
}

// SetSnapshot rebuilds the document from a newer snapshot, keeping the
// scroll position.
func (m Model) SetSnapshot(s *kube.Snapshot) Model {
	if s == nil {
		m.title, m.doc = "waiting for the cluster…", doc{}
		return m
	}
	m.title, m.doc = m.build(s)
	m.title = safe.Line(m.title)
	m.offset = m.clamp(m.offset)
	return m
}

// Title returns what the view is about, e.g. "Pod shop/cart-0".
func (m Model) Title() string { return m.title }

// SetSize tells the view its size, for paging.
func (m Model) SetSize(width, height int) Model {
	m.width, m.height = width, height
	m.offset = m.clamp(m.offset)
	return m
}

func (m Model) clamp(off int) int {
	n := len(m.doc.lines(m.theme, max(1, m.width)))
	return max(0, min(off, n-(m.height-1)))
}

// Update scrolls.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	page := max(1, m.height-2)
	to, _ := pane.ScrollTo(k, m.offset, page)
	m.offset = m.clamp(to)
	return m, nil
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := m.theme
	lines := m.doc.lines(t, width)
	body := height - 1
	off := max(0, min(m.offset, len(lines)-body))
	title := " " + m.title
	if len(lines) > body {
		title += fmt.Sprintf(" (%d-%d/%d)", off+1, min(off+body, len(lines)), len(lines))
	}
	out := []string{t.PaneTitleFocused.Render(pane.Fit(title, width))}
	for i := off; i < off+body; i++ {
		if i < len(lines) {
			out = append(out, lines[i])
		} else {
			out = append(out, strings.Repeat(" ", width))
		}
	}
	return strings.Join(out, "\n")
}

// addFindings lists findings under a heading, or says there are none.
func (d *doc) addFindings(fs []finding.Finding) {
	d.section(fmt.Sprintf("Findings (%d)", len(fs)))
	if len(fs) == 0 {
		d.text("none", theme.ToneDim)
		return
	}
	for _, f := range fs {
		g := findings.SeverityGlyph(f.Severity)
		d.kv(g.Mark+" "+f.Severity.String(), f.Title, g.Tone)
		if f.Fix != "" {
			d.kv("  fix", f.Fix, theme.ToneInfo)
		}
	}
}

// addConditions lists istiod's status conditions, marking False ones.
func (d *doc) addConditions(conds []string) {
	if len(conds) == 0 {
		d.kv("conditions", "none reported", theme.ToneDim)
		return
	}
	for i, c := range conds {
		label := ""
		if i == 0 {
			label = "conditions"
		}
		tone := theme.ToneNormal
		if strings.Contains(c, "=False") {
			tone = theme.ToneBad
		}
		d.kv(label, c, tone)
	}
}

// labelsText renders labels as sorted k=v lines.
func labelsText(l map[string]string) string {
	if len(l) == 0 {
		return "none"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + l[k]
	}
	return strings.Join(out, "\n")
}

func matching(fs []finding.Finding, keep func(finding.Finding) bool) []finding.Finding {
	var out []finding.Finding
	for _, f := range fs {
		if keep(f) {
			out = append(out, f)
		}
	}
	return out
}
