package podwatch

import (
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"reflect"
	"runtime"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/apitesting/fuzzer"
	"k8s.io/apimachinery/pkg/api/resource"
	metafuzzer "k8s.io/apimachinery/pkg/apis/meta/fuzzer"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/scheme"
	restclientwatch "k8s.io/client-go/rest/watch"
)

// stream is an HTTP watch body as the API server writes it for a client
// that asks for protobuf: each event a length-delimited WatchEvent whose
// object is the protobuf serializer's encoding (magic number and
// runtime.Unknown) of the object.
func stream(tb testing.TB, events ...watch.Event) []byte {
	tb.Helper()
	info, ok := kruntime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), kruntime.ContentTypeProtobuf)
	if !ok {
		tb.Fatal("no protobuf serializer")
	}
	enc := scheme.Codecs.EncoderForVersion(info.Serializer, corev1.SchemeGroupVersion)
	var out bytes.Buffer
	frames := info.StreamSerializer.Framer.NewFrameWriter(&out)
	for _, e := range events {
		obj, err := kruntime.Encode(enc, e.Object)
		if err != nil {
			tb.Fatal(err)
		}
		ev := metav1.WatchEvent{Type: string(e.Type), Object: kruntime.RawExtension{Raw: obj}}
		b, err := ev.Marshal()
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := frames.Write(b); err != nil {
			tb.Fatal(err)
		}
	}
	return out.Bytes()
}

// decodeAll reads a watch body as rest.Request.Watch does, through the
// stream decoder the negotiated serializer gives for protobuf.
func decodeAll(tb testing.TB, ns kruntime.NegotiatedSerializer, body []byte) ([]watch.Event, error) {
	tb.Helper()
	objects, frames, framer, err := kruntime.NewClientNegotiator(ns, corev1.SchemeGroupVersion).StreamDecoder(kruntime.ContentTypeProtobuf, nil)
	if err != nil {
		tb.Fatal(err)
	}
	d := restclientwatch.NewDecoder(streaming.NewDecoder(framer.NewFrameReader(io.NopCloser(bytes.NewReader(body))), frames), objects)
	var out []watch.Event
	for {
		typ, obj, err := d.Decode()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, watch.Event{Type: typ, Object: obj})
	}
}

func standard() kruntime.NegotiatedSerializer { return scheme.Codecs.WithoutConversion() }

// withoutDropped clears, by name, the fields Dropped lists: what a pod
// decoded in full holds once they are taken away.
func withoutDropped(p *corev1.Pod) *corev1.Pod {
	p = p.DeepCopy()
	clear := func(v any) {
		rv := reflect.ValueOf(v).Elem()
		for _, name := range Dropped[rv.Type()] {
			f := rv.FieldByName(name)
			f.Set(reflect.Zero(f.Type()))
		}
	}
	clear(&p.ObjectMeta)
	clear(&p.Spec)
	clear(&p.Status)
	for _, list := range [][]corev1.Container{p.Spec.Containers, p.Spec.InitContainers} {
		for i := range list {
			clear(&list[i])
		}
	}
	for _, list := range [][]corev1.ContainerStatus{p.Status.ContainerStatuses, p.Status.InitContainerStatuses} {
		for i := range list {
			clear(&list[i])
		}
	}
	return p
}

// filler fills pods as Kubernetes' own round-trip tests do (valid
// quantities, times to the second, ...), from a fixed seed.
func filler(seed int64) func(*corev1.Pod) {
	f := fuzzer.FuzzerFor(metafuzzer.Funcs, rand.NewSource(seed), scheme.Codecs).NilChance(0.2).NumElements(0, 3)
	return func(p *corev1.Pod) {
		*p = corev1.Pod{}
		f.Fill(p)
		p.APIVersion, p.Kind = "v1", "Pod"
	}
}

// TestDecodesWhatClientGoDecodesLessTheDroppedFields is the package's
// promise on random pods: every field but the Dropped ones decodes as
// client-go's own watch decoding makes it, and the Dropped ones are empty.
func TestDecodesWhatClientGoDecodesLessTheDroppedFields(t *testing.T) {
	fill := filler(21)
	withDropped := 0
	for i := range 300 {
		var p corev1.Pod
		fill(&p)
		body := stream(t, watch.Event{Type: watch.Added, Object: &p}, watch.Event{Type: watch.Modified, Object: &p})
		want, err := decodeAll(t, standard(), body)
		if err != nil {
			t.Fatalf("pod %d: client-go: %v", i, err)
		}
		got, err := decodeAll(t, NegotiatedSerializer(), body)
		if err != nil {
			t.Fatalf("pod %d: %v", i, err)
		}
		if len(got) != 2 || got[0].Type != watch.Added || got[1].Type != watch.Modified {
			t.Fatalf("pod %d: events %v", i, got)
		}
		for j := range got {
			gp, ok := got[j].Object.(*corev1.Pod)
			if !ok {
				t.Fatalf("pod %d: decoded as %T", i, got[j].Object)
			}
			full := want[j].Object.(*corev1.Pod)
			wp := withoutDropped(full)
			if j == 0 && !reflect.DeepEqual(full, wp) {
				withDropped++
			}
			if !reflect.DeepEqual(gp, wp) {
				t.Fatalf("pod %d decoded as\n%+v\nwant\n%+v", i, gp, wp)
			}
		}
	}
	// Filled at random, nearly every pod has some field to drop; if
	// almost none had, the test would say nothing of the dropping.
	if withDropped < 250 {
		t.Errorf("only %d of 300 random pods had a field to drop", withDropped)
	}
}

// TestPassesOtherEventsThrough: an ERROR event's Status, a bookmark (a
// pod with only a resourceVersion and an annotation, which ends the
// initial list of a WatchList), and a kind other than Pod decode as
// client-go decodes them.
func TestPassesOtherEventsThrough(t *testing.T) {
	status := &metav1.Status{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"}, Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired, Message: "too old resource version: 1 (42)"}
	bookmark := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{ResourceVersion: "42", Annotations: map[string]string{metav1.InitialEventsAnnotationKey: "true"}}}
	ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}}
	body := stream(t, watch.Event{Type: watch.Bookmark, Object: bookmark}, watch.Event{Type: watch.Added, Object: ns}, watch.Event{Type: watch.Error, Object: status})
	want, err := decodeAll(t, standard(), body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAll(t, NegotiatedSerializer(), body)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded\n%#v\nwant\n%#v", got, want)
	}
	if _, ok := got[2].Object.(*metav1.Status); !ok {
		t.Errorf("the ERROR event decoded as %T", got[2].Object)
	}
}

// TestRefusesBrokenStreams: a frame cut short, a pod whose bytes are not
// a pod, an object with no envelope, each is an error, as with client-go's
// decoding, and never a panic or a half-decoded pod handed on.
func TestRefusesBrokenStreams(t *testing.T) {
	p := realistic(0)
	good := stream(t, watch.Event{Type: watch.Added, Object: p})
	frame := func(ev metav1.WatchEvent) []byte {
		b, err := ev.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		info, _ := kruntime.SerializerInfoForMediaType(scheme.Codecs.SupportedMediaTypes(), kruntime.ContentTypeProtobuf)
		if _, err := info.StreamSerializer.Framer.NewFrameWriter(&out).Write(b); err != nil {
			t.Fatal(err)
		}
		return out.Bytes()
	}
	envelope := func(kind string, raw []byte) []byte {
		u := kruntime.Unknown{TypeMeta: kruntime.TypeMeta{APIVersion: "v1", Kind: kind}, Raw: raw}
		b, err := u.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return append([]byte("k8s\x00"), b...)
	}
	for name, body := range map[string][]byte{
		"frame cut short":       good[:len(good)-7],
		"pod bytes not a pod":   frame(metav1.WatchEvent{Type: "ADDED", Object: kruntime.RawExtension{Raw: envelope("Pod", []byte{0x0a, 0xff, 0x01})}}),
		"pod field of varint":   frame(metav1.WatchEvent{Type: "ADDED", Object: kruntime.RawExtension{Raw: envelope("Pod", []byte{0x08, 0x01})}}),
		"no envelope":           frame(metav1.WatchEvent{Type: "ADDED", Object: kruntime.RawExtension{Raw: []byte("{}")}}),
		"empty object":          frame(metav1.WatchEvent{Type: "ADDED"}),
		"unknown event type":    stream(t, watch.Event{Type: "SHRUG", Object: p}),
		"event object a varint": append([]byte{0, 0, 0, 2}, 0x10, 0x01),
	} {
		t.Run(name, func(t *testing.T) {
			_, wantErr := decodeAll(t, standard(), body)
			got, err := decodeAll(t, NegotiatedSerializer(), body)
			if err == nil {
				t.Errorf("decoded %v without an error (client-go: %v)", got, wantErr)
			}
			if wantErr == nil {
				t.Errorf("client-go decodes it: the case tests nothing")
			}
			if len(got) != 0 {
				t.Errorf("handed on %d events", len(got))
			}
		})
	}
}

// realistic is a pod as a Deployment's controller, the scheduler, the
// kubelet and a server-side apply leave it, with the environment, volumes
// and tolerations that make up most of a real pod's bytes.
func realistic(i int) *corev1.Pod {
	yes := true
	env := make([]corev1.EnvVar, 12)
	for j := range env {
		env[j] = corev1.EnvVar{Name: fmt.Sprintf("SETTING_%d", j), Value: fmt.Sprintf("value-%d-of-a-realistic-length", j)}
	}
	mf := make([]metav1.ManagedFieldsEntry, 3)
	for j := range mf {
		mf[j] = metav1.ManagedFieldsEntry{Manager: "kube-controller-manager", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
			FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: bytes.Repeat([]byte(`{"f:metadata":{"f:labels":{".":{}}}}`), 12)}}
	}
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{
			Name: fmt.Sprintf("web-7d9f8c6b5-%05d", i), Namespace: fmt.Sprintf("shop-%03d", i%1000), GenerateName: "web-7d9f8c6b5-",
			UID: "0b0d3f8e-1c2a-4c55-9d7e-2f4a6b8c0d1e", ResourceVersion: fmt.Sprint(1000 + i),
			Labels:          map[string]string{"app": "web", "pod-template-hash": "7d9f8c6b5", "version": "v1"},
			Annotations:     map[string]string{"ambient.istio.io/redirection": "enabled", "kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-7d9f8c6b5", UID: "a", Controller: &yes}},
			ManagedFields:   mf,
		},
		Spec: corev1.PodSpec{
			Volumes: []corev1.Volume{{Name: "kube-api-access-x", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
				{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}},
				{ConfigMap: &corev1.ConfigMapProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"}, Items: []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}}}},
			}}}}},
			Containers: []corev1.Container{{
				Name: "web", Image: "registry.example.com/shop/web:1.42.0", Env: env,
				Ports:          []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
				Resources:      corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")}},
				VolumeMounts:   []corev1.VolumeMount{{Name: "kube-api-access-x", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true}},
				ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}}},
			}},
			RestartPolicy: corev1.RestartPolicyAlways, DNSPolicy: corev1.DNSClusterFirst, ServiceAccountName: "web", NodeName: fmt.Sprintf("node-%03d", i%100),
			SchedulerName: "default-scheduler",
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
				{Key: "node.kubernetes.io/unreachable", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute},
			},
		},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), HostIP: "172.18.0.2", QOSClass: corev1.PodQOSBurstable,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.ContainersReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "web", Ready: true, Image: "registry.example.com/shop/web:1.42.0", ImageID: "registry.example.com/shop/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
				ContainerID: "containerd://0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		},
	}
}

func realisticStream(tb testing.TB, n int) []byte {
	events := make([]watch.Event, n)
	for i := range events {
		events[i] = watch.Event{Type: watch.Added, Object: realistic(i)}
	}
	return stream(tb, events...)
}

func allocated(tb testing.TB, ns kruntime.NegotiatedSerializer, body []byte) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	evs, err := decodeAll(tb, ns, body)
	runtime.ReadMemStats(&after)
	if err != nil {
		tb.Fatal(err)
	}
	runtime.KeepAlive(evs)
	return after.TotalAlloc - before.TotalAlloc
}

// TestAllocatesLessThanClientGo is what the package is for: a realistic
// pod's event costs the collector less than half of what client-go's
// decoding allocates (its two copies of the object's bytes, the managed
// fields, environment, volumes and tolerations the transform then drops).
func TestAllocatesLessThanClientGo(t *testing.T) {
	body := realisticStream(t, 2000)
	allocated(t, NegotiatedSerializer(), body) // warm up
	mine, theirs := allocated(t, NegotiatedSerializer(), body), allocated(t, standard(), body)
	t.Logf("2,000 realistic pod events: %.1f KB a pod here, %.1f KB with client-go's decoding", float64(mine)/2000/1e3, float64(theirs)/2000/1e3)
	if mine*2 > theirs {
		t.Errorf("decoding allocated %d bytes, more than half of client-go's %d", mine, theirs)
	}
}

// BenchmarkWatchDecode is the start-up stream of issue 21's size (10,600
// realistic pods), decoded as client-go does and as this package does.
func BenchmarkWatchDecode(b *testing.B) {
	body := realisticStream(b, 10600)
	for _, bc := range []struct {
		name string
		ns   kruntime.NegotiatedSerializer
	}{{"client-go", standard()}, {"podwatch", NegotiatedSerializer()}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(body)))
			for b.Loop() {
				if _, err := decodeAll(b, bc.ns, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
