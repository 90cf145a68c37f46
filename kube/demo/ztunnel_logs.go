package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// ZtunnelLogSim is the demo cluster's proxy logs: each ztunnel pod writes
// the access lines of the connections its node's pods make and receive,
// including the HBONE timeouts of the loki and localstack NetworkPolicy
// mistakes and the rogue client's policy rejections in ambient-apps. It
// implements logstream.Opener, so the log pane reads it the way it reads a
// real cluster. Output is deterministic for a Seed apart from timestamps.
type ZtunnelLogSim struct {
	Seed     uint64
	Interval time.Duration    // mean gap between lines of one ztunnel (default 400ms)
	Now      func() time.Time // the clock the lines are stamped with (default time.Now)

	mu    sync.Mutex
	pods  []*corev1.Pod
	byApp map[string][]*corev1.Pod // "namespace/workload" → its pods
	vips  map[string]string        // "namespace/service" → cluster IP (WithServices)
}

// ZtunnelLogs returns the ztunnel log simulator over the demo's pods.
func ZtunnelLogs(pods []*corev1.Pod) *ZtunnelLogSim {
	z := &ZtunnelLogSim{Seed: 1, pods: pods, byApp: map[string][]*corev1.Pod{}}
	for _, p := range pods {
		if p.Status.PodIP == "" || p.Spec.NodeName == "" {
			continue
		}
		k := p.Namespace + "/" + ztWorkloadOf(p)
		z.byApp[k] = append(z.byApp[k], p)
	}
	return z
}

// ztWorkloadOf names a pod's workload from its owner, as ztunnel's canonical
// service would: the ReplicaSet's Deployment, or the StatefulSet/DaemonSet.
func ztWorkloadOf(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		switch o.Kind {
		case "ReplicaSet":
			if i := strings.LastIndexByte(o.Name, '-'); i > 0 {
				return o.Name[:i]
			}
			return o.Name
		case "StatefulSet", "DaemonSet", "Deployment", "Job":
			return o.Name
		}
	}
	return p.Name
}

// ztOutcome is how a simulated connection ends.
type ztOutcome uint8

const (
	ztOK       ztOutcome = iota
	ztTimedOut           // HBONE to 15008 dropped by a NetworkPolicy
	ztRejected           // an ALLOW policy exists for the destination and none matched
)

// ztFlow is a kind of connection the homelab makes all day.
type ztFlow struct {
	src, dst string // "namespace/workload"
	service  string // Service name in dst's namespace
	port     int
	end      ztOutcome
	weight   int
}

// ztFlows follow the demo cluster: the loki NetworkPolicy opens 3100 but not
// 15008, localstack admits 15008 only from istio-system, and httpbin's
// L4 policy admits sleep but not the rogue client.
var ztFlows = []ztFlow{
	{"loki/promtail", "loki/loki", "loki", 3100, ztTimedOut, 6},
	{"loki/loki-canary", "loki/loki-gateway", "loki-gateway", 80, ztOK, 3},
	{"loki/loki-gateway", "loki/loki", "loki", 3100, ztTimedOut, 2},
	{"default/grafana", "default/prometheus", "prometheus", 9090, ztOK, 3},
	{"default/grafana", "loki/loki-gateway", "loki-gateway", 80, ztOK, 2},
	{"default/prometheus", "default/alertmanager", "alertmanager", 9093, ztOK, 2},
	{"default/prometheus", "loki/loki", "loki", 3100, ztTimedOut, 1},
	{"default/prometheus", "trivy-system/trivy-operator", "trivy-operator", 8080, ztOK, 1},
	{"default/prometheus", "argo-workflows/argo-workflows-workflow-controller", "argo-workflows-workflow-controller", 9090, ztOK, 1},
	{"argo-workflows/argo-workflows-server", "argo-workflows/argo-workflows-workflow-controller", "argo-workflows-workflow-controller", 9090, ztOK, 1},
	{"argo-workflows/argo-workflows-workflow-controller", "localstack/localstack", "localstack", 4566, ztTimedOut, 1},
	{"example-worker/worker", "localstack/localstack", "localstack", 4566, ztTimedOut, 1},
	{"example-worker/worker", "example-api/example-api", "example-api", 9898, ztOK, 2},
	{"trivy-system/trivy-operator", "trivy-system/trivy-server", "trivy-server", 4954, ztOK, 1},
	{"unipoller/unpoller", "unipoller/influxdb", "influxdb", 8086, ztOK, 1},
	{"ambient-apps/sleep", "ambient-apps/httpbin", "httpbin", 8000, ztOK, 2},
	{"ambient-apps/rogue-client", "ambient-apps/httpbin", "httpbin", 8000, ztRejected, 2},
}

// ztEvent is one line a given ztunnel can write: a ztFlow between two pods,
// seen from one end.
type ztEvent struct {
	f        ztFlow
	src, dst *corev1.Pod
	outbound bool
	weight   int
}

func ztCaptured(p *corev1.Pod) bool {
	v, set := p.Annotations["ambient.istio.io/redirection"]
	return v == "enabled" || !set && p.Annotations == nil
}

// events lists what the ztunnel on node logs: the outbound end of ztFlows
// from its captured pods, and the inbound end of ztFlows to them (a timed
// out connection never arrives, so it has no inbound line).
func (z *ZtunnelLogSim) events(node string) []ztEvent {
	var out []ztEvent
	for _, f := range ztFlows {
		for _, s := range z.byApp[f.src] {
			for _, d := range z.byApp[f.dst] {
				if s.Spec.NodeName == node && ztCaptured(s) {
					out = append(out, ztEvent{f, s, d, true, f.weight})
				}
				if d.Spec.NodeName == node && ztCaptured(d) && f.end != ztTimedOut {
					out = append(out, ztEvent{f, s, d, false, f.weight})
				}
			}
		}
	}
	return out
}

var ztSelector = labels.SelectorFromSet(labels.Set{"app": "ztunnel"})

// Open streams a ztunnel pod's simulated log: tailLines lines of history
// (1,000 when negative), then, when following, a few lines a second until
// ctx ends or the reader is closed.
func (z *ZtunnelLogSim) Open(ctx context.Context, namespace, pod, container string, tailLines int64, follow bool) (io.ReadCloser, error) {
	var zt *corev1.Pod
	for _, p := range z.pods {
		if p.Namespace == namespace && p.Name == pod {
			zt = p
		}
	}
	if zt == nil {
		return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, pod)
	}
	if zt.Labels[labelGatewayName] != "" && zt.Labels[labelManaged] == meshController {
		return z.openWaypoint(ctx, zt, container, tailLines, follow)
	}
	if !ztSelector.Matches(labels.Set(zt.Labels)) {
		return nil, fmt.Errorf("the demo cluster simulates ztunnel and waypoint logs only; %s/%s is neither", namespace, pod)
	}
	if container != "" && container != "istio-proxy" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, pod))
	}
	now, every := time.Now, z.Interval
	if z.Now != nil {
		now = z.Now
	}
	if every <= 0 {
		every = 400 * time.Millisecond
	}
	h := fnv.New64a()
	h.Write([]byte(pod))
	g := &ztWriter{
		rng:    rand.New(rand.NewPCG(z.Seed, h.Sum64())),
		events: z.events(zt.Spec.NodeName),
	}
	for _, e := range g.events {
		g.total += e.weight
	}
	if tailLines < 0 {
		tailLines = 1000
	}
	var b strings.Builder
	if len(g.events) > 0 {
		// History: spaced like live lines, ending now.
		at := now().Add(-time.Duration(tailLines) * every)
		for range tailLines {
			at = at.Add(g.gap(every))
			g.line(&b, at)
		}
	}
	return serveLog(ctx, b.String(), follow, func() time.Duration { return g.gap(every) }, func(line *strings.Builder) {
		if len(g.events) > 0 {
			g.line(line, now())
		}
	}), nil
}

// ztWriter produces one ztunnel's lines.
type ztWriter struct {
	rng    *rand.Rand
	events []ztEvent
	total  int
}

func (g *ztWriter) gap(mean time.Duration) time.Duration { return jitter(g.rng, mean) }

// jitter is a gap between log lines around mean, so a simulated pod's
// lines come unevenly, as a real one's do.
func jitter(rng *rand.Rand, mean time.Duration) time.Duration {
	return mean/2 + time.Duration(rng.Int64N(int64(mean)))
}

// serveLog streams a pod's log as the API server does: history at once,
// then, when following, what next writes at each gap, until ctx ends or
// the reader closes.
func serveLog(ctx context.Context, history string, follow bool, gap func() time.Duration, next func(*strings.Builder)) io.ReadCloser {
	if !follow {
		return io.NopCloser(strings.NewReader(history))
	}
	r, w := io.Pipe()
	go func() {
		if _, err := io.WriteString(w, history); err != nil {
			return
		}
		t := time.NewTimer(gap())
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				w.CloseWithError(ctx.Err())
				return
			case <-t.C:
			}
			var line strings.Builder
			next(&line)
			if line.Len() > 0 {
				if _, err := io.WriteString(w, line.String()); err != nil {
					return // the reader closed
				}
			}
			t.Reset(gap())
		}
	}()
	return r
}

func (g *ztWriter) pick() ztEvent {
	return pickWeighted(g.rng, g.events, g.total, func(e ztEvent) int { return e.weight })
}

// pickWeighted draws one of items with the chance of its weight; total is
// the sum of the weights and must be positive.
func pickWeighted[T any](rng *rand.Rand, items []T, total int, weight func(T) int) T {
	n := rng.IntN(total)
	for _, it := range items {
		w := weight(it)
		if n < w {
			return it
		}
		n -= w
	}
	return items[len(items)-1]
}

func ztIdentity(p *corev1.Pod) string {
	sa := p.Spec.ServiceAccountName
	if sa == "" {
		sa = "default"
	}
	return "spiffe://cluster.local/ns/" + p.Namespace + "/sa/" + sa
}

// line writes one access line in ztunnel's format: TABs between the
// parts, quoted Debug values, unquoted addresses.
func (g *ztWriter) line(b *strings.Builder, at time.Time) {
	e := g.pick()
	s, d, f := e.src, e.dst, e.f
	srcCaptured := ztCaptured(s)
	level, errText := "info", ""
	sent, recv := 200+g.rng.Int64N(4000), 300+g.rng.Int64N(60000)
	ms := 1 + g.rng.Int64N(40)
	switch f.end {
	case ztTimedOut:
		level, errText = "error", "connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed"
		sent, recv, ms = 0, 0, 10001+g.rng.Int64N(3)
	case ztRejected:
		level, sent, recv, ms = "error", 0, 0, g.rng.Int64N(2)
		errText = "connection closed due to policy rejection: allow policies exist, but none allowed"
		if e.outbound {
			errText = "http status: 401 Unauthorized"
		}
	}
	if !e.outbound {
		sent, recv = recv, sent // each side reports its own app's bytes
	}
	// A captured client tunnels: its side logs the hop to 15008, the
	// destination's side the app port it delivered to.
	port := f.port
	if e.outbound && srcCaptured {
		port = 15008
	}
	fmt.Fprintf(b, "%s\t%s\taccess\tconnection complete\t", at.UTC().Format("2006-01-02T15:04:05.000000Z"), level)
	fmt.Fprintf(b, "src.addr=%s:%d src.workload=%q src.namespace=%q ", s.Status.PodIP, 32768+g.rng.IntN(28000), s.Name, s.Namespace)
	if srcCaptured {
		fmt.Fprintf(b, "src.identity=%q ", ztIdentity(s))
	}
	fmt.Fprintf(b, "dst.addr=%s:%d ", d.Status.PodIP, port)
	if srcCaptured {
		fmt.Fprintf(b, "dst.hbone_addr=%s:%d ", d.Status.PodIP, f.port)
	}
	fmt.Fprintf(b, "dst.service=%q dst.workload=%q dst.namespace=%q ", f.service+"."+d.Namespace+".svc.cluster.local", d.Name, d.Namespace)
	if srcCaptured {
		fmt.Fprintf(b, "dst.identity=%q ", ztIdentity(d))
	}
	dir := "inbound"
	if e.outbound {
		dir = "outbound"
	}
	fmt.Fprintf(b, "direction=%q bytes_sent=%d bytes_recv=%d duration=\"%dms\"", dir, sent, recv, ms)
	if errText != "" {
		fmt.Fprintf(b, " error=%q", errText)
	}
	b.WriteByte('\n')
}
