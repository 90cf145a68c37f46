package ui

import (
	"context"
	"time"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/views/traffic"
	"github.com/ambx/ambx/views/ztunnel"
)

// readTimeout bounds one read of a ztunnel (a port-forward and a large
// config_dump, or a metrics scrape).
const readTimeout = 20 * time.Second

// scrapeParallel is how many ztunnels the traffic view scrapes at once: a
// large cluster has a ztunnel per node, and the API server proxies each.
const scrapeParallel = 8

// ztunnelOverlay is the ztunnel view (z).
type ztunnelOverlay struct{ m ztunnel.Model }

func (o ztunnelOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && !o.m.Typing() && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o ztunnelOverlay) View(w, h int) string                 { return o.m.View(w, h) }
func (o ztunnelOverlay) SetSize(w, h int) overlay             { o.m = o.m.SetSize(w, h); return o }
func (o ztunnelOverlay) SetSnapshot(s *kube.Snapshot) overlay { o.m = o.m.SetSnapshot(s); return o }
func (o ztunnelOverlay) Close()                               {}
func (o ztunnelOverlay) Tick(now time.Time) (overlay, tea.Cmd) {
	var cmd tea.Cmd
	o.m, cmd = o.m.Tick(now)
	return o, cmd
}

// trafficOverlay is the traffic view (T); its polls stop when it closes,
// because the next tick finds no overlay to answer.
type trafficOverlay struct{ m traffic.Model }

func (o trafficOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && (closes(k) || key.Matches(k, keymap.Ztunnel.Traffic)) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o trafficOverlay) View(w, h int) string                 { return o.m.View(w, h) }
func (o trafficOverlay) SetSize(w, h int) overlay             { o.m = o.m.SetSize(w, h); return o }
func (o trafficOverlay) SetSnapshot(s *kube.Snapshot) overlay { o.m = o.m.SetSnapshot(s); return o }
func (o trafficOverlay) Close()                               {}
func (o trafficOverlay) Tick(now time.Time) (overlay, tea.Cmd) {
	var cmd tea.Cmd
	o.m, cmd = o.m.Tick(now)
	return o, cmd
}

// ticker is an overlay that acts on the clock (periodic reads).
type ticker interface {
	Tick(time.Time) (overlay, tea.Cmd)
}

// tickOverlays gives the clock tick to the overlays that poll.
func (m Model) tickOverlays(now time.Time) (Model, tea.Cmd) {
	var cmds []tea.Cmd
	m.stack = mapStack(m.stack, func(o overlay) overlay {
		if t, ok := o.(ticker); ok {
			next, cmd := t.Tick(now)
			cmds = append(cmds, cmd)
			return next
		}
		return o
	})
	return m, tea.Batch(cmds...)
}

// openZtunnel opens the ztunnel view on the node of the selected pod (or
// the first ztunnel).
func (m Model) openZtunnel() (Model, tea.Cmd) {
	if m.opt.Ztunnel == nil {
		return m, status("ztunnel's own state is not readable for this cluster", true)
	}
	node := ""
	if r, ok := m.selected(); ok && r.Kind == kube.KindPod && m.snap != nil {
		for _, p := range m.snap.Pods {
			if p.Namespace == r.Namespace && p.Name == r.Name {
				node = p.Spec.NodeName
			}
		}
	}
	reader, ctx := m.opt.Ztunnel, m.opt.Ctx
	fetch := func(p ztread.Pod) tea.Cmd {
		return func() tea.Msg {
			c, cancel := context.WithTimeout(ctx, readTimeout)
			defer cancel()
			d, err := reader.ConfigDump(c, p)
			return ztunnel.Loaded{Pod: p, Dump: d, Err: err, At: time.Now()}
		}
	}
	zm, cmd := ztunnel.Open(m.theme, m.snap, node, fetch, m.opt.Now)
	return m.push(ztunnelOverlay{zm}), cmd
}

// openTraffic opens the traffic view, which scrapes every ztunnel's
// metrics while it is open.
func (m Model) openTraffic() (Model, tea.Cmd) {
	if m.opt.Ztunnel == nil {
		return m, status("ztunnel metrics are not readable for this cluster", true)
	}
	m.ztGen++
	reader, ctx := m.opt.Ztunnel, m.opt.Ctx
	poll := func(pods []ztread.Pod) func() []traffic.Result {
		return func() []traffic.Result { return scrapeAll(ctx, reader, pods) }
	}
	var wpoll traffic.WaypointPoller
	if wr, ok := reader.(ztread.WaypointReader); ok {
		wpoll = func(pods []ztread.Pod) func() []traffic.WaypointResult {
			return func() []traffic.WaypointResult { return scrapeWaypoints(ctx, wr, pods) }
		}
	}
	tm, cmd := traffic.OpenL7(m.theme, m.snap, poll, wpoll, m.ztGen, m.opt.Now())
	return m.push(trafficOverlay{tm}), cmd
}
