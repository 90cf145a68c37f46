package kube

import (
	"strings"

	"github.com/ambx/ambx/kube/finding"
)

// Kind is the kind of object a pane row selects and an action acts on.
type Kind string

// Kinds the panes select.
const (
	KindNamespace             Kind = "Namespace"
	KindPod                   Kind = "Pod"
	KindService               Kind = "Service"
	KindWaypoint              Kind = "Gateway" // a waypoint is a Gateway of class istio-waypoint
	KindNetworkPolicy         Kind = "NetworkPolicy"
	KindServiceEntry          Kind = "ServiceEntry"
	KindAuthorizationPolicy   Kind = "AuthorizationPolicy"
	KindPeerAuthentication    Kind = "PeerAuthentication"
	KindRequestAuthentication Kind = "RequestAuthentication"
)

// Ref names one object of the snapshot: what a row selects, what a finding
// is about, what an action acts on.
type Ref struct {
	Kind      Kind
	Namespace string // empty for cluster-scoped objects
	Name      string
}

// Key is the Ref as one string, unique across kinds; ParseRef reverses it.
// Rows are keyed by it, so the cursor follows the object across snapshots.
func (r Ref) Key() string { return string(r.Kind) + "/" + r.Namespace + "/" + r.Name }

// String is "Kind ns/name", or "Kind name" when cluster-scoped.
func (r Ref) String() string {
	if r.Namespace == "" {
		return string(r.Kind) + " " + r.Name
	}
	return string(r.Kind) + " " + r.Namespace + "/" + r.Name
}

// ParseRef reads a Key back; ok is false for anything Key did not write.
func ParseRef(key string) (Ref, bool) {
	kind, rest, ok := strings.Cut(key, "/")
	if !ok || kind == "" {
		return Ref{}, false
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		return Ref{}, false
	}
	return Ref{Kind: Kind(kind), Namespace: ns, Name: name}, true
}

// RefOf is the Ref of a finding's object.
func RefOf(r finding.Ref) Ref {
	return Ref{Kind: Kind(r.Kind), Namespace: r.Namespace, Name: r.Name}
}
