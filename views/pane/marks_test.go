package pane

import (
	"runtime"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/synth"
	"github.com/ambx/ambx/views/table"
)

func podRows(pods []*corev1.Pod) []table.Row {
	rows := make([]table.Row, len(pods))
	for i, p := range pods {
		rows[i] = table.Row{Key: kube.Ref{Kind: kube.KindPod, Namespace: p.Namespace, Name: p.Name}.Key()}
	}
	return rows
}

// Every row carries its own object's mark, however the rows moved since
// they were last marked with the same index (a namespace picked, the
// rows reversed, all again) and when a new index comes.
func TestMarksFollowTheRows(t *testing.T) {
	s := demo.Homelab()
	ix := s.Marks()
	all := podRows(s.Pods)
	check := func(what string, rows []table.Row, ix *finding.Index) {
		t.Helper()
		marked := 0
		for _, r := range rows {
			if want := markOf(r.Key, ix); r.Mark != want {
				t.Errorf("%s: row %s marked %q, want %q", what, r.Key, r.Mark.Text, want.Text)
			}
			if r.Mark.Text != "" {
				marked++
			}
		}
		if marked == 0 {
			t.Fatalf("%s: no row has a mark: the test checks nothing", what)
		}
	}
	var mm *markMemo
	steps := []struct {
		what string
		rows func() []table.Row
	}{
		{"first", func() []table.Row { return slices.Clone(all) }},
		{"the same again", func() []table.Row { return slices.Clone(all) }},
		{"reversed", func() []table.Row { r := slices.Clone(all); slices.Reverse(r); return r }},
		{"every other row", func() []table.Row {
			var r []table.Row
			for i := 0; i < len(all); i += 2 {
				r = append(r, all[i])
			}
			return r
		}},
		{"all again", func() []table.Row { return slices.Clone(all) }},
	}
	for _, st := range steps {
		rows := st.rows()
		mm = mm.marks(rows, ix)
		check(st.what, rows, ix)
	}

	// A new index, as every snapshot brings: a marked pod deleted, so its
	// findings are gone (its row, drawn from the last snapshot, stays).
	c := s.Cluster
	var gone string
	for i, p := range c.Pods {
		k := kube.Ref{Kind: kube.KindPod, Namespace: p.Namespace, Name: p.Name}.Key()
		if markOf(k, ix).Text != "" {
			c.Pods, gone = slices.Delete(slices.Clone(c.Pods), i, i+1), k
			break
		}
	}
	next := kube.Build(c, s.Taken).Marks()
	rows := slices.Clone(all)
	mm = mm.marks(rows, next)
	check("a new index", rows, next)
	if i := slices.IndexFunc(rows, func(r table.Row) bool { return r.Key == gone }); i < 0 || rows[i].Mark.Text != "" {
		t.Errorf("the deleted pod's row (%s) kept its mark with the new index", gone)
	}
}

// A new index marks every row once, without building a map of every
// row's mark beside the rows' own places: at 10,600 pods that map was
// 1.8 MiB per snapshot, held twice while the last snapshot is drawn.
func TestMarksOfANewIndexCostTheirPlacesOnly(t *testing.T) {
	s := kube.Build(*synth.Cluster(10000, 1000, 3000, 500), demo.Epoch)
	rows := podRows(s.Pods)
	var mm *markMemo
	mm = mm.marks(rows, s.Marks())
	next := kube.Build(s.Cluster, demo.Epoch).Marks()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	mm = mm.marks(rows, next)
	runtime.ReadMemStats(&after)
	// The places: a key and a cell per row (40 bytes), plus what
	// markOf allocates (nothing for an unmarked row).
	if per := float64(after.TotalAlloc-before.TotalAlloc) / float64(len(rows)); per > 48 && !raceEnabled {
		t.Errorf("marking %d rows with a new index allocated %.0f bytes a row, want at most 48", len(rows), per)
	}
	if len(mm.cells) != 0 {
		t.Errorf("the memo holds %d marks by key after rows that did not move", len(mm.cells))
	}
}
