// Package ambient tells what Istio ambient mode really does with a cluster's
// objects: which pods are captured, which waypoint serves what, where each
// policy is enforced, and what is wrong. It is pure: no I/O, only values.
package ambient

import (
	"time"

	"github.com/ambx/ambx/kube/install"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Cluster is the set of objects the analysis reads. Slices are sorted by
// namespace then name and must not be modified: they are shared with the
// snapshot that holds them.
type Cluster struct {
	Namespaces             []*corev1.Namespace
	Pods                   []*corev1.Pod
	Services               []*corev1.Service
	Nodes                  []*corev1.Node
	NetworkPolicies        []*networkingv1.NetworkPolicy
	Gateways               []*gwv1.Gateway
	GatewayClasses         []*gwv1.GatewayClass
	AuthorizationPolicies  []*secv1.AuthorizationPolicy
	PeerAuthentications    []*secv1.PeerAuthentication
	RequestAuthentications []*secv1.RequestAuthentication
	// ServiceEntries and WorkloadEntries can be bound to waypoints and
	// targeted by policies like Services and pods.
	ServiceEntries  []*netv1.ServiceEntry
	WorkloadEntries []*netv1.WorkloadEntry
	// ServiceEntriesUnread reports that ServiceEntries could not be read
	// (forbidden, failing, still loading): a targetRef to one is then
	// neither found nor missing.
	ServiceEntriesUnread bool
	// RootNamespace is Istio's root (config) namespace; empty means istio-system.
	RootNamespace string
	// Now is when the objects were read; capture checks allow a grace
	// period after a pod starts. Zero skips the grace period.
	Now time.Time
	// Install is the Istio installation found; rules that differ by version
	// read its Effective() version.
	Install install.Info
}

// Root returns the root namespace, defaulting to istio-system.
func (c *Cluster) Root() string {
	if c.RootNamespace == "" {
		return "istio-system"
	}
	return c.RootNamespace
}
