// Package install is the install view (i): the Istio components found,
// their versions and readiness, revisions and tags, the root namespace,
// istio-cni's settings and istiod's switches with their effective values and
// where each came from. When the version could not be read it says which
// version the verdicts assume.
package install

import (
	"fmt"
	"slices"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	inst "github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// Model is the install view.
type Model struct {
	theme  *theme.Theme
	snap   *kube.Snapshot
	offset int
	height int
}

// New returns an empty install view.
func New(t *theme.Theme) Model { return Model{theme: t} }

// SetSnapshot shows the installation of s.
func (m Model) SetSnapshot(s *kube.Snapshot) Model { m.snap = s; return m }

// SetSize records the height, for paging.
func (m Model) SetSize(_, h int) Model { m.height = h; return m }

// Update scrolls.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok {
		if to, ok := pane.ScrollTo(k, m.offset, max(1, m.height-2)); ok {
			m.offset = max(0, to)
		}
	}
	return m, nil
}

type line struct {
	text string
	tone theme.Tone
	head bool
}

// lines is the view's content, one entry per screen line.
func (m Model) lines() []line {
	var out []line
	add := func(tone theme.Tone, format string, a ...any) {
		out = append(out, line{text: fmt.Sprintf(format, a...), tone: tone})
	}
	head := func(s string) {
		if len(out) > 0 {
			out = append(out, line{})
		}
		out = append(out, line{text: s, head: true})
	}
	if m.snap == nil {
		add(theme.ToneDim, "waiting for the cluster…")
		return out
	}
	in := m.snap.Install
	if !in.Discovered {
		add(theme.ToneWarn, "The installation was not read; verdicts assume Istio %s.", inst.AssumedVersion.MinorString())
		return out
	}
	if in.Loading {
		add(theme.ToneDim, "reading the installation…")
	}
	head(in.Headline())
	if in.Assumed() {
		add(theme.ToneWarn, "Verdicts assume Istio %s: istiod's version could not be read.", inst.AssumedVersion.MinorString())
	} else {
		add(theme.ToneNormal, "Verdicts follow istiod %s (revision %s in %s).", in.Istiod, in.Revision, in.IstiodNamespace)
	}
	if len(in.Problems) > 0 {
		head("Not read")
		for _, p := range in.Problems {
			add(theme.ToneWarn, "  %s", p)
		}
	}

	head("Components")
	add(theme.ToneDim, "  %-9s %-32s %-10s %-9s %-7s %s", "KIND", "NAMESPACE/NAME", "VERSION", "REVISION", "READY", "IMAGE")
	if len(in.Components) == 0 {
		add(theme.ToneBad, "  none found (istiod by app=istiod; ztunnel, istio-cni by app.kubernetes.io/name)")
	}
	for _, c := range in.Components {
		tone := theme.ToneGood
		if c.Desired == 0 || c.Ready < c.Desired {
			tone = theme.ToneBad
		}
		ver := c.Version.String()
		if c.VersionFrom != "" && c.VersionFrom != "image tag" {
			ver += "*"
		}
		add(tone, "  %-9s %-32s %-10s %-9s %-7s %s", c.Kind, c.Namespace+"/"+c.Name, ver, c.Revision,
			fmt.Sprintf("%d/%d", c.Ready, c.Desired), c.Image)
	}
	for _, k := range []inst.Kind{inst.Istiod, inst.Ztunnel, inst.CNI} {
		if _, ok := in.Found(k); ok {
			continue
		}
		why := "not found"
		if k == inst.Istiod && in.DeploymentsUnread || k != inst.Istiod && in.DaemonSetsUnread {
			why = "not readable"
		}
		add(theme.ToneWarn, "  %-9s %s", k, why)
	}
	if slices.ContainsFunc(in.Components, func(c inst.Component) bool { return c.VersionFrom != "" && c.VersionFrom != "image tag" }) {
		add(theme.ToneDim, "  * version from the chart label: the image has no version tag")
	}
	if len(in.Tags) > 0 {
		var tags []string
		for _, t := range in.Tags {
			tags = append(tags, t.Name+" → "+t.Revision)
		}
		add(theme.ToneNormal, "  revision tags: %s", strings.Join(tags, ", "))
	}
	add(theme.ToneNormal, "  root namespace: %s (%s)", in.RootNamespace, in.RootSource)

	head("istiod switches")
	add(theme.ToneDim, "  %-47s %-6s %s", "SWITCH", "VALUE", "FROM")
	for _, s := range in.Switches() {
		tone := theme.ToneNormal
		if s.Ignored {
			tone = theme.ToneWarn
		}
		val := "false"
		if s.On {
			val = "true"
		}
		from := s.Source
		if s.Set && !s.Ignored {
			from += fmt.Sprintf(" (%q)", s.Raw)
		}
		add(tone, "  %-47s %-6s %s", s.Name, val, from)
	}

	head("istio-cni")
	if !in.CNIConfig.Read {
		add(theme.ToneWarn, "  istio-cni-config not read: ambient on, exclusions kube-system and the default selectors assumed")
	} else {
		src := in.CNIConfig.Source
		if len(in.CNIConfig.EnvOverrides) > 0 {
			src += ", with install-cni env " + strings.Join(in.CNIConfig.EnvOverrides, ", ")
		}
		add(theme.ToneDim, "  from %s", src)
		tone := theme.ToneGood
		if !in.CNIAmbientEnabled() {
			tone = theme.ToneBad
		}
		add(tone, "  ambient redirection: %v", in.CNIAmbientEnabled())
	}
	dns := "default for " + in.CNIEffective().MinorString()
	if in.CNIConfig.DNSCapture != nil {
		dns = "set"
	}
	add(theme.ToneNormal, "  DNS capture: %v (%s)", in.CNIDNSCapture(), dns)
	add(theme.ToneNormal, "  excluded namespaces: %s", orNone(strings.Join(in.ExcludedNamespaces(), ", ")))
	sel := "defaults"
	if in.CNIConfig.EnablementSelectors != nil {
		sel = fmt.Sprintf("%d configured", len(in.CNIConfig.EnablementSelectors))
		if !in.CNIEffective().AtLeast(1, 27) {
			sel += ", ignored before 1.27: defaults apply"
		}
	}
	add(theme.ToneNormal, "  enablement selectors: %s", sel)
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if width < 1 || height < 1 {
		return ""
	}
	t := m.theme
	ls := m.lines()
	body := height - 1
	off := min(m.offset, max(0, len(ls)-body))
	title := " Istio installation"
	if len(ls) > body {
		title += fmt.Sprintf(" (%d-%d of %d)", off+1, min(off+body, len(ls)), len(ls))
	}
	rows := []string{t.OverlayTitle.Render(pane.Fit(title, width))}
	for i := off; i < len(ls) && len(rows) < height; i++ {
		l := ls[i]
		text := pane.Fit(safe.Line(l.text), width)
		switch {
		case l.head:
			rows = append(rows, t.Header.Render(text))
		default:
			rows = append(rows, t.Tone(l.tone).Render(text))
		}
	}
	for len(rows) < height {
		rows = append(rows, strings.Repeat(" ", width))
	}
	return strings.Join(rows, "\n")
}
