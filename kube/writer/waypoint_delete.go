package writer

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/whatif"
)

// DeleteWaypoint plans deleting a waypoint Gateway. The consequences list
// every object whose own label names the waypoint (those labels stay and
// then point at nothing), what is bound to it now, and each policy that a
// waypoint enforced and that nothing enforces once it is gone, from the
// analysis of the cluster without it.
func (w *Writer) DeleteWaypoint(gw *gwv1.Gateway, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if gw == nil || gw.Name == "" {
		return Plan{}, &Error{Kind: KindOther, Line: "no waypoint selected"}
	}
	key := ambient.Key{Namespace: gw.Namespace, Name: gw.Name}
	v := newView(s)
	info, ok := v.mesh.Waypoint(key)
	if !ok {
		return Plan{}, &Error{Kind: KindOther, Line: "Gateway " + key.String() + " is not a waypoint; ambx deletes only waypoints"}
	}
	pre := &metav1.Preconditions{}
	if gw.UID != "" {
		uid := gw.UID
		pre.UID = &uid
	}
	if gw.ResourceVersion != "" {
		rv := gw.ResourceVersion
		pre.ResourceVersion = &rv
	}
	body, err := json.MarshalIndent(metav1.DeleteOptions{
		TypeMeta:      metav1.TypeMeta{Kind: "DeleteOptions", APIVersion: "meta.k8s.io/v1"},
		Preconditions: pre,
	}, "", "  ")
	if err != nil {
		return Plan{}, &Error{Kind: KindOther, Line: "cannot write the delete options: " + err.Error(), Err: err}
	}
	ref := finding.Ref{Kind: KindGateway, Namespace: key.Namespace, Name: key.Name}
	g, r := resourceOf(KindGateway)
	p := Plan{
		ID:          planID("delete-waypoint", ref, gw.ResourceVersion),
		Title:       "Delete waypoint " + key.String(),
		Description: "Deletes Gateway " + key.String() + " (class " + string(gw.Spec.GatewayClassName) + "), as istioctl waypoint delete -n " + key.Namespace + " " + key.Name + " does; it fails if the Gateway changed since you looked.",
		Patch:       "DELETE /apis/" + gwv1.GroupVersion.String() + "/namespaces/" + key.Namespace + "/gateways/" + key.Name + "\n" + string(body),
		PatchLabel:  "Request",
		Target:      ref,
		Targets:     []finding.Ref{ref},
		steps: []step{{
			target:        ref,
			resource:      Access{Verb: "delete", Group: g, Resource: r, Namespace: key.Namespace, Name: key.Name},
			preconditions: pre,
		}},
		Done: "waypoint " + key.String() + " deleted",
	}
	p.Consequences = v.deleteWaypoint(info)
	p.whatIf = whatIf(s, whatif.RemoveGateway(key.Namespace, key.Name))
	return p, nil
}

// Labelled lists the objects whose own istio.io/use-waypoint label names
// the waypoint, by kind ("namespace", "Service", "pod", "ServiceEntry",
// "WorkloadEntry"), each sorted: what a delete leaves pointing at nothing.
func Labelled(c *ambient.Cluster, wp ambient.Key) map[string][]string {
	out := map[string][]string{}
	names := func(l map[string]string, ns string) bool {
		name, ok := l[ambient.LabelUseWaypoint]
		if !ok || name != wp.Name {
			return false
		}
		if other := l[ambient.LabelUseWaypointNS]; other != "" {
			ns = other
		}
		return ns == wp.Namespace
	}
	for _, n := range c.Namespaces {
		if n != nil && names(n.Labels, n.Name) {
			out["namespace"] = append(out["namespace"], n.Name)
		}
	}
	for _, o := range c.Services {
		if o != nil && names(o.Labels, o.Namespace) {
			out["Service"] = append(out["Service"], o.Namespace+"/"+o.Name)
		}
	}
	for _, o := range c.Pods {
		if o != nil && names(o.Labels, o.Namespace) {
			out["pod"] = append(out["pod"], o.Namespace+"/"+o.Name)
		}
	}
	for _, o := range c.ServiceEntries {
		if o != nil && names(o.Labels, o.Namespace) {
			out["ServiceEntry"] = append(out["ServiceEntry"], o.Namespace+"/"+o.Name)
		}
	}
	for _, o := range c.WorkloadEntries {
		if o != nil && names(o.Labels, o.Namespace) {
			out["WorkloadEntry"] = append(out["WorkloadEntry"], o.Namespace+"/"+o.Name)
		}
	}
	for _, l := range out {
		slices.Sort(l)
	}
	return out
}

// listed names up to a few objects, then how many more.
func listed(names []string) string {
	const shown = 6
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:shown], ", ") + fmt.Sprintf(" and %d more", len(names)-shown)
}

func (v view) deleteWaypoint(info ambient.WaypointInfo) []string {
	key := info.Key
	var out []string
	labelled := Labelled(&v.c, key)
	total := 0
	for _, kind := range []string{"namespace", "Service", "pod", "ServiceEntry", "WorkloadEntry"} {
		names := labelled[kind]
		if len(names) == 0 {
			continue
		}
		total += len(names)
		word := kind
		if len(names) > 1 {
			word = map[string]string{"namespace": "namespaces", "Service": "Services", "pod": "pods",
				"ServiceEntry": "ServiceEntries", "WorkloadEntry": "WorkloadEntries"}[kind]
		}
		line := fmt.Sprintf("Labelled to use it: %d %s: %s.", len(names), word, listed(names))
		if kind == "namespace" {
			if n := v.inheriting(names); n > 0 {
				line = strings.TrimSuffix(line, ".") + fmt.Sprintf(" (%d Service%s there follow%s the namespace label).", n, plural(n, "", "s"), plural(n, "s", ""))
			}
		}
		out = append(out, line)
	}
	if total == 0 {
		out = append(out, "No namespace, Service, pod, ServiceEntry or WorkloadEntry is labelled to use it.")
	} else {
		out = append(out, "Those labels stay and then name a waypoint that does not exist: istiod reports WaypointIsNotReady and ztunnel sends the traffic straight to the destination (clear them with W).")
	}
	if n := len(info.Services) + len(info.Workloads); n > 0 {
		var names []string
		for _, k := range info.Services {
			names = append(names, "svc/"+k.String())
		}
		for _, k := range info.Workloads {
			names = append(names, "pod/"+k.String())
		}
		out = append(out, fmt.Sprintf("Bound to it now, and losing its L7 policy and routing: %s.", listed(names)))
	}

	// The cluster without the Gateway: which policy a waypoint enforced
	// and now nothing (or less) does.
	c := v.c
	c.Gateways = nil
	for _, g := range v.c.Gateways {
		if g != nil && (g.Namespace != key.Namespace || g.Name != key.Name) {
			c.Gateways = append(c.Gateways, g)
		}
	}
	after := ambient.Analyze(&c)
	for _, pi := range v.mesh.Policies {
		if !slices.Contains(pi.BoundTo, key.String()) {
			continue
		}
		next, _ := after.Policy(pi.Kind, pi.Key)
		effect := strings.TrimSpace(next.Effect)
		if effect == "" {
			effect = "enforced by its other waypoints only."
		}
		out = append(out, fmt.Sprintf("%s %s (%s) loses this waypoint: %s", pi.Kind, pi.Key, pi.Target, effect))
	}
	out = append(out, "The garbage collector removes the Deployment, Service and ServiceAccount istiod made for it: the Gateway owns them.")
	return out
}

// inheriting counts the Services in namespaces that take their waypoint
// from the namespace label (they have none of their own).
func (v view) inheriting(namespaces []string) int {
	n := 0
	for _, s := range v.c.Services {
		if s == nil || !slices.Contains(namespaces, s.Namespace) || v.mesh.Services[ambient.Key{Namespace: s.Namespace, Name: s.Name}].IsWaypoint {
			continue
		}
		if _, own := s.Labels[ambient.LabelUseWaypoint]; !own {
			n++
		}
	}
	return n
}
