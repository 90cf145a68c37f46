package kube

import (
	"reflect"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/synth"
)

// samePodInfo compares every field of a verdict: one of them changed,
// however deep, is not the same verdict, so no pane keeps a row built from
// the old one. A field added to PodInfo later is covered by this walk.
func TestSamePodInfoSeesEveryField(t *testing.T) {
	base := ambient.PodInfo{State: ambient.PodCaptured, Reason: "r", Protocol: "HBONE", Owner: "deployment/x",
		Waypoint: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "n", Name: "w"}, Source: "pod", Problem: "p", Reason: "q", Note: "o"},
		MTLS:     ambient.MTLS{Strict: true, By: ambient.Key{Namespace: "n", Name: "pa"}, Ports: []string{"8080 PERMISSIVE"}}}
	if !samePodInfo(base, base) {
		t.Fatal("a verdict differs from itself")
	}
	// Walk a copy field by field, comparing after each change.
	fields := 0
	var each func(v reflect.Value, changed func())
	each = func(v reflect.Value, changed func()) {
		for i := range v.NumField() {
			f := v.Field(i)
			switch f.Kind() {
			case reflect.Struct:
				each(f, changed)
			case reflect.String:
				old := f.String()
				f.SetString(old + "x")
				changed()
				f.SetString(old)
			case reflect.Bool:
				f.SetBool(!f.Bool())
				changed()
				f.SetBool(!f.Bool())
			case reflect.Slice:
				old := f.Interface().([]string)
				f.Set(reflect.ValueOf(append(append([]string(nil), old...), "x")))
				changed()
				f.Set(reflect.ValueOf(old))
			default:
				t.Fatalf("a field of kind %s this test cannot change", f.Kind())
			}
		}
	}
	other := base
	other.MTLS.Ports = append([]string(nil), base.MTLS.Ports...)
	each(reflect.ValueOf(&other).Elem(), func() {
		fields++
		if samePodInfo(base, other) {
			t.Errorf("changed %+v is the same as %+v", other, base)
		}
	})
	if fields < 12 {
		t.Errorf("only %d fields changed", fields)
	}
}

// A series of builds carries a delta naming the pods whose verdicts
// changed: none when nothing did, every pod of a namespace whose label
// changed their waypoint, and no delta from Build or for another analysis.
func TestBuilderPodDelta(t *testing.T) {
	c := *synth.Cluster(200, 20, 60, 10)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	if Build(c, now).PodDeltaOf() != nil {
		t.Error("a snapshot of Build has a delta")
	}
	var b Builder
	first := b.Build(c, now)
	if first.PodDeltaOf() != nil {
		t.Error("the first snapshot of a series has a delta")
	}
	again := b.Build(c, now)
	d := again.PodDeltaOf()
	if d == nil || len(d.Changed) != 0 || d.Since == 0 || d.Gen == d.Since {
		t.Fatalf("the same cluster again: delta %+v, want one with nothing changed", d)
	}
	ns := c.Pods[len(c.Pods)/2].Namespace
	c.Namespaces = append(c.Namespaces[:0:0], c.Namespaces...)
	for i, n := range c.Namespaces {
		if n.Name == ns {
			n = n.DeepCopy()
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels["istio.io/dataplane-mode"] = "ambient"
			n.Labels["istio.io/use-waypoint"] = "no-such-waypoint"
			c.Namespaces[i] = n
		}
	}
	next := b.Build(c, now)
	d = next.PodDeltaOf()
	if d == nil || d.Since != again.PodDelta.Gen {
		t.Fatalf("delta %+v, want one since %d", d, again.PodDelta.Gen)
	}
	for _, p := range next.Pods {
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		if changed := !samePodInfo(again.Mesh.Pods[k], next.Mesh.Pods[k]); changed != d.Changed[p] {
			t.Errorf("%s: verdict changed %v, in the delta %v", k, changed, d.Changed[p])
		}
	}
	if len(d.Changed) == 0 {
		t.Errorf("no verdict in %s changed", ns)
	}
	cp := *next
	cp.Mesh = first.Mesh
	if cp.PodDeltaOf() != nil {
		t.Error("a copy given another analysis keeps the delta")
	}
}

// A series hands out the same findings index while the findings mark the
// same objects alike, and a new one, counting what is now there, when
// they do not: a pane keeps the marks it looked up only in the first case.
func TestBuilderKeepsIndexOfSameMarks(t *testing.T) {
	c := *synth.Cluster(200, 20, 60, 10)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var b Builder
	first := b.Build(c, now)
	again := b.Build(c, now)
	if again.Index != first.Index {
		t.Error("the same findings again: a new index")
	}
	// A namespace labelled for a waypoint that does not exist is a new
	// finding on it.
	ns := c.Pods[len(c.Pods)/2].Namespace
	c.Namespaces = append(c.Namespaces[:0:0], c.Namespaces...)
	for i, n := range c.Namespaces {
		if n.Name == ns {
			n = n.DeepCopy()
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			n.Labels["istio.io/dataplane-mode"] = "ambient"
			n.Labels["istio.io/use-waypoint"] = "no-such-waypoint"
			c.Namespaces[i] = n
		}
	}
	next := b.Build(c, now)
	if next.Index == again.Index {
		t.Fatal("new findings, the old index")
	}
	fresh := finding.NewIndex(next.Findings)
	if next.Index.All() != fresh.All() || next.Index.Namespace(ns) != fresh.Namespace(ns) {
		t.Errorf("index %+v / %+v in %s, a fresh one %+v / %+v", next.Index.All(), next.Index.Namespace(ns), ns, fresh.All(), fresh.Namespace(ns))
	}
	if next.Index.Namespace(ns) == again.Index.Namespace(ns) {
		t.Errorf("%s: tally %+v before and after its new finding", ns, again.Index.Namespace(ns))
	}
}
