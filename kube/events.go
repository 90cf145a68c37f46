package kube

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
)

// Event is one Kubernetes event, as the events view shows it. Its text is
// the cluster's, unsanitized: views make it safe.
type Event struct {
	Type    string // Normal, Warning (anything else as the cluster says)
	Reason  string
	Message string
	// Object is the event's object, "Kind/name", for a namespace's events
	// that are about many objects.
	Object string
	Source string // the component that reported it
	Count  int32
	Last   time.Time // when it was last seen
}

// Events are the events read about one object, newest first.
type Events struct {
	Ref   Ref
	Items []Event
	// Truncated says the server had more than EventLimit: the list is a
	// part, not all.
	Truncated bool
	Read      time.Time
}

// EventLimit bounds one read: a namespace in a crash loop can hold
// thousands of events, and a view needs the recent ones.
const EventLimit = 500

// ErrEventsForbidden is returned when the user may not list events.
var ErrEventsForbidden = errors.New("forbidden: listing events needs the list verb on events")

// ReadEvents lists the events about r with a field selector, the way
// kubectl describe finds them: read on demand, not watched. A namespace's
// events are every event in it (about any of its objects).
func ReadEvents(ctx context.Context, c kubernetes.Interface, r Ref, now time.Time) (Events, error) {
	out := Events{Ref: r, Read: now}
	if c == nil {
		return out, errors.New("not connected")
	}
	opts := metav1.ListOptions{Limit: EventLimit}
	ns := r.Namespace
	switch r.Kind {
	case KindNamespace:
		ns = r.Name
	case "":
		return out, errors.New("no object selected")
	default:
		sel := fields.Set{"involvedObject.kind": string(r.Kind), "involvedObject.name": r.Name}
		if r.Namespace != "" {
			sel["involvedObject.namespace"] = r.Namespace
		}
		opts.FieldSelector = sel.AsSelector().String()
	}
	list, err := c.CoreV1().Events(ns).List(ctx, opts)
	switch {
	case apierrors.IsForbidden(err):
		return out, ErrEventsForbidden
	case err != nil:
		return out, fmt.Errorf("events not read: %w", err)
	}
	out.Truncated = list.Continue != ""
	for i := range list.Items {
		e := &list.Items[i]
		// The server applied the selector; fake clientsets (the demo)
		// ignore field selectors, and a wrong event is worse than none.
		if !about(e, r) {
			continue
		}
		out.Items = append(out.Items, eventOf(e))
	}
	sort.SliceStable(out.Items, func(a, b int) bool { return out.Items[a].Last.After(out.Items[b].Last) })
	return out, nil
}

// eventOf reads an event written by either recorder: the old one sets
// count and lastTimestamp, events.k8s.io's sets a series and eventTime
// and leaves those empty.
func eventOf(e *corev1.Event) Event {
	ev := Event{Type: e.Type, Reason: e.Reason, Message: e.Message, Count: e.Count,
		Object: e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name,
		Source: e.Source.Component}
	if ev.Source == "" {
		ev.Source = e.ReportingController
	}
	switch {
	case !e.LastTimestamp.IsZero():
		ev.Last = e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		ev.Last = e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		ev.Last = e.EventTime.Time
	case !e.FirstTimestamp.IsZero():
		ev.Last = e.FirstTimestamp.Time
	default:
		ev.Last = e.CreationTimestamp.Time
	}
	if ev.Count == 0 && e.Series != nil {
		ev.Count = e.Series.Count
	}
	if ev.Count == 0 {
		ev.Count = 1
	}
	return ev
}

// about reports whether e is one of r's events.
func about(e *corev1.Event, r Ref) bool {
	if r.Kind == KindNamespace {
		return e.Namespace == r.Name
	}
	o := e.InvolvedObject
	return o.Kind == string(r.Kind) && o.Name == r.Name && o.Namespace == r.Namespace
}
