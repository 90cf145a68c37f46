// Package ztlog parses ztunnel log lines into their parts: time, level,
// target, message and key=value fields, and derives what a person debugging
// a connection wants from them (direction, source, destination, bytes,
// duration, error and a hint at the cause). It does no I/O.
//
// Three formats are accepted: the Istio plain format ztunnel writes since
// 1.22 (TAB-separated, though copies often turn TABs into spaces), the JSON
// format (LOG_FORMAT=json) and tracing's default format of ztunnel 1.21 and
// earlier (with or without its ANSI colours), each with or without the
// prefix a log aggregator adds.
package ztlog

import (
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Format is the log format a line was written in.
type Format uint8

// Formats.
const (
	FormatUnknown Format = iota // not recognised: Message holds the whole line
	FormatPlain                 // the Istio format: time, level, target, message, fields
	FormatJSON                  // LOG_FORMAT=json
	FormatLegacy                // tracing's default format (ztunnel 1.21 and earlier)
)

var formatNames = [...]string{"unknown", "plain", "json", "legacy"}

// String names the format.
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "unknown"
}

// Level is a log level.
type Level uint8

// Levels, least severe first so comparisons read naturally.
const (
	LevelUnknown Level = iota
	LevelTrace
	LevelDebug
	LevelInfo
	LevelWarn
	LevelError
)

var levelNames = [...]string{"", "trace", "debug", "info", "warn", "error"}

// String is the level as ztunnel writes it today (lower case).
func (l Level) String() string {
	if int(l) < len(levelNames) {
		return levelNames[l]
	}
	return ""
}

// Field is one key=value pair. Value is unescaped when the line quoted it.
type Field struct {
	Key    string
	Value  string
	Quoted bool
}

// Direction says which end of a connection reported it.
type Direction uint8

// Directions.
const (
	DirUnknown  Direction = iota
	DirInbound            // reported by the destination's ztunnel
	DirOutbound           // reported by the source's ztunnel
)

// String is the short form the log pane shows.
func (d Direction) String() string {
	switch d {
	case DirInbound:
		return "in"
	case DirOutbound:
		return "out"
	}
	return ""
}

// Conn is what an access line says about one connection. Fields the line
// does not carry stay zero; Has* tell a real zero from a missing value.
type Conn struct {
	Direction    Direction
	SrcAddr      string
	SrcWorkload  string
	SrcNamespace string
	SrcIdentity  string
	DstAddr      string
	DstHBONEAddr string
	DstService   string
	DstWorkload  string
	DstNamespace string
	DstIdentity  string
	BytesSent    int64
	BytesRecv    int64
	HasBytes     bool
	Duration     time.Duration
	HasDuration  bool
	Error        string
}

// SrcIP is the source address without its port.
func (c *Conn) SrcIP() (netip.Addr, bool) { return addrIP(c.SrcAddr) }

// DstIP is the destination socket address without its port: for an HBONE
// hop that is the pod (or waypoint) that received port 15008.
func (c *Conn) DstIP() (netip.Addr, bool) { return addrIP(c.DstAddr) }

// HBONE reports whether the hop went through the HBONE tunnel port.
func (c *Conn) HBONE() bool {
	ap, err := netip.ParseAddrPort(c.DstAddr)
	return err == nil && ap.Port() == 15008
}

func addrIP(s string) (netip.Addr, bool) {
	if s == "" {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a, true
	}
	return netip.Addr{}, false
}

// Line is one parsed log line. Its strings share memory with Raw, so a
// parsed line costs little more than the text it came from.
type Line struct {
	Raw    string // the line as read, without its newline
	Format Format
	// Prefix is text a log aggregator put before the line (e.g. a pod name).
	Prefix   string
	Time     time.Time // zero when the line has no timestamp
	TimeText string    // the timestamp as written
	Level    Level
	// Target is the emitting module as written: "access",
	// "xds::client:xds{id=3}", or for legacy lines "ztunnel::proxy::outbound".
	Target string
	// Scope is Target without spans and without the "ztunnel::" prefix, so
	// the same module reads the same in every format.
	Scope string
	// Spans are the tracing spans: "xds{id=3}", or for legacy lines
	// "proxy{uid=…}:outbound{id=…}".
	Spans   string
	Message string
	Fields  []Field
	Conn    Conn
	// Truncated is how many bytes of an over-long line were dropped
	// (see MaxLineBytes); 0 for a whole line.
	Truncated int
}

// TruncationMark is the visible note a cut line carries, or "".
func (l *Line) TruncationMark() string {
	if l.Truncated <= 0 {
		return ""
	}
	return "…[line cut: " + strconv.Itoa(l.Truncated) + " more bytes]"
}

// Field returns the value of the first field named key.
func (l *Line) Field(key string) (string, bool) {
	for i := range l.Fields {
		if l.Fields[i].Key == key {
			return l.Fields[i].Value, true
		}
	}
	return "", false
}

// Access reports whether the line is an access event (a connection
// opened, completed or failed).
func (l *Line) Access() bool {
	if l.Scope == "access" {
		return true
	}
	// Before the access target (ztunnel < 1.22), the proxy's connection
	// span logged "complete" with dur= or "failed" with err=.
	return l.Format == FormatLegacy && (l.Conn.Error != "" ||
		l.Conn.HasDuration && l.Message == "complete" && strings.HasPrefix(l.Scope, "proxy"))
}

// Hint explains the line's error, if it has one. A bare timeout on an
// outbound HBONE hop is the NetworkPolicy case as ztunnel 1.22.3 and
// earlier wrote it (1.22.4 added the wording that names port 15008).
func (l *Line) Hint() Hint {
	h := Explain(l.Conn.Error)
	if h.Cause == CauseTimeout && (l.Conn.HBONE() || l.Format == FormatLegacy && l.Conn.Direction == DirOutbound) {
		h.Cause, h.Flag = CauseNetworkPolicy, "NETWORK_POLICY"
		h.Text = "HBONE connect timed out: a NetworkPolicy (or firewall) likely drops port 15008 into the destination pod"
	}
	return h
}
