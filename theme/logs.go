package theme

import "charm.land/lipgloss/v2"

// LogStyles are the ztunnel log pane's styles, by role.
type LogStyles struct {
	Title    lipgloss.Style // the pane's title bar
	Header   lipgloss.Style // column headers
	Time     lipgloss.Style
	Error    lipgloss.Style // error lines and the error column
	Warn     lipgloss.Style // warn lines
	Debug    lipgloss.Style // debug and trace lines
	Normal   lipgloss.Style // info lines
	Status   lipgloss.Style // ambx's notes about the stream (reconnecting, no ztunnel)
	Hint     lipgloss.Style // the explanation of the selected line's error
	Action   lipgloss.Style // the key that acts on a hint ("n: patch")
	Selected lipgloss.Style // the cursor row
	Bar      lipgloss.Style // the pane's own status line (paused, filter, search)
	Empty    lipgloss.Style // "waiting for lines"
}

// Logs returns the log pane's styles, drawn from the theme's tones so a new
// theme, and Plain for golden tests, covers the pane without more work.
func (t *Theme) Logs() LogStyles {
	return LogStyles{
		Title:    t.PaneTitleFocused,
		Header:   t.Header,
		Time:     t.Tone(ToneDim),
		Error:    t.Tone(ToneBad),
		Warn:     t.Tone(ToneWarn),
		Debug:    t.Tone(ToneDim),
		Normal:   t.Tone(ToneNormal),
		Status:   t.Tone(ToneInfo),
		Hint:     t.Tone(ToneWarn),
		Action:   t.Tone(ToneAccent),
		Selected: t.Selected,
		Bar:      t.BarHint,
		Empty:    t.Empty,
	}
}
