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

// scraper plays metrics-server on the fake clock: a scrape every res from
// first on, each sample stamped lag before the scrape that stored it (the
// kubelet sampled it earlier), as PodMetrics report it. skew shifts the
// server's clock against the poller's.
type scraper struct {
	clk              *testingclock.FakeClock
	first, res, lag  time.Duration
	skew             time.Duration
	window           time.Duration
	lists, stalePoll atomic.Int32
	lastStamp        atomic.Int64
}

func (s *scraper) install(cs *fake.Clientset) {
	cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
		s.lists.Add(1)
		since := s.clk.Now().Sub(t0)
		if since < s.first {
			return true, &metricsv1beta1.PodMetricsList{}, nil
		}
		scrape := t0.Add(s.first + (since-s.first)/s.res*s.res)
		stamp := scrape.Add(-s.lag + s.skew)
		if s.lastStamp.Swap(stamp.UnixNano()) == stamp.UnixNano() {
			s.stalePoll.Add(1)
		}
		return true, &metricsv1beta1.PodMetricsList{Items: []metricsv1beta1.PodMetrics{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1"},
			Timestamp:  metav1.NewTime(stamp),
			Window:     metav1.Duration{Duration: s.window},
			Containers: []metricsv1beta1.ContainerMetrics{{Name: "cart", Usage: list("20m", "100Mi")}},
		}}}, nil
	})
}

func TestPollerFollowsTheMetricsResolution(t *testing.T) {
	for _, tc := range []struct {
		name string
		skew time.Duration
	}{
		{"clocks agree", 0},
		{"server clock 5 minutes behind", -5 * time.Minute},
		{"server clock 3 minutes ahead", 3 * time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := seeded(t)
			clk := testingclock.NewFakeClock(t0)
			s := &scraper{clk: clk, first: 5 * time.Second, res: 15 * time.Second, lag: 4 * time.Second, skew: tc.skew, window: 15 * time.Second}
			s.install(cs)
			r := startWith(t, cs, 0, clk)
			var taken []time.Time
			for len(taken) == 0 || taken[len(taken)-1].Sub(t0) < 10*time.Minute {
				taken = append(taken, r.next().Taken)
			}
			// Ten minutes hold 40 samples; one poll each, plus the first
			// (before any sample) and the few that find their aim.
			if n := len(taken); n > 44 {
				t.Errorf("%d polls in 10 minutes of a 15 s resolution, want at most 44", n)
			}
			// Once the aim is learnt, no poll reads a sample twice and
			// each reads it within a few seconds of its arrival.
			stale := s.stalePoll.Load()
			t.Logf("%d polls, %d found no new sample", len(taken), stale)
			if stale > 2 {
				t.Errorf("%d polls found no new sample, want at most 2", stale)
			}
			for _, at := range taken[len(taken)-10:] {
				since := at.Sub(t0) - s.first
				late := since % s.res
				if late > 4*time.Second {
					t.Errorf("poll at +%s came %s after the scrape, want within 4s", at.Sub(t0), late)
				}
			}
			if got := taken[len(taken)-1].Sub(taken[len(taken)-2]); got != 15*time.Second {
				t.Errorf("settled polls %s apart, want the resolution, 15s", got)
			}
		})
	}
}

func TestPollerResolutionFromWindow(t *testing.T) {
	for _, tc := range []struct {
		name   string
		window time.Duration
		want   []int
	}{
		// The kubeenv fake's figures never change: after one look
		// between samples and one at the known-good aim, a poll per window.
		{"static figures, 10 s window", 10 * time.Second, []int{5, 10, 20, 30, 40}},
		{"no window: metrics-server's default", 0, []int{8, 15, 30, 45, 60}},
		{"absurdly short window", time.Nanosecond, []int{1, 2, 3, 4, 5}},
		{"absurdly long window", 10 * time.Hour, []int{60, 120, 240, 360, 480}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := seeded(t)
			stamp := metav1.NewTime(t0.Add(-3 * time.Second))
			cs.PrependReactor("list", "pods", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, &metricsv1beta1.PodMetricsList{Items: []metricsv1beta1.PodMetrics{{
					ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-1"},
					Timestamp:  stamp, Window: metav1.Duration{Duration: tc.window},
				}}}, nil
			})
			r := start(t, cs, 0)
			r.next()
			if got := r.offsets(5); !equal(got, tc.want) {
				t.Errorf("polls at %v s, want %v", got, tc.want)
			}
		})
	}
}

// polls counts the metrics LISTs by resource and namespace.
func polls(cs *fake.Clientset) map[string]int {
	out := map[string]int{}
	for _, a := range cs.Actions() {
		if a.GetVerb() == "list" {
			out[a.GetResource().Resource+"@"+a.GetNamespace()]++
		}
	}
	return out
}

// settle waits until the poller is asleep (on a timer or the demand).
func settle(t *testing.T, clk *testingclock.FakeClock, cs *fake.Clientset, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(cs.Actions()) >= want {
			time.Sleep(time.Millisecond) // let it reach its select
			return
		}
		time.Sleep(50 * time.Microsecond)
	}
	t.Fatalf("poller made %d calls, want %d", len(cs.Actions()), want)
}

func TestPollerListsOnlyWhatTheScreenNeeds(t *testing.T) {
	cs := seeded(t)
	clk := testingclock.NewFakeClock(t0)
	d := NewDemand(usage.Need{})
	got := make(chan *usage.Usage, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Poller{Client: cs, Demand: d, Clock: clk}.Run(ctx, func(u *usage.Usage) { got <- u })
	}()
	defer func() { cancel(); <-done }()

	// Nothing on screen needs metrics: a minute passes without a request.
	for range 60 {
		clk.Step(time.Second)
	}
	time.Sleep(5 * time.Millisecond)
	if n := len(cs.Actions()); n != 0 {
		t.Fatalf("%d requests while nothing needed metrics, want none", n)
	}

	// A namespace's pods come on screen: its PodMetrics at once, no nodes.
	d.Set(usage.Need{Pods: true, Namespace: "shop"})
	u := <-got
	if !u.Available || u.Namespace != "shop" || u.Nodes != nil {
		t.Fatalf("Available=%v Namespace=%q Nodes=%v; want shop's pods only", u.Available, u.Namespace, u.Nodes)
	}
	if cpu, _ := u.Cells(usage.Key{Namespace: "istio-system", Name: "ztunnel-abc"}); cpu != "…" {
		t.Errorf("a pod outside the namespace read shows %q, want … (not read)", cpu)
	}
	if want := map[string]int{"pods@shop": 1}; !sameCounts(polls(cs), want) {
		t.Errorf("LISTs %v, want %v", polls(cs), want)
	}

	// Narrowing asks nothing new; widening to every namespace polls at once.
	settle(t, clk, cs, 1)
	d.Set(usage.Need{Pods: true, Namespace: "shop"})
	d.Set(usage.Need{Pods: true})
	u = <-got
	if u.Namespace != "" || len(u.Pods) != 2 || !u.Taken.Equal(clk.Now()) {
		t.Fatalf("after widening: Namespace=%q pods=%d Taken=%v", u.Namespace, len(u.Pods), u.Taken)
	}
	settle(t, clk, cs, 2)
	d.Set(usage.Need{Pods: true, Namespace: "istio-system"})
	time.Sleep(5 * time.Millisecond)
	if n := len(cs.Actions()); n != 2 {
		t.Errorf("narrowing to a namespace the last poll covered made %d requests, want none", n-2)
	}
	// Nodes were never asked for, so never listed.
	if c := polls(cs); c["nodes@"] != 0 {
		t.Errorf("%d NodeMetrics LISTs though no pane needs them", c["nodes@"])
	}
	d.Set(usage.Need{Pods: true, Nodes: true})
	u = <-got
	if u.Nodes["w1"].CPUMilli != 350 {
		t.Errorf("nodes asked for: w1 = %+v, want 350m", u.Nodes["w1"])
	}
}

func sameCounts(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
