package panetest

import (
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/pane"
)

// Unread is the demo cluster as a Source would publish it when the named
// resources could not be read: their objects absent, their state a.
// reachable false is an API server that stopped answering.
func Unread(a kube.Availability, reachable bool, rs ...kube.Resource) *kube.Snapshot {
	c := *demo.Objects(demo.Epoch)
	for _, r := range rs {
		clear(&c, r)
	}
	s := kube.Build(c, demo.Epoch)
	s.Context = demo.Context
	for _, r := range rs {
		detail := map[kube.Availability]string{
			kube.Forbidden:   `forbidden: User "auditor" cannot list resource "` + string(r) + `"`,
			kube.Missing:     "API not installed (CRD missing)",
			kube.Unreachable: "cannot reach API server: connection refused",
			kube.Failing:     "the server is currently unable to handle the request",
		}[a]
		s.Resources[r] = kube.ResourceState{Availability: a, Detail: detail}
	}
	s.Reachable = reachable
	if !reachable {
		s.Problem = "cannot reach API server: connection refused"
	}
	s.DropUnchecked()
	return s
}

func clear(c *ambient.Cluster, r kube.Resource) {
	switch r {
	case kube.ResNamespaces:
		c.Namespaces = nil
	case kube.ResPods:
		c.Pods = nil
	case kube.ResServices:
		c.Services = nil
	case kube.ResNodes:
		c.Nodes = nil
	case kube.ResNetworkPolicies:
		c.NetworkPolicies = nil
	case kube.ResGateways:
		c.Gateways = nil
	case kube.ResGatewayClasses:
		c.GatewayClasses = nil
	case kube.ResAuthorizationPolicies:
		c.AuthorizationPolicies = nil
	case kube.ResPeerAuthentications:
		c.PeerAuthentications = nil
	case kube.ResRequestAuthentications:
		c.RequestAuthentications = nil
	}
}

// States checks a new pane in each watch state a Source reports: some
// inputs still loading, forbidden, missing CRDs, and the API server
// unreachable from the start. Files are testdata/<Test>_<case>.golden.
func States(t *testing.T, empty pane.Resource) {
	crds := []kube.Resource{kube.ResGateways, kube.ResGatewayClasses, kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications}
	for _, tc := range []struct {
		name string
		snap *kube.Snapshot
	}{
		{"loading", Unread(kube.Syncing, true, kube.ResPods, kube.ResGateways)},
		{"forbidden", Unread(kube.Forbidden, true, kube.ResPods, kube.ResAuthorizationPolicies)},
		{"missing_crd", Unread(kube.Missing, true, crds...)},
		{"unreachable", Unread(kube.Unreachable, false, kube.Resources...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := empty.SetSnapshot(tc.snap).SetSize(100, 8)
			golden.RequireEqual(t, m.View(100, 8, true))
		})
	}
}
