package filter

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	app := map[string]string{"app": "loki", "tier": "db"}
	web := map[string]string{"app": "web"}
	for _, tc := range []struct {
		name   string
		line   string
		mode   Mode
		invert bool
		note   string // a substring of Note; "" means no note
		// rows: the row text (lower-cased line), its labels, and whether
		// the filter keeps it.
		keep []row
	}{
		{name: "empty keeps all", line: "", mode: None, keep: []row{{"anything ", nil, true, nil}}},
		{name: "substring, any case", line: "LoKi", mode: Text, keep: []row{{"loki-0 loki ", nil, true, nil}, {"web ", nil, false, nil}}},
		{name: "bang inverts text", line: "!loki", mode: Text, invert: true, keep: []row{{"loki-0 ", nil, false, nil}, {"web ", nil, true, nil}}},
		{name: "bang alone is no filter yet", line: "!", mode: None, keep: []row{{"web ", nil, true, nil}}},
		{name: "regex", line: "^loki-[0-9]+$", mode: Regex, keep: []row{{"loki-12 ", []string{"loki-12"}, true, nil}, {"loki-canary ", []string{"loki-canary"}, false, nil}}},
		{name: "regex anchors at a cell", line: "^promtail", mode: Regex, keep: []row{{"loki promtail-1 ", []string{"loki", "promtail-1"}, true, nil}}},
		{name: "regex ignores case", line: "LOKI.*0", mode: Regex, keep: []row{{"loki-0 ", []string{"loki-0"}, true, nil}}},
		{name: "inverted regex", line: "!^loki", mode: Regex, invert: true, keep: []row{{"loki ", []string{"loki"}, false, nil}, {"web ", []string{"web"}, true, nil}}},
		{name: "bad regex is text, and says so", line: "loki(", mode: Text, note: "matched as text", keep: []row{{"loki(x ", []string{"loki(x"}, true, nil}, {"loki ", []string{"loki"}, false, nil}}},
		{name: "unclosed class is text", line: "[abc", mode: Text, note: "not a regex", keep: []row{{"x[abc ", nil, true, nil}}},
		{name: "label equality", line: "-l app=loki", mode: Selector, keep: []row{lab(app, true), lab(web, false), lab(nil, false)}},
		{name: "label double equals", line: "-l app==loki", mode: Selector, keep: []row{lab(app, true), lab(web, false)}},
		{name: "label inequality", line: "-l app!=loki", mode: Selector, keep: []row{lab(app, false), lab(web, true), lab(map[string]string{}, true)}},
		{name: "label set", line: "-l app in (web, loki)", mode: Selector, keep: []row{lab(app, true), lab(web, true), lab(map[string]string{"app": "x"}, false)}},
		{name: "label notin", line: "-l app notin (web)", mode: Selector, keep: []row{lab(app, true), lab(web, false)}},
		{name: "label exists and not", line: "-l tier,!gone", mode: Selector, keep: []row{lab(app, true), lab(web, false)}},
		{name: "several requirements", line: "-l app=loki,tier=db", mode: Selector, keep: []row{lab(app, true), lab(map[string]string{"app": "loki"}, false)}},
		{name: "inverted selector", line: "!-l app=loki", mode: Selector, invert: true, keep: []row{lab(app, false), lab(web, true)}},
		{name: "rows without labels never match a selector", line: "-l app", mode: Selector, keep: []row{lab(nil, false)}},
		{name: "empty selector asks for one", line: "-l ", mode: Selector, note: "key=value", keep: []row{lab(web, true)}},
		{name: "bad selector matches nothing and says why", line: "-l app in (", mode: Broken, note: "bad label selector", keep: []row{lab(app, false), lab(web, false)}},
		{name: "bad selector inverted still matches nothing", line: "!-l =x", mode: Broken, invert: true, note: "bad label selector", keep: []row{lab(web, false)}},
		{name: "-l glued to text is text", line: "-lapp", mode: Text, keep: []row{{"x -lapp ", nil, true, nil}}},
		{name: "label text is not parsed by hand", line: "-l app=a b", mode: Broken, note: "bad label selector"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := Parse(tc.line)
			if f.Mode != tc.mode || f.Invert != tc.invert || f.Raw != tc.line {
				t.Fatalf("Parse(%q) = mode %d invert %v raw %q, want mode %d invert %v", tc.line, f.Mode, f.Invert, f.Raw, tc.mode, tc.invert)
			}
			if tc.note == "" && f.Note != "" || !strings.Contains(f.Note, tc.note) {
				t.Errorf("Note = %q, want it to say %q", f.Note, tc.note)
			}
			for _, r := range tc.keep {
				cells := r.cells
				if cells == nil {
					cells = strings.Fields(r.line)
				}
				if got := f.Keep(r.line, cells, r.labels); got != r.want {
					t.Errorf("Keep(%q, %v) = %v, want %v", r.line, r.labels, got, r.want)
				}
			}
		})
	}
}

type row struct {
	line   string
	cells  []string
	want   bool
	labels map[string]string
}

func lab(l map[string]string, want bool) row { return row{line: "name ", labels: l, want: want} }

// Hostile text (control characters, huge repetition) must neither panic nor
// blow up: Go's regexp is linear, and a bad pattern falls back to text.
func TestParseHostile(t *testing.T) {
	for _, line := range []string{"\x1b[31m", "(a+)+$", strings.Repeat("(", 500), "-l " + strings.Repeat("a", 300) + "=b", "!!", "\\", "*"} {
		f := Parse(line)
		_ = f.Keep(strings.Repeat("a", 1000), []string{"a"}, map[string]string{"a": "b"})
	}
}
