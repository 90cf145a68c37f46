package netpol

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestSyntheticProblems pins the problems, examples included, that the
// checks find on syntheticInput. The golden file was written by the
// per-pod checks before they were made to share work between pods,
// waypoints and identical patches, so it holds those shortcuts to the same
// output.
func TestSyntheticProblems(t *testing.T) {
	var sb strings.Builder
	for _, p := range CheckHBONEProblems(syntheticInput(1000, 100, 60)) {
		fmt.Fprintf(&sb, "=== %s %s %s\n%s\n%s\nfix: %s\n", p.Severity, p.Code, p.Object, p.Title, p.Why, p.Fix)
		if p.Patch != nil {
			fmt.Fprintf(&sb, "patch: %s (%s)\n%s\n---\n%s", p.Patch.Title, p.Patch.Target, p.Patch.JSONPatch, p.Patch.Manifest)
		}
		for _, ex := range p.Examples {
			fmt.Fprintf(&sb, "example: %s\n", ex)
		}
	}
	golden(t, "synthetic-problems.golden", sb.String())
}

// Golden lets the external tests compare with testdata/*.golden too.
var Golden = golden

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
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
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := range min(len(gl), len(wl)) {
			if gl[i] != wl[i] {
				t.Fatalf("%s differs at line %d:\n got: %.300s\nwant: %.300s", path, i+1, gl[i], wl[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d", path, len(gl), len(wl))
	}
}
