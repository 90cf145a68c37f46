// Package ztread fetches what ztunnel itself holds and carries, through the
// API server: its /config_dump (admin port, which listens on the pod's
// loopback only) and its metrics over one pooled port-forward per ztunnel
// pod, and waypoints' metrics through the pod proxy.
// kube/ztunnel decodes and judges what it fetches.
package ztread

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
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
	MetricsPort = 15020 // the pod's network namespace: port-forward reaches it too
)

// Pod names one ztunnel pod. UID, when known, tells a pod from its
// replacement of the same name.
type Pod struct{ Namespace, Name, Node, UID string }

// Reader fetches from ztunnel pods. The live reader goes through the API
// server; the demo serves its own cluster's state through the same calls.
type Reader interface {
	ConfigDump(ctx context.Context, p Pod) (*ztunnel.Dump, error)
	Metrics(ctx context.Context, p Pod) (*ztunnel.Scrape, error)
}

// Live reads real ztunnels. Its reads of a ztunnel share one port-forward
// connection to that pod (see pool); Close closes them.
type Live struct {
	Config *rest.Config
	Client kubernetes.Interface
	// Now is the clock stamped on scrapes; time.Now when nil.
	Now func() time.Time

	once sync.Once
	pool *pool
}

func (l *Live) conns() *pool {
	l.once.Do(func() { l.pool = newPool(l.dial) })
	return l.pool
}

// Close closes every port-forward the reader holds open; reads after it
// fail. The session that made the reader calls it when it ends.
func (l *Live) Close() { l.conns().close() }

// ConfigDump GETs the pod's /config_dump on the admin port through the
// pod's port-forward. No local port is opened: the request is written
// straight into the forwarded stream, so no other local process can use it.
func (l *Live) ConfigDump(ctx context.Context, p Pod) (*ztunnel.Dump, error) {
	body, err := l.conns().read(ctx, p, configDumpTarget)
	if err != nil {
		return nil, err
	}
	return ztunnel.Decode(body)
}

// Metrics GETs the pod's :15020/metrics through the same port-forward as
// its config_dump: ztunnel's metrics port listens in the pod's network
// namespace, where the forward connects, so a scrape of a ztunnel read
// before costs no API request (the pod proxy would cost one each).
func (l *Live) Metrics(ctx context.Context, p Pod) (*ztunnel.Scrape, error) {
	body, err := l.conns().read(ctx, p, metricsTarget)
	if err != nil {
		return nil, err
	}
	now := time.Now
	if l.Now != nil {
		now = l.Now
	}
	return ztunnel.ParseMetrics(bytes.NewReader(body), now())
}

// dial opens a port-forward connection to ztunnel pod p. Port-forward is a
// create on pods/portforward; in read-only mode the transport guard admits
// it for this ztunnel pod alone, and only the pool sends streams on it,
// always to AdminPort or MetricsPort (target).
func (l *Live) dial(p Pod) (httpstream.Connection, error) {
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
	c, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
	if err != nil {
		return nil, explain(err, p)
	}
	return c, nil
}

// explain turns API errors into what the user should know.
func explain(err error, p Pod) error {
	var ro *guard.ErrReadOnly
	switch {
	case errors.As(err, &ro):
		return err
	case apierrors.IsForbidden(err) || strings.Contains(err.Error(), "403"):
		return fmt.Errorf("forbidden: ambx needs create on pods/portforward in %s to read ztunnel's config_dump and metrics: %w", p.Namespace, err)
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
			out = append(out, Pod{Namespace: p.Namespace, Name: p.Name, Node: p.Spec.NodeName, UID: string(p.UID)})
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
