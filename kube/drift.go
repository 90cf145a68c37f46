package kube

import (
	"sort"
	"time"

	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/ztunnel"
)

// WithZtunnel returns s with the drift between what the ztunnels hold (sv)
// and the API objects added to its findings and marks, and sv recorded in
// Ztunnel so the findings list and badge can say what was not read. s is
// not modified: snapshots are shared. Drift of a check that did not run
// (its API objects unread) is dropped like every such finding. A nil sv
// returns s.
func (s *Snapshot) WithZtunnel(sv *ztunnel.Survey, now time.Time) *Snapshot {
	if s == nil || sv == nil {
		return s
	}
	out := *s
	out.Ztunnel = sv
	drift := sv.Drift(&s.Cluster, s.Mesh, now)
	if len(drift) == 0 {
		return &out
	}
	skipped := map[string]bool{}
	for _, k := range s.Coverage() {
		skipped[k.Check] = true
	}
	fs := make([]finding.Finding, 0, len(s.Findings)+len(drift))
	fs = append(fs, s.Findings...)
	for _, f := range drift {
		if !skipped[CheckOf(f)] {
			fs = append(fs, f)
		}
	}
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].Severity > fs[j].Severity })
	out.Findings = fs
	out.Index = finding.NewIndex(fs)
	return &out
}

// WithLoads returns s with the per-workload traffic ztunnel's metrics
// showed, for the Workloads pane's rate columns. s is not modified; a nil
// l returns s.
func (s *Snapshot) WithLoads(l *ztunnel.Loads) *Snapshot {
	if s == nil || l == nil {
		return s
	}
	out := *s
	out.Loads = l
	return &out
}
