package ztlog

import (
	"strconv"
	"strings"
	"time"
)

// Parse parses one log line. It never fails: a line it cannot read comes
// back with FormatUnknown and the text in Message, so nothing is lost.
func Parse(s string) Line {
	s = strings.TrimRight(s, "\r\n")
	l := Line{Raw: s}
	t := trimSpace(s)
	if t == "" {
		return l
	}
	if t[0] == '{' {
		j := Line{Raw: s}
		if parseJSON(&j, t) {
			j.derive()
			return j
		}
	}
	tok, rest := nextToken(t)
	if !isTimestamp(tok) && !isLevel(tok) {
		// Aggregators (stern, kubectl --prefix, Loki) put a name first.
		tok2, rest2 := nextToken(rest)
		if !isTimestamp(tok2) && !isLevel(tok2) {
			l.Message = t
			return l
		}
		l.Prefix, tok, rest = tok, tok2, rest2
	}
	if isTimestamp(tok) {
		tm, err := time.Parse(time.RFC3339Nano, tok)
		if err != nil {
			l.Message = t
			return l
		}
		l.Time, l.TimeText = tm, tok
		tok, rest = nextToken(rest)
	}
	lv, legacy := levelOf(tok)
	if lv == LevelUnknown {
		l.Message = trimSpace(joinRest(tok, rest))
		return l
	}
	l.Level = lv
	if legacy {
		parseLegacy(&l, rest)
	} else {
		parsePlain(&l, rest)
	}
	l.derive()
	return l
}

// joinRest rebuilds "tok rest" without allocating when tok directly
// precedes rest in the same string, which nextToken guarantees.
func joinRest(tok, rest string) string {
	if tok == "" {
		return rest
	}
	return tok + " " + rest
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' }

func trimSpace(s string) string {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

// nextToken splits off the first whitespace-delimited token, keeping
// braces together so spans like xds{id=1 name="a b"} stay one token.
func nextToken(s string) (tok, rest string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start, depth := i, 0
	for i < len(s) {
		c := s[i]
		switch {
		case c == '{':
			depth++
		case c == '}' && depth > 0:
			depth--
		case c == '"' && depth > 0:
			i = skipQuoted(s, i) - 1
		case isSpace(c) && depth == 0:
			tok = s[start:i]
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			return tok, s[i:]
		}
		i++
	}
	return s[start:], ""
}

// skipQuoted returns the index just past the string starting at s[i]=='"'.
func skipQuoted(s string, i int) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(s)
}

// isTimestamp is a cheap shape check for RFC 3339 ("2024-05-04T09:59:05…").
func isTimestamp(s string) bool {
	return len(s) >= 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[0] >= '0' && s[0] <= '9'
}

func isLevel(s string) bool {
	lv, _ := levelOf(s)
	return lv != LevelUnknown
}

// levelOf reads a level word; upper case marks the legacy tracing format.
func levelOf(s string) (lv Level, upper bool) {
	switch s {
	case "info":
		return LevelInfo, false
	case "warn":
		return LevelWarn, false
	case "error":
		return LevelError, false
	case "debug":
		return LevelDebug, false
	case "trace":
		return LevelTrace, false
	case "INFO":
		return LevelInfo, true
	case "WARN":
		return LevelWarn, true
	case "ERROR":
		return LevelError, true
	case "DEBUG":
		return LevelDebug, true
	case "TRACE":
		return LevelTrace, true
	}
	return LevelUnknown, false
}

func parseLevelLoose(s string) Level {
	lv, _ := levelOf(s)
	if lv == LevelUnknown {
		lv, _ = levelOf(strings.ToLower(s))
	}
	return lv
}

// parsePlain reads "target message\tk=v k=v" after the level.
func parsePlain(l *Line, rest string) {
	l.Format = FormatPlain
	tok, rest := nextToken(rest)
	l.Target = tok
	l.Scope, l.Spans = splitSpans(tok)
	l.Message, rest = splitMessage(rest)
	l.Fields = parseFields(rest)
}

// parseLegacy reads "span{..}:span{..}: ztunnel::module: message k=v".
func parseLegacy(l *Line, rest string) {
	l.Format = FormatLegacy
	tok, after := nextToken(rest)
	if strings.HasSuffix(tok, ":") && strings.Contains(tok, "{") {
		l.Spans = tok[:len(tok)-1]
		rest = after
		tok, after = nextToken(rest)
	}
	if strings.HasSuffix(tok, ":") && isPath(tok[:len(tok)-1]) {
		l.Target = tok[:len(tok)-1]
		l.Scope = strings.TrimPrefix(l.Target, "ztunnel::")
		rest = after
	}
	l.Message, rest = splitMessage(rest)
	l.Fields = parseFields(rest)
}

// isPath reports whether s looks like a Rust module path (ztunnel::proxy).
func isPath(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == ':' || c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// splitSpans splits "xds::client:xds{id=3}" into the module and its spans:
// the first single ':' (not part of "::") starts the spans.
func splitSpans(target string) (scope, spans string) {
	for i := 0; i < len(target); i++ {
		if target[i] != ':' {
			continue
		}
		if i+1 < len(target) && target[i+1] == ':' {
			i++
			continue
		}
		return target[:i], target[i+1:]
	}
	return target, ""
}

// splitMessage separates the message from the fields that follow it. ztunnel
// puts a TAB there; where a copy turned TABs into spaces, the first token
// shaped like key= starts the fields.
func splitMessage(s string) (msg, fields string) {
	s = trimSpace(s)
	if i := strings.IndexByte(s, '\t'); i >= 0 {
		return trimSpace(s[:i]), s[i+1:]
	}
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		if keyLen(s[i:]) > 0 {
			return trimSpace(s[:i]), s[i:]
		}
		if s[i] == '"' {
			i = skipQuoted(s, i)
			continue
		}
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
	}
	return s, ""
}

// keyLen returns the length of a field key if s starts with "key=", else 0.
// Keys are identifiers with dots (src.addr) or dashes.
func keyLen(s string) int {
	if s == "" || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return 0
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '=':
			return i
		case c == '_' || c == '.' || c == '-' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
		default:
			return 0
		}
	}
	return 0
}

// parseFields reads k=v pairs. A quoted value runs to its closing quote,
// spaces and all. Tokens that are not k=v continue the previous unquoted
// value, as in legacy "err=http status: 401 Unauthorized".
func parseFields(s string) []Field {
	if s == "" {
		return nil
	}
	out := make([]Field, 0, strings.Count(s, "="))
	lastStart := -1 // where the last unquoted value starts in s
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		if k := keyLen(s[i:]); k > 0 {
			f := Field{Key: s[i : i+k]}
			i += k + 1
			if i < len(s) && s[i] == '"' {
				end := skipQuoted(s, i)
				inner := s[i+1 : end]
				if strings.HasSuffix(inner, `"`) {
					inner = inner[:len(inner)-1]
				}
				f.Value, f.Quoted = unescape(inner), true
				lastStart = -1
				i = end
			} else {
				start := i
				for i < len(s) && !isSpace(s[i]) {
					i++
				}
				f.Value = s[start:i]
				lastStart = start
			}
			out = append(out, f)
			continue
		}
		start := i
		if s[i] == '"' {
			i = skipQuoted(s, i)
		}
		for i < len(s) && !isSpace(s[i]) {
			i++
		}
		if lastStart >= 0 && len(out) > 0 {
			out[len(out)-1].Value = s[lastStart:i]
			continue
		}
		out = append(out, Field{Value: s[start:i]})
	}
	return out
}

// unescape undoes Rust Debug string escapes; it allocates only when the
// value has a backslash.
func unescape(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 == len(s) {
			b.WriteByte(c)
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case 'u':
			// \u{1F600}
			if i+1 < len(s) && s[i+1] == '{' {
				if end := strings.IndexByte(s[i:], '}'); end > 0 {
					if r, err := strconv.ParseUint(s[i+2:i+end], 16, 32); err == nil {
						b.WriteRune(rune(r))
						i += end
						continue
					}
				}
			}
			b.WriteString(`\u`)
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// derive fills Conn from the fields.
func (l *Line) derive() {
	c := &l.Conn
	for i := range l.Fields {
		f := &l.Fields[i]
		switch f.Key {
		case "src.addr":
			c.SrcAddr = f.Value
		case "src.workload":
			c.SrcWorkload = f.Value
		case "src.namespace":
			c.SrcNamespace = f.Value
		case "src.identity":
			c.SrcIdentity = f.Value
		case "dst.addr":
			c.DstAddr = f.Value
		case "dst.hbone_addr":
			c.DstHBONEAddr = f.Value
		case "dst.service":
			c.DstService = f.Value
		case "dst.workload":
			c.DstWorkload = f.Value
		case "dst.namespace":
			c.DstNamespace = f.Value
		case "dst.identity":
			c.DstIdentity = f.Value
		case "direction":
			switch f.Value {
			case "inbound":
				c.Direction = DirInbound
			case "outbound":
				c.Direction = DirOutbound
			}
		case "bytes_sent":
			if n, err := strconv.ParseInt(f.Value, 10, 64); err == nil {
				c.BytesSent, c.HasBytes = n, true
			}
		case "bytes_recv":
			if n, err := strconv.ParseInt(f.Value, 10, 64); err == nil {
				c.BytesRecv, c.HasBytes = n, true
			}
		case "duration", "dur":
			if d, ok := parseDuration(f.Value); ok {
				c.Duration, c.HasDuration = d, true
			}
		case "error", "err":
			c.Error = f.Value
		}
	}
	if c.Direction == DirUnknown && l.Format == FormatLegacy {
		// Legacy lines name the direction in the target instead.
		switch {
		case strings.HasSuffix(l.Scope, "outbound"):
			c.Direction = DirOutbound
		case strings.HasSuffix(l.Scope, "inbound"):
			c.Direction = DirInbound
		}
	}
}

// parseDuration reads "10002ms" or "8.256389ms"; a bare number is ms, as
// ztunnel's JSON output may write it.
func parseDuration(s string) (time.Duration, bool) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, true
	}
	if ms, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(ms * float64(time.Millisecond)), true
	}
	return 0, false
}
