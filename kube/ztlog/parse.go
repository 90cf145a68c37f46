package ztlog

import (
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxLineBytes is the most of one line Parse reads. A longer line is cut
// (on a character boundary), copied so the long original is not kept
// alive, and Line.Truncated says how much was dropped: a 64 KiB line costs
// 8 KiB, and a full buffer of lines a bounded amount.
const MaxLineBytes = 8 << 10

// MaxFields is the most key=value fields one line keeps; the text after
// the last one becomes one unnamed field, so nothing is lost from view but
// a line of "=" cannot cost a field per character.
const MaxFields = 64

// Parse parses one log line. It never fails: a line it cannot read comes
// back with FormatUnknown and the text in Message, so nothing is lost.
//
// Text a log aggregator put first is recognised and kept in Prefix:
// `kubectl logs --prefix` ("[pod/ztunnel-x/istio-proxy] "), stern ("pod
// container "), `kubectl logs --timestamps` and Loki/Grafana exports ("<ts> |
// " or "<ts> {labels} "). ANSI styling (which ztunnel builds before 1.22
// write when their output is a terminal, and stern adds to its prefix) is
// removed before parsing; Raw keeps the line as read.
func Parse(s string) Line {
	s = strings.TrimRight(s, "\r\n")
	cut := 0
	if len(s) > MaxLineBytes {
		n := MaxLineBytes
		for n > 0 && !utf8.RuneStart(s[n]) {
			n--
		}
		cut = len(s) - n
		s = strings.Clone(s[:n])
	}
	l := Line{Raw: s, Truncated: cut}
	t := s
	if strings.IndexByte(t, 0x1b) >= 0 {
		t = stripCSI(t)
	}
	t = trimSpace(t)
	if t == "" {
		return l
	}
	prefix, body := splitPrefix(t)
	if body == "" {
		prefix, body = "", t
	}
	if body[0] == '{' {
		j := Line{Raw: s, Truncated: cut, Prefix: prefix}
		if parseJSON(&j, body) {
			j.derive()
			return j
		}
	}
	l.Prefix = prefix
	tok, rest := nextToken(body)
	if isTimestamp(tok) {
		tm, err := time.Parse(time.RFC3339Nano, tok)
		if err != nil {
			l.Prefix, l.Message = "", t
			return l
		}
		l.Time, l.TimeText = tm, tok
		tok, rest = nextToken(rest)
	} else if !isLevel(tok) {
		l.Prefix, l.Message = "", t
		return l
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

// splitPrefix finds where ztunnel's own text starts: at a timestamp that
// a level follows, at a level that a target follows, or at a JSON object,
// after at most three tokens that an aggregator writes (names, [bracketed]
// or {labelled} tokens, timestamps). With no such start it returns "", s.
func splitPrefix(s string) (prefix, body string) {
	// A line that starts as ztunnel writes one has no prefix, whatever its
	// message holds (a " | " included).
	if tok, after := nextToken(s); isTimestamp(tok) {
		if next, _ := nextToken(after); isLevel(next) {
			return "", s
		}
	}
	// Grafana and Loki exports: "<timestamp> | <line>".
	if i := strings.Index(s[:min(len(s), 100)], " | "); i > 0 && s[0] >= '0' && s[0] <= '9' {
		rest := trimSpace(s[i+3:])
		if p, b := splitPrefix(rest); b != "" && (p != "" || startsLine(rest)) {
			if p == "" {
				return trimSpace(s[:i]), rest
			}
			return trimSpace(s[:i]) + " | " + p, b
		}
	}
	rest := s
	for k := 0; k <= 3 && rest != ""; k++ {
		tok, after := nextToken(rest)
		next, _ := nextToken(after)
		start := len(s) - len(rest)
		switch {
		case tok[0] == '{' && len(tok) > 1 && tok[1] == '"' && k > 0:
			return trimSpace(s[:start]), rest
		case isTimestamp(tok) && isLevel(next):
			return trimSpace(s[:start]), rest
		case isLevel(tok) && (k == 0 || targetShaped(next)):
			return trimSpace(s[:start]), rest
		}
		if !prefixShaped(tok) {
			break
		}
		rest = after
	}
	return "", s
}

// startsLine reports whether s begins as a ztunnel line: a JSON object,
// a timestamp and a level, or a level.
func startsLine(s string) bool {
	tok, after := nextToken(s)
	next, _ := nextToken(after)
	return strings.HasPrefix(s, `{"`) || isTimestamp(tok) && isLevel(next) || isLevel(tok)
}

// prefixShaped reports whether tok is something an aggregator writes
// before a line: a [bracketed] or {labelled} token, a timestamp, or a
// Kubernetes name (pod, container, namespace), perhaps with a colon.
func prefixShaped(tok string) bool {
	switch {
	case tok == "":
		return false
	case tok[0] == '[' && tok[len(tok)-1] == ']', tok[0] == '{' && tok[len(tok)-1] == '}':
		return true
	case tok[0] >= '0' && tok[0] <= '9' && strings.ContainsAny(tok, "-:T"):
		return true
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '/' || c >= 'A' && c <= 'Z' || c == ':' && i == len(tok)-1) {
			return false
		}
	}
	return true
}

// targetShaped reports whether tok is surely the target after a level,
// as a prefixed line without a timestamp needs: a module path with "::"
// or spans, a legacy span or target ending in ':', or a top-level module
// ztunnel logs under.
func targetShaped(tok string) bool {
	scope, spans := splitSpans(strings.TrimSuffix(tok, ":"))
	if i := strings.IndexByte(scope, '{'); i >= 0 {
		scope, spans = scope[:i], scope[i:]
	}
	if !isPath(scope) || scope == "" {
		return false
	}
	return strings.Contains(scope, "::") || spans != "" || strings.HasSuffix(tok, ":") || topModules[scope]
}

// topModules are the targets without "::" that ztunnel's Istio format writes.
var topModules = map[string]bool{"access": true, "app": true, "readiness": true, "hyper_util": true,
	"ztunnel": true, "telemetry": true, "admin": true, "stats": true, "signal": true, "cni-agent": true}

// stripCSI removes ANSI control sequences (ESC [ … final byte), the
// styling tracing and stern write. Other escape bytes are left for the
// views' sanitizer to show.
func stripCSI(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == 0x1b && i+1 < len(s) && s[i+1] == '[' {
			j := i + 2
			for j < len(s) && s[j] >= 0x20 && s[j] <= 0x3f {
				j++
			}
			if j < len(s) && s[j] >= 0x40 && s[j] <= 0x7e {
				i = j
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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

// parseLegacy reads tracing's default format after the level:
// "[spans:] [target:] message k=v". Spans are "name{fields}" or a bare
// "name", chained with ':'; the target is a module path ("ztunnel::proxy")
// or a crate root.
func parseLegacy(l *Line, rest string) {
	l.Format = FormatLegacy
	tok, after := nextToken(rest)
	if body, ok := strings.CutSuffix(tok, ":"); ok && body != "" {
		switch {
		case targetLike(body):
			l.Target, rest = body, after
		case spanLike(body):
			tok2, after2 := nextToken(after)
			if t2, ok := strings.CutSuffix(tok2, ":"); ok && targetLike(t2) {
				l.Spans, l.Target, rest = body, t2, after2
			} else if strings.IndexByte(body, '{') >= 0 {
				// Spans with fields and no target (with_target(false)).
				l.Spans, rest = body, after
			}
		}
	}
	l.Scope = strings.TrimPrefix(l.Target, "ztunnel::")
	l.Message, rest = splitMessage(rest)
	l.Fields = parseFields(rest)
}

// crateRoots are targets without "::" that ztunnel's dependencies and
// main module log under.
var crateRoots = map[string]bool{"ztunnel": true, "hyper": true, "h2": true, "rustls": true, "tokio": true,
	"tower": true, "hickory_server": true, "trust_dns_server": true, "hyper_util": true, "tonic": true}

// targetLike reports whether s is a tracing target: a module path with
// "::", or a crate root.
func targetLike(s string) bool {
	return isPath(s) && (strings.Contains(s, "::") || crateRoots[s])
}

// spanLike reports whether s is a span chain: "a{x=1}:b" or "a:b".
func spanLike(s string) bool {
	if s == "" || !(s[0] == '_' || s[0] >= 'a' && s[0] <= 'z' || s[0] >= 'A' && s[0] <= 'Z') {
		return false
	}
	if strings.IndexByte(s, '{') >= 0 {
		return true
	}
	return isPath(s) && !strings.Contains(s, "::")
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
	// A fixed first size covers an access line; more fields grow the
	// slice, up to MaxFields.
	out := make([]Field, 0, 20)
	lastStart := -1 // where the last unquoted value starts in s
	i := 0
	for i < len(s) {
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		if i >= len(s) {
			break
		}
		if len(out) == MaxFields {
			out[len(out)-1].Value += " " + s[i:]
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

// unescape undoes the Rust Debug escapes of quotes, backslashes and
// printable code points. Escapes of control and format characters (\n,
// \t, \0, \u{1b}, \u{202e}) stay as ztunnel wrote them: the value then
// holds no raw control character to reach a terminal, and reads as the
// log does. It allocates only when the value has a backslash.
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
		case '"', '\\', '\'':
			b.WriteByte(s[i])
		case 'u':
			// \u{1F600}
			if i+1 < len(s) && s[i+1] == '{' {
				if end := strings.IndexByte(s[i:], '}'); end > 0 {
					if r, err := strconv.ParseUint(s[i+2:i+end], 16, 32); err == nil && printable(rune(r)) {
						b.WriteRune(rune(r))
						i += end
						continue
					}
				}
			}
			b.WriteString(`\u`)
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// printable reports whether r may be written raw: not a control, format
// or separator character, and a valid code point.
func printable(r rune) bool {
	return utf8.ValidRune(r) && !unicode.In(r, unicode.Cc, unicode.Cf, unicode.Zl, unicode.Zp)
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
