package demo

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ambx/ambx/kube/ambient"
)

// The demo's Kubernetes events, as a real homelab's API server would hold
// them: it drops an event an hour after its last write (--event-ttl), so
// the days-old pods kept only what recurs, and the pods the demo starts
// while it runs (a restart's rollout, a created waypoint) get the events
// the scheduler and the kubelet write for a start. Events are read on
// demand, never by the analysis, so none of them is a finding.

// seededEvents are the events standing at now.
func seededEvents(now time.Time, c *ambient.Cluster) []*corev1.Event {
	var out []*corev1.Event
	for _, p := range c.Pods {
		if p.Namespace == "loki" && p.Name == "loki-0" {
			// Loki's /ready answers late now and then under the promtails'
			// pushes; below the failure threshold each miss is an event
			// and the pod stays Ready.
			e := podEvent(p, corev1.EventTypeWarning, "Unhealthy",
				fmt.Sprintf(`Readiness probe failed: Get "http://%s:3100/ready": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, p.Status.PodIP),
				"kubelet", now.Add(-52*time.Minute), now.Add(-3*time.Minute), 14)
			e.Source.Host = p.Spec.NodeName
			out = append(out, e)
		}
	}
	return out
}

// podEvent is an event about pod as the old recorder (kubelet, scheduler)
// writes it: count and first and last timestamps.
func podEvent(p *corev1.Pod, typ, reason, msg, source string, first, last time.Time, count int32) *corev1.Event {
	return &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, CreationTimestamp: metav1.NewTime(first),
			Name: fmt.Sprintf("%s.%x", p.Name, first.UnixNano()+int64(len(reason))*7919)},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: p.Namespace, Name: p.Name,
			UID: p.UID, ResourceVersion: p.ResourceVersion},
		Type: typ, Reason: reason, Message: msg, Count: count,
		FirstTimestamp: metav1.NewTime(first), LastTimestamp: metav1.NewTime(last),
		Source: corev1.EventSource{Component: source},
	}
}

// recordStart writes what the scheduler and the kubelet report for a pod
// that started at at: assigned to its node, each container's image
// present, created and started, a moment apart.
func recordStart(kc kubernetes.Interface, p *corev1.Pod, at time.Time) {
	step := func(i int) time.Time { return at.Add(time.Duration(i) * 300 * time.Millisecond) }
	events := []*corev1.Event{podEvent(p, corev1.EventTypeNormal, "Scheduled",
		fmt.Sprintf("Successfully assigned %s/%s to %s", p.Namespace, p.Name, p.Spec.NodeName), "default-scheduler", at, at, 1)}
	for i, c := range p.Spec.Containers {
		when := step(1 + 3*i)
		pulled := podEvent(p, corev1.EventTypeNormal, "Pulled",
			fmt.Sprintf("Container image %q already present on machine", c.Image), "kubelet", when, when, 1)
		created := podEvent(p, corev1.EventTypeNormal, "Created", "Created container: "+c.Name, "kubelet", step(2+3*i), step(2+3*i), 1)
		started := podEvent(p, corev1.EventTypeNormal, "Started", "Started container "+c.Name, "kubelet", step(3+3*i), step(3+3*i), 1)
		for j, e := range []*corev1.Event{pulled, created, started} {
			e.Name += fmt.Sprintf("%x", i*3+j+1) // one container's three events at distinct names
			e.Source.Host = p.Spec.NodeName
		}
		events = append(events, pulled, created, started)
	}
	write(kc, events)
}

// recordStop writes the kubelet's event for a pod deleted at at.
func recordStop(kc kubernetes.Interface, p *corev1.Pod, at time.Time) {
	var events []*corev1.Event
	for i, c := range p.Spec.Containers {
		e := podEvent(p, corev1.EventTypeNormal, "Killing", "Stopping container "+c.Name, "kubelet", at, at, 1)
		e.Name += fmt.Sprintf("k%x", i)
		e.Source.Host = p.Spec.NodeName
		events = append(events, e)
	}
	write(kc, events)
}

func write(kc kubernetes.Interface, events []*corev1.Event) {
	for _, e := range events {
		_, _ = kc.CoreV1().Events(e.Namespace).Create(context.Background(), e, metav1.CreateOptions{})
	}
}
