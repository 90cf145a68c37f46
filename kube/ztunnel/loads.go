package ztunnel

import (
	"strings"
	"time"
)

// LoadKey is one workload on one node, as ztunnel names workloads in its
// metrics (source_workload, destination_workload: the Deployment,
// StatefulSet, ... name, or the pod's when it has no controller).
type LoadKey struct{ Namespace, Workload, Node string }

// Load is the traffic ztunnel carried for one workload on one node, in
// both directions: connections opened per second and bytes per second.
type Load struct {
	ConnsPerSec, BytesPerSec float64
}

// Loads is what the ztunnels' metrics say each workload carries, for the
// Workloads pane's rate columns.
type Loads struct {
	At time.Time
	// Nodes are the nodes whose ztunnel gave rates (two scrapes in a row):
	// a workload there with no entry carried nothing; one on another node
	// is not known.
	Nodes map[string]bool
	By    map[LoadKey]Load
}

// Add files the rates one node's ztunnel reported. A connection is counted
// by the ztunnel of each end: the source's reports it for the source
// workload, the destination's for the destination, each at its own node,
// so no connection counts twice for one workload.
func (l *Loads) Add(node string, rates []Rate) {
	if l.Nodes == nil {
		l.Nodes, l.By = map[string]bool{}, map[LoadKey]Load{}
	}
	l.Nodes[node] = true
	for _, r := range rates {
		var k LoadKey
		switch r.Reporter {
		case "source":
			k = LoadKey{r.SrcNamespace, r.SrcWorkload, node}
		case "destination":
			k = LoadKey{r.DstNamespace, r.DstWorkload, node}
		default:
			continue
		}
		if k.Workload == "" || k.Workload == "unknown" {
			continue
		}
		v := l.By[k]
		v.ConnsPerSec += r.ConnsPerSec
		v.BytesPerSec += r.SentPerSec + r.RecvPerSec
		l.By[k] = v
	}
}

// Of is the load of the pod's workload on its node. known is false when
// that node's ztunnel gave no rates: then the load is not zero but unknown.
// owner is the pod's controller as ambient writes it (deployment/web), or
// "" for a bare pod.
func (l *Loads) Of(namespace, pod, owner, node string) (load Load, known bool) {
	if l == nil || !l.Nodes[node] {
		return Load{}, false
	}
	wl := pod
	if i := strings.IndexByte(owner, '/'); i >= 0 && owner[:i] != "pod" {
		wl = owner[i+1:]
	}
	return l.By[LoadKey{namespace, wl, node}], true
}
