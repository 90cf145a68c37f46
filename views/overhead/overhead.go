// Package overhead shows what the mesh itself costs: a one-line strip for
// the header and, expanded, a box with each component, the ztunnel of every
// node side by side, and what sidecars would cost for the same pods.
package overhead

import (
	"fmt"
	"github.com/ambx/ambx/kube/safe"
	"sort"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/theme"
)

// Model holds the latest overhead and renders it. It has no keys: the root
// UI owns the toggle (keymap.Global.Overhead) and passes expanded to View.
type Model struct {
	theme *theme.Theme
	// perSidecar is the user's per-sidecar figure; zero means measured or
	// the documented default (usage.ComputeOverhead).
	perSidecar usage.Resources
	o          usage.Overhead
	// unread names the inputs the pod counts come from that were not read
	// ("Pods unreachable"): zero pods then means nothing, not none.
	unread string
	// stale: the API server stopped answering after the pods were read,
	// so the counts are the last ones known, not the cluster's now.
	stale bool
}

// New returns a model that prices sidecars at perSidecar (zero for automatic).
func New(t *theme.Theme, perSidecar usage.Resources) Model {
	return Model{theme: t, perSidecar: perSidecar}
}

// Set recomputes the overhead from a snapshot and the latest usage; call it
// on every SnapshotMsg and UsageMsg. Either may be nil.
func (m Model) Set(s *kube.Snapshot, u *usage.Usage) Model {
	m.unread = unread(s)
	m.stale = s != nil && !s.Reachable && m.unread == ""
	if s == nil {
		m.o = clean(usage.ComputeOverhead(nil, nil, u, m.perSidecar))
		return m
	}
	k := s.Components
	if k == nil {
		k = usage.FindComponents(&s.Cluster, s.Mesh)
	}
	m.o = clean(k.Overhead(u, m.perSidecar))
	return m
}

func unread(s *kube.Snapshot) string {
	if s == nil {
		return "waiting for the cluster"
	}
	var parts []string
	for _, g := range s.Unread(kube.ResNamespaces, kube.ResPods) {
		parts = append(parts, g.String())
	}
	return strings.Join(parts, ", ")
}

// SetOverhead replaces the overhead with one computed elsewhere.
func (m Model) SetOverhead(o usage.Overhead) Model { m.o = clean(o); return m }

// clean makes the names and the problem text safe once, where they enter
// the view, so the widths the layout measures are the widths drawn.
func clean(o usage.Overhead) usage.Overhead {
	o.Problem = safe.Line(o.Problem)
	o.Ztunnels = append([]usage.Ztunnel(nil), o.Ztunnels...)
	for i := range o.Ztunnels {
		z := &o.Ztunnels[i]
		z.Node, z.Pod.Namespace, z.Pod.Name = safe.Line(z.Node), safe.Line(z.Pod.Namespace), safe.Line(z.Pod.Name)
	}
	o.WaypointList = append([]usage.Waypoint(nil), o.WaypointList...)
	for i := range o.WaypointList {
		k := &o.WaypointList[i].Key
		k.Namespace, k.Name = safe.Line(k.Namespace), safe.Line(k.Name)
	}
	return o
}

// Overhead returns the figures shown, e.g. for the Waypoints pane's columns.
func (m Model) Overhead() usage.Overhead { return m.o }

// View renders the strip (one line) or, when expanded, the box in exactly
// width x height cells. A box that cannot fit falls back to the strip.
func (m Model) View(width, height int, expanded bool) string {
	if width <= 0 || height <= 0 {
		return ""
	}
	if !expanded || height < 5 || width < 30 {
		return m.strip(width)
	}
	return m.box(width, height)
}

// seg is a piece of styled text.
type seg struct {
	text string
	tone theme.Tone
}

func (m Model) render(segs []seg) string {
	var b strings.Builder
	for _, s := range segs {
		if s.text == "" {
			continue
		}
		b.WriteString(m.theme.Tone(s.tone).Render(s.text))
	}
	return b.String()
}

func width(segs []seg) int {
	n := 0
	for _, s := range segs {
		n += ansi.StringWidth(s.text)
	}
	return n
}

// strip is the header line: the fullest layout that fits, else the barest
// one cut short.
func (m Model) strip(w int) string {
	o := m.o
	var layouts [][]seg
	switch {
	case m.unread != "" && !o.Available && o.Problem != "":
		// Both are missing: say both, the metrics first, since that is
		// what this strip is for.
		layouts = [][]seg{
			{{" mesh overhead: " + o.Problem + " · pods not read (" + m.unread + ")", theme.ToneWarn}},
			{{" mesh overhead: " + o.Problem + " · pods not read", theme.ToneWarn}},
			{{" mesh overhead: " + o.Problem, theme.ToneWarn}},
		}
	case m.unread != "":
		layouts = [][]seg{{{" mesh overhead: pods not read (" + m.unread + ")", theme.ToneWarn}}, {{" mesh overhead: pods not read", theme.ToneWarn}}}
	case !o.Available && o.Problem == "":
		layouts = [][]seg{{{" mesh overhead: waiting for metrics…", theme.ToneDim}}}
	case !o.Available:
		layouts = [][]seg{{{" mesh overhead: " + o.Problem, theme.ToneWarn}}}
	default:
		mesh := seg{fmt.Sprintf(" mesh %s CPU / %s", usage.FormatCPU(o.Total.CPUMilli), usage.FormatMem(o.Total.MemBytes)), theme.ToneNormal}
		var pods, full, short seg
		if o.MeshedPods > 0 {
			pods = seg{fmt.Sprintf(" for %d %s on %d %s", o.MeshedPods, plural(o.MeshedPods, "pod"), o.Nodes, plural(o.Nodes, "node")), theme.ToneNormal}
			full = seg{fmt.Sprintf(" · sidecars would be ≈ %d × %s = %s", o.MeshedPods, o.PerSidecar, o.SidecarsWould), theme.ToneSidecar}
			short = seg{" · sidecars ≈ " + o.SidecarsWould.String(), theme.ToneSidecar}
		} else {
			pods = seg{" · no pods captured yet", theme.ToneDim}
		}
		var hot seg
		if hs := o.Hot(); len(hs) > 0 {
			names := make([]string, len(hs))
			for i, z := range hs {
				names[i] = z.Node
			}
			hot = seg{" · ztunnel hot: " + strings.Join(names, ", "), theme.ToneBad}
		}
		// A degraded poll (stale, slow) must stay visible: old numbers
		// read as current would mislead, so only its detail is dropped.
		var problem, brief seg
		if o.Problem != "" {
			problem = seg{" · " + o.Problem, theme.ToneWarn}
			head, _, _ := strings.Cut(o.Problem, ": ")
			head, _, _ = strings.Cut(head, ";")
			brief = seg{" · " + head, theme.ToneWarn}
		}
		// During an outage the pod counts are the last ones read: the
		// strip says so in every layout, as the box does.
		var stale seg
		if m.stale {
			stale = seg{" · API server unreachable: last read", theme.ToneWarn}
		}
		layouts = [][]seg{
			{mesh, pods, full, hot, problem, stale},
			{mesh, pods, full, hot, brief, stale},
			{mesh, pods, short, hot, brief, stale},
			{mesh, short, hot, brief, stale},
			{mesh, hot, brief, stale},
			{mesh, brief, stale},
			{mesh, stale},
		}
	}
	for _, l := range layouts {
		if width(l) <= w {
			return m.render(l) + strings.Repeat(" ", w-width(l))
		}
	}
	last := layouts[len(layouts)-1]
	return ansi.Truncate(m.render(last), w, "…")
}

// line is one row of the box's body.
type line []seg

func (m Model) box(w, h int) string {
	t := m.theme
	inner := w - 4 // rounded border and one cell of padding each side
	body := h - 2
	o := m.o

	var lines []line
	add := func(l ...seg) { lines = append(lines, l) }
	title := "Mesh overhead"
	if !o.Taken.IsZero() {
		title += " · " + o.Taken.Format("15:04:05")
	}
	add(seg{title, theme.ToneAccent})
	if m.unread != "" {
		add(seg{"pods not read (" + m.unread + "): no count below is the cluster's", theme.ToneWarn})
	} else if m.stale {
		add(seg{"API server unreachable: pod counts are from the last data read", theme.ToneWarn})
	}
	switch {
	case !o.Available && o.Problem == "":
		add(seg{"waiting for metrics…", theme.ToneDim})
	case !o.Available:
		add(seg{o.Problem, theme.ToneWarn})
	case o.Problem != "":
		add(seg{o.Problem, theme.ToneWarn})
	}

	// Components: always shown, they are the point of the box.
	const podsW, figW = 6, 8
	nameW := 14
	for _, wp := range o.WaypointList {
		nameW = max(nameW, ansi.StringWidth(wp.Key.String())+3)
	}
	nameW = min(nameW, max(inner-podsW-2*figW, 10))
	row := func(name string, p usage.Part, tone theme.Tone) line {
		pods := fmt.Sprint(p.Pods)
		if m.unread != "" {
			// Counted from pods never read: not a zero.
			pods = "?"
		} else if p.Measured != p.Pods {
			pods = fmt.Sprintf("%d/%d", p.Measured, p.Pods)
		}
		cpu, mem := "-", "-"
		if p.Measured > 0 {
			cpu, mem = usage.FormatCPU(p.Use.CPUMilli), usage.FormatMem(p.Use.MemBytes)
		}
		return line{{pad(name, nameW) + lpad(pods, podsW) + lpad(cpu, figW) + lpad(mem, figW), tone}}
	}
	components := []line{
		{{pad("COMPONENT", nameW) + lpad("PODS", podsW) + lpad("CPU", figW) + lpad("MEM", figW), theme.ToneDim}},
		row("istiod", o.Istiod, theme.ToneNormal),
		row("istio-cni", o.CNI, theme.ToneNormal),
		row("ztunnel", o.Ztunnel, theme.ToneNormal),
		row("waypoints", o.Waypoints, theme.ToneAccent),
	}
	var perWaypoint []line
	for _, wp := range o.WaypointList {
		perWaypoint = append(perWaypoint, row("  "+wp.Key.String(), wp.Part, theme.ToneDim))
	}
	total := usage.Part{Pods: o.Istiod.Pods + o.CNI.Pods + o.Ztunnel.Pods + o.Waypoints.Pods,
		Measured: o.Istiod.Measured + o.CNI.Measured + o.Ztunnel.Measured + o.Waypoints.Measured, Use: o.Total}
	totalRow := row("total", total, theme.ToneNormal)

	// Sidecar comparison.
	var compare []line
	if o.MeshedPods > 0 {
		now := line{{"ambient data plane ", theme.ToneNormal}, {o.DataPlane().String(), theme.ToneGood}, {" (ztunnel, istio-cni, waypoints)", theme.ToneDim}}
		if !o.Available {
			now = line{{"ambient data plane ", theme.ToneNormal}, {"n/a", theme.ToneWarn}, {" (no metrics)", theme.ToneDim}}
		}
		compare = append(compare, now,
			line{{fmt.Sprintf("as sidecars        ≈ %d × %s = ", o.MeshedPods, o.PerSidecar), theme.ToneNormal}, {o.SidecarsWould.String(), theme.ToneSidecar}},
			line{{o.BasisText(), theme.ToneDim}},
		)
	} else {
		switch {
		case m.unread != "":
			compare = append(compare, line{{"pods not read: no comparison with sidecars", theme.ToneWarn}})
		case !o.Available:
			compare = append(compare, line{{"metrics unavailable, and no pods captured by ambient: no comparison with sidecars", theme.ToneWarn}})
		default:
			compare = append(compare, line{{"no pods captured by ambient: nothing to compare with sidecars", theme.ToneDim}})
		}
	}

	// Fixed parts first, then as many ztunnel rows and per-waypoint rows as
	// fit; ztunnels matter more (a hot node is the failure to spot).
	fixed := len(lines) + len(components) + 1 + 1 + len(compare) // +total, +blank
	room := body - fixed
	var zt []line
	if o.Ztunnel.Measured > 0 && room >= 3 {
		zt = m.ztunnels(inner, room-1)
		room -= len(zt) + 1
	}
	if room < len(perWaypoint) {
		perWaypoint = nil
	}

	lines = append(lines, components...)
	lines = append(lines, perWaypoint...)
	lines = append(lines, totalRow)
	if len(zt) > 0 {
		lines = append(lines, line{})
		lines = append(lines, zt...)
	}
	lines = append(lines, line{})
	lines = append(lines, compare...)

	out := make([]string, 0, body)
	for i, l := range lines {
		if i >= body {
			break
		}
		s := m.render(l)
		lw := width(l)
		if lw > inner {
			s = ansi.Truncate(s, inner, "…")
			lw = inner
		}
		out = append(out, s+strings.Repeat(" ", inner-lw))
	}
	for len(out) < body {
		out = append(out, strings.Repeat(" ", inner))
	}
	return t.Overlay.Render(strings.Join(out, "\n"))
}

// ztunnels draws one row per node with CPU and memory bars on a shared
// scale, so the nodes compare at a glance; at most rows lines. When not all
// fit, the hottest are kept.
func (m Model) ztunnels(inner, rows int) []line {
	zs := append([]usage.Ztunnel(nil), m.o.Ztunnels...)
	var maxCPU, maxMem int64
	nameW := 4
	for _, z := range zs {
		maxCPU, maxMem = max64(maxCPU, z.Use.CPUMilli), max64(maxMem, z.Use.MemBytes)
		nameW = min(max(nameW, ansi.StringWidth(z.Node)), 20)
	}
	hidden := 0
	if len(zs)+1 > rows {
		keep := rows - 2 // header and the "more" line
		sort.SliceStable(zs, func(i, j int) bool { return zs[i].Use.CPUMilli > zs[j].Use.CPUMilli })
		hidden = len(zs) - keep
		zs = zs[:keep]
		sort.SliceStable(zs, func(i, j int) bool { return zs[i].Node < zs[j].Node })
	}
	const cpuW, memW, flagW = 6, 7, 16
	barW := (inner - nameW - 1 - cpuW - 2 - memW - 2 - flagW - 2) / 2
	barW = min(max(barW, 3), 30)
	out := []line{{{pad("ZTUNNEL/NODE", nameW+1+barW) + lpad("CPU", cpuW) + "  " + pad("", barW) + lpad("MEM", memW), theme.ToneDim}}}
	for _, z := range zs {
		tone := theme.ToneGood
		if z.Hot {
			tone = theme.ToneBad
		}
		cpu, mem := "-", "-"
		if z.Measured {
			cpu, mem = usage.FormatCPU(z.Use.CPUMilli), usage.FormatMem(z.Use.MemBytes)
		}
		l := line{{pad(z.Node, nameW) + " ", theme.ToneNormal}}
		l = append(l, bar(z.Use.CPUMilli, maxCPU, barW, tone)...)
		l = append(l, seg{lpad(cpu, cpuW) + "  ", theme.ToneNormal})
		l = append(l, bar(z.Use.MemBytes, maxMem, barW, tone)...)
		l = append(l, seg{lpad(mem, memW), theme.ToneNormal})
		if z.Hot {
			what, ratio := "cpu", z.Ratio
			if z.MemRatio > z.Ratio {
				what, ratio = "mem", z.MemRatio
			}
			l = append(l, seg{fmt.Sprintf("  ▲ hot %.1f× %s", ratio, what), theme.ToneBad})
		}
		out = append(out, l)
	}
	if hidden > 0 {
		out = append(out, line{{fmt.Sprintf("+%d more %s, quieter", hidden, plural(hidden, "node")), theme.ToneDim}})
	}
	return out
}

// bar is v of full drawn in w cells; any use shows at least one cell.
func bar(v, full int64, w int, tone theme.Tone) []seg {
	n := 0
	if full > 0 && v > 0 {
		n = int((v*int64(w) + full - 1) / full)
	}
	n = min(n, w)
	return []seg{{strings.Repeat("█", n), tone}, {strings.Repeat("░", w-n), theme.ToneDim}}
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func pad(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return s + strings.Repeat(" ", d)
	}
	return ansi.Truncate(s, w, "…")
}

func lpad(s string, w int) string {
	if d := w - ansi.StringWidth(s); d > 0 {
		return strings.Repeat(" ", d) + s
	}
	return s
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
