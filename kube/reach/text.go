package reach

import "github.com/ambx/ambx/kube/safe"

// clean is the one door every name, reason and message passes through on
// its way to the terminal: object names come from files anyone can write,
// and a control sequence in one could rewrite a verdict on screen.
func clean(s string) string { return safe.Line(s) }

// cleanJSON keeps encoded JSON valid and free of raw controls.
func cleanJSON(b []byte) []byte { return safe.JSON(b) }
