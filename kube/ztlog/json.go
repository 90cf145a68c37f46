package ztlog

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// parseJSON reads a LOG_FORMAT=json line: level, time, scope and message
// keys, each event field under its dotted key, and each span as a nested
// object keyed by span name. Field order is kept as written. It reports
// false when the line is not a JSON object, so the caller can fall back.
func parseJSON(l *Line, s string) bool {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	var fields []Field
	var spans []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		key, ok := tok.(string)
		if !ok {
			return false
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return false
		}
		var str string
		isStr := len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &str) == nil
		switch {
		case key == "level" && isStr:
			l.Level = parseLevelLoose(str)
		case (key == "time" || key == "timestamp") && isStr:
			if tm, err := time.Parse(time.RFC3339Nano, str); err == nil {
				l.Time, l.TimeText = tm, str
			}
		case (key == "scope" || key == "target") && isStr:
			l.Target = str
			l.Scope, _ = splitSpans(strings.TrimPrefix(str, "ztunnel::"))
		case (key == "message" || key == "msg") && isStr:
			l.Message = str
		case len(raw) > 0 && raw[0] == '{':
			var b bytes.Buffer
			if json.Compact(&b, raw) == nil {
				spans = append(spans, key+b.String())
			}
		case isStr:
			fields = append(fields, Field{Key: key, Value: str, Quoted: true})
		default:
			fields = append(fields, Field{Key: key, Value: string(raw)})
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return false
	}
	l.Format = FormatJSON
	l.Fields = fields
	l.Spans = strings.Join(spans, ":")
	return true
}
