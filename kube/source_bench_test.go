package kube

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/cache"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/netpol"
	"github.com/ambx/ambx/kube/synth"
)

// The size issue 9 names: 10,000 pods, 1,000 namespaces, 3,000 Services,
// 500 Istio policies; withNetworkPolicies adds 500 NetworkPolicies so the
// HBONE checks have work to do.
func bigCluster() *ambient.Cluster {
	return withNetworkPolicies(synth.Cluster(10000, 1000, 3000, 500), 500)
}

// withNetworkPolicies adds n NetworkPolicies of the kinds people write:
// an app port from one namespace, default-deny ingress, and egress to DNS
// only. Most of them block HBONE in ambient namespaces, as they would.
func withNetworkPolicies(c *ambient.Cluster, n int) *ambient.Cluster {
	tcp, udp := corev1.ProtocolTCP, corev1.ProtocolUDP
	app, dns := intstr.FromInt32(8080), intstr.FromInt32(53)
	nss := c.Namespaces[1:] // after istio-system
	for i := range n {
		ns := nss[i%len(nss)].Name
		np := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("netpol-%05d", i)}}
		switch i % 3 {
		case 0:
			np.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("app-%03d", i%20)}}
			np.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": nss[(i+1)%len(nss)].Name}}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &app}},
			}}
		case 1:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
		case 2:
			np.Spec.PolicyTypes = []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
			np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{{Protocol: &udp, Port: &dns}}}}
		}
		c.NetworkPolicies = append(c.NetworkPolicies, np)
	}
	sortObjects(c.NetworkPolicies)
	return c
}

// cachedSource is a Source whose informers never run: their stores hold c,
// as synced caches would, so build reads exactly what it reads in ambx.
func cachedSource(tb testing.TB, c *ambient.Cluster) *Source {
	tb.Helper()
	s := NewSource(&Clients{Context: "bench"})
	load(tb, s, ResNamespaces, c.Namespaces)
	load(tb, s, ResPods, c.Pods)
	load(tb, s, ResServices, c.Services)
	load(tb, s, ResNodes, c.Nodes)
	load(tb, s, ResNetworkPolicies, c.NetworkPolicies)
	load(tb, s, ResGateways, c.Gateways)
	load(tb, s, ResGatewayClasses, c.GatewayClasses)
	load(tb, s, ResAuthorizationPolicies, c.AuthorizationPolicies)
	load(tb, s, ResPeerAuthentications, c.PeerAuthentications)
	load(tb, s, ResRequestAuthentications, c.RequestAuthentications)
	return s
}

func load[T interface {
	object
	runtime.Object
}](tb testing.TB, s *Source, r Resource, objs []T) {
	var example T
	inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, example, 0, cache.Indexers{})
	add[T](s, r, inf)
	for _, o := range objs {
		if err := inf.GetStore().Add(o); err != nil {
			tb.Fatal(err)
		}
	}
}

// apply does to a cache what an informer does on an event: the store
// first, then the handler. del deletes the object at key.
func apply[T object](s *Source, r Resource, key string, obj T, del bool) {
	store := s.informers[r].GetStore()
	if del {
		old, _, _ := store.GetByKey(key)
		_ = store.Delete(old)
		s.lists[r].(*sorted[T]).touch(old)
		return
	}
	_ = store.Update(obj)
	s.lists[r].(*sorted[T]).touch(obj)
}

func objects[T runtime.Object](in []T) []runtime.Object {
	out := make([]runtime.Object, len(in))
	for i, o := range in {
		out[i] = o
	}
	return out
}

// BenchmarkCollect is the copy-and-sort part of a rebuild: "all" reads every
// cache and sorts it, as the first snapshot does; "one-pod" is a rebuild
// after one pod changed, the common case on a busy cluster.
func BenchmarkCollect(b *testing.B) {
	c := bigCluster()
	b.Run("all", func(b *testing.B) {
		s := cachedSource(b, c)
		b.ReportAllocs()
		for b.Loop() {
			relistAll(s.lists)
			collect(s.lists)
		}
	})
	b.Run("one-pod", func(b *testing.B) {
		s := cachedSource(b, c)
		collect(s.lists)
		i := 0
		b.ReportAllocs()
		for b.Loop() {
			p := c.Pods[(i*7919)%len(c.Pods)].DeepCopy()
			p.ResourceVersion = fmt.Sprint(i)
			i++
			apply(s, ResPods, "", p, false)
			collect(s.lists)
		}
	})
}

// BenchmarkBuildSnapshot is a whole rebuild as the Source does it after one
// pod changed: collect, then the analyses. A status change (the usual
// event) reuses the last NetworkPolicy check; a label change redoes it.
func BenchmarkBuildSnapshot(b *testing.B) {
	c := bigCluster()
	for _, tc := range []struct {
		name   string
		change func(p *corev1.Pod, i int)
	}{
		{"pod-status", func(p *corev1.Pod, i int) { p.Status.Message = fmt.Sprint(i) }},
		{"pod-labels", func(p *corev1.Pod, i int) { p.Labels = map[string]string{"app": fmt.Sprint("other-", i)} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			s := cachedSource(b, c)
			s.build()
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				p := c.Pods[(i*7919)%len(c.Pods)].DeepCopy()
				p.ResourceVersion = fmt.Sprint(i)
				tc.change(p, i)
				i++
				apply(s, ResPods, "", p, false)
				s.build()
			}
		})
	}
}

// BenchmarkProgressTick is a snapshot while the pods' first list streams
// and nothing else changes, at issue 21's 50,000-pod size (53,000 pods,
// 5,300 namespaces, 15,900 Services, 2,650 policies): the Source builds
// one every 250 ms for the whole stream.
func BenchmarkProgressTick(b *testing.B) {
	n := 53000
	s := cachedSource(b, withNetworkPolicies(synth.Cluster(n, n/10, n*3/10, n/20), n/20))
	for r := range s.states {
		s.states[r] = ResourceState{Availability: Available}
	}
	s.states[ResPods] = ResourceState{Availability: Syncing}
	s.build()
	b.ReportAllocs()
	for b.Loop() {
		s.podsStreamed.Add(podsProgressStep)
		s.build()
	}
}

// BenchmarkAnalysis is kube.Build alone: the ambient analysis and the
// NetworkPolicy HBONE checks over sorted objects.
func BenchmarkAnalysis(b *testing.B) {
	c := bigCluster()
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		Build(*c, now)
	}
}

// BenchmarkAnalysisParts splits kube.Build: the ambient analysis, the
// NetworkPolicy checks' input, and the checks themselves.
func BenchmarkAnalysisParts(b *testing.B) {
	c := bigCluster()
	a := ambient.Analyze(c)
	in := hboneInput(c, a)
	b.Run("ambient", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ambient.Analyze(c)
		}
	})
	b.Run("hbone-input", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			hboneInput(c, a)
		}
	})
	b.Run("hbone-check", func(b *testing.B) {
		var n int
		b.ReportAllocs()
		for b.Loop() {
			n = len(netpol.CheckHBONE(in))
		}
		b.ReportMetric(float64(n), "findings")
	})
}

// TestIncrementalCollectMatchesRelist drives the caches through adds,
// updates and deletes of pods and namespaces, and after each round checks
// that the merged slices hold exactly what listing and sorting the stores
// gives, while resources nobody touched keep their slice.
func TestIncrementalCollectMatchesRelist(t *testing.T) {
	c := synth.Cluster(300, 20, 50, 30)
	s := cachedSource(t, c)
	first := collect(s.lists)
	pods := append([]*corev1.Pod(nil), c.Pods...)
	for round := range 40 {
		for k := range round%7 + 1 {
			i := (round*31 + k*17) % len(pods)
			switch (round + k) % 4 {
			case 0: // delete
				key := pods[i].Namespace + "/" + pods[i].Name
				if _, ok, _ := s.informers[ResPods].GetStore().GetByKey(key); ok {
					apply[*corev1.Pod](s, ResPods, key, nil, true)
				}
			case 1: // add, sorting anywhere: first, middle or last
				p := pods[i].DeepCopy()
				p.Name = []string{"a", "m", "zz"}[k%3] + fmt.Sprintf("-%d-%d", round, k)
				pods = append(pods, p)
				apply(s, ResPods, "", p, false)
			default: // update
				p := pods[i].DeepCopy()
				p.Labels = map[string]string{"round": fmt.Sprint(round)}
				apply(s, ResPods, "", p, false)
			}
		}
		if round%5 == 0 {
			n := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("new-%02d", round)}}
			apply(s, ResNamespaces, "", n, false)
		}
		got := collect(s.lists)
		want := newSorted[*corev1.Pod](s.informers[ResPods].GetStore()).take()
		if len(got.Pods) != len(want) {
			t.Fatalf("round %d: %d pods, store has %d", round, len(got.Pods), len(want))
		}
		for i := range want {
			if got.Pods[i] != want[i] {
				t.Fatalf("round %d: pod %d is %s/%s, want %s/%s", round, i, got.Pods[i].Namespace, got.Pods[i].Name, want[i].Namespace, want[i].Name)
			}
		}
		wantNS := newSorted[*corev1.Namespace](s.informers[ResNamespaces].GetStore()).take()
		if !slices.Equal(got.Namespaces, wantNS) {
			t.Fatalf("round %d: namespaces differ from the store", round)
		}
		if &got.Services[0] != &first.Services[0] {
			t.Fatalf("round %d: untouched services were copied", round)
		}
	}
}

// relistAll makes the next collect list and sort every cache, as the first
// snapshot after start-up does.
func relistAll(lists map[Resource]any) {
	for _, l := range lists {
		switch l := l.(type) {
		case *sorted[*corev1.Namespace]:
			l.relist = true
		case *sorted[*corev1.Pod]:
			l.relist = true
		case *sorted[*corev1.Service]:
			l.relist = true
		case *sorted[*corev1.Node]:
			l.relist = true
		case *sorted[*networkingv1.NetworkPolicy]:
			l.relist = true
		case *sorted[*gwv1.Gateway]:
			l.relist = true
		case *sorted[*gwv1.GatewayClass]:
			l.relist = true
		case *sorted[*secv1.AuthorizationPolicy]:
			l.relist = true
		case *sorted[*secv1.PeerAuthentication]:
			l.relist = true
		case *sorted[*secv1.RequestAuthentication]:
			l.relist = true
		default:
			panic(fmt.Sprintf("relistAll: %T", l))
		}
	}
}

// TestRebuildReusesNetworkPolicyFindingsOnlyWhenTheyCannotChange feeds one
// builder the rebuilds a Source makes and checks every snapshot's findings
// against a fresh kube.Build of the same objects: a pod's status changing
// reuses the last NetworkPolicy check, and changes the check reads (a
// pod's labels, a new policy, a pod gone) redo it.
func TestRebuildReusesNetworkPolicyFindingsOnlyWhenTheyCannotChange(t *testing.T) {
	c := withNetworkPolicies(synth.Cluster(400, 30, 60, 20), 30)
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	var b builder
	check := func(what string, c *ambient.Cluster, reused bool) {
		t.Helper()
		before := b.findings
		got := b.build(*c, now).Findings
		want := Build(*c, now).Findings
		if !slices.EqualFunc(got, want, sameFinding) {
			t.Fatalf("%s: %d findings, a fresh build has %d", what, len(got), len(want))
		}
		if same := len(before) > 0 && &b.findings[0] == &before[0]; same != reused {
			t.Errorf("%s: NetworkPolicy check reused %v, want %v", what, same, reused)
		}
	}
	check("first build", c, false)
	if len(b.findings) == 0 {
		t.Fatal("the cluster has no NetworkPolicy findings to reuse")
	}

	// A status change, as the informer delivers it: a new object.
	status := *c
	status.Pods = slices.Clone(c.Pods)
	p := blockedPod(t, &status, b.findings).DeepCopy()
	p.Status.Phase = corev1.PodFailed
	replacePod(&status, p)
	check("pod status changed", &status, true)

	// The same pod relabelled out of every policy's selector.
	relabelled := status
	relabelled.Pods = slices.Clone(status.Pods)
	p = p.DeepCopy()
	p.Labels = map[string]string{"app": "elsewhere"}
	replacePod(&relabelled, p)
	check("pod labels changed", &relabelled, false)

	gone := relabelled
	gone.Pods = slices.DeleteFunc(slices.Clone(relabelled.Pods), func(q *corev1.Pod) bool { return q == p })
	check("pod deleted", &gone, false)

	more := withNetworkPolicies(&ambient.Cluster{Namespaces: gone.Namespaces}, 31)
	grown := gone
	grown.NetworkPolicies = more.NetworkPolicies
	check("policy added", &grown, false)
	check("nothing changed", &grown, true)
}

func sameFinding(a, b finding.Finding) bool {
	// DeepEqual follows Patch and compares Affects element by element.
	return reflect.DeepEqual(a, b)
}

// blockedPod returns a pod that a NetworkPolicy with a finding selects.
func blockedPod(t *testing.T, c *ambient.Cluster, fs []finding.Finding) *corev1.Pod {
	t.Helper()
	for _, f := range fs {
		if f.Code != "hbone-ingress-blocked" {
			continue
		}
		for _, np := range c.NetworkPolicies {
			if np.Namespace != f.Object.Namespace || np.Name != f.Object.Name || len(np.Spec.PodSelector.MatchLabels) == 0 {
				continue
			}
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range c.Pods {
				if p.Namespace == np.Namespace && sel.Matches(labels.Set(p.Labels)) {
					return p
				}
			}
		}
	}
	t.Fatal("no pod is selected by a NetworkPolicy with an HBONE finding")
	return nil
}

func replacePod(c *ambient.Cluster, p *corev1.Pod) {
	for i, q := range c.Pods {
		if q.Namespace == p.Namespace && q.Name == p.Name {
			c.Pods[i] = p
		}
	}
}

// TestTouchWhileTaking runs informer handlers and rebuilds at once, as the
// Source does; under -race it fails if the two share unguarded state.
func TestTouchWhileTaking(t *testing.T) {
	c := synth.Cluster(50, 5, 5, 5)
	s := cachedSource(t, c)
	l := s.lists[ResPods].(*sorted[*corev1.Pod])
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 2000 {
			p := c.Pods[i%len(c.Pods)].DeepCopy()
			p.ResourceVersion = fmt.Sprint(i)
			_ = s.informers[ResPods].GetStore().Update(p)
			l.touch(p)
		}
	}()
	for {
		select {
		case <-done:
			if got := len(l.take()); got != len(c.Pods) {
				t.Fatalf("%d pods after concurrent updates, want %d", got, len(c.Pods))
			}
			return
		default:
			l.take()
		}
	}
}
