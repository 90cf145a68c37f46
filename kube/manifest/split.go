package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// chunk is one document of a stream as text, with the line it starts on.
type chunk struct {
	line int
	text []byte
	json bool // text is one JSON value already
}

// split cuts a stream into documents the way kubectl does
// (k8s.io/apimachinery/pkg/util/yaml): a stream that starts with '{' is a
// sequence of JSON values, anything else YAML documents separated by
// "---" lines. Unlike that reader it keeps each document's first line, so
// findings can point at the file and line.
func split(data []byte) ([]chunk, error) {
	if t := bytes.TrimLeft(data, " \t\r\n"); len(t) > 0 && t[0] == '{' {
		if cs, ok := splitJSON(data); ok {
			return cs, nil
		}
	}
	return splitYAML(data)
}

// splitJSON reads concatenated JSON values. It reports false when the
// first value is not JSON, so a YAML flow mapping ({a: 1}) is read as YAML,
// as kubectl does.
func splitJSON(data []byte) ([]chunk, bool) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out []chunk
	for {
		start := int(dec.InputOffset())
		for start < len(data) && strings.IndexByte(" \t\r\n", data[start]) >= 0 {
			start++
		}
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return out, true
		}
		if err != nil {
			if len(out) == 0 {
				return nil, false
			}
			// Later values that are not JSON: hand the rest to YAML as one
			// more document, whose decoding reports the error.
			out = append(out, chunk{line: lineAt(data, start), text: data[start:]})
			return out, true
		}
		out = append(out, chunk{line: lineAt(data, start), text: raw, json: true})
	}
}

func lineAt(data []byte, offset int) int { return 1 + bytes.Count(data[:offset], []byte("\n")) }

// splitYAML cuts at lines that start with "---" followed by nothing but
// spaces or a comment; anything else after "---" is an error, as in kubectl.
func splitYAML(data []byte) ([]chunk, error) {
	var out []chunk
	var cur []byte
	start, line := 0, 0
	for len(data) > 0 {
		line++
		n := bytes.IndexByte(data, '\n') + 1
		if n == 0 {
			n = len(data)
		}
		l := data[:n]
		data = data[n:]
		if rest, ok := bytes.CutPrefix(l, []byte("---")); ok {
			if t := strings.TrimSpace(string(rest)); t != "" && t[0] != '#' {
				return nil, fmt.Errorf("line %d: invalid YAML document separator: %s", line, t)
			}
			if len(cur) > 0 {
				out = append(out, chunk{line: start, text: cur})
				cur = nil
			}
			continue
		}
		if len(cur) == 0 {
			start = line
		}
		cur = append(cur, l...)
	}
	if len(cur) > 0 {
		out = append(out, chunk{line: start, text: cur})
	}
	return out, nil
}

// nodeOf parses a document again as a YAML node tree, only to know on
// which line each field sits; the values come from sigs.k8s.io/yaml, which
// is what the API server's clients read manifests with. Lines are made
// absolute. A document yaml.v3 cannot parse has no node: its findings
// point at its first line.
func nodeOf(c chunk) *yamlv3.Node {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(c.text, &doc); err != nil || doc.Kind != yamlv3.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	n := doc.Content[0]
	shift(n, c.line-1, 0)
	return n
}

// maxNodeDepth bounds the walk over a hostile, deeply nested document.
const maxNodeDepth = 200

func shift(n *yamlv3.Node, by, depth int) {
	if n == nil || depth > maxNodeDepth {
		return
	}
	n.Line += by
	for _, c := range n.Content {
		shift(c, by, depth+1)
	}
}

// lineOf returns the line of the deepest node on a JSON pointer path
// (RFC 6901, "/spec/ingress/0/ports/-") that exists under n: the field a
// finding is about, or the nearest enclosing one.
func lineOf(n *yamlv3.Node, pointer string) int {
	if n == nil {
		return 0
	}
	line := n.Line
	if pointer == "" || pointer == "/" {
		return line
	}
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch n.Kind {
		case yamlv3.MappingNode:
			var next *yamlv3.Node
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == tok {
					line, next = n.Content[i].Line, n.Content[i+1]
					break
				}
			}
			if next == nil {
				return line
			}
			n = next
		case yamlv3.SequenceNode:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(n.Content) {
				return line // "-" (the end) or out of range: the list itself
			}
			n = n.Content[i]
			line = n.Line
		default:
			return line
		}
	}
	return line
}
