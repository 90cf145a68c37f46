package podwatch

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/ambx/ambx/kube/kubeenv"
)

// TestClusterWatchDecodesWhatTheServerSends watches the pods of a real API
// server, as the informer does (a streaming list, then changes), through
// NewClient and through client-go's typed client side by side: every event
// is the same pod less the Dropped fields, the list ends with the same
// bookmark, and so does a watch that replays the history.
func TestClusterWatchDecodesWhatTheServerSends(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	node := env.CreateNode(t, "kwok-node-w", nil)
	for i := range 3 {
		p := realistic(i)
		p.Namespace, p.ManagedFields, p.ResourceVersion, p.UID, p.OwnerReferences = "default", nil, "", "", nil
		p.Spec.NodeName = node.Name
		p.Status = corev1.PodStatus{}
		env.CreatePod(t, p)
	}
	hc, err := rest.HTTPClientFor(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := NewClient(env.Config, hc)
	if err != nil {
		t.Fatal(err)
	}
	ours := func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
		o.Watch = true
		return rc.Get().Resource("pods").VersionedParams(&o, scheme.ParameterCodec).Watch(ctx)
	}
	theirs := kubernetes.NewForConfigOrDie(protobufConfig(env.Config)).CoreV1().Pods("").Watch
	yes := true
	list := metav1.ListOptions{SendInitialEvents: &yes, ResourceVersionMatch: metav1.ResourceVersionMatchNotOlderThan, AllowWatchBookmarks: true}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ow, err := ours(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	defer ow.Stop()
	tw, err := theirs(ctx, list)
	if err != nil {
		t.Fatal(err)
	}
	defer tw.Stop()
	// The initial list, each pod as the server has it now, then the
	// bookmark that ends it.
	for n := 0; ; n++ {
		g, w := next(t, ow), next(t, tw)
		same(t, g, w)
		if g.Type == watch.Bookmark {
			p := g.Object.(*corev1.Pod)
			if p.Annotations[metav1.InitialEventsAnnotationKey] != "true" || n != 3 {
				t.Fatalf("bookmark after %d pods: %+v", n, p.ObjectMeta)
			}
			break
		}
		if g.Type != watch.Added {
			t.Fatalf("event %d of the initial list is %s", n, g.Type)
		}
	}
	// A change: a label patched on a pod arrives as MODIFIED on both.
	if _, err := env.Client.CoreV1().Pods("default").Patch(ctx, realistic(1).Name, types.MergePatchType, []byte(`{"metadata":{"labels":{"istio.io/dataplane-mode":"ambient"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		g, w := next(t, ow), next(t, tw)
		same(t, g, w)
		if g.Type == watch.Modified && g.Object.(*corev1.Pod).Labels["istio.io/dataplane-mode"] == "ambient" {
			break
		}
	}
	// A watch from resourceVersion 1 replays the pods' history, served
	// from etcd's rather than the watch cache's encoding: the same again.
	old := metav1.ListOptions{ResourceVersion: "1"}
	ow2, err := ours(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer ow2.Stop()
	tw2, err := theirs(ctx, old)
	if err != nil {
		t.Fatal(err)
	}
	defer tw2.Stop()
	for range 3 {
		same(t, next(t, ow2), next(t, tw2))
	}
}

func protobufConfig(c *rest.Config) *rest.Config {
	c = rest.CopyConfig(c)
	c.ContentType = "application/vnd.kubernetes.protobuf"
	c.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	return c
}

func next(t *testing.T, w watch.Interface) watch.Event {
	t.Helper()
	select {
	case e, ok := <-w.ResultChan():
		if !ok {
			t.Fatal("the watch ended")
		}
		return e
	case <-time.After(30 * time.Second):
		t.Fatal("no event in 30 s")
	}
	return watch.Event{}
}

// same fails unless g, through this package, is w, through client-go,
// less the Dropped fields.
func same(t *testing.T, g, w watch.Event) {
	t.Helper()
	if g.Type != w.Type {
		t.Fatalf("event %s, client-go's %s", g.Type, w.Type)
	}
	gp, ok1 := g.Object.(*corev1.Pod)
	wp, ok2 := w.Object.(*corev1.Pod)
	if !ok1 || !ok2 {
		t.Fatalf("decoded %T, client-go %T", g.Object, w.Object)
	}
	if want := withoutDropped(wp); !reflect.DeepEqual(gp, want) {
		t.Fatalf("%s %s/%s decoded as\n%+v\nwant\n%+v", g.Type, gp.Namespace, gp.Name, gp, want)
	}
	if g.Type != watch.Bookmark && (len(wp.ManagedFields) == 0 || len(wp.Spec.Volumes) == 0 || len(wp.Spec.Containers[0].Env) == 0) {
		t.Fatalf("the server's pod %s has no managed fields, volumes or environment to drop: the test says nothing", fmt.Sprint(wp.Name))
	}
}
