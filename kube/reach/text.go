package reach

import "github.com/ambx/ambx/views/safe"

// clean is the one door every name, reason and message passes through on
// its way to the terminal: object names come from files anyone can write,
// and a control sequence in one could rewrite a verdict on screen. It is
// the views' sanitizer, so the CLI and the TUI escape alike.
func clean(s string) string { return safe.Line(s) }

// cleanJSON escapes, inside encoded JSON, what encoding/json leaves raw
// (DEL, C1 codes, bidi overrides): the output stays valid JSON that decodes
// to the same strings, and a terminal showing it sees no control.
func cleanJSON(b []byte) []byte { return safe.JSON(b) }
