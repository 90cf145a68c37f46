package writer

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

// SetNamespaceWaypoint plans the namespace's istio.io/use-waypoint label,
// which every Service (and, for waypoints that take workload traffic,
// every pod) in it without a label of its own follows. The waypoint key
// works as in SetServiceWaypoint: zero removes the labels, NoWaypoint opts
// the namespace out, an empty Namespace means the namespace itself.
func (w *Writer) SetNamespaceWaypoint(ns *corev1.Namespace, waypoint ambient.Key, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if ns == nil || ns.Name == "" {
		return Plan{}, &Error{Kind: KindOther, Line: "no namespace selected"}
	}
	if waypoint.Name == "" && waypoint.Namespace != "" {
		return Plan{}, &Error{Kind: KindOther, Line: "waypoint in namespace " + waypoint.Namespace + " has no name"}
	}
	if waypoint.Namespace == "" && waypoint.Name != "" && waypoint != NoWaypoint {
		waypoint.Namespace = ns.Name
	}
	if errs := validation.IsValidLabelValue(waypoint.Name); waypoint.Name != "" && len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("waypoint name %q cannot be a label value: %s", waypoint.Name, errs[0])}
	}
	var changes []labelChange
	switch {
	case waypoint.Name == "":
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Remove: true}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	case waypoint == NoWaypoint:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: NoWaypoint.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	case waypoint.Namespace == ns.Name:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: waypoint.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	default:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: waypoint.Name}, {Key: ambient.LabelUseWaypointNS, Value: waypoint.Namespace}}
	}
	body, err := labelPatch(ns, changes...)
	if err != nil {
		return Plan{}, planError(err, "namespace "+ns.Name)
	}
	ref := finding.Ref{Kind: KindNamespace, Name: ns.Name}
	p := Plan{
		ID:        planID("waypoint", ref, ns.ResourceVersion),
		Patch:     string(body),
		PatchType: types.JSONPatchType,
		Target:    ref,
		Targets:   []finding.Ref{ref},
		steps:     []step{newStep(ref, types.JSONPatchType, body)},
	}
	switch waypoint {
	case ambient.Key{}:
		p.Title = "Clear the waypoint of namespace " + ns.Name
		p.Description = "Removes istio.io/use-waypoint and istio.io/use-waypoint-namespace from namespace " + ns.Name + "."
		p.Done = "namespace " + ns.Name + ": waypoint labels removed"
	case NoWaypoint:
		p.Title = "Opt namespace " + ns.Name + " out of waypoints"
		p.Description = "Labels namespace " + ns.Name + " istio.io/use-waypoint=none."
		p.Done = "namespace " + ns.Name + " labelled istio.io/use-waypoint=none"
	default:
		p.Title = "Use waypoint " + waypoint.String() + " for namespace " + ns.Name
		p.Description = "Labels namespace " + ns.Name + " istio.io/use-waypoint=" + waypoint.Name
		if waypoint.Namespace != ns.Name {
			p.Description += " and istio.io/use-waypoint-namespace=" + waypoint.Namespace
		}
		p.Description += "."
		p.Done = "namespace " + ns.Name + " now asks for waypoint " + waypoint.String()
	}
	p.Consequences = newView(s).rebindNamespace(ns, changes)
	return p, nil
}

// rebindNamespace says what the new namespace labels do to its Services,
// by running the analysis on the relabelled cluster.
func (v view) rebindNamespace(ns *corev1.Namespace, changes []labelChange) []string {
	next := ns.DeepCopy()
	if next.Labels == nil {
		next.Labels = map[string]string{}
	}
	for _, c := range changes {
		if c.Remove {
			delete(next.Labels, c.Key)
		} else {
			next.Labels[c.Key] = c.Value
		}
	}
	c := v.c
	c.Namespaces = make([]*corev1.Namespace, 0, len(v.c.Namespaces)+1)
	found := false
	for _, n := range v.c.Namespaces {
		if n != nil && n.Name == ns.Name {
			n, found = next, true
		}
		c.Namespaces = append(c.Namespaces, n)
	}
	if !found {
		c.Namespaces = append(c.Namespaces, next)
	}
	after := ambient.Analyze(&c)
	var gained, lost, own, failing int
	var problem string
	for _, svc := range v.c.Services {
		if svc == nil || svc.Namespace != ns.Name {
			continue
		}
		k := ambient.Key{Namespace: svc.Namespace, Name: svc.Name}
		before, a := v.mesh.Services[k], after.Services[k].Waypoint
		if before.IsWaypoint {
			continue
		}
		if _, set := svc.Labels[ambient.LabelUseWaypoint]; set {
			own++
			continue
		}
		b := before.Waypoint
		switch {
		case a.Bound() && (!b.Bound() || a.Waypoint != b.Waypoint):
			gained++
		case a.Problem != "" && a.Problem != b.Problem:
			failing++
			problem = a.Reason + ": " + a.Problem
		case b.Bound() && !a.Bound():
			lost++
		}
	}
	var out []string
	if gained > 0 {
		out = append(out, fmt.Sprintf("%d Service%s in %s start%s going through the waypoint, which applies its L7 policy and routing.", gained, plural(gained, "", "s"), ns.Name, plural(gained, "s", "")))
	}
	if failing > 0 {
		out = append(out, fmt.Sprintf("%d Service%s cannot use it: istiod will report %s. Until that is fixed their traffic skips the waypoint.", failing, plural(failing, "", "s"), problem))
	}
	if lost > 0 {
		out = append(out, fmt.Sprintf("%d Service%s stop%s going through a waypoint.", lost, plural(lost, "", "s"), plural(lost, "s", "")))
	}
	if own > 0 {
		out = append(out, fmt.Sprintf("%d Service%s keep%s %s own istio.io/use-waypoint label, which wins over the namespace's.", own, plural(own, "", "s"), plural(own, "s", ""), plural(own, "its", "their")))
	}
	if len(out) == 0 {
		out = append(out, "No Service in "+ns.Name+" changes waypoint.")
	}
	return out
}
