// Package ztread fetches what ztunnel itself holds and carries, through the
// API server: its /config_dump over a port-forward to the admin port (which
// listens on the pod's loopback only) and its metrics through the pod proxy.
// kube/ztunnel decodes and judges what it fetches.
package ztread

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"

	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/waypointstats"
	"github.com/ambx/ambx/kube/ztunnel"
)

// Ports ztunnel listens on (istio/ztunnel src/config.rs).
const (
	AdminPort   = 15000 // loopback only: reachable by port-forward alone
	MetricsPort = 15020 // wildcard: reachable through the pod proxy
)

// Pod names one ztunnel pod.
type Pod struct{ Namespace, Name, Node string }

// Reader fetches from ztunnel pods. The live reader goes through the API
// server; the demo serves its own cluster's state through the same calls.
type Reader interface {
	ConfigDump(ctx context.Context, p Pod) (*ztunnel.Dump, error)
	Metrics(ctx context.Context, p Pod) (*ztunnel.Scrape, error)
}

// Live reads real ztunnels.
type Live struct {
	Config *rest.Config
	Client kubernetes.Interface
	// Now is the clock stamped on scrapes; time.Now when nil.
	Now func() time.Time
}

// ConfigDump opens a port-forward to the pod's admin port and GETs
// /config_dump through it. No local port is opened: the request is written
// straight into the forwarded stream, so no other local process can use it.
func (l *Live) ConfigDump(ctx context.Context, p Pod) (*ztunnel.Dump, error) {
	// Port-forward is a create on pods/portforward; in read-only mode the
	// transport guard admits it for this ztunnel pod alone, and only this
	// function opens one, always to AdminPort.
	guard.AdmitPortForward(p.Namespace, p.Name)
	u := l.Client.CoreV1().RESTClient().Post().Resource("pods").Namespace(p.Namespace).Name(p.Name).SubResource("portforward").URL()
	rt, upgrader, err := spdy.RoundTripperFor(l.Config)
	if err != nil {
		return nil, err
	}
	var dialer httpstream.Dialer = spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, l.Config); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	var conn httpstream.Connection
	go func() {
		c, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		if err != nil {
			done <- result{err: explain(err, p)}
			return
		}
		conn = c
		body, err := getThrough(c, AdminPort, "/config_dump")
		done <- result{body: body, err: err}
	}()
	var r result
	select {
	case r = <-done:
	case <-ctx.Done():
		r.err = fmt.Errorf("reading ztunnel %s/%s config_dump: %w", p.Namespace, p.Name, ctx.Err())
	}
	if conn != nil {
		_ = conn.Close()
	}
	if r.err != nil {
		return nil, r.err
	}
	return ztunnel.Decode(r.body)
}

// getThrough sends one HTTP GET through a port-forward connection, the way
// client-go's PortForwarder pairs an error stream with a data stream.
func getThrough(conn httpstream.Connection, port int, path string) ([]byte, error) {
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, fmt.Sprint(port))
	h.Set(corev1.PortForwardRequestIDHeader, "0")
	errStream, err := conn.CreateStream(h)
	if err != nil {
		return nil, fmt.Errorf("port-forward error stream: %w", err)
	}
	_ = errStream.Close() // nothing is written to it
	remoteErr := make(chan string, 1)
	go func() {
		msg, _ := io.ReadAll(io.LimitReader(errStream, 4096))
		remoteErr <- strings.TrimSpace(string(msg))
	}()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := conn.CreateStream(h)
	if err != nil {
		return nil, fmt.Errorf("port-forward data stream: %w", err)
	}
	defer data.Reset()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://localhost:%d%s", port, path), nil)
	req.Close = true
	if err := req.Write(data); err != nil {
		return nil, fmt.Errorf("port-forward write: %w", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(data), req)
	if err != nil {
		select {
		case msg := <-remoteErr:
			if msg != "" {
				return nil, fmt.Errorf("port-forward to port %d: %s", port, msg)
			}
		case <-time.After(time.Second):
		}
		return nil, fmt.Errorf("reading %s through port-forward: %w", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, ztunnel.MaxDumpBytes+1))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s answered %s", path, resp.Status)
	}
	return body, nil
}

// Metrics GETs the pod's :15020/metrics through the API server's pod proxy
// (get pods/proxy): a read, allowed in read-only mode.
func (l *Live) Metrics(ctx context.Context, p Pod) (*ztunnel.Scrape, error) {
	rc, err := l.Client.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, fmt.Sprint(MetricsPort), "metrics", nil).Stream(ctx)
	if err != nil {
		return nil, explain(err, p)
	}
	defer rc.Close()
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	return ztunnel.ParseMetrics(rc, now())
}

// explain turns API errors into what the user should know.
func explain(err error, p Pod) error {
	var ro *guard.ErrReadOnly
	switch {
	case errors.As(err, &ro):
		return err
	case apierrors.IsForbidden(err) || strings.Contains(err.Error(), "403"):
		return fmt.Errorf("forbidden: ambx needs create on pods/portforward (config_dump) or get on pods/proxy (metrics) in %s: %w", p.Namespace, err)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("ztunnel pod %s/%s is gone", p.Namespace, p.Name)
	}
	return err
}

// Ztunnels lists the running ztunnel pods among pods (found by their label,
// in whatever namespace they run), sorted by node then name.
func Ztunnels(pods []*corev1.Pod) []Pod {
	var out []Pod
	for _, p := range pods {
		if p.Labels["app"] == "ztunnel" && p.Status.Phase == corev1.PodRunning {
			out = append(out, Pod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Name < out[j].Name
	})
	return out
}

// WaypointReader reads waypoints' L7 request metrics; Live and the demo
// implement it beside Reader.
type WaypointReader interface {
	WaypointRequests(ctx context.Context, p Pod) (*waypointstats.Scrape, error)
}

// WaypointRequests GETs a waypoint pod's :15020/stats/prometheus through
// the API server's pod proxy (get pods/proxy): a read, allowed in
// read-only mode like the ztunnel metrics.
func (l *Live) WaypointRequests(ctx context.Context, p Pod) (*waypointstats.Scrape, error) {
	rc, err := l.Client.CoreV1().Pods(p.Namespace).ProxyGet("http", p.Name, fmt.Sprint(waypointstats.Port), waypointstats.Path, nil).Stream(ctx)
	if err != nil {
		if apierrors.IsForbidden(err) {
			return nil, fmt.Errorf("forbidden: ambx needs get on pods/proxy in %s for waypoint metrics: %w", p.Namespace, err)
		}
		return nil, explain(err, p)
	}
	defer rc.Close()
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	return waypointstats.Parse(rc, now())
}

// Waypoints lists the running waypoint pods among pods (the pods istiod's
// mesh controller deploys for a waypoint Gateway), sorted by namespace and
// name; Node holds the Gateway's name.
func Waypoints(pods []*corev1.Pod) []Pod {
	var out []Pod
	for _, p := range pods {
		gw := p.Labels["gateway.networking.k8s.io/gateway-name"]
		if p.Labels["gateway.istio.io/managed"] == "istio.io-mesh-controller" && gw != "" && p.Status.Phase == corev1.PodRunning {
			out = append(out, Pod{Namespace: p.Namespace, Name: p.Name, Node: gw})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Namespace != out[j].Namespace {
			return out[i].Namespace < out[j].Namespace
		}
		return out[i].Name < out[j].Name
	})
	return out
}
