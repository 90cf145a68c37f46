package logs

import (
	"fmt"
	"github.com/ambx/ambx/kube/safe"
	"strconv"
	"strings"
	"time"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/ztlog"
)

// chrome is the lines around the rows: title, header, hint and bar.
const chrome = 4

func (m Model) rowsHeight() int { return max(1, m.height-chrome) }

// layout is the width of each column; 0 hides it.
type layout struct {
	time, lvl, node, dir, src, dst, bytes, dur, rest int
	width                                            int
}

const gap = 1

func (m Model) layout(width int) layout {
	c := layout{lvl: 5, dir: 3, bytes: 11, dur: 7, width: width}
	if m.times {
		c.time = 12
	}
	if len(m.target.Plan.Targets) > 1 {
		for _, t := range m.target.Plan.Targets {
			c.node = max(c.node, len(t.Node))
		}
		c.node = min(c.node, 14)
	}
	if width < 100 {
		c.bytes, c.dur = 0, 0
	}
	if width < 70 {
		c.dir, c.node = 0, 0
	}
	fixed := 0
	for _, w := range []int{c.time, c.lvl, c.node, c.dir, c.bytes, c.dur} {
		if w > 0 {
			fixed += w + gap
		}
	}
	free := max(0, width-fixed)
	c.src = min(max(free/4, 6), 32)
	c.dst = min(max(free/4, 6), 36)
	c.rest = max(0, width-fixed-c.src-c.dst-2*gap)
	return c
}

// prefixWidth is where the last column starts.
func (c layout) prefixWidth() int {
	return c.time + c.lvl + c.node + c.dir + c.src + c.dst + c.bytes + c.dur + gap*c.count()
}

func (c layout) count() int {
	n := 0
	for _, w := range []int{c.time, c.lvl, c.node, c.dir, c.src, c.dst, c.bytes, c.dur} {
		if w > 0 {
			n++
		}
	}
	return n
}

// fit pads or cuts s to exactly w cells. Every piece of text this view
// draws passes through it, so it is where log text is made safe.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	s = safe.Line(s)
	if ansi.StringWidth(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - ansi.StringWidth(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

func fitRight(s string, w int) string {
	s = safe.Line(s)
	if n := ansi.StringWidth(s); n < w {
		return strings.Repeat(" ", w-n) + s
	}
	return fit(s, w)
}

// cells is a row's text before styling.
type cells struct {
	time, lvl, node, dir, src, dst, bytes, dur, rest string
	access, status                                   bool
	level                                            ztlog.Level
}

func (m Model) cellsOf(it *item) cells {
	c := m.rawCells(it)
	if it.e.Kind == logstream.KindLine {
		if mark := it.e.Line.TruncationMark(); mark != "" {
			c.rest += " " + mark
		}
	}
	// Made safe before wrapping, so wrapped lines measure what is drawn.
	for _, p := range []*string{&c.time, &c.lvl, &c.node, &c.dir, &c.src, &c.dst, &c.bytes, &c.dur, &c.rest} {
		*p = safe.Line(*p)
	}
	return c
}

func (m Model) rawCells(it *item) cells {
	e := &it.e
	c := cells{node: e.Node}
	if e.Kind == logstream.KindStatus {
		c.status, c.lvl, c.rest = true, "ambx", e.Text
		if !e.At.IsZero() {
			c.time = clock(e.At)
		}
		return c
	}
	if a := e.Envoy; a != nil {
		return m.envoyCells(c, e, a)
	}
	l := &e.Line
	c.level, c.lvl = l.Level, l.Level.String()
	if !l.Time.IsZero() {
		c.time = clock(l.Time)
	}
	if !l.Access() {
		var b strings.Builder
		if l.Scope != "" {
			b.WriteString(l.Scope)
			b.WriteString("  ")
		}
		b.WriteString(l.Message)
		for _, f := range l.Fields {
			b.WriteByte(' ')
			if f.Key != "" {
				b.WriteString(f.Key)
				b.WriteByte('=')
			}
			b.WriteString(f.Value)
		}
		if l.Format == ztlog.FormatUnknown {
			b.Reset()
			b.WriteString(l.Raw)
		}
		c.rest = b.String()
		return c
	}
	k := &l.Conn
	c.access = true
	c.dir = k.Direction.String()
	c.src = k.SrcWorkload
	if c.src == "" {
		c.src = k.SrcAddr
	}
	switch {
	case k.DstService != "":
		c.dst = serviceKey(k.DstService)
	case k.DstWorkload != "":
		c.dst = k.DstWorkload
	default:
		c.dst = k.DstAddr
	}
	if k.HasBytes {
		c.bytes = size(k.BytesSent) + "/" + size(k.BytesRecv)
	}
	if k.HasDuration {
		c.dur = dur(k.Duration)
	}
	c.rest = k.Error
	if c.rest == "" && l.Message != "connection complete" {
		c.rest = l.Message
	}
	return c
}

// envoyCells lays a waypoint's access line over the connection columns:
// the response code where the level goes, "wp" for the hop, the client
// (by pod name when its address is a pod's) and the Service, bytes and
// duration, then the request and how it ended.
func (m Model) envoyCells(c cells, e *logstream.Entry, a *accesslog.Entry) cells {
	c.access, c.level, c.dir = true, e.Line.Level, "wp"
	if !a.Time.IsZero() {
		c.time = clock(a.Time)
	}
	switch {
	case a.Code > 0:
		c.lvl = strconv.Itoa(a.Code)
	case a.Method == "":
		c.lvl = "tcp"
	default:
		c.lvl = "0"
	}
	c.src = a.DownstreamRemote
	if ip, ok := a.ClientIP(); ok && m.target.Names[ip] != "" {
		c.src = m.target.Names[ip]
	}
	c.dst = a.Service()
	if c.dst == "" {
		c.dst = a.Authority
	}
	if a.BytesSent >= 0 && a.BytesReceived >= 0 {
		c.bytes = size(a.BytesSent) + "/" + size(a.BytesReceived)
	}
	if a.HasDuration {
		c.dur = dur(a.Duration)
	}
	var b strings.Builder
	if a.Method != "" {
		b.WriteString(a.Method + " " + a.Path)
	} else {
		b.WriteString("→ " + a.UpstreamHost)
	}
	if a.Flags != "" {
		b.WriteString(" " + a.Flags)
	}
	if a.Details != "" && a.Details != "via_upstream" {
		b.WriteString(" " + a.Details)
	}
	c.rest = b.String()
	return c
}

func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

func size(n int64) string {
	switch {
	case n < 100_000:
		return strconv.FormatInt(n, 10)
	case n < 100_000_000:
		return strconv.FormatInt(n/1000, 10) + "k"
	}
	return strconv.FormatInt(n/1_000_000, 10) + "M"
}

// dur keeps milliseconds up to 99999ms so the 10002ms connect-timeout
// signature reads as ztunnel wrote it.
func dur(d time.Duration) string {
	if ms := d.Milliseconds(); ms < 100_000 {
		return strconv.FormatInt(ms, 10) + "ms"
	}
	return strconv.FormatInt(int64(d/time.Second), 10) + "s"
}

// restLines is the last column, wrapped when wrap is on.
func (m Model) restLines(rest string, w int) []string {
	if !m.wrap || w <= 0 || ansi.StringWidth(rest) <= w {
		return []string{rest}
	}
	return strings.Split(ansi.Wrap(rest, w, ""), "\n")
}

func (m Model) rowHeight(it *item, c layout) int {
	if !m.wrap {
		return 1
	}
	x := m.cellsOf(it)
	w, _ := c.restOf(x)
	return len(m.restLines(x.rest, w))
}

// restOf is the width of a row's last column and where it starts: access
// lines have all columns, other lines use the connection columns for their
// message.
func (c layout) restOf(x cells) (width, indent int) {
	if x.access {
		return c.rest, c.prefixWidth()
	}
	for _, w := range []int{c.time, c.lvl, c.node} {
		if w > 0 {
			indent += w + gap
		}
	}
	return max(0, c.width-indent), indent
}

// renderRow draws one entry as one line, or several when wrapped.
func (m Model) renderRow(it *item, c layout, width int, selected bool) []string {
	x := m.cellsOf(it)
	lvlStyle := m.levelStyle(x)
	var b strings.Builder
	put := func(s string, w int, style *lipgloss.Style, right bool) {
		if w <= 0 {
			return
		}
		if right {
			s = fitRight(s, w)
		} else {
			s = fit(s, w)
		}
		if style != nil && !selected {
			s = style.Render(s)
		}
		b.WriteString(s)
		b.WriteByte(' ')
	}
	put(x.time, c.time, &m.st.Time, false)
	put(x.lvl, c.lvl, &lvlStyle, false)
	put(x.node, c.node, &m.st.Time, false)
	restW, indent := c.restOf(x)
	if x.access {
		put(x.dir, c.dir, nil, false)
		put(x.src, c.src, nil, false)
		put(x.dst, c.dst, nil, false)
		put(x.bytes, c.bytes, nil, true)
		put(x.dur, c.dur, nil, true)
	}
	restStyle := m.st.Normal
	switch {
	case x.status:
		restStyle = m.st.Status
	case x.level >= ztlog.LevelWarn:
		restStyle = lvlStyle
	case x.level <= ztlog.LevelDebug && x.level != ztlog.LevelUnknown:
		restStyle = m.st.Debug
	}
	parts := m.restLines(x.rest, restW)
	out := make([]string, len(parts))
	for i, p := range parts {
		line := fit(p, restW)
		if !selected {
			line = restStyle.Render(line)
		}
		if i == 0 {
			out[i] = b.String() + line
		} else {
			out[i] = strings.Repeat(" ", indent) + line
		}
		if selected {
			out[i] = m.st.Selected.Render(fit(out[i], width))
		}
	}
	return out
}

func (m Model) levelStyle(x cells) lipgloss.Style {
	switch {
	case x.status:
		return m.st.Status
	case x.level == ztlog.LevelError:
		return m.st.Error
	case x.level == ztlog.LevelWarn:
		return m.st.Warn
	case x.level == ztlog.LevelDebug || x.level == ztlog.LevelTrace:
		return m.st.Debug
	}
	return m.st.Normal
}

// window returns the first row to draw so the cursor (or, when following,
// the newest line) is in view in rows lines.
func (m Model) window(c layout, rows int) (start, cursor int) {
	n := len(m.shown)
	if n == 0 {
		return 0, 0
	}
	cursor = min(m.cursor, n-1)
	if m.follow {
		cursor = n - 1
	}
	start = min(m.offset, cursor)
	if m.follow {
		start = cursor
	}
	start = max(start, cursor-rows+1)
	// Grow upward while the rows from start to cursor still fit; shrink
	// when wrapped rows overflow.
	used := 0
	for i := start; i <= cursor; i++ {
		used += m.rowHeight(m.ring.at(m.shown[i]), c)
	}
	for start < cursor && used > rows {
		used -= m.rowHeight(m.ring.at(m.shown[start]), c)
		start++
	}
	if m.follow {
		for start > 0 {
			h := m.rowHeight(m.ring.at(m.shown[start-1]), c)
			if used+h > rows {
				break
			}
			used += h
			start--
		}
	}
	return start, cursor
}

// scroll keeps the stored offset in step with the cursor for the pane's size.
func (m Model) scroll() Model {
	if len(m.shown) == 0 {
		m.cursor, m.offset = 0, 0
		return m
	}
	m.cursor = min(max(m.cursor, 0), len(m.shown)-1)
	if m.width > 0 && m.height > 0 {
		m.offset, _ = m.window(m.layout(m.width), m.rowsHeight())
	}
	if m.follow {
		m.cursor = len(m.shown) - 1
	}
	return m
}

// View draws the pane. Only the rows that fit are rendered, so its cost
// does not grow with the buffer.
func (m Model) View(width, height int) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	m.width, m.height = width, height
	c := m.layout(width)
	var out []string
	out = append(out, m.st.Title.Render(fit(m.title(), width)))
	if height == 1 {
		return out[0]
	}
	out = append(out, m.st.Header.Render(fit(m.header(c), width)))
	rows := m.rowsHeight()
	body := make([]string, 0, rows)
	if len(m.shown) == 0 {
		body = append(body, m.st.Empty.Render(fit(m.emptyText(), width)))
	} else {
		start, cursor := m.window(c, rows)
		for i := start; i < len(m.shown) && len(body) < rows; i++ {
			lines := m.renderRow(m.ring.at(m.shown[i]), c, width, i == cursor && !m.follow)
			body = append(body, lines[:min(len(lines), rows-len(body))]...)
		}
	}
	for len(body) < rows {
		body = append(body, strings.Repeat(" ", width))
	}
	out = append(out, body...)
	if height >= chrome {
		out = append(out, m.hintLine(width), m.st.Bar.Render(fit(m.bar(), width)))
	}
	return strings.Join(out[:min(len(out), height)], "\n")
}

func (m Model) title() string {
	var b strings.Builder
	zts, wps := 0, 0
	for _, t := range m.target.Plan.Targets {
		if t.Waypoint != "" {
			wps++
		} else {
			zts++
		}
	}
	switch {
	case wps+len(m.target.Plan.NoPods) > 0 && zts+len(m.target.Plan.Missing) == 0:
		b.WriteString(" waypoint logs")
	case wps+len(m.target.Plan.NoPods) > 0:
		b.WriteString(" ztunnel + waypoint logs")
	default:
		b.WriteString(" ztunnel logs")
	}
	if m.target.Title != "" {
		b.WriteString(" · " + m.target.Title)
	}
	var nodes []string
	for _, t := range m.target.Plan.Targets {
		switch {
		case t.Waypoint != "" && m.target.Waypoint != "":
			nodes = append(nodes, t.Pod)
		case t.Waypoint != "":
			nodes = append(nodes, "waypoint "+t.Waypoint+" ("+t.Pod+")")
		default:
			nodes = append(nodes, t.Node+" ("+t.Pod+")")
		}
	}
	for _, n := range m.target.Plan.Missing {
		nodes = append(nodes, n+" (no ztunnel)")
	}
	for _, w := range m.target.Plan.NoPods {
		nodes = append(nodes, "waypoint "+w+" (no pod)")
	}
	if len(nodes) > 0 {
		b.WriteString(" · " + strings.Join(nodes, ", "))
	}
	return b.String()
}

func (m Model) header(c layout) string {
	var b strings.Builder
	col := func(s string, w int, right bool) {
		if w > 0 {
			if right {
				b.WriteString(fitRight(s, w))
			} else {
				b.WriteString(fit(s, w))
			}
			b.WriteByte(' ')
		}
	}
	col("TIME", c.time, false)
	col("LEVEL", c.lvl, false)
	col("NODE", c.node, false)
	col("DIR", c.dir, false)
	col("SOURCE", c.src, false)
	col("DESTINATION", c.dst, false)
	col("SENT/RECV", c.bytes, true)
	col("DUR", c.dur, true)
	b.WriteString("ERROR / MESSAGE")
	return b.String()
}

func (m Model) emptyText() string {
	switch {
	case m.ring.n == 0 && m.waypoints():
		return "waiting for log lines…"
	case m.ring.n == 0:
		return "waiting for ztunnel log lines…"
	case m.search != "":
		return fmt.Sprintf("no line matches %q", m.search)
	case m.onlyTarget:
		return fmt.Sprintf("%d lines so far, none about %s (f shows all)", m.ring.n, m.subject())
	}
	return "no lines"
}

// waypoints reports whether the pane follows a waypoint's Envoy.
func (m Model) waypoints() bool {
	for _, t := range m.target.Plan.Targets {
		if t.Waypoint != "" {
			return true
		}
	}
	return len(m.target.Plan.NoPods) > 0
}

func (m Model) subject() string {
	if m.target.Title != "" {
		return m.target.Title
	}
	return "the selection"
}

// hintLine explains the selected line: the cause of its error and what to
// do, or its full source and destination, which the columns cut.
func (m Model) hintLine(width int) string {
	it, ok := m.selected()
	if !ok || it.e.Kind != logstream.KindLine {
		return fit("", width)
	}
	if a := it.e.Envoy; a != nil {
		if h := a.Hint(); h != "" {
			return m.st.Hint.Render(fit("▲ "+h, width))
		}
		client := a.DownstreamRemote
		if ip, ok := a.ClientIP(); ok && m.target.Names[ip] != "" {
			client = m.target.Names[ip] + " " + client
		}
		text := fmt.Sprintf("%s → %s%s → %s", client, a.Authority, a.Path, a.UpstreamHost)
		if a.UpstreamCluster != "" {
			text += " (" + a.UpstreamCluster + ")"
		}
		if a.RequestID != "" {
			text += " request " + a.RequestID
		}
		return m.st.Time.Render(fit(text, width))
	}
	l := &it.e.Line
	if h := l.Hint(); h.Cause != ztlog.CauseNone {
		text := "▲ " + h.Text
		if h.Cause == ztlog.CauseOther {
			text = "▲ " + l.Conn.Error
		}
		var action string
		if req, ok := patchFor(l); ok {
			action = fmt.Sprintf("  n: NetworkPolicy patch %s → %s:15008", req.FromIP, req.ToIP)
		}
		tw := max(0, width-ansi.StringWidth(action))
		return m.st.Hint.Render(fit(text, tw)) + m.st.Action.Render(fit(action, width-tw))
	}
	if !l.Access() {
		return m.st.Time.Render(fit(l.Message, width))
	}
	k := &l.Conn
	text := fmt.Sprintf("%s → %s", endpoint(k.SrcNamespace, k.SrcWorkload, k.SrcAddr), endpoint(k.DstNamespace, k.DstWorkload, k.DstAddr))
	if k.DstHBONEAddr != "" && k.DstHBONEAddr != k.DstAddr {
		text += " (tunnel to " + k.DstHBONEAddr + ")"
	}
	if k.DstService != "" {
		text += " service " + k.DstService
	}
	return m.st.Time.Render(fit(text, width))
}

func endpoint(ns, workload, addr string) string {
	s := workload
	if ns != "" && workload != "" {
		s = ns + "/" + workload
	}
	if addr != "" {
		if s != "" {
			s += " "
		}
		s += addr
	}
	return s
}

func (m Model) bar() string {
	var parts []string
	if m.follow {
		parts = append(parts, "following")
	} else if m.unseen > 0 {
		parts = append(parts, fmt.Sprintf("PAUSED (%d new)", m.unseen))
	} else {
		parts = append(parts, "PAUSED")
	}
	if m.onlyTarget {
		parts = append(parts, "only "+m.subject()+" (f: all)")
	} else {
		parts = append(parts, "all lines (f: only "+m.subject()+")")
	}
	switch {
	case m.searching:
		parts = append(parts, "/"+m.search+"█")
	case m.search != "":
		parts = append(parts, "search: "+m.search)
	}
	parts = append(parts, fmt.Sprintf("%d/%d lines", len(m.shown), m.ring.n))
	if m.wrap {
		parts = append(parts, "wrap")
	}
	if m.note != "" {
		parts = append(parts, m.note)
	}
	return " " + strings.Join(parts, " · ")
}
