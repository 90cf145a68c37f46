// Package migration holds where each namespace stands in its move from
// sidecars to ambient, counted from the objects and the ambient analysis
// alone (no I/O, no simulation), so kube.Build can count it once per
// snapshot on the Source's goroutine instead of each pane on the UI's.
package migration

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// labelSidecarInject is the pod label Istio's injector reads first.
const labelSidecarInject = "sidecar.istio.io/inject"

// State is where a namespace stands in its move from sidecars to ambient.
type State struct {
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
func (m State) Started() bool { return m.Sidecars > 0 || (m.Moved > 0 && m.Injects != "") }

// String is one line for a detail view: "2 sidecar pods left (0 move on a
// restart), 3 pods moved · M migrates".
func (m State) String() string {
	if m.Sidecars == 0 {
		if m.Injects != "" {
			return fmt.Sprintf("no sidecar pods left, %s moved; the namespace still has %s, so new pods get sidecars", count(m.Moved, "pod", "pods"), m.Injects)
		}
		return fmt.Sprintf("done: no sidecar pods, %s moved", count(m.Moved, "pod", "pods"))
	}
	verb := "moves"
	if m.OnRestart != 1 {
		verb = "move"
	}
	s := fmt.Sprintf("%s left, %s moved, %d %s on a restart", count(m.Sidecars, "sidecar pod", "sidecar pods"), count(m.Moved, "pod", "pods"), m.OnRestart, verb)
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

func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// Of counts the migration state of every namespace of c in one pass over
// its pods; a is c's analysis. nil when a is nil.
func Of(c *ambient.Cluster, a *ambient.Analysis) map[string]State {
	if c == nil || a == nil {
		return nil
	}
	out := make(map[string]State, len(c.Namespaces))
	objs := make(map[string]*corev1.Namespace, len(c.Namespaces))
	for _, n := range c.Namespaces {
		if n == nil {
			continue
		}
		objs[n.Name] = n
		var m State
		m.Enrolled = n.Labels[ambient.LabelDataplaneMode] == "ambient"
		if v, ok := n.Labels[ambient.LabelInjection]; ok {
			m.Injects = ambient.LabelInjection + "=" + v
		} else if v, ok := n.Labels[ambient.LabelRev]; ok {
			m.Injects = ambient.LabelRev + "=" + v
		}
		out[n.Name] = m
	}
	for _, p := range c.Pods {
		if p == nil {
			continue
		}
		info := a.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		m := out[p.Namespace]
		switch info.State {
		case ambient.PodCaptured, ambient.PodPending:
			m.Moved++
		case ambient.PodSidecar:
			m.Sidecars++
			own := p.Labels[ambient.LabelDataplaneMode]
			if Restartable(info.Owner) && !Injected(objs[p.Namespace], p) && own != "none" && (m.Enrolled || own == "ambient") {
				m.OnRestart++
			}
		default:
			continue
		}
		out[p.Namespace] = m
	}
	return out
}

// Restartable reports whether a pod's owner (ambient.PodInfo.Owner,
// "deployment/web") is a controller a rollout restart recreates pods of.
func Restartable(owner string) bool {
	kind, _, _ := strings.Cut(owner, "/")
	return kind == "deployment" || kind == "statefulset" || kind == "daemonset"
}

// Injected reports whether Istio's injector gives a new pod a sidecar, by
// the webhooks of the default install (mutatingwebhook.yaml): the
// namespace's istio-injection=enabled, or istio.io/rev without
// istio-injection; else the pod's own sidecar.istio.io/inject=true or
// istio.io/rev when its namespace has neither label; never with the
// pod's sidecar.istio.io/inject=false.
func Injected(ns *corev1.Namespace, p *corev1.Pod) bool {
	if p.Labels[labelSidecarInject] == "false" {
		return false
	}
	var nl map[string]string
	if ns != nil {
		nl = ns.Labels
	}
	inj, hasInj := nl[ambient.LabelInjection]
	_, hasRev := nl[ambient.LabelRev]
	switch {
	case inj == "enabled":
		return true
	case hasInj:
		return false // disabled, or a value the webhook does not select
	case hasRev:
		return true
	}
	_, podRev := p.Labels[ambient.LabelRev]
	return p.Labels[labelSidecarInject] == "true" || podRev
}
