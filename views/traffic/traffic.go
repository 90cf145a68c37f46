// Package traffic is the traffic view (T, :traffic): the live edges every
// ztunnel reports in its metrics (source workload → destination), with
// connection and byte rates, whether they are mTLS, how ztunnel flagged
// them, and what ambx's NetworkPolicy evaluator says of the HBONE
// connection that carries them — so a user sees which live edges a policy
// change would cut.
package traffic

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/netpol"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/waypointstats"
	"github.com/ambx/ambx/kube/ztread"
	zt "github.com/ambx/ambx/kube/ztunnel"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane"
	"github.com/ambx/ambx/views/table"
)

// Period is how often an open traffic view scrapes every ztunnel; errors
// back it off up to MaxPeriod.
const (
	Period    = 5 * time.Second
	MaxPeriod = time.Minute
)

// Result is one ztunnel's scrape.
type Result struct {
	Pod    ztread.Pod
	Scrape *zt.Scrape
	Err    error
}

// Scraped carries one poll of every ztunnel (and waypoint); id ties it to
// the view that asked, so a closed view's late answer is dropped.
type Scraped struct {
	Results   []Result
	Waypoints []WaypointResult
	id        int
}

// WaypointResult is one waypoint pod's scrape of istio_requests_total.
type WaypointResult struct {
	Pod    ztread.Pod // Node holds the waypoint Gateway's name
	Scrape *waypointstats.Scrape
	Err    error
}

// WaypointPoller scrapes the given waypoint pods in one tea.Cmd, like
// Poller; nil leaves the L7 section out.
type WaypointPoller func([]ztread.Pod) func() []WaypointResult

// Poller scrapes the given ztunnels in one tea.Cmd whose message is a
// []Result; the root supplies it, so the view does no I/O.
type Poller func([]ztread.Pod) func() []Result

// Model is the traffic view.
type Model struct {
	theme  *theme.Theme
	poll   Poller
	snap   *kube.Snapshot
	np     *netpol.Cluster // the snapshot's NetworkPolicies, built once per snapshot
	prev   map[ztread.Pod]*zt.Scrape
	rates  []zt.Rate
	errs   []string
	polled bool
	period time.Duration
	id     int
	last   time.Time // when the last poll began
	busy   bool
	pane   pane.Pane
	height int
	// The waypoints' L7 section: their request rates by response code.
	wpoll   WaypointPoller
	wprev   map[ztread.Pod]*waypointstats.Scrape
	wrates  []wpRate
	werrs   []string
	wpolled bool
	l7      pane.Pane
}

type wpRate struct {
	waypoint string // ns/name of the Gateway
	waypointstats.Rate
}

// Open returns the view and the command of its first poll. id must differ
// between views opened one after the other.
func Open(t *theme.Theme, s *kube.Snapshot, poll Poller, id int, now time.Time) (Model, tea.Cmd) {
	return OpenL7(t, s, poll, nil, id, now)
}

// OpenL7 is Open with the waypoints' L7 request rates read by wpoll too.
func OpenL7(t *theme.Theme, s *kube.Snapshot, poll Poller, wpoll WaypointPoller, id int, now time.Time) (Model, tea.Cmd) {
	m := Model{theme: t, poll: poll, wpoll: wpoll, prev: map[ztread.Pod]*zt.Scrape{}, wprev: map[ztread.Pod]*waypointstats.Scrape{}, period: Period, id: id}
	m = m.SetSnapshot(s)
	return m.scrape(now)
}

func (m Model) scrape(now time.Time) (Model, tea.Cmd) {
	if m.poll == nil {
		return m, nil
	}
	run := m.poll(ztunnels(m.snap))
	var wrun func() []WaypointResult
	if m.wpoll != nil && m.snap != nil {
		if wps := ztread.Waypoints(m.snap.Pods); len(wps) > 0 {
			wrun = m.wpoll(wps)
		}
	}
	m.last, m.busy = now, true
	id := m.id
	return m, func() tea.Msg {
		msg := Scraped{Results: run(), id: id}
		if wrun != nil {
			msg.Waypoints = wrun()
		}
		return msg
	}
}

// Tick polls again once the period (longer after failures) has passed
// since the last poll began; the root calls it with its clock tick, so the
// view polls only while it is open and no command of it sleeps.
func (m Model) Tick(now time.Time) (Model, tea.Cmd) {
	if m.busy || now.Sub(m.last) < m.period {
		return m, nil
	}
	return m.scrape(now)
}

func ztunnels(s *kube.Snapshot) []ztread.Pod {
	if s == nil {
		return nil
	}
	return ztread.Ztunnels(s.Pods)
}

// SetSnapshot follows the cluster: verdicts are judged on the newest objects.
func (m Model) SetSnapshot(s *kube.Snapshot) Model {
	m.snap, m.np = s, nil
	if s != nil {
		m.np, _ = netpol.NewCluster(s.Namespaces, s.Pods, s.NetworkPolicies)
	}
	return m.rebuild()
}

// SetSize tells the view its size.
func (m Model) SetSize(_, h int) Model { m.height = h; m.pane = m.pane.SetHeight(max(1, h)); return m }

// Update handles scrapes, ticks and movement.
func (m Model) Update(msg tea.Msg) (Model, tea.Cmd) {
	switch msg := msg.(type) {
	case Scraped:
		if msg.id != m.id {
			return m, nil
		}
		m.polled, m.busy = true, false
		m.errs = nil
		var rates []zt.Rate
		failed := 0
		for _, r := range msg.Results {
			if r.Err != nil {
				failed++
				m.errs = append(m.errs, r.Pod.Namespace+"/"+r.Pod.Name+": "+r.Err.Error())
				continue
			}
			rates = append(rates, zt.Rates(m.prev[r.Pod], r.Scrape)...)
			m.prev[r.Pod] = r.Scrape
		}
		// Each edge is reported by its source's and its destination's
		// ztunnel; show the source's view once, and the destination's only
		// when no source reported it (its client is outside the mesh).
		m.rates = dedupe(rates)
		m = m.l7Scraped(msg.Waypoints)
		if failed > 0 && failed == len(msg.Results) {
			m.period = min(2*m.period, MaxPeriod)
		} else {
			m.period = Period
		}
		return m.rebuild(), nil
	}
	var cmd tea.Cmd
	m.pane, cmd = m.pane.Update(msg)
	return m, cmd
}

// dedupe merges what the ztunnels report into one row per edge. Each
// connection is reported by its source's and its destination's ztunnel:
// the source's report is kept, the destination's only when no source
// reported the edge (its client is outside the mesh). The same workload on
// several nodes is reported by each node's ztunnel: those add up.
func dedupe(rates []zt.Rate) []zt.Rate {
	type edge struct{ srcNS, src, dstNS, dst, svc string }
	type row struct {
		edge
		flags, security string
	}
	bySource := map[edge]bool{}
	for _, r := range rates {
		if r.Reporter == "source" {
			bySource[edge{r.SrcNamespace, r.SrcWorkload, r.DstNamespace, r.DstWorkload, r.DstService}] = true
		}
	}
	merged := map[row]int{}
	var out []zt.Rate
	for _, r := range rates {
		e := edge{r.SrcNamespace, r.SrcWorkload, r.DstNamespace, r.DstWorkload, r.DstService}
		if r.Reporter == "destination" && bySource[e] {
			continue
		}
		k := row{e, r.Flags, r.Security}
		if i, ok := merged[k]; ok {
			o := &out[i]
			o.ConnsPerSec += r.ConnsPerSec
			o.FailedPerSec += r.FailedPerSec
			o.SentPerSec += r.SentPerSec
			o.RecvPerSec += r.RecvPerSec
			o.Opened += r.Opened
			continue
		}
		merged[k] = len(out)
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ConnsPerSec != out[j].ConnsPerSec {
			return out[i].ConnsPerSec > out[j].ConnsPerSec
		}
		a, b := out[i], out[j]
		return a.SrcNamespace+"/"+a.SrcWorkload+" "+a.DstService < b.SrcNamespace+"/"+b.SrcWorkload+" "+b.DstService
	})
	return out
}

// Rates is what the last poll found, for tests and the findings.
func (m Model) Rates() []zt.Rate { return m.rates }

func (m Model) rebuild() Model {
	cols := []table.Column{
		{Title: "SOURCE", Min: 12, Max: 32}, {Title: "DESTINATION", Min: 12, Max: 36},
		{Title: "CONN/S", Min: 6, Max: 8, Right: true, Priority: 1}, {Title: "SENT/S", Min: 6, Max: 9, Right: true, Priority: 2},
		{Title: "RECV/S", Min: 6, Max: 9, Right: true, Priority: 3}, {Title: "MTLS", Min: 4, Max: 4, Priority: 2},
		{Title: "FLAGS", Min: 14, Max: 14, Priority: 1}, {Title: "NETPOL (HBONE)", Min: 10, Max: 60, Priority: 1},
		{Title: "AUTHZ (waypoint, ztunnel)", Min: 10, Max: 110, Priority: 1},
	}
	np := m.np
	var rows []table.Row
	for i, r := range m.rates {
		src := r.SrcNamespace + "/" + r.SrcWorkload
		dst := r.DstService
		if r.DstWorkload != "" && r.DstWorkload != "unknown" {
			dst = r.DstNamespace + "/" + r.DstWorkload
		}
		mtls, mtone := "no", theme.ToneWarn
		if r.Security == "mutual_tls" {
			mtls, mtone = "yes", theme.ToneGood
		}
		ftone := theme.ToneNormal
		if r.Flags != "-" && r.Flags != "" {
			ftone = theme.ToneBad
		}
		verdict, vtone := m.verdict(np, r)
		authz, atone := m.authz(r)
		rows = append(rows, table.Row{Key: strconv.Itoa(i), Cells: []table.Cell{
			{Text: safe.Line(src)}, {Text: safe.Line(dst)},
			{Text: fmt.Sprintf("%.2f", r.ConnsPerSec)}, {Text: bytes(r.SentPerSec)}, {Text: bytes(r.RecvPerSec)},
			{Text: mtls, Tone: mtone}, {Text: safe.Line(r.Flags), Tone: ftone}, {Text: safe.Line(verdict), Tone: vtone},
			{Text: safe.Line(authz), Tone: atone},
		}})
	}
	m.l7 = m.l7Pane()
	p := pane.New(m.theme, "Traffic (ztunnel metrics)", cols...)
	p.Table = p.Table.SetRows(rows)
	p.Note = m.note()
	if m.height > 0 {
		p = p.SetHeight(m.height)
	}
	m.pane = p
	return m
}

// verdict judges the HBONE connection that carries an edge between two
// captured pods: the source pod's egress and the destination pod's ingress
// on 15008. Edges whose ends ambx cannot place on pods are not judged.
func (m Model) verdict(np *netpol.Cluster, r zt.Rate) (string, theme.Tone) {
	if np == nil || m.snap == nil || m.snap.Mesh == nil {
		return "not judged: no NetworkPolicies read", theme.ToneDim
	}
	if m.snap.State(kube.ResNetworkPolicies).Availability != kube.Available {
		return "not judged: NetworkPolicies not read", theme.ToneDim
	}
	src := podOf(m.snap, r.SrcNamespace, r.SrcWorkload)
	dst := podOf(m.snap, r.DstNamespace, r.DstWorkload)
	if dst == nil {
		// A failed connection has no destination workload: judge a pod
		// behind the Service it was for.
		dst = podBehind(m.snap, r.DstService)
	}
	if src == nil || dst == nil {
		return "-", theme.ToneDim
	}
	v, err := np.Evaluate(netpol.PodPeer(src.Namespace, src.Name), netpol.PodPeer(dst.Namespace, dst.Name), 15008, corev1.ProtocolTCP)
	if err != nil {
		return "not judged: " + err.Error(), theme.ToneDim
	}
	if v.Allowed {
		return "allowed", theme.ToneGood
	}
	return "denied: " + v.Reason, theme.ToneBad
}

// authz is ztunnel's AuthorizationPolicy verdict on an edge at its
// destination, by kube/ambient's evaluator: L4 rules only, with the L7
// policies of a waypoint in front named as needing it. The metrics carry
// no port, so a verdict that turns on one says so.
func (m Model) authz(r zt.Rate) (string, theme.Tone) {
	s := m.snap
	if s == nil || s.Mesh == nil {
		return "not judged", theme.ToneDim
	}
	if gaps := s.Unread(kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResNamespaces, kube.ResPods); len(gaps) > 0 {
		return "not judged: " + gaps[0].String(), theme.ToneDim
	}
	src := ambient.Peer{}
	if r.SrcPrincipal != "" && r.SrcPrincipal != "unknown" {
		src.Identity = r.SrcPrincipal
	}
	dst := podOf(s, r.DstNamespace, r.DstWorkload)
	if wp, ok := waypointOf(s, dst); ok {
		return m.authzVia(r, src, wp, dst)
	}
	if dst == nil {
		dst = podBehind(s, r.DstService)
	}
	if dst == nil {
		return "-", theme.ToneDim
	}
	v := ambient.Authorize(&s.Cluster, s.Mesh, src, dst)
	if _, fromWaypoint := waypointOf(s, podOf(s, r.SrcNamespace, r.SrcWorkload)); fromWaypoint {
		// The waypoint's own hop: its L7 policies were judged on the
		// client's edge into it.
		v.Waypoint = nil
	}
	text, tone := "", theme.ToneGood
	switch v.Outcome {
	case ambient.AuthzAllowed:
		text = "allowed"
		if v.By != "" {
			text += " by " + v.By
		}
	case ambient.AuthzDenied:
		text, tone = "denied: "+v.Reason, theme.ToneBad
	default:
		text, tone = "? "+v.Reason, theme.ToneWarn
	}
	if len(v.Waypoint) > 0 {
		text += " · L7 " + strings.Join(v.Waypoint, ", ") + ": needs waypoint"
	}
	return text, tone
}

// authzVia judges an edge into a waypoint (ztunnel reports the waypoint
// as the destination workload and the Service the client asked for): the
// waypoint judges the client by its targetRefs policies, then the
// destination's ztunnel judges the waypoint's identity, not the client's.
func (m Model) authzVia(r zt.Rate, src ambient.Peer, wp ambient.Key, wpPod *corev1.Pod) (string, theme.Tone) {
	s := m.snap
	svc, ok := serviceKey(r.DstService)
	final := podBehind(s, r.DstService)
	if !ok || final == nil {
		return "? via waypoint " + wp.String() + ": no pod behind " + r.DstService + " to judge", theme.ToneWarn
	}
	v := ambient.AuthorizeViaWaypoint(&s.Cluster, s.Mesh, src, wp, wpPod, svc, final)
	sees := strings.TrimPrefix(v.Identity, "spiffe://")
	if i := strings.Index(sees, "/ns/"); i >= 0 {
		sees = sees[i+1:]
	}
	w, z := v.AtWaypoint, v.AtZtunnel
	switch {
	case w.Outcome == ambient.AuthzDenied:
		return "denied at waypoint " + wp.String() + ": " + w.Reason, theme.ToneBad
	case z.Outcome == ambient.AuthzDenied:
		return "denied at " + svc.Name + "'s ztunnel, which sees the waypoint (" + sees + "): " + z.Reason, theme.ToneBad
	case w.Outcome != ambient.AuthzAllowed:
		return "? at waypoint " + wp.String() + ": " + w.Reason, theme.ToneWarn
	case z.Outcome != ambient.AuthzAllowed:
		return "? at " + svc.Name + "'s ztunnel (sees " + sees + "): " + z.Reason, theme.ToneWarn
	}
	text := "allowed at waypoint " + wp.String()
	if w.By != "" {
		text += " by " + w.By
	}
	text += ", then at ztunnel as " + sees
	if z.By != "" {
		text += " by " + z.By
	}
	return text, theme.ToneGood
}

// waypointOf reports whether pod is one of a waypoint's pods, and which
// waypoint (its Gateway) it serves.
func waypointOf(s *kube.Snapshot, pod *corev1.Pod) (ambient.Key, bool) {
	if pod == nil || s.Mesh == nil {
		return ambient.Key{}, false
	}
	gw := pod.Labels["gateway.networking.k8s.io/gateway-name"]
	if gw == "" {
		return ambient.Key{}, false
	}
	k := ambient.Key{Namespace: pod.Namespace, Name: gw}
	_, ok := s.Mesh.Waypoint(k)
	return k, ok
}

// serviceKey is the Service a ztunnel hostname (name.namespace.svc…) names.
func serviceKey(host string) (ambient.Key, bool) {
	parts := strings.SplitN(host, ".", 3)
	if len(parts) < 3 || !strings.HasPrefix(parts[2], "svc") {
		return ambient.Key{}, false
	}
	return ambient.Key{Namespace: parts[1], Name: parts[0]}, true
}

// podOf finds a pod of the workload ztunnel names (its pod name, or the
// workload it belongs to), so the edge can be judged.
func podOf(s *kube.Snapshot, ns, workload string) *corev1.Pod {
	if workload == "" || workload == "unknown" {
		return nil
	}
	for _, p := range s.Pods {
		if p.Namespace != ns {
			continue
		}
		if p.Name == workload {
			return p
		}
		info := s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		if i := strings.IndexByte(info.Owner, '/'); i >= 0 && info.Owner[i+1:] == workload {
			return p
		}
		if strings.HasPrefix(p.Name, workload+"-") {
			return p
		}
	}
	return nil
}

// podBehind finds a pod that the Service named by a ztunnel hostname
// (name.namespace.svc…) selects.
func podBehind(s *kube.Snapshot, host string) *corev1.Pod {
	parts := strings.SplitN(host, ".", 3)
	if len(parts) < 3 || !strings.HasPrefix(parts[2], "svc") {
		return nil
	}
	for _, svc := range s.Services {
		if svc.Name != parts[0] || svc.Namespace != parts[1] || len(svc.Spec.Selector) == 0 {
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		for _, p := range s.Pods {
			if p.Namespace == svc.Namespace && sel.Matches(labels.Set(p.Labels)) {
				return p
			}
		}
	}
	return nil
}

func (m Model) note() string {
	switch {
	case m.snap == nil:
		return "waiting for the cluster…"
	case len(ztunnels(m.snap)) == 0:
		return "No running ztunnel pod (label app=ztunnel): no traffic to read."
	case !m.polled:
		return "reading every ztunnel's metrics…"
	case len(m.errs) > 0 && len(m.rates) == 0:
		return "Could not read ztunnel metrics (needs create on pods/portforward): " + strings.Join(m.errs, "; ")
	case len(m.prev) > 0 && len(m.rates) == 0:
		return "No traffic since the last read (rates need two reads " + Period.String() + " apart)."
	}
	return ""
}

// l7Scraped files the waypoints' scrapes: rates against each one's last.
func (m Model) l7Scraped(rs []WaypointResult) Model {
	if m.wpoll == nil {
		return m
	}
	m.wpolled, m.werrs, m.wrates = true, nil, nil
	for _, r := range rs {
		if r.Err != nil {
			m.werrs = append(m.werrs, r.Pod.Namespace+"/"+r.Pod.Name+": "+r.Err.Error())
			continue
		}
		for _, rate := range waypointstats.Rates(m.wprev[r.Pod], r.Scrape) {
			wp := r.Pod.Namespace + "/" + r.Pod.Node
			merged := false
			for i := range m.wrates {
				if m.wrates[i].waypoint == wp && m.wrates[i].Route == rate.Route {
					m.wrates[i].PerSec += rate.PerSec // the waypoint's replicas add up
					merged = true
				}
			}
			if !merged {
				m.wrates = append(m.wrates, wpRate{waypoint: wp, Rate: rate})
			}
		}
		m.wprev[r.Pod] = r.Scrape
	}
	sort.SliceStable(m.wrates, func(i, j int) bool {
		if m.wrates[i].waypoint != m.wrates[j].waypoint {
			return m.wrates[i].waypoint < m.wrates[j].waypoint
		}
		return m.wrates[i].PerSec > m.wrates[j].PerSec
	})
	return m
}

// l7Pane lists the waypoints' request rates by source, service and code.
func (m Model) l7Pane() pane.Pane {
	p := pane.New(m.theme, "Waypoint L7 (istio_requests_total)",
		table.Column{Title: "WAYPOINT", Min: 10, Max: 36}, table.Column{Title: "SOURCE", Min: 10, Max: 32},
		table.Column{Title: "SERVICE", Min: 10, Max: 48, Priority: 1}, table.Column{Title: "CODE", Min: 4, Max: 4},
		table.Column{Title: "REQ/S", Min: 6, Max: 8, Right: true})
	var rows []table.Row
	for i, r := range m.wrates {
		tone := theme.ToneGood
		switch {
		case strings.HasPrefix(r.Code, "5"), r.Code == "0":
			tone = theme.ToneBad
		case strings.HasPrefix(r.Code, "4"):
			tone = theme.ToneWarn
		}
		rows = append(rows, table.Row{Key: "l7/" + strconv.Itoa(i), Cells: []table.Cell{
			{Text: safe.Line(r.waypoint)}, {Text: safe.Line(r.SrcNamespace + "/" + r.SrcWorkload)}, {Text: safe.Line(r.DstService)},
			{Text: safe.Line(r.Code), Tone: tone}, {Text: fmt.Sprintf("%.2f", r.PerSec)},
		}})
	}
	p.Table = p.Table.SetRows(rows)
	switch {
	case len(rows) > 0:
	case !m.wpolled:
		p.Note = "reading every waypoint's istio_requests_total…"
	case len(m.werrs) > 0:
		p.Note = "Could not read waypoint metrics (needs get on pods/proxy): " + strings.Join(m.werrs, "; ")
	case len(m.wprev) > 0:
		p.Note = "No requests through a waypoint since the last read (rates need two reads " + Period.String() + " apart)."
	default:
		p.Note = "reading every waypoint's istio_requests_total…"
	}
	return p
}

// showsL7 reports whether the view has a waypoint section: it reads
// waypoints, and the cluster runs some.
func (m Model) showsL7() bool {
	return m.wpoll != nil && m.snap != nil && len(ztread.Waypoints(m.snap.Pods)) > 0
}

// View renders the view in exactly width x height cells.
func (m Model) View(width, height int) string {
	if height <= 0 {
		return ""
	}
	if m.showsL7() && height >= 12 {
		low := max(4, height/3)
		return m.edges(width, height-low) + "\n" + m.l7.SetHeight(low).View(width, low, false)
	}
	return m.edges(width, height)
}

func (m Model) edges(width, height int) string {
	out := m.pane.SetHeight(height).View(width, height, true)
	if len(m.errs) > 0 && len(m.rates) > 0 && height > 3 {
		lines := strings.Split(out, "\n")
		lines[len(lines)-1] = m.theme.Tone(theme.ToneWarn).Render(pane.Fit(fmt.Sprintf(" %d ztunnel(s) not read: %s", len(m.errs), safe.Line(m.errs[0])), width))
		out = strings.Join(lines, "\n")
	}
	return out
}

func bytes(perSec float64) string {
	switch {
	case perSec >= 1<<20:
		return fmt.Sprintf("%.1fM", perSec/(1<<20))
	case perSec >= 1<<10:
		return fmt.Sprintf("%.1fK", perSec/(1<<10))
	}
	return fmt.Sprintf("%.0f", perSec)
}
