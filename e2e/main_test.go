package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// stampedVersion is written into the binary at build time, so --version
// can be checked against what the build asked for.
const stampedVersion = "v0.0.0-e2e"

// bin is the ambx binary every test runs, built once by TestMain.
var bin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "ambx-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "ambx")
	build := exec.Command("go", "build", "-o", bin,
		"-ldflags", "-X main.version="+stampedVersion, "github.com/ambx/ambx")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}
