package pane

import (
	"time"

	"k8s.io/apimachinery/pkg/util/duration"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/table"
)

// Glyph is a state's mark, its tone and what it means (for the legend).
type Glyph struct {
	Mark    string
	Tone    theme.Tone
	Meaning string
}

var podGlyphs = map[ambient.PodState]Glyph{
	ambient.PodCaptured:     {"●", theme.ToneGood, "captured by ztunnel (ambient)"},
	ambient.PodPending:      {"✖", theme.ToneBad, "redirection pending: no traffic flows"},
	ambient.PodSidecar:      {"◆", theme.ToneSidecar, "istio-proxy sidecar"},
	ambient.PodNeedsRestart: {"↻", theme.ToneWarn, "capture failed: check istio-cni, then restart it"},
	ambient.PodUncaptured:   {"◌", theme.ToneWarn, "should be captured: istio-cni has not (see its node)"},
	ambient.PodOptedOut:     {"⊘", theme.ToneDim, "opted out (dataplane-mode=none)"},
	ambient.PodNotMeshed:    {"○", theme.ToneDim, "not in the mesh"},
	ambient.PodHostNetwork:  {"⌂", theme.ToneDim, "host network: never captured"},
}

var nsGlyphs = map[ambient.NamespaceState]Glyph{
	ambient.NamespaceAmbient: {"●", theme.ToneGood, "ambient (istio.io/dataplane-mode=ambient)"},
	ambient.NamespaceSidecar: {"◆", theme.ToneSidecar, "sidecar injection"},
	ambient.NamespaceMixed:   {"◐", theme.ToneWarn, "mixed: ambient and sidecar"},
	ambient.NamespaceOff:     {"○", theme.ToneDim, "not enrolled"},
}

// PodStates lists pod states in legend order.
var PodStates = []ambient.PodState{ambient.PodCaptured, ambient.PodPending, ambient.PodSidecar, ambient.PodNeedsRestart, ambient.PodUncaptured, ambient.PodOptedOut, ambient.PodNotMeshed, ambient.PodHostNetwork}

// NamespaceStates lists namespace states in legend order.
var NamespaceStates = []ambient.NamespaceState{ambient.NamespaceAmbient, ambient.NamespaceSidecar, ambient.NamespaceMixed, ambient.NamespaceOff}

// PodGlyph returns the mark of a pod state.
func PodGlyph(s ambient.PodState) Glyph {
	if g, ok := podGlyphs[s]; ok {
		return g
	}
	return Glyph{"?", theme.ToneDim, string(s)}
}

// NamespaceGlyph returns the mark of a namespace state.
func NamespaceGlyph(s ambient.NamespaceState) Glyph {
	if g, ok := nsGlyphs[s]; ok {
		return g
	}
	return Glyph{"?", theme.ToneDim, string(s)}
}

// StateCell renders a mark and a word as one cell.
func StateCell(g Glyph, word string) table.Cell {
	return table.Cell{Text: g.Mark + " " + word, Tone: g.Tone}
}

// Plain is a cell in the normal tone.
func Plain(s string) table.Cell { return table.Cell{Text: s} }

// Dim is a cell in the dim tone.
func Dim(s string) table.Cell { return table.Cell{Text: s, Tone: theme.ToneDim} }

// Age is kubectl's short age of t at now ("5m", "3d").
func Age(t, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return duration.HumanDuration(now.Sub(t))
}

// AgeSpan is the stretch of clock [from, to) over which Age(t, ·) says
// what it says at now, so a pane can keep the text while the clock stays
// inside it; from == to (empty) when it cannot tell. HumanDuration shows
// seconds under 10 minutes, minutes under 8 hours, hours under 8 days,
// and whole days after that, each truncated: the text changes only when
// the age crosses a multiple of that unit, and each range starts at a
// multiple of the unit of the range after it. With no t the text is "-"
// at every instant.
func AgeSpan(t, now time.Time) (from, to time.Time) {
	if t.IsZero() {
		return time.Time{}, time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	d := now.Sub(t)
	if d < 0 {
		return now, now
	}
	unit := 24 * time.Hour
	switch {
	case d < 10*time.Minute:
		unit = time.Second
	case d < 8*time.Hour:
		unit = time.Minute
	case d < 8*24*time.Hour:
		unit = time.Hour
	}
	start := d.Truncate(unit)
	return t.Add(start), t.Add(start + unit)
}
