package pane

import (
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/table"
)

// severityGlyphs is the one mapping of severity to mark and colour: the
// row marks, the header badge, the detail view and the findings list all
// read it, so an error is the same red ✖ wherever it shows.
var severityGlyphs = map[finding.Severity]Glyph{
	finding.Error:   {Mark: "✖", Tone: theme.ToneBad, Meaning: "error: traffic is blocked or a policy does not do what it says"},
	finding.Warning: {Mark: "⚠", Tone: theme.ToneWarn, Meaning: "warning: works now, but not as intended"},
	finding.Info:    {Mark: "ℹ", Tone: theme.ToneInfo, Meaning: "info"},
}

// SeverityGlyph returns the mark of a severity; anything above Error is
// drawn as an error.
func SeverityGlyph(s finding.Severity) Glyph {
	if s > finding.Error {
		s = finding.Error
	}
	if g, ok := severityGlyphs[s]; ok {
		return g
	}
	return severityGlyphs[finding.Info]
}

// Severities lists severities in legend order.
var Severities = []finding.Severity{finding.Error, finding.Warning, finding.Info}

// MarkCell is the mark of a row's worst finding, or an empty cell.
func MarkCell(t finding.Tally) table.Cell {
	s, ok := t.Worst()
	if !ok {
		return table.Cell{}
	}
	g := SeverityGlyph(s)
	return table.Cell{Text: g.Mark, Tone: g.Tone}
}
