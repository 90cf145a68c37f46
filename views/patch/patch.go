// Package patch is the patch view: the fix a finding suggests, as the
// kubectl patch command that extends the existing object and as a
// standalone NetworkPolicy, coloured, scrollable, copyable and savable.
package patch

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui/clipboard"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/highlight"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/savefile"
)

// Form is which of a patch's two forms is shown.
type Form int

// Forms, in tab order.
const (
	FormCommand  Form = iota // kubectl patch --type=json against the existing object
	FormManifest             // a standalone NetworkPolicy
)

var formNames = [...]string{FormCommand: "kubectl patch", FormManifest: "NetworkPolicy YAML"}

// Copied reports the end of a copy (key y); the root shows Status().
type Copied struct {
	Text   string // what was copied
	Method clipboard.Method
	Err    error
}

// Status is the status-bar line for the copy.
func (c Copied) Status() string {
	return clipboard.Result{Bytes: len(c.Text), Method: c.Method, Err: c.Err}.Status()
}

// Saved reports the end of a write (key w); the root shows Status().
type Saved struct {
	Path string
	Err  error
}

// Status is the status-bar line for the write.
func (s Saved) Status() string {
	if s.Err != nil {
		return "write failed: " + s.Err.Error()
	}
	return "wrote " + s.Path
}

// Model is the patch view.
type Model struct {
	theme    *theme.Theme
	scope    string            // what the patches are for, e.g. "namespace loki"
	findings []finding.Finding // only findings with a Patch
	sel      int
	form     Form
	offset   int // first wrapped line shown
	width    int // last size from SetSize, for paging and clamping
	height   int
	dir      string
	copier   func(text string, done func(clipboard.Result) tea.Msg) tea.Cmd
}

// New returns a view of the patches of fs that have one; scope says what
// they are for, and is shown when there is none.
func New(t *theme.Theme, scope string, fs []finding.Finding) Model {
	m := Model{theme: t, scope: scope, copier: clipboard.Copy, width: 80, height: 24}
	for _, f := range fs {
		if f.Patch != nil {
			m.findings = append(m.findings, f)
		}
	}
	return m
}

// ForFinding shows one finding's patch.
func ForFinding(t *theme.Theme, f finding.Finding) Model {
	return New(t, f.Object.String(), []finding.Finding{f})
}

// ForNamespace shows every patch for objects in namespace ns.
func ForNamespace(t *theme.Theme, s *kube.Snapshot, ns string) Model {
	var fs []finding.Finding
	if s != nil {
		for _, f := range s.Findings {
			if f.Object.Namespace == ns || f.Object.Kind == "Namespace" && f.Object.Name == ns ||
				f.Patch != nil && f.Patch.Target.Namespace == ns {
				fs = append(fs, f)
			}
		}
	}
	return New(t, "namespace "+ns, fs)
}

// ForPod shows the patches about the pod and about the NetworkPolicies
// that select it.
func ForPod(t *theme.Theme, s *kube.Snapshot, k ambient.Key) Model {
	scope := "pod " + k.String()
	if s == nil {
		return New(t, scope, nil)
	}
	var podLabels labels.Set
	for _, p := range s.Pods {
		if p.Namespace == k.Namespace && p.Name == k.Name {
			podLabels = p.Labels
			break
		}
	}
	selects := map[string]bool{} // NetworkPolicy names in k.Namespace that select the pod
	for _, np := range s.NetworkPolicies {
		if np.Namespace != k.Namespace {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
		if err == nil && sel.Matches(podLabels) {
			selects[np.Name] = true
		}
	}
	var fs []finding.Finding
	for _, f := range s.Findings {
		o := f.Object
		if o.Kind == "Pod" && o.Namespace == k.Namespace && o.Name == k.Name ||
			o.Kind == "NetworkPolicy" && o.Namespace == k.Namespace && selects[o.Name] {
			fs = append(fs, f)
		}
	}
	return New(t, scope, fs)
}

// SetDir sets the folder w writes into (default: the current directory,
// else the user's state directory).
func (m Model) SetDir(dir string) Model { m.dir = dir; return m }

// SetCopier replaces the clipboard (tests, or a program with its own).
func (m Model) SetCopier(c func(text string, done func(clipboard.Result) tea.Msg) tea.Cmd) Model {
	m.copier = c
	return m
}

// SetSize tells the view its size, so paging and scrolling know the page.
func (m Model) SetSize(width, height int) Model {
	m.width, m.height = width, height
	m.offset = m.clampOffset(m.offset, width, height)
	return m
}

// Len returns how many patches the view holds.
func (m Model) Len() int { return len(m.findings) }

// Form returns the form shown.
func (m Model) Form() Form { return m.form }

// Selected returns the finding whose patch is shown.
func (m Model) Selected() (finding.Finding, bool) {
	if m.sel < 0 || m.sel >= len(m.findings) {
		return finding.Finding{}, false
	}
	return m.findings[m.sel], true
}

// Text returns the text shown, which is what y copies and w writes.
func (m Model) Text() string {
	f, ok := m.Selected()
	if !ok {
		return ""
	}
	if m.form == FormManifest {
		return f.Patch.Manifest
	}
	return f.Patch.Command
}

// FileName is the name w writes the shown text under.
func (m Model) FileName() string {
	f, ok := m.Selected()
	if !ok {
		return ""
	}
	target := f.Patch.Target
	if target.Name == "" {
		target = f.Object
	}
	parts := []string{"ambx-patch"}
	for _, p := range []string{target.Namespace, target.Name} {
		if p != "" {
			parts = append(parts, safeName(p))
		}
	}
	ext := ".sh"
	if m.form == FormManifest {
		ext = ".yaml"
	}
	return strings.Join(parts, "-") + ext
}

// safeName keeps a path element from leaving the folder.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// Update handles the view's keys.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	k, ok := msg.(tea.KeyPressMsg)
	if !ok {
		return m, nil
	}
	page := max(1, m.bodyHeight(m.height)-1)
	switch {
	case key.Matches(k, keymap.Patch.Form):
		m.form = (m.form + 1) % Form(len(formNames))
		m.offset = 0
	case key.Matches(k, keymap.Patch.Next):
		if len(m.findings) > 0 {
			m.sel = (m.sel + 1) % len(m.findings)
			m.offset = 0
		}
	case key.Matches(k, keymap.Patch.Prev):
		if len(m.findings) > 0 {
			m.sel = (m.sel + len(m.findings) - 1) % len(m.findings)
			m.offset = 0
		}
	case key.Matches(k, keymap.Patch.Copy):
		text := m.Text()
		if text == "" {
			return m, func() tea.Msg { return Copied{Err: errors.New("no patch to copy")} }
		}
		return m, m.copier(text, func(r clipboard.Result) tea.Msg {
			return Copied{Text: text, Method: r.Method, Err: r.Err}
		})
	case key.Matches(k, keymap.Patch.Write):
		text, name := m.Text(), m.FileName()
		if text == "" {
			return m, func() tea.Msg { return Saved{Err: errors.New("no patch to write")} }
		}
		dir := m.dir
		return m, func() tea.Msg {
			path, err := writeNew(dir, name, text)
			return Saved{Path: path, Err: err}
		}
	default:
		m.offset, _ = pane.ScrollTo(k, m.offset, page)
	}
	m.offset = m.clampOffset(m.offset, m.width, m.height)
	return m, nil
}

// writeNew writes text to a new file name (never over an existing one),
// in dir or, when dir is "", the current directory or the user's state
// directory. It returns the absolute path.
func writeNew(dir, name, text string) (string, error) {
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	dirs := savefile.Dirs()
	if dir != "" {
		dirs = []string{dir}
	}
	return savefile.Create(dirs, name, []byte(text))
}

// header lines above the body and the footer below it, for a height.
func chrome(height int) (top, bottom int) {
	switch {
	case height >= 8:
		return 3, 1 // title, tabs, finding; keys
	case height >= 4:
		return 2, 0 // title, tabs
	default:
		return 1, 0
	}
}

func (m Model) bodyHeight(height int) int {
	top, bottom := chrome(height)
	return max(0, height-top-bottom)
}

// lines returns the shown text coloured by views/highlight and wrapped to
// width cells, so a long kubectl command stays readable instead of being
// cut off. lipgloss.Wrap breaks between escape sequences, never inside
// one, and opens the style of a token cut in two again on the next row.
func (m Model) lines(width int) []string {
	text := m.Text()
	if strings.TrimSpace(text) == "" {
		return nil
	}
	lang := highlight.Shell
	if m.form == FormManifest {
		lang = highlight.YAML
	}
	var out []string
	for _, l := range highlight.Lines(m.theme, lang, text) {
		out = append(out, wrap(l, width)...)
	}
	return out
}

// wrap breaks styled text into rows of at most width cells, after a space
// or a comma when one is in reach, else inside a word. ansi.Wrap keeps a
// row's leading spaces even past the width (deep YAML in a tiny view), so
// Hardwrap cuts what is still too long; lipgloss's WrapWriter then closes
// the style at each row's end and opens it again on the next.
func wrap(s string, width int) []string {
	width = max(1, width)
	s = ansi.Hardwrap(ansi.Wrap(s, width, " ,"), width, true)
	var b strings.Builder
	w := lipgloss.NewWrapWriter(&b)
	_, _ = io.WriteString(w, s)
	_ = w.Close()
	return strings.Split(b.String(), "\n")
}

func (m Model) clampOffset(off, width, height int) int {
	n := len(m.lines(max(1, width)))
	return max(0, min(off, n-m.bodyHeight(height)))
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	t := m.theme
	top, bottom := chrome(height)
	out := make([]string, 0, height)
	title := " Patch ‹" + safe.Line(m.scope) + "›"
	if f, ok := m.Selected(); ok {
		if len(m.findings) > 1 {
			title += fmt.Sprintf(" %d/%d", m.sel+1, len(m.findings))
		}
		title += " · " + safe.Line(f.Patch.Title)
	}
	out = append(out, t.PaneTitleFocused.Render(pane.Fit(title, width)))
	f, ok := m.Selected()
	if !ok {
		note := "no suggested patch for " + safe.Line(m.scope) + ": nothing found that a NetworkPolicy change would fix"
		for _, l := range wrap(note, width-1) {
			if len(out) < height {
				out = append(out, t.Empty.Render(pane.Fit(" "+l, width)))
			}
		}
		return fill(out, width, height)
	}
	if top >= 2 {
		out = append(out, m.tabs(width))
	}
	if top >= 3 {
		g := findings.SeverityGlyph(f.Severity)
		line := " " + g.Mark + " " + safe.Line(f.Object.String()+": "+f.Title)
		out = append(out, t.Tone(g.Tone).Render(pane.Fit(line, width)))
	}
	body := m.bodyHeight(height)
	lines := m.lines(width - 1)
	off := max(0, min(m.offset, len(lines)-body))
	for i := off; i < off+body; i++ {
		if i < len(lines) {
			out = append(out, " "+pane.Fit(lines[i], width-1))
		} else {
			out = append(out, strings.Repeat(" ", width))
		}
	}
	if bottom > 0 {
		hint := "tab form · y copy · w write · j/k scroll"
		if len(m.findings) > 1 {
			hint = "[ ] patch · " + hint
		}
		if len(lines) > body {
			hint += fmt.Sprintf(" · %d-%d/%d", off+1, min(off+body, len(lines)), len(lines))
		}
		out = append(out, t.BarHint.Render(pane.Fit(" "+hint, width)))
	}
	return fill(out, width, height)
}

// tabs draws the two forms with the shown one active.
func (m Model) tabs(width int) string {
	t := m.theme
	line := ""
	for i, name := range formNames {
		st, label := t.Button, " "+name
		if Form(i) == m.form {
			st, label = t.ButtonActive, "▸"+name
		}
		next := line + " " + st.Render(label)
		if lipgloss.Width(next) > width {
			break
		}
		line = next
	}
	if w := lipgloss.Width(line); w < width {
		line += strings.Repeat(" ", width-w)
	}
	return line
}

func fill(lines []string, width, height int) string {
	for len(lines) < height {
		lines = append(lines, strings.Repeat(" ", width))
	}
	return strings.Join(lines[:height], "\n")
}
