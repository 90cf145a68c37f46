package findings

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

// Badge is the header's count of findings by severity ("✖ 4 ⚠ 1 ! list"),
// each in its severity's colour, at most width cells. A snapshot whose
// checks did not all run says so: zero errors then means nothing.
func Badge(t *theme.Theme, s *kube.Snapshot, width int) string {
	if width <= 0 {
		return ""
	}
	type part struct {
		text string
		tone theme.Tone
	}
	var parts []part
	add := func(text string, tone theme.Tone) { parts = append(parts, part{text, tone}) }
	switch {
	case s == nil:
		add("findings: waiting", theme.ToneDim)
	default:
		all := s.Marks().All()
		for _, sev := range pane.Severities {
			n := count(all, sev)
			if n == 0 {
				continue
			}
			g := pane.SeverityGlyph(sev)
			add(fmt.Sprintf("%s %d", g.Mark, n), g.Tone)
		}
		skipped := len(s.Coverage())
		zt := s.Ztunnel.Short() // the drift checks, which read ztunnel itself
		if !s.Reachable && s.Ztunnel != nil && s.Ztunnel.Done.IsZero() {
			zt = "ztunnel not read" // no round can finish while the server is away
		}
		switch {
		case skipped > 0:
			add(fmt.Sprintf("%d of %d checks not run", skipped, len(kube.Checks)), theme.ToneWarn)
		case all.Total() == 0 && zt == "":
			add("✔ no findings", theme.ToneGood)
		}
		if zt != "" {
			add(zt, theme.ToneWarn)
		}
		if all.Total() > 0 || skipped > 0 || zt != "" {
			add("! list", theme.ToneDim)
		}
	}
	// Drop from the end (the hint first) until it fits.
	for len(parts) > 0 {
		texts := make([]string, len(parts))
		for i, p := range parts {
			texts[i] = p.text
		}
		plain := " " + strings.Join(texts, " ") + " "
		if w := ansi.StringWidth(plain); w <= width || len(parts) == 1 {
			var b strings.Builder
			b.WriteString(" ")
			for i, p := range parts {
				if i > 0 {
					b.WriteString(" ")
				}
				b.WriteString(t.Tone(p.tone).Render(p.text))
			}
			b.WriteString(" ")
			if w > width {
				return ansi.Truncate(b.String(), width, "…")
			}
			return b.String()
		}
		parts = parts[:len(parts)-1]
	}
	return ""
}

func count(t finding.Tally, s finding.Severity) int {
	switch s {
	case finding.Error:
		return t.Errors
	case finding.Warning:
		return t.Warnings
	}
	return t.Infos
}
