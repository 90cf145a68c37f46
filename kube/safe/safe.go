// Package safe makes text from outside the program (the cluster, files,
// log streams) harmless to print on a terminal. Every string a view or a
// CLI line shows from such a source passes through it: control characters
// (C0, DEL, C1), invisible format characters (bidirectional overrides,
// zero-width marks, line and paragraph separators) and bytes that are not
// UTF-8 become visible escapes, so an escape sequence reads as text instead
// of setting the clipboard, opening a hyperlink, recolouring or moving the
// cursor, and a single-line cell never holds a line break.
//
// The escapes are `\xNN` for C0, DEL and stray bytes, `\uNNNN` (or
// `\U00NNNNNN`) for other code points, `\n` and `\r` for line breaks. A
// TAB becomes one space: it is harmless but breaks column widths.
package safe

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Line returns s fit for one line of a cell: nothing in it moves the
// cursor, changes the terminal's state or breaks the line. It returns s
// itself, without allocating, when s is already safe.
func Line(s string) string {
	i := firstUnsafe(s, false)
	if i < 0 {
		return s
	}
	return escape(s, i, false)
}

// Text is Line for multi-line text (a YAML patch, a wrapped message): it
// keeps line feeds, turns CRLF into LF and escapes everything else.
func Text(s string) string {
	i := firstUnsafe(s, true)
	if i < 0 {
		return s
	}
	return escape(s, i, true)
}

// Lines applies Line to each string of ss in place and returns ss.
func Lines(ss []string) []string {
	for i := range ss {
		ss[i] = Line(ss[i])
	}
	return ss
}

// Clean reports whether Line would return s unchanged.
func Clean(s string) bool { return firstUnsafe(s, false) < 0 }

// firstUnsafe is the byte offset of the first character Line (or Text,
// with multi) would change, or -1.
func firstUnsafe(s string, multi bool) int {
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			if multi && c == '\n' {
				i++
				continue
			}
			return i
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, n) {
			return i
		}
		i += n
	}
	return -1
}

// unsafeRune reports whether a non-ASCII rune of encoded length n must be
// escaped: invalid UTF-8, C1 controls, and the invisible format and
// separator characters that can reorder or hide what a line says.
func unsafeRune(r rune, n int) bool {
	switch {
	case r == utf8.RuneError && n == 1:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0xfffd:
		return false
	}
	return unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co) || r >= 0xfff9 && r <= 0xfffb
}

func escape(s string, from int, multi bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:from])
	for i := from; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			switch {
			case c == '\n' && multi:
				b.WriteByte('\n')
			case c == '\r' && multi && i+1 < len(s) && s[i+1] == '\n':
				// CRLF is a line break written by another OS.
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteByte(' ')
			default:
				hexByte(&b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			hexByte(&b, c)
		case unsafeRune(r, n):
			hexRune(&b, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

const digits = "0123456789abcdef"

func hexByte(b *strings.Builder, c byte) {
	b.WriteString(`\x`)
	b.WriteByte(digits[c>>4])
	b.WriteByte(digits[c&15])
}

func hexRune(b *strings.Builder, r rune) {
	h := strconv.FormatInt(int64(r), 16)
	if r > 0xffff {
		b.WriteString(`\U`)
		b.WriteString(strings.Repeat("0", 8-len(h)))
	} else {
		b.WriteString(`\u`)
		b.WriteString(strings.Repeat("0", 4-len(h)))
	}
	b.WriteString(h)
}

// JSON makes encoded JSON safe to print: encoding/json already escapes C0
// controls and U+2028/U+2029 but writes DEL, C1 controls and other format
// characters as they are. Those can only occur inside strings, where a
// \u escape means the same, so the result is the same JSON value.
func JSON(b []byte) []byte {
	i := firstUnsafe(string(b), true)
	if i < 0 {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		c := b[i]
		if c < utf8.RuneSelf {
			if c == 0x7f || c < 0x20 && c != '\n' && c != '\r' && c != '\t' {
				out = append(out, `\u00`...)
				out = append(out, digits[c>>4], digits[c&15])
			} else {
				out = append(out, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			out = append(out, `\ufffd`...)
		case unsafeRune(r, n):
			for _, u := range utf16Units(r) {
				out = append(out, `\u`...)
				out = append(out, digits[u>>12&15], digits[u>>8&15], digits[u>>4&15], digits[u&15])
			}
		default:
			out = append(out, b[i:i+n]...)
		}
		i += n
	}
	return out
}

func utf16Units(r rune) []uint16 {
	if r <= 0xffff {
		return []uint16{uint16(r)}
	}
	r -= 0x10000
	return []uint16{uint16(0xd800 + (r>>10)&0x3ff), uint16(0xdc00 + r&0x3ff)}
}

// Frame is the last guard on a whole rendered screen: it keeps line feeds
// and the SGR sequences (ESC [ params m) the theme styles with, and
// escapes every other control character, so a string that reached the
// frame without passing Line still cannot move the cursor, set a title or
// the clipboard, or open a hyperlink. Colour injected as SGR is stopped
// earlier, by Line at the views' entry points; Frame cannot tell it from
// the theme's.
func Frame(s string) string {
	i := frameUnsafe(s)
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		n := 1
		if s[0] >= utf8.RuneSelf {
			_, n = utf8.DecodeRuneInString(s)
		}
		b.WriteString(escape(s[:n], 0, false))
		s = s[n:]
		i = frameUnsafe(s)
	}
	b.WriteString(s)
	return b.String()
}

// frameUnsafe is the offset of the first character Frame must escape.
func frameUnsafe(s string) int {
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c >= 0x20 && c < 0x7f, c == '\n':
			i++
		case c == 0x1b:
			n := sgrLen(s[i:])
			if n == 0 {
				return i
			}
			i += n
		case c < utf8.RuneSelf:
			return i
		default:
			r, n := utf8.DecodeRuneInString(s[i:])
			if unsafeRune(r, n) {
				return i
			}
			i += n
		}
	}
	return -1
}

// sgrLen is the length of the SGR sequence s starts with, or 0.
func sgrLen(s string) int {
	if len(s) < 3 || s[0] != 0x1b || s[1] != '[' {
		return 0
	}
	for i := 2; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c == ';', c == ':':
		case c == 'm':
			return i + 1
		default:
			return 0
		}
	}
	return 0
}
