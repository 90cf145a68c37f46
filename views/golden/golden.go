// Package golden compares rendered views with files under testdata, so a
// test states what a person would see; `go test -update` rewrites them.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// RequireEqual fails t unless got equals testdata/<TestName>.golden.
func RequireEqual(t testing.TB, got string) {
	t.Helper()
	name := strings.ReplaceAll(t.Name(), "/", "_")
	path := filepath.Join("testdata", name+".golden")
	// Trailing spaces are layout, but editors strip them: end every line
	// with a bar so the width is visible and survives editing.
	got = strings.ReplaceAll(got, "\n", "|\n") + "|\n"
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the rendered view (go test -update rewrites it)\n--- want\n%s\n--- got\n%s", path, want, got)
	}
}
