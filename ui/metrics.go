package ui

import (
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/views/pane"
)

// usageReader is a pane that can say whether its rows show metrics.
type usageReader interface{ ReadsUsage() bool }

// readsUsage reports whether p shows metrics; a pane that cannot say is
// assumed to.
func readsUsage(p pane.Resource) bool {
	r, ok := p.(usageReader)
	return !ok || r.ReadsUsage()
}

// MetricsNeed is what the screen shows of the metrics API now, so the
// poller lists nothing else: panes whose rows show CPU and MEM and the
// mesh-overhead strip and overlay read pod figures; no pane reads node
// figures. A full-screen overlay that shows none (help, findings, detail,
// a patch, logs) needs nothing; dialogs leave the screen below visible.
//
// While the pods' first list streams no row, strip or overlay has a pod
// to put a figure on, so nothing is polled: a PodMetrics LIST then only
// competes with that stream for the API server and the cores.
func (m Model) MetricsNeed() usage.Need {
	if m.snap == nil {
		return usage.Need{} // nothing read yet, so nothing on screen
	}
	if st, ok := m.snap.Resources[kube.ResPods]; ok && st.Availability == kube.Syncing {
		return usage.Need{}
	}
	for i := len(m.stack) - 1; i >= 0; i-- {
		o := m.stack[i]
		if _, ok := o.(usageOverlay); ok {
			return usage.Need{Pods: true}
		}
		if _, ok := o.(dialog); !ok {
			return usage.Need{}
		}
	}
	scoped := usage.Need{Pods: true, Namespace: m.drill}
	switch {
	case m.width <= 0 || m.height <= 0:
		return usage.Need{Pods: true} // not laid out yet: assume the panes
	case m.grid():
		if m.stripLines() > 0 {
			return usage.Need{Pods: true} // the strip sums the whole mesh
		}
		for _, i := range m.gridPanes() {
			if readsUsage(m.panes[i].pane) {
				return scoped
			}
		}
		return usage.Need{}
	case readsUsage(m.focused()):
		return scoped
	}
	return usage.Need{}
}
