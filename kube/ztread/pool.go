package ztread

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"

	"github.com/ambx/ambx/kube/ztunnel"
)

// target is one of the two things ambx reads from a ztunnel through a
// port-forward. The port travels inside the tunnel, where the read-only
// guard cannot see it, so a read names a target, never a port: no caller
// can point a pooled connection at another port.
type target struct {
	port  int
	path  string
	what  string
	limit int
	keep  bool // a read keeps its connection open for poolIdle (see pool)
}

var (
	configDumpTarget = target{port: AdminPort, path: "/config_dump", what: "config_dump", limit: ztunnel.MaxDumpBytes}
	metricsTarget    = target{port: MetricsPort, path: "/metrics", what: "metrics", limit: ztunnel.MaxMetricsBytes, keep: true}
)

// Bounds of the connection pool (see pool). An open port-forward costs
// about 1 MiB of heap (the SPDY framer's zlib header compressor, at best
// compression, is 0.8 MiB alone) and some 15 goroutines, so the pool keeps
// only what is read often: the metrics of the ztunnels whose rates are on
// screen (every 10 s). The drift survey's config_dumps (every ztunnel
// every 2 minutes: a connection per node kept would be 100 MiB at 100
// nodes) reuse a kept connection and close one they dialed, unless
// poolKeepDumps is set.
const (
	poolIdle      = 5 * time.Minute
	poolMaxOpen   = 128
	poolKeepDumps = false
	dialTimeout   = 30 * time.Second
)

// errPoolClosed is what a read gets once the session that owned the
// reader ended.
var errPoolClosed = errors.New("ztunnel reader closed: the session ended")

// pool keeps one port-forward connection per ztunnel pod and sends every
// read of that pod as a new stream pair on it: dialing is the only API
// request a port-forward costs, so after the first read of a pod its reads
// cost the API server nothing. Connections stay open after a read of a
// keep target that served (or any read with keepAll); other reads use an
// open connection if there is one and close one they dialed (see
// poolKeepDumps for why). A connection that broke is redialed once by the
// read that found it broken; one idle longer than idle is closed,
// and beyond maxOpen the least recently used idle one is. A read that
// failed on its own streams (the pod's port refused, ztunnel answered an
// error, the read's deadline passed) leaves the connection to its other
// reads, but does not keep it: only a read that served does.
type pool struct {
	dial    func(Pod) (httpstream.Connection, error)
	idle    time.Duration
	maxOpen int
	keepAll bool // every read keeps its connection, not only keep targets'
	dialTO  time.Duration
	now     func() time.Time

	mu     sync.Mutex
	conns  map[string]*pooled // by namespace/name
	closed bool
	sweep  *time.Timer
}

// pooled is one pod's connection, or the dial that will make it.
type pooled struct {
	key, uid string
	ready    chan struct{} // closed once the dial ended
	conn     httpstream.Connection
	err      error // the dial's
	used     time.Time
	keepTill time.Time // a keep target's read keeps it open until then
	busy     int
	nextID   int
	gone     bool // no longer in the pool: close when the last read ends
	shut     bool // its connection's Close was called
}

// shutLocked closes e's connection once, off the caller's goroutine: a
// close may wait on the network.
func (e *pooled) shutLocked() {
	if e.conn == nil || e.shut {
		return
	}
	e.shut = true
	c := e.conn
	go func() { _ = c.Close() }()
}

func newPool(dial func(Pod) (httpstream.Connection, error)) *pool {
	return &pool{dial: dial, idle: poolIdle, maxOpen: poolMaxOpen, keepAll: poolKeepDumps, dialTO: dialTimeout, now: time.Now, conns: map[string]*pooled{}}
}

// read GETs t from pod p through its pooled connection, dialing it first if
// there is none, and once more if the connection it found was broken.
func (p *pool) read(ctx context.Context, pod Pod, t target) ([]byte, error) {
	for again := true; ; again = false {
		e, dialed, err := p.acquire(ctx, pod)
		if err != nil {
			return nil, err
		}
		body, err, broken := p.exchange(ctx, e, t)
		if err != nil && broken && again && !dialed && ctx.Err() == nil {
			continue // a connection that served earlier reads broke since: redial once
		}
		if err != nil {
			return nil, fmt.Errorf("reading ztunnel %s/%s %s: %w", pod.Namespace, pod.Name, t.what, err)
		}
		return body, nil
	}
}

// acquire returns pod's connection, marked busy, waiting for its dial if
// one is under way; dialed says whether that dial began for this read.
func (p *pool) acquire(ctx context.Context, pod Pod) (e *pooled, dialed bool, err error) {
	key := pod.Namespace + "/" + pod.Name
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, false, errPoolClosed
	}
	e = p.conns[key]
	if e != nil && e.conn != nil && (isClosed(e.conn) || pod.UID != "" && e.uid != "" && pod.UID != e.uid) {
		p.removeLocked(e) // broken, or the pod was replaced under the same name
		e = nil
	}
	if e == nil {
		e = &pooled{key: key, uid: pod.UID, ready: make(chan struct{})}
		p.conns[key] = e
		dialed = true
		go p.dialFor(e, pod)
	}
	e.busy++
	e.used = p.now()
	p.mu.Unlock()

	select {
	case <-e.ready:
	case <-ctx.Done():
		p.release(e, false, false)
		return nil, false, fmt.Errorf("port-forward to ztunnel %s: %w", key, ctx.Err())
	}
	if e.err != nil {
		p.release(e, false, false)
		return nil, false, e.err
	}
	return e, dialed, nil
}

// dialFor dials e's connection. The dial has no context of its own, so it
// is bounded here: a dial that outlasts dialTO fails its readers and its
// connection, if one comes, is closed.
func (p *pool) dialFor(e *pooled, pod Pod) {
	type result struct {
		c   httpstream.Connection
		err error
	}
	done := make(chan result, 1)
	go func() {
		c, err := p.dial(pod)
		done <- result{c, err}
	}()
	var r result
	timer := time.NewTimer(p.dialTO)
	defer timer.Stop()
	select {
	case r = <-done:
	case <-timer.C:
		r.err = fmt.Errorf("port-forward to ztunnel %s: no connection after %s", e.key, p.dialTO)
		go func() {
			if late := <-done; late.c != nil {
				_ = late.c.Close()
			}
		}()
	}
	p.mu.Lock()
	e.conn, e.err = r.c, r.err
	if r.err == nil && (p.closed || e.gone) {
		e.err = errPoolClosed
	}
	if e.err != nil {
		p.removeLocked(e)
		e.shutLocked()
	}
	p.trimLocked()
	p.armLocked()
	close(e.ready)
	p.mu.Unlock()
}

// release ends a read on e; keep says it was a read of a keep target that
// served. A broken connection leaves the pool, and so does one no keep
// target read lately once its last read ended (unless keepAll), and
// connections over maxOpen, least recently used first.
func (p *pool) release(e *pooled, broken, keep bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e.busy--
	e.used = p.now()
	if keep {
		e.keepTill = e.used.Add(p.idle)
	}
	if broken || !p.keepAll && e.busy == 0 && e.conn != nil && !e.used.Before(e.keepTill) {
		p.removeLocked(e)
	}
	if e.gone && e.busy == 0 {
		e.shutLocked()
	}
	p.trimLocked()
	p.armLocked()
}

// removeLocked takes e out of the pool; its connection is closed now or,
// if reads are still on it, when the last one ends.
func (p *pool) removeLocked(e *pooled) {
	if p.conns[e.key] == e {
		delete(p.conns, e.key)
	}
	if e.gone {
		return
	}
	e.gone = true
	if e.busy == 0 {
		e.shutLocked()
	}
}

// trimLocked closes connections idle longer than p.idle, broken ones, ones
// no read keeps (a dial whose readers gave up), and the least recently
// used idle ones while more than maxOpen are open.
func (p *pool) trimLocked() {
	now := p.now()
	for _, e := range p.conns {
		if e.busy == 0 && e.conn != nil && (now.Sub(e.used) >= p.idle || isClosed(e.conn) || !p.keepAll && !now.Before(e.keepTill)) {
			p.removeLocked(e)
		}
	}
	for len(p.conns) > p.maxOpen {
		var lru *pooled
		for _, e := range p.conns {
			if e.busy == 0 && e.conn != nil && (lru == nil || e.used.Before(lru.used)) {
				lru = e
			}
		}
		if lru == nil {
			return // every one is being read: the next release trims
		}
		p.removeLocked(lru)
	}
}

// armLocked keeps a timer for the next idle connection's close while the
// pool holds any.
func (p *pool) armLocked() {
	if p.closed || p.sweep != nil || len(p.conns) == 0 {
		return
	}
	p.sweep = time.AfterFunc(p.idle/4+time.Millisecond, func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		p.sweep = nil
		p.trimLocked()
		p.armLocked()
	})
}

// close closes every connection; reads after it fail with errPoolClosed.
func (p *pool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	if p.sweep != nil {
		p.sweep.Stop()
		p.sweep = nil
	}
	for _, e := range p.conns {
		p.removeLocked(e)
		e.shutLocked() // reads on it end now, not at their deadline
	}
}

// size is the number of connections open or being dialed.
func (p *pool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

func isClosed(c httpstream.Connection) bool {
	select {
	case <-c.CloseChan():
		return true
	default:
		return false
	}
}

// streams are one read's stream pair, reset when its context ends so that
// nothing blocks past the read's deadline.
type streams struct {
	mu       sync.Mutex
	list     []httpstream.Stream
	canceled bool
}

func (s *streams) add(st httpstream.Stream) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.canceled {
		_ = st.Reset()
		return false
	}
	s.list = append(s.list, st)
	return true
}

func (s *streams) cancel() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.canceled = true
	for _, st := range s.list {
		_ = st.Reset()
	}
}

// exchange runs one GET on e's connection, releasing e when it ends;
// broken says the connection, not just this read, failed. It returns at
// ctx's end, with the streams reset, even if the server never answers.
func (p *pool) exchange(ctx context.Context, e *pooled, t target) (body []byte, err error, broken bool) {
	p.mu.Lock()
	id := e.nextID
	e.nextID++
	p.mu.Unlock()
	type result struct {
		body   []byte
		err    error
		broken bool
	}
	done := make(chan result, 1)
	s := &streams{}
	go func() {
		body, err, broken := getThrough(e.conn, id, t, s)
		if err != nil && !broken && isClosed(e.conn) {
			broken = true
		}
		// Only a read that served keeps its connection: a ztunnel that
		// refuses or fails its scrapes would hold ~1 MiB for poolIdle
		// for nothing, and the scrapes' backoff spaces the redials.
		p.release(e, broken, t.keep && err == nil)
		done <- result{body, err, broken}
	}()
	select {
	case r := <-done:
		return r.body, r.err, r.broken
	case <-ctx.Done():
		s.cancel()
		return nil, ctx.Err(), false
	}
}

// getThrough sends one HTTP GET of t through conn as request id, the way
// client-go's PortForwarder pairs an error stream with a data stream per
// request. broken says a stream could not be made: the connection is gone.
func getThrough(conn httpstream.Connection, id int, t target, s *streams) (body []byte, err error, broken bool) {
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(t.port))
	h.Set(corev1.PortForwardRequestIDHeader, strconv.Itoa(id))
	errStream, err := conn.CreateStream(h)
	if err != nil {
		return nil, fmt.Errorf("port-forward error stream: %w", err), true
	}
	defer conn.RemoveStreams(errStream)
	defer errStream.Reset()
	if !s.add(errStream) {
		return nil, context.Canceled, false
	}
	_ = errStream.Close() // nothing is written to it
	remoteErr := make(chan string, 1)
	go func() {
		msg, _ := io.ReadAll(io.LimitReader(errStream, 4096))
		remoteErr <- strings.TrimSpace(string(msg))
	}()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		return nil, fmt.Errorf("port-forward data stream: %w", err), true
	}
	defer conn.RemoveStreams(data)
	defer data.Reset()
	if !s.add(data) {
		return nil, context.Canceled, false
	}
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://localhost:%d%s", t.port, t.path), nil)
	req.Close = true
	if err := req.Write(data); err != nil {
		return nil, fmt.Errorf("port-forward write: %w", err), false
	}
	resp, err := http.ReadResponse(bufio.NewReader(data), req)
	if err != nil {
		select {
		case msg := <-remoteErr:
			if msg != "" {
				return nil, fmt.Errorf("port-forward to port %d: %s", t.port, msg), false
			}
		case <-time.After(time.Second):
		}
		return nil, fmt.Errorf("reading %s through port-forward: %w", t.path, err), false
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(io.LimitReader(resp.Body, int64(t.limit)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s through port-forward: %w", t.path, err), false
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", t.path, resp.Status), false
	}
	return body, nil, false
}
