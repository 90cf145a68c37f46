package logs_test

import (
	"context"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/ztlog"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/logs"
)

// The pane is opened on loki/promtail, which runs on two nodes; loki-0 (on
// homelab-w2) has a NetworkPolicy that drops HBONE.
var promtail = logs.Target{
	Title:     "loki/promtail",
	Namespace: "loki",
	Pods:      []string{"promtail-d7454", "promtail-57c88"},
	IPs:       []string{"10.244.2.16", "10.244.4.16"},
	Workloads: []string{"promtail"},
	Plan: logstream.Plan{Targets: []logstream.Target{
		{Namespace: "istio-system", Pod: "ztunnel-54cb5", Container: "istio-proxy", Node: "homelab-w2"},
		{Namespace: "istio-system", Pod: "ztunnel-bc5d7", Container: "istio-proxy", Node: "homelab-w4"},
	}},
}

const (
	timeout = "2026-11-22T10:00:01.100000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.4.16:48891 src.workload=\"promtail-57c88\" src.namespace=\"loki\" src.identity=\"spiffe://cluster.local/ns/loki/sa/promtail\" dst.addr=10.244.2.12:15008 dst.hbone_addr=10.244.2.12:3100 dst.service=\"loki.loki.svc.cluster.local\" dst.workload=\"loki-0\" dst.namespace=\"loki\" dst.identity=\"spiffe://cluster.local/ns/loki/sa/loki\" direction=\"outbound\" bytes_sent=0 bytes_recv=0 duration=\"10002ms\" error=\"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed\""
	canary  = "2026-11-22T10:00:01.200000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.4.15:37481 src.workload=\"loki-canary-f9958\" src.namespace=\"loki\" src.identity=\"spiffe://cluster.local/ns/loki/sa/loki-canary\" dst.addr=10.244.3.15:15008 dst.hbone_addr=10.244.3.15:80 dst.service=\"loki-gateway.loki.svc.cluster.local\" dst.workload=\"loki-gateway-5b4f95589c-68dc5\" dst.namespace=\"loki\" direction=\"outbound\" bytes_sent=1234 bytes_recv=56789 duration=\"12ms\""
	xds     = "2026-11-22T10:00:01.300000Z\twarn\txds::client:xds{id=3}\tXDS client connection error: gRPC connection error connecting to https://istiod.istio-system.svc:15012: status: Unknown, retrying in 80ms"
	started = "2026-11-22T10:00:01.400000Z\tinfo\tinpod::statemanager\tpod received, starting proxy\tuid=\"3336f814\" name=\"promtail-d7454\" namespace=\"loki\""
	denied  = "2026-11-22T10:00:01.500000Z\terror\taccess\tconnection complete\tsrc.addr=10.244.4.22:45841 src.workload=\"rogue-client-7c86bfcdd9-89fd9\" src.namespace=\"ambient-apps\" dst.addr=10.244.2.16:9080 dst.hbone_addr=10.244.2.16:9080 dst.workload=\"promtail-d7454\" dst.namespace=\"loki\" direction=\"inbound\" bytes_sent=0 bytes_recv=0 duration=\"0ms\" error=\"connection closed due to policy rejection: explicitly denied by: loki/deny-rogue\""
	ok      = "2026-11-22T10:00:01.600000Z\tinfo\taccess\tconnection complete\tsrc.addr=10.244.2.16:39875 src.workload=\"promtail-d7454\" src.namespace=\"loki\" src.identity=\"spiffe://cluster.local/ns/loki/sa/promtail\" dst.addr=10.244.3.15:15008 dst.hbone_addr=10.244.3.15:80 dst.service=\"loki-gateway.loki.svc.cluster.local\" dst.workload=\"loki-gateway-5b4f95589c-68dc5\" dst.namespace=\"loki\" direction=\"outbound\" bytes_sent=204800 bytes_recv=310 duration=\"3ms\""
)

func entry(node, raw string) logstream.Entry {
	l := ztlog.Parse(raw)
	return logstream.Entry{Kind: logstream.KindLine, Pod: "ztunnel-" + node, Node: node, Line: l, At: l.Time}
}

func note(text string) logstream.Entry {
	return logstream.Entry{Kind: logstream.KindStatus, Text: text}
}

func fixture() []logstream.Entry {
	return []logstream.Entry{
		note("following istio-system/ztunnel-54cb5 on node homelab-w2"),
		entry("homelab-w4", timeout),
		entry("homelab-w4", canary),
		entry("homelab-w2", xds),
		entry("homelab-w2", started),
		entry("homelab-w2", denied),
		entry("homelab-w2", ok),
	}
}

func pane(t testing.TB, opt logs.Options) logs.Model {
	t.Helper()
	if opt.SaveDir == "" {
		opt.SaveDir = t.TempDir()
	}
	opt.Now = func() time.Time { return time.Date(2026, 11, 22, 10, 5, 0, 0, time.UTC) }
	return logs.New(theme.Plain, promtail, nil, opt).SetSize(120, 14).Ingest(fixture())
}

func press(m logs.Model, keys ...string) (logs.Model, []tea.Msg) {
	var msgs []tea.Msg
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "space":
			msg = tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "backspace":
			msg = tea.KeyPressMsg{Code: tea.KeyBackspace}
		case "up":
			msg = tea.KeyPressMsg{Code: tea.KeyUp}
		default:
			r := []rune(k)[0]
			msg = tea.KeyPressMsg{Code: r, Text: k}
		}
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		if cmd != nil {
			msgs = append(msgs, cmd())
		}
	}
	return m, msgs
}

func TestViewFollowingOnlyTarget(t *testing.T) {
	golden.RequireEqual(t, pane(t, logs.Options{}).View(120, 14))
}

func TestViewAllLines(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "f")
	golden.RequireEqual(t, m.View(120, 14))
}

func TestViewNarrow(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "f")
	golden.RequireEqual(t, m.View(80, 12))
}

func TestViewTinySizesDoNotPanic(t *testing.T) {
	m := pane(t, logs.Options{})
	for _, s := range [][2]int{{0, 0}, {1, 1}, {20, 5}, {10, 2}, {3, 3}, {200, 60}} {
		v := m.View(s[0], s[1])
		if got := strings.Count(v, "\n") + 1; v != "" && got > s[1] {
			t.Errorf("%dx%d drew %d lines", s[0], s[1], got)
		}
	}
}

func TestHBONETimeoutOffersPatch(t *testing.T) {
	// Pause, go to the top (the note on what is followed), then down to
	// the timeout line.
	m, _ := press(pane(t, logs.Options{}), "space", "g", "j")
	golden.RequireEqual(t, m.View(120, 14))
	_, msgs := press(m, "n")
	want := logs.PatchRequest{FromIP: "10.244.4.16", ToIP: "10.244.2.12", FromWorkload: "promtail-57c88",
		FromNamespace: "loki", ToWorkload: "loki-0", ToNamespace: "loki"}
	if len(msgs) != 1 || msgs[0] != want {
		t.Errorf("n on the HBONE timeout sent %#v, want %#v", msgs, want)
	}
}

func TestPatchOnlyForTimeouts(t *testing.T) {
	m, msgs := press(pane(t, logs.Options{}), "n") // following: the newest line, a success
	if len(msgs) != 0 {
		t.Errorf("n on a successful connection sent %v", msgs)
	}
	if v := m.View(120, 14); !strings.Contains(v, "not an HBONE timeout") {
		t.Errorf("no explanation why n did nothing:\n%s", v)
	}
}

func TestDeniedNamesPolicy(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "space", "up")
	golden.RequireEqual(t, m.View(120, 14))
	if v := m.View(120, 14); !strings.Contains(v, "denied by AuthorizationPolicy loki/deny-rogue") {
		t.Errorf("the denying policy is not named:\n%s", v)
	}
}

func TestFilterToggle(t *testing.T) {
	m := pane(t, logs.Options{})
	// About promtail: the note, its timeout, its enrollment, the rogue
	// client denied into it, and its success; not the canary nor xds.
	if v := m.View(120, 14); strings.Contains(v, "loki-canary") || strings.Contains(v, "XDS client") || !strings.Contains(v, "5/7 lines") {
		t.Errorf("filter on:\n%s", v)
	}
	m, _ = press(m, "f")
	if v := m.View(120, 14); !strings.Contains(v, "loki-canary") || !strings.Contains(v, "XDS client") || !strings.Contains(v, "7/7 lines") {
		t.Errorf("filter off:\n%s", v)
	}
}

func TestSearch(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "f", "/", "R", "o", "G", "u")
	if !m.Searching() {
		t.Fatal("the prompt lost the keyboard")
	}
	golden.RequireEqual(t, m.View(120, 14))
	m, _ = press(m, "enter")
	v := m.View(120, 14)
	if m.Searching() || !strings.Contains(v, "search: RoGu") || !strings.Contains(v, "1/7 lines") || !strings.Contains(v, "rogue-client") {
		t.Errorf("after enter:\n%s", v)
	}
	m, _ = press(m, "/", "x", "esc")
	if v := m.View(120, 14); !strings.Contains(v, "search: RoGu") || !strings.Contains(v, "1/7 lines") {
		t.Errorf("esc must restore the previous search:\n%s", v)
	}
	m, _ = press(m, "/", "backspace", "backspace", "backspace", "backspace", "enter")
	if v := m.View(120, 14); !strings.Contains(v, "7/7 lines") {
		t.Errorf("an emptied search shows everything:\n%s", v)
	}
	m, _ = press(m, "/", "z", "z", "z", "enter")
	if v := m.View(120, 14); !strings.Contains(v, `no line matches "zzz"`) {
		t.Errorf("no match:\n%s", v)
	}
}

func TestPauseKeepsViewAndCountsNewLines(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "f", "space")
	before := m.View(120, 8) // four rows: the newest four lines
	var more []logstream.Entry
	for i := range 3 {
		more = append(more, entry("homelab-w2", strings.Replace(ok, "10:00:01.6", fmt.Sprintf("10:00:02.%d", i), 1)))
	}
	m = m.Ingest(more)
	after := m.View(120, 8)
	if !strings.Contains(after, "PAUSED (3 new)") {
		t.Errorf("paused bar:\n%s", after)
	}
	if strings.Contains(after, "10:00:02") || rows(before) != rows(after) {
		t.Errorf("paused pane moved:\n%s\n---\n%s", before, after)
	}
	m, _ = press(m, "space")
	if v := m.View(120, 8); !strings.Contains(v, "10:00:02.200") || !strings.Contains(v, "following") {
		t.Errorf("resumed pane does not show the newest line:\n%s", v)
	}
}

// rows is the body of a view: without its title and bar.
func rows(v string) string {
	ls := strings.Split(v, "\n")
	return strings.Join(ls[2:len(ls)-2], "\n")
}

func TestWrap(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "w")
	golden.RequireEqual(t, m.View(100, 20))
	if v := m.View(100, 20); !strings.Contains(v, "15008: deadline has") || !strings.Contains(v, "elapsed") {
		t.Errorf("wrapped view still cuts the error:\n%s", v)
	}
}

func TestTimestampsToggle(t *testing.T) {
	m := pane(t, logs.Options{})
	if v := m.View(120, 14); !strings.Contains(v, "TIME") || !strings.Contains(v, "10:00:01.600") {
		t.Fatalf("timestamps are on by default:\n%s", v)
	}
	m, _ = press(m, "t")
	if v := m.View(120, 14); strings.Contains(v, "TIME") || strings.Contains(v, "10:00:01.600") {
		t.Errorf("t did not hide timestamps:\n%s", v)
	}
}

func TestSaveWritesShownLines(t *testing.T) {
	dir := t.TempDir()
	m, msgs := press(pane(t, logs.Options{SaveDir: dir}), "s")
	if len(msgs) != 1 {
		t.Fatalf("s returned %v", msgs)
	}
	saved, isSaved := msgs[0].(logs.SavedMsg)
	if !isSaved || saved.Err != nil || saved.Lines != 5 {
		t.Fatalf("save result %#v", msgs[0])
	}
	if want := dir + "/ambx-ztunnel-loki_promtail-20261122-100500.log"; saved.Path != want {
		t.Errorf("saved to %s, want %s", saved.Path, want)
	}
	b, err := os.ReadFile(saved.Path)
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join([]string{"# ambx: following istio-system/ztunnel-54cb5 on node homelab-w2", timeout, started, denied, ok}, "\n") + "\n"
	if string(b) != want {
		t.Errorf("file holds\n%s\nwant\n%s", b, want)
	}
	if st, err := os.Lstat(saved.Path); err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("saved file mode %v, %v; want 0600", st.Mode(), err)
	}
	// A second save in the same second, or over a planted file, makes a
	// new file instead of truncating the old one.
	_, msgs = press(pane(t, logs.Options{SaveDir: dir}), "s")
	if again := msgs[0].(logs.SavedMsg); again.Err != nil || again.Path == saved.Path || !strings.HasSuffix(again.Path, "-2.log") {
		t.Errorf("second save: %+v", again)
	}
	m, _ = m.Update(saved)
	if v := m.View(200, 14); !strings.Contains(v, "saved 5 lines to "+saved.Path) {
		t.Errorf("the path is not reported:\n%s", v)
	}
	m, _ = m.Update(logs.SavedMsg{Err: fmt.Errorf("disk full")})
	if v := m.View(200, 14); !strings.Contains(v, "save failed: disk full") {
		t.Errorf("a failed save is not reported:\n%s", v)
	}
}

func TestSaveFailureIsAMessage(t *testing.T) {
	_, msgs := press(pane(t, logs.Options{SaveDir: "/nonexistent/dir"}), "s")
	if s, isSaved := msgs[0].(logs.SavedMsg); !isSaved || s.Err == nil {
		t.Errorf("saving into a missing directory gave %#v", msgs[0])
	}
}

func TestMovement(t *testing.T) {
	m, _ := press(pane(t, logs.Options{}), "f", "g", "j") // top pauses on the oldest line
	if v := m.View(120, 14); !strings.Contains(v, "PAUSED") || !strings.Contains(v, "▲ HBONE connect timed out") {
		t.Errorf("g j:\n%s", v)
	}
	m, _ = press(m, "j")
	if v := m.View(120, 14); !strings.Contains(v, "loki/loki-canary-f9958 10.244.4.15:37481 → loki/loki-gateway-5b4f95589c-68dc5") {
		t.Errorf("j: the hint line shows the selected connection in full:\n%s", v)
	}
	m, _ = press(m, "G")
	if v := m.View(120, 14); !strings.Contains(v, "following") {
		t.Errorf("G resumes following:\n%s", v)
	}
}

func TestRingIsBounded(t *testing.T) {
	m := logs.New(theme.Plain, promtail, nil, logs.Options{Capacity: 100}).SetSize(120, 14)
	for i := range 50 {
		var batch []logstream.Entry
		for j := range 20 {
			batch = append(batch, entry("homelab-w2", strings.Replace(ok, "promtail-d7454", fmt.Sprintf("p-%d-%d", i, j), 1)))
		}
		m = m.Ingest(batch)
	}
	v := m.View(120, 14)
	if !strings.Contains(v, "100/100 lines") || !strings.Contains(v, "p-49-19") || strings.Contains(v, "p-0-0") {
		t.Errorf("after 1000 lines into a ring of 100:\n%s", v)
	}
}

func TestBatchesOfAnotherStreamAreIgnored(t *testing.T) {
	s := logstream.Start(context.Background(), nil, logstream.Plan{}, logstream.Options{})
	defer s.Close()
	m := logs.New(theme.Plain, promtail, s, logs.Options{}).SetSize(120, 14)
	m, cmd := m.Update(logs.BatchMsg{Batch: logstream.Batch{Stream: s.ID() + 1000, Entries: fixture()}})
	if cmd != nil || strings.Contains(m.View(120, 14), "loki-0") {
		t.Error("a stale stream's batch was shown")
	}
	m, cmd = m.Update(logs.BatchMsg{Batch: logstream.Batch{Stream: s.ID(), Entries: fixture()}})
	if cmd == nil || !strings.Contains(m.View(120, 14), "loki.loki") {
		t.Error("the pane's own batch was not shown, or it stopped waiting for the next")
	}
}

func TestOpenFollowsThroughOpener(t *testing.T) {
	op := fakeOpener{"ztunnel-54cb5": ok + "\n", "ztunnel-bc5d7": timeout + "\n"}
	m, cmd := logs.Open(context.Background(), theme.Plain, promtail, op, logs.Options{})
	defer m.Close()
	m = m.SetSize(120, 14)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		msg := cmd()
		m, cmd = m.Update(msg)
		v := m.View(120, 14)
		if strings.Contains(v, "10002ms") && strings.Contains(v, "204k/310") {
			return
		}
	}
	t.Errorf("lines of both ztunnels never showed:\n%s", m.View(120, 14))
}

// fakeOpener serves a fixed log per pod and then ends, as a pod whose
// log is not followed would.
type fakeOpener map[string]string

func (f fakeOpener) Open(ctx context.Context, ns, pod, container string, tail int64, follow bool) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(f[pod])), nil
}

func TestTargetFor(t *testing.T) {
	mk := func(ns, name, node, ip string, labels map[string]string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
			Spec:   corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "istio-proxy"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: ip}}
	}
	a := mk("loki", "promtail-a", "w1", "10.0.1.5", map[string]string{"app.kubernetes.io/name": "promtail"})
	b := mk("loki", "promtail-b", "w9", "10.0.9.5", map[string]string{"app.kubernetes.io/name": "promtail"})
	zt := mk("istio-system", "ztunnel-w1", "w1", "10.0.1.2", map[string]string{"app": "ztunnel"})
	got := logs.TargetFor("loki/promtail", "loki", false, []*corev1.Pod{a, b}, []*corev1.Pod{a, b, zt}, []string{"promtail"})
	want := logs.Target{Title: "loki/promtail", Namespace: "loki", Pods: []string{"promtail-a", "promtail-b"},
		IPs: []string{"10.0.1.5", "10.0.9.5"}, Workloads: []string{"promtail"}, Services: []string{"promtail"},
		Plan: logstream.Plan{Targets: []logstream.Target{{Namespace: "istio-system", Pod: "ztunnel-w1", Container: "istio-proxy", Node: "w1"}},
			Missing: []string{"w9"}}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// The pane says which node has no ztunnel.
	m := logs.New(theme.Plain, got, nil, logs.Options{})
	if v := m.View(120, 10); !strings.Contains(v, "w9 (no ztunnel)") {
		t.Errorf("title does not name the node without ztunnel:\n%s", v)
	}
}
