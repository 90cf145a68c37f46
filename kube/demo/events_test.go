package demo

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/writer"
)

// The seeded events are about objects the demo holds (by name and UID) and
// were last written within the hour the API server keeps them; the
// readiness misses on loki-0 read back through kube.ReadEvents as a
// Warning, and no event is about another object.
func TestSeededEvents(t *testing.T) {
	c := Clients(Epoch)
	ctx := context.Background()
	list, err := c.Kube.CoreV1().Events("").List(ctx, metav1.ListOptions{})
	must(t, err)
	if len(list.Items) == 0 {
		t.Fatal("the demo has no events: e shows nothing")
	}
	for _, e := range list.Items {
		io := e.InvolvedObject
		if io.Kind != "Pod" {
			t.Errorf("event %s is about a %s; only pods are seeded", e.Name, io.Kind)
			continue
		}
		p, err := c.Kube.CoreV1().Pods(io.Namespace).Get(ctx, io.Name, metav1.GetOptions{})
		if err != nil || p.UID != io.UID {
			t.Errorf("event %s is about %s/%s (%s), which the demo does not hold: %v", e.Name, io.Namespace, io.Name, io.UID, err)
		}
		if age := Epoch.Sub(e.LastTimestamp.Time); age < 0 || age > time.Hour {
			t.Errorf("event %s last written %s before now: the API server would have dropped it", e.Name, age)
		}
		if e.FirstTimestamp.After(e.LastTimestamp.Time) || e.Count < 1 {
			t.Errorf("event %s: first %s after last %s or count %d", e.Name, e.FirstTimestamp, e.LastTimestamp, e.Count)
		}
	}
	ev, err := kube.ReadEvents(ctx, c.Kube, kube.Ref{Kind: kube.KindPod, Namespace: "loki", Name: "loki-0"}, Epoch)
	must(t, err)
	if len(ev.Items) != 1 || ev.Items[0].Type != "Warning" || ev.Items[0].Reason != "Unhealthy" || ev.Items[0].Count != 14 ||
		!strings.Contains(ev.Items[0].Message, "Readiness probe failed") || ev.Items[0].Source != "kubelet" {
		t.Fatalf("loki-0's events = %+v", ev.Items)
	}
}

// A restart's rollout writes what the scheduler and kubelet would: the
// old pod stopping, the new one assigned, its image present, created and
// started, so e on the new pod lists them newest first.
func TestRolloutWritesEvents(t *testing.T) {
	step := RolloutStep
	RolloutStep = 20 * time.Millisecond
	t.Cleanup(func() { RolloutStep = step })
	c := Clients(Epoch)
	ctx := context.Background()
	old, err := c.Kube.CoreV1().Pods("unipoller").List(ctx, metav1.ListOptions{LabelSelector: "app=unpoller"})
	must(t, err)
	if len(old.Items) != 1 {
		t.Fatalf("%d unpoller pods", len(old.Items))
	}
	restart := `{"spec":{"template":{"metadata":{"annotations":{"kubectl.kubernetes.io/restartedAt":"2026-08-24T09:31:00Z"}}}}}`
	_, err = c.Kube.AppsV1().Deployments("unipoller").Patch(ctx, "unpoller", types.StrategicMergePatchType, []byte(restart), metav1.PatchOptions{})
	must(t, err)
	var stopped kube.Events
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		stopped, err = kube.ReadEvents(ctx, c.Kube, kube.Ref{Kind: kube.KindPod, Namespace: "unipoller", Name: old.Items[0].Name}, time.Now())
		must(t, err)
		if len(stopped.Items) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the old pod never got its Killing event")
		}
	}
	if e := stopped.Items[0]; e.Reason != "Killing" || e.Message != "Stopping container unpoller" || e.Type != "Normal" {
		t.Errorf("the old pod's event = %+v", e)
	}
	now, err := c.Kube.CoreV1().Pods("unipoller").List(ctx, metav1.ListOptions{LabelSelector: "app=unpoller"})
	must(t, err)
	var fresh string
	for _, p := range now.Items {
		if p.Name != old.Items[0].Name {
			fresh = p.Name
		}
	}
	if fresh == "" {
		t.Fatal("no replacement pod")
	}
	ev, err := kube.ReadEvents(ctx, c.Kube, kube.Ref{Kind: kube.KindPod, Namespace: "unipoller", Name: fresh}, time.Now())
	must(t, err)
	var reasons []string
	for _, e := range ev.Items {
		reasons = append(reasons, e.Reason)
	}
	if got := strings.Join(reasons, " "); got != "Started Created Pulled Scheduled" {
		t.Fatalf("the new pod's events, newest first = %s: %+v", got, ev.Items)
	}
	if !strings.HasPrefix(ev.Items[3].Message, "Successfully assigned unipoller/"+fresh+" to ") || ev.Items[3].Source != "default-scheduler" {
		t.Errorf("Scheduled = %+v", ev.Items[3])
	}
}

// A waypoint created in the demo starts its pod with the same events, so e
// on the new waypoint's pod shows how it came up.
func TestCreatedWaypointPodHasEvents(t *testing.T) {
	a, p := AcceptDelay, ProgramDelay
	AcceptDelay, ProgramDelay = 10*time.Millisecond, 10*time.Millisecond
	t.Cleanup(func() { AcceptDelay, ProgramDelay = a, p })
	c := Clients(Epoch)
	ctx := context.Background()
	gw := writer.WaypointGateway(writer.NewWaypoint{Namespace: "default", Name: "l7"})
	_, err := c.Gateway.GatewayV1().Gateways("default").Create(ctx, gw, metav1.CreateOptions{})
	must(t, err)
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		pods, err := c.Kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: labelGatewayName + "=l7"})
		must(t, err)
		if len(pods.Items) == 1 {
			ev, err := kube.ReadEvents(ctx, c.Kube, kube.Ref{Kind: kube.KindPod, Namespace: "default", Name: pods.Items[0].Name}, time.Now())
			must(t, err)
			var reasons []string
			for _, e := range ev.Items {
				reasons = append(reasons, e.Reason)
			}
			if got := strings.Join(reasons, " "); got == "Started Created Pulled Scheduled" {
				if msg := ev.Items[2].Message; !strings.Contains(msg, "proxyv2") {
					t.Errorf("Pulled names no proxy image: %q", msg)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the waypoint's pod never came up with its start events: %d pods", len(pods.Items))
		}
	}
}
