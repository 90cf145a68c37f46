// Package theme holds every style ambx draws with, by role. Views ask for
// "the style of a pending pod", never for a colour, so a theme (or the plain
// theme golden tests use) changes the look in one place.
package theme

import (
	"image/color"

	"charm.land/lipgloss/v2"
)

// Tone is the role of a table cell's text; views store a Tone per cell
// instead of a Style so large tables stay small in memory.
type Tone uint8

// Tones, by what they mean to the user.
const (
	ToneNormal Tone = iota
	ToneDim
	ToneGood    // healthy, captured, programmed
	ToneWarn    // needs attention (restart, mixed)
	ToneBad     // broken (pending, missing waypoint)
	ToneSidecar // sidecar mode
	ToneAccent  // waypoints, L7
	ToneInfo
	toneCount
)

// Theme is a full set of styles.
type Theme struct {
	Name string

	Tones [toneCount]lipgloss.Style

	PaneTitle        lipgloss.Style // title bar of an unfocused pane
	PaneTitleFocused lipgloss.Style // title bar of the focused pane
	Header           lipgloss.Style // column headers
	Selected         lipgloss.Style // cursor row in the focused pane
	SelectedBlurred  lipgloss.Style // cursor row in other panes
	Empty            lipgloss.Style // "no rows" and state messages inside a pane
	Warning          lipgloss.Style // a pane-level warning (missing CRDs, forbidden)

	Bar         lipgloss.Style // the status bar background
	BarContext  lipgloss.Style
	BarOK       lipgloss.Style
	BarBad      lipgloss.Style
	BarReadOnly lipgloss.Style
	BarKey      lipgloss.Style
	BarHint     lipgloss.Style
	BarMessage  lipgloss.Style
	BarError    lipgloss.Style
	BarFilter   lipgloss.Style

	Overlay      lipgloss.Style // help and dialogs: the box
	OverlayTitle lipgloss.Style
	OverlayKey   lipgloss.Style
	OverlayText  lipgloss.Style
	Button       lipgloss.Style
	ButtonActive lipgloss.Style

	// YAML syntax colouring for the patch view.
	YAMLKey, YAMLString, YAMLNumber, YAMLComment, YAMLPunct lipgloss.Style
}

// Tone returns the style for a tone.
func (t *Theme) Tone(tone Tone) lipgloss.Style {
	if int(tone) >= len(t.Tones) {
		return t.Tones[ToneNormal]
	}
	return t.Tones[tone]
}

// palette is the handful of colours a colour theme is built from.
type palette struct {
	fg, dim, good, warn, bad, sidecar, accent, info, barBg, titleBg, focusBg, focusFg, selBg color.Color
}

func build(name string, p palette) *Theme {
	s := lipgloss.NewStyle
	t := &Theme{Name: name}
	t.Tones[ToneNormal] = s().Foreground(p.fg)
	t.Tones[ToneDim] = s().Foreground(p.dim)
	t.Tones[ToneGood] = s().Foreground(p.good)
	t.Tones[ToneWarn] = s().Foreground(p.warn)
	t.Tones[ToneBad] = s().Foreground(p.bad).Bold(true)
	t.Tones[ToneSidecar] = s().Foreground(p.sidecar)
	t.Tones[ToneAccent] = s().Foreground(p.accent)
	t.Tones[ToneInfo] = s().Foreground(p.info)
	t.PaneTitle = s().Foreground(p.fg).Background(p.titleBg).Bold(true)
	t.PaneTitleFocused = s().Foreground(p.focusFg).Background(p.focusBg).Bold(true)
	t.Header = s().Foreground(p.dim).Bold(true)
	t.Selected = s().Background(p.selBg).Bold(true)
	t.SelectedBlurred = s().Underline(true)
	t.Empty = s().Foreground(p.dim).Italic(true)
	t.Warning = s().Foreground(p.warn)
	t.Bar = s().Foreground(p.fg).Background(p.barBg)
	t.BarContext = s().Foreground(p.focusFg).Background(p.focusBg).Bold(true)
	t.BarOK = s().Foreground(p.good).Background(p.barBg)
	t.BarBad = s().Foreground(p.fg).Background(p.bad).Bold(true)
	t.BarReadOnly = s().Foreground(lipgloss.Color("0")).Background(p.warn).Bold(true)
	t.BarKey = s().Foreground(p.accent).Background(p.barBg).Bold(true)
	t.BarHint = s().Foreground(p.dim).Background(p.barBg)
	t.BarMessage = s().Foreground(p.info).Background(p.barBg)
	t.BarError = s().Foreground(p.bad).Background(p.barBg).Bold(true)
	t.BarFilter = s().Foreground(p.warn).Background(p.barBg)
	t.Overlay = s().Border(lipgloss.RoundedBorder()).BorderForeground(p.accent).Padding(0, 1)
	t.OverlayTitle = s().Foreground(p.accent).Bold(true)
	t.OverlayKey = s().Foreground(p.info).Bold(true)
	t.OverlayText = s().Foreground(p.fg)
	t.Button = s().Foreground(p.dim).Padding(0, 1)
	t.ButtonActive = s().Foreground(p.focusFg).Background(p.focusBg).Bold(true).Padding(0, 1)
	t.YAMLKey = s().Foreground(p.accent)
	t.YAMLString = s().Foreground(p.good)
	t.YAMLNumber = s().Foreground(p.info)
	t.YAMLComment = s().Foreground(p.dim).Italic(true)
	t.YAMLPunct = s().Foreground(p.dim)
	return t
}

// Dark is the default theme, for dark terminals.
var Dark = build("dark", palette{
	fg: lipgloss.Color("252"), dim: lipgloss.Color("244"), good: lipgloss.Color("42"),
	warn: lipgloss.Color("214"), bad: lipgloss.Color("203"), sidecar: lipgloss.Color("111"),
	accent: lipgloss.Color("177"), info: lipgloss.Color("81"), barBg: lipgloss.Color("236"),
	titleBg: lipgloss.Color("238"), focusBg: lipgloss.Color("63"), focusFg: lipgloss.Color("231"),
	selBg: lipgloss.Color("24"),
})

// Plain draws no colour and no attributes, only layout: golden tests render
// with it so their files read as what a person sees.
var Plain = func() *Theme {
	t := &Theme{Name: "plain"}
	s := lipgloss.NewStyle
	for i := range t.Tones {
		t.Tones[i] = s()
	}
	t.Overlay = s().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	t.Button = s().Padding(0, 1)
	t.ButtonActive = s().Padding(0, 1)
	return t
}()

// Current is the theme the program draws with.
var Current = Dark
