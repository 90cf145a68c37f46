package kube

import (
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

// Resource names one kind of object the Source watches.
type Resource string

// Watched resources, in the order the status line lists them.
const (
	ResNamespaces             Resource = "namespaces"
	ResPods                   Resource = "pods"
	ResServices               Resource = "services"
	ResNodes                  Resource = "nodes"
	ResNetworkPolicies        Resource = "networkpolicies"
	ResGateways               Resource = "gateways"
	ResGatewayClasses         Resource = "gatewayclasses"
	ResAuthorizationPolicies  Resource = "authorizationpolicies"
	ResPeerAuthentications    Resource = "peerauthentications"
	ResRequestAuthentications Resource = "requestauthentications"
	ResServiceEntries         Resource = "serviceentries"
	ResWorkloadEntries        Resource = "workloadentries"
	// The installation's own objects, listed by label (install.IstiodSelector,
	// DataplaneSelector, RevisionSelector), never all of them.
	ResIstiodDeployments   Resource = "deployments"
	ResDataplaneDaemonSets Resource = "daemonsets"
	ResIstioConfigMaps     Resource = "configmaps"
	ResIstioWebhooks       Resource = "mutatingwebhookconfigurations"
)

// Resources lists every watched resource.
var Resources = []Resource{ResNamespaces, ResPods, ResServices, ResNodes, ResNetworkPolicies,
	ResGateways, ResGatewayClasses, ResAuthorizationPolicies, ResPeerAuthentications, ResRequestAuthentications,
	ResServiceEntries, ResWorkloadEntries,
	ResIstiodDeployments, ResDataplaneDaemonSets, ResIstioConfigMaps, ResIstioWebhooks}

// Availability is whether a resource could be watched.
type Availability int

// Availabilities. The zero value means not yet synced.
const (
	Syncing   Availability = iota
	Available              // synced and watched
	Missing                // the API (CRD) is not installed
	Forbidden              // RBAC denies list/watch
	Failing                // other errors; Detail says which
)

// ResourceState is the watch state of one resource.
type ResourceState struct {
	Availability Availability
	Detail       string
}

// Snapshot is one immutable view of the cluster. Nothing in it may be
// modified once published: views read it without locks.
type Snapshot struct {
	ambient.Cluster
	// Mesh is the ambient analysis of Cluster.
	Mesh *ambient.Analysis
	// Findings are all findings (ambient and NetworkPolicy), most severe first.
	Findings []finding.Finding

	Context   string
	Reachable bool   // the API server answered recently
	Problem   string // why it is not reachable, when it is not
	Resources map[Resource]ResourceState
	Taken     time.Time
	Seq       uint64 // increases with every published snapshot
}

// State returns the watch state of a resource.
func (s *Snapshot) State(r Resource) ResourceState {
	if s == nil || s.Resources == nil {
		return ResourceState{}
	}
	return s.Resources[r]
}
