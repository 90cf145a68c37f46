package logstream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/ztlog"
)

// Kind tells a log line from a note about the stream itself.
type Kind uint8

// Kinds of entries.
const (
	KindLine   Kind = iota // a line the ztunnel wrote
	KindStatus             // ambx reporting on the stream: connected, dropped, no ztunnel
)

// Entry is one line of the merged stream.
type Entry struct {
	Kind Kind
	Pod  string // the ztunnel pod it came from ("" for stream-wide notes)
	Node string
	Line ztlog.Line // for KindLine
	// Envoy is the parsed access-log line of a waypoint target's Envoy;
	// nil for ztunnel lines and for a waypoint's other lines (pilot-agent's
	// own log, which Line holds).
	Envoy *accesslog.Entry
	Text  string // for KindStatus
	// At orders entries across pods: the line's timestamp, or for lines
	// without one the time of the line before it from the same pod.
	At time.Time
}

// Batch is what one Next returns: the entries that arrived since the last
// batch, ordered by time. Stream says which stream it came from, so a view
// can ignore batches of a stream it has replaced.
type Batch struct {
	Stream  uint64
	Entries []Entry
}

// Options tune a Stream; zero values take the defaults.
type Options struct {
	TailLines     int64         // lines of history per pod on open (default 200; <0 for all)
	BatchInterval time.Duration // longest a line waits for its batch (default 100ms)
	BatchLines    int           // a batch is sent as soon as it has this many lines (default 500)
	MaxPending    int           // entries held for a slow reader before the oldest are dropped (default 10,000)
	BackoffMin    time.Duration // first reconnect delay (default 500ms)
	BackoffMax    time.Duration // longest reconnect delay (default 30s)
	Locator       Locator       // finds a replaced ztunnel; nil keeps retrying the same pod
	MaxLineBytes  int           // longer lines are cut (default ztlog.MaxLineBytes)
}

func (o Options) withDefaults() Options {
	if o.TailLines == 0 {
		o.TailLines = 200
	}
	if o.BatchInterval <= 0 {
		o.BatchInterval = 100 * time.Millisecond
	}
	if o.BatchLines <= 0 {
		o.BatchLines = 500
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 10_000
	}
	if o.BackoffMin <= 0 {
		o.BackoffMin = 500 * time.Millisecond
	}
	if o.BackoffMax < o.BackoffMin {
		o.BackoffMax = max(30*time.Second, o.BackoffMin)
	}
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = ztlog.MaxLineBytes
	}
	return o
}

var streamIDs atomic.Uint64

// Stream follows the planned logs until closed.
type Stream struct {
	id     uint64
	opener Opener
	opt    Options
	cancel context.CancelFunc
	done   chan struct{} // closed when every follower has returned

	mu      sync.Mutex
	pending []Entry
	firstAt time.Time // when the oldest pending entry arrived
	dropped int
	over    bool // every follower has returned
	notify  chan struct{}
}

// Start begins following every target of plan. It returns at once; lines
// arrive through Next. Close ends it.
func Start(ctx context.Context, opener Opener, plan Plan, opt Options) *Stream {
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		id:     streamIDs.Add(1),
		opener: opener,
		opt:    opt.withDefaults(),
		cancel: cancel,
		done:   make(chan struct{}),
		notify: make(chan struct{}, 1),
	}
	for _, node := range plan.Missing {
		s.status("", node, fmt.Sprintf("node %s runs no ztunnel pod: connections of its pods are not logged (is the ztunnel DaemonSet scheduled there?)", node), time.Time{})
	}
	for _, wp := range plan.NoPods {
		s.status("", "", fmt.Sprintf("waypoint %s runs no pod: there is no Envoy access log to follow (is its Deployment scaled to zero?)", wp), time.Time{})
	}
	if len(plan.Targets) == 0 && len(plan.Missing) == 0 && len(plan.NoPods) == 0 {
		s.status("", "", "no ztunnel to follow: the selection has no pods scheduled on a node", time.Time{})
	}
	var wg sync.WaitGroup
	for _, t := range plan.Targets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.follow(ctx, t)
		}()
	}
	go func() {
		wg.Wait()
		s.mu.Lock()
		s.over = true
		s.mu.Unlock()
		s.wake()
		close(s.done)
	}()
	return s
}

// ID identifies the stream in its batches.
func (s *Stream) ID() uint64 { return s.id }

// Close stops every follower. It does not wait; Done tells when they are gone.
func (s *Stream) Close() { s.cancel() }

// Done is closed once every follower has stopped.
func (s *Stream) Done() <-chan struct{} { return s.done }

// Next waits for the next batch. It reports false once the stream is
// closed and drained, or when ctx ends.
func (s *Stream) Next(ctx context.Context) (Batch, bool) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		s.mu.Lock()
		n := len(s.pending)
		wait := time.Duration(0)
		if n > 0 {
			wait = s.opt.BatchInterval - time.Since(s.firstAt)
		}
		if n > 0 && (n >= s.opt.BatchLines || wait <= 0 || s.over) {
			b := s.takeLocked()
			s.mu.Unlock()
			return b, true
		}
		if n == 0 && s.over {
			s.mu.Unlock()
			return Batch{Stream: s.id}, false
		}
		s.mu.Unlock()
		var tick <-chan time.Time
		if n > 0 {
			if timer == nil {
				timer = time.NewTimer(wait)
			} else {
				timer.Reset(wait)
			}
			tick = timer.C
		}
		select {
		case <-s.notify:
		case <-tick:
		case <-ctx.Done():
			return Batch{Stream: s.id}, false
		}
	}
}

func (s *Stream) takeLocked() Batch {
	k := min(len(s.pending), s.opt.BatchLines)
	var out []Entry
	if s.dropped > 0 {
		out = make([]Entry, 0, k+1)
		out = append(out, Entry{Kind: KindStatus, At: s.pending[0].At,
			Text: fmt.Sprintf("%d lines dropped: lines arrived faster than the pane could take them", s.dropped)})
		s.dropped = 0
	}
	if k == len(s.pending) && out == nil {
		out, s.pending = s.pending, nil
	} else {
		out = append(out, s.pending[:k]...)
		s.pending = slices.Delete(s.pending, 0, k)
	}
	if len(s.pending) > 0 {
		s.firstAt = time.Now()
	}
	// Each pod's lines are in order already; a stable sort by time merges
	// the pods without reordering lines that share a timestamp.
	slices.SortStableFunc(out, func(a, b Entry) int { return a.At.Compare(b.At) })
	return Batch{Stream: s.id, Entries: out}
}

func (s *Stream) push(e Entry) {
	s.mu.Lock()
	if len(s.pending) == 0 {
		s.firstAt = time.Now()
	}
	s.pending = append(s.pending, e)
	if over := len(s.pending) - s.opt.MaxPending; over > 0 {
		// Drop a chunk, not one line, so a reader that has fallen behind
		// does not pay a copy per line.
		k := min(len(s.pending), over+s.opt.MaxPending/4)
		s.pending = slices.Delete(s.pending, 0, k)
		s.dropped += k
	}
	s.mu.Unlock()
	s.wake()
}

func (s *Stream) wake() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// status reports on the stream. at places the note among the lines: the
// zero time puts it before them, a line's time right after that line.
func (s *Stream) status(pod, node, text string, at time.Time) {
	s.push(Entry{Kind: KindStatus, Pod: pod, Node: node, Text: text, At: at})
}

// follow reads one target until ctx ends, reconnecting with backoff.
func (s *Stream) follow(ctx context.Context, t Target) {
	backoff := s.opt.BackoffMin
	// last is the newest timestamp delivered: it skips repeats after a
	// reconnect and places status notes after the lines they follow.
	last := new(time.Time)
	for attempt := 0; ; attempt++ {
		rc, err := s.opener.Open(ctx, t.Namespace, t.Pod, t.Container, s.opt.TailLines, true)
		if ctx.Err() != nil {
			if rc != nil {
				rc.Close()
			}
			return
		}
		if err != nil {
			if apierrors.IsNotFound(err) && s.opt.Locator != nil && t.Waypoint == "" {
				if nt, lerr := s.opt.Locator.Ztunnel(ctx, t.Node); lerr == nil && nt.Pod != t.Pod {
					s.status(nt.Pod, t.Node, fmt.Sprintf("ztunnel %s on node %s is gone; following its replacement %s", t, t.Node, nt), *last)
					t = nt
					continue
				}
			}
			s.status(t.Pod, t.Node, fmt.Sprintf("cannot read the log of %s: %v; retrying in %s", t, err, backoff), *last)
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, s.opt.BackoffMax)
			continue
		}
		if attempt == 0 {
			s.status(t.Pod, t.Node, fmt.Sprintf("following %s on node %s", t, t.Node), time.Time{})
		} else {
			s.status(t.Pod, t.Node, fmt.Sprintf("reconnected to %s", t), *last)
		}
		n, err := s.read(ctx, t, rc, last)
		rc.Close()
		if ctx.Err() != nil {
			return
		}
		if n > 0 {
			backoff = s.opt.BackoffMin
		}
		why := "the stream ended (ztunnel restarted?)"
		if err != nil && !errors.Is(err, io.EOF) {
			why = "the stream broke: " + err.Error()
		}
		s.status(t.Pod, t.Node, fmt.Sprintf("%s: %s; reconnecting in %s", t, why, backoff), *last)
		if !sleep(ctx, backoff) {
			return
		}
		backoff = min(2*backoff, s.opt.BackoffMax)
	}
}

// read delivers lines until the reader ends. After a reconnect the tail
// repeats lines already shown: those up to *last are skipped.
func (s *Stream) read(ctx context.Context, t Target, rc io.ReadCloser, last *time.Time) (int, error) {
	// Closing the body is what unblocks a Read when ctx ends.
	stop := context.AfterFunc(ctx, func() { rc.Close() })
	defer stop()
	skipping := !last.IsZero()
	prev := *last
	n := 0
	br := bufio.NewReaderSize(rc, 16<<10)
	var long []byte
	dropped := 0 // bytes of the current line past MaxLineBytes
	for {
		chunk, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			keep := min(len(chunk), max(0, s.opt.MaxLineBytes-len(long)))
			long = append(long, chunk[:keep]...)
			dropped += len(chunk) - keep
			continue
		}
		var text string
		if long != nil {
			keep := min(len(chunk), max(0, s.opt.MaxLineBytes-len(long)))
			long = append(long, chunk[:keep]...)
			dropped += len(bytes.TrimRight(chunk[keep:], "\r\n"))
			text, long = string(long), nil
		} else if len(chunk) > 0 {
			text = string(chunk)
		}
		if text != "" {
			var env *accesslog.Entry
			var l ztlog.Line
			if t.Waypoint != "" {
				env, l = envoyLine(text)
			} else {
				l = ztlog.Parse(text)
			}
			// What the reader dropped counts toward the line's mark.
			l.Truncated += dropped
			if env != nil {
				env.Truncated = l.Truncated
			}
			dropped = 0
			switch {
			case skipping && (l.Time.IsZero() || !l.Time.After(*last)):
			default:
				skipping = false
				if !l.Time.IsZero() {
					prev = l.Time
					if l.Time.After(*last) {
						*last = l.Time
					}
				}
				at := prev
				if at.IsZero() {
					at = time.Now()
				}
				s.push(Entry{Kind: KindLine, Pod: t.Pod, Node: t.Node, Line: l, Envoy: env, At: at})
				n++
			}
		}
		if err != nil {
			return n, err
		}
	}
}

// envoyLine reads a line of a waypoint's istio-proxy container: Envoy's
// access log, or else pilot-agent's own log, which has ztunnel's shape.
// The access line's time and a level from its outcome let the stream
// order and skip it like any other.
func envoyLine(text string) (*accesslog.Entry, ztlog.Line) {
	e := accesslog.Parse(text)
	if e.Format == accesslog.FormatUnknown {
		return nil, ztlog.Parse(text)
	}
	l := ztlog.Line{Raw: strings.TrimRight(text, "\r\n"), Time: e.Time, Level: ztlog.LevelInfo, Truncated: e.Truncated}
	if len(l.Raw) > accesslog.MaxLineBytes {
		l.Raw = e.Raw // the cut, safe copy: the long original is freed
	}
	switch {
	case e.Failed() && (e.Code == 0 || e.Code >= 500):
		l.Level = ztlog.LevelError
	case e.Failed() || e.Code >= 400:
		l.Level = ztlog.LevelWarn
	}
	return &e, l
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
