package logstream_test

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/accesslog"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/ztlog"
)

// stringOpener serves one fixed log per pod and then ends it.
type stringOpener map[string]string

func (o stringOpener) Open(ctx context.Context, ns, pod, container string, tail int64, follow bool) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(o[pod])), nil
}

// A waypoint's pods join the plan with the container Envoy logs to; a
// waypoint without pods is named, not silently skipped.
func TestPlanWithWaypoints(t *testing.T) {
	wp := func(ns, name, gw, node string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{
			logstream.WaypointGatewayLabel: gw, logstream.WaypointManagedLabel: logstream.WaypointManagedValue}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "istio-proxy"}}}}
	}
	all := []*corev1.Pod{wp("shop", "waypoint-b", "waypoint", "n2"), wp("shop", "waypoint-a", "waypoint", "n1"), wp("other", "waypoint-c", "waypoint", "n1")}
	p := logstream.Plan{}.WithWaypoints([]string{"shop/waypoint", "shop/gone", "shop/waypoint"}, all)
	if len(p.Targets) != 2 || p.Targets[0].Pod != "waypoint-a" || p.Targets[1].Pod != "waypoint-b" ||
		p.Targets[0].Waypoint != "shop/waypoint" || p.Targets[0].Container != "istio-proxy" {
		t.Fatalf("targets = %+v", p.Targets)
	}
	if len(p.NoPods) != 1 || p.NoPods[0] != "shop/gone" {
		t.Fatalf("NoPods = %v", p.NoPods)
	}
}

// A waypoint target's lines are read as Envoy's access log; its
// pilot-agent lines stay ordinary log lines.
func TestWaypointLinesAreAccessLog(t *testing.T) {
	access := `[2025-04-01T07:36:47.565Z] "GET /get HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "-" "curl/8.12.1" "cd38" "httpbin:8000" "-" inbound-vip|8000|http|httpbin.default.svc.cluster.local - 10.96.81.28:8000 10.244.1.16:37736 - default`
	agent := "2025-04-01T07:36:40.000000Z\tinfo\tEnvoy proxy is ready"
	plan := logstream.Plan{Targets: []logstream.Target{{Namespace: "shop", Pod: "waypoint-a", Container: "istio-proxy", Node: "n1", Waypoint: "shop/waypoint"}}}
	s := logstream.Start(context.Background(), stringOpener{"waypoint-a": agent + "\n" + access + "\n"}, plan, logstream.Options{BatchInterval: time.Millisecond, BackoffMin: time.Hour})
	defer s.Close()
	var lines []logstream.Entry
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(lines) < 2 {
		b, ok := s.Next(ctx)
		if !ok {
			t.Fatalf("stream ended with %d lines", len(lines))
		}
		for _, e := range b.Entries {
			if e.Kind == logstream.KindLine {
				lines = append(lines, e)
			}
		}
	}
	if lines[0].Envoy != nil || lines[0].Line.Raw != agent || lines[0].Line.Level != ztlog.LevelInfo {
		t.Errorf("pilot-agent line: envoy %v, line %+v", lines[0].Envoy, lines[0].Line)
	}
	e := lines[1].Envoy
	if e == nil || e.Format != accesslog.FormatText || e.Code != 503 || e.Flags != "UH" || lines[1].Line.Level != ztlog.LevelError || lines[1].Line.Raw != access {
		t.Fatalf("access line: %+v (level %v)", e, lines[1].Line.Level)
	}
	if !lines[1].At.Equal(time.Date(2025, 4, 1, 7, 36, 47, 565e6, time.UTC)) {
		t.Errorf("ordered at %v", lines[1].At)
	}
}
