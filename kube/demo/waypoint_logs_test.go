package demo

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/logstream"
)

// The demo's waypoint writes Envoy's access log in Istio's default TEXT
// format: sleep's calls to httpbin's VIP, forwarded over HBONE to the
// httpbin pod, and the POSTs the waypoint's policy refuses with 403.
func TestWaypointAccessLog(t *testing.T) {
	objs := Objects(ztNow)
	z := ZtunnelLogs(objs.Pods).WithServices(objs.Services)
	z.Now = func() time.Time { return ztNow }
	ip := map[string]string{}
	vip := ""
	for _, p := range objs.Pods {
		ip[p.Status.PodIP] = p.Namespace + "/" + p.Name
	}
	for _, s := range objs.Services {
		if s.Namespace == "ambient-apps" && s.Name == "httpbin" {
			vip = s.Spec.ClusterIP
		}
	}
	plan := logstream.Plan{}.WithWaypoints([]string{"ambient-apps/waypoint"}, objs.Pods)
	if len(plan.Targets) != 1 {
		t.Fatalf("waypoint pods: %+v", plan)
	}
	tg := plan.Targets[0]
	rc, err := z.Open(context.Background(), tg.Namespace, tg.Pod, tg.Container, 300, false)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 301 || accesslog.Parse(lines[0]).Format != accesslog.FormatUnknown {
		t.Fatalf("%d lines, first %q", len(lines), lines[0])
	}
	codes := map[int]int{}
	for _, l := range lines[1:] {
		e := accesslog.Parse(l)
		if e.Format != accesslog.FormatText || e.Service() != "httpbin.ambient-apps" || e.DownstreamLocal != vip+":8000" {
			t.Fatalf("line %q parsed as %+v", l, e)
		}
		client, _ := e.ClientIP()
		if !strings.HasPrefix(ip[client.String()], "ambient-apps/sleep-") {
			t.Fatalf("client %v is not sleep: %q", client, l)
		}
		codes[e.Code]++
		switch e.Code {
		case 200:
			up, _ := e.UpstreamIP()
			if !strings.HasPrefix(ip[up.String()], "ambient-apps/httpbin-") {
				t.Fatalf("upstream %v is not httpbin: %q", up, l)
			}
		case 403:
			if e.Method != "POST" || !strings.Contains(e.Hint(), "none matched") {
				t.Fatalf("403 line: %+v", e)
			}
		default:
			t.Fatalf("unexpected code in %q", l)
		}
	}
	if codes[200] == 0 || codes[403] == 0 || codes[403] > codes[200] {
		t.Fatalf("codes %v", codes)
	}
}
