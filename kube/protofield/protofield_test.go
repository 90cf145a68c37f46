package protofield

import (
	"errors"
	"reflect"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func marshal(t *testing.T, m interface{ Marshal() ([]byte, error) }) []byte {
	t.Helper()
	b, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWalkSeesEveryFieldInOrder(t *testing.T) {
	var raw []byte
	raw = protowire.AppendTag(raw, 1, protowire.BytesType)
	raw = protowire.AppendBytes(raw, []byte("ab"))
	raw = protowire.AppendTag(raw, 3, protowire.VarintType)
	raw = protowire.AppendVarint(raw, 300)
	raw = protowire.AppendTag(raw, 4, protowire.Fixed64Type)
	raw = protowire.AppendFixed64(raw, 7)
	raw = protowire.AppendTag(raw, 1, protowire.BytesType)
	raw = protowire.AppendBytes(raw, nil)
	var got []Field
	if err := Walk(raw, func(f Field) error { got = append(got, f); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		num   protowire.Number
		value []byte
	}{{1, []byte("ab")}, {3, nil}, {4, nil}, {1, []byte{}}}
	if len(got) != len(want) {
		t.Fatalf("walked %d fields, want %d", len(got), len(want))
	}
	end := 0
	for i, w := range want {
		f := got[i]
		if f.Num != w.num || string(f.Value) != string(w.value) || (f.Value == nil) != (w.value == nil) {
			t.Errorf("field %d: %d %q, want %d %q", i, f.Num, f.Value, w.num, w.value)
		}
		if f.Start != end || f.End <= f.Start {
			t.Errorf("field %d spans %d-%d, want it to start at %d", i, f.Start, f.End, end)
		}
		end = f.End
	}
	if end != len(raw) {
		t.Errorf("the fields end at %d of %d bytes", end, len(raw))
	}
}

func TestWalkRefusesBrokenMessages(t *testing.T) {
	good := protowire.AppendBytes(protowire.AppendTag(nil, 1, protowire.BytesType), []byte("abcdef"))
	for name, raw := range map[string][]byte{
		"truncated value":  good[:len(good)-2],
		"truncated tag":    {0x80},
		"field number 0":   {0x02, 0x00},
		"truncated varint": {0x08, 0xff},
		"end group alone":  {0x0c},
	} {
		t.Run(name, func(t *testing.T) {
			if err := Walk(raw, func(Field) error { return nil }); err == nil {
				t.Error("walked a broken message without an error")
			}
		})
	}
	stop := errors.New("stop")
	n := 0
	err := Walk(append(good, good...), func(Field) error { n++; return stop })
	if !errors.Is(err, stop) || n != 1 {
		t.Errorf("Walk went on after fn failed: %v after %d fields", err, n)
	}
}

// TestRunsDecodesAsUnmarshalWithoutTheOwnedFields is Runs' promise on the
// type it is built for: an ObjectMeta decoded in runs around its
// managedFields is the ObjectMeta Unmarshal makes of the same bytes with
// managedFields cleared, whatever the fields' order and whether the owned
// field comes first, last or several times.
func TestRunsDecodesAsUnmarshalWithoutTheOwnedFields(t *testing.T) {
	mf := []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}, {Manager: "kube-scheduler"}}
	meta := metav1.ObjectMeta{
		Name: "web-0", Namespace: "shop", UID: "u-1", ResourceVersion: "42",
		Labels:          map[string]string{"app": "web", "istio.io/dataplane-mode": "ambient"},
		Annotations:     map[string]string{"ambient.istio.io/redirection": "enabled"},
		OwnerReferences: []metav1.OwnerReference{{Kind: "ReplicaSet", Name: "web-7d"}},
		Finalizers:      []string{"a", "b"},
		ManagedFields:   mf,
	}
	whole := marshal(t, &meta)
	managed := Number(reflect.TypeFor[metav1.ObjectMeta](), "ManagedFields")
	// The same message with its fields moved: owned field first, last,
	// and between the repeated fields it splits.
	var fields [][]byte
	if err := Walk(whole, func(f Field) error { fields = append(fields, whole[f.Start:f.End]); return nil }); err != nil {
		t.Fatal(err)
	}
	reorder := func(idx ...int) []byte {
		var b []byte
		for _, i := range idx {
			b = append(b, fields[i]...)
		}
		return b
	}
	n := len(fields)
	var forward, backward []int
	for i := range n {
		forward = append(forward, i)
		backward = append(backward, n-1-i)
	}
	want := meta
	want.ManagedFields = nil
	for name, raw := range map[string][]byte{
		"as marshalled": whole,
		"reversed":      reorder(backward...),
		"doubled":       append(reorder(forward...), reorder(forward...)...),
		"none owned":    marshal(t, &want),
	} {
		t.Run(name, func(t *testing.T) {
			var plain metav1.ObjectMeta
			if err := plain.Unmarshal(raw); err != nil {
				t.Fatal(err)
			}
			plain.ManagedFields = nil
			var got metav1.ObjectMeta
			owned := 0
			err := Runs(raw, func(n protowire.Number) bool { return n == managed }, func(f Field) error {
				owned++
				var e metav1.ManagedFieldsEntry
				return e.Unmarshal(f.Value)
			}, got.Unmarshal)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, plain) {
				t.Errorf("decoded in runs:\n%+v\nwant\n%+v", got, plain)
			}
			if got.ManagedFields != nil {
				t.Error("an owned field reached unmarshal")
			}
			wantOwned := 0
			_ = Each(raw, managed, func([]byte) error { wantOwned++; return nil })
			if owned != wantOwned {
				t.Errorf("field saw %d owned fields, want %d", owned, wantOwned)
			}
		})
	}
	var dropped metav1.ObjectMeta
	if err := Runs(whole, func(n protowire.Number) bool { return n == managed }, nil, dropped.Unmarshal); err != nil || dropped.ManagedFields != nil || dropped.Name != "web-0" {
		t.Errorf("with a nil field, Runs decoded %+v, %v", dropped, err)
	}
}

func TestNumberReadsTheGeneratedTags(t *testing.T) {
	pod := reflect.TypeFor[corev1.Pod]()
	spec := reflect.TypeFor[corev1.PodSpec]()
	for _, c := range []struct {
		t    reflect.Type
		name string
		want protowire.Number
	}{
		// Numbers as k8s.io/api/core/v1/generated.proto declares them.
		{pod, "ObjectMeta", 1}, {pod, "Spec", 2}, {pod, "Status", 3},
		{spec, "Volumes", 1}, {spec, "Containers", 2}, {spec, "NodeName", 10},
		{reflect.TypeFor[metav1.ObjectMeta](), "ManagedFields", 17},
	} {
		if got := Number(c.t, c.name); got != c.want {
			t.Errorf("%s.%s: %d, want %d", c.t, c.name, got, c.want)
		}
	}
	if got := Numbers(spec, "Volumes", "NodeName"); !got[1] || !got[10] || len(got) != 2 {
		t.Errorf("Numbers: %v", got)
	}
	for _, name := range []string{"NoSuchField", "TypeMeta"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Number(Pod, %q) did not panic", name)
				}
			}()
			Number(pod, name)
		}()
	}
}
