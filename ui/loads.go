package ui

import (
	"context"
	"maps"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/views/traffic"
)

// loadPeriod is how often the Workloads pane's rate columns scrape every
// ztunnel's metrics while the pane is on screen: a GET through the pod
// proxy each, so slower than the traffic view, which the user opened to
// watch rates.
const loadPeriod = 10 * time.Second

// loadsMsg carries one scrape of every ztunnel for the rate columns.
type loadsMsg struct{ results []traffic.Result }

// loadState is the rate columns' poller: the last scrape of each ztunnel,
// for the next one's rates.
type loadState struct {
	loads *ztunnel.Loads
	prev  map[ztread.Pod]*ztunnel.Scrape
	busy  bool
	last  time.Time
	off   backoff // after scrapes whose every read failed
	// probe is, while a backed-off round reads one ztunnel to see whether
	// reads work again, every ztunnel that round stands for.
	probe []ztread.Pod
}

// workloadsShown reports whether the Workloads pane is on screen: drawn in
// the grid or focused, with no full-screen view over it.
func (m Model) workloadsShown() bool {
	for _, o := range m.stack {
		if _, ok := o.(dialog); !ok {
			return false
		}
	}
	i, ok := m.paneFor(kube.KindPod)
	if !ok {
		return false
	}
	if m.focus == i {
		return true
	}
	if m.grid() {
		for _, g := range m.gridPanes() {
			if g == i {
				return true
			}
		}
	}
	return false
}

// loadsDue scrapes every ztunnel when the rate columns are on screen and
// the period has passed (longer after scrapes that failed as a whole:
// backoff); never two scrapes at once.
func (m Model) loadsDue(now time.Time) (Model, tea.Cmd) {
	if m.opt.Ztunnel == nil || m.load.busy || m.src == nil || !m.src.State(kube.ResPods).Availability.Read() ||
		now.Sub(m.load.last) < loadPeriod || !m.workloadsShown() {
		return m, nil
	}
	var hold bool
	var pods []ztread.Pod
	shown := func() []ztread.Pod { pods = m.shownZtunnels(); return pods }
	if m.load.off, hold = m.load.off.holds(now, m.load.last, loadPeriod, loadPeriod, shown); hold {
		return m, nil
	}
	if m.load.off.fails > 0 && m.surveyOff.fails > 0 {
		// Every read of the last scrape round failed, and so did every
		// read of the survey's: the ztunnels answer no port-forward. The
		// survey's own probe (4 to 10 minutes apart) finds out when they
		// do, and the scrapes start over then (surveyed); probes of
		// their own meanwhile would be more port-forwards to fail, 20,
		// 40, 80 s … apart on an idle screen.
		return m, nil
	}
	if pods == nil {
		pods = shown()
	}
	if len(pods) == 0 {
		return m, nil
	}
	m.load.probe = nil
	if one := m.load.off.probe(pods); one != nil {
		// Every read of the last round failed: this one asks one ztunnel
		// whether reads work again, rather than a port-forward per node on
		// screen that will fail the same way.
		m.load.probe, pods = pods, one
	}
	if now.Sub(m.load.last) > 3*loadPeriod {
		m.load.prev = nil // rates over a long pause would be an old average
	}

	m.load.busy, m.load.last = true, now
	reader, ctx := m.opt.Ztunnel, m.opt.Ctx
	return m, func() tea.Msg { return loadsMsg{scrapeAll(ctx, reader, pods)} }
}

// shownPane is a pane that can say which objects its rows on screen are.
type shownPane interface{ Shown() []kube.Ref }

// shownZtunnels are the ztunnels of the nodes that run the pods on screen
// in the Workloads pane: on a cluster of hundreds of nodes, scraping every
// ztunnel each period would cost one API-server proxy request per node for
// rows nobody sees.
func (m Model) shownZtunnels() []ztread.Pod {
	all := ztread.Ztunnels(m.src.Pods)
	i, ok := m.paneFor(kube.KindPod)
	if !ok {
		return all
	}
	sp, ok := m.panes[i].pane.(shownPane)
	if !ok {
		return all
	}
	want := map[string]bool{}
	for _, r := range sp.Shown() {
		if r.Kind == kube.KindPod {
			want[r.Namespace+"/"+r.Name] = true
		}
	}
	nodes := map[string]bool{}
	for _, p := range m.src.Pods {
		if want[p.Namespace+"/"+p.Name] {
			nodes[p.Spec.NodeName] = true
		}
	}
	var out []ztread.Pod
	for _, z := range all {
		if nodes[z.Node] {
			out = append(out, z)
		}
	}
	return out
}

// loaded files a scrape: rates against the previous scrape of each
// ztunnel. Until some ztunnel was scraped twice there are no rates, and
// the columns stay hidden.
func (m Model) loaded(msg loadsMsg) Model {
	m.load.busy = false
	prev := m.load.prev
	m.load.prev = map[ztread.Pod]*ztunnel.Scrape{}
	l := &ztunnel.Loads{At: m.opt.Now()}
	any, read := false, false
	tried := make([]ztread.Pod, 0, len(msg.results))
	for _, r := range msg.results {
		tried = append(tried, r.Pod)
		read = read || (r.Err == nil && r.Scrape != nil)
	}
	if m.load.probe != nil && !read {
		tried = m.load.probe // the round stood for them all
	}
	m.load.probe = nil
	m.load.off = m.load.off.record(tried, !read)
	for _, r := range msg.results {
		if r.Err != nil || r.Scrape == nil {
			continue
		}
		m.load.prev[r.Pod] = r.Scrape
		if p := prev[r.Pod]; p != nil {
			l.Add(r.Pod.Node, ztunnel.Rates(p, r.Scrape))
			any = true
		}
	}
	if !any {
		return m
	}
	if old := m.load.loads; old != nil && maps.Equal(old.Nodes, l.Nodes) && maps.Equal(old.By, l.By) {
		// The same rates as the last scrape (an idle mesh's zeros): the
		// columns would show what they show, so nothing is rebuilt.
		return m
	}
	m.load.loads = l
	if m.src == nil {
		return m
	}
	return m.setSnapshot(m.src)
}

// scrapeAll reads every ztunnel's metrics, a few at a time.
func scrapeAll(ctx context.Context, reader ztread.Reader, pods []ztread.Pod) []traffic.Result {
	out := make([]traffic.Result, len(pods))
	ztread.Each(ctx, pods, scrapeParallel, readTimeout, func(c context.Context, i int, p ztread.Pod) {
		s, err := reader.Metrics(c, p)
		out[i] = traffic.Result{Pod: p, Scrape: s, Err: err}
	})
	return out
}

// scrapeWaypoints reads every waypoint pod's request metrics, a few at a
// time.
func scrapeWaypoints(ctx context.Context, reader ztread.WaypointReader, pods []ztread.Pod) []traffic.WaypointResult {
	out := make([]traffic.WaypointResult, len(pods))
	ztread.Each(ctx, pods, scrapeParallel, readTimeout, func(c context.Context, i int, p ztread.Pod) {
		s, err := reader.WaypointRequests(c, p)
		out[i] = traffic.WaypointResult{Pod: p, Scrape: s, Err: err}
	})
	return out
}
