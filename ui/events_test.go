package ui

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
)

func podEvent(t *testing.T, c *kube.Clients, ns, pod, name, typ, reason, msg string, age time.Duration) {
	t.Helper()
	at := metav1.NewTime(demo.Epoch.Add(-age))
	if _, err := c.Kube.CoreV1().Events(ns).Create(context.Background(), &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: pod},
		Type:           typ, Reason: reason, Message: msg, Count: 3, LastTimestamp: at,
		Source: corev1.EventSource{Component: "kubelet"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// e on a pod lists its events, newest first, and only its own; the view
// reads again on the clock while it is open, and esc closes it.
func TestEventsOfAPod(t *testing.T) {
	m, c := demoModel(t, false)
	m.opt.Events = EventsFrom(c)
	podEvent(t, c, "loki", "loki-0", "a", "Warning", "Unhealthy", "Readiness probe failed: HTTP probe failed with statuscode: 503", time.Minute)
	podEvent(t, c, "loki", "loki-0", "b", "Normal", "Started", "Started container loki", time.Hour)
	podEvent(t, c, "loki", "promtail-d7454", "c", "Warning", "OtherPod", "not loki-0's", time.Second)

	m = keys(t, typeLine(t, keys(t, m, "2", "/"), "^loki-0$"), "enter")
	m = keys(t, m, "e")
	if !isTop[eventsOverlay](m) {
		t.Fatal("e did not open the events view")
	}
	s := m.Render()
	// (3): the demo's own readiness misses on loki-0 and the two above.
	for _, want := range []string{"Events of Pod loki/loki-0 (3)", "Unhealthy", "Readiness probe failed", "Started"} {
		if !strings.Contains(s, want) {
			t.Errorf("events view lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(s, "OtherPod") {
		t.Errorf("another pod's event is listed:\n%s", s)
	}
	if strings.Index(s, "Unhealthy") > strings.Index(s, "Started") {
		t.Errorf("not newest first:\n%s", s)
	}

	// A new event arrives; the next tick past the period reads again.
	podEvent(t, c, "loki", "loki-0", "d", "Warning", "BackOff", "Back-off restarting failed container", 0)
	m = drive(t, m, TickMsg(demo.Epoch.Add(2*time.Second)))
	if strings.Contains(m.Render(), "BackOff") {
		t.Errorf("read again before the period")
	}
	m = drive(t, m, TickMsg(demo.Epoch.Add(eventsEvery+time.Second)))
	if s := m.Render(); !strings.Contains(s, "BackOff") || !strings.Contains(s, "(4)") {
		t.Errorf("the open view did not read again:\n%s", s)
	}
	if m = keys(t, m, "esc"); len(m.stack) != 0 {
		t.Fatal("esc did not close the events view")
	}
}

// Events that could not be read say why, never "no events".
func TestEventsNotRead(t *testing.T) {
	m, _ := demoModel(t, false)
	m.opt.Events = func(context.Context, kube.Ref, time.Time) (kube.Events, error) {
		return kube.Events{}, kube.ErrEventsForbidden
	}
	m = keys(t, m, "1", "e")
	s := m.Render()
	if !strings.Contains(s, "events not read: forbidden") || strings.Contains(s, "no events") {
		t.Errorf("forbidden events should say so:\n%s", s)
	}
	m, _ = demoModel(t, false)
	m.opt.Events = func(context.Context, kube.Ref, time.Time) (kube.Events, error) {
		return kube.Events{}, errors.New("events not read: dial tcp 127.0.0.1:6443: connect: connection refused")
	}
	s = keys(t, m, "1", "e").Render()
	if !strings.Contains(s, "connection refused") || strings.Contains(s, "no events") {
		t.Errorf("an unreachable server should say so:\n%s", s)
	}
	// A namespace's events are every event in it.
	if !strings.Contains(s, "Events in namespace") {
		t.Errorf("e on a namespace should list the namespace's events:\n%s", s)
	}
}
