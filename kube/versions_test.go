package kube

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/synth"
)

// changeEach changes every field of *v in turn, however deep (strings,
// bools, ints, string slices, pointers to structs), calling changed after
// each change and undoing it after; it returns how many it changed.
func changeEach(t *testing.T, v reflect.Value, changed func()) int {
	t.Helper()
	n := 0
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Struct:
			n += changeEach(t, f, changed)
		case reflect.Pointer:
			if f.IsNil() {
				f.Set(reflect.New(f.Type().Elem()))
				changed()
				f.SetZero()
				n++
				continue
			}
			cp := reflect.New(f.Type().Elem())
			cp.Elem().Set(f.Elem())
			orig := f.Interface()
			f.Set(cp)
			n += changeEach(t, cp.Elem(), changed)
			f.Set(reflect.ValueOf(orig))
		case reflect.String:
			old := f.String()
			f.SetString(old + "x")
			changed()
			f.SetString(old)
			n++
		case reflect.Bool:
			f.SetBool(!f.Bool())
			changed()
			f.SetBool(!f.Bool())
			n++
		case reflect.Int:
			f.SetInt(f.Int() + 1)
			changed()
			f.SetInt(f.Int() - 1)
			n++
		case reflect.Slice:
			old := f.Interface().([]string)
			f.Set(reflect.ValueOf(append(slices.Clone(old), "x")))
			changed()
			f.Set(reflect.ValueOf(old))
			n++
		default:
			t.Fatalf("a field of kind %s this test cannot change", f.Kind())
		}
	}
	return n
}

// The comparisons behind Versions see every field of a Service's and a
// policy's verdict: one changed, however deep, is another version, so no
// pane keeps a row built from the old one. A field added later is walked
// too.
func TestVersionComparisonsSeeEveryField(t *testing.T) {
	svc := ambient.ServiceInfo{Waypoint: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "n", Name: "w"}, Source: "service", Problem: "p", Reason: "r", Note: "o"},
		IsWaypoint: true, IngressUseWaypoint: true, Conditions: []string{"c"},
		WaypointMissing: &ambient.WaypointMissing{Reason: "r", Message: "m", Wildcards: []string{"*.x"}, Racing: true}}
	other := svc
	other.WaypointMissing = &ambient.WaypointMissing{Reason: "r", Message: "m", Wildcards: []string{"*.x"}, Racing: true}
	if !sameServiceInfo(svc, other) {
		t.Fatal("a Service verdict differs from its copy")
	}
	if n := changeEach(t, reflect.ValueOf(&other).Elem(), func() {
		if sameServiceInfo(svc, other) {
			t.Errorf("changed %+v is the same as %+v", other, svc)
		}
	}); n < 13 {
		t.Errorf("only %d fields of ServiceInfo changed", n)
	}
	pol := ambient.PolicyInfo{Kind: "AuthorizationPolicy", Key: ambient.Key{Namespace: "n", Name: "p"}, Target: "Service/s", Action: "ALLOW",
		EnforcedBy: ambient.EnforcedByNone, Layer: "L7", Effect: "e", L7Fields: []string{"paths"}, Conditions: []string{"c"}, HasFindings: true,
		SelectedAmbient: 1, SelectedUncaptured: 2, SelectedSidecar: 3, SelectedGateway: 4, SelectedOther: 5, BoundTo: []string{"n/w"}}
	p2 := pol
	if !samePolicyInfo(pol, p2) {
		t.Fatal("a policy verdict differs from its copy")
	}
	if n := changeEach(t, reflect.ValueOf(&p2).Elem(), func() {
		if samePolicyInfo(pol, p2) {
			t.Errorf("changed %+v is the same as %+v", p2, pol)
		}
	}); n < 17 {
		t.Errorf("only %d fields of PolicyInfo changed", n)
	}
}

// A series numbers the Services and the pods' labels anew exactly when
// they change: the same cluster again, or a pod whose status alone
// changed, keeps them; a replaced Service, or a relabelled pod, gets a
// number no snapshot had. Another builder's numbers are its own, and a
// copy given another analysis has none.
func TestBuilderVersions(t *testing.T) {
	c := *synth.Cluster(200, 20, 60, 10)
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var b Builder
	first := b.Build(c, now)
	v1 := first.VersionsOf()
	if v1 == nil || v1.Services == 0 || v1.PodLabels == 0 {
		t.Fatalf("first snapshot's versions %+v", v1)
	}
	seen := map[uint64]bool{v1.Services: true, v1.PodLabels: true}
	fresh := func(what string, n uint64) {
		t.Helper()
		if seen[n] {
			t.Errorf("%s: number %d again", what, n)
		}
		seen[n] = true
	}
	if v := b.Build(c, now).VersionsOf(); v.Services != v1.Services || v.PodLabels != v1.PodLabels {
		t.Errorf("the same cluster again: %+v, was %+v", v, v1)
	}

	// A pod's status alone.
	i := len(c.Pods) / 2
	c.Pods = slices.Clone(c.Pods)
	p := c.Pods[i].DeepCopy()
	p.Status.PodIP = "10.9.9.9"
	c.Pods[i] = p
	v2 := b.Build(c, now).VersionsOf()
	if v2.PodLabels != v1.PodLabels {
		t.Errorf("a pod's IP changed its labels' version")
	}

	// Its labels.
	c.Pods = slices.Clone(c.Pods)
	p = p.DeepCopy()
	p.Labels = map[string]string{"moved": "yes"}
	c.Pods[i] = p
	v3 := b.Build(c, now).VersionsOf()
	fresh("a pod relabelled", v3.PodLabels)

	// A Service replaced by an equal copy: another object, another version.
	c.Services = slices.Clone(c.Services)
	c.Services[0] = c.Services[0].DeepCopy()
	v4 := b.Build(c, now).VersionsOf()
	fresh("a Service replaced", v4.Services)
	if v4.PodLabels != v3.PodLabels {
		t.Error("a Service replaced changed the pods' labels' version")
	}

	var other Builder
	o := other.Build(c, now).VersionsOf()
	fresh("another builder's Services", o.Services)
	fresh("another builder's pods", o.PodLabels)
	if Build(c, now).VersionsOf() == nil {
		t.Error("a snapshot of Build has no versions")
	}
	cp := *first
	cp.Mesh = &ambient.Analysis{}
	if cp.VersionsOf() != nil {
		t.Error("a copy given another analysis keeps the versions")
	}
}
