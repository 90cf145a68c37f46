package logs_test

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/logs"
)

var wpNow = time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)

// waypointPane follows the demo waypoint's Envoy through the same Opener
// the ztunnel logs use, until the history has arrived.
func waypointPane(t *testing.T, target func([]*corev1.Pod) logs.Target) logs.Model {
	t.Helper()
	objs := demo.Objects(wpNow)
	sim := demo.ZtunnelLogs(objs.Pods).WithServices(objs.Services)
	sim.Now = func() time.Time { return wpNow }
	sim.Interval = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	m, cmd := logs.Open(ctx, theme.Plain, target(objs.Pods), sim, logs.Options{SaveDir: t.TempDir(),
		Stream: logstream.Options{TailLines: 60, BatchInterval: time.Millisecond}})
	t.Cleanup(m.Close)
	m = m.SetSize(150, 16)
	lines := 0
	for deadline := time.Now().Add(10 * time.Second); lines < 61 && time.Now().Before(deadline); {
		msg := cmd()
		b, ok := msg.(logs.BatchMsg)
		if !ok {
			t.Fatalf("stream ended: %T", msg)
		}
		for _, e := range b.Entries {
			if e.Kind == logstream.KindLine {
				lines++
			}
		}
		m, cmd = m.Update(msg)
	}
	return m
}

// l on a waypoint: its Envoy's access lines parsed into columns (code,
// client pod, Service, bytes, duration, request), the policy denial
// explained, and code:/method: terms filtering on the parsed fields.
func TestWaypointAccessLogPane(t *testing.T) {
	m := waypointPane(t, func(pods []*corev1.Pod) logs.Target { return logs.WaypointTarget("ambient-apps", "waypoint", pods) })
	v := m.View(150, 16)
	for _, want := range []string{"waypoint logs · ambient-apps/waypoint · waypoint-", "200", "wp", "ambient-apps/sleep-", "httpbin.ambient-apps", "GET /get"} {
		if !strings.Contains(v, want) {
			t.Fatalf("pane lacks %q:\n%s", want, v)
		}
	}
	golden.RequireEqual(t, v)

	m, _ = press(m, "/", "c", "o", "d", "e", ":", "4", "x", "x", "enter")
	v = m.View(150, 16)
	rows := 0
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, " wp ") {
			rows++
			if !strings.Contains(l, " 403 ") || !strings.Contains(l, "POST /post rbac_access_denied_matched_policy[none]") {
				t.Errorf("code:4xx shows %q", l)
			}
		}
	}
	if rows == 0 {
		t.Fatalf("code:4xx shows no line:\n%s", v)
	}
	// The newest 403 selected: the hint says who refused it.
	m, _ = press(m, "space")
	if v := m.View(150, 16); !strings.Contains(v, "▲ denied by the waypoint: ALLOW policies apply and none matched") {
		t.Fatalf("no hint on the denied request:\n%s", v)
	}
	m, _ = press(m, "/", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace",
		"m", "e", "t", "h", "o", "d", ":", "g", "e", "t", "enter")
	for _, l := range strings.Split(m.View(150, 16), "\n") {
		if strings.Contains(l, " wp ") && !strings.Contains(l, " GET /") {
			t.Errorf("method:get shows %q", l)
		}
	}
}

// A pod behind the waypoint: the waypoint's lines about it (forwarded to
// its address, or for its Service) are kept, another Service's are not.
func TestWaypointLinesAboutAPod(t *testing.T) {
	httpbin := "[2026-11-22T10:00:00.000Z] \"GET /get HTTP/1.1\" 200 - via_upstream - \"-\" 0 300 3 2 \"-\" \"curl/8.11.1\" \"a\" \"httpbin:8000\" \"envoy://connect_originate/10.244.1.20:8080\" inbound-vip|8000|http|httpbin.ambient-apps.svc.cluster.local envoy://internal_client_address/ 10.96.0.50:8000 10.244.2.30:40000 - default"
	other := "[2026-11-22T10:00:00.100Z] \"GET / HTTP/1.1\" 200 - via_upstream - \"-\" 0 300 3 2 \"-\" \"curl/8.11.1\" \"b\" \"web:80\" \"envoy://connect_originate/10.244.1.99:80\" inbound-vip|80|http|web.ambient-apps.svc.cluster.local envoy://internal_client_address/ 10.96.0.51:80 10.244.2.30:40001 - default"
	envoy := func(raw string) logstream.Entry {
		e := accesslog.Parse(raw)
		return logstream.Entry{Kind: logstream.KindLine, Pod: "waypoint-x", Node: "n3", Envoy: &e, At: e.Time}
	}
	byIP := logs.Target{Title: "ambient-apps/httpbin-1", Namespace: "ambient-apps", IPs: []string{"10.244.1.20"}}
	bySvc := logs.Target{Title: "ambient-apps/httpbin-1", Namespace: "ambient-apps", Services: []string{"httpbin"}}
	for name, tg := range map[string]logs.Target{"by address": byIP, "by Service": bySvc} {
		m := logs.New(theme.Plain, tg, nil, logs.Options{}).SetSize(150, 10).Ingest([]logstream.Entry{envoy(httpbin), envoy(other)})
		v := m.View(150, 10)
		if !strings.Contains(v, "httpbin.ambient-apps") || strings.Contains(v, "web.ambient-apps") {
			t.Errorf("%s: lines about httpbin:\n%s", name, v)
		}
	}
}

// A hostile access line (escape sequences in the path, the user agent
// and the authority) draws no control character on the terminal.
func TestWaypointHostileLine(t *testing.T) {
	esc := "\x1b]8;;http://x\x07\x1b[2J\u202e"
	raw := "[2026-11-22T10:00:00.000Z] \"GET /" + esc + " HTTP/1.1\" 403 - rbac_access_denied_matched_policy[ns[" + esc + "]-policy[p]-rule[0]] - \"-\" 0 19 0 - \"-\" \"" + esc + "\" \"id\" \"h" + esc + ":80\" \"-\" inbound-vip|80|http|web.x" + esc + ".svc.cluster.local - 10.96.0.51:80 10.244.2.30:40001 - default"
	e := accesslog.Parse(raw)
	en := logstream.Entry{Kind: logstream.KindLine, Pod: "waypoint-x", Envoy: &e, At: e.Time}
	en.Line.Raw = raw
	m := logs.New(theme.Plain, logs.Target{Waypoint: "x/wp", Title: "x/wp"}, nil, logs.Options{}).SetSize(150, 8).Ingest([]logstream.Entry{en})
	m, _ = press(m, "space")
	v := m.View(150, 8)
	if strings.ContainsAny(v, "\x1b\x07\u202e") {
		t.Fatalf("control characters on screen: %q", v)
	}
	if !strings.Contains(v, "403") || !strings.Contains(v, "denied by the waypoint's AuthorizationPolicy") {
		t.Fatalf("hostile line not drawn:\n%s", v)
	}
}
