package table_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/table"
)

// rows makes n rows shaped like the Workloads pane's.
func rows(n int) []table.Row {
	out := make([]table.Row, n)
	for i := range out {
		ns := fmt.Sprintf("ns-%04d", i%1000)
		name := fmt.Sprintf("app-%03d-7d4f9-%05d", i%20, i)
		out[i] = table.Row{Key: ns + "/" + name, Cells: []table.Cell{
			{Text: ns, Tone: theme.ToneDim}, {Text: name}, {Text: fmt.Sprintf("node-%04d", i%100), Tone: theme.ToneDim},
			{Text: "● captured", Tone: theme.ToneGood}, {Text: "waypoint", Tone: theme.ToneAccent},
			{Text: "1/1"}, {Text: "3d", Tone: theme.ToneDim},
		}}
	}
	return out
}

func model(n int) table.Model {
	return table.New(
		table.Column{Title: "NAMESPACE", Min: 9, Max: 16, Priority: 1},
		table.Column{Title: "POD", Min: 12, Max: 30},
		table.Column{Title: "NODE", Min: 6, Max: 14, Priority: 4},
		table.Column{Title: "MESH", Min: 9, Max: 11},
		table.Column{Title: "WAYPOINT", Min: 8, Max: 22, Priority: 3},
		table.Column{Title: "READY", Min: 5, Right: true, Priority: 2},
		table.Column{Title: "AGE", Min: 4, Right: true, Priority: 5},
	).SetHeight(48).SetRows(rows(n))
}

// BenchmarkView draws a 160x50 frame of a table of 100 and of 10,000 rows,
// with the cursor in the middle: the two should cost the same.
func BenchmarkView(b *testing.B) {
	for _, n := range []int{100, 10000} {
		m := model(n).Move(n / 2)
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = m.View(theme.Dark, 160, 50, true)
			}
		})
	}
}

// BenchmarkSetRows is what each pane pays per snapshot, on the UI goroutine.
func BenchmarkSetRows(b *testing.B) {
	m := model(0)
	r := rows(10000)
	b.ReportAllocs()
	for b.Loop() {
		m = m.SetRows(r)
	}
}

// BenchmarkFilter is one keystroke typed into the filter line at 10,000 rows.
func BenchmarkFilter(b *testing.B) {
	m := model(10000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		f := "app-01"
		if i%2 == 1 {
			f = "app-012"
		}
		i++
		m = m.SetFilter(f)
	}
}

// BenchmarkMove is one cursor step at 10,000 rows.
func BenchmarkMove(b *testing.B) {
	m := model(10000)
	b.ReportAllocs()
	for b.Loop() {
		m = m.Move(1)
	}
}

// TestColouredViewMatchesPlain guards View's shortcut around Style.Render:
// in colour, every cell still carries its tone's codes around exactly the
// text the plain theme lays out.
func TestColouredViewMatchesPlain(t *testing.T) {
	m := model(30).Move(3)
	plain := m.View(theme.Plain, 120, 10, true)
	dark := m.View(theme.Dark, 120, 10, true)
	if got := ansi.Strip(dark); got != plain {
		t.Fatalf("coloured layout differs from plain:\n%s\nwant:\n%s", got, plain)
	}
	for _, want := range []string{
		theme.Dark.Tone(theme.ToneGood).Render("● captured"),
		theme.Dark.Tone(theme.ToneDim).Render("ns-0000  "),
		theme.Dark.Tone(theme.ToneAccent).Render("waypoint"),
	} {
		if !strings.Contains(dark, want) {
			t.Errorf("no %q in the coloured frame", want)
		}
	}
}
