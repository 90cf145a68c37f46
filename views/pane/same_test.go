package pane

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/table"
)

// Every field of a snapshot, the cluster's included, takes part: a copy
// with any one of them replaced is not the same snapshot, so a pane never
// keeps rows built from other objects. A field added later is covered
// without touching this test.
func TestSameSnapshotSeesEveryField(t *testing.T) {
	s := demo.Homelab()
	s.Loads = &ztunnel.Loads{}
	if !sameSnapshot(s, s, true, true) {
		t.Fatal("a snapshot is not the same as itself")
	}
	cp := *s
	if !sameSnapshot(s, &cp, true, true) {
		t.Fatal("a copy sharing every object is not the same")
	}
	n := 0
	var walk func(path string, v reflect.Value)
	walk = func(path string, v reflect.Value) {
		for i := range v.NumField() {
			f, sf := v.Field(i), v.Type().Field(i)
			if !sf.IsExported() {
				continue
			}
			p := path + "." + sf.Name
			if f.Kind() == reflect.Struct && f.Type() != reflect.TypeOf(time.Time{}) {
				walk(p, f)
				continue
			}
			old := reflect.New(f.Type()).Elem()
			old.Set(f)
			if !change(f) {
				continue
			}
			n++
			want := p != ".Loads" // left out for panes that do not read it
			if got := !sameSnapshot(s, &cp, false, true); got != want {
				t.Errorf("%s replaced: differs=%v, want %v", p, got, want)
			}
			// Left out for panes that read neither the clock nor a first
			// list's counts.
			want = want && p != ".Taken" && p != ".LastEvent" && p != ".Seq"
			if got := !sameSnapshot(s, &cp, false, false); got != want {
				t.Errorf("%s replaced: differs=%v for a pane that reads no ticks, want %v", p, got, want)
			}
			if sameSnapshot(s, &cp, true, true) {
				t.Errorf("%s replaced: the same for a pane reading loads", p)
			}
			f.Set(old)
			if !sameSnapshot(s, &cp, true, true) {
				t.Fatalf("%s restored: not the same", p)
			}
		}
	}
	walk("", reflect.ValueOf(&cp).Elem())
	if n < 30 {
		t.Errorf("only %d fields changed: the walk missed the cluster", n)
	}
}

// change replaces v with another value of its type; false for a kind it
// does not know how to change.
func change(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), v.Len(), v.Len()+1))
	case reflect.Map:
		v.Set(reflect.MakeMap(v.Type()))
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
	case reflect.String:
		v.SetString(v.String() + "x")
	case reflect.Bool:
		v.SetBool(!v.Bool())
	case reflect.Int, reflect.Int64, reflect.Int32:
		v.SetInt(v.Int() + 1)
	case reflect.Uint, reflect.Uint64, reflect.Uint32:
		v.SetUint(v.Uint() + 1)
	case reflect.Struct: // time.Time
		v.Set(reflect.ValueOf(v.Interface().(time.Time).Add(time.Second)))
	default:
		return false
	}
	return true
}

// A pane builds its rows again only when what they are built from
// changed: the same snapshot again, or a copy of it with new ztunnel rates
// for a pane that does not show them, keeps the rows; a rebuilt snapshot,
// new usage, another namespace rebuild them, and the rows show the change.
func TestRowsRebuiltOnlyWhenTheirInputChanged(t *testing.T) {
	for _, loads := range []bool{false, true} {
		builds := 0
		m := NewModel(theme.Plain, Spec{
			Title:   "Pods",
			Kinds:   []kube.Kind{kube.KindPod},
			Columns: []table.Column{{Title: "NAME", Name: true}, {Title: "PHASE"}},
			Rows: func(in Input) ([]table.Row, string) {
				builds++
				var rows []table.Row
				for _, p := range in.Snapshot.Pods {
					if in.Namespace == "" || p.Namespace == in.Namespace {
						rows = append(rows, table.Row{Key: kube.Ref{Kind: kube.KindPod, Namespace: p.Namespace, Name: p.Name}.Key(),
							Cells: []table.Cell{Plain(p.Name), Plain(string(p.Status.Phase))}})
					}
				}
				return rows, ""
			},
			ReadsLoads: loads,
		})
		s := demo.Homelab()
		var r Resource = m.SetSnapshot(s).SetSize(200, 60)
		step := func(what string, next func(Resource) Resource, rebuilt bool) {
			t.Helper()
			before := builds
			r = next(r)
			if got := builds > before; got != rebuilt {
				t.Errorf("loads=%v, %s: rebuilt=%v, want %v", loads, what, got, rebuilt)
			}
		}
		step("same snapshot", func(r Resource) Resource { return r.SetSnapshot(s) }, false)
		cp := *s
		step("a copy", func(r Resource) Resource { return r.SetSnapshot(&cp) }, false)
		step("new rates", func(r Resource) Resource { return r.SetSnapshot(s.WithLoads(&ztunnel.Loads{})) }, loads)
		step("new usage", func(r Resource) Resource { return r.SetUsage(&usage.Usage{}) }, true)
		step("same usage", func(r Resource) Resource { return r.SetUsage(r.(Model).in.Usage) }, false)
		step("a namespace", func(r Resource) Resource { return r.SetNamespace(s.Pods[0].Namespace) }, true)
		step("all again", func(r Resource) Resource { return r.SetNamespace("") }, true)

		// One pod's phase changes: a new snapshot, as the Source makes it.
		c := s.Cluster
		c.Pods = append(c.Pods[:0:0], c.Pods...)
		p := c.Pods[0].DeepCopy()
		p.Status.Phase = "Changed"
		c.Pods[0] = p
		next := kube.Build(c, s.Taken)
		step("a pod changed", func(r Resource) Resource { return r.SetSnapshot(next) }, true)
		if v := r.View(200, 60, true); !strings.Contains(v, "Changed") {
			t.Errorf("loads=%v: the changed pod's row is not on screen:\n%s", loads, v)
		}
	}
}

// A snapshot published again while the pods stream in differs in its
// clock and the pods' counts only: the same for a pane that reads no
// ticks, never for one that does, and any other change of a watch state
// makes it differ for both.
func TestSameSnapshotWhilePodsLoad(t *testing.T) {
	s := demo.Homelab()
	s.Resources = map[kube.Resource]kube.ResourceState{
		kube.ResPods:       {Availability: kube.Syncing, Loaded: 500, Total: 10600},
		kube.ResNamespaces: {Availability: kube.Available},
	}
	tick := *s
	tick.Taken = s.Taken.Add(time.Second)
	tick.Seq = s.Seq + 1
	tick.Resources = map[kube.Resource]kube.ResourceState{
		kube.ResPods:       {Availability: kube.Syncing, Loaded: 1000, Total: 10600},
		kube.ResNamespaces: {Availability: kube.Available},
	}
	if !sameSnapshot(s, &tick, false, false) {
		t.Error("a progress tick differs for a pane that reads no ticks")
	}
	if sameSnapshot(s, &tick, false, true) {
		t.Error("a progress tick is the same for a pane that reads them")
	}
	for name, st := range map[string]kube.ResourceState{
		"the pods read":      {Availability: kube.Available},
		"a detail changed":   {Availability: kube.Syncing, Loaded: 1000, Total: 10600, Detail: "retrying"},
		"the pods forbidden": {Availability: kube.Forbidden},
	} {
		next := tick
		next.Resources = map[kube.Resource]kube.ResourceState{kube.ResPods: st, kube.ResNamespaces: {Availability: kube.Available}}
		if sameSnapshot(s, &next, false, false) {
			t.Errorf("%s: the same for a pane that reads no ticks", name)
		}
	}
	fewer := tick
	fewer.Resources = map[kube.Resource]kube.ResourceState{kube.ResPods: tick.Resources[kube.ResPods]}
	if sameSnapshot(s, &fewer, false, false) {
		t.Error("a watch state gone: the same for a pane that reads no ticks")
	}
}
