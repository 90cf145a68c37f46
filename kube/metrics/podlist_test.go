package metrics

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"runtime/debug"
	rtmetrics "runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/kube/usage"
)

// largeList is issue 21's cluster as metrics-server reports it: every pod
// of synth.Cluster(10000, 1000, 3000, 500) (10,600) with its labels, which
// metrics-server copies, and one figure per container (sidecar pods have
// an istio-proxy container too) in the units metrics-server uses.
func largeList(tb testing.TB) *metricsv1beta1.PodMetricsList {
	tb.Helper()
	c := synth.Cluster(10000, 1000, 3000, 500)
	now := metav1.NewTime(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC))
	l := &metricsv1beta1.PodMetricsList{}
	for i, p := range c.Pods {
		m := metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Namespace: p.Namespace, Name: p.Name, Labels: p.Labels, CreationTimestamp: now},
			Timestamp:  metav1.NewTime(now.Add(-time.Duration(i%7) * time.Second)),
			Window:     metav1.Duration{Duration: 10 * time.Second},
		}
		for _, ct := range p.Spec.Containers {
			m.Containers = append(m.Containers, metricsv1beta1.ContainerMetrics{Name: ct.Name, Usage: corev1.ResourceList{
				corev1.ResourceCPU:    *resource.NewScaledQuantity(int64(500_000+i%200*1_000_003), resource.Nano),
				corev1.ResourceMemory: *resource.NewQuantity(int64(32+i%256)<<20+int64(i%1000)*1024, resource.BinarySI),
			}})
		}
		l.Items = append(l.Items, m)
	}
	return l
}

var metricsCodecs = func() serializer.CodecFactory {
	s := kruntime.NewScheme()
	if err := metricsv1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s)
}()

// encode writes obj as metrics-server's API server does in media type mt.
func encode(tb testing.TB, obj kruntime.Object, mt string) []byte {
	tb.Helper()
	info, ok := kruntime.SerializerInfoForMediaType(metricsCodecs.SupportedMediaTypes(), mt)
	if !ok {
		tb.Fatalf("no serializer for %s", mt)
	}
	var buf bytes.Buffer
	if err := metricsCodecs.EncoderForVersion(info.Serializer, metricsv1beta1.SchemeGroupVersion).Encode(obj, &buf); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// serve answers every PodMetrics LIST with answer(namespace, media type
// asked for first), on loopback, to a typed client configured as
// kube.Connect does (protobuf first, then JSON).
func serve(tb testing.TB, answer func(ns, accept string) (contentType string, body []byte)) metricsclient.Interface {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, "/apis/metrics.k8s.io/v1beta1/")
		if !ok || !strings.HasSuffix(rest, "pods") {
			http.NotFound(w, r)
			return
		}
		ns := strings.TrimSuffix(strings.TrimPrefix(rest, "namespaces/"), "/pods")
		if rest == "pods" {
			ns = ""
		}
		accept, _, _ := strings.Cut(r.Header.Get("Accept"), ",")
		ct, body := answer(ns, accept)
		w.Header().Set("Content-Type", ct)
		_, _ = w.Write(body)
	}))
	tb.Cleanup(srv.Close)
	cfg := &rest.Config{Host: srv.URL, QPS: -1}
	cfg.AcceptContentTypes = kruntime.ContentTypeProtobuf + "," + kruntime.ContentTypeJSON
	cs, err := metricsclient.NewForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	return cs
}

// serveList serves l (narrowed to the namespace asked for) in protobuf when
// asked and json is false, else in JSON, as metrics-server negotiates.
func serveList(tb testing.TB, l *metricsv1beta1.PodMetricsList, json bool) metricsclient.Interface {
	tb.Helper()
	all := map[string][]byte{}
	for _, mt := range []string{kruntime.ContentTypeProtobuf, kruntime.ContentTypeJSON} {
		all[mt] = encode(tb, l, mt)
	}
	return serve(tb, func(ns, accept string) (string, []byte) {
		mt := kruntime.ContentTypeJSON
		if accept == kruntime.ContentTypeProtobuf && !json {
			mt = accept
		}
		if ns == "" {
			return mt, all[mt]
		}
		part := &metricsv1beta1.PodMetricsList{}
		for _, m := range l.Items {
			if m.Namespace == ns {
				part.Items = append(part.Items, m)
			}
		}
		return mt, encode(tb, part, mt)
	})
}

// typed is the poll as it was before items were decoded one at a time:
// the typed client's List, then the whole list summed.
func typed(tb testing.TB, cs metricsclient.Interface, ns string, now time.Time) *usage.Usage {
	tb.Helper()
	l, err := cs.MetricsV1beta1().PodMetricses(ns).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return usage.FromMetrics(now, l.Items, nil)
}

func sameUsage(a, b *usage.Usage) bool {
	return a.Available == b.Available && a.Problem == b.Problem && a.Namespace == b.Namespace &&
		a.Taken.Equal(b.Taken) && a.Sampled.Equal(b.Sampled) && a.Window == b.Window &&
		maps.Equal(a.Pods, b.Pods) && maps.Equal(a.Proxies, b.Proxies) && (a.Nodes == nil) == (b.Nodes == nil)
}

func TestPollReadsWhatTheTypedListReads(t *testing.T) {
	now := time.Date(2026, 12, 1, 20, 0, 5, 0, time.UTC)
	ts := metav1.NewTime(now.Add(-3 * time.Second))
	pod := func(ns, name string, cs ...metricsv1beta1.ContainerMetrics) metricsv1beta1.PodMetrics {
		return metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
			Timestamp:  ts, Window: metav1.Duration{Duration: 15 * time.Second}, Containers: cs,
		}
	}
	ctr := func(name string, l corev1.ResourceList) metricsv1beta1.ContainerMetrics {
		return metricsv1beta1.ContainerMetrics{Name: name, Usage: l}
	}
	odd := &metricsv1beta1.PodMetricsList{Items: []metricsv1beta1.PodMetrics{
		pod("shop", "cart-1", ctr("cart", list("2500000n", "40960Ki")), ctr("log", list("1500000n", "10Mi")), ctr(usage.ProxyContainer, list("4m", "52Mi"))),
		pod("shop", "no-containers"),
		pod("shop", "cpu-only", ctr("a", corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")})),
		pod("shop", "mem-only", ctr("a", corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("1.5Gi")})),
		pod("shop", "empty-usage", ctr("a", nil)),
		pod("web", "two-proxies", ctr(usage.ProxyContainer, list("1m", "1Mi")), ctr(usage.ProxyContainer, list("2m", "2Mi"))),
		pod("web", "twice", ctr("a", list("1m", "1Mi"))),
		pod("web", "twice", ctr("a", list("7m", "7Mi"))),
		{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: "no-timestamp"}, Containers: []metricsv1beta1.ContainerMetrics{ctr("a", list("3m", "3Mi"))}},
		pod("web", "huge", ctr("a", list("123456789", "1Ei"))),
	}}
	large := largeList(t)
	for _, tc := range []struct {
		name string
		l    *metricsv1beta1.PodMetricsList
		json bool
		ns   string
	}{
		{"10,600 pods in protobuf", large, false, ""},
		{"10,600 pods in JSON", large, true, ""},
		{"one namespace of them in protobuf", large, false, "ns-0042"},
		{"odd pods in protobuf", odd, false, ""},
		{"odd pods in JSON", odd, true, ""},
		{"no pods in protobuf", &metricsv1beta1.PodMetricsList{}, false, ""},
		{"a namespace without pods", odd, false, "none"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := serveList(t, tc.l, tc.json)
			want := typed(t, cs, tc.ns, now)
			want.Namespace = tc.ns
			got, err := Poller{Client: cs}.poll(context.Background(), now, time.Minute, usage.Need{Pods: true, Namespace: tc.ns})
			if err != nil {
				t.Fatal(err)
			}
			if !sameUsage(got, want) {
				t.Errorf("poll read %d pods, %d proxies, sampled %v over %v; the typed list %d, %d, %v over %v",
					len(got.Pods), len(got.Proxies), got.Sampled, got.Window, len(want.Pods), len(want.Proxies), want.Sampled, want.Window)
				for k, r := range want.Pods {
					if got.Pods[k] != r {
						t.Errorf("%v: %+v, want %+v", k, got.Pods[k], r)
					}
				}
			}
			if tc.l == odd && tc.ns == "" {
				// The figures themselves, not only agreement.
				for k, r := range map[string]usage.Resources{
					"shop/cart-1": {CPUMilli: 8, MemBytes: 102 * mi}, "shop/cpu-only": {CPUMilli: 1000},
					"shop/mem-only": {MemBytes: 1536 * mi}, "shop/no-containers": {}, "web/twice": {CPUMilli: 7, MemBytes: 7 * mi},
				} {
					ns, name, _ := strings.Cut(k, "/")
					if g := got.Pods[usage.Key{Namespace: ns, Name: name}]; g != r {
						t.Errorf("%s = %+v, want %+v", k, g, r)
					}
				}
			}
		})
	}
}

func TestPollRefusesBrokenLists(t *testing.T) {
	good := encode(t, &metricsv1beta1.PodMetricsList{Items: []metricsv1beta1.PodMetrics{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "b"}, Containers: []metricsv1beta1.ContainerMetrics{{Name: "c", Usage: list("1m", "1Mi")}}},
	}}, kruntime.ContentTypeProtobuf)
	nodes := encode(t, &metricsv1beta1.NodeMetricsList{Items: []metricsv1beta1.NodeMetrics{{ObjectMeta: metav1.ObjectMeta{Name: "n"}}}}, kruntime.ContentTypeProtobuf)
	for _, tc := range []struct {
		name string
		body []byte
		want string
	}{
		{"cut short", good[:len(good)-5], "decod"},
		{"cut inside the envelope", good[:6], "decod"},
		{"another kind", nodes, `"NodeMetricsList"`},
		{"the envelope only", good[:4], ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := serve(t, func(string, string) (string, []byte) { return kruntime.ContentTypeProtobuf, tc.body })
			u, err := Poller{Client: cs}.poll(context.Background(), t0, time.Minute, usage.Need{Pods: true})
			if err == nil {
				t.Fatalf("poll of a broken list read %d pods, want an error", len(u.Pods))
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to say %q", err, tc.want)
			}
		})
	}
}

// pollCost polls once and says what it allocated and the most it held
// live at once above what was live before. The collector runs at GOGC=1
// meanwhile, so the live heap it finds after each cycle follows the
// poll's own within a few percent.
func pollCost(tb testing.TB, poll func() *usage.Usage) (allocated, peak uint64) {
	tb.Helper()
	runtime.GC()
	samples := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/gc/heap/allocs:bytes"}}
	rtmetrics.Read(samples)
	base, alloc0 := samples[0].Value.Uint64(), samples[1].Value.Uint64()
	old := debug.SetGCPercent(1)
	defer debug.SetGCPercent(old)
	var top atomic.Uint64
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		s := []rtmetrics.Sample{{Name: "/gc/heap/live:bytes"}}
		for {
			rtmetrics.Read(s)
			if v := s[0].Value.Uint64(); v > top.Load() {
				top.Store(v)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Microsecond):
			}
		}
	}()
	u := poll()
	runtime.GC() // the result stays live: it is what the UI keeps
	close(stop)
	<-done
	rtmetrics.Read(samples)
	allocated = samples[1].Value.Uint64() - alloc0
	if t := top.Load(); t > base {
		peak = t - base
	}
	runtime.KeepAlive(u)
	return allocated, peak
}

// TestPollHoldsOneItemAtATime is issue 21's idle memory and CPU: a poll of
// 10,600 PodMetrics used to hold the whole decoded list (≈ 20 MiB above
// what the process kept anyway) while it was summed, and the collector set
// the heap goal from that. Decoded an item at a time, what a poll holds is
// its answer's bytes and the figures it makes; decoded into the same item,
// what it allocates is little more than those.
func TestPollHoldsOneItemAtATime(t *testing.T) {
	if testing.Short() {
		t.Skip("10,600 PodMetrics")
	}
	if raceEnabled {
		t.Skip("the race detector's shadow memory changes the figures")
	}
	cs := serveList(t, largeList(t), false)
	p := Poller{Client: cs, body: new(bytes.Buffer)} // as Run polls
	poll := func() *usage.Usage {
		u, err := p.poll(context.Background(), t0, time.Minute, usage.Need{Pods: true})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	poll() // connection and client set up
	var worst uint64
	for range 3 {
		alloc, peak := pollCost(t, poll)
		worst = max(worst, peak)
		t.Logf("one poll of 10,600 PodMetrics: %.1f MiB allocated, %.1f MiB live at most", mib(alloc), mib(peak))
		// What a poll allocates is what the collector must sweep between
		// polls of an idle explorer: a new usage map for every container
		// (the generated Unmarshal's) was 15.7 MiB of it.
		if alloc > 6<<20 {
			t.Errorf("one poll allocated %.1f MiB, want at most 6 (the envelope's copy of the list: 6.6; a new usage map per container: 15.7; the typed List and FromMetrics: ≈ 39)", mib(alloc))
		}
	}
	if worst > 12<<20 {
		t.Errorf("a poll held %.1f MiB live at once, want at most 12 (the typed List: ≈ 20)", mib(worst))
	}
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// BenchmarkPodMetricsPoll is one idle poll at issue 21's size over
// loopback HTTP: "typed" as before (the typed client's List, then
// usage.FromMetrics), "poller" as the Poller does it now. peak-live-MiB
// is the most held live at once above the standing heap (GOGC=1 while
// measured, so the op's time is not the figure to read).
func BenchmarkPodMetricsPoll(b *testing.B) {
	cs := serveList(b, largeList(b), false)
	p := Poller{Client: cs, body: new(bytes.Buffer)} // as Run polls
	for _, bc := range []struct {
		name string
		poll func() *usage.Usage
	}{
		{"typed", func() *usage.Usage { return typed(b, cs, "", t0) }},
		{"poller", func() *usage.Usage {
			u, err := p.poll(context.Background(), t0, time.Minute, usage.Need{Pods: true})
			if err != nil {
				b.Fatal(err)
			}
			return u
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			bc.poll()
			b.ReportAllocs()
			var peak uint64
			for b.Loop() {
				_, p := pollCost(b, bc.poll)
				peak = max(peak, p)
			}
			b.ReportMetric(mib(peak), "peak-live-MiB")
		})
	}
}

// TestDecodeKeepsTheContainerBufferAcrossAnEmptyItem: an item without
// containers (a pod whose metrics-server scrape had none yet) used to drop
// the kept containers, so the next item grew new ones, each with a new
// usage map, and one such pod in a list undid the reuse for the rest.
func TestDecodeKeepsTheContainerBufferAcrossAnEmptyItem(t *testing.T) {
	l := largeList(t)
	full, empty := l.Items[0], l.Items[1]
	empty.Containers = nil
	if len(full.Containers) == 0 {
		t.Fatal("the first pod of the list has no containers")
	}
	enc := func(m *metricsv1beta1.PodMetrics) []byte {
		b, err := m.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	fullB, emptyB := enc(&full), enc(&empty)
	var item metricsv1beta1.PodMetrics
	if err := decodePodMetrics(fullB, &item); err != nil {
		t.Fatal(err)
	}
	buf := &item.Containers[0]
	if err := decodePodMetrics(emptyB, &item); err != nil {
		t.Fatal(err)
	}
	if len(item.Containers) != 0 || item.Name != empty.Name {
		t.Fatalf("the item without containers decoded as %s with %d containers", item.Name, len(item.Containers))
	}
	allocs := testing.AllocsPerRun(20, func() {
		if err := decodePodMetrics(emptyB, &item); err != nil {
			t.Fatal(err)
		}
		if err := decodePodMetrics(fullB, &item); err != nil {
			t.Fatal(err)
		}
	})
	if &item.Containers[0] != buf {
		t.Error("after an item without containers the next item grew a new container buffer")
	}
	if got := item.Containers[0].Usage[corev1.ResourceCPU]; got.Cmp(full.Containers[0].Usage[corev1.ResourceCPU]) != 0 {
		t.Errorf("cpu decoded as %s, want %s", got.String(), full.Containers[0].Usage.Cpu().String())
	}
	// What is left is the strings and quantities the generated code makes;
	// a new usage map per container, and a new container slice, are more.
	fresh := testing.AllocsPerRun(20, func() {
		var m metricsv1beta1.PodMetrics
		if err := m.Unmarshal(emptyB); err != nil {
			t.Fatal(err)
		}
		m = metricsv1beta1.PodMetrics{}
		if err := m.Unmarshal(fullB); err != nil {
			t.Fatal(err)
		}
	})
	if allocs >= fresh {
		t.Errorf("decoding into the kept item allocated %.0f times per pair, no fewer than a fresh Unmarshal (%.0f)", allocs, fresh)
	}
	t.Logf("allocations per pair: kept item %.0f, fresh Unmarshal %.0f", allocs, fresh)
}
