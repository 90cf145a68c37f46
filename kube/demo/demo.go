// Package demo is the built-in cluster behind `ambx --demo`: a five-node
// homelab running Istio ambient mode, with a handful of planted mistakes for
// the analysis to find. It hands out typed objects and fake clientsets seeded
// with them, so the demo runs through the same kube.Source as a real cluster.
//
// Everything is a function of the `now` passed in: no randomness, so the VHS
// tape and the golden tests render the same screens on every run.
//
// The planted mistakes, and nothing else, should surface as findings:
//  1. unipoller/unpoller started before its namespace was enrolled and has
//     no ambient.istio.io/redirection annotation: it needs a restart.
//  2. example-worker/worker (Service) asks for waypoint worker-waypoint,
//     which does not exist: WaypointBound=False, WaypointIsNotReady.
//  3. argo-workflows/argo-server-api is an L7 AuthorizationPolicy attached
//     by selector, so ztunnel enforces it without its HTTP rules:
//     ZtunnelAccepted=True, UnsupportedValue.
//  4. loki/loki (NetworkPolicy) admits port 3100 from promtail, the canary,
//     the gateway and grafana but not HBONE on 15008.
//  5. localstack/localstack (NetworkPolicy) admits 15008 only from
//     istio-system, while the clients that reach 4566 are in argo-workflows
//     and example-worker.
//  6. trivy-system/trivy-server-deny-cache-deletes is a DENY whose HTTP-only
//     rule ztunnel never fires: it denies less than written.
//  7. trivy-system/trivy-plaintext, a namespace PeerAuthentication DISABLE,
//     lifts the mesh-wide STRICT.
//  8. homepage/homepage (NetworkPolicy) admits the ingress gateway
//     istio-ingress/public on port 3000 but not on 15008, where the
//     gateway's Envoy sends its HBONE.
package demo

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/ambient"
)

// Epoch is a fixed "now" for golden tests and the VHS tape, so ages render
// the same on every run.
var Epoch = time.Date(2026, time.August, 24, 9, 30, 0, 0, time.UTC)

// Context and Server are what the status bar shows for the demo cluster.
const (
	Context = "homelab (demo)"
	Server  = "https://10.0.10.10:6443"
)

// Objects returns every object of the demo cluster that the analysis reads,
// created relative to now and sorted by namespace then name. Each call
// returns fresh objects.
func Objects(now time.Time) *ambient.Cluster {
	return &build(now).cluster
}

// Workloads returns the Deployments, ReplicaSets, DaemonSets and
// StatefulSets that own the demo's pods, sorted by kind, namespace and name.
func Workloads(now time.Time) []runtime.Object {
	return build(now).workloads
}

// Metrics returns what metrics-server would report at now: a PodMetrics for
// every running pod (sorted by namespace and name) and a NodeMetrics for
// every node.
func Metrics(now time.Time) ([]*metricsv1beta1.PodMetrics, []*metricsv1beta1.NodeMetrics) {
	w := build(now)
	return w.podMetrics, w.nodeMetrics
}
