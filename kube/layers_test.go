package kube_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestKubeImportsNoPresentation keeps the layers apart: kube and its
// analysis packages serve the views, the root and the CLI, so none of their
// non-test files may import views/, ui/, keymap/ or theme/. The sanitizer
// the CLI reports share with the views lives in kube/safe for this reason.
func TestKubeImportsNoPresentation(t *testing.T) {
	const mod = "github.com/ambx/ambx/"
	banned := []string{"views", "ui", "keymap", "theme"}
	fset := token.NewFileSet()
	checked := 0
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		checked++
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			rest, ok := strings.CutPrefix(p, mod)
			if !ok {
				continue
			}
			top, _, _ := strings.Cut(rest, "/")
			for _, b := range banned {
				if top == b {
					t.Errorf("kube/%s imports %s: kube must not depend on the presentation layers", path, p)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if checked < 50 {
		t.Fatalf("checked only %d files under kube/: the walk is not reading the tree", checked)
	}
}
