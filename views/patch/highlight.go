package patch

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/theme"
)

// role is what a piece of text is, for colouring.
type role uint8

const (
	rolePlain role = iota
	roleKey
	roleString
	roleNumber
	roleComment
	rolePunct
)

// span is a run of text in one role.
type span struct {
	text string
	role role
}

func (r role) style(t *theme.Theme) lipgloss.Style {
	switch r {
	case roleKey:
		return t.YAMLKey
	case roleString:
		return t.YAMLString
	case roleNumber:
		return t.YAMLNumber
	case roleComment:
		return t.YAMLComment
	case rolePunct:
		return t.YAMLPunct
	}
	return t.Tone(theme.ToneNormal)
}

// yamlLine splits one line of block-style YAML, as sigs.k8s.io/yaml writes
// it, into coloured spans. It only colours: a line it does not understand
// comes out as plain text, never altered.
func yamlLine(line string) []span {
	var out []span
	rest := line
	indent := len(rest) - len(strings.TrimLeft(rest, " "))
	if indent > 0 {
		out = append(out, span{rest[:indent], rolePlain})
		rest = rest[indent:]
	}
	if strings.HasPrefix(rest, "#") {
		return append(out, span{rest, roleComment})
	}
	for strings.HasPrefix(rest, "- ") || rest == "-" {
		n := min(2, len(rest))
		out = append(out, span{rest[:n], rolePunct})
		rest = rest[n:]
	}
	if k, ok := yamlKeyEnd(rest); ok {
		out = append(out, span{rest[:k], roleKey}, span{":", rolePunct})
		rest = rest[k+1:]
	}
	return append(out, yamlValue(rest)...)
}

// yamlKeyEnd returns the index of the colon ending a mapping key at the
// start of s.
func yamlKeyEnd(s string) (int, bool) {
	if s == "" || s[0] == '"' || s[0] == '\'' || s[0] == '#' || s[0] == '{' || s[0] == '[' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case ':':
			if i+1 == len(s) || s[i+1] == ' ' {
				return i, i > 0
			}
		case ' ':
			if i+1 < len(s) && s[i+1] == '#' {
				return 0, false
			}
		}
	}
	return 0, false
}

// yamlValue colours a scalar and a trailing comment.
func yamlValue(s string) []span {
	var out []span
	lead := len(s) - len(strings.TrimLeft(s, " "))
	if lead > 0 {
		out = append(out, span{s[:lead], rolePlain})
		s = s[lead:]
	}
	if s == "" {
		return out
	}
	value, comment := s, ""
	if i := commentStart(s); i >= 0 {
		value, comment = s[:i], s[i:]
	}
	trimmed := strings.TrimRight(value, " ")
	switch {
	case trimmed == "":
	case trimmed == "{}" || trimmed == "[]" || trimmed == "|" || trimmed == "|-" || trimmed == ">":
		out = append(out, span{trimmed, rolePunct})
	case isNumber(trimmed) || trimmed == "true" || trimmed == "false" || trimmed == "null":
		out = append(out, span{trimmed, roleNumber})
	default:
		out = append(out, span{trimmed, roleString})
	}
	if pad := value[len(trimmed):]; pad != "" {
		out = append(out, span{pad, rolePlain})
	}
	if comment != "" {
		out = append(out, span{comment, roleComment})
	}
	return out
}

// commentStart finds " #" outside quotes.
func commentStart(s string) int {
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '#' && (i == 0 || s[i-1] == ' '):
			return i
		}
	}
	return -1
}

func isNumber(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i, r := range s {
		switch {
		case r == '-' && i == 0 && len(s) > 1:
		case r == '.' && !dot:
			dot = true
		case unicode.IsDigit(r):
		default:
			return false
		}
	}
	return true
}

// commandLine colours a shell command: flags as keys, and the JSON inside
// single quotes by its tokens.
func commandLine(line string) []span {
	if strings.HasPrefix(strings.TrimSpace(line), "#") {
		return []span{{line, roleComment}}
	}
	var out []span
	for len(line) > 0 {
		switch {
		case line[0] == '\'':
			end := strings.IndexByte(line[1:], '\'')
			if end < 0 {
				return append(out, jsonSpans(line)...)
			}
			out = append(out, span{"'", rolePunct})
			out = append(out, jsonSpans(line[1:end+1])...)
			out = append(out, span{"'", rolePunct})
			line = line[end+2:]
		case line[0] == ' ':
			n := len(line) - len(strings.TrimLeft(line, " "))
			out = append(out, span{line[:n], rolePlain})
			line = line[n:]
		default:
			n := strings.IndexAny(line, " '")
			if n < 0 {
				n = len(line)
			}
			word := line[:n]
			r := rolePlain
			if strings.HasPrefix(word, "-") {
				r = roleKey
			}
			out = append(out, span{word, r})
			line = line[n:]
		}
	}
	return out
}

// jsonSpans colours compact JSON: keys, strings, numbers and punctuation.
func jsonSpans(s string) []span {
	var out []span
	for len(s) > 0 {
		c := s[0]
		switch {
		case c == '"':
			end := 1
			for end < len(s) && s[end] != '"' {
				if s[end] == '\\' {
					end++
				}
				end++
			}
			end = min(end+1, len(s))
			r := roleString
			if strings.HasPrefix(strings.TrimLeft(s[end:], " "), ":") {
				r = roleKey
			}
			out = append(out, span{s[:end], r})
			s = s[end:]
		case strings.ContainsRune("{}[],:", rune(c)):
			out = append(out, span{s[:1], rolePunct})
			s = s[1:]
		default:
			n := strings.IndexAny(s, "\"{}[],:")
			if n < 0 {
				n = len(s)
			}
			word := s[:n]
			r := rolePlain
			if w := strings.TrimSpace(word); isNumber(w) || w == "true" || w == "false" || w == "null" {
				r = roleNumber
			}
			out = append(out, span{word, r})
			s = s[n:]
		}
	}
	return out
}

// wrapSpans cuts a line of spans into rows of at most width cells, so a
// long kubectl command stays readable instead of being cut off. It breaks
// after a space or a comma when one is in reach, else inside a word.
func wrapSpans(spans []span, width int) [][]span {
	if width <= 0 {
		return nil
	}
	text := spansText(spans)
	var rows [][]span
	start := 0
	for _, end := range breaks(text, width) {
		rows = append(rows, slice(spans, start, end))
		start = end
	}
	return append(rows, slice(spans, start, len(text)))
}

// breaks returns the byte offsets where text's rows end, all but the last.
func breaks(text string, width int) []int {
	var out []int
	start := 0
	for ansi.StringWidth(text[start:]) > width {
		used, cut, soft := 0, start, -1
		for i, r := range text[start:] {
			w := ansi.StringWidth(string(r))
			if used+w > width {
				break
			}
			used += w
			cut = start + i + utf8.RuneLen(r)
			if (r == ' ' || r == ',') && cut < len(text) {
				soft = cut
			}
		}
		if cut == start { // a character wider than the row: show it alone
			_, size := utf8.DecodeRuneInString(text[start:])
			cut = start + size
		}
		if soft > start && soft-start >= (cut-start)/2 {
			cut = soft
		}
		out = append(out, cut)
		start = cut
	}
	return out
}

// slice returns the spans covering text bytes [from, to).
func slice(spans []span, from, to int) []span {
	var out []span
	pos := 0
	for _, sp := range spans {
		a, b := max(from, pos), min(to, pos+len(sp.text))
		if a < b {
			out = append(out, span{sp.text[a-pos : b-pos], sp.role})
		}
		pos += len(sp.text)
	}
	return out
}

// render draws spans in their styles, padded to width cells.
func render(t *theme.Theme, spans []span, width int) string {
	var b strings.Builder
	used := 0
	for _, sp := range spans {
		b.WriteString(sp.role.style(t).Render(sp.text))
		used += ansi.StringWidth(sp.text)
	}
	if used < width {
		b.WriteString(strings.Repeat(" ", width-used))
	}
	if used > width { // a wide character alone in a one-cell row
		return ansi.Truncate(b.String(), width, "")
	}
	return b.String()
}
