package savefile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ambx/ambx/views/savefile"
)

func TestCreate(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		plant    func(string) // makes dir/ambx.log before the save
		wantName string
	}{
		{name: "a new name", wantName: "a.log"},
		{name: "an existing file is not truncated", plant: func(p string) { os.WriteFile(p, []byte("old"), 0o644) }, wantName: "b-2.log"},
		{name: "a symlink to another file is not followed", plant: func(p string) { os.Symlink(victim, p) }, wantName: "c-2.log"},
		{name: "a dangling symlink is not followed", plant: func(p string) { os.Symlink(filepath.Join(dir, "nowhere"), p) }, wantName: "d-2.log"},
		{name: "a symlink to /dev/null is not followed", plant: func(p string) { os.Symlink("/dev/null", p) }, wantName: "e-2.log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			name := tc.wantName[:1] + ".log"
			if tc.plant != nil {
				tc.plant(filepath.Join(dir, name))
			}
			path, err := savefile.Create([]string{dir}, name, []byte("lines\n"))
			if err != nil {
				t.Fatal(err)
			}
			if path != filepath.Join(dir, tc.wantName) || !filepath.IsAbs(path) {
				t.Errorf("saved to %s, want %s", path, filepath.Join(dir, tc.wantName))
			}
			st, err := os.Lstat(path)
			if err != nil || !st.Mode().IsRegular() || st.Mode().Perm() != 0o600 {
				t.Errorf("saved file %v, %v; want a regular file, mode 0600", st.Mode(), err)
			}
			if b, _ := os.ReadFile(path); string(b) != "lines\n" {
				t.Errorf("content %q", b)
			}
		})
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Errorf("the symlink's target was written: %q", b)
	}
}

func TestCreateFallsBackToTheStateDir(t *testing.T) {
	// Not a directory stands for any that cannot be written: root writes
	// into a mode-0500 one.
	ro := filepath.Join(t.TempDir(), "file")
	os.WriteFile(ro, nil, 0o600)
	state := t.TempDir()
	t.Setenv("XDG_STATE_HOME", state)
	path, err := savefile.Create([]string{ro, savefile.StateDir()}, "x.log", []byte("x"))
	if err != nil || !strings.HasPrefix(path, filepath.Join(state, "ambx")) {
		t.Fatalf("saved to %q, %v; want the state dir", path, err)
	}
}

func TestCreateRefusesPaths(t *testing.T) {
	for _, n := range []string{"", "../x", "a/b", "..", "."} {
		if _, err := savefile.Create([]string{t.TempDir()}, n, nil); err == nil {
			t.Errorf("name %q accepted", n)
		}
	}
}

func TestStateDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/s")
	if d := savefile.StateDir(); d != "/s/ambx" {
		t.Errorf("XDG_STATE_HOME: %s", d)
	}
	t.Setenv("XDG_STATE_HOME", "relative")
	t.Setenv("HOME", "/home/u")
	if d := savefile.StateDir(); d != "/home/u/.local/state/ambx" {
		t.Errorf("relative XDG_STATE_HOME is ignored: %s", d)
	}
}
