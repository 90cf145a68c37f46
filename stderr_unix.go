//go:build unix

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/views/savefile"
)

// quietStderr points the process's standard error (fd 2, which credential
// plugins inherit from client-go) at a file in the user's state directory
// while the full-screen UI runs, so their prompts and errors cannot tear
// the screen. restore puts fd 2 back and reports, on the real stderr,
// what was kept and where. Where no state directory can be had, stderr is
// left as it is.
func quietStderr() (restore func(report io.Writer)) {
	dir := savefile.StateDir()
	if dir == "" || os.MkdirAll(dir, 0o700) != nil {
		return func(io.Writer) {}
	}
	path := filepath.Join(dir, "stderr.log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_APPEND|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return func(io.Writer) {}
	}
	st, _ := f.Stat()
	start := st.Size()
	saved, err := unix.Dup(2)
	if err != nil {
		f.Close()
		return func(io.Writer) {}
	}
	if unix.Dup2(int(f.Fd()), 2) != nil {
		unix.Close(saved)
		f.Close()
		return func(io.Writer) {}
	}
	return func(report io.Writer) {
		_ = unix.Dup2(saved, 2)
		unix.Close(saved)
		defer f.Close()
		end, _ := f.Seek(0, io.SeekEnd)
		if end <= start {
			return
		}
		tail := make([]byte, min(end-start, 2048))
		if _, err := f.ReadAt(tail, end-int64(len(tail))); err != nil {
			tail = nil
		}
		lines := bytes.Split(bytes.TrimRight(tail, "\n"), []byte("\n"))
		fmt.Fprintf(report, "ambx: %d bytes written to stderr while the screen was up (credential plugins, client libraries) are in %s; the last:\n", end-start, path)
		for _, l := range lines[max(0, len(lines)-3):] {
			fmt.Fprintf(report, "  %s\n", safe.Line(string(l)))
		}
	}
}
