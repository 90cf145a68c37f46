package kube

import (
	"context"
	"maps"
	"math/rand"
	"reflect"
	"testing"
	"unsafe"

	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/podwatch"
	"github.com/ambx/ambx/kube/synth"
)

// fullPod is a pod as a kubelet reports it, with everything slim drops.
func fullPod(name string) *corev1.Pod {
	yes := true
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}}}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, GenerateName: "web-7d4f9-",
			Labels:          map[string]string{"app": "web", "pod-template-hash": "7d4f9"},
			Annotations:     map[string]string{lastApplied: "{...}", "ambient.istio.io/redirection": "enabled"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d4f9"}},
			ManagedFields:   []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}},
		Spec: corev1.PodSpec{
			NodeName: "node-1", ServiceAccountName: "web", HostNetwork: false, SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{{Key: "k"}}, Volumes: []corev1.Volume{{Name: "config"}},
			Containers: []corev1.Container{{Name: "app", Image: "shop/web:1", Env: []corev1.EnvVar{{Name: "A", Value: "b"}},
				Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				ReadinessProbe: probe, LivenessProbe: probe, TerminationMessagePath: "/dev/termination-log"}},
			InitContainers: []corev1.Container{{Name: "istio-proxy", RestartPolicy: ptr(corev1.ContainerRestartPolicyAlways)}},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: "10.0.0.7", PodIPs: []corev1.PodIP{{IP: "10.0.0.7"}}, HostIP: "192.168.1.1",
			StartTime: &metav1.Time{}, QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue, Reason: "r", Message: "m"},
			},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, RestartCount: 3, Started: &yes,
				Image: "shop/web:1", ImageID: "sha256:abc", ContainerID: "containerd://abc",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		},
	}
}

func ptr[T any](v T) *T { return &v }

// What slim keeps is what the analyses and views read; it must give the
// same verdicts as the pod it came from.
func TestSlimPodKeepsWhatAmbxReads(t *testing.T) {
	full := fullPod("web-1")
	o, err := slim(full.DeepCopy())
	if err != nil {
		t.Fatal(err)
	}
	p := o.(*corev1.Pod)
	if p.ManagedFields != nil || p.Annotations[lastApplied] != "" || p.Spec.Tolerations != nil || p.Spec.Volumes != nil ||
		p.Spec.Containers[0].Env != nil || p.Status.HostIP != "" || p.Status.ContainerStatuses[0].ImageID != "" || p.Status.ContainerStatuses[0].State.Running != nil {
		t.Errorf("slim kept what ambx never reads: %+v", p)
	}
	if len(p.Status.Conditions) != 1 || p.Status.Conditions[0].Type != corev1.PodReady || p.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("conditions %+v, want Ready=True alone", p.Status.Conditions)
	}
	cs := p.Status.ContainerStatuses[0]
	if cs.Name != "app" || !cs.Ready || cs.RestartCount != 3 || cs.Started == nil || !*cs.Started {
		t.Errorf("container status %+v lost its readiness", cs)
	}
	c := p.Spec.Containers[0]
	if c.Name != "app" || c.Image != "shop/web:1" || len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Port.StrVal != "http" {
		t.Errorf("container %+v lost its ports or probes", c)
	}
	if p.Spec.NodeName != "node-1" || p.Spec.ServiceAccountName != "web" || p.Status.PodIP != "10.0.0.7" || len(p.Status.PodIPs) != 1 ||
		p.Labels["app"] != "web" || p.Annotations["ambient.istio.io/redirection"] != "enabled" || p.OwnerReferences[0].Name != "web-7d4f9" {
		t.Errorf("slim dropped identity or placement: %+v", p)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}}
	verdict := func(p *corev1.Pod) ambient.PodInfo {
		a := ambient.Analyze(&ambient.Cluster{Namespaces: []*corev1.Namespace{ns}, Pods: []*corev1.Pod{p}})
		return a.Pods[ambient.Key{Namespace: "shop", Name: "web-1"}]
	}
	if got, want := verdict(p), verdict(full); got.State != want.State || got.Protocol != want.Protocol {
		t.Errorf("slimmed pod judged %+v, the full one %+v", got, want)
	}
}

// Two pods decoded apart share one copy of each repeated string.
func TestSlimSharesRepeatedStrings(t *testing.T) {
	a, _ := slim(fullPod("web-1"))
	b, _ := slim(fullPod("web-2"))
	pa, pb := a.(*corev1.Pod), b.(*corev1.Pod)
	same := func(what, x, y string) {
		if unsafe.StringData(x) != unsafe.StringData(y) {
			t.Errorf("%s: two copies of %q", what, x)
		}
	}
	same("namespace", pa.Namespace, pb.Namespace)
	same("label value", pa.Labels["app"], pb.Labels["app"])
	same("node", pa.Spec.NodeName, pb.Spec.NodeName)
	same("image", pa.Spec.Containers[0].Image, pb.Spec.Containers[0].Image)
	same("owner", pa.OwnerReferences[0].Name, pb.OwnerReferences[0].Name)
	if !sameMap(pa.Labels, pb.Labels) || !sameMap(pa.Annotations, pb.Annotations) {
		t.Error("two pods of one ReplicaSet hold two copies of their labels or annotations")
	}
	if &pa.Spec.Containers[0] != &pb.Spec.Containers[0] || &pa.Spec.InitContainers[0] != &pb.Spec.InitContainers[0] {
		t.Error("two pods of one ReplicaSet hold two copies of their containers")
	}
	if &pa.Status.Conditions[0] != &pb.Status.Conditions[0] {
		t.Error("two ready pods hold two copies of their Ready condition")
	}
	if &pa.OwnerReferences[0] != &pb.OwnerReferences[0] {
		t.Error("two pods of one ReplicaSet hold two copies of their owner reference")
	}
	if &pa.Status.ContainerStatuses[0] != &pb.Status.ContainerStatuses[0] {
		t.Error("two pods whose containers are alike hold two copies of their statuses")
	}
	restarted := fullPod("web-3")
	restarted.Status.ContainerStatuses[0].RestartCount = 4
	notStarted := fullPod("web-4")
	notStarted.Status.ContainerStatuses[0].Started = new(bool)
	for _, o := range []*corev1.Pod{restarted, notStarted} {
		before := o.Status.ContainerStatuses[0]
		s, _ := slim(o)
		got := s.(*corev1.Pod).Status.ContainerStatuses
		if &got[0] == &pa.Status.ContainerStatuses[0] || got[0].RestartCount != before.RestartCount || *got[0].Started != *before.Started {
			t.Errorf("a pod whose container differs (restarts %d, started %v) shares or lost its status: %+v", before.RestartCount, *before.Started, got[0])
		}
	}
	other := fullPod("api-1")
	other.Labels = map[string]string{"app": "api", "pod-template-hash": "7d4f9"}
	other.Spec.Containers[0].Image = "shop/api:1"
	other.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "api-7d4f9"}}
	other.Status.Conditions[1].Status = corev1.ConditionFalse
	c, _ := slim(other)
	pc := c.(*corev1.Pod)
	if sameMap(pc.Labels, pa.Labels) || pc.Labels["app"] != "api" || len(pc.Labels) != 2 {
		t.Errorf("a pod of another workload has labels %v, want its own app=api", pc.Labels)
	}
	if &pc.Spec.Containers[0] == &pa.Spec.Containers[0] || pc.Spec.Containers[0].Image != "shop/api:1" {
		t.Errorf("a pod of another image shares containers %+v", pc.Spec.Containers)
	}
	if o := pc.OwnerReferences; len(o) != 1 || o[0].Name != "api-7d4f9" || &o[0] == &pa.OwnerReferences[0] {
		t.Errorf("a pod of another ReplicaSet has owners %+v, want its own api-7d4f9", o)
	}
	if pc.Status.Conditions[0].Status != corev1.ConditionFalse || pa.Status.Conditions[0].Status != corev1.ConditionTrue {
		t.Errorf("Ready conditions %v and %v, want False and True", pc.Status.Conditions, pa.Status.Conditions)
	}
	if !sameMap(pc.Annotations, pa.Annotations) {
		t.Error("equal annotations of two workloads are not shared")
	}
	if _, ok := pa.Annotations[lastApplied]; ok || pa.Annotations["ambient.istio.io/redirection"] != "enabled" {
		t.Errorf("shared annotations %v, want the redirection without kubectl's last-applied copy", pa.Annotations)
	}
}

func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// The cache of shared maps forgets in generations: a set still in use is
// found in the previous one and a forgotten set gets a fresh, equal map,
// while the cache never holds more than two generations.
func TestSharedMapsForgetInGenerations(t *testing.T) {
	s := newSharedMaps(2)
	set := func(v string) map[string]string { return map[string]string{"app": v, "version": "v1"} }
	a := s.share(set("a"))
	if in := set("a"); sameMap(a, in) || !maps.Equal(a, in) {
		t.Fatalf("share returned its argument or a different set: %v", a)
	}
	s.share(set("b"))
	s.share(set("c")) // a and b are now the previous generation
	if got := s.share(set("a")); !sameMap(got, a) {
		t.Error("a set of the previous generation was not found")
	}
	s.share(set("d"))
	s.share(set("e")) // c was in neither of the last two
	if got := s.share(set("c")); !maps.Equal(got, set("c")) {
		t.Errorf("a forgotten set came back as %v", got)
	}
	n := 0
	for _, gen := range []map[uint64][]map[string]string{s.cur, s.prev} {
		for _, l := range gen {
			n += len(l)
		}
	}
	if n > 4 {
		t.Errorf("the cache holds %d maps, want at most two generations of 2", n)
	}
	if got := internMap(nil); got != nil {
		t.Errorf("internMap(nil) = %v", got)
	}
}

// While the first list of pods arrives, the snapshot says how many have
// come and how many the server holds, so the pane can show "loading pods
// 2 / 3…", and carries none of them: a part of the pods is not the cluster.
func TestSourceReportsThePodTotalWhileLoading(t *testing.T) {
	k := fake.NewClientset(fullPod("web-1"), fullPod("web-2"))
	k.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if listLimit(a) != 1 {
			return false, nil, nil
		}
		n := int64(2)
		return true, &corev1.PodList{ListMeta: metav1.ListMeta{RemainingItemCount: &n}, Items: []corev1.Pod{*fullPod("web-1")}}, nil
	})
	s := NewSource(&Clients{Kube: k, Istio: istiofake.NewSimpleClientset(), Gateway: gwfake.NewSimpleClientset(), Context: "fake", Fake: true})
	s.countPods(context.Background())
	if got := s.podTotal.Load(); got != 3 {
		t.Fatalf("pod total %d, want 3", got)
	}
	// An informer that is never started stays syncing; its store and
	// handlers are fed by hand, as the first list would.
	inf := informers.NewSharedInformerFactory(k, 0).Core().V1().Pods().Informer()
	add[*corev1.Pod](s, ResPods, inf)
	l := s.lists[ResPods].(*sorted[*corev1.Pod])
	for _, name := range []string{"web-1", "web-2"} {
		p := fullPod(name)
		_ = inf.GetStore().Add(p)
		l.count.Add(1)
		l.touch(p)
	}
	snap := s.build()
	if st := snap.State(ResPods); st.Availability != Syncing || st.Loaded != 2 || st.Total != 3 {
		t.Errorf("pods %+v while their list arrives, want syncing, 2 of 3 loaded", st)
	}
	if len(snap.Pods) != 0 {
		t.Errorf("a snapshot of a list still arriving carries %d pods", len(snap.Pods))
	}
	s.mu.Lock()
	s.states[ResPods] = ResourceState{Availability: Available}
	s.mu.Unlock()
	if snap := s.build(); len(snap.Pods) != 2 || snap.State(ResPods).Total != 0 {
		t.Errorf("synced: %d pods, state %+v; want both, no progress", len(snap.Pods), snap.State(ResPods))
	}
}

// listLimit is the limit a fake LIST asked for.
func listLimit(a k8stesting.Action) int64 {
	if l, ok := a.(interface{ GetListOptions() metav1.ListOptions }); ok {
		return l.GetListOptions().Limit
	}
	return -1
}

// TestSlimCopyLeavesTheFakesObjectAlone: a fake tracker hands a new watch
// the very objects it stores, so what the demo's informers slim must be a
// copy, or the demo cluster itself loses its fields while writers read it.
func TestSlimCopyLeavesTheFakesObjectAlone(t *testing.T) {
	stored := fullPod("web-1")
	out, err := slimCopy(stored)
	if err != nil {
		t.Fatal(err)
	}
	if out.(*corev1.Pod) == stored {
		t.Fatal("slimCopy returned the stored object itself")
	}
	if stored.ManagedFields == nil || stored.Annotations[lastApplied] == "" || stored.Spec.Volumes == nil || stored.Spec.Containers[0].Env == nil {
		t.Errorf("the stored pod was slimmed: %+v", stored.ObjectMeta)
	}
	if p := out.(*corev1.Pod); p.ManagedFields != nil || p.Spec.Volumes != nil {
		t.Errorf("the copy was not slimmed: %+v", p.ObjectMeta)
	}
}

// BenchmarkSlim is the informer transform's cost per pod, as the first
// list streams 10,000 pods through it (a share of start-up, issue 21).
func BenchmarkSlim(b *testing.B) {
	pods := synth.Cluster(10000, 1000, 3000, 500).Pods
	copies := make([]*corev1.Pod, len(pods))
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for i, p := range pods {
			copies[i] = p.DeepCopy()
		}
		b.StartTimer()
		for _, p := range copies {
			_, _ = slim(p)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(pods)), "ns/pod")
}

// TestPodWatchDropsOnlyWhatSlimDrops holds kube/podwatch's Dropped list to
// slimPod: a random pod decoded without those fields and then slimmed is
// the pod decoded in full and slimmed. A field slimPod starts to keep
// that podwatch still drops would be missing from every pod of a real
// cluster (the fakes of the demo and the tests decode no protobuf), and
// this is where that shows.
func TestPodWatchDropsOnlyWhatSlimDrops(t *testing.T) {
	f := fuzzer.FuzzerFor(metafuzzer.Funcs, rand.NewSource(21), scheme.Codecs).NilChance(0.2).NumElements(0, 3)
	for i := range 300 {
		var p corev1.Pod
		f.Fill(&p)
		raw, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var full, part corev1.Pod
		if err := full.Unmarshal(raw); err != nil {
			t.Fatal(err)
		}
		if err := podwatch.DecodePod(raw, &part); err != nil {
			t.Fatal(err)
		}
		want, _ := slim(&full)
		got, _ := slim(&part)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("pod %d: decoded by podwatch and slimmed\n%+v\nwant, decoded in full and slimmed\n%+v", i, got, want)
		}
	}
}
