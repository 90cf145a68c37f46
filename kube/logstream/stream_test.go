package logstream_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/ambx/ambx/kube/logstream"
)

// call records one Open.
type call struct {
	pod  string
	tail int64
}

// pipeOpener hands out an io.Pipe per Open; the test writes the log into
// the writer it receives on conns, as kubelet would.
type pipeOpener struct {
	mu    sync.Mutex
	calls []call
	fail  map[string][]error // errors to return, in order, before opening
	conns chan conn
}

type conn struct {
	pod string
	w   *io.PipeWriter
}

func newPipeOpener() *pipeOpener {
	return &pipeOpener{fail: map[string][]error{}, conns: make(chan conn, 16)}
}

func (o *pipeOpener) Open(ctx context.Context, ns, pod, container string, tail int64, follow bool) (io.ReadCloser, error) {
	o.mu.Lock()
	o.calls = append(o.calls, call{pod, tail})
	if errs := o.fail[pod]; len(errs) > 0 {
		o.fail[pod] = errs[1:]
		o.mu.Unlock()
		return nil, errs[0]
	}
	o.mu.Unlock()
	if !follow || container != "istio-proxy" || ns != "istio-system" {
		return nil, fmt.Errorf("unexpected open %s/%s[%s] follow=%v", ns, pod, container, follow)
	}
	r, w := io.Pipe()
	select {
	case o.conns <- conn{pod, w}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return r, nil
}

func (o *pipeOpener) callsFor(pod string) []call {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []call
	for _, c := range o.calls {
		if c.pod == pod {
			out = append(out, c)
		}
	}
	return out
}

func (o *pipeOpener) next(t *testing.T, pod string) *io.PipeWriter {
	t.Helper()
	select {
	case c := <-o.conns:
		if c.pod != pod {
			t.Fatalf("opened %s, want %s", c.pod, pod)
		}
		return c.w
	case <-time.After(5 * time.Second):
		t.Fatalf("%s was never opened", pod)
	}
	return nil
}

func target(pod, node string) logstream.Target {
	return logstream.Target{Namespace: "istio-system", Pod: pod, Container: "istio-proxy", Node: node}
}

func fast() logstream.Options {
	return logstream.Options{BatchInterval: 20 * time.Millisecond, BackoffMin: 5 * time.Millisecond, BackoffMax: 20 * time.Millisecond}
}

func line(sec int, msg string) string {
	return fmt.Sprintf("2026-11-22T10:00:%02d.000000Z\tinfo\taccess\t%s\tdirection=\"outbound\"\n", sec, msg)
}

// collect reads batches until want returns true or the time runs out.
func collect(t *testing.T, s *logstream.Stream, until func([]logstream.Entry) bool) ([]logstream.Entry, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var all []logstream.Entry
	batches := 0
	for !until(all) {
		b, ok := s.Next(ctx)
		if !ok {
			t.Fatalf("stream ended early; got %s", texts(all))
		}
		if b.Stream != s.ID() {
			t.Fatalf("batch of stream %d from stream %d", b.Stream, s.ID())
		}
		batches++
		all = append(all, b.Entries...)
	}
	return all, batches
}

func texts(es []logstream.Entry) string {
	var b strings.Builder
	for _, e := range es {
		if e.Kind == logstream.KindStatus {
			b.WriteString("[" + e.Text + "]\n")
		} else {
			b.WriteString(e.Pod + ": " + e.Line.Message + "\n")
		}
	}
	return b.String()
}

func lines(es []logstream.Entry) []string {
	var out []string
	for _, e := range es {
		if e.Kind == logstream.KindLine {
			out = append(out, e.Pod+": "+e.Line.Message)
		}
	}
	return out
}

func countLines(n int) func([]logstream.Entry) bool {
	return func(es []logstream.Entry) bool { return len(lines(es)) >= n }
}

func TestMergesPodsInTimeOrder(t *testing.T) {
	o := newPipeOpener()
	plan := logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "node-1"), target("ztunnel-b", "node-2")}}
	opt := fast()
	opt.BatchInterval = 200 * time.Millisecond
	s := logstream.Start(context.Background(), o, plan, opt)
	defer s.Close()
	w := map[string]*io.PipeWriter{}
	for range 2 {
		c := <-o.conns
		w[c.pod] = c.w
	}
	// b's older line arrives after a's newer one; the batch puts it first.
	io.WriteString(w["ztunnel-a"], line(2, "a-second"))
	io.WriteString(w["ztunnel-b"], line(1, "b-first"))
	io.WriteString(w["ztunnel-a"], line(3, "a-third"))
	got, _ := collect(t, s, countLines(3))
	want := []string{"ztunnel-b: b-first", "ztunnel-a: a-second", "ztunnel-a: a-third"}
	if fmt.Sprint(lines(got)) != fmt.Sprint(want) {
		t.Errorf("lines %v, want %v", lines(got), want)
	}
	if !strings.Contains(texts(got), "[following istio-system/ztunnel-a on node node-1]") {
		t.Errorf("no note saying what is followed:\n%s", texts(got))
	}
	if c := o.callsFor("ztunnel-a"); len(c) != 1 || c[0].tail != 200 {
		t.Errorf("opens of ztunnel-a: %+v, want one with the default tail of 200", c)
	}
}

func TestBatchesInsteadOfOneMessagePerLine(t *testing.T) {
	o := newPipeOpener()
	opt := fast()
	opt.BatchInterval = 3 * time.Second // only the size limit can send a batch early
	opt.BatchLines = 100
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1")}}, opt)
	defer s.Close()
	w := o.next(t, "ztunnel-a")
	go func() {
		var b strings.Builder
		for i := range 250 {
			b.WriteString(line(i%60, fmt.Sprint("l", i)))
		}
		io.WriteString(w, b.String())
	}()
	start := time.Now()
	for i := range 2 {
		b, ok := s.Next(context.Background())
		if !ok || len(b.Entries) != 100 {
			t.Fatalf("batch %d has %d entries, want a full batch of 100", i, len(b.Entries))
		}
	}
	// Generous on purpose: only "before the interval" is the claim.
	if time.Since(start) >= opt.BatchInterval {
		t.Errorf("full batches waited for the interval (%s)", time.Since(start))
	}
	// The rest (1 note + 250 lines - 200) waits for the interval.
	b, _ := s.Next(context.Background())
	if len(b.Entries) != 51 || time.Since(start) < opt.BatchInterval {
		t.Errorf("last batch: %d entries after %s, want 51 after the %s interval", len(b.Entries), time.Since(start), opt.BatchInterval)
	}
}

func TestReconnectsAfterEOFWithoutRepeatingLines(t *testing.T) {
	o := newPipeOpener()
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1")}}, fast())
	defer s.Close()
	w := o.next(t, "ztunnel-a")
	io.WriteString(w, line(1, "one")+line(2, "two"))
	collect(t, s, countLines(2))
	w.Close() // the ztunnel restarted: its log stream ends

	w = o.next(t, "ztunnel-a")
	// The new stream's tail repeats what was already shown.
	io.WriteString(w, line(1, "one")+line(2, "two")+line(3, "three"))
	got, _ := collect(t, s, countLines(1))
	if fmt.Sprint(lines(got)) != "[ztunnel-a: three]" {
		t.Errorf("after reconnect got %v, want only the new line", lines(got))
	}
	txt := texts(got)
	for _, want := range []string{"the stream ended (ztunnel restarted?); reconnecting in 5ms", "reconnected to istio-system/ztunnel-a"} {
		if !strings.Contains(txt, want) {
			t.Errorf("missing note %q in\n%s", want, txt)
		}
	}
	if c := o.callsFor("ztunnel-a"); len(c) != 2 {
		t.Errorf("opens %+v, want 2", c)
	}
}

func TestBrokenStreamSaysWhy(t *testing.T) {
	o := newPipeOpener()
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1")}}, fast())
	defer s.Close()
	w := o.next(t, "ztunnel-a")
	io.WriteString(w, line(1, "one"))
	w.CloseWithError(errors.New("http2: stream reset"))
	got, _ := collect(t, s, func(es []logstream.Entry) bool { return strings.Contains(texts(es), "reconnected") })
	if !strings.Contains(texts(got), "the stream broke: http2: stream reset; reconnecting in 5ms") {
		t.Errorf("notes:\n%s", texts(got))
	}
	o.next(t, "ztunnel-a")
}

func TestOpenErrorsBackOff(t *testing.T) {
	o := newPipeOpener()
	o.fail["ztunnel-a"] = []error{errors.New("boom"), errors.New("boom"), errors.New("boom")}
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1")}}, fast())
	defer s.Close()
	w := o.next(t, "ztunnel-a")
	io.WriteString(w, line(1, "finally"))
	got, _ := collect(t, s, countLines(1))
	txt := texts(got)
	for _, want := range []string{
		"cannot read the log of istio-system/ztunnel-a: boom; retrying in 5ms",
		"retrying in 10ms",
		"retrying in 20ms",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("missing %q (the delay doubles up to BackoffMax) in\n%s", want, txt)
		}
	}
}

type locator map[string]logstream.Target

func (l locator) Ztunnel(_ context.Context, node string) (logstream.Target, error) {
	if t, ok := l[node]; ok {
		return t, nil
	}
	return logstream.Target{}, errors.New("none")
}

func TestFollowsReplacementZtunnel(t *testing.T) {
	o := newPipeOpener()
	o.fail["ztunnel-old"] = []error{apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "ztunnel-old")}
	opt := fast()
	opt.Locator = locator{"n1": target("ztunnel-new", "n1")}
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-old", "n1")}}, opt)
	defer s.Close()
	w := o.next(t, "ztunnel-new")
	io.WriteString(w, line(1, "from the new pod"))
	got, _ := collect(t, s, countLines(1))
	if !strings.Contains(texts(got), "ztunnel istio-system/ztunnel-old on node n1 is gone; following its replacement istio-system/ztunnel-new") {
		t.Errorf("notes:\n%s", texts(got))
	}
	if fmt.Sprint(lines(got)) != "[ztunnel-new: from the new pod]" {
		t.Errorf("lines %v", lines(got))
	}
}

func TestMissingZtunnelIsReported(t *testing.T) {
	s := logstream.Start(context.Background(), newPipeOpener(), logstream.Plan{Missing: []string{"node-5"}}, fast())
	got, _ := collect(t, s, func(es []logstream.Entry) bool { return len(es) > 0 })
	if want := "node node-5 runs no ztunnel pod"; !strings.Contains(texts(got), want) {
		t.Errorf("notes %q, want %q", texts(got), want)
	}
	// With nothing to follow the stream ends by itself.
	if _, ok := s.Next(context.Background()); ok {
		t.Error("stream with no targets kept going")
	}
}

func TestSlowReaderDropsOldestAndSaysSo(t *testing.T) {
	o := newPipeOpener()
	opt := fast()
	opt.MaxPending = 100
	opt.BatchLines = 1000
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1")}}, opt)
	defer s.Close()
	w := o.next(t, "ztunnel-a")
	var b strings.Builder
	for i := range 1000 {
		b.WriteString(fmt.Sprintf("2026-11-22T10:00:00.%06dZ\tinfo\taccess\tl%d\n", i, i))
	}
	io.WriteString(w, b.String())
	w.Close()
	// The write returns once the bytes are buffered, not parsed: only the
	// reconnect after EOF says every line was pushed, so the reader below
	// was slow all along rather than keeping up with the parser (which it
	// did under the race detector, taking 169 lines as they came).
	o.next(t, "ztunnel-a")
	// The drop notice can be delivered before the newest line: wait for both.
	got, _ := collect(t, s, func(es []logstream.Entry) bool {
		return strings.Contains(texts(es), "lines dropped") && strings.Contains(texts(es), "l999")
	})
	if !strings.Contains(texts(got), "lines dropped") {
		t.Errorf("a slow reader lost lines without being told")
	}
	ls := lines(got)
	if len(ls) > 100 {
		t.Errorf("held %d lines for a slow reader, want at most 100", len(ls))
	}
	if len(ls) == 0 || ls[len(ls)-1] != "ztunnel-a: l999" {
		t.Errorf("the newest line must survive; got tail %v", ls[max(0, len(ls)-3):])
	}
}

func TestCloseStopsFollowers(t *testing.T) {
	o := newPipeOpener()
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1"), target("ztunnel-b", "n2")}}, fast())
	<-o.conns
	<-o.conns
	s.Close()
	select {
	case <-s.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("followers still running after Close")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		if _, ok := s.Next(ctx); !ok {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatal("Next kept waiting after Close")
	}
}

func TestLongLinesAreCut(t *testing.T) {
	o := newPipeOpener()
	opt := fast()
	opt.MaxLineBytes = 4 << 10
	s := logstream.Start(context.Background(), o, logstream.Plan{Targets: []logstream.Target{target("ztunnel-a", "n1")}}, opt)
	defer s.Close()
	w := o.next(t, "ztunnel-a")
	go io.WriteString(w, "2026-11-22T10:00:01.000000Z\terror\tapp\t"+strings.Repeat("x", 100<<10)+"\n"+line(2, "after"))
	got, _ := collect(t, s, countLines(2))
	var ls, cut []int
	for _, e := range got {
		if e.Kind == logstream.KindLine {
			ls = append(ls, len(e.Line.Raw))
			cut = append(cut, e.Line.Truncated)
		}
	}
	long := len("2026-11-22T10:00:01.000000Z\terror\tapp\t") + 100<<10
	if ls[0] != 4<<10 || cut[0] != long-4<<10 || cut[1] != 0 || lines(got)[1] != "ztunnel-a: after" {
		t.Errorf("line lengths %v, cut %v; want the first cut to 4 KiB with %d bytes marked dropped, and the next intact", ls, cut, long-4<<10)
	}
}
