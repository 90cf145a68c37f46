package demo

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/writer"
)

// TestCreatedWaypointIsProgrammedThenRemoved: a waypoint created in the
// demo is programmed with a ready pod after a moment, without a finding of
// its own, binds what asks for it, and its pod goes with it.
func TestCreatedWaypointIsProgrammedThenRemoved(t *testing.T) {
	a, p := AcceptDelay, ProgramDelay
	AcceptDelay, ProgramDelay = 20*time.Millisecond, 50*time.Millisecond
	t.Cleanup(func() { AcceptDelay, ProgramDelay = a, p })
	c := Clients(Epoch)
	ctx := context.Background()
	gw := writer.WaypointGateway(writer.NewWaypoint{Namespace: "default", Name: "l7"})
	if _, err := c.Gateway.GatewayV1().Gateways("default").Create(ctx, gw, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ns, err := c.Kube.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ns.Labels[ambient.LabelUseWaypoint] = "l7"
	if _, err := c.Kube.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	key := ambient.Key{Namespace: "default", Name: "l7"}
	var s *kube.Snapshot
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if s, err = kube.SnapshotOnce(ctx, c); err != nil {
			t.Fatal(err)
		}
		if w, ok := s.Mesh.Waypoint(key); ok && w.Programmed && w.Ready == 1 && w.Replicas == 1 {
			break
		}
		if time.Now().After(deadline) {
			w, _ := s.Mesh.Waypoint(key)
			t.Fatalf("not programmed with a ready pod: %+v", w)
		}
	}
	w, _ := s.Mesh.Waypoint(key)
	if len(w.Services) == 0 {
		t.Errorf("nothing in default is bound to it: %+v", w)
	}
	for _, f := range s.Findings {
		if f.Object == (finding.Ref{Kind: "Gateway", Namespace: "default", Name: "l7"}) || f.Severity >= finding.Warning && f.Object.Namespace == "default" {
			t.Errorf("finding after the create: %s %s: %s", f.Severity, f.Object, f.Title)
		}
	}
	if err := c.Gateway.GatewayV1().Gateways("default").Delete(ctx, "l7", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		pods, _ := c.Kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: ambient.LabelGatewayName + "=l7"})
		if len(pods.Items) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waypoint's pods outlive it: %d", len(pods.Items))
		}
	}
}
