package pane

import (
	"slices"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/table"
)

// Resource is one pane of the main screen as the root model sees it. The
// root keeps a list of them and loops over it for routing, filtering,
// drill-down, resizing and snapshots, and acts on Selected's Kind, never on
// which pane has focus. Methods return the changed pane (values, as in
// Bubble Tea), so an earlier copy of the root still draws what it drew.
type Resource interface {
	// Name is the pane's title, e.g. "Workloads".
	Name() string
	// Kinds are the kinds its rows select (the Policies pane has three).
	Kinds() []kube.Kind
	SetSnapshot(*kube.Snapshot) Resource
	SetUsage(*usage.Usage) Resource
	// SetNamespace limits the pane to one namespace ("" for all).
	SetNamespace(string) Resource
	SetFilter(string) Resource
	Filter() string
	SetSize(width, height int) Resource
	Update(tea.Msg) (Resource, tea.Cmd)
	View(width, height int, focused bool) string
	// Selected is the object under the cursor.
	Selected() (kube.Ref, bool)
	// Select moves the cursor to r's row; false when the pane has no such row.
	Select(r kube.Ref) (Resource, bool)
}

// Input is what a pane's rows are built from.
type Input struct {
	Snapshot  *kube.Snapshot // nil until the first snapshot
	Usage     *usage.Usage   // nil until the first metrics poll
	Namespace string         // the drilled-in namespace, "" for all
}

// Spec is everything that makes one table pane different from another;
// Model does the rest.
type Spec struct {
	Title   string
	Kinds   []kube.Kind
	Columns []table.Column
	// Rows builds the rows, each keyed by its object's kube.Ref.Key, and
	// the note to show when some of the data could not be read. nil rows
	// (not an empty slice) mean there is nothing to build from yet.
	Rows func(in Input) (rows []table.Row, note string)
	// NoUsage says the rows do not read Input.Usage, so a metrics poll
	// does not rebuild them.
	NoUsage bool
	// Unscoped panes ignore SetNamespace: the Namespaces pane is where the
	// user picks the namespace to drill into, so it keeps listing them all.
	Unscoped bool
	// Reads are the inputs of the rows' columns besides the pane's own
	// resource (whose absence Rows' note explains): the title names those
	// not read, so a zero built from nothing is not taken for a fact.
	Reads []kube.Resource
	// ReadsLoads says the rows read Snapshot.Loads (ztunnel's rates), so
	// a new scrape rebuilds them; other panes keep their rows then.
	ReadsLoads bool
	// ReadsTicks says the rows or the note read the snapshot's clock
	// (Taken, LastEvent, Seq: an AGE column) or a first list's progress
	// counts (a note that says "loading pods 5,423 / 10,600"), so a
	// snapshot that changed only those rebuilds them; other panes keep
	// their rows while the pods stream in.
	ReadsTicks bool
}

// Model is a table pane built from a Spec; it implements Resource.
type Model struct {
	Pane
	spec *Spec
	in   Input
	// built is the input the rows were last built from (valid when
	// hasBuilt): Rows is a function of its input, so the same input
	// again keeps the rows (see sameSnapshot).
	built    Input
	hasBuilt bool
	// marked memoizes each row key's mark in one index: Build hands out
	// the same index while the findings mark the same objects alike, and
	// a mark is a function of the index and the key alone, so copies of
	// the model may share it.
	marked *markMemo
	// given is the rows Rows last returned (nil before), marked from
	// givenIx: a pane whose inputs did not change may return the very
	// same rows, which the table already holds.
	given   []table.Row
	givenIx *finding.Index
}

// markMemo is the marks of row keys in ix.
type markMemo struct {
	ix    *finding.Index
	cells map[string]table.Cell
	// keys[i] is the key of row i when rows were last marked, and at[i]
	// its mark: rows mostly come in the last snapshot's order, and
	// comparing a key with the one at its index (the same string, mostly)
	// is cheaper than a probe of cells. Each pair stays a key and its
	// mark in ix, so copies of the model may share them.
	keys []string
	at   []table.Cell
}

// NewModel returns an empty pane for spec.
// Every row is marked with its worst finding (see marks).
func NewModel(t *theme.Theme, spec Spec) Model {
	p := New(t, spec.Title, spec.Columns...)
	// Until the first snapshot nothing was read: the pane says so, never
	// "no rows".
	p.Note = Unavailable(nil, "")
	return Model{Pane: p, spec: &spec}
}

func (m Model) rebuild() Model {
	if b := m.built; m.hasBuilt && b.Namespace == m.in.Namespace &&
		(m.spec.NoUsage || b.Usage == m.in.Usage) &&
		sameSnapshot(b.Snapshot, m.in.Snapshot, m.spec.ReadsLoads, m.spec.ReadsTicks) {
		return m
	}
	m.built, m.hasBuilt = m.in, true
	rows, note := m.spec.Rows(m.in)
	m.Note = note
	m.Partial = Partial(m.in.Snapshot, m.spec.Reads...)
	// nil rows: nothing to build from yet; keep what is shown.
	if rows == nil {
		return m
	}
	given, ix := rows, m.in.Snapshot.Marks()
	if sameRows(rows, m.given) {
		if ix == m.givenIx {
			// What the table shows, marked alike: SetRows would
			// change nothing.
			return m
		}
		// The table holds these rows, and earlier copies of it may
		// still be drawn: the new marks go on a copy.
		rows = slices.Clone(rows)
	}
	m.marked = m.marked.marks(rows, ix)
	m.Table = m.Table.SetRows(rows)
	m.given, m.givenIx = given, ix
	return m
}

// sameRows reports whether a and b are one slice: the same array and
// length (b not nil: nothing given yet is never the same).
func sameRows(a, b []table.Row) bool {
	return b != nil && len(a) == len(b) && (len(a) == 0 || &a[0] == &b[0])
}

// marks puts in front of each row the mark of its object's worst finding:
// a namespace's row counts the findings of everything in it, so what is
// wrong shows on the main screen without opening a view.
func (mm *markMemo) marks(rows []table.Row, ix *finding.Index) *markMemo {
	if mm == nil || mm.ix != ix || len(mm.cells) > 2*len(rows)+64 {
		mm = &markMemo{ix: ix}
	}
	if len(mm.keys) < len(rows) {
		mm.keys = append(mm.keys, make([]string, len(rows)-len(mm.keys))...)
		mm.at = append(mm.at, make([]table.Cell, len(rows)-len(mm.at))...)
	}
	for i := range rows {
		k := rows[i].Key
		if mm.keys[i] == k && k != "" {
			rows[i].Mark = mm.at[i]
			continue
		}
		// A row moved (a namespace picked, a row added or gone): the one it
		// displaces keeps its mark in cells, where its new place finds
		// it. Only moves fill cells: every snapshot brings a new index,
		// and a map of every row's mark built with it cost 1.8 MiB at
		// 10,600 pods, held twice while the last snapshot's panes are.
		if old := mm.keys[i]; old != "" {
			if mm.cells == nil {
				mm.cells = map[string]table.Cell{}
			}
			mm.cells[old] = mm.at[i]
		}
		c, ok := mm.cells[k]
		if !ok {
			c = markOf(k, ix)
		}
		rows[i].Mark = c
		mm.keys[i], mm.at[i] = k, c
	}
	return mm
}

// markOf is the mark of the object or namespace a row key names.
func markOf(key string, ix *finding.Index) table.Cell {
	var t finding.Tally
	if r, ok := kube.ParseRef(key); ok {
		if r.Kind == kube.KindNamespace {
			t = ix.Namespace(r.Name)
		} else {
			t = ix.Object(finding.Ref{Kind: string(r.Kind), Namespace: r.Namespace, Name: r.Name})
		}
	}
	return MarkCell(t)
}

// Name implements Resource.
func (m Model) Name() string { return m.spec.Title }

// Kinds implements Resource.
func (m Model) Kinds() []kube.Kind { return m.spec.Kinds }

// SetSnapshot rebuilds the rows.
func (m Model) SetSnapshot(s *kube.Snapshot) Resource { m.in.Snapshot = s; return m.rebuild() }

// SetUsage rebuilds the rows that show metrics.
func (m Model) SetUsage(u *usage.Usage) Resource {
	m.in.Usage = u
	if m.spec.NoUsage {
		return m
	}
	return m.rebuild()
}

// ReadsUsage reports whether the rows show metrics, so the poller knows
// whether this pane on screen needs them.
func (m Model) ReadsUsage() bool { return !m.spec.NoUsage }

// SetNamespace limits the pane to one namespace ("" for all).
func (m Model) SetNamespace(ns string) Resource {
	if m.spec.Unscoped {
		return m
	}
	m.in.Namespace, m.Scope = ns, ns
	return m.rebuild()
}

// SetFilter filters the rows by substring.
func (m Model) SetFilter(f string) Resource { m.Table = m.Table.SetFilter(f); return m }

// Filter returns the filter.
func (m Model) Filter() string { return m.Table.Filter() }

// SetSize tells the pane its height.
func (m Model) SetSize(_, height int) Resource { m.Pane = m.Pane.SetHeight(height); return m }

// Update handles movement.
func (m Model) Update(msg tea.Msg) (Resource, tea.Cmd) {
	var cmd tea.Cmd
	m.Pane, cmd = m.Pane.Update(msg)
	return m, cmd
}

// Selected returns the object under the cursor.
func (m Model) Selected() (kube.Ref, bool) { return kube.ParseRef(m.Table.SelectedKey()) }

// Shown are the objects of the rows on screen.
func (m Model) Shown() []kube.Ref {
	var out []kube.Ref
	for _, k := range m.Table.ShownKeys() {
		if r, ok := kube.ParseRef(k); ok {
			out = append(out, r)
		}
	}
	return out
}

// Select moves the cursor to r's row.
func (m Model) Select(r kube.Ref) (Resource, bool) {
	m.Table = m.Table.SelectKey(r.Key())
	got, ok := m.Selected()
	return m, ok && got == r
}
