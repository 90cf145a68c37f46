package metrics

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/fake"
	testingclock "k8s.io/utils/clock/testing"

	"github.com/ambx/ambx/kube/usage"
)

var t0 = time.Date(2026, 8, 20, 12, 0, 0, 0, time.UTC)

const mi = 1 << 20

func list(cpu, mem string) corev1.ResourceList {
	return corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)}
}

func seeded(t *testing.T) *fake.Clientset {
	t.Helper()
	cs, err := NewFake(
		&metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "ztunnel-abc"},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "istio-proxy", Usage: list("6m", "8Mi")}},
		},
		&metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1"},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "cart", Usage: list("20m", "100Mi")}},
		},
		&metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: "w1"}, Usage: list("350m", "2Gi")},
	)
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// run drives a Poller over a fake clock. next steps the clock a second at a
// time, only while the poller sleeps, until it publishes.
type run struct {
	t      *testing.T
	clock  *testingclock.FakeClock
	got    chan *usage.Usage
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t *testing.T, cs *fake.Clientset, period time.Duration) *run {
	t.Helper()
	return startWith(t, cs, period, testingclock.NewFakeClock(t0))
}

// startWith runs over a clock the test already handed to its reactors.
func startWith(t *testing.T, cs *fake.Clientset, period time.Duration, clk *testingclock.FakeClock) *run {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{t: t, clock: clk, got: make(chan *usage.Usage, 100), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		Poller{Client: cs, Period: period, Clock: r.clock}.Run(ctx, func(u *usage.Usage) { r.got <- u })
	}()
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *run) next() *usage.Usage {
	r.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case u := <-r.got:
			return u
		default:
		}
		if r.clock.HasWaiters() {
			// The poller publishes before it sleeps again: look once more
			// so a new sleep is not shortened by a step meant for the old.
			select {
			case u := <-r.got:
				return u
			default:
			}
			r.clock.Step(time.Second)
			continue
		}
		time.Sleep(50 * time.Microsecond)
	}
	r.t.Fatal("the poller published nothing")
	return nil
}

// offsets returns when the next n polls started, in seconds after t0.
func (r *run) offsets(n int) []int {
	r.t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = int(r.next().Taken.Sub(t0) / time.Second)
	}
	return out
}

func (r *run) stop() {
	r.cancel()
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.t.Fatal("Run did not return after its context was cancelled")
	}
}

func equal(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestNewFakeListsSeededObjects(t *testing.T) {
	cs := seeded(t)
	pods, err := cs.MetricsV1beta1().PodMetricses("").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(pods.Items) != 2 {
		t.Fatalf("listing seeded PodMetrics in all namespaces: %d items, %v; want 2", len(pods.Items), err)
	}
	nodes, err := cs.MetricsV1beta1().NodeMetricses().List(context.Background(), metav1.ListOptions{})
	if err != nil || len(nodes.Items) != 1 {
		t.Fatalf("listing seeded NodeMetrics: %d items, %v; want 1", len(nodes.Items), err)
	}
	if _, err := NewFake(&corev1.Pod{}); err == nil {
		t.Error("NewFake accepted a Pod")
	}
}

func TestPollerPublishesUsageEveryPeriod(t *testing.T) {
	cs := seeded(t)
	r := start(t, cs, 2*time.Second)

	u := r.next()
	if !u.Available || u.Problem != "" || !u.Taken.Equal(t0) {
		t.Fatalf("first poll: Available=%v Problem=%q Taken=%v", u.Available, u.Problem, u.Taken)
	}
	if got, want := u.Pods[usage.Key{Namespace: "shop", Name: "cart-1"}], (usage.Resources{CPUMilli: 20, MemBytes: 100 * mi}); got != want {
		t.Errorf("shop/cart-1 = %+v, want %+v", got, want)
	}
	if got, want := u.Nodes["w1"], (usage.Resources{CPUMilli: 350, MemBytes: 2048 * mi}); got != want {
		t.Errorf("node w1 = %+v, want %+v", got, want)
	}
	if got := r.offsets(3); !equal(got, []int{2, 4, 6}) {
		t.Errorf("polls at %v s, want every 2s: [2 4 6]", got)
	}
	r.stop()

	// One LIST of each resource per poll, nothing else.
	var pods, nodes, other int
	for _, a := range cs.Actions() {
		switch {
		case a.Matches("list", "pods"):
			pods++
		case a.Matches("list", "nodes"):
			nodes++
		default:
			other++
		}
	}
	if pods != 4 || nodes != 4 || other != 0 {
		t.Errorf("4 polls made %d pod LISTs, %d node LISTs and %d other calls; want 4, 4, 0", pods, nodes, other)
	}
}

func TestPollerWithoutMetricsAPI(t *testing.T) {
	gr := schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}
	for _, tc := range []struct {
		name    string
		err     error
		problem string
	}{
		{"no metrics-server: group not served", apierrors.NewNotFound(gr, ""),
			"metrics unavailable: metrics.k8s.io is not served (is metrics-server installed?)"},
		{"APIService registered, metrics-server down", apierrors.NewServiceUnavailable("the server is currently unable to handle the request"),
			"metrics unavailable: metrics.k8s.io is registered but not answering (is metrics-server running?)"},
		{"RBAC forbids it", apierrors.NewForbidden(gr, "", errors.New(`User "dev" cannot list resource "pods" in API group "metrics.k8s.io" at the cluster scope`)),
			"metrics unavailable: forbidden: RBAC does not allow listing metrics.k8s.io pods and nodes"},
		{"discovery failure", &discovery.ErrGroupDiscoveryFailed{Groups: map[schema.GroupVersion]error{metricsv1beta1.SchemeGroupVersion: errors.New("stale GroupVersion discovery")}},
			"metrics unavailable: metrics.k8s.io is not served (is metrics-server installed?)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := seeded(t)
			var broken atomic.Bool
			broken.Store(true)
			cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				if broken.Load() {
					return true, nil, tc.err
				}
				return false, nil, nil
			})
			r := start(t, cs, 2*time.Second)

			u := r.next()
			if u.Available || u.Problem != tc.problem || len(u.Pods) != 0 {
				t.Fatalf("got Available=%v Problem=%q with %d pods; want unavailable with %q", u.Available, u.Problem, len(u.Pods), tc.problem)
			}
			// Retried ever more slowly: waits of 4, 8, 16, then 30s at most.
			if got, want := r.offsets(5), []int{4, 12, 28, 58, 88}; !equal(got, want) {
				t.Errorf("retries at %v s, want %v", got, want)
			}
			// Once metrics-server appears, figures return at the normal pace.
			broken.Store(false)
			u = r.next()
			if !u.Available || u.Problem != "" || len(u.Pods) != 2 {
				t.Fatalf("after recovery: Available=%v Problem=%q pods=%d", u.Available, u.Problem, len(u.Pods))
			}
			if got, want := r.offsets(2), []int{120, 122}; !equal(got, want) {
				t.Errorf("after recovery polls at %v s, want %v", got, want)
			}
		})
	}
}

func TestPollerBacksOffWhenSlow(t *testing.T) {
	cs := seeded(t)
	clk := testingclock.NewFakeClock(t0)
	var slow atomic.Int32
	slow.Store(2)
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if slow.Add(-1) >= 0 {
			clk.Step(3 * time.Second) // this LIST took 3s, more than the period
		}
		return false, nil, nil
	})
	r := startWith(t, cs, 2*time.Second, clk)

	u := r.next()
	if !u.Available || len(u.Pods) != 2 || u.Problem != "metrics API slow (3s); polling every 4s" {
		t.Fatalf("slow poll: Available=%v pods=%d Problem=%q", u.Available, len(u.Pods), u.Problem)
	}
	// 0→3s slow, wait 4s; 7→10s slow, wait 8s; 18s fast, back to 2s.
	if got, want := r.offsets(3), []int{7, 18, 20}; !equal(got, want) {
		t.Errorf("polls at %v s, want %v", got, want)
	}
}

func TestPollerKeepsLastFiguresOnPassingError(t *testing.T) {
	cs := seeded(t)
	var fail atomic.Bool
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		if fail.Load() {
			return true, nil, apierrors.NewInternalError(errors.New("etcd leader changed"))
		}
		return false, nil, nil
	})
	r := start(t, cs, 2*time.Second)
	first := r.next()

	fail.Store(true)
	u := r.next()
	want := "metrics stale since 12:00:00: Internal error occurred: etcd leader changed; retrying every 4s"
	if !u.Available || u.Problem != want || len(u.Pods) != 2 || !u.Taken.Equal(first.Taken) {
		t.Fatalf("after a passing error: Available=%v pods=%d Taken=%v Problem=%q; want the first figures with %q",
			u.Available, len(u.Pods), u.Taken, u.Problem, want)
	}
	if first.Problem != "" {
		t.Errorf("the first published Usage was changed afterwards: Problem=%q", first.Problem)
	}
	fail.Store(false)
	if u := r.next(); u.Problem != "" || !u.Taken.Equal(t0.Add(6*time.Second)) {
		t.Errorf("after recovery: Problem=%q Taken=%v, want fresh figures at +6s", u.Problem, u.Taken)
	}
}

func TestPollerWithoutNodeMetrics(t *testing.T) {
	cs := seeded(t)
	cs.PrependReactor("list", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "metrics.k8s.io", Resource: "nodes"}, "", errors.New("no"))
	})
	r := start(t, cs, 2*time.Second)
	u := r.next()
	if !u.Available || len(u.Pods) != 2 || len(u.Nodes) != 0 ||
		u.Problem != "node metrics: forbidden: RBAC does not allow listing metrics.k8s.io pods and nodes" {
		t.Fatalf("Available=%v pods=%d nodes=%d Problem=%q", u.Available, len(u.Pods), len(u.Nodes), u.Problem)
	}
	// Pod figures are fine, so no backoff.
	if got := r.offsets(1); !equal(got, []int{2}) {
		t.Errorf("next poll at %v s, want 2", got)
	}
}

func TestPollerStopsWhenCancelled(t *testing.T) {
	t.Run("while sleeping", func(t *testing.T) {
		cs := seeded(t)
		r := start(t, cs, 2*time.Second)
		r.next()
		n := len(cs.Actions())
		r.stop()
		if len(cs.Actions()) != n {
			t.Errorf("%d API calls after cancel", len(cs.Actions())-n)
		}
	})
	t.Run("during a LIST", func(t *testing.T) {
		cs := seeded(t)
		ctx, cancel := context.WithCancel(context.Background())
		cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
			cancel() // the user quits while the request is in flight
			return true, nil, context.Canceled
		})
		published := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			Poller{Client: cs, Clock: testingclock.NewFakeClock(t0)}.Run(ctx, func(*usage.Usage) { published++ })
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
		}
		if published != 0 {
			t.Errorf("published %d results after the context was cancelled", published)
		}
	})
}

func TestPollerWithoutClient(t *testing.T) {
	var got []*usage.Usage
	Poller{Clock: testingclock.NewFakeClock(t0)}.Run(context.Background(), func(u *usage.Usage) { got = append(got, u) })
	if len(got) != 1 || got[0].Available || got[0].Problem != "metrics unavailable: no metrics client configured" {
		t.Fatalf("got %+v, want one unavailable Usage saying there is no client", got)
	}
}
