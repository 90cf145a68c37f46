package table

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/theme"
)

// An Optional column is drawn only while some row has text in it.
func TestOptionalColumn(t *testing.T) {
	m := New(Column{Title: "NAME", Min: 4}, Column{Title: "RATE", Min: 4, Optional: true})
	empty := m.SetRows([]Row{{Key: "a", Cells: []Cell{{Text: "web"}, {}}}}).View(theme.Plain, 20, 2, false)
	if strings.Contains(empty, "RATE") {
		t.Errorf("empty optional column drawn:\n%s", empty)
	}
	full := m.SetRows([]Row{{Key: "a", Cells: []Cell{{Text: "web"}, {}}}, {Key: "b", Cells: []Cell{{Text: "db"}, {Text: "0"}}}}).View(theme.Plain, 20, 3, false)
	if !strings.Contains(full, "RATE") {
		t.Errorf("optional column with data not drawn:\n%s", full)
	}
}
