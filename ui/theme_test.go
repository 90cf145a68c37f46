package ui

import (
	"image/color"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

var (
	white = tea.BackgroundColorMsg{Color: color.RGBA{0xfa, 0xfa, 0xf5, 0xff}}
	black = tea.BackgroundColorMsg{Color: color.RGBA{0x1c, 0x1c, 0x1c, 0xff}}
)

func themedDemo(t *testing.T, th *theme.Theme) Model {
	t.Helper()
	c := demo.Clients(demo.Epoch)
	m := New(Options{Theme: th, Now: func() time.Time { return demo.Epoch }, ReadOnly: true, Fetch: FetchFrom(c)})
	m = drive(t, m, tea.WindowSizeMsg{Width: 120, Height: 35})
	return drive(t, m, SnapshotMsg{demo.Homelab()})
}

// The main screen and the findings list as the terminal receives them in
// each theme, escape codes and all (cat the golden files to see them).
func TestThemes(t *testing.T) {
	for _, th := range []*theme.Theme{theme.Dark, theme.Light, theme.NoColor} {
		m := themedDemo(t, th)
		t.Run(th.Name+"_main", func(t *testing.T) { golden.RequireEqual(t, m.Render()) })
		t.Run(th.Name+"_findings", func(t *testing.T) { golden.RequireEqual(t, keys(t, m, "!").Render()) })
	}
}

var sgr = regexp.MustCompile("\x1b\\[([0-9;:]*)m")

// colours returns the SGR parameters of s that set a colour.
func colours(s string) []string {
	var out []string
	for _, m := range sgr.FindAllStringSubmatch(s, -1) {
		for _, p := range strings.Split(m[1], ";") {
			switch {
			case p == "38", p == "48", p == "58", len(p) == 2 && (p[0] == '3' || p[0] == '4' || p[0] == '9') && p != "39" && p != "49",
				len(p) == 3 && p[:2] == "10":
				out = append(out, m[0])
			}
		}
	}
	return out
}

// attrsAt returns the SGR parameters text's first character is drawn
// with, where text first appears in line once escapes are stripped: ""
// when it is drawn plain, "missing" when it is not there.
func attrsAt(line, text string) string {
	var plain []rune
	var attrs []string
	cur := ""
	for len(line) > 0 {
		if loc := sgr.FindStringSubmatchIndex(line); loc != nil && loc[0] == 0 {
			cur = line[loc[2]:loc[3]]
			line = line[loc[1]:]
			continue
		}
		r, size := utf8.DecodeRuneInString(line)
		plain, attrs = append(plain, r), append(attrs, cur)
		line = line[size:]
	}
	i := strings.Index(string(plain), text)
	if i < 0 {
		return "missing"
	}
	return attrs[utf8.RuneCountInString(string(plain)[:i])]
}

func hasAttr(params, attr string) bool {
	for _, p := range strings.Split(params, ";") {
		if p == attr {
			return true
		}
	}
	return false
}

func lineWith(t *testing.T, screen, text string) string {
	t.Helper()
	for _, l := range strings.Split(screen, "\n") {
		if strings.Contains(ansi.Strip(l), text) {
			return l
		}
	}
	t.Fatalf("no line holds %q:\n%s", text, screen)
	return ""
}

// NO_COLOR draws no colour, and what colour told apart is still told
// apart: the focused pane's title and the cursor row are reversed, the
// cursor row of another pane is underlined, severities keep their marks.
func TestNoColorKeepsMeanings(t *testing.T) {
	if got := theme.ForEnv(func(k string) string { return map[string]string{"NO_COLOR": "1"}[k] }); got != theme.NoColor {
		t.Fatalf("NO_COLOR=1 gave the %s theme", got.Name)
	}
	if got := theme.ForEnv(func(string) string { return "" }); got == theme.NoColor {
		t.Fatal("an empty NO_COLOR turned colour off; no-color.org says only a non-empty value does")
	}
	m := themedDemo(t, theme.NoColor)
	m = drive(t, m, white) // a light background brings no colour back
	for _, screen := range []string{m.Render(), keys(t, m, "!").Render(), keys(t, m, "tab").Render()} {
		if c := colours(screen); len(c) > 0 {
			t.Fatalf("NO_COLOR render sets colours %q:\n%s", c, screen)
		}
	}
	screen := m.Render()
	titles := lineWith(t, screen, "Namespaces (")
	if !hasAttr(attrsAt(titles, "Namespaces ("), "7") || hasAttr(attrsAt(titles, "Workloads ("), "7") {
		t.Fatalf("the focused Namespaces pane is not the one reversed: %q", titles)
	}
	if row := lineWith(t, screen, "ambient-apps "); !hasAttr(attrsAt(row, "ambient-apps"), "7") {
		t.Fatalf("the cursor row is not reversed: %q", row)
	}
	moved := keys(t, m, "tab").Render()
	titles = lineWith(t, moved, "Namespaces (")
	if hasAttr(attrsAt(titles, "Namespaces ("), "7") || !hasAttr(attrsAt(titles, "Workloads ("), "7") {
		t.Fatalf("tab did not move the reversed title to Workloads: %q", titles)
	}
	if row := lineWith(t, moved, "ambient-apps "); !hasAttr(attrsAt(row, "ambient-apps"), "4") {
		t.Fatalf("the unfocused pane's cursor row is not underlined: %q", row)
	}
	for _, mark := range []string{"✖", "⚠"} {
		if !strings.Contains(screen, mark) {
			t.Errorf("NO_COLOR screen lost the %s severity mark", mark)
		}
	}
}

// The terminal's answer to the background query picks the palette at run
// time: a light background restyles every pane and open overlay as the
// light theme draws them, a dark one brings the dark theme back, and the
// shared themes are not changed underneath other users.
func TestBackgroundColorSwitchesPalette(t *testing.T) {
	m := themedDemo(t, theme.Dark)
	dark, light := m.Render(), themedDemo(t, theme.Light).Render()
	if dark == light {
		t.Fatal("the dark and light themes draw the same screen")
	}
	m = drive(t, m, white)
	if got := m.Render(); got != light {
		t.Fatalf("a white background did not switch to the light palette:\n%s", got)
	}
	if themedDemo(t, theme.Dark).Render() != dark {
		t.Fatal("switching one model's theme changed theme.Dark")
	}
	m = drive(t, m, black)
	if got := m.Render(); got != dark {
		t.Fatalf("a black background did not bring the dark palette back:\n%s", got)
	}

	// The YAML view, open when the answer comes, colours its lines again.
	open := func(th *theme.Theme) Model {
		m := selectNamespace(t, themedDemo(t, th), "loki")
		return keys(t, m, "y")
	}
	y := drive(t, open(theme.Dark), white)
	if got, want := y.Render(), open(theme.Light).Render(); got != want {
		t.Fatalf("the open YAML view kept the dark colours:\n%s\nwant\n%s", got, want)
	}
}
