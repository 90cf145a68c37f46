package ui

import "github.com/ambx/ambx/kube/usage"

// MetricsNeed is what the screen shows of the metrics API now, so the
// poller lists nothing else: the CPU and MEM columns of Workloads and
// Waypoints and the mesh-overhead strip and view read pod figures; no pane
// reads node figures. A full-screen view that shows none (help, findings,
// detail, a patch, logs) needs nothing.
func (m Model) MetricsNeed() usage.Need {
	top := m.top()
	if top == modalConfirm || top == modalPicker {
		top = m.below() // drawn over the screen below, which stays visible
	}
	switch {
	case top == modalOverhead:
		return usage.Need{Pods: true}
	case top != 0:
		return usage.Need{}
	case m.width <= 0 || m.height <= 0:
		return usage.Need{Pods: true} // not laid out yet: assume the panes
	case m.stripLines() > 0:
		return usage.Need{Pods: true} // the strip sums the whole mesh
	case m.grid(), m.focus == PaneWorkloads, m.focus == PaneWaypoints:
		return usage.Need{Pods: true, Namespace: m.drill}
	}
	return usage.Need{}
}
