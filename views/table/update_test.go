package table

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/ambx/ambx/theme"
)

// A table given a series of row sets, each the last with a few rows
// changed (SetRows' incremental path), holds and draws exactly what a new
// table given only the last set does: widths when the widest cell narrows,
// Optional columns emptied and filled, marks, labels under a "-l" filter,
// rows leaving and entering a text filter, a sorted column's order, and
// columns that collapse because every shown row holds the same value.
// Each runs on 200 rows and on 4 (where a changed row is often the first
// and columns become the same again), with every row's cells new or, as
// panes hand them over, only the changed rows' (the rest the same arrays).
func TestUpdatedRowsAreWhatFreshRowsAre(t *testing.T) {
	cols := []Column{
		{Title: "NAME", Min: 4, Name: true},
		{Title: "STATE", Min: 5, Priority: 1},
		{Title: "NODE", Min: 4, Priority: 2},
		{Title: "RATE", Min: 4, Priority: 3, Optional: true, Right: true},
	}
	words := []string{"", "a", "ok", "Running ●", "pending", "x\x1b[31m", "a-much-longer-value", "ünïcödé"}
	rnd := rand.New(rand.NewPCG(1, 2))
	row := func(i int) Row {
		return Row{Key: fmt.Sprintf("pod/ns/p-%03d", i), Labels: map[string]string{"app": "a"}, Cells: []Cell{
			{Text: fmt.Sprintf("p-%03d", i)}, {Text: "ok"}, {Text: "node-1"}, {},
		}}
	}
	clone := func(rows []Row) []Row {
		out := make([]Row, len(rows))
		for i, r := range rows {
			r.Cells = slices.Clone(r.Cells)
			out[i] = r
		}
		return out
	}
	for _, setup := range []struct {
		name string
		f    func(Model) Model
	}{
		{"plain", func(m Model) Model { return m }},
		{"filtered", func(m Model) Model { return m.SetFilter("ok") }},
		{"labels", func(m Model) Model { return m.SetFilter("-l app=a") }},
		{"sorted", func(m Model) Model { return m.SortBy(2) }},
		{"collapsed", func(m Model) Model { return m.Collapse() }},
	} {
		// Four rows of two words hold one value in a column often.
		few := []string{"ok", "a"}
		for _, shape := range []struct {
			n     int
			share bool
			words []string
		}{{200, false, words}, {200, true, words}, {4, false, few}, {4, true, few}, {4, true, words}} {
			t.Run(fmt.Sprintf("%s/%d/share=%v/%d", setup.name, shape.n, shape.share, len(shape.words)), func(t *testing.T) {
				updated(t, setup.f, shape.n, shape.share, rnd, cols, row, clone, shape.words)
			})
		}
	}
}

func updated(t *testing.T, setup func(Model) Model, n int, share bool, rnd *rand.Rand, cols []Column, row func(int) Row, clone func([]Row) []Row, words []string) {
	rows := make([]Row, n)
	for i := range rows {
		rows[i] = row(i)
	}
	m := setup(New(cols...)).SetHeight(20).SetRows(clone(rows))
	m = m.Move(37)
	for step := range 150 {
		if share {
			rows = slices.Clone(rows)
		} else {
			rows = clone(rows)
		}
		for range 1 + rnd.IntN(3) {
			r := &rows[rnd.IntN(len(rows))]
			if share {
				r.Cells = slices.Clone(r.Cells)
			}
			switch k := rnd.IntN(5); k {
			case 0, 1, 2:
				r.Cells[1+k] = Cell{Text: words[rnd.IntN(len(words))], Tone: theme.Tone(rnd.IntN(3))}
			case 3:
				r.Mark = Cell{Text: []string{"", "!", "✖", "ab"}[rnd.IntN(4)]}
			case 4:
				r.Labels = map[string]string{"app": []string{"a", "b"}[rnd.IntN(2)]}
			}
		}
		given := rows
		if !share {
			given = clone(rows)
		}
		m = m.SetRows(given)
		fresh := setup(New(cols...)).SetHeight(20).SetRows(clone(rows))
		fresh = fresh.SelectKey(m.SelectedKey())
		fresh.cursor, fresh.offset = m.cursor, m.offset
		for _, f := range []struct {
			what      string
			got, want any
		}{
			{"widths", m.contentW, fresh.contentW}, {"filled", m.filled, fresh.filled}, {"marks", m.marks, fresh.marks},
			{"visible", m.visible, fresh.visible}, {"same", m.same, fresh.same},
		} {
			if !reflect.DeepEqual(f.got, f.want) {
				t.Fatalf("step %d: %s %v, a fresh table's %v", step, f.what, f.got, f.want)
			}
		}
		for _, w := range []int{30, 80} {
			if got, want := m.View(theme.Dark, w, 22, true), fresh.View(theme.Dark, w, 22, true); got != want {
				t.Fatalf("step %d, width %d: drew\n%s\na fresh table draws\n%s", step, w, got, want)
			}
		}
	}
}
