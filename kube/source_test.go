package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/ambx/ambx/kube/ambient"
)

// run starts a Source and returns a function that waits for the first
// snapshot satisfying ok.
func run(t *testing.T, c *Clients) func(what string, ok func(*Snapshot) bool) *Snapshot {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan *Snapshot, 64)
	done := make(chan struct{})
	go func() {
		NewSource(c).Run(ctx, func(s *Snapshot) { ch <- s })
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	return func(what string, ok func(*Snapshot) bool) *Snapshot {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-ch:
				if ok(s) {
					return s
				}
			case <-deadline:
				t.Fatalf("no snapshot with %s", what)
			}
		}
	}
}

func TestSourceFollowsTheCluster(t *testing.T) {
	k := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "web", Annotations: map[string]string{"ambient.istio.io/redirection": "enabled"}}},
	)
	next := run(t, &Clients{Kube: k, Istio: istiofake.NewSimpleClientset(), Gateway: gwfake.NewSimpleClientset(), Context: "fake", Fake: true})
	s := next("the pod", func(s *Snapshot) bool { return len(s.Pods) == 1 && s.State(ResPods).Availability == Available })
	if got := s.Mesh.Pods[ambient.Key{Namespace: "apps", Name: "web"}].State; got != ambient.PodCaptured {
		t.Fatalf("pod state %q, want captured", got)
	}
	if s.Context != "fake" || !s.Reachable {
		t.Fatalf("context %q reachable %v", s.Context, s.Reachable)
	}

	ctx := context.Background()
	ns, _ := k.CoreV1().Namespaces().Get(ctx, "apps", metav1.GetOptions{})
	ns.Labels = nil
	if _, err := k.CoreV1().Namespaces().Update(ctx, ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	next("the label change", func(s *Snapshot) bool {
		return s.Mesh.Namespaces["apps"].State == ambient.NamespaceOff
	})
	if err := k.CoreV1().Pods("apps").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next("the pod gone", func(s *Snapshot) bool { return len(s.Pods) == 0 })
}

func TestSourceReportsMissingAndForbiddenResources(t *testing.T) {
	k := fake.NewClientset(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps"}})
	forbidden := apierrors.NewForbidden(schema.GroupResource{Group: "networking.k8s.io", Resource: "networkpolicies"}, "", errors.New(`User "auditor" cannot list resource "networkpolicies"`))
	k.PrependReactor("list", "networkpolicies", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, forbidden
	})
	// client-go may list through a watch (WatchList), so refuse both.
	k.PrependWatchReactor("networkpolicies", func(k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, forbidden
	})
	ist := istiofake.NewSimpleClientset()
	notFound := func(a k8stesting.Action) error {
		return apierrors.NewNotFound(schema.GroupResource{Group: "security.istio.io", Resource: a.GetResource().Resource}, "")
	}
	ist.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, notFound(a)
	})
	ist.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		return true, nil, notFound(a)
	})
	next := run(t, &Clients{Kube: k, Istio: ist, Gateway: gwfake.NewSimpleClientset(), Fake: true})
	s := next("forbidden and missing states", func(s *Snapshot) bool {
		return s.State(ResNetworkPolicies).Availability == Forbidden &&
			s.State(ResAuthorizationPolicies).Availability == Missing &&
			s.State(ResNamespaces).Availability == Available
	})
	if len(s.Namespaces) != 1 {
		t.Fatalf("namespaces %d, want the rest to keep working", len(s.Namespaces))
	}
	if d := s.State(ResNetworkPolicies).Detail; d == "" {
		t.Fatal("forbidden without a reason")
	}
}

func TestIsUnreachable(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{errors.New(`Get "https://127.0.0.1:6443/api": dial tcp 127.0.0.1:6443: connect: connection refused`), true},
		{apierrors.NewServiceUnavailable("down"), true},
		{apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "", errors.New("no")), false},
		{apierrors.NewNotFound(schema.GroupResource{Resource: "gateways"}, ""), false},
	} {
		if got := isUnreachable(tc.err); got != tc.want {
			t.Errorf("isUnreachable(%v) = %v", tc.err, got)
		}
	}
}

func TestSourceWatchesServiceAndWorkloadEntries(t *testing.T) {
	ist := istiofake.NewSimpleClientset(
		&netv1.ServiceEntry{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "payments"}},
		&netv1.WorkloadEntry{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "vm-1"}},
	)
	next := run(t, &Clients{Kube: fake.NewClientset(), Istio: ist, Gateway: gwfake.NewSimpleClientset(), Fake: true})
	next("the entries", func(s *Snapshot) bool {
		return len(s.ServiceEntries) == 1 && s.ServiceEntries[0].Name == "payments" &&
			len(s.WorkloadEntries) == 1 && s.WorkloadEntries[0].Name == "vm-1" &&
			s.State(ResServiceEntries).Availability == Available && s.State(ResWorkloadEntries).Availability == Available
	})
	if err := ist.NetworkingV1().ServiceEntries("apps").Delete(context.Background(), "payments", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next("the service entry gone", func(s *Snapshot) bool { return len(s.ServiceEntries) == 0 && len(s.WorkloadEntries) == 1 })
}

// A server that never answers leaves nothing "loading": every resource
// says it is unreachable, and the snapshot claims no check ran.
func TestSourceUnreachableFromTheStart(t *testing.T) {
	dir := t.TempDir()
	kc := dir + "/kubeconfig"
	// Port 1 on loopback refuses at once.
	if err := os.WriteFile(kc, []byte(`apiVersion: v1
kind: Config
clusters: [{name: dead, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: dead, context: {cluster: dead, user: u}}]
current-context: dead
`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Connect(ConnectOptions{Kubeconfig: kc})
	if err != nil {
		t.Fatal(err)
	}
	next := run(t, c)
	s := next("every resource unreachable", func(s *Snapshot) bool {
		for _, r := range Resources {
			if s.State(r).Availability != Unreachable {
				return false
			}
		}
		return !s.Reachable
	})
	if s.Complete() {
		t.Error("an unreachable cluster's snapshot says every check ran")
	}
	if d := s.State(ResPods).Detail; !strings.Contains(d, "cannot reach API server") {
		t.Errorf("pods detail %q does not say the server is unreachable", d)
	}
}

// Until its first take lists the whole store, a sorted list records no
// keys: during the first list of a large cluster each pod's handler would
// otherwise add its key to a set that take then throws away. After it,
// every touched key is recorded, and take merges the change in.
func TestSortedRecordsKeysOnlyAfterTheFirstTake(t *testing.T) {
	store := cache.NewStore(cache.MetaNamespaceKeyFunc)
	l := newSorted[*corev1.Pod](store)
	pod := func(ns, name string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	}
	for i := range 100 {
		p := pod("shop", fmt.Sprintf("cart-%03d", i))
		_ = store.Add(p)
		l.touch(p)
	}
	if n := len(l.changed); n != 0 {
		t.Errorf("before the first take %d keys were recorded, want none", n)
	}
	if got := l.take(); len(got) != 100 || got[0].Name != "cart-000" || got[99].Name != "cart-099" {
		t.Fatalf("the first take listed %d pods", len(got))
	}
	p := pod("shop", "cart-100")
	_ = store.Add(p)
	l.touch(p)
	if _, ok := l.changed["shop/cart-100"]; !ok || len(l.changed) != 1 {
		t.Errorf("after the first take the changed keys are %v, want shop/cart-100", l.changed)
	}
	if got := l.take(); len(got) != 101 || got[100].Name != "cart-100" {
		t.Errorf("the second take has %d pods, want the new one last of 101", len(got))
	}
}

// Pods that start over some seconds end their capture grace one after
// another. The Source judges them again on the clock, with no event, but
// in batches: one rebuild covers the graces that ended within recheckGap,
// not one rebuild per pod, and no pod is left unjudged.
func TestSourceBatchesGraceRechecks(t *testing.T) {
	running := func(ns, name string, start time.Time, opts ...func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.Time{Time: start}},
			Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.9", StartTime: &metav1.Time{Time: start},
				Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
		for _, o := range opts {
			o(p)
		}
		return p
	}
	long := time.Now().Add(-time.Hour)
	objs := []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "apps", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}},
		running("istio-system", "istio-cni-node-1", long, func(p *corev1.Pod) {
			p.Labels = map[string]string{"k8s-app": "istio-cni-node"}
			p.Spec.HostNetwork = true
		}),
		running("istio-system", "ztunnel-1", long, func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "ztunnel", "istio.io/dataplane-mode": "none"}
			p.Spec.Containers[0].Name = "istio-proxy"
		}),
	}
	// Graces that end 0.4 s apart, from 0.4 s to 4 s from now.
	const young = 10
	now := time.Now()
	for i := range young {
		objs = append(objs, running("apps", fmt.Sprintf("web-%d", i), now.Add(-ambient.CaptureGrace+time.Duration(i+1)*400*time.Millisecond)))
	}
	k := fake.NewClientset(objs...)
	next := run(t, &Clients{Kube: k, Istio: istiofake.NewSimpleClientset(), Gateway: gwfake.NewSimpleClientset(), Context: "fake", Fake: true})
	restarts := func(s *Snapshot) int {
		n := 0
		for i := range young {
			if s.Mesh != nil && s.Mesh.Pods[ambient.Key{Namespace: "apps", Name: fmt.Sprintf("web-%d", i)}].State == ambient.PodNeedsRestart {
				n++
			}
		}
		return n
	}
	first := next("the pods", func(s *Snapshot) bool { return len(s.Pods) == young+2 && s.State(ResPods).Availability == Available })
	if n := restarts(first); n == young {
		t.Fatalf("every pod already needs a restart in the first snapshot: the test's graces ended before it")
	}
	builds := 0
	last := next("every pod judged past its grace", func(s *Snapshot) bool { builds++; return restarts(s) == young })
	// One rebuild recheckGap after the first covers all ten; a second
	// allows for an informer's late sync. Unbatched, rebuilds come a
	// second past each end: four or more here.
	if builds > 2 {
		t.Errorf("%d snapshots between the first and the one that judged all %d pods past their grace, want at most 2 (the rechecks batched)", builds, young)
	}
	if !last.Mesh.Recheck.IsZero() {
		t.Errorf("after every grace ended the analysis still asks for a recheck at %v", last.Mesh.Recheck)
	}
}
