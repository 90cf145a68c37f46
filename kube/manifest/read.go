package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Size limits. A manifest folder is text a person wrote or a tool dumped;
// anything larger is a mistake or an attack (a *.yaml link to /dev/zero).
const (
	MaxFileBytes  = 16 << 20
	MaxTotalBytes = 128 << 20
)

// manifestExts are the files a folder walk reads.
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// Load reads files and folders (recursively: *.yaml, *.yml and *.json, not
// hidden folders) of multi-document YAML or JSON. Only regular files are
// read, each at most MaxFileBytes: a named FIFO, device or socket is an
// error, and one met in a folder is skipped with a note.
func Load(paths []string) (*Set, error) {
	l := newLoader()
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, unwrapPath(err))
		}
		if !info.IsDir() {
			if err := l.loadFile(p, false); err != nil {
				return nil, err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .git and friends
			}
			if !d.IsDir() && manifestExts[strings.ToLower(filepath.Ext(path))] {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
		for _, f := range files {
			if err := l.loadFile(f, true); err != nil {
				return nil, err
			}
		}
	}
	return l.done(), nil
}

// LoadBytes reads one multi-document YAML or JSON stream; name is used in
// positions and messages.
func LoadBytes(name string, data []byte) (*Set, error) {
	l := newLoader()
	if err := l.load(name, data); err != nil {
		return nil, err
	}
	return l.done(), nil
}

// errNotRegular marks a path that is not a regular file.
var errNotRegular = errors.New("not a regular file")

func (l *loader) loadFile(path string, inFolder bool) error {
	data, err := l.readFile(path)
	if errors.Is(err, errNotRegular) && inFolder {
		l.Notes = append(l.Notes, path+": not a regular file; skipped")
		return nil
	}
	if err != nil {
		return err
	}
	return l.load(path, data)
}

// readFile reads a regular file within the limits. The file is opened
// without blocking and checked after opening, so a FIFO neither hangs the
// open nor is read, even if it replaced a regular file after the walk.
func (l *loader) readFile(path string) ([]byte, error) {
	if info, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	} else if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, errNotRegular, fileType(info.Mode()))
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlocking, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s)", path, errNotRegular, fileType(info.Mode()))
	}
	if info.Size() > MaxFileBytes {
		return nil, fmt.Errorf("%s: %d bytes is more than the %d MiB a manifest file may hold", path, info.Size(), MaxFileBytes>>20)
	}
	// The size can change after the Stat; the reader is bounded anyway.
	data, err := io.ReadAll(io.LimitReader(f, MaxFileBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
	}
	if len(data) > MaxFileBytes {
		return nil, fmt.Errorf("%s: more than the %d MiB a manifest file may hold", path, MaxFileBytes>>20)
	}
	l.total += len(data)
	if l.total > MaxTotalBytes {
		return nil, fmt.Errorf("%s: the manifests add up to more than %d MiB", path, MaxTotalBytes>>20)
	}
	return data, nil
}

func fileType(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	case m.IsDir():
		return "a folder"
	default:
		return "mode " + m.String()
	}
}

// unwrapPath drops the *PathError's own path and operation: messages name
// the path once, in front.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
