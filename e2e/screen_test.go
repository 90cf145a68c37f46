package e2e

import (
	"os"
	"strings"
	"testing"
)

// The screen readers the walk relies on, checked against screens captured
// from ambx (testdata/drilled-*.txt: drilled into loki, Namespaces filtered
// to /loki, Workloads to /prom, the cursor on the second pod).
func TestReadScreen(t *testing.T) {
	for _, tc := range []struct {
		file     string
		width    int
		nsHeader int // columns the Namespaces pane shows at this width
	}{
		{"testdata/drilled-120x35.txt", 120, 6},
		{"testdata/drilled-80x24.txt", 80, 4},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			rows := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			if p := problems(rows, tc.width); p != "" {
				t.Errorf("a good screen reported as broken: %s", p)
			}
			if p, ok := focused(rows); !ok || p != "Workloads" {
				t.Errorf("focused = %q, %v; want Workloads", p, ok)
			}
			ns := mustTable(t, rows, "Namespaces")
			if ns.Title.Shown != 1 || ns.Title.Total != 15 || ns.Title.Filter != "/loki" || ns.Title.Drill != "" {
				t.Errorf("Namespaces title read as %+v", ns.Title)
			}
			if len(ns.Header) != tc.nsHeader || len(ns.Rows) != 1 || ns.Cursor != -1 {
				t.Errorf("Namespaces read as header %v, rows %v, cursor %d", ns.Header, ns.Rows, ns.Cursor)
			}
			if got := podsOf(t, ns, "loki"); got != 14 {
				t.Errorf("PODS of loki read as %d, want 14", got)
			}
			w := mustTable(t, rows, "Workloads")
			if w.Title.Drill != "loki" || w.Title.Shown != 5 || w.Title.Total != 14 || w.Title.Filter != "/prom" {
				t.Errorf("Workloads title read as %+v", w.Title)
			}
			if len(w.Rows) != 5 || w.Cursor != 1 {
				t.Fatalf("Workloads rows %v, cursor %d; want 5 rows, cursor on the second", w.Rows, w.Cursor)
			}
			if pod, _ := w.cell(w.Rows[1], "POD"); pod != "promtail-57c88" {
				t.Errorf("POD of the cursor row read as %q", pod)
			}
			if st, _ := w.meshState(w.Rows[1]); st != "ambient" {
				t.Errorf("mesh state of the cursor row read as %q", st)
			}
			if w.Room < len(w.Rows) {
				t.Errorf("Workloads room %d, fewer than its %d rows", w.Room, len(w.Rows))
			}
			for _, pane := range []string{"Waypoints", "Policies"} {
				if tb := mustTable(t, rows, pane); len(tb.Rows) != 0 || tb.Title.Total != 0 {
					t.Errorf("%s read as %d rows (%+v), want none", pane, len(tb.Rows), tb.Title)
				}
			}
		})
	}
}

// A broken screen is caught: too wide a row, or a panic.
func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		rows []string
		bad  bool
	}{
		{"fits", []string{"1234567890", "▸● ambient"}, false},
		{"one cell too wide", []string{"12345678901"}, true},
		{"wide glyphs count twice", []string{"日本語日本語"}, true},
		{"panic", []string{"panic: runtime error: index out of range"}, true},
		{"stack", []string{"goroutine 1 [running]:"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := problems(tc.rows, 10); (got != "") != tc.bad {
				t.Errorf("problems(%q) = %q, want bad=%v", tc.rows, got, tc.bad)
			}
		})
	}
}
