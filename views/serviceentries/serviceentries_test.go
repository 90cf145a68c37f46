package serviceentries_test

import (
	"maps"
	"testing"

	metav1alpha1 "istio.io/api/meta/v1alpha1"
	netapi "istio.io/api/networking/v1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/serviceentries"
)

// withEntries is the demo cluster plus ServiceEntries: one bound to the
// example-api waypoint (and istiod agreeing), one naming a waypoint that
// does not exist, one without a label.
func withEntries() *kube.Snapshot {
	h := demo.Homelab()
	c := h.Cluster
	se := func(ns, name, host string, labels map[string]string, conds ...*metav1alpha1.IstioCondition) *netv1.ServiceEntry {
		e := &netv1.ServiceEntry{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels}, Spec: netapi.ServiceEntry{Hosts: []string{host}}}
		e.Status.Conditions = conds
		return e
	}
	c.ServiceEntries = []*netv1.ServiceEntry{
		se("example-api", "payments", "payments.example.com", map[string]string{"istio.io/use-waypoint": "example-api-waypoint"},
			&metav1alpha1.IstioCondition{Type: "istio.io/WaypointBound", Status: "True", Reason: "WaypointAccepted"}),
		se("example-api", "ledger", "ledger.example.com", map[string]string{"istio.io/use-waypoint": "egress"}),
		se("loki", "s3", "s3.amazonaws.com", nil),
	}
	s := kube.Build(c, h.Taken)
	s.Context, s.Reachable = h.Context, h.Reachable
	s.Resources = maps.Clone(h.Resources)
	s.Resources[kube.ResServiceEntries] = kube.ResourceState{Availability: kube.Available}
	return s
}

// TestScreens renders the pane full-screen at 120x35 and 80x24.
func TestScreens(t *testing.T) {
	panetest.ScreensOf(t, serviceentries.New(theme.Plain), withEntries())
}

// TestNotWatched: without the CRD the pane says so instead of "no rows".
func TestNotWatched(t *testing.T) {
	s := withEntries()
	s.Resources[kube.ResServiceEntries] = kube.ResourceState{Availability: kube.Missing, Detail: "the server could not find the requested resource"}
	s.ServiceEntries = nil
	m := serviceentries.New(theme.Plain).SetSnapshot(s).SetSize(100, 6)
	golden.RequireEqual(t, m.View(100, 6, true))
}
