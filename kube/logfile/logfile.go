// Package logfile is `ambx logs`: it reads a saved or piped ztunnel log
// (what people attach to bug reports, or `kubectl logs … | ambx logs -`)
// line by line through the ztunnel parser and prints the parsed columns, or
// one JSON array of parsed lines. Every string printed passes through the
// views' sanitizer, and each line costs a bounded amount of memory however
// long it is.
package logfile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/ztlog"
)

// Options say what to read and how to print it.
type Options struct {
	// Path is the file to read; "" or "-" reads stdin.
	Path string
	// JSON prints a JSON array instead of columns.
	JSON bool
}

// Run reads the log and prints it to stdout. It returns an error for a
// file it cannot (or will not) read and for a failed write.
func Run(o Options, stdin io.Reader, stdout io.Writer) error {
	r := stdin
	if o.Path != "" && o.Path != "-" {
		f, err := open(o.Path)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	w := bufio.NewWriter(stdout)
	p := printer{w: w, json: o.JSON}
	err := eachLine(r, p.line)
	if ferr := p.finish(); err == nil {
		err = ferr
	}
	if ferr := w.Flush(); err == nil {
		err = ferr
	}
	return err
}

// open opens a regular file only: a FIFO would block forever and a
// device (a symlink to /dev/zero) never ends. O_NONBLOCK keeps the open
// itself from waiting for a FIFO's writer.
func open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is not a regular file (%s); to read a stream, pipe it: ambx logs - < %s",
			safe.Line(path), kind(st.Mode()), safe.Line(path))
	}
	return f, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return m.Type().String()
}

// eachLine calls fn for every line of r, cutting a line at
// ztlog.MaxLineBytes and counting what it dropped into Line.Truncated.
func eachLine(r io.Reader, fn func(ztlog.Line) error) error {
	br := bufio.NewReaderSize(r, 16<<10)
	var long []byte
	dropped := 0
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			keep := min(len(chunk), max(0, ztlog.MaxLineBytes-len(long)))
			long = append(long, chunk[:keep]...)
			dropped += len(chunk) - keep
			continue
		}
		var text string
		if long != nil {
			keep := min(len(chunk), max(0, ztlog.MaxLineBytes-len(long)))
			long = append(long, chunk[:keep]...)
			dropped += len(bytes.TrimRight(chunk[keep:], "\r\n"))
			text, long = string(long), nil
		} else if len(chunk) > 0 {
			text = string(chunk)
		}
		if strings.TrimSpace(text) != "" {
			l := ztlog.Parse(text)
			l.Truncated += dropped
			if ferr := fn(l); ferr != nil {
				return ferr
			}
		}
		dropped = 0
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

type printer struct {
	w    *bufio.Writer
	json bool
	n    int
}

func (p *printer) line(l ztlog.Line) error {
	if p.json {
		return p.jsonLine(l)
	}
	p.w.WriteString(Text(&l))
	p.w.WriteByte('\n')
	if h := l.Hint(); h.Text != "" {
		p.w.WriteString("    hint: " + safe.Line(h.Text))
		if h.Flag != "" {
			p.w.WriteString(" [" + h.Flag + "]")
		}
		p.w.WriteByte('\n')
	}
	// Flush per line so a piped `kubectl logs -f` shows as it comes.
	return p.w.Flush()
}

func (p *printer) finish() error {
	if !p.json {
		return nil
	}
	if p.n == 0 {
		_, err := p.w.WriteString("[]\n")
		return err
	}
	_, err := p.w.WriteString("\n]\n")
	return err
}

// Text is one parsed line as the columns `ambx logs` prints: the source
// an aggregator named, time, level and scope, then for a connection its
// direction, ends, bytes, duration and error, else the message and fields.
// Every part is sanitized.
func Text(l *ztlog.Line) string {
	var parts []string
	if l.Prefix != "" {
		parts = append(parts, safe.Line(l.Prefix)+" |")
	}
	if l.Format == ztlog.FormatUnknown {
		parts = append(parts, "?", safe.Line(l.Raw))
		return strings.Join(append(parts, mark(l)...), " ")
	}
	parts = append(parts, orDash(l.TimeText), pad(orDash(l.Level.String()), 5))
	scope := l.Scope
	if scope == "" {
		scope = l.Target
	}
	if l.Spans != "" && l.Format == ztlog.FormatLegacy {
		scope += "{" + l.Spans + "}"
	}
	parts = append(parts, orDash(scope))
	if l.Access() {
		c := &l.Conn
		if d := c.Direction.String(); d != "" {
			parts = append(parts, d)
		}
		if c.SrcAddr != "" || c.SrcWorkload != "" || c.DstAddr != "" || c.DstWorkload != "" {
			parts = append(parts, end(c.SrcNamespace, c.SrcWorkload, c.SrcAddr)+" -> "+end(c.DstNamespace, c.DstWorkload, c.DstAddr))
		}
		if c.DstHBONEAddr != "" && c.DstHBONEAddr != c.DstAddr {
			parts = append(parts, "(tunnel to "+c.DstHBONEAddr+")")
		}
		if c.DstService != "" {
			parts = append(parts, "service="+c.DstService)
		}
		if c.HasBytes {
			parts = append(parts, "sent="+strconv.FormatInt(c.BytesSent, 10), "recv="+strconv.FormatInt(c.BytesRecv, 10))
		}
		if c.HasDuration {
			// Milliseconds as ztunnel writes them: 10002ms is the
			// connect-timeout signature.
			parts = append(parts, "dur="+strconv.FormatInt(c.Duration.Milliseconds(), 10)+"ms")
		}
		if l.Message != "connection complete" && l.Message != "" {
			parts = append(parts, strconv.Quote(l.Message))
		}
		if c.Error != "" {
			parts = append(parts, "error="+strconv.Quote(c.Error))
		}
	} else {
		parts = append(parts, l.Message)
		for _, f := range l.Fields {
			v := f.Value
			if f.Quoted || strings.ContainsAny(v, " \t") {
				v = strconv.Quote(v)
			}
			if f.Key != "" {
				v = f.Key + "=" + v
			}
			parts = append(parts, v)
		}
	}
	for i := range parts {
		parts[i] = safe.Line(parts[i])
	}
	return strings.Join(append(parts, mark(l)...), " ")
}

func mark(l *ztlog.Line) []string {
	if m := l.TruncationMark(); m != "" {
		return []string{m}
	}
	return nil
}

func end(ns, workload, addr string) string {
	s := workload
	if ns != "" && workload != "" {
		s = ns + "/" + workload
	}
	switch {
	case s == "":
		return orDash(addr)
	case addr != "":
		return s + "@" + addr
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func pad(s string, w int) string {
	if len(s) >= w {
		return s
	}
	return s + strings.Repeat(" ", w-len(s))
}

// Entry is one line in `ambx logs -o json`.
type Entry struct {
	Time      string       `json:"time,omitempty"`
	Level     string       `json:"level,omitempty"`
	Format    string       `json:"format"`
	Source    string       `json:"source,omitempty"` // the aggregator's prefix
	Target    string       `json:"target,omitempty"`
	Scope     string       `json:"scope,omitempty"`
	Spans     string       `json:"spans,omitempty"`
	Message   string       `json:"message,omitempty"`
	Fields    []EntryField `json:"fields,omitempty"`
	Access    bool         `json:"access"`
	Conn      *EntryConn   `json:"connection,omitempty"`
	Hint      *EntryHint   `json:"hint,omitempty"`
	Truncated int          `json:"truncatedBytes,omitempty"`
	Raw       string       `json:"raw"`
}

// EntryField is one key=value pair.
type EntryField struct {
	Key   string `json:"key,omitempty"`
	Value string `json:"value"`
}

// EntryConn is what an access line says about its connection.
type EntryConn struct {
	Direction    string `json:"direction,omitempty"`
	SrcAddr      string `json:"srcAddr,omitempty"`
	SrcWorkload  string `json:"srcWorkload,omitempty"`
	SrcNamespace string `json:"srcNamespace,omitempty"`
	SrcIdentity  string `json:"srcIdentity,omitempty"`
	DstAddr      string `json:"dstAddr,omitempty"`
	DstHBONEAddr string `json:"dstHboneAddr,omitempty"`
	DstService   string `json:"dstService,omitempty"`
	DstWorkload  string `json:"dstWorkload,omitempty"`
	DstNamespace string `json:"dstNamespace,omitempty"`
	DstIdentity  string `json:"dstIdentity,omitempty"`
	BytesSent    *int64 `json:"bytesSent,omitempty"`
	BytesRecv    *int64 `json:"bytesRecv,omitempty"`
	DurationMS   *int64 `json:"durationMs,omitempty"`
	HBONE        bool   `json:"hbone"`
	Error        string `json:"error,omitempty"`
}

// EntryHint explains an access line's error.
type EntryHint struct {
	Cause  string `json:"cause"`
	Flag   string `json:"flag,omitempty"`
	Text   string `json:"text,omitempty"`
	Policy string `json:"policy,omitempty"`
}

// EntryOf is the JSON form of a parsed line.
func EntryOf(l *ztlog.Line) Entry {
	e := Entry{Time: l.TimeText, Level: l.Level.String(), Format: l.Format.String(), Source: l.Prefix,
		Target: l.Target, Scope: l.Scope, Spans: l.Spans, Message: l.Message, Access: l.Access(),
		Truncated: l.Truncated, Raw: l.Raw}
	for _, f := range l.Fields {
		e.Fields = append(e.Fields, EntryField{Key: f.Key, Value: f.Value})
	}
	if e.Access {
		c := &l.Conn
		ec := &EntryConn{Direction: c.Direction.String(), SrcAddr: c.SrcAddr, SrcWorkload: c.SrcWorkload,
			SrcNamespace: c.SrcNamespace, SrcIdentity: c.SrcIdentity, DstAddr: c.DstAddr, DstHBONEAddr: c.DstHBONEAddr,
			DstService: c.DstService, DstWorkload: c.DstWorkload, DstNamespace: c.DstNamespace, DstIdentity: c.DstIdentity,
			HBONE: c.HBONE(), Error: c.Error}
		if c.HasBytes {
			ec.BytesSent, ec.BytesRecv = &c.BytesSent, &c.BytesRecv
		}
		if c.HasDuration {
			ms := c.Duration.Milliseconds()
			ec.DurationMS = &ms
		}
		e.Conn = ec
	}
	if h := l.Hint(); h.Cause != ztlog.CauseNone {
		e.Hint = &EntryHint{Cause: h.Cause.String(), Flag: h.Flag, Text: h.Text, Policy: h.Policy}
	}
	return e
}

func (p *printer) jsonLine(l ztlog.Line) error {
	b, err := json.Marshal(EntryOf(&l))
	if err != nil {
		return err
	}
	sep := ",\n  "
	if p.n == 0 {
		sep = "[\n  "
	}
	p.n++
	p.w.WriteString(sep)
	p.w.Write(safe.JSON(b))
	return p.w.Flush()
}
