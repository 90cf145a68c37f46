package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
)

// The main screen's drift checks read every ztunnel's config_dump: a
// port-forward each, and a dump that holds the whole mesh. So they read at
// a modest period, sooner after the cluster changed, never two rounds at
// once, and a few ztunnels at a time.
const (
	driftRefresh     = 2 * time.Minute
	driftAfterChange = 30 * time.Second
	surveyParallel   = 4
)

// surveyMsg carries a finished round of ztunnel reads.
type surveyMsg struct{ survey *ztunnel.Survey }

// withDrift is the Source's snapshot with the last survey's drift in its
// findings (the snapshot the panes, findings list and badge show).
func (m Model) withDrift(s *kube.Snapshot) *kube.Snapshot {
	return s.WithZtunnel(m.survey, m.opt.Now())
}

// surveyDue starts a round of ztunnel reads when one is due: the first
// once the pods are read (before that, "no ztunnel" would be a guess), then
// every driftRefresh, or driftAfterChange after the cluster changed.
func (m Model) surveyDue(now time.Time) (Model, tea.Cmd) {
	if m.opt.Ztunnel == nil || m.surveying || m.src == nil || !m.src.State(kube.ResPods).Availability.Read() {
		return m, nil
	}
	if last := m.survey; last != nil && !last.Started.IsZero() {
		age := now.Sub(last.Started)
		changed := m.src.LastEvent.After(last.Started)
		if age < driftRefresh && !(changed && age >= driftAfterChange) {
			return m, nil
		}
	}
	m.surveying = true
	pods := ztread.Ztunnels(m.src.Pods)
	versions := ztunnel.Versions(&m.src.Cluster)
	reader, ctx, clock := m.opt.Ztunnel, m.opt.Ctx, m.opt.Now
	return m, func() tea.Msg {
		return surveyMsg{survey(ctx, reader, pods, versions, now, clock)}
	}
}

// survey reads every ztunnel of pods; only the first dump read is kept
// whole, since every ztunnel holds the whole mesh.
func survey(ctx context.Context, r ztread.Reader, pods []ztread.Pod, versions map[finding.Ref]string, started time.Time, clock func() time.Time) *ztunnel.Survey {
	readings := make([]ztunnel.Reading, len(pods))
	ztread.Each(ctx, pods, surveyParallel, readTimeout, func(c context.Context, i int, p ztread.Pod) {
		d, err := r.ConfigDump(c, p)
		readings[i] = ztunnel.Reading{Node: p.Node, Pod: p.Namespace + "/" + p.Name, Dump: d}
		if err != nil {
			readings[i].Dump, readings[i].Err = nil, err.Error()
		}
	})
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
	return &ztunnel.Survey{Started: started, Done: clock(), Ztunnels: len(pods), Readings: readings, Versions: versions}
}

// surveyed takes a finished round: its drift joins the findings.
func (m Model) surveyed(msg surveyMsg) Model {
	m.surveying = false
	m.survey = msg.survey
	if m.src == nil {
		return m
	}
	return m.setSnapshot(m.src)
}
