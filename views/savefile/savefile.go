// Package savefile writes what a view saves (a log, a patch) without
// harming anything already on disk: the file is created new (never
// truncating an existing one, never following a planted symlink), readable
// only by the user, in the current directory or, where that cannot be
// written, the user's state directory, and its full path is returned so
// the view can show it.
package savefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Mode is the permission of a saved file: logs and patches name pods,
// addresses and identities, which other users of the machine need not see.
const Mode = 0o600

// Dirs are where a save goes, in order: the current directory, then the
// user's state directory ($XDG_STATE_HOME/ambx, else ~/.local/state/ambx).
func Dirs() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	if d := StateDir(); d != "" {
		dirs = append(dirs, d)
	}
	return dirs
}

// StateDir is ambx's directory under the user's state directory, or "".
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "ambx")
	}
	if h, err := os.UserHomeDir(); err == nil && h != "" {
		return filepath.Join(h, ".local", "state", "ambx")
	}
	return ""
}

// Create writes data to a new file called name (or name-2, name-3, … when
// that exists) in the first of dirs that takes it, and returns its absolute
// path. name must be a plain file name. A directory that cannot be
// written (read-only, no permission, gone) passes to the next; the state
// directory is created, mode 0700, when it is the one used.
func Create(dirs []string, name string, data []byte) (string, error) {
	if name == "" || name != filepath.Base(name) || name == "." || name == ".." {
		return "", fmt.Errorf("bad file name %q", name)
	}
	var errs []error
	for _, dir := range dirs {
		if dir == StateDir() {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		path, err := create(dir, name, data)
		if err == nil {
			return path, nil
		}
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		return "", errors.New("no directory to save in")
	}
	return "", errors.Join(errs...)
}

func create(dir, name string, data []byte) (string, error) {
	ext := filepath.Ext(name)
	base := strings.TrimSuffix(name, ext)
	for i := 1; i < 100; i++ {
		n := name
		if i > 1 {
			n = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		path := filepath.Join(dir, n)
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		// O_EXCL fails on any existing name, a symlink (even a dangling
		// one) included; O_NOFOLLOW says the same to a reader of the code.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, Mode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", fmt.Errorf("%s: %w", path, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("%s and 98 numbered copies exist in %s", name, dir)
}
