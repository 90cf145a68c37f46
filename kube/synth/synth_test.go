package synth_test

import (
	"reflect"
	"testing"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/synth"
)

func TestClusterSizesAndDeterminism(t *testing.T) {
	c := synth.Cluster(1000, 50, 300, 60)
	app := 0
	for _, p := range c.Pods {
		if p.Namespace != "istio-system" && p.Labels[ambient.LabelGatewayName] == "" {
			app++
		}
	}
	if app != 1000 || len(c.Namespaces) != 51 || len(c.Services) != 300 {
		t.Errorf("app pods %d namespaces %d services %d, want 1000, 51, 300", app, len(c.Namespaces), len(c.Services))
	}
	if n := len(c.AuthorizationPolicies) + len(c.PeerAuthentications) + len(c.RequestAuthentications); n != 60 {
		t.Errorf("policies = %d, want 60", n)
	}
	if len(c.Nodes) != 10 {
		t.Errorf("nodes = %d, want 10", len(c.Nodes))
	}
	for i := 1; i < len(c.Pods); i++ {
		a, b := c.Pods[i-1], c.Pods[i]
		if a.Namespace > b.Namespace || (a.Namespace == b.Namespace && a.Name >= b.Name) {
			t.Fatalf("pods not sorted: %s/%s before %s/%s", a.Namespace, a.Name, b.Namespace, b.Name)
		}
	}
	if !reflect.DeepEqual(ambient.Analyze(c).Findings, ambient.Analyze(synth.Cluster(1000, 50, 300, 60)).Findings) {
		t.Error("two clusters from the same arguments analyse differently")
	}
}

// TestClusterIsRealistic checks the generator exercises every path the
// analysis has, so a benchmark over it measures the real work.
func TestClusterIsRealistic(t *testing.T) {
	a := ambient.Analyze(synth.Cluster(2000, 40, 400, 120))
	states := map[ambient.PodState]int{}
	for _, p := range a.Pods {
		states[p.State]++
	}
	for _, s := range []ambient.PodState{ambient.PodCaptured, ambient.PodPending, ambient.PodSidecar, ambient.PodNeedsRestart, ambient.PodNotMeshed, ambient.PodOptedOut, ambient.PodHostNetwork} {
		if states[s] == 0 {
			t.Errorf("no pod in state %s", s)
		}
	}
	ns := map[ambient.NamespaceState]int{}
	for _, n := range a.Namespaces {
		ns[n.State]++
	}
	for _, s := range []ambient.NamespaceState{ambient.NamespaceAmbient, ambient.NamespaceSidecar, ambient.NamespaceMixed, ambient.NamespaceOff} {
		if ns[s] == 0 {
			t.Errorf("no namespace in state %s", s)
		}
	}
	codes := map[string]int{}
	for _, f := range a.Findings {
		codes[f.Code]++
	}
	for _, c := range []string{"pod-needs-restart", "pod-redirection-pending", "sidecar-in-ambient-namespace", "waypoint-missing",
		"policy-l7-on-ztunnel", "namespace-multiple-injection-labels", "dataplane-not-ready", "policy-target-unbound"} {
		if codes[c] == 0 {
			t.Errorf("no %s finding", c)
		}
	}
	bound := 0
	for _, w := range a.Waypoints {
		bound += len(w.Services) + len(w.Workloads)
	}
	if bound == 0 {
		t.Error("no Service or pod is bound to a waypoint")
	}
}
