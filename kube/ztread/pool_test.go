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
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
)

// fakeKubelet stands in for the API server and kubelet behind a
// port-forward: each dial is one connection, and each error/data stream
// pair on it (matched by request ID, as the kubelet does) is one TCP
// connection to the pod's port, answered by answer.
type fakeKubelet struct {
	mu     sync.Mutex
	dials  int
	conns  []*fakeConn
	ports  map[string]bool // every port a stream asked for
	dialFn func(Pod) error // a dial's error, if any
	// answer is the pod's reply to a GET on port: a status and body, or a
	// message the kubelet writes on the error stream instead.
	answer func(pod Pod, port int, path string) (status int, body, remoteErr string)
	hang   chan struct{} // when set, answers wait for it to close
}

func newFakeKubelet() *fakeKubelet {
	return &fakeKubelet{ports: map[string]bool{}, answer: func(pod Pod, port int, path string) (int, string, string) {
		return http.StatusOK, fmt.Sprintf("%s %s:%d%s", pod.UID, pod.Name, port, path), ""
	}}
}

func (k *fakeKubelet) dial(p Pod) (httpstream.Connection, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.dials++
	if k.dialFn != nil {
		if err := k.dialFn(p); err != nil {
			return nil, err
		}
	}
	c := &fakeConn{k: k, pod: p, closed: make(chan bool), pending: map[string]*fakeStream{}, open: map[uint32]*fakeStream{}, seen: map[string]bool{}}
	k.conns = append(k.conns, c)
	return c, nil
}

func (k *fakeKubelet) dialCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.dials
}

func (k *fakeKubelet) conn(i int) *fakeConn {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.conns[i]
}

type fakeConn struct {
	k    *fakeKubelet
	pod  Pod
	once sync.Once

	mu         sync.Mutex
	closed     chan bool
	failCreate bool
	next       uint32
	pending    map[string]*fakeStream // error streams by request ID
	open       map[uint32]*fakeStream // until RemoveStreams
	seen       map[string]bool        // request IDs with a data stream
	reused     []string               // request IDs sent twice
}

func (c *fakeConn) CreateStream(h http.Header) (httpstream.Stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.isClosed() || c.failCreate {
		return nil, errors.New("session is closed")
	}
	c.next++
	s := newFakeStream(h, c.next)
	c.open[s.id] = s
	id, port := h.Get(corev1.PortForwardRequestIDHeader), h.Get(corev1.PortHeader)
	c.k.mu.Lock()
	c.k.ports[port] = true
	c.k.mu.Unlock()
	switch h.Get(corev1.StreamType) {
	case corev1.StreamTypeError:
		c.pending[id] = s
	case corev1.StreamTypeData:
		if c.seen[id] {
			c.reused = append(c.reused, id)
		}
		c.seen[id] = true
		errS := c.pending[id]
		delete(c.pending, id)
		p, _ := strconv.Atoi(port)
		go c.serve(p, errS, s)
	}
	return s, nil
}

// serve answers one stream pair the way kwok's and the kubelet's
// port-forward do: the pod's reply on the data stream, or a message on the
// error stream and the data stream closed.
func (c *fakeConn) serve(port int, errS, data *fakeStream) {
	req, err := http.ReadRequest(bufio.NewReader(data.serverR))
	if err != nil {
		data.serverW.CloseWithError(err)
		return
	}
	if h := c.k.hang; h != nil {
		select {
		case <-h:
		case <-data.reset:
			return
		}
	}
	status, body, remoteErr := c.k.answer(c.pod, port, req.URL.Path)
	if remoteErr != "" {
		if errS != nil {
			_, _ = errS.serverW.Write([]byte(remoteErr))
			_ = errS.serverW.Close()
		}
		_ = data.serverW.Close()
		return
	}
	resp := &http.Response{StatusCode: status, ProtoMajor: 1, ProtoMinor: 1, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Close: true}
	_ = resp.Write(data.serverW)
	_ = data.serverW.Close()
	if errS != nil {
		_ = errS.serverW.Close()
	}
}

func (c *fakeConn) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}

// Close is what the pool calls, and breaking is what an API server restart
// does: both end every stream.
func (c *fakeConn) Close() error {
	c.once.Do(func() {
		c.mu.Lock()
		close(c.closed)
		for _, s := range c.open {
			_ = s.Reset()
		}
		c.mu.Unlock()
	})
	return nil
}

func (c *fakeConn) CloseChan() <-chan bool       { return c.closed }
func (c *fakeConn) SetIdleTimeout(time.Duration) {}

func (c *fakeConn) RemoveStreams(streams ...httpstream.Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range streams {
		delete(c.open, s.Identifier())
	}
}

func (c *fakeConn) openStreams() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.open)
}

// fakeStream is one SPDY stream: what the client writes the server reads
// from serverR, what the server writes to serverW the client reads.
type fakeStream struct {
	h                http.Header
	id               uint32
	clientR, serverR *io.PipeReader
	clientW, serverW *io.PipeWriter
	reset            chan struct{}
	resetOnce        sync.Once
}

func newFakeStream(h http.Header, id uint32) *fakeStream {
	s := &fakeStream{h: h.Clone(), id: id, reset: make(chan struct{})}
	s.clientR, s.serverW = io.Pipe()
	s.serverR, s.clientW = io.Pipe()
	return s
}

func (s *fakeStream) Read(p []byte) (int, error)  { return s.clientR.Read(p) }
func (s *fakeStream) Write(p []byte) (int, error) { return s.clientW.Write(p) }
func (s *fakeStream) Close() error                { return s.clientW.Close() }
func (s *fakeStream) Headers() http.Header        { return s.h }
func (s *fakeStream) Identifier() uint32          { return s.id }
func (s *fakeStream) Reset() error {
	s.resetOnce.Do(func() {
		close(s.reset)
		err := errors.New("stream reset")
		s.clientR.CloseWithError(err)
		s.serverR.CloseWithError(err)
	})
	return nil
}

func zt(name string) Pod {
	return Pod{Namespace: "istio-system", Name: name, Node: "n-" + name, UID: "uid-" + name}
}

// testPool keeps every read's connection, so that the mechanism is tested
// on any target; TestPoolKeepsWhatIsReadOften tests the default.
func testPool(k *fakeKubelet) *pool {
	p := newPool(k.dial)
	p.dialTO = 5 * time.Second
	p.keepAll = true
	return p
}

func readOK(t *testing.T, p *pool, pod Pod, tg target) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	body, err := p.read(ctx, pod, tg)
	if err != nil {
		t.Fatalf("read %s of %s: %v", tg.what, pod.Name, err)
	}
	return string(body)
}

func TestPoolReusesOneConnectionPerPod(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	defer p.close()
	a := zt("ztunnel-a")
	for i := 0; i < 3; i++ {
		if got, want := readOK(t, p, a, configDumpTarget), "uid-ztunnel-a ztunnel-a:15000/config_dump"; got != want {
			t.Fatalf("config_dump read %d: %q, want %q", i, got, want)
		}
		if got, want := readOK(t, p, a, metricsTarget), "uid-ztunnel-a ztunnel-a:15020/metrics"; got != want {
			t.Fatalf("metrics read %d: %q, want %q", i, got, want)
		}
	}
	if n := k.dialCount(); n != 1 {
		t.Fatalf("6 reads of one pod dialed %d port-forwards, want 1", n)
	}
	c := k.conn(0)
	if c.isClosed() {
		t.Fatal("the pooled connection was closed after its reads")
	}
	if len(c.reused) != 0 || len(c.seen) != 6 {
		t.Fatalf("request IDs: %d distinct, reused %v; every read needs a fresh one", len(c.seen), c.reused)
	}
	if n := c.openStreams(); n != 0 {
		t.Fatalf("%d streams left on the connection after the reads: a pooled connection would grow without bound", n)
	}
	if len(k.ports) != 2 || !k.ports["15000"] || !k.ports["15020"] {
		t.Fatalf("ports asked for: %v, want only 15000 and 15020", k.ports)
	}
	// Another pod gets its own connection.
	if got := readOK(t, p, zt("ztunnel-b"), configDumpTarget); !strings.HasPrefix(got, "uid-ztunnel-b ztunnel-b:15000") {
		t.Fatalf("read of pod b answered %q", got)
	}
	if n := k.dialCount(); n != 2 {
		t.Fatalf("a second pod: %d dials, want 2", n)
	}
}

func TestPoolRedialsOnceAfterTheConnectionBroke(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	defer p.close()
	a := zt("ztunnel-a")
	readOK(t, p, a, configDumpTarget)
	_ = k.conn(0).Close() // the API server restarted
	readOK(t, p, a, metricsTarget)
	if n := k.dialCount(); n != 2 {
		t.Fatalf("a read after the connection closed: %d dials, want 2", n)
	}

	// A connection that looks open but can make no stream is broken too:
	// the read redials once, and a fresh connection that fails as well is
	// the read's error, with no third dial.
	k.conn(1).mu.Lock()
	k.conn(1).failCreate = true
	k.conn(1).mu.Unlock()
	readOK(t, p, a, configDumpTarget)
	if n := k.dialCount(); n != 3 {
		t.Fatalf("a read on a connection that makes no streams: %d dials, want 3", n)
	}
	if !k.conn(1).isClosed() {
		t.Fatal("the broken connection was left open")
	}
	k.conn(2).mu.Lock()
	k.conn(2).failCreate = true
	k.conn(2).mu.Unlock()
	orig := k.dial
	p.dial = func(pod Pod) (httpstream.Connection, error) {
		c, err := orig(pod)
		if fc, ok := c.(*fakeConn); ok {
			fc.failCreate = true
		}
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := p.read(ctx, a, configDumpTarget)
	if err == nil || !strings.Contains(err.Error(), "reading ztunnel istio-system/ztunnel-a config_dump") || !strings.Contains(err.Error(), "session is closed") {
		t.Fatalf("both connections broken: %v, want the stream error naming the pod", err)
	}
	if n := k.dialCount(); n != 4 {
		t.Fatalf("a read whose redial broke too: %d dials, want 4 (one redial, no storm)", n)
	}
}

func TestPoolKeepsTheConnectionWhenAReadFailsOnItsStream(t *testing.T) {
	k := newFakeKubelet()
	k.answer = func(pod Pod, port int, path string) (int, string, string) {
		switch port {
		case AdminPort:
			return 0, "", "no forward found for port 15000"
		}
		if path == "/metrics" {
			return http.StatusServiceUnavailable, "", ""
		}
		return http.StatusOK, "ok", ""
	}
	p := testPool(k)
	defer p.close()
	a := zt("ztunnel-a")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		_, err := p.read(ctx, a, configDumpTarget)
		if err == nil || err.Error() != "reading ztunnel istio-system/ztunnel-a config_dump: port-forward to port 15000: no forward found for port 15000" {
			t.Fatalf("a port the pod refuses: %v", err)
		}
		_, err = p.read(ctx, a, metricsTarget)
		if err == nil || err.Error() != "reading ztunnel istio-system/ztunnel-a metrics: /metrics answered 503 Service Unavailable" {
			t.Fatalf("ztunnel answering an error: %v", err)
		}
	}
	if n := k.dialCount(); n != 1 {
		t.Fatalf("6 reads failing on their streams dialed %d times, want 1: a refused port must not redial", n)
	}
	if k.conn(0).isClosed() {
		t.Fatal("a read that failed on its stream closed a healthy connection")
	}
}

func TestPoolReadIsBoundedByItsContext(t *testing.T) {
	k := newFakeKubelet()
	k.hang = make(chan struct{})
	p := testPool(k)
	defer p.close()
	a := zt("ztunnel-a")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := p.read(ctx, a, configDumpTarget)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "ztunnel istio-system/ztunnel-a config_dump") {
		t.Fatalf("a read of a pod that never answers: %v, want its deadline naming the pod", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("the read returned after %s, past its 100ms deadline", d)
	}
	// Its streams were reset and removed; the connection stays for the next read.
	c := k.conn(0)
	deadline := time.Now().Add(5 * time.Second)
	for c.openStreams() != 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := c.openStreams(); n != 0 {
		t.Fatalf("%d streams left after a timed-out read", n)
	}
	close(k.hang)
	if got := readOK(t, p, a, metricsTarget); !strings.HasSuffix(got, ":15020/metrics") {
		t.Fatalf("the read after a timeout: %q", got)
	}
	if n := k.dialCount(); n != 1 || c.isClosed() {
		t.Fatalf("after a timed-out read: %d dials, connection closed %v; want the one connection kept", n, c.isClosed())
	}
}

func TestPoolClosesIdleConnections(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	p.idle = 40 * time.Millisecond
	defer p.close()
	a := zt("ztunnel-a")
	readOK(t, p, a, configDumpTarget)
	c := k.conn(0)
	deadline := time.Now().Add(5 * time.Second)
	for !c.isClosed() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !c.isClosed() || p.size() != 0 {
		t.Fatalf("an idle connection after %s: closed %v, pool holds %d", p.idle, c.isClosed(), p.size())
	}
	readOK(t, p, a, configDumpTarget)
	if n := k.dialCount(); n != 2 {
		t.Fatalf("a read after the idle close: %d dials, want 2", n)
	}
}

func TestPoolClosesTheLeastRecentlyUsedOverItsCap(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	p.maxOpen = 2
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { mu.Lock(); defer mu.Unlock(); clock = clock.Add(time.Second); return clock }
	defer p.close()
	a, b, c := zt("ztunnel-a"), zt("ztunnel-b"), zt("ztunnel-c")
	readOK(t, p, a, configDumpTarget)
	readOK(t, p, b, configDumpTarget)
	readOK(t, p, a, metricsTarget) // a is now more recent than b
	readOK(t, p, c, configDumpTarget)
	if p.size() != 2 {
		t.Fatalf("pool holds %d connections, cap 2", p.size())
	}
	if ca, cb, cc := k.conn(0), k.conn(1), k.conn(2); ca.isClosed() || cc.isClosed() {
		t.Fatal("a recently used connection was closed for the cap")
	} else {
		deadline := time.Now().Add(5 * time.Second)
		for !cb.isClosed() && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		if !cb.isClosed() {
			t.Fatal("the least recently used connection (b) is still open over the cap")
		}
	}
	readOK(t, p, a, configDumpTarget)
	readOK(t, p, c, metricsTarget)
	if n := k.dialCount(); n != 3 {
		t.Fatalf("reads of the two kept pods dialed again: %d dials, want 3", n)
	}
	readOK(t, p, b, configDumpTarget)
	if n := k.dialCount(); n != 4 {
		t.Fatalf("the closed pod's next read: %d dials, want 4", n)
	}
}

func TestPoolConcurrentReadsOfOnePodShareOneDial(t *testing.T) {
	k := newFakeKubelet()
	release := make(chan struct{})
	orig := k.dial
	p := testPool(k)
	p.dial = func(pod Pod) (httpstream.Connection, error) {
		<-release // every reader arrives while the dial is under way
		return orig(pod)
	}
	defer p.close()
	a := zt("ztunnel-a")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tg := configDumpTarget
			if i%2 == 1 {
				tg = metricsTarget
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			body, err := p.read(ctx, a, tg)
			if err == nil && !strings.HasSuffix(string(body), tg.path) {
				err = fmt.Errorf("read of %s answered %q", tg.path, body)
			}
			if err != nil {
				errs <- err
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := k.dialCount(); n != 1 {
		t.Fatalf("40 concurrent reads of one pod dialed %d times, want 1", n)
	}
	c := k.conn(0)
	if len(c.reused) != 0 || len(c.seen) != 40 {
		t.Fatalf("request IDs: %d distinct, reused %v", len(c.seen), c.reused)
	}
	if n := c.openStreams(); n != 0 {
		t.Fatalf("%d streams left after the reads", n)
	}
}

func TestPoolDialsAPodReplacedUnderTheSameName(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	defer p.close()
	old := zt("ztunnel-a")
	readOK(t, p, old, configDumpTarget)
	repl := old
	repl.UID = "uid-new"
	if got := readOK(t, p, repl, configDumpTarget); !strings.HasPrefix(got, "uid-new ") {
		t.Fatalf("the replacement pod's read went to %q", got)
	}
	if n := k.dialCount(); n != 2 {
		t.Fatalf("a replaced pod: %d dials, want 2", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !k.conn(0).isClosed() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !k.conn(0).isClosed() {
		t.Fatal("the old pod's connection is still open")
	}
}

func TestPoolDialFailureIsTheReadsErrorAndNotKept(t *testing.T) {
	k := newFakeKubelet()
	k.dialFn = func(Pod) error { return errors.New(`forbidden: ambx needs create on pods/portforward`) }
	p := testPool(k)
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 1; i <= 2; i++ {
		_, err := p.read(ctx, zt("ztunnel-a"), configDumpTarget)
		if err == nil || !strings.Contains(err.Error(), "forbidden") {
			t.Fatalf("a dial that failed: %v", err)
		}
		if n := k.dialCount(); n != i {
			t.Fatalf("read %d after a failed dial: %d dials, want %d (a failed dial is not kept)", i, n, i)
		}
	}
	if p.size() != 0 {
		t.Fatalf("pool holds %d entries after failed dials", p.size())
	}
}

func TestPoolDialThatHangsIsBounded(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	block := make(chan struct{})
	defer close(block)
	p.dial = func(Pod) (httpstream.Connection, error) { <-block; return nil, errors.New("late") }
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := p.read(ctx, zt("ztunnel-a"), configDumpTarget); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a read waiting on a dial that hangs: %v", err)
	}
	// A dial is bounded by the pool, not only by its reader's context.
	q := testPool(k)
	q.dial = p.dial
	q.dialTO = 50 * time.Millisecond
	defer q.close()
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	_, err := q.read(ctx2, zt("ztunnel-b"), configDumpTarget)
	if err == nil || !strings.Contains(err.Error(), "no connection after 50ms") {
		t.Fatalf("a dial past the pool's bound: %v", err)
	}
}

func TestPoolCloseEndsEverything(t *testing.T) {
	k := newFakeKubelet()
	p := testPool(k)
	readOK(t, p, zt("ztunnel-a"), configDumpTarget)
	readOK(t, p, zt("ztunnel-b"), metricsTarget)
	p.close()
	deadline := time.Now().Add(5 * time.Second)
	for (!k.conn(0).isClosed() || !k.conn(1).isClosed()) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !k.conn(0).isClosed() || !k.conn(1).isClosed() {
		t.Fatal("close left connections open")
	}
	_, err := p.read(context.Background(), zt("ztunnel-a"), configDumpTarget)
	if !errors.Is(err, errPoolClosed) {
		t.Fatalf("a read after close: %v", err)
	}
	if n := k.dialCount(); n != 2 {
		t.Fatalf("a read after close dialed: %d dials", n)
	}
}

// By default a config_dump read alone closes the connection it dialed,
// a metrics read keeps it for poolIdle, and config_dump reads use a kept
// one: the rate columns' frequent scrapes cost no request, while the drift
// survey's round of every ztunnel does not leave a connection per node.
func TestPoolKeepsWhatIsReadOften(t *testing.T) {
	k := newFakeKubelet()
	p := newPool(k.dial)
	if p.keepAll != poolKeepDumps || p.idle != poolIdle || p.maxOpen != poolMaxOpen {
		t.Fatalf("newPool's bounds: keepAll %v idle %s maxOpen %d", p.keepAll, p.idle, p.maxOpen)
	}
	if poolKeepDumps {
		t.Skip("poolKeepDumps is set: every read keeps its connection")
	}
	var mu sync.Mutex
	clock := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	p.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
	advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
	defer p.close()
	a, b := zt("ztunnel-a"), zt("ztunnel-b")

	readOK(t, p, b, configDumpTarget)
	readOK(t, p, b, configDumpTarget)
	if n := k.dialCount(); n != 2 || p.size() != 0 {
		t.Fatalf("two config_dump reads of a pod not scraped: %d dials, %d kept; want 2 and 0", n, p.size())
	}
	waitClosed(t, k.conn(0))

	readOK(t, p, a, metricsTarget)
	for i := 0; i < 3; i++ {
		advance(10 * time.Second)
		readOK(t, p, a, metricsTarget)
		readOK(t, p, a, configDumpTarget)
	}
	if n := k.dialCount(); n != 3 || p.size() != 1 {
		t.Fatalf("a scraped pod's reads: %d dials, %d kept; want 3 and 1", n, p.size())
	}
	// No scrape for longer than poolIdle (the pod left the screen): the
	// next config_dump read is its connection's last.
	advance(poolIdle + time.Second)
	readOK(t, p, a, configDumpTarget)
	if p.size() != 0 {
		t.Fatal("a connection no scrape used for poolIdle stayed open after a config_dump read")
	}
	waitClosed(t, k.conn(2))
}

func waitClosed(t *testing.T, c *fakeConn) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !c.isClosed() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if !c.isClosed() {
		t.Fatal("the connection is still open")
	}
}

// A scrape that fails (ztunnel answers an error, or its port is refused,
// as kwok's ztunnels do) does not keep the connection it dialed: at 100
// nodes of failing ztunnels the pool would hold ~1 MiB each for poolIdle.
// A connection an earlier scrape kept stays kept through one failure.
func TestPoolKeepsOnlyWhatServed(t *testing.T) {
	k := newFakeKubelet()
	failing := map[string]bool{} // pods whose port is refused
	var mu sync.Mutex
	k.answer = func(pod Pod, port int, path string) (int, string, string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case pod.Name == "ztunnel-b":
			return http.StatusServiceUnavailable, "", ""
		case failing[pod.Name]:
			return 0, "", "no forward found for port 15020"
		}
		return http.StatusOK, "ok", ""
	}
	p := newPool(k.dial)
	defer p.close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	a, b := zt("ztunnel-a"), zt("ztunnel-b")
	if _, err := p.read(ctx, b, metricsTarget); err == nil {
		t.Fatal("a scrape ztunnel answered 503 succeeded")
	}
	if p.size() != 0 {
		t.Fatalf("%d connections kept after a failed scrape, want 0", p.size())
	}
	waitClosed(t, k.conn(0))

	readOK(t, p, a, metricsTarget)
	mu.Lock()
	failing["ztunnel-a"] = true
	mu.Unlock()
	if _, err := p.read(ctx, a, metricsTarget); err == nil {
		t.Fatal("a refused scrape succeeded")
	}
	if p.size() != 1 || k.conn(1).isClosed() {
		t.Fatalf("a connection an earlier scrape kept: %d kept, closed %v; want it kept", p.size(), k.conn(1).isClosed())
	}
	mu.Lock()
	failing["ztunnel-a"] = false
	mu.Unlock()
	readOK(t, p, a, metricsTarget)
	if n := k.dialCount(); n != 2 {
		t.Fatalf("%d dials, want 2: the kept connection serves the scrape after the failure", n)
	}
}
