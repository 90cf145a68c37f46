package audit

import (
	"encoding/json"

	"github.com/ambx/ambx/kube/safe"
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
// on screen. A cell is one line, so newlines are escaped too.
func line(s string) string { return safe.Line(s) }

// text is line for multi-line text (a fix that is YAML): newlines stay.
func text(s string) string { return safe.Text(s) }

// cleanEncoded keeps encoded JSON valid and free of raw controls: what
// encoding/json leaves raw becomes \u escapes, which read back the same.
func cleanEncoded(b []byte) []byte { return safe.JSON(b) }
