package findings

import (
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/views/pane"
)

// SeverityGlyph returns the mark of a severity (pane.SeverityGlyph, the one
// mapping every view uses).
func SeverityGlyph(s finding.Severity) pane.Glyph { return pane.SeverityGlyph(s) }

// Severities lists severities in legend order.
var Severities = pane.Severities
