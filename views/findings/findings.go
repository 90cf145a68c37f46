// Package findings is the findings list (key !): every problem the
// analyses found, for the cluster or the drilled-in namespace, most severe
// first, with the selected one's why and fix below the list.
package findings

import (
	"fmt"
	"strconv"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Jump asks the root to focus the pane holding Ref's object (enter).
type Jump struct{ Ref finding.Ref }

// OpenPatch asks the root to open the patch view on Finding (n).
type OpenPatch struct{ Finding finding.Finding }

// Model is the findings list.
type Model struct {
	pane.Pane
	snap      *kube.Snapshot
	namespace string
	byKey     map[string]finding.Finding
	height    int
	// gaps are the lines above the list saying which checks did not run
	// and why: without them an empty or short list would read as clean.
	gaps []string
}

// New returns an empty list.
func New(t *theme.Theme) Model {
	return Model{Pane: pane.New(t, "Findings",
		table.Column{Title: "SEVERITY", Min: 9, Max: 9},
		table.Column{Title: "KIND", Min: 7, Max: 21, Priority: 2},
		table.Column{Title: "OBJECT", Min: 12, Max: 40, Priority: 1},
		table.Column{Title: "TITLE", Min: 12},
	)}
}

// SetSnapshot rebuilds the rows.
func (m Model) SetSnapshot(s *kube.Snapshot) Model { m.snap = s; return m.rebuild() }

// SetNamespace limits the list to one namespace ("" for all).
func (m Model) SetNamespace(ns string) Model { m.namespace = ns; m.Scope = ns; return m.rebuild() }

// SetFilter filters the rows by substring.
func (m Model) SetFilter(f string) Model { m.Table = m.Table.SetFilter(f); return m }

// SetSize tells the list its size, so the cursor stays on screen.
func (m Model) SetSize(_, height int) Model {
	m.height = height
	list, _ := split(height)
	m.Pane = m.Pane.SetHeight(list - len(m.gapLines(list)))
	return m
}

// gapLines are the coverage lines that fit above a list of height lines:
// at least one, however short, since it is what makes the list honest.
func (m Model) gapLines(list int) []string {
	if len(m.gaps) == 0 {
		return nil
	}
	room := max(1, list/3)
	if len(m.gaps) <= room {
		return m.gaps
	}
	out := append([]string(nil), m.gaps[:room-1]...)
	return append(out, fmt.Sprintf("+%d more not run (widen the window to see them)", len(m.gaps)-room+1))
}

// About reports whether f is about namespace ns or an object in it.
func About(f finding.Finding, ns string) bool {
	return f.Object.Namespace == ns || f.Object.Kind == "Namespace" && f.Object.Name == ns
}

func (m Model) rebuild() Model {
	s := m.snap
	m.Note, m.gaps, m.Partial = "", nil, ""
	if s == nil {
		m.Note = "waiting for the cluster…: nothing checked yet"
		m.Table = m.Table.SetRows(nil)
		return m.SetSize(0, m.height)
	}
	skipped := s.Coverage()
	if len(skipped) > 0 {
		m.Partial = fmt.Sprintf("%d of %d checks not run", len(skipped), len(kube.Checks))
	}
	switch {
	case !s.Reachable && len(skipped) == len(kube.Checks) && len(s.Unread(kube.ResNamespaces)) > 0:
		// Nothing was read: one line says it better than four.
		m.gaps = []string{"cannot reach the API server: nothing was read, no check ran"}
	default:
		if !s.Reachable {
			// What was read before the outage was checked; newer
			// changes were not.
			m.gaps = append(m.gaps, "API server unreachable: findings are from the last data read")
		}
		for _, k := range skipped {
			m.gaps = append(m.gaps, k.String())
		}
	}
	// The drift checks read ztunnel itself: until it was read, their
	// silence is no all-clear either. Its errors quote the server.
	ztGap := safe.Line(s.Ztunnel.Gap())
	if ztGap != "" {
		m.gaps = append(m.gaps, ztGap)
	}
	// Drift judged partly from earlier reads says how old they are.
	if ages := s.Ztunnel.Ages(); ages != "" {
		m.gaps = append(m.gaps, ages)
	}
	m.byKey = make(map[string]finding.Finding, len(s.Findings))
	rows := make([]table.Row, 0, len(s.Findings))
	seen := map[string]int{}
	for _, f := range s.Findings {
		if m.namespace != "" && !About(f, m.namespace) {
			continue
		}
		// Code, object and title name a finding across snapshots, so the
		// cursor stays on it when the list is rebuilt.
		k := f.Code + "|" + f.Object.String() + "|" + f.Title
		if n := seen[k]; n > 0 {
			k += "|" + strconv.Itoa(n)
		}
		seen[f.Code+"|"+f.Object.String()+"|"+f.Title]++
		m.byKey[k] = f
		g := SeverityGlyph(f.Severity)
		object := f.Object.Name
		if f.Object.Namespace != "" {
			object = f.Object.Namespace + "/" + f.Object.Name
		}
		title := f.Title
		if f.Patch != nil {
			title += " [patch]"
		}
		rows = append(rows, table.Row{Key: k, Cells: []table.Cell{
			pane.StateCell(g, f.Severity.String()),
			pane.Dim(f.Object.Kind),
			pane.Plain(object),
			pane.Plain(title),
		}})
	}
	where := ""
	if m.namespace != "" {
		where = " in " + m.namespace
	}
	switch {
	case len(rows) > 0:
	case len(skipped) == len(kube.Checks):
		m.Note = "no check ran: their inputs were not read (above), so nothing is known" + where
	case len(skipped) > 0 || ztGap != "":
		m.Note = "no findings" + where + " from the checks that ran; the others did not run (above), so this is not a clean bill"
	default:
		m.Note = "no findings" + where + ": every check ran and found nothing wrong"
	}
	m.Table = m.Table.SetRows(rows)
	return m.SetSize(0, m.height)
}

// Selected returns the finding under the cursor.
func (m Model) Selected() (finding.Finding, bool) {
	f, ok := m.byKey[m.Table.SelectedKey()]
	return f, ok
}

// Update handles movement, enter (Jump) and n (OpenPatch).
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		switch {
		case key.Matches(k, keymap.Finding.Jump):
			return m, m.jump()
		case key.Matches(k, keymap.Finding.Patch):
			if f, ok := m.Selected(); ok && f.Patch != nil {
				return m, func() tea.Msg { return OpenPatch{Finding: f} }
			}
			return m, nil
		}
	}
	var cmd tea.Cmd
	m.Pane, cmd = m.Pane.Update(msg)
	return m, cmd
}

// Click acts on a click at cell x, y of View(width, height): a finding's
// row jumps to its object as enter does, a column header sorts by it.
func (m Model) Click(x, y, width, height int) (Model, tea.Cmd) {
	list, _ := split(height)
	gaps := m.visibleGaps(list)
	if y >= list || y >= 1 && y <= len(gaps) {
		return m, nil // the why/fix panel or a coverage line
	}
	if y > len(gaps) {
		y -= len(gaps)
	}
	var h table.Hit
	m.Pane, h = m.Pane.Click(x, y, width, list-len(gaps))
	if h.Row < 0 || h.Header {
		return m, nil
	}
	return m, m.jump()
}

// jump is the command that asks the root to show the selected finding's
// object.
func (m Model) jump() tea.Cmd {
	f, ok := m.Selected()
	if !ok {
		return nil
	}
	return func() tea.Msg { return Jump{Ref: f.Object} }
}

// visibleGaps are the coverage lines View draws above a list of list lines.
func (m Model) visibleGaps(list int) []string {
	gaps := m.gapLines(list)
	if len(gaps) >= list {
		return nil // a list too short for both keeps its title, which says partial
	}
	return gaps
}

// split divides a height between the list and the why/fix panel below.
func split(height int) (list, detail int) {
	if height < 8 {
		return height, 0
	}
	detail = min(12, height*2/5)
	return height - detail, detail
}

// View renders the list and the selected finding in exactly width x height
// cells.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	list, detail := split(height)
	gaps := m.visibleGaps(list)
	p := m.Pane.SetHeight(list - len(gaps))
	out := p.View(width, list-len(gaps), true)
	if len(gaps) > 0 {
		head, rest, _ := strings.Cut(out, "\n")
		var b strings.Builder
		b.WriteString(head)
		for _, g := range gaps {
			b.WriteString("\n" + m.Theme.Tone(theme.ToneWarn).Render(pane.Fit(" ? "+g, width)))
		}
		if rest != "" || list-len(gaps) > 1 {
			b.WriteString("\n" + rest)
		}
		out = b.String()
	}
	if detail == 0 {
		return out
	}
	return out + "\n" + m.detail(width, detail)
}

// detail draws why and fix of the selected finding.
func (m Model) detail(width, height int) string {
	t := m.Theme
	f, ok := m.Selected()
	var lines []string
	head := " "
	if ok {
		g := SeverityGlyph(f.Severity)
		head = " " + g.Mark + " " + safe.Line(f.Object.String())
	}
	lines = append(lines, t.PaneTitle.Render(pane.Fit(head, width)))
	if ok {
		// Labels hang to the left so a short panel still shows the fix.
		add := func(label, text string, tone theme.Tone) {
			if strings.TrimSpace(text) == "" {
				return
			}
			text = safe.Text(text)
			first := true
			for _, para := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
				for _, l := range strings.Split(ansi.Wrap(para, max(1, width-6), " ,"), "\n") {
					lead := "      "
					if first {
						lead = " " + t.Header.Render(label) + strings.Repeat(" ", 5-len(label))
						first = false
					}
					lines = append(lines, lead+t.Tone(tone).Render(pane.Fit(l, max(0, width-6))))
				}
			}
		}
		add("", f.Title, theme.ToneNormal)
		add("Why", f.Why, theme.ToneNormal)
		add("Fix", f.Fix, theme.ToneInfo)
		if f.Patch != nil {
			lines = append(lines, t.Tone(theme.ToneAccent).Render(pane.Fit(" n    suggested patch: "+safe.Line(f.Patch.Title), width)))
		}
	}
	for len(lines) < height {
		lines = append(lines, strings.Repeat(" ", width))
	}
	if len(lines) > height {
		lines = append(lines[:height-1], t.Empty.Render(pane.Fit(" …", width)))
	}
	return strings.Join(lines, "\n")
}
