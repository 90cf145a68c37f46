package pane

import (
	"reflect"
	"unsafe"

	"github.com/ambx/ambx/kube"
)

// sameSnapshot reports whether b holds exactly a's objects and analyses,
// so rows built from either are the same: every field of the snapshot
// (the cluster's too) is the same pointer, slice, map or value. The
// Source hands out an untouched resource's slice and analysis as they
// were, and the UI's copies of one snapshot (WithLoads, WithZtunnel with
// no drift) share them, so this holds for most snapshots the UI sees
// while idle; a rebuilt snapshot is a new analysis and never the same.
// Loads is left out unless loads is set: only panes that read it care.
// The clock (Taken, LastEvent, Seq) and the progress counts of a first
// list are left out unless ticks is set: while the pods stream in, the
// Source publishes the same analysis again every 500 pods with only
// those changed, and a pane that reads neither has nothing to rebuild
// (at 50,000 pods that was 4.5 ms and 3 MB of garbage each, a hundred
// times over). It compares identity, never contents, but for the watch
// states: a field it cannot compare (a func) makes the snapshots differ.
func sameSnapshot(a, b *kube.Snapshot, loads, ticks bool) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Mesh == nil || a.Mesh != b.Mesh {
		return false
	}
	if !loads && a.Loads != b.Loads || !ticks {
		x := *b
		if !loads {
			x.Loads = a.Loads
		}
		if !ticks {
			x.Taken, x.LastEvent, x.Seq = a.Taken, a.LastEvent, a.Seq
			if sameStatesButCounts(a.Resources, b.Resources) {
				x.Resources = a.Resources
			}
		}
		b = &x
	}
	return sameValue(reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem())
}

// sameStatesButCounts reports whether a and b hold the same watch states
// but for a first list's Loaded and Total counts.
func sameStatesButCounts(a, b map[kube.Resource]kube.ResourceState) bool {
	if len(a) != len(b) || (a == nil) != (b == nil) {
		return false
	}
	for r, x := range a {
		y, ok := b[r]
		if !ok || x.Availability != y.Availability || x.Detail != y.Detail {
			return false
		}
	}
	return true
}

// sameValue compares a and b field by field: references by identity,
// plain values by ==.
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Struct:
		for i := range a.NumField() {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice:
		return a.Len() == b.Len() && a.Cap() == b.Cap() && unsafe.Pointer(a.Pointer()) == unsafe.Pointer(b.Pointer())
	case reflect.Map, reflect.Pointer, reflect.UnsafePointer, reflect.Chan:
		return a.Pointer() == b.Pointer()
	case reflect.String:
		return a.String() == b.String()
	case reflect.Bool:
		return a.Bool() == b.Bool()
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return a.Int() == b.Int()
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return a.Uint() == b.Uint()
	case reflect.Float32, reflect.Float64:
		return a.Float() == b.Float()
	case reflect.Array:
		for i := range a.Len() {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() && b.IsNil()
		}
		return a.Elem().Type() == b.Elem().Type() && sameValue(a.Elem(), b.Elem())
	}
	// Funcs and anything new: not known to be the same.
	return false
}
