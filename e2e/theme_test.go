package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// styled is the screen with its escape codes, as tmux holds it.
func (x *term) styled() string {
	x.t.Helper()
	return x.tmux("capture-pane", "-e", "-p", "-t", "ambx")
}

// onBackground restarts ambx --demo in a pane whose background is bg, so
// its start-up query for the background colour gets that answer from tmux.
func onBackground(t *testing.T, bg string) *term {
	t.Helper()
	x := startTerm(t, 120, 35, "--demo")
	x.tmux("set-option", "-g", "window-style", "bg="+bg)
	x.tmux("respawn-pane", "-k", "-t", "ambx", "-c", t.TempDir(), bin+" --demo; echo EXIT=$?; sleep 30")
	x.waitFor("Namespaces (", "Workloads (")
	return x
}

// reversed matches an SGR sequence that turns reverse video on, last
// before the end of the text it is tried on.
var reversed = regexp.MustCompile(`\x1b\[([0-9]+;)*7(;[0-9]+)*m[^\x1b]*$`)

var colourSGR = regexp.MustCompile(`\x1b\[[0-9;]*[34]8;[25];[0-9;]*m`)

// The palette follows the terminal: on a white background the focused
// pane's title is drawn in the light theme's colours, on a black one in
// the dark theme's; with NO_COLOR set nothing is coloured, whatever the
// background, and the focused pane's title is reversed.
func TestPaletteFollowsTheTerminal(t *testing.T) {
	const lightFocus, darkFocus = "48;5;61m", "48;5;63m"
	t.Run("light", func(t *testing.T) {
		x := onBackground(t, "colour231")
		x.waitUntil("the light palette", func([]string) bool { return strings.Contains(x.styled(), lightFocus) })
		if s := x.styled(); strings.Contains(s, darkFocus) {
			t.Errorf("dark colours on a white background:\n%q", s)
		}
		x.quit("Namespaces (")
	})
	t.Run("dark", func(t *testing.T) {
		x := onBackground(t, "colour16")
		x.waitUntil("the dark palette", func([]string) bool { return strings.Contains(x.styled(), darkFocus) })
		if s := x.styled(); strings.Contains(s, lightFocus) {
			t.Errorf("light colours on a black background:\n%q", s)
		}
		x.quit("Namespaces (")
	})
	t.Run("NO_COLOR", func(t *testing.T) {
		t.Setenv("NO_COLOR", "1") // the tmux server, and so the pane, inherit it
		x := onBackground(t, "colour231")
		x.waitFor("! list") // the snapshot is in
		x.press("!")        // the findings list, then back
		x.waitFor("Findings (", "✖ error", "⚠ warning")
		findings := x.styled()
		x.press("Escape")
		x.waitFor("Namespaces (", "Workloads (")
		for _, s := range []string{findings, x.styled()} {
			if c := colourSGR.FindAllString(s, 5); len(c) > 0 {
				t.Fatalf("NO_COLOR screen sets colours %q:\n%q", c, s)
			}
		}
		title := ""
		for _, l := range strings.Split(x.styled(), "\n") {
			if strings.Contains(l, "Namespaces (") {
				title = l
			}
		}
		if i := strings.Index(title, "Namespaces ("); i < 0 || !reversed.MatchString(title[:i]) {
			t.Errorf("the focused pane's title is not reversed: %q", title)
		}
		x.quit("Namespaces (")
	})
}
