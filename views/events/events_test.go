package events_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/events"
	"github.com/ambx/ambx/views/golden"
)

var (
	now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pod = kube.Ref{Kind: kube.KindPod, Namespace: "shop", Name: "web-1"}
)

func sample(ref kube.Ref) kube.Events {
	return kube.Events{Ref: ref, Read: now.Add(-3 * time.Second), Items: []kube.Event{
		{Type: "Warning", Reason: "BackOff", Object: "Pod/web-1", Source: "kubelet", Count: 42, Last: now.Add(-20 * time.Second),
			Message: "Back-off restarting failed container web in pod web-1_shop(0b7c) because the readiness probe on port 8080 kept failing"},
		{Type: "Normal", Reason: "Pulled", Object: "Pod/web-1", Source: "kubelet", Count: 1, Last: now.Add(-5 * time.Minute),
			Message: "Container image \"example/web:1\" already present on machine"},
		// Written by anyone who may create events: escape sequences and
		// line breaks must not reach the terminal.
		{Type: "Normal", Reason: "Evil\x1b[2J", Object: "Pod/web-1", Source: "x\x07", Count: 1, Last: now.Add(-2 * time.Hour),
			Message: "line one\r\nline two \x1b]52;c;aGk=\x07 done"},
	}}
}

func open(ref kube.Ref, w, h int) events.Model {
	return events.New(theme.Plain, ref, 1).SetSize(w, h).SetNow(now)
}

func TestEventsView(t *testing.T) {
	t.Run("reading", func(t *testing.T) {
		golden.RequireEqual(t, open(pod, 100, 8).View(100, 8))
	})
	t.Run("list 120x14", func(t *testing.T) {
		m, _ := open(pod, 120, 14).Update(events.Loaded{Gen: 1, Events: sample(pod)})
		golden.RequireEqual(t, m.View(120, 14))
	})
	t.Run("list 80x12 moved", func(t *testing.T) {
		m, _ := open(pod, 80, 12).Update(events.Loaded{Gen: 1, Events: sample(pod)})
		m, _ = m.Update(tea.KeyPressMsg{Code: 'j', Text: "j"})
		golden.RequireEqual(t, m.View(80, 12))
	})
	t.Run("namespace", func(t *testing.T) {
		ns := kube.Ref{Kind: kube.KindNamespace, Name: "shop"}
		e := sample(ns)
		e.Truncated = true
		m, _ := open(ns, 140, 10).Update(events.Loaded{Gen: 1, Events: e})
		golden.RequireEqual(t, m.View(140, 10))
	})
	t.Run("none", func(t *testing.T) {
		m, _ := open(pod, 100, 6).Update(events.Loaded{Gen: 1, Events: kube.Events{Ref: pod, Read: now}})
		golden.RequireEqual(t, m.View(100, 6))
	})
	t.Run("forbidden", func(t *testing.T) {
		m, _ := open(pod, 100, 6).Update(events.Loaded{Gen: 1, Err: kube.ErrEventsForbidden})
		golden.RequireEqual(t, m.View(100, 6))
	})
	t.Run("read failed after a read", func(t *testing.T) {
		m, _ := open(pod, 100, 10).Update(events.Loaded{Gen: 1, Events: sample(pod)})
		m, _ = m.Reread().Update(events.Loaded{Gen: 1, Err: errors.New("events not read: connection refused")})
		golden.RequireEqual(t, m.View(100, 10))
	})
}

// What was never read never reads as "no events"; a read for another view
// is ignored; control characters never reach the screen.
func TestEventsTruth(t *testing.T) {
	for _, m := range []events.Model{
		open(pod, 100, 8),
		func() events.Model {
			m, _ := open(pod, 100, 8).Update(events.Loaded{Gen: 1, Err: errors.New("dial tcp 127.0.0.1:1: connect: connection refused")})
			return m
		}(),
	} {
		if v := m.View(100, 8); strings.Contains(v, "no events") {
			t.Errorf("unread events shown as none:\n%s", v)
		}
	}
	m, _ := open(pod, 100, 8).Update(events.Loaded{Gen: 2, Events: sample(pod)})
	if !strings.Contains(m.View(100, 8), "reading the events") {
		t.Errorf("a read for another view was taken:\n%s", m.View(100, 8))
	}
	m, _ = open(pod, 120, 14).Update(events.Loaded{Gen: 1, Events: sample(pod)})
	for _, k := range []string{"j", "j"} {
		m, _ = m.Update(tea.KeyPressMsg{Code: rune(k[0]), Text: k})
	}
	v := m.View(120, 14)
	if strings.ContainsAny(v, "\x1b\x07\r") {
		t.Errorf("control characters on screen: %q", v)
	}
	if !strings.Contains(v, "BackOff") || strings.Index(v, "BackOff") > strings.Index(v, "Pulled") {
		t.Errorf("events should be listed newest first:\n%s", v)
	}
}
