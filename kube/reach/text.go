package reach

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// clean is the one door every name, reason and message passes through on
// its way to the terminal: object names come from files anyone can write,
// and a control sequence in one could rewrite a verdict on screen.
// Controls, C1 codes, bidi overrides and invalid bytes become visible
// escapes.
func clean(s string) string {
	if printable(s) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n <= 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])|0x100, 16)[1:])
		case unsafeRune(r):
			b.WriteString(strings.Trim(strconv.QuoteRuneToASCII(r), "'"))
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func printable(s string) bool {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n <= 1) || unsafeRune(r) {
			return false
		}
		i += n
	}
	return true
}

func unsafeRune(r rune) bool {
	return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) ||
		(r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x200e || r == 0x200f || r == 0x061c
}

// cleanJSON escapes, inside encoded JSON, what encoding/json leaves raw
// (C1 codes, bidi overrides): the output stays valid JSON that decodes to
// the same strings, and a terminal showing it sees no control.
func cleanJSON(b []byte) []byte {
	s := string(b)
	if printable(strings.TrimRight(s, "\n")) {
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
