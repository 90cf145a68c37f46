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

	// onWarn is text drawn on the warn colour (the READ-ONLY badge).
	onWarn color.Color
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
	t.BarBad = s().Foreground(p.focusFg).Background(p.bad).Bold(true)
	t.BarReadOnly = s().Foreground(p.onWarn).Background(p.warn).Bold(true)
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
	selBg: lipgloss.Color("24"), onWarn: lipgloss.Color("0"),
})

// Light is for terminals with a light background: the same roles in
// darker, more saturated colours that keep their contrast on white, and
// pale bars and selection instead of dark ones.
var Light = build("light", palette{
	fg: lipgloss.Color("235"), dim: lipgloss.Color("242"), good: lipgloss.Color("28"),
	warn: lipgloss.Color("130"), bad: lipgloss.Color("160"), sidecar: lipgloss.Color("25"),
	accent: lipgloss.Color("90"), info: lipgloss.Color("24"), barBg: lipgloss.Color("254"),
	titleBg: lipgloss.Color("252"), focusBg: lipgloss.Color("61"), focusFg: lipgloss.Color("231"),
	selBg: lipgloss.Color("153"), onWarn: lipgloss.Color("231"),
})

// NoColor is for NO_COLOR (no-color.org): no colour at all, so every
// meaning rides on text and attributes the terminal still draws. The
// severity marks and words are text already; the focused pane's title,
// the cursor row, the active button and the bar's badges are reversed,
// other panes' titles bold, and the cursor row of unfocused panes
// underlined.
var NoColor = func() *Theme {
	s := lipgloss.NewStyle
	t := &Theme{Name: "no-color"}
	for i := range t.Tones {
		t.Tones[i] = s()
	}
	t.Tones[ToneDim] = s().Faint(true)
	t.Tones[ToneBad] = s().Bold(true)
	t.PaneTitle = s().Bold(true)
	t.PaneTitleFocused = s().Reverse(true).Bold(true)
	t.Header = s().Bold(true)
	t.Selected = s().Reverse(true)
	t.SelectedBlurred = s().Underline(true)
	t.Empty = s().Italic(true)
	t.Warning = s().Bold(true)
	t.Bar = s()
	t.BarContext = s().Reverse(true).Bold(true)
	t.BarOK = s()
	t.BarBad = s().Reverse(true).Bold(true)
	t.BarReadOnly = s().Reverse(true).Bold(true)
	t.BarKey = s().Bold(true)
	t.BarHint = s()
	t.BarMessage = s()
	t.BarError = s().Bold(true)
	t.BarFilter = s().Bold(true)
	t.Overlay = s().Border(lipgloss.RoundedBorder()).Padding(0, 1)
	t.OverlayTitle = s().Bold(true)
	t.OverlayKey = s().Bold(true)
	t.OverlayText = s()
	t.Button = s().Padding(0, 1)
	t.ButtonActive = s().Reverse(true).Bold(true).Padding(0, 1)
	t.YAMLKey = s().Bold(true)
	t.YAMLString = s()
	t.YAMLNumber = s()
	t.YAMLComment = s().Faint(true)
	t.YAMLPunct = s()
	return t
}()

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

// ForEnv is the theme to start with: NoColor when NO_COLOR holds any
// non-empty value (no-color.org), else Dark until the terminal says its
// background is light (see ForBackground).
func ForEnv(getenv func(string) string) *Theme {
	if getenv("NO_COLOR") != "" {
		return NoColor
	}
	return Current
}

// ForBackground is the theme t becomes on a terminal whose background is
// dark or light: the colour themes follow the background, NoColor and
// Plain stay what they are (a light background brings no colour back).
func (t *Theme) ForBackground(dark bool) *Theme {
	switch t.Name {
	case Dark.Name, Light.Name:
		if dark {
			return Dark
		}
		return Light
	}
	return t
}
