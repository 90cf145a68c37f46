package findings

import (
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
)

var severityGlyphs = map[finding.Severity]pane.Glyph{
	finding.Error:   {Mark: "✖", Tone: theme.ToneBad, Meaning: "error: traffic is blocked or a policy does not do what it says"},
	finding.Warning: {Mark: "⚠", Tone: theme.ToneWarn, Meaning: "warning: works now, but not as intended"},
	finding.Info:    {Mark: "ℹ", Tone: theme.ToneInfo, Meaning: "info"},
}

// SeverityGlyph returns the mark of a severity.
func SeverityGlyph(s finding.Severity) pane.Glyph {
	if g, ok := severityGlyphs[s]; ok {
		return g
	}
	return severityGlyphs[finding.Info]
}

// Severities lists severities in legend order.
var Severities = []finding.Severity{finding.Error, finding.Warning, finding.Info}
