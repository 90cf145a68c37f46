// Package filter parses what the user types after / into a matcher, the
// way k9s users expect it: plain text, a regular expression when the text
// is one, "!" in front to invert, and "-l" for a label selector.
package filter

import (
	"regexp"
	"regexp/syntax"
	"strings"

	"k8s.io/apimachinery/pkg/labels"
)

// Mode is how a filter matches.
type Mode int

// The modes a filter can be in.
const (
	None     Mode = iota // the empty filter: everything matches
	Text                 // substring, case-insensitive
	Regex                // regular expression, case-insensitive
	Selector             // label selector (-l)
	Broken               // a -l selector that does not parse: nothing matches
)

// Filter is a parsed filter line.
type Filter struct {
	Raw    string // what was typed
	Mode   Mode
	Invert bool
	// Note says, in a few words, how the text was taken when that is not
	// obvious: "matched as text, not a regex: …", "bad label selector: …".
	Note string

	text string // lower-cased, for Text
	re   *regexp.Regexp
	sel  labels.Selector
}

// Parse reads a filter line. It never fails: a line that cannot be used as
// typed still gives a filter, with a Note saying what was done with it.
func Parse(s string) Filter {
	f := Filter{Raw: s}
	body := s
	if rest, ok := strings.CutPrefix(body, "!"); ok {
		f.Invert, body = true, rest
	}
	if rest, ok := cutFlag(body, "-l"); ok {
		// The selector grammar (=, ==, !=, in, notin, exists, !key) is
		// apimachinery's; its parser also validates keys and values.
		sel, err := labels.Parse(strings.TrimSpace(rest))
		if err != nil {
			f.Mode, f.Note = Broken, "bad label selector: "+err.Error()
			return f
		}
		f.Mode, f.sel = Selector, sel
		if strings.TrimSpace(rest) == "" {
			f.Note = "label selector: type key=value, key!=value, key in (a,b)"
		}
		return f
	}
	if body == "" {
		if f.Invert {
			// "!" alone while typing: nothing to invert yet.
			f.Invert = false
		}
		return f
	}
	if !hasMeta(body) {
		f.Mode, f.text = Text, strings.ToLower(body)
		return f
	}
	re, err := regexp.Compile("(?i)" + body)
	if err != nil {
		f.Mode, f.text = Text, strings.ToLower(body)
		f.Note = "matched as text, not a regex: " + reason(err)
		return f
	}
	f.Mode, f.re = Regex, re
	return f
}

// cutFlag cuts "-l" followed by a space (or the end of the line) off s.
func cutFlag(s, flag string) (string, bool) {
	rest, ok := strings.CutPrefix(s, flag)
	if !ok || rest != "" && rest[0] != ' ' {
		return s, false
	}
	return rest, true
}

// hasMeta reports whether s holds a character that means something to a
// regular expression; without one, matching it as text is the same and
// cheaper.
func hasMeta(s string) bool { return regexp.QuoteMeta(s) != s }

func reason(err error) string {
	if e, ok := err.(*syntax.Error); ok {
		return e.Code.String()
	}
	return err.Error()
}

// Active reports whether the filter hides anything.
func (f Filter) Active() bool { return f.Mode != None }

// Labels reports whether the filter reads labels rather than text.
func (f Filter) Labels() bool { return f.Mode == Selector || f.Mode == Broken }

// MatchText reports whether a row's text matches, before inversion. line
// is the row's cells lower-cased and joined by spaces; cells are the
// cells as shown. A regex is tried on the whole line and on each cell, so
// ^ and $ anchor at a cell's edges.
func (f Filter) MatchText(line string, cells []string) bool {
	switch f.Mode {
	case Text:
		return strings.Contains(line, f.text)
	case Regex:
		if f.re.MatchString(line) {
			return true
		}
		for _, c := range cells {
			if f.re.MatchString(c) {
				return true
			}
		}
	}
	return false
}

// MatchLabels reports whether labels match the selector, before
// inversion. A row that carries no labels (nil) never matches.
func (f Filter) MatchLabels(l map[string]string) bool {
	if f.Mode != Selector || l == nil {
		return false
	}
	return f.sel.Matches(labels.Set(l))
}

// Keep reports whether a row is shown: line and cells as for MatchText, l
// its labels (nil when the pane's rows carry none).
func (f Filter) Keep(line string, cells []string, l map[string]string) bool {
	var hit bool
	switch f.Mode {
	case None:
		return true
	case Broken:
		return false
	case Selector:
		hit = f.MatchLabels(l)
	default:
		hit = f.MatchText(line, cells)
	}
	return hit != f.Invert
}
