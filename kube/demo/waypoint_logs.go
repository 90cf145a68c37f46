package demo

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// WithServices gives the simulator the demo's Services, whose cluster IPs
// a waypoint's access lines carry as the address the client called.
func (z *ZtunnelLogSim) WithServices(svcs []*corev1.Service) *ZtunnelLogSim {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.vips = map[string]string{}
	for _, s := range svcs {
		if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
			z.vips[s.Namespace+"/"+s.Name] = s.Spec.ClusterIP
		}
	}
	return z
}

// wpRequest is a kind of request a demo waypoint carries, in the
// proportions of its istio_requests_total (waypointFlows): sleep's calls
// to httpbin, the POSTs httpbin-l7 refuses at the waypoint, example-api's
// calls to itself with the odd 503 its pod answers.
type wpRequest struct {
	waypoint       string // ns/name of the Gateway
	src            string // ns/workload of the client
	svc            string // the Service in the waypoint's namespace
	port, target   int    // Service port and the pod port behind it
	method, path   string
	code           int
	flags, details string
	weight         int
}

var wpRequests = []wpRequest{
	{"ambient-apps/waypoint", "ambient-apps/sleep", "httpbin", 8000, 8080, "GET", "/get", 200, "-", "via_upstream", 5},
	{"ambient-apps/waypoint", "ambient-apps/sleep", "httpbin", 8000, 8080, "GET", "/headers", 200, "-", "via_upstream", 3},
	{"ambient-apps/waypoint", "ambient-apps/sleep", "httpbin", 8000, 8080, "POST", "/post", 403, "-", "rbac_access_denied_matched_policy[none]", 1},
	{"example-api/example-api-waypoint", "example-api/example-api", "example-api", 9898, 9898, "GET", "/api/info", 200, "-", "via_upstream", 8},
	{"example-api/example-api-waypoint", "example-api/example-api", "example-api", 9898, 9898, "GET", "/readyz", 503, "URX", "via_upstream", 1},
}

// openWaypoint streams a waypoint pod's Envoy access log in Istio's
// default TEXT format, as its istio-proxy container writes it.
func (z *ZtunnelLogSim) openWaypoint(ctx context.Context, wp *corev1.Pod, container string, tailLines int64, follow bool) (io.ReadCloser, error) {
	if container != "" && container != "istio-proxy" {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("container %s is not valid for pod %s", container, wp.Name))
	}
	key := wp.Namespace + "/" + wp.Labels[labelGatewayName]
	now, every := time.Now, z.Interval
	if z.Now != nil {
		now = z.Now
	}
	if every <= 0 {
		every = 400 * time.Millisecond
	}
	h := fnv.New64a()
	h.Write([]byte(wp.Name))
	g := &wpWriter{rng: rand.New(rand.NewPCG(z.Seed, h.Sum64())), z: z}
	for _, r := range wpRequests {
		if r.waypoint == key {
			g.reqs = append(g.reqs, r)
			g.total += r.weight
		}
	}
	if tailLines < 0 {
		tailLines = 1000
	}
	var b strings.Builder
	// pilot-agent's own lines head the log, as they do on a real pod.
	start := now().Add(-time.Duration(tailLines) * every)
	fmt.Fprintf(&b, "%s\tinfo\tEnvoy proxy is ready\n", start.Add(-2*time.Second).UTC().Format("2006-01-02T15:04:05.000000Z"))
	if g.total > 0 {
		at := start
		for range tailLines {
			at = at.Add(g.gap(every))
			g.line(&b, at)
		}
	}
	return serveLog(ctx, b.String(), follow, func() time.Duration { return g.gap(every) }, func(line *strings.Builder) {
		if g.total > 0 {
			g.line(line, now())
		}
	}), nil
}

// wpWriter produces one waypoint pod's lines.
type wpWriter struct {
	rng   *rand.Rand
	z     *ZtunnelLogSim
	reqs  []wpRequest
	total int
}

func (g *wpWriter) gap(mean time.Duration) time.Duration { return jitter(g.rng, mean) }

func (g *wpWriter) pick() wpRequest {
	return pickWeighted(g.rng, g.reqs, g.total, func(r wpRequest) int { return r.weight })
}

// line writes one request as Istio's default accessLogFormat lays it out.
func (g *wpWriter) line(b *strings.Builder, at time.Time) {
	r := g.pick()
	ns, _, _ := strings.Cut(r.waypoint, "/")
	g.z.mu.Lock()
	clients, dsts, vip := g.z.byApp[r.src], g.z.byApp[ns+"/"+r.svc], g.z.vips[ns+"/"+r.svc]
	g.z.mu.Unlock()
	client := "-"
	if len(clients) > 0 {
		client = fmt.Sprintf("%s:%d", clients[g.rng.IntN(len(clients))].Status.PodIP, 32768+g.rng.IntN(28000))
	}
	local := "-"
	if vip != "" {
		local = fmt.Sprintf("%s:%d", vip, r.port)
	}
	upstream, upLocal, svcTime := "-", "-", "-"
	recv, sent, ms := int64(0), int64(19), int64(0) // "RBAC: access denied"
	if r.method == "POST" {
		recv = 120 + g.rng.Int64N(400)
	}
	if r.code != 403 && len(dsts) > 0 {
		upstream = fmt.Sprintf("envoy://connect_originate/%s:%d", dsts[g.rng.IntN(len(dsts))].Status.PodIP, r.target)
		upLocal = "envoy://internal_client_address/"
		sent, ms = 200+g.rng.Int64N(600), 1+g.rng.Int64N(30)
		svcTime = fmt.Sprint(max(1, ms-1))
	}
	id := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", g.rng.Uint32(), g.rng.Uint32()&0xffff, g.rng.Uint32()&0xffff, g.rng.Uint32()&0xffff, g.rng.Uint64()&0xffffffffffff)
	fmt.Fprintf(b, "[%s] \"%s %s HTTP/1.1\" %d %s %s - \"-\" %d %d %d %s \"-\" \"curl/8.11.1\" \"%s\" \"%s:%d\" \"%s\" inbound-vip|%d|http|%s.%s.svc.cluster.local %s %s %s - default\n",
		at.UTC().Format("2006-01-02T15:04:05.000Z"), r.method, r.path, r.code, r.flags, r.details, recv, sent, ms, svcTime,
		id, r.svc, r.port, upstream, r.port, r.svc, ns, upLocal, local, client)
}
