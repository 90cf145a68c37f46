// Package logs is the ztunnel log pane: it follows the ztunnels on the
// nodes of the selected pods, shows the columns that matter for a
// connection, keeps only lines about the selection unless asked otherwise,
// and points from an error at its cause (the NetworkPolicy patch for an
// HBONE timeout, the AuthorizationPolicy that denied a connection).
package logs

import (
	"context"
	"fmt"
	"github.com/ambx/ambx/views/savefile"
	"strconv"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/theme"
)

// BatchMsg carries lines from the stream the pane follows.
type BatchMsg struct{ logstream.Batch }

// EndedMsg says a stream has stopped for good (it was closed).
type EndedMsg struct{ Stream uint64 }

// PatchRequest asks the root UI for the NetworkPolicy patch that lets HBONE
// (port 15008) from one pod into another. The log pane only asks.
type PatchRequest struct {
	FromIP, ToIP                string
	FromWorkload, FromNamespace string
	ToWorkload, ToNamespace     string
}

// SavedMsg reports a save: where the lines went, or why they did not.
type SavedMsg struct {
	Path  string
	Lines int
	Err   error
}

// Options tune the pane; zero values take the defaults.
type Options struct {
	Capacity int              // lines kept (default 10,000)
	SaveDir  string           // where s writes (default: the current directory, else the user's state directory)
	Now      func() time.Time // for file names (default time.Now)
	Stream   logstream.Options
}

// Model is the log pane's state. The ring is shared by copies of a Model:
// lines are appended in place so a batch costs nothing per old line.
type Model struct {
	th     *theme.Theme
	st     theme.LogStyles
	target Target
	match  matcher
	stream *logstream.Stream
	opt    Options

	ring  *ring
	shown []uint64 // sequence numbers passing the filter and search, oldest first

	cursor int  // index into shown
	offset int  // first shown row at the top when not following
	follow bool // keep the newest line in view
	unseen int  // lines that arrived while paused

	onlyTarget bool
	wrap       bool
	times      bool
	search     string
	searching  bool
	prevSearch string
	note       string // the last action's result

	width, height int
}

// New returns a pane over target that reads from stream (which may be nil
// for a pane fed only through Update, as in tests).
func New(th *theme.Theme, target Target, stream *logstream.Stream, opt Options) Model {
	if opt.Capacity <= 0 {
		opt.Capacity = 10_000
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return Model{
		th: th, st: th.Logs(), target: target, match: newMatcher(target), stream: stream, opt: opt,
		ring: newRing(opt.Capacity), follow: true, onlyTarget: true, times: true,
	}
}

// Open starts following target's ztunnels through opener and returns the
// pane and the command that waits for its first lines.
func Open(ctx context.Context, th *theme.Theme, target Target, opener logstream.Opener, opt Options) (Model, tea.Cmd) {
	m := New(th, target, logstream.Start(ctx, opener, target.Plan, opt.Stream), opt)
	return m, m.Init()
}

// Init waits for the stream's first batch.
func (m Model) Init() tea.Cmd { return wait(m.stream) }

// Close stops the stream; call it when the pane goes away.
func (m Model) Close() {
	if m.stream != nil {
		m.stream.Close()
	}
}

// Searching reports whether the search prompt has the keyboard, so the
// root UI passes every key (q, esc, digits) to the pane.
func (m Model) Searching() bool { return m.searching }

// SetSize sets the pane's size, which scrolling needs.
func (m Model) SetSize(width, height int) Model {
	m.width, m.height = width, height
	return m.scroll()
}

func wait(s *logstream.Stream) tea.Cmd {
	if s == nil {
		return nil
	}
	return func() tea.Msg {
		b, ok := s.Next(context.Background())
		if !ok {
			return EndedMsg{Stream: s.ID()}
		}
		return BatchMsg{b}
	}
}

// Update handles batches, keys and the results of the pane's commands.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case BatchMsg:
		if m.stream != nil && msg.Stream != m.stream.ID() {
			return m, nil // a stream this pane no longer follows
		}
		m = m.Ingest(msg.Entries)
		return m, wait(m.stream)
	case EndedMsg:
		return m, nil
	case SavedMsg:
		if msg.Err != nil {
			m.note = "save failed: " + msg.Err.Error()
		} else {
			m.note = fmt.Sprintf("saved %d lines to %s", msg.Lines, msg.Path)
		}
		return m, nil
	case tea.KeyPressMsg:
		if m.searching {
			return m.searchKey(msg), nil
		}
		return m.key(msg)
	}
	return m, nil
}

// Ingest adds entries to the ring; Update calls it for each batch.
func (m Model) Ingest(entries []logstream.Entry) Model {
	for i := range entries {
		it := item{e: entries[i]}
		it.about = m.match.about(&it.e)
		seq := m.ring.next
		m.ring.push(it)
		if m.passes(m.ring.at(seq)) {
			m.shown = append(m.shown, seq)
			if !m.follow {
				m.unseen++
			}
		}
	}
	// Drop what the ring evicted, keeping the cursor on the same line.
	k := 0
	for k < len(m.shown) && !m.ring.holds(m.shown[k]) {
		k++
	}
	if k > 0 {
		m.shown = m.shown[k:]
		m.cursor = max(0, m.cursor-k)
		m.offset = max(0, m.offset-k)
	}
	return m.scroll()
}

func (m Model) passes(it *item) bool {
	if m.onlyTarget && !it.about {
		return false
	}
	if m.search == "" {
		return true
	}
	if k, v, ok := strings.Cut(m.search, ":"); ok && envoyTerms[k] {
		return it.e.Envoy != nil && envoyMatch(it.e.Envoy, k, v)
	}
	text := it.e.Line.Raw
	if it.e.Kind == logstream.KindStatus {
		text = it.e.Text
	}
	return containsFold(text, m.search)
}

// envoyTerms are the search terms that match a field of a waypoint's
// access line rather than its text: code:5xx, code:403, flags:UH,
// method:POST, svc:httpbin, path:/api.
var envoyTerms = map[string]bool{"code": true, "flags": true, "method": true, "svc": true, "path": true}

func envoyMatch(a *accesslog.Entry, k, v string) bool {
	switch k {
	case "code":
		code := strconv.Itoa(a.Code)
		if len(v) == 3 && len(code) == 3 {
			for i := range 3 {
				if lower(v[i]) != 'x' && v[i] != code[i] {
					return false
				}
			}
			return true
		}
		return v == code
	case "flags":
		return v != "" && containsFold(a.Flags, v)
	case "method":
		return strings.EqualFold(a.Method, v)
	case "svc":
		return v != "" && (containsFold(a.Service(), v) || containsFold(a.Authority, v))
	case "path":
		return v != "" && containsFold(a.Path, v)
	}
	return false
}

// containsFold is a case-insensitive (ASCII) substring test without
// allocating, since it runs over every line on each search keystroke.
func containsFold(s, sub string) bool {
	n := len(sub)
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for j < n && lower(s[i+j]) == lower(sub[j]) {
			j++
		}
		if j == n {
			return true
		}
	}
	return n == 0
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// refilter rebuilds shown after the filter or search changed, keeping the
// cursor on the line it was on (or the nearest one before it).
func (m Model) refilter() Model {
	var at uint64
	hadCursor := len(m.shown) > 0
	if hadCursor {
		at = m.shown[min(m.cursor, len(m.shown)-1)]
	}
	m.shown = m.shown[:0:0]
	m.cursor = 0
	for seq := m.ring.first(); seq < m.ring.next; seq++ {
		if m.passes(m.ring.at(seq)) {
			if hadCursor && seq <= at {
				m.cursor = len(m.shown)
			}
			m.shown = append(m.shown, seq)
		}
	}
	return m.scroll()
}

func (m Model) key(k tea.KeyPressMsg) (Model, tea.Cmd) {
	page := max(1, m.rowsHeight()-1)
	switch {
	case key.Matches(k, keymap.Logs.Filter):
		m.onlyTarget = !m.onlyTarget
		m = m.refilter()
	case key.Matches(k, keymap.Logs.Search):
		m.searching, m.prevSearch = true, m.search
	case key.Matches(k, keymap.Logs.Pause):
		m.follow = !m.follow
		if m.follow {
			m.unseen = 0
		} else if len(m.shown) > 0 {
			m.cursor = len(m.shown) - 1
		}
	case key.Matches(k, keymap.Logs.Wrap):
		m.wrap = !m.wrap
	case key.Matches(k, keymap.Logs.Timestamps):
		m.times = !m.times
	case key.Matches(k, keymap.Logs.Save):
		return m, m.save()
	case key.Matches(k, keymap.Logs.Patch):
		return m.patch()
	case key.Matches(k, keymap.Table.Up):
		m = m.move(-1)
	case key.Matches(k, keymap.Table.Down):
		m = m.move(1)
	case key.Matches(k, keymap.Table.PageUp):
		m = m.move(-page)
	case key.Matches(k, keymap.Table.PageDown):
		m = m.move(page)
	case key.Matches(k, keymap.Table.Top):
		m = m.move(-len(m.shown))
	case key.Matches(k, keymap.Table.Bottom):
		m.follow, m.unseen = true, 0
	default:
		return m, nil
	}
	return m.scroll(), nil
}

// move steps the cursor; any move away from the newest line pauses
// following so the line being read does not scroll away.
func (m Model) move(n int) Model {
	if len(m.shown) == 0 {
		return m
	}
	if m.follow {
		m.follow, m.cursor = false, len(m.shown)-1
	}
	m.cursor = min(max(m.cursor+n, 0), len(m.shown)-1)
	return m
}

func (m Model) searchKey(k tea.KeyPressMsg) Model {
	switch {
	case key.Matches(k, keymap.Logs.Apply):
		m.searching = false
		return m
	case key.Matches(k, keymap.Logs.Cancel):
		m.searching, m.search = false, m.prevSearch
		return m.refilter()
	case k.String() == "backspace":
		if r := []rune(m.search); len(r) > 0 {
			m.search = string(r[:len(r)-1])
		}
	case k.Text != "":
		m.search += k.Text
	default:
		return m
	}
	return m.refilter()
}

// selected is the entry under the cursor.
func (m Model) selected() (*item, bool) {
	if len(m.shown) == 0 {
		return nil, false
	}
	i := m.cursor
	if m.follow {
		i = len(m.shown) - 1
	}
	return m.ring.at(m.shown[min(i, len(m.shown)-1)]), true
}

func (m Model) patch() (Model, tea.Cmd) {
	it, ok := m.selected()
	if !ok || it.e.Kind != logstream.KindLine {
		m.note = "n: select an HBONE timeout line first"
		return m, nil
	}
	req, ok := patchFor(&it.e.Line)
	if !ok {
		m.note = "n: the selected line is not an HBONE timeout (no NetworkPolicy patch to offer)"
		return m, nil
	}
	m.note = fmt.Sprintf("asking for the NetworkPolicy patch %s → %s:15008", req.FromIP, req.ToIP)
	return m, func() tea.Msg { return req }
}

// save writes the shown lines (as ztunnel wrote them) to a file, in a
// command so the disk never blocks the UI.
func (m Model) save() tea.Cmd {
	var b strings.Builder
	for _, seq := range m.shown {
		it := m.ring.at(seq)
		if it.e.Kind == logstream.KindStatus {
			b.WriteString("# ambx: " + it.e.Text)
		} else {
			b.WriteString(it.e.Line.Raw)
		}
		b.WriteByte('\n')
	}
	text, n := b.String(), len(m.shown)
	name := fmt.Sprintf("ambx-ztunnel-%s-%s.log", fileSafe(m.target.Title), m.opt.Now().Format("20060102-150405"))
	dirs := savefile.Dirs()
	if m.opt.SaveDir != "" {
		dirs = []string{m.opt.SaveDir}
	}
	return func() tea.Msg {
		path, err := savefile.Create(dirs, name, []byte(text))
		if err != nil {
			return SavedMsg{Err: err}
		}
		return SavedMsg{Path: path, Lines: n}
	}
}

func fileSafe(s string) string {
	if s == "" {
		return "logs"
	}
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, s)
}
