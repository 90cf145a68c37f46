package table

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/theme"
)

func row(key string, cells ...string) Row {
	r := Row{Key: key}
	for _, c := range cells {
		r.Cells = append(r.Cells, Cell{Text: c})
	}
	return r
}

func body(v string) []string {
	lines := strings.Split(v, "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(strings.Replace(lines[i], "▸", " ", 1), " ")
	}
	return lines
}

func TestOneValueColumnsAreSaidOnce(t *testing.T) {
	m := New(Column{Title: "NAMESPACE", Min: 9, Priority: 1}, Column{Title: "NAME", Min: 4, Name: true}).Collapse()
	m = m.SetHeight(5).SetRows([]Row{row("a", "shop", "cart"), row("b", "shop", "web")})
	v := m.View(theme.Plain, 40, 5, true)
	if strings.Contains(v, "NAMESPACE") || strings.Contains(v, "shop") {
		t.Errorf("the one-value column is drawn:\n%s", v)
	}
	if got := strings.Join(m.Same(), " "); got != "NAMESPACE=shop" {
		t.Errorf("Same = %q", got)
	}
	// A filter that leaves rows of two namespaces brings the column back.
	m = m.SetRows([]Row{row("a", "shop", "cart"), row("b", "shop", "web"), row("c", "bank", "web")})
	if v := m.View(theme.Plain, 40, 5, true); !strings.Contains(v, "NAMESPACE") || len(m.Same()) != 0 {
		t.Errorf("a column with two values is left out:\n%s", v)
	}
	// One row: nothing is "the same" (there is nothing to compare).
	m = m.SetRows([]Row{row("a", "shop", "cart")})
	if len(m.Same()) != 0 {
		t.Errorf("one row: Same = %v", m.Same())
	}
	// Without Collapse every column is drawn.
	plain := New(Column{Title: "NAMESPACE", Min: 9, Priority: 1}, Column{Title: "NAME", Min: 4}).SetRows([]Row{row("a", "shop", "cart"), row("b", "shop", "web")})
	if v := plain.View(theme.Plain, 40, 5, true); !strings.Contains(v, "shop") || len(plain.Same()) != 0 {
		t.Errorf("a table that did not ask for it collapsed:\n%s", v)
	}
}

func TestCutValuesStayApart(t *testing.T) {
	m := New(Column{Title: "POD", Min: 8, Name: true}).SetHeight(5).SetRows([]Row{
		row("a", "argo-workflows-server-5d94d85559-99844"),
		row("b", "argo-workflows-server-5d94d85559-d7b55"),
		row("c", "short"),
	})
	for _, w := range []int{12, 20, 30} {
		lines := body(m.View(theme.Plain, w, 5, true))
		if lines[1] == lines[2] {
			t.Errorf("width %d: two pods read %q", w, lines[1])
		}
		if !strings.HasSuffix(lines[1], "99844") && w >= 20 {
			t.Errorf("width %d: the cut keeps no whole end: %q", w, lines[1])
		}
		if strings.TrimSpace(lines[3]) != "short" {
			t.Errorf("width %d: an uncut value changed: %q", w, lines[3])
		}
	}
}

func TestRowsAlikeBringBackAHiddenColumn(t *testing.T) {
	// Two PeerAuthentications named default, in two namespaces; the pane
	// is too narrow for the NAMESPACE column by priority alone.
	m := New(
		Column{Title: "NAMESPACE", Min: 9, Priority: 5},
		Column{Title: "KIND", Min: 9, Priority: 2},
		Column{Title: "NAME", Min: 8, Name: true},
		Column{Title: "LAYER", Min: 5},
	).Collapse().SetHeight(5).SetRows([]Row{
		row("a", "istio-system", "PeerAuthn", "default", "L4"),
		row("b", "shop", "PeerAuthn", "default", "L4"),
		row("c", "shop", "AuthzPolicy", "allow", "L7"),
	})
	lines := body(m.View(theme.Plain, 30, 5, true))
	if lines[1] == lines[2] {
		t.Errorf("two policies read the same:\n%s", strings.Join(lines, "\n"))
	}
	if !strings.Contains(lines[0], "NAMESPACE") {
		t.Errorf("the column that tells them apart is not drawn:\n%s", strings.Join(lines, "\n"))
	}
}
