package patch

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/highlight"
)

var sgr = regexp.MustCompile("^\x1b\\[([0-9;:]*)m")

// cell is one drawn character and the SGR parameters it is drawn with.
type cell struct {
	r     rune
	attrs string
}

// cells reads styled text as a terminal would: each character with the
// style in force where it is drawn. A row that stops inside an escape
// sequence fails the test, as does any escape other than SGR.
func cells(t *testing.T, s string) []cell {
	t.Helper()
	var out []cell
	cur := ""
	for len(s) > 0 {
		if s[0] == '\x1b' {
			loc := sgr.FindStringSubmatchIndex(s)
			if loc == nil {
				t.Fatalf("an escape sequence split or unknown at %q", s)
			}
			cur = s[loc[2]:loc[3]]
			if cur == "0" {
				cur = ""
			}
			s = s[loc[1]:]
			continue
		}
		r, size := utf8.DecodeRuneInString(s)
		out = append(out, cell{r, cur})
		s = s[size:]
	}
	return out
}

func nonSpace(cs []cell) []cell {
	var out []cell
	for _, c := range cs {
		if c.r != ' ' {
			out = append(out, c)
		}
	}
	return out
}

// Wrapping coloured text cuts between characters, never inside an escape
// sequence, and a token cut in two keeps its colour on the next row: every
// character of the wrapped rows is drawn in the style it had unwrapped,
// and none is lost (only the spaces the rows break at).
func TestWrapKeepsColours(t *testing.T) {
	s := fixture()
	m := ForPod(theme.Dark, s, ambient.Key{Namespace: "loki", Name: "loki-0"})
	for _, form := range []Form{FormCommand, FormManifest} {
		m.form = form
		lang := highlight.Shell
		if form == FormManifest {
			lang = highlight.YAML
		}
		var whole []cell
		for _, l := range highlight.Lines(theme.Dark, lang, m.Text()) {
			whole = append(whole, nonSpace(cells(t, l))...)
		}
		if len(whole) == 0 {
			t.Fatal("nothing to wrap")
		}
		coloured := 0
		for _, c := range whole {
			if c.attrs != "" {
				coloured++
			}
		}
		if coloured < len(whole)/2 {
			t.Fatalf("form %d: only %d of %d characters coloured", form, coloured, len(whole))
		}
		for width := 3; width <= 40; width++ {
			var rows []cell
			lines := m.lines(width)
			for _, row := range lines {
				cs := cells(t, row)
				if len(cs) > width && strings.TrimSpace(string(runes(cs[width:]))) != "" {
					t.Fatalf("width %d: row %q is %d cells", width, row, len(cs))
				}
				rows = append(rows, nonSpace(cs)...)
			}
			if len(rows) != len(whole) {
				t.Fatalf("form %d width %d: %d characters after wrapping, %d before:\n%s", form, width, len(rows), len(whole), strings.Join(lines, "\n"))
			}
			for i := range rows {
				if rows[i] != whole[i] {
					t.Fatalf("form %d width %d: character %d is %q in %q, was %q in %q:\n%q",
						form, width, i, rows[i].r, rows[i].attrs, whole[i].r, whole[i].attrs, lines)
				}
			}
		}
	}
}

func runes(cs []cell) []rune {
	out := make([]rune, len(cs))
	for i, c := range cs {
		out[i] = c.r
	}
	return out
}
