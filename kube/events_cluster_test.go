package kube_test

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/kubeenv"
)

// Events are read from the real API server with a field selector: a pod's
// own (from both recorders, the old core/v1 one and events.k8s.io's, which
// leaves count and lastTimestamp empty), newest first, not its
// neighbour's; a namespace's are all of it; a user without the right is
// told so instead of being shown none.
func TestClusterReadEvents(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	ctx := context.Background()
	env.CreateNamespace(t, "shop", nil)
	now := time.Now().Truncate(time.Second)
	old := func(name, pod, reason string, count int32, age time.Duration) {
		t.Helper()
		at := metav1.NewTime(now.Add(-age))
		if _, err := env.Client.CoreV1().Events("shop").Create(ctx, &corev1.Event{
			ObjectMeta:     metav1.ObjectMeta{Name: name},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: pod},
			Type:           "Warning", Reason: reason, Message: reason + " of " + pod, Count: count,
			FirstTimestamp: at, LastTimestamp: at, Source: corev1.EventSource{Component: "kubelet"},
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	old("web-1.a", "web-1", "BackOff", 7, time.Minute)
	old("web-2.a", "web-2", "Neighbour", 1, time.Second)
	// events.k8s.io/v1: eventTime and a series, no deprecated fields.
	if _, err := env.Client.EventsV1().Events("shop").Create(ctx, &eventsv1.Event{
		ObjectMeta: metav1.ObjectMeta{Name: "web-1.b"},
		Regarding:  corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: "shop", Name: "web-1"},
		EventTime:  metav1.NewMicroTime(now.Add(-time.Hour)),
		Series:     &eventsv1.EventSeries{Count: 4, LastObservedTime: metav1.NewMicroTime(now.Add(-10 * time.Second))},
		Type:       "Normal", Reason: "Pulled", Note: "image pulled", Action: "Pull",
		ReportingController: "example.com/puller", ReportingInstance: "puller-1",
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	got, err := kube.ReadEvents(ctx, env.Client, kube.Ref{Kind: kube.KindPod, Namespace: "shop", Name: "web-1"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Items) != 2 {
		t.Fatalf("web-1's events: %+v", got.Items)
	}
	if a, b := got.Items[0], got.Items[1]; a.Reason != "Pulled" || a.Count != 4 || !a.Last.Equal(now.Add(-10*time.Second)) || a.Source != "example.com/puller" || a.Message != "image pulled" ||
		b.Reason != "BackOff" || b.Count != 7 || b.Type != "Warning" || b.Source != "kubelet" {
		t.Errorf("events newest first, both recorders read:\n%+v\n%+v", a, b)
	}

	all, err := kube.ReadEvents(ctx, env.Client, kube.Ref{Kind: kube.KindNamespace, Name: "shop"}, now)
	if err != nil || len(all.Items) != 3 || all.Items[0].Reason != "Neighbour" || all.Items[0].Object != "Pod/web-2" {
		t.Errorf("shop's events: %+v, %v", all.Items, err)
	}

	cfg, err := env.KubeconfigFor(kubeenv.LimitedUser)
	if err != nil {
		t.Fatal(err)
	}
	limited, err := kube.Connect(kube.ConnectOptions{Kubeconfig: cfg})
	if err != nil {
		t.Fatal(err)
	}
	_, err = kube.ReadEvents(ctx, limited.Kube, kube.Ref{Kind: kube.KindPod, Namespace: "shop", Name: "web-1"}, now)
	if !errors.Is(err, kube.ErrEventsForbidden) {
		t.Errorf("a user without the right: err %v, want forbidden", err)
	}
}
