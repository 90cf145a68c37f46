// Package workloads is the Workloads pane: every pod with its node, its
// real mesh state, its waypoint, readiness and age.
package workloads

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// New returns an empty pane.
func New(t *theme.Theme) pane.Model {
	c := &cache{rows: map[*corev1.Pod]*cached{}}
	return pane.NewModel(t, pane.Spec{
		Title: "Workloads",
		Kinds: []kube.Kind{kube.KindPod},
		Columns: []table.Column{
			{Title: "NAMESPACE", Min: 9, Max: 16, Priority: 1},
			{Title: "POD", Min: 12, Max: 30, Name: true},
			{Title: "NODE", Min: 6, Max: 14, Priority: 4},
			{Title: "MESH", Min: 9, Max: 11},
			{Title: "WAYPOINT", Min: 10, Max: 22, Priority: 3}, // Min: "waypoint ✖" keeps its mark
			{Title: "READY", Min: 5, Right: true, Priority: 2},
			{Title: "AGE", Min: 5, Right: true, Priority: 5},
			{Title: "CPU", Min: 5, Right: true, Priority: 3},
			{Title: "MEM", Min: 6, Right: true, Priority: 3},
			// ztunnel's metrics, only while they were read (Optional).
			{Title: "CONN/S", Min: 6, Right: true, Priority: 4, Optional: true},
			{Title: "BYTES/S", Min: 7, Right: true, Priority: 4, Optional: true},
		},
		Rows: c.build,
		// A pod's mesh state reads its namespace; its waypoint, Services
		// and Gateways.
		Reads:      []kube.Resource{kube.ResNamespaces, kube.ResServices, kube.ResGateways},
		ReadsLoads: true, // CONN/S and BYTES/S
		ReadsTicks: true, // AGE, and the pods' loading count
	})
}

// cache keeps each pod's row between snapshots. Informers replace an
// object when it changes, so a pod at the same address is unchanged; with
// the same analysis verdict, age and usage its row is the same, and a
// snapshot that changed a few pods rebuilds only theirs. Only the UI
// goroutine builds rows.
type cache struct {
	rows map[*corev1.Pod]*cached
	gen  uint64
	// pods and at are the last build's pods and their entries, index for
	// index: a snapshot mostly holds the last one's pods in their places,
	// and comparing a pointer there is cheaper than a probe of rows.
	pods []*corev1.Pod
	at   []*cached
}

// cached is one pod's row and what it was built from.
type cached struct {
	state    ambient.PodState
	waypoint ambient.WaypointBinding
	owner    string // the verdict's Owner, which the rate cells read
	age      string
	use      usage.Resources
	cells    string // the usage cells' state: "", "n/a", "…" or "-"
	conns    string // the rate cells' text
	bytes    string
	row      table.Row
	gen      uint64 // the last build that used it
	// What the row was last found current against, for the quick check
	// (see fresh): the analysis (kube.PodDelta's Gen), the usage and rate
	// reads, and the clock span over which its age reads the same.
	mesh     uint64
	usage    *usage.Usage
	loads    *ztunnel.Loads
	from, to time.Time
}

// fresh reports whether e is current for a snapshot taken at now with
// the delta d, usage u and rates l, without reading the pod: the pod is
// the same object (e is its entry), its verdict unchanged since the
// analysis e was last checked against, the usage and rates the same reads,
// and the age inside the span it was written for.
func (e *cached) fresh(p *corev1.Pod, d *kube.PodDelta, u *usage.Usage, l *ztunnel.Loads, now time.Time) bool {
	return d != nil && (e.mesh == d.Since || e.mesh == d.Gen) && !d.Changed[p] &&
		e.usage == u && e.loads == l && !now.Before(e.from) && now.Before(e.to)
}

func (c *cache) build(in pane.Input) ([]table.Row, string) {
	s := in.Snapshot
	note := pane.Unavailable(s, "", kube.ResPods)
	if s == nil || s.Mesh == nil {
		return nil, note
	}
	c.gen++
	d := s.PodDeltaOf()
	var gen uint64
	if d != nil {
		gen = d.Gen
	}
	rows := make([]table.Row, 0, len(s.Pods))
	if len(c.at) != len(s.Pods) {
		// Pods came or went: their places moved, so this build finds
		// every entry by its pod.
		c.pods, c.at = nil, make([]*cached, len(s.Pods))
	}
	for i, p := range s.Pods {
		if in.Namespace != "" && p.Namespace != in.Namespace {
			c.at[i] = nil
			continue
		}
		e := c.at[i]
		if i >= len(c.pods) || c.pods[i] != p || e == nil {
			e = c.rows[p]
		}
		if e != nil && e.fresh(p, d, in.Usage, s.Loads, s.Taken) {
			e.gen, e.mesh = c.gen, gen
			c.at[i] = e
			rows = append(rows, e.row)
			continue
		}
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		// What e holds of the verdict, usage and age where e is current
		// for them (a new rate scrape, the usual way here, changes none),
		// so only what changed is looked up.
		var info ambient.PodInfo
		verdict := e != nil && d != nil && (e.mesh == d.Since || e.mesh == d.Gen) && !d.Changed[p]
		if verdict {
			info = ambient.PodInfo{State: e.state, Waypoint: e.waypoint, Owner: e.owner}
		} else {
			info = s.Mesh.Pods[k]
		}
		var age, kind string
		var use usage.Resources
		if e != nil && !s.Taken.Before(e.from) && s.Taken.Before(e.to) {
			age = e.age
		} else {
			age = pane.Age(p.CreationTimestamp.Time, s.Taken)
		}
		if e != nil && e.usage == in.Usage {
			use, kind = e.use, e.cells
		} else {
			use, kind = usageOf(in.Usage, k)
		}
		conns, bytes := loadCells(s.Loads, p, info)
		if e == nil || e.state != info.State || e.waypoint != info.Waypoint || e.age != age || e.use != use || e.cells != kind || e.conns != conns || e.bytes != bytes {
			if verdict {
				info = s.Mesh.Pods[k] // the row shows more of it
			}
			r := row(p, info, age, in.Usage, k, conns, bytes)
			// p's own entry, held by nothing but this cache (the rows
			// handed out hold copies of its row), is written over: a poll
			// that changed every pod's figures makes no 10,000 entries of
			// garbage.
			if e == nil {
				e = new(cached)
				c.rows[p] = e
			}
			*e = cached{state: info.State, waypoint: info.Waypoint, owner: info.Owner, age: age, use: use, cells: kind, conns: conns, bytes: bytes, row: r}
		}
		e.gen, e.mesh, e.usage, e.loads = c.gen, gen, in.Usage, s.Loads
		e.from, e.to = pane.AgeSpan(p.CreationTimestamp.Time, s.Taken)
		c.at[i] = e
		// Shared with the last build's table: the table only ever writes a
		// cell's sanitized text over it, the same text both would show.
		rows = append(rows, e.row)
	}
	c.pods = s.Pods
	if len(c.rows) > len(rows)+len(rows)/4+64 {
		for p, e := range c.rows {
			if e.gen != c.gen {
				delete(c.rows, p)
			}
		}
	}
	return rows, note
}

// usageOf is what a pod's CPU and MEM cells are made of: its figures, or
// which placeholder they show.
func usageOf(u *usage.Usage, k ambient.Key) (usage.Resources, string) {
	switch {
	case !u.Read(k):
		return usage.Resources{}, "…"
	case !u.Available:
		return usage.Resources{}, "n/a"
	}
	if r, ok := u.Pods[k]; ok {
		return r, ""
	}
	return usage.Resources{}, "-"
}

// row is a pod's row; it is built with every cell at once, since the
// rows of 10,000 pods are kept and a slice grown by append holds room
// for cells that never come.
func row(p *corev1.Pod, info ambient.PodInfo, age string, u *usage.Usage, k ambient.Key, conns, bytes string) table.Row {
	cpu, mem := u.Cells(k)
	return table.Row{Key: kube.Ref{Kind: kube.KindPod, Namespace: p.Namespace, Name: p.Name}.Key(), Labels: table.LabelsOf(p.Labels), Cells: []table.Cell{
		pane.Dim(p.Namespace),
		pane.Plain(p.Name),
		pane.Dim(p.Spec.NodeName),
		pane.StateCell(pane.PodGlyph(info.State), string(info.State)),
		waypointCell(info.Waypoint),
		readyCell(p),
		pane.Dim(age),
		pane.Plain(cpu),
		pane.Plain(mem),
		pane.Plain(conns),
		pane.Plain(bytes),
	}}
}

// loadCells are a pod's CONN/S and BYTES/S: its workload's traffic on its
// node by that node's ztunnel. Empty while no metrics were read (the
// columns are then hidden); "—" where they cannot say (the node's ztunnel
// was not read, or ztunnel does not carry the pod's traffic), so a zero is
// always a measured zero.
func loadCells(l *ztunnel.Loads, p *corev1.Pod, info ambient.PodInfo) (conns, bytes string) {
	if l == nil {
		return "", ""
	}
	v, known := l.Of(p.Namespace, p.Name, info.Owner, p.Spec.NodeName)
	if !known || info.State != ambient.PodCaptured {
		return "—", "—"
	}
	return Rate(v.ConnsPerSec), Bytes(v.BytesPerSec)
}

// Rate formats connections per second: two decimals below 10, so a slow
// but live workload does not read as 0.
func Rate(perSec float64) string {
	switch {
	case perSec == 0:
		return "0"
	case perSec < 10:
		return fmt.Sprintf("%.2f", perSec)
	}
	return fmt.Sprintf("%.0f", perSec)
}

// Bytes formats bytes per second in binary units.
func Bytes(perSec float64) string {
	switch {
	case perSec >= 1<<30:
		return fmt.Sprintf("%.1fG", perSec/(1<<30))
	case perSec >= 1<<20:
		return fmt.Sprintf("%.1fM", perSec/(1<<20))
	case perSec >= 1<<10:
		return fmt.Sprintf("%.1fK", perSec/(1<<10))
	}
	return fmt.Sprintf("%.0f", perSec)
}

func waypointCell(b ambient.WaypointBinding) table.Cell {
	switch {
	case b.Waypoint.Name == "":
		return table.Cell{Text: "-", Tone: theme.ToneDim}
	case b.Problem != "":
		return table.Cell{Text: b.Waypoint.Name + " ✖", Tone: theme.ToneBad}
	}
	return table.Cell{Text: b.Waypoint.Name, Tone: theme.ToneAccent}
}

func readyCell(p *corev1.Pod) table.Cell {
	ready := 0
	for _, cs := range p.Status.ContainerStatuses {
		if cs.Ready {
			ready++
		}
	}
	total := len(p.Spec.Containers)
	c := table.Cell{Text: fmt.Sprintf("%d/%d", ready, total)}
	if p.Status.Phase == corev1.PodSucceeded {
		c = table.Cell{Text: "done", Tone: theme.ToneDim}
	} else if ready < total {
		c.Tone = theme.ToneWarn
	}
	return c
}
