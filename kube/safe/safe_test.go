package safe_test

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ambx/ambx/kube/safe"
)

func TestLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"plain ASCII is kept", "loki-0", "loki-0"},
		{"wide and glyph text is kept", "● ambient ‹loki› 日本", "● ambient ‹loki› 日本"},
		{"OSC 52 clipboard write", "pod\x1b]52;c;ZWNobyBwd25lZA==\x07", `pod\x1b]52;c;ZWNobyBwd25lZA==\x07`},
		{"OSC 8 hyperlink", "\x1b]8;;https://evil\x1b\\click\x1b]8;;\x1b\\", `\x1b]8;;https://evil\x1b\click\x1b]8;;\x1b\`},
		{"colour and concealed text", "\x1b[31mdenied\x1b[8m secret\x1b[0m", `\x1b[31mdenied\x1b[8m secret\x1b[0m`},
		{"carriage return cannot overwrite", "denied\rallowed", `denied\rallowed`},
		{"newline stays on the line", "a\nb", `a\nb`},
		{"CRLF in a cell", "a\r\nb", `a\r\nb`},
		{"tab becomes a space", "a\tb", "a b"},
		{"NUL, BEL, backspace, DEL", "a\x00b\x07c\x08d\x7f", `a\x00b\x07c\x08d\x7f`},
		{"C1 CSI", "a\u009b31mb", `a\u009b31mb`},
		{"C1 NEL", "a\u0085b", `a\u0085b`},
		{"stray byte 0x9b (CSI in 8-bit terminals)", "a\x9b31m", `a\x9b31m`},
		{"invalid UTF-8", "a\xffb", `a\xffb`},
		{"bidi override (Trojan Source)", "allow\u202eyned", `allow\u202eyned`},
		{"bidi isolate", "x\u2066y\u2069", `x\u2066y\u2069`},
		{"zero-width space", "lo\u200bki", `lo\u200bki`},
		{"line separator", "a\u2028b", `a\u2028b`},
		{"BOM", "\ufeffname", `\ufeffname`},
		{"tag characters above the BMP", "a\U000E0041", `a\U000e0041`},
		{"ztunnel's escaped ESC stays text", `bad \u{1b}[31m`, `bad \u{1b}[31m`},
		{"replacement character itself is printable", "a\ufffdb", "a\ufffdb"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := safe.Line(tc.in)
			if got != tc.want {
				t.Errorf("Line(%q) = %q, want %q", tc.in, got, tc.want)
			}
			assertNoControl(t, got, false)
			if safe.Clean(tc.in) != (tc.in == tc.want) {
				t.Errorf("Clean(%q) = %v", tc.in, safe.Clean(tc.in))
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"lines are kept", "a: 1\nb: 2\n", "a: 1\nb: 2\n"},
		{"CRLF becomes LF", "a\r\nb\r\n", "a\nb\n"},
		{"a lone CR is shown", "a\rb", `a\rb`},
		{"escape sequences are shown", "x\x1b[2J\x1b[H", `x\x1b[2J\x1b[H`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := safe.Text(tc.in); got != tc.want {
				t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestLineKeepsCleanStringsWithoutAllocating(t *testing.T) {
	s := "productpage-v1-87d54dd59-fn6vw ● ambient"
	if n := testing.AllocsPerRun(100, func() { _ = safe.Line(s) }); n != 0 {
		t.Errorf("%v allocations for a clean string", n)
	}
}

func TestJSON(t *testing.T) {
	in := map[string]string{"name": "a\x1b]52;c;eA==\x07b\u009b\u202e\x7f\u2028", "ok": "loki-0 ●"}
	raw, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	out := safe.JSON(raw)
	assertNoControl(t, string(out), false)
	var back map[string]string
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("not JSON any more: %v\n%s", err, out)
	}
	if back["name"] != in["name"] || back["ok"] != in["ok"] {
		t.Errorf("value changed: %q", back)
	}
	if !strings.Contains(string(out), `\u009b`) || !strings.Contains(string(out), `\u202e`) {
		t.Errorf("C1 and bidi not escaped: %s", out)
	}
	pretty := []byte("{\n  \"a\": \"x\"\n}\n")
	if got := safe.JSON(pretty); string(got) != string(pretty) {
		t.Errorf("indentation changed: %q", got)
	}
}

func TestFrameKeepsSGROnly(t *testing.T) {
	in := "\x1b[1;38;5;42mok\x1b[m\n\x1b]52;c;eA==\x07\x1b[2J\rx\u009b"
	got := safe.Frame(in)
	want := "\x1b[1;38;5;42mok\x1b[m\n" + `\x1b]52;c;eA==\x07\x1b[2J\rx\u009b`
	if got != want {
		t.Errorf("Frame = %q, want %q", got, want)
	}
	if s := "\x1b[31mred\x1b[0m\nplain ●"; safe.Frame(s) != s {
		t.Errorf("a clean frame changed: %q", safe.Frame(s))
	}
}

// FuzzLine checks the promise for any input: the result has no control
// character, is valid UTF-8, and clean input comes back unchanged.
func FuzzLine(f *testing.F) {
	for _, s := range []string{"", "a", "\x1b[31m", "\r\n", "\xff\xfe", "\u202e", "\u009b", "a\tb"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := safe.Line(s)
		assertNoControl(t, got, false)
		if safe.Line(got) != got {
			t.Errorf("Line is not idempotent on %q", s)
		}
		txt := safe.Text(s)
		assertNoControl(t, txt, true)
		fr := safe.Frame(s)
		if strings.ContainsAny(fr, "\r\a") {
			t.Errorf("Frame(%q) = %q", s, fr)
		}
	})
}

func assertNoControl(t *testing.T, s string, multi bool) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("not UTF-8: %q", s)
	}
	for _, r := range s {
		if r < 0x20 && !(multi && r == '\n') || r >= 0x7f && r <= 0x9f || r == 0x202e || r == 0x2028 {
			t.Errorf("control %U left in %q", r, s)
		}
	}
}
