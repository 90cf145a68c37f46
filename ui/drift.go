package ui

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"time"
	"unsafe"

	tea "charm.land/bubbletea/v2"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
)

// The main screen's drift checks read ztunnels' config_dumps: a proxied
// GET each, and a dump that holds the whole mesh. A full round reads every
// ztunnel every driftRefresh (certificates expire, proxies die without an
// API change); driftAfterChange after the cluster changed, a round re-reads
// only the nodes whose pods changed and one ztunnel for the mesh-wide view
// (surveyNodes), keeping the other nodes' readings, whose age the findings
// list states (ztunnel.Survey.Ages). Never two rounds at once, and a few
// ztunnels at a time.
const (
	driftRefresh     = 2 * time.Minute
	driftAfterChange = 30 * time.Second
	surveyParallel   = 4
)

// surveyGiveUp is how many first reads of a round, all failed with none
// served, end it: the rest are reported not tried, and the round backs
// off like one whose every read failed (its probes then ask one ztunnel,
// another each time, and a full round follows the first that answers).
// Every ztunnel refusing alike (pods/portforward forbidden, ztunnel's
// admin port not listening) is the usual cause, and each read is a
// port-forward to the API server and 0.7 MiB of SPDY state: at 500
// nodes a round that read all was 500 requests and 350 MB of garbage to
// learn what the first eight said.
const surveyGiveUp = 2 * surveyParallel

// surveyMsg carries a finished round of ztunnel reads and the pods of the
// snapshot it began from (the next round's baseline).
type surveyMsg struct {
	survey *ztunnel.Survey
	pods   []*corev1.Pod
	probe  bool // the round read one ztunnel for a backed-off round
}

// drifted is a snapshot with a survey's drift, as made at; it holds until
// the survey's next turn (a certificate's warning hour or expiry: the only
// verdicts that read the clock), zero for ever.
type drifted struct {
	src, out  *kube.Snapshot
	survey    *ztunnel.Survey
	at, until time.Time
}

// withDrift is the Source's snapshot with the last survey's drift in its
// findings (the snapshot the panes, findings list and badge show). The
// same snapshot and survey again (a rate scrape re-sends them) get the
// same result until the clock reaches the survey's next turn. A new round
// (or a turn) that finds what the last did keeps the last findings and
// their index: the panes, which read no survey (setSnapshot), keep their
// rows, while the badge and the findings list read the new round.
func (m Model) withDrift(s *kube.Snapshot) (Model, *kube.Snapshot) {
	now, d := m.opt.Now(), m.drifted
	if d.out != nil && d.src == s && d.survey == m.survey && !now.Before(d.at) && (d.until.IsZero() || now.Before(d.until)) {
		return m, d.out
	}
	out := s.WithZtunnel(m.survey, now)
	if d.out != nil && d.src == s && out != s && sameFindings(d.out.Findings, out.Findings) {
		out.Findings, out.Index = d.out.Findings, d.out.Index
	}
	m.drifted = drifted{src: s, survey: m.survey, out: out, at: now, until: m.survey.Turns(now)}
	return m, out
}

// sameFindings reports whether a and b say the same, finding by finding.
func sameFindings(a, b []finding.Finding) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || unsafe.SliceData(a) == unsafe.SliceData(b) {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// surveyDue starts a round of ztunnel reads when one is due: the first
// once the pods are read (before that, "no ztunnel" would be a guess), then
// every driftRefresh, or driftAfterChange after the cluster changed; after
// rounds that failed as a whole, when the backoff lets it.
func (m Model) surveyDue(now time.Time) (Model, tea.Cmd) {
	if m.opt.Ztunnel == nil || m.surveying || m.src == nil || !m.src.State(kube.ResPods).Availability.Read() {
		return m, nil
	}
	var last *ztunnel.Survey   // the round to keep readings of, nil for a full one
	var failed *ztunnel.Survey // a failed round one read this time stands for
	switch l := m.survey; {
	case m.surveyAll || l == nil || l.Started.IsZero():
		// The first round, or a backed-off round's one read answered:
		// read them all now.
	case m.surveyOff.fails > 0:
		// Every read of the last round failed: a change of the API
		// objects will not make them answer, only time or other ztunnels.
		var hold bool
		src := m.src
		m.surveyOff, hold = m.surveyOff.holds(now, l.Started, driftRefresh, driftAfterChange, func() []ztread.Pod { return ztread.Ztunnels(src.Pods) })
		if hold {
			return m, nil
		}
		if m.surveyOff.fails > 0 {
			failed = l // the same ztunnels as that round's: ask one
		}
	default:
		age := now.Sub(l.Started)
		changed := m.src.LastEvent.After(l.Started)
		if age < driftRefresh && !(changed && age >= driftAfterChange) {
			return m, nil
		}
		if age < driftRefresh && !l.Done.IsZero() {
			last = l
		}
	}
	giveUp := surveyGiveUp
	if m.surveyAll {
		giveUp = 0 // a probe answered: read every ztunnel, even if the first fail
	}
	m.surveying, m.surveyAll = true, false
	cluster, before, off := &m.src.Cluster, m.surveyPods, m.surveyOff
	reader, ctx, clock := m.opt.Ztunnel, m.opt.Ctx, m.opt.Now
	return m, func() tea.Msg {
		pods := ztread.Ztunnels(cluster.Pods)
		versions := ztunnel.Versions(cluster)
		if one := off.probe(pods); failed != nil && one != nil {
			return probeSurvey(ctx, reader, failed, one[0], len(pods), versions, now, clock, cluster.Pods)
		}
		read, kept := pods, []ztunnel.Reading(nil)
		if last != nil {
			if nodes, ok := surveyNodes(last, before, cluster.Pods, versions); ok {
				read, kept = keepReadings(last, pods, nodes)
			}
		}
		return surveyMsg{survey: survey(ctx, reader, read, kept, len(pods), versions, now, clock, giveUp), pods: cluster.Pods}
	}
}

// probeSurvey is a backed-off round: it reads the one ztunnel p, since
// the others failed the same way last time and would cost a port-forward
// each to fail again. If p fails too, the round keeps the failed round's
// readings of the others, each with when it failed, so the screen goes on
// saying every ztunnel was not read, and why.
func probeSurvey(ctx context.Context, r ztread.Reader, failed *ztunnel.Survey, p ztread.Pod, running int, versions map[finding.Ref]string, started time.Time, clock func() time.Time, pods []*corev1.Pod) surveyMsg {
	sv := survey(ctx, r, []ztread.Pod{p}, nil, running, versions, started, clock, 0)
	if sv.Read() == 0 {
		name := p.Namespace + "/" + p.Name
		for _, old := range failed.Readings {
			if old.Pod != name {
				sv.Readings = append(sv.Readings, old)
			}
		}
	}
	return surveyMsg{survey: sv, pods: pods, probe: true}
}

// surveyNodes are the nodes whose ztunnel must be read again after last,
// whose round began with the pods before, for the drift of a cluster with
// the pods now and the versions: the nodes of pods added, changed or
// deleted since, or too new for last to have judged. ok is false when
// something else the drift checks read (a namespace's labels, a Service,
// a Gateway, an AuthorizationPolicy) changed: its effect is not one
// node's, so every ztunnel is read.
func surveyNodes(last *ztunnel.Survey, before, now []*corev1.Pod, versions map[finding.Ref]string) (map[string]bool, bool) {
	if before == nil || last.Versions == nil {
		return nil, false
	}
	others := 0
	for r, v := range versions {
		if r.Kind == "Pod" {
			continue
		}
		if old, ok := last.Versions[r]; !ok || old != v {
			return nil, false
		}
		others++
	}
	for r := range last.Versions {
		if r.Kind != "Pod" {
			others--
		}
	}
	if others != 0 {
		return nil, false // some deleted
	}
	nodes := map[string]bool{}
	podRef := func(p *corev1.Pod) finding.Ref {
		return finding.Ref{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
	}
	for _, p := range now {
		r := podRef(p)
		old, ok := last.Versions[r]
		if !ok || old != versions[r] || last.Started.Sub(p.CreationTimestamp.Time) < ztunnel.SurveyGrace {
			nodes[p.Spec.NodeName] = true
		}
	}
	for _, p := range before {
		if v, ok := versions[podRef(p)]; !ok || v != last.Versions[podRef(p)] {
			nodes[p.Spec.NodeName] = true
		}
	}
	return nodes, true
}

// keepReadings splits the running ztunnels into those to read (on nodes,
// or whose last reading failed or was of another pod, and the first one,
// whose whole dump gives the mesh-wide view) and last's readings of the
// others, kept.
func keepReadings(last *ztunnel.Survey, pods []ztread.Pod, nodes map[string]bool) (read []ztread.Pod, kept []ztunnel.Reading) {
	byNode := map[string]ztunnel.Reading{}
	for _, r := range last.Readings {
		byNode[r.Node] = r
	}
	for i, p := range pods {
		r, ok := byNode[p.Node]
		if i == 0 || nodes[p.Node] || !ok || r.Dump == nil || r.Pod != p.Namespace+"/"+p.Name || r.At.IsZero() {
			read = append(read, p)
			continue
		}
		r.Dump = r.Dump.Slim()
		kept = append(kept, r)
	}
	return read, kept
}

// survey reads the ztunnels of pods and joins kept, the readings of an
// earlier round of the other ztunnels (of running in all); only the first
// dump read is kept whole, since every ztunnel holds the whole mesh. With
// no dump read, kept readings are dropped: the mesh-wide view they would
// be judged with is not of now. Once the first giveUp reads to end (when
// giveUp is not 0) have all failed, no more begin; unless one under way
// then serves, the ztunnels left are reported not tried, and why.
func survey(ctx context.Context, r ztread.Reader, pods []ztread.Pod, kept []ztunnel.Reading, running int, versions map[finding.Ref]string, started time.Time, clock func() time.Time, giveUp int) *ztunnel.Survey {
	readings := make([]ztunnel.Reading, len(pods))
	read := func(c context.Context, i int, p ztread.Pod) error {
		d, err := r.ConfigDump(c, p)
		readings[i] = readingOf(p, clock())
		if err != nil {
			readings[i].Err = err.Error()
		} else {
			readings[i].Dump = d
		}
		return err
	}
	var mu sync.Mutex
	done, served := 0, 0
	begun := ztread.EachUntil(ctx, pods, surveyParallel, readTimeout, func(c context.Context, i int, p ztread.Pod) bool {
		err := read(c, i, p)
		mu.Lock()
		defer mu.Unlock()
		done++
		if err == nil {
			served++
		}
		// The first giveUp reads to end, whichever pods they were.
		return giveUp > 0 && served == 0 && done == giveUp
	})
	if begun < len(pods) && served > 0 {
		// A read under way as the round stopped served: reads work after
		// all, so the others are read too.
		rest := pods[begun:]
		ztread.Each(ctx, rest, surveyParallel, readTimeout, func(c context.Context, i int, p ztread.Pod) { _ = read(c, begun+i, p) })
		begun = len(pods)
	}
	if begun < len(pods) {
		why := fmt.Sprintf("not tried: the round's first %d reads all failed", giveUp)
		at := clock()
		for i, p := range pods[begun:] {
			readings[begun+i] = readingOf(p, at)
			readings[begun+i].Err = why
		}
	}
	full := false
	for i := range readings {
		if readings[i].Dump == nil {
			continue
		}
		if full {
			readings[i].Dump = readings[i].Dump.Slim()
		}
		full = true
	}
	if full {
		readings = append(readings, kept...)
	}
	return &ztunnel.Survey{Started: started, Done: clock(), Ztunnels: running, Readings: readings, Versions: versions}
}

// readingOf is the start of ztunnel p's reading at at: which pod, on
// which node; the dump or why there is none goes in after.
func readingOf(p ztread.Pod, at time.Time) ztunnel.Reading {
	return ztunnel.Reading{Node: p.Node, Pod: p.Namespace + "/" + p.Name, At: at}
}

// surveyed takes a finished round: its drift joins the findings. A round
// in which every read failed holds the next one off (backoff); the
// findings list and the header say it was not read, and why, meanwhile.
func (m Model) surveyed(msg surveyMsg) Model {
	m.surveying = false
	m.survey, m.surveyPods = msg.survey, msg.pods
	if sv := msg.survey; sv != nil {
		wasDown := m.surveyOff.fails > 0
		m.surveyOff = m.surveyOff.record(triedPods(sv), sv.Read() == 0)
		m.surveyAll = msg.probe && sv.Read() > 0
		if wasDown && sv.Read() > 0 && m.load.off.fails > 0 {
			// ztunnels answer again: the rate scrapes, held off while
			// neither they nor the survey read any (loadsDue), read
			// every ztunnel on screen at the next tick.
			m.load.off = backoff{}
		}
	}
	if m.src == nil {
		return m
	}
	return m.setSnapshot(m.src)
}

// triedPods are the ztunnels a round tried to read.
func triedPods(sv *ztunnel.Survey) []ztread.Pod {
	out := make([]ztread.Pod, 0, len(sv.Readings))
	for _, r := range sv.Readings {
		ns, name, _ := strings.Cut(r.Pod, "/")
		out = append(out, ztread.Pod{Namespace: ns, Name: name, Node: r.Node})
	}
	return out
}
