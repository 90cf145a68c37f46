package kube

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// silent accepts connections and never answers, like a blackholed proxy.
func silent(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	return l.Addr().String()
}

func kubeconfig(t *testing.T, server, user string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config")
	cfg := "apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n  cluster:\n    server: " + server +
		"\ncontexts:\n- name: c\n  context:\n    cluster: c\n    user: u\nusers:\n- name: u\n  user:\n" + user
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSilentServerTimesOutWithAClearMessage(t *testing.T) {
	addr := silent(t)
	c, err := Connect(ConnectOptions{Kubeconfig: kubeconfig(t, "http://"+addr, "    token: x\n"), Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = c.Kube.CoreV1().Namespaces().List(context.Background(), metav1.ListOptions{})
	if err == nil || !strings.Contains(err.Error(), "no answer from the API server http://"+addr+" within 300ms") {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("took %v", d)
	}
}

// Only the wait for the headers is bounded: a body that streams longer
// than the timeout (a watch) is read to its end.
func TestAnswerTimeoutLetsBodiesStream(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The body is released only once the answer timeout has long passed
	// since the headers came: a timeout that also cut bodies would fail
	// the read, however slow the machine is.
	release := make(chan struct{})
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "late")
	})}
	go srv.Serve(l)
	defer srv.Close()
	const d = time.Second
	rt := answerTimeout{rt: http.DefaultTransport, d: d, host: "x"}
	req, _ := http.NewRequest("GET", "http://"+l.Addr().String(), nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		close(release)
		t.Fatal(err)
	}
	time.AfterFunc(d+d/2, func() { close(release) })
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || string(b) != "late" {
		t.Errorf("body %q, %v", b, err)
	}
}

func TestCredentialPluginGetsNoTerminal(t *testing.T) {
	conn, err := Resolve(ConnectOptions{Kubeconfig: kubeconfig(t, "https://127.0.0.1:1",
		"    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /usr/local/bin/gke-gcloud-auth-plugin\n      interactiveMode: IfAvailable\n")})
	if err != nil {
		t.Fatal(err)
	}
	e := conn.Config.ExecProvider
	if e == nil || !e.StdinUnavailable || len(conn.Plugins) != 1 || conn.Plugins[0] != "/usr/local/bin/gke-gcloud-auth-plugin" {
		t.Fatalf("exec %+v, plugins %v", e, conn.Plugins)
	}
}

// A hung plugin (here a sleep this test started) is ended on quit; another
// child of the process is left alone.
func TestStopPluginsEndsOnlyThePlugin(t *testing.T) {
	plugin := exec.Command("sleep", "60")
	if err := plugin.Start(); err != nil {
		t.Skip("no sleep:", err)
	}
	other := exec.Command("sleep", "61")
	other.Args[0] = "not-the-plugin"
	other.Path, _ = exec.LookPath("sleep")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	otherDone := make(chan error, 1)
	go func() { otherDone <- other.Wait() }()
	defer other.Process.Kill()
	done := make(chan error, 1)
	go func() { done <- plugin.Wait() }()
	if n := StopPlugins([]string{"/usr/bin/sleep"}); n != 1 {
		t.Errorf("stopped %d processes, want 1", n)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Error("the plugin exited normally")
		}
	case <-time.After(5 * time.Second):
		plugin.Process.Kill()
		t.Fatal("the plugin is still running")
	}
	select {
	case <-otherDone:
		t.Error("a child that is not the plugin was ended")
	case <-time.After(200 * time.Millisecond):
	}
	if ppidOf("123 (a) b) S 456 1 2") != 456 || ppidOf("garbage") != -1 {
		t.Error("ppidOf")
	}
}

// countingBody is a response body that counts the reads it serves.
type countingBody struct {
	r     io.Reader
	reads int
}

func (b *countingBody) Read(p []byte) (int, error) { b.reads++; return b.r.Read(p) }
func (b *countingBody) Close() error               { return nil }

type bodyTransport struct{ body io.ReadCloser }

func (t bodyTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: 200, Body: t.body}, nil
}

// A body read frame by frame, as client-go's watch decoder does, costs
// the connection a read per bodyBuffer, not two per frame: each HTTP/2
// read of 4 KB or more is a flow-control write back to the API server.
// A frame that has arrived is still returned at once, without waiting
// for the buffer to fill.
func TestBodiesAreReadFromTheConnectionInLargeReads(t *testing.T) {
	const frames, size = 2000, 2000
	var stream strings.Builder
	for range frames {
		stream.WriteString("len:")
		stream.WriteString(strings.Repeat("p", size))
	}
	body := &countingBody{r: strings.NewReader(stream.String())}
	rt := answerTimeout{rt: bodyTransport{body}, d: time.Second, host: "x"}
	req, _ := http.NewRequest("GET", "http://x", nil)
	resp, err := rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	head, frame := make([]byte, 4), make([]byte, size)
	for i := range frames {
		if _, err := io.ReadFull(resp.Body, head); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if _, err := io.ReadFull(resp.Body, frame); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	resp.Body.Close()
	if want := stream.Len()/bodyBuffer + 2; body.reads > want {
		t.Errorf("%d frames of %d bytes took %d reads of the connection, want at most %d", frames, size, body.reads, want)
	}

	pr, pw := io.Pipe()
	rt = answerTimeout{rt: bodyTransport{pr}, d: time.Second, host: "x"}
	resp, err = rt.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	go pw.Write([]byte("one event"))
	got := make(chan string, 1)
	go func() {
		b := make([]byte, 100)
		n, _ := resp.Body.Read(b)
		got <- string(b[:n])
	}()
	select {
	case s := <-got:
		if s != "one event" {
			t.Errorf("read %q, want the event written", s)
		}
	case <-time.After(5 * time.Second):
		t.Error("a read waited for more than the event that had arrived")
	}
	pw.Close()
}
