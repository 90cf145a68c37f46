package traffic_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/ztread"
	zt "github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/traffic"
)

// poller scrapes the demo's ztunnels at the clock *at, as the root's
// poller scrapes real ones.
func poller(at *time.Time, fail error) traffic.Poller {
	z := &demo.Ztunnel{Now: func() time.Time { return *at }}
	return func(pods []ztread.Pod) func() []traffic.Result {
		return func() []traffic.Result {
			var out []traffic.Result
			for _, p := range pods {
				if fail != nil {
					out = append(out, traffic.Result{Pod: p, Err: fail})
					continue
				}
				s, err := z.Metrics(context.Background(), p)
				out = append(out, traffic.Result{Pod: p, Scrape: s, Err: err})
			}
			return out
		}
	}
}

// run opens the view and delivers two polls 5 s apart, as the runtime
// would run its commands: rates need two reads.
func run(t *testing.T, fail error) traffic.Model {
	t.Helper()
	at := demo.Epoch
	m, cmd := traffic.Open(theme.Plain, demo.Homelab(), poller(&at, fail), 1, at)
	m = m.SetSize(140, 20)
	m, _ = m.Update(cmd())
	if _, early := m.Tick(at.Add(traffic.Period / 2)); early != nil {
		t.Fatal("polled again before the period passed")
	}
	at = at.Add(traffic.Period)
	m, cmd = m.Tick(at)
	if cmd == nil {
		if fail != nil {
			return m // failures back the period off
		}
		t.Fatal("no poll after the period")
	}
	m, _ = m.Update(cmd())
	return m
}

// The demo's live edges show with rates, mTLS, and the NetworkPolicy
// verdict of the HBONE connection under them: promtail → loki is cut by
// loki's NetworkPolicy, as ztunnel's NETWORK_POLICY flag says too.
func TestTrafficDemo(t *testing.T) {
	m := run(t, nil)
	v := m.View(140, 20)
	var promtail string
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "loki/promtail") {
			promtail = l
		}
	}
	if !strings.Contains(promtail, "NETWORK_POLICY") || !strings.Contains(promtail, "denied") {
		t.Fatalf("promtail → loki edge should be flagged and denied:\n%s", v)
	}
	if !strings.Contains(v, "default/grafana") || !strings.Contains(v, "allowed") {
		t.Fatalf("grafana → prometheus should be a live allowed edge:\n%s", v)
	}
	golden.RequireEqual(t, v)
}

// With no metrics readable the view says why, not "no traffic".
func TestTrafficUnreadable(t *testing.T) {
	m := run(t, errors.New("forbidden: ambx needs get on pods/proxy"))
	v := m.View(120, 8)
	if !strings.Contains(v, "Could not read ztunnel metrics") || !strings.Contains(v, "pods/proxy") {
		t.Fatalf("unreadable metrics:\n%s", v)
	}
	if len(m.Rates()) != 0 {
		t.Fatal("rates from failed reads")
	}
}

// A late scrape of a view closed earlier is not taken for this one's.
func TestTrafficDropsAnotherViewsScrape(t *testing.T) {
	at := demo.Epoch
	old, oldCmd := traffic.Open(theme.Plain, demo.Homelab(), poller(&at, nil), 7, at)
	_ = old
	m, _ := traffic.Open(theme.Plain, demo.Homelab(), poller(&at, nil), 8, at)
	m, _ = m.Update(oldCmd())
	if strings.Contains(m.View(120, 8), "No traffic since") {
		t.Fatal("another view's scrape was taken as this view's")
	}
	var _ tea.Msg
}

// Each edge carries ztunnel's AuthorizationPolicy verdict at its
// destination: calls to argo's server are denied, since argo-server-api's
// HTTP rules were dropped for ztunnel (planted mistake 3), which is the
// DENY ztunnel flagged; the rest are allowed, no policy applying.
func TestTrafficAuthzVerdicts(t *testing.T) {
	m := run(t, nil)
	v := m.View(320, 14)
	for _, l := range strings.Split(v, "\n") {
		switch {
		case strings.Contains(l, "argo-workflows-server.argo-workflows"):
			if !strings.Contains(l, "DENY") || !strings.Contains(l, "denied: allow policies exist, but none allowed") {
				t.Errorf("argo server edge lacks ztunnel's deny verdict: %q", l)
			}
		case strings.Contains(l, "ambient-apps/sleep ") && strings.Contains(l, "ambient-apps/waypoint"):
			// Into the waypoint: httpbin-l7's HTTP rules decide there.
			if !strings.Contains(l, "? at waypoint ambient-apps/waypoint: allowed by ambient-apps/httpbin-l7") {
				t.Errorf("sleep → waypoint edge lacks the waypoint's verdict: %q", l)
			}
		case strings.Contains(l, "ambient-apps/waypoint ") && strings.Contains(l, "ambient-apps/httpbin"):
			// Out of it: httpbin's ztunnel judges the waypoint's identity.
			if !strings.Contains(l, "allowed by ambient-apps/httpbin-allow-sleep") {
				t.Errorf("waypoint → httpbin edge lacks ztunnel's verdict on the waypoint: %q", l)
			}
		case strings.Contains(l, "default/grafana ") && strings.Contains(l, "default/prometheus"):
			if !strings.HasSuffix(strings.TrimRight(strings.TrimSuffix(l, "|"), " "), "allowed") {
				t.Errorf("grafana → prometheus should be allowed by ztunnel: %q", l)
			}
		}
	}
	golden.RequireEqual(t, v)
}

// The waypoints' L7 section: each waypoint's istio_requests_total as rates
// by source, service and response code, below the ztunnel edges; a
// waypoint whose metrics cannot be read says why.
func TestTrafficWaypointL7(t *testing.T) {
	at := demo.Epoch
	z := &demo.Ztunnel{Now: func() time.Time { return at }}
	var fail error
	wpoll := func(pods []ztread.Pod) func() []traffic.WaypointResult {
		return func() []traffic.WaypointResult {
			var out []traffic.WaypointResult
			for _, p := range pods {
				if fail != nil {
					out = append(out, traffic.WaypointResult{Pod: p, Err: fail})
					continue
				}
				s, err := z.WaypointRequests(context.Background(), p)
				out = append(out, traffic.WaypointResult{Pod: p, Scrape: s, Err: err})
			}
			return out
		}
	}
	m, cmd := traffic.OpenL7(theme.Plain, demo.Homelab(), poller(&at, nil), wpoll, 1, at)
	m = m.SetSize(140, 24)
	m, _ = m.Update(cmd())
	at = at.Add(traffic.Period)
	m, cmd = m.Tick(at)
	m, _ = m.Update(cmd())
	v := m.View(140, 24)
	for _, want := range []string{"Waypoint L7 (istio_requests_total)", "ambient-apps/waypoint", "ambient-apps/sleep", "403", "2.00", "0.25"} {
		if !strings.Contains(v, want) {
			t.Errorf("L7 section lacks %q:\n%s", want, v)
		}
	}
	golden.RequireEqual(t, v)

	fail = errors.New("forbidden: ambx needs get on pods/proxy")
	at = at.Add(traffic.Period)
	m, cmd = m.Tick(at)
	m, _ = m.Update(cmd())
	if v := m.View(140, 24); !strings.Contains(v, "Could not read waypoint metrics") {
		t.Errorf("unreadable waypoints not said:\n%s", v)
	}
}

// Behind a waypoint the verdict has two hops (reference 2.2): the
// waypoint judges the client by httpbin-l7 (targetRefs Service httpbin,
// HTTP rules the metrics cannot answer for sleep, a principal the rogue
// client is not), and httpbin's ztunnel judges the waypoint's identity
// by httpbin-allow-sleep, which names it. The waypoint's own hop into
// httpbin, which only httpbin's ztunnel reports, is judged on the
// waypoint's identity.
func TestTrafficAuthzBehindWaypoint(t *testing.T) {
	at := demo.Epoch
	const svc = "httpbin.ambient-apps.svc.cluster.local"
	edges := []zt.Edge{
		{Reporter: "source", SrcNamespace: "ambient-apps", SrcWorkload: "sleep", SrcPrincipal: "spiffe://cluster.local/ns/ambient-apps/sa/sleep",
			DstNamespace: "ambient-apps", DstWorkload: "waypoint", DstService: svc, Security: "mutual_tls", Flags: "-"},
		{Reporter: "source", SrcNamespace: "ambient-apps", SrcWorkload: "rogue-client", SrcPrincipal: "spiffe://cluster.local/ns/ambient-apps/sa/rogue-client",
			DstNamespace: "ambient-apps", DstWorkload: "waypoint", DstService: svc, Security: "mutual_tls", Flags: "-"},
		{Reporter: "destination", SrcNamespace: "ambient-apps", SrcWorkload: "waypoint", SrcPrincipal: "spiffe://cluster.local/ns/ambient-apps/sa/waypoint",
			DstNamespace: "ambient-apps", DstWorkload: "httpbin", DstService: svc, Security: "mutual_tls", Flags: "-"},
	}
	poll := func(pods []ztread.Pod) func() []traffic.Result {
		return func() []traffic.Result {
			s := &zt.Scrape{At: at, Edges: map[zt.Edge]zt.Counters{}}
			n := float64(at.Sub(demo.Epoch) / time.Second)
			for i, e := range edges {
				s.Edges[e] = zt.Counters{Opened: n * float64(i+1), Sent: 100 * n}
			}
			return []traffic.Result{{Pod: pods[0], Scrape: s}}
		}
	}
	m, cmd := traffic.Open(theme.Plain, demo.Homelab(), poll, 1, at)
	m, _ = m.Update(cmd())
	at = at.Add(traffic.Period)
	m, cmd = m.Tick(at)
	m, _ = m.Update(cmd())
	v := m.View(400, 8)
	want := map[string]string{
		"ambient-apps/sleep":        "? at waypoint ambient-apps/waypoint: allowed by ambient-apps/httpbin-l7 for some requests only (HTTP rules)",
		"ambient-apps/rogue-client": "denied at waypoint ambient-apps/waypoint: no ALLOW policy at the waypoint matches this client",
		"ambient-apps/waypoint":     "allowed by ambient-apps/httpbin-allow-sleep",
	}
	for _, l := range strings.Split(v, "\n") {
		src := strings.Fields(strings.TrimPrefix(strings.TrimSpace(l), "▸"))
		if len(src) == 0 {
			continue
		}
		if w, ok := want[src[0]]; ok {
			if !strings.HasSuffix(strings.TrimSpace(l), w) {
				t.Errorf("%s edge: %q\nwant it to end in %q", src[0], l, w)
			}
			delete(want, src[0])
		}
	}
	for src := range want {
		t.Errorf("no edge from %s on screen:\n%s", src, v)
	}
}
