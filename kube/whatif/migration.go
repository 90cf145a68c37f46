package whatif

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
)

// Migration is where a namespace stands in its move from sidecars to
// ambient, from the snapshot alone (no simulation, so panes can ask it on
// every snapshot).
type Migration struct {
	// Sidecars are the pods still running a sidecar.
	Sidecars int
	// Moved are the pods ambient carries (captured or pending).
	Moved int
	// OnRestart are the sidecar pods a restart moves to ambient as the
	// namespace is labelled now: no injection label, enrolled, restartable.
	OnRestart int
	// Injects is the injection label still on the namespace, "" if none.
	Injects string
	// Enrolled is the namespace's istio.io/dataplane-mode=ambient label.
	Enrolled bool
}

// Started reports whether the namespace has anything to do with a
// migration: sidecars, or pods already moved next to an injection label.
func (m Migration) Started() bool { return m.Sidecars > 0 || (m.Moved > 0 && m.Injects != "") }

// String is one line for a detail view: "2 sidecar pods left (0 move on a
// restart), 3 pods moved · M migrates".
func (m Migration) String() string {
	if m.Sidecars == 0 {
		if m.Injects != "" {
			return fmt.Sprintf("no sidecar pods left, %s moved; the namespace still has %s, so new pods get sidecars", count(m.Moved, "pod", "pods"), m.Injects)
		}
		return fmt.Sprintf("done: no sidecar pods, %s moved", count(m.Moved, "pod", "pods"))
	}
	s := fmt.Sprintf("%s left, %s moved, %d move%s on a restart", count(m.Sidecars, "sidecar pod", "sidecar pods"), count(m.Moved, "pod", "pods"), m.OnRestart, plural(m.OnRestart, "s", ""))
	var why []string
	if m.Injects != "" {
		why = append(why, "the namespace still has "+m.Injects)
	}
	if !m.Enrolled {
		why = append(why, "it is not enrolled")
	}
	if m.OnRestart < m.Sidecars && len(why) > 0 {
		s += " (" + strings.Join(why, " and ") + ")"
	}
	return s
}

// MigrationOf computes the migration state of namespace ns.
func MigrationOf(s *kube.Snapshot, ns string) Migration {
	return Migrations(s)[ns]
}

// Migrations computes the migration state of every namespace in one pass
// over the pods, for a pane that shows them all on every snapshot.
func Migrations(s *kube.Snapshot) map[string]Migration {
	if s == nil || s.Mesh == nil {
		return nil
	}
	out := make(map[string]Migration, len(s.Namespaces))
	objs := make(map[string]*corev1.Namespace, len(s.Namespaces))
	for _, n := range s.Namespaces {
		if n == nil {
			continue
		}
		objs[n.Name] = n
		var m Migration
		m.Enrolled = n.Labels[ambient.LabelDataplaneMode] == "ambient"
		if v, ok := n.Labels[ambient.LabelInjection]; ok {
			m.Injects = ambient.LabelInjection + "=" + v
		} else if v, ok := n.Labels[ambient.LabelRev]; ok {
			m.Injects = ambient.LabelRev + "=" + v
		}
		out[n.Name] = m
	}
	for _, p := range s.Pods {
		if p == nil {
			continue
		}
		info := s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		m := out[p.Namespace]
		switch info.State {
		case ambient.PodCaptured, ambient.PodPending:
			m.Moved++
		case ambient.PodSidecar:
			m.Sidecars++
			own := p.Labels[ambient.LabelDataplaneMode]
			if restartable(info.Owner) && !injected(objs[p.Namespace], p) && own != "none" && (m.Enrolled || own == "ambient") {
				m.OnRestart++
			}
		default:
			continue
		}
		out[p.Namespace] = m
	}
	return out
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
