package audit

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// firstPath is the path of a JSON patch's first operation: the field the
// fix changes, so SARIF can point at its line.
func firstPath(patch string) string {
	var ops []struct {
		Path string `json:"path"`
	}
	if json.Unmarshal([]byte(patch), &ops) != nil || len(ops) == 0 {
		return ""
	}
	return ops[0].Path
}

// line is the one door every string of a human-readable report passes
// through: names, reasons and messages come from the cluster or from files
// anyone can write, and a control sequence in one could rewrite a verdict
// on screen. Controls (newlines too: a cell is one line), C1 codes, bidi
// overrides and invalid bytes become visible escapes.
func line(s string) string { return escape(s, false) }

// text is line for multi-line text (a fix that is YAML): newlines stay.
func text(s string) string { return escape(s, true) }

func escape(s string, multi bool) string {
	bad := func(r rune, n int) bool {
		return (r == utf8.RuneError && n <= 1) || (unsafeRune(r) && !(multi && r == '\n'))
	}
	ok := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if bad(r, n) {
			ok = false
			break
		}
		i += n
	}
	if ok {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case bad(r, n):
			b.WriteString(strings.Trim(strconv.QuoteRuneToASCII(r), "'"))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// cleanEncoded escapes, in encoded JSON or YAML, what the encoders leave
// raw (C1 codes, bidi overrides) as \uXXXX, which both read back as the
// same character: the output stays valid and decodes to the same strings.
func cleanEncoded(b []byte) []byte {
	s := string(b)
	dirty := false
	for _, r := range s {
		if r != '\n' && unsafeRune(r) {
			dirty = true
			break
		}
	}
	if !dirty {
		return b
	}
	var out strings.Builder
	for _, r := range s {
		if r != '\n' && unsafeRune(r) {
			out.WriteString(`\u` + strconv.FormatUint(uint64(r)|0x10000, 16)[1:])
			continue
		}
		out.WriteRune(r)
	}
	return []byte(out.String())
}

// Line is line for callers outside the package (the CLI's own messages).
func Line(s string) string { return line(s) }
