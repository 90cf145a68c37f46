package protofield

import (
	"testing"
	"unsafe"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
)

// TestUnwrapReadsWhatTheSerializerReads: the envelope as apimachinery's
// protobuf serializer reads it into a runtime.Unknown, with the object's
// bytes inside data rather than copied; JSON is not an envelope.
func TestUnwrapReadsWhatTheSerializerReads(t *testing.T) {
	s := protobuf.NewSerializer(scheme.Scheme, scheme.Scheme)
	pod := &corev1.Pod{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}, ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"}}
	data, err := runtime.Encode(s, pod)
	if err != nil {
		t.Fatal(err)
	}
	withType := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: "v1", Kind: "Pod"}, Raw: []byte{1, 2}, ContentType: "application/json", ContentEncoding: "gzip"}
	b, err := withType.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"a pod": data, "json inside, gzip": append([]byte("k8s\x00"), b...)} {
		t.Run(name, func(t *testing.T) {
			var want runtime.Unknown
			if _, _, err := s.Decode(data, nil, &want); err != nil {
				t.Fatal(err)
			}
			got, raw, ok, err := Unwrap(data)
			if !ok || err != nil {
				t.Fatalf("Unwrap: ok %v, %v", ok, err)
			}
			if got.TypeMeta != want.TypeMeta || got.ContentEncoding != want.ContentEncoding || string(raw) != string(want.Raw) {
				t.Errorf("unwrapped %+v %q, want %+v", got, raw, want)
			}
			if got.Raw != nil {
				t.Error("the object's bytes were decoded into the Unknown too")
			}
			start, end := uintptr(unsafe.Pointer(&data[0])), uintptr(unsafe.Pointer(&data[len(data)-1]))
			if p := uintptr(unsafe.Pointer(&raw[0])); p < start || p > end {
				t.Error("the object's bytes are a copy")
			}
			if Protobuf(&got) != (got.ContentType == "" && got.ContentEncoding == "") {
				t.Errorf("Protobuf(%q, %q) = %v", got.ContentType, got.ContentEncoding, Protobuf(&got))
			}
		})
	}
	if _, _, ok, _ := Unwrap([]byte(`{"kind":"Pod"}`)); ok {
		t.Error("JSON unwrapped as an envelope")
	}
	if _, _, ok, err := Unwrap([]byte("k8s\x00\x0a\xff")); !ok || err == nil {
		t.Errorf("a broken envelope: ok %v, err %v", ok, err)
	}
}
