package writer

import (
	"fmt"
	"strings"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/whatif"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// NoWaypoint, passed to SetWaypoint, labels the object
// istio.io/use-waypoint=none: it opts out of its namespace's waypoint (a
// namespace: Services and pods without a label of their own use none).
// istioctl refuses to name a waypoint "none", so the name alone means it.
var NoWaypoint = ambient.Key{Name: "none"}

// SetWaypoint plans pointing a namespace, Service or pod at a waypoint with
// istio.io/use-waypoint, plus istio.io/use-waypoint-namespace when the
// waypoint is in another namespace. A zero waypoint removes both labels;
// NoWaypoint opts the object out. waypoint.Namespace empty means the
// object's own namespace. The three kinds share one label protocol
// (istiod's getUseWaypoint), so they share this one plan; only what the
// change does differs, and the analysis of the relabelled cluster says it.
func (w *Writer) SetWaypoint(obj metav1.Object, waypoint ambient.Key, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	t, err := bindTarget(obj)
	if err != nil {
		return Plan{}, err
	}
	if waypoint.Name == "" && waypoint.Namespace != "" {
		return Plan{}, &Error{Kind: KindOther, Line: "waypoint in namespace " + waypoint.Namespace + " has no name"}
	}
	if waypoint.Name == NoWaypoint.Name {
		waypoint = NoWaypoint
	} else if waypoint.Namespace == "" && waypoint.Name != "" {
		waypoint.Namespace = t.ns
	}
	if errs := validation.IsValidLabelValue(waypoint.Name); waypoint.Name != "" && len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("waypoint name %q cannot be a label value: %s", waypoint.Name, errs[0])}
	}
	if errs := validation.IsDNS1123Label(waypoint.Namespace); waypoint.Namespace != "" && len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("namespace %q is not a namespace name: %s", waypoint.Namespace, errs[0])}
	}
	v := newView(s)
	switch o := obj.(type) {
	case *corev1.Service:
		if v.mesh.Services[ambient.Key{Namespace: o.Namespace, Name: o.Name}].IsWaypoint {
			return Plan{}, &Error{Kind: KindOther, Line: "Service " + t.name + " belongs to a waypoint or east-west gateway; istiod never binds it to a waypoint"}
		}
	case *corev1.Pod:
		if gw := o.Labels[ambient.LabelGatewayName]; gw != "" {
			return Plan{}, &Error{Kind: KindOther, Line: "pod " + t.name + " runs Gateway " + gw + "; istiod never binds a gateway's own pods to a waypoint"}
		}
	}

	var changes []labelChange
	switch {
	case waypoint.Name == "":
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Remove: true}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	case waypoint == NoWaypoint:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: NoWaypoint.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	case waypoint.Namespace == t.ns:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: waypoint.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	default:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: waypoint.Name}, {Key: ambient.LabelUseWaypointNS, Value: waypoint.Namespace}}
	}
	body, err := labelPatch(obj, changes...)
	if err != nil {
		return Plan{}, planError(err, t.what)
	}
	p := Plan{
		ID:        planID("waypoint", t.ref, obj.GetResourceVersion()),
		Patch:     string(body),
		PatchType: types.JSONPatchType,
		Target:    t.ref,
		Targets:   []finding.Ref{t.ref},
		steps:     []step{newStep(t.ref, types.JSONPatchType, body)},
	}
	switch waypoint {
	case ambient.Key{}:
		p.Title = "Clear the waypoint of " + t.what
		p.Description = "Removes istio.io/use-waypoint and istio.io/use-waypoint-namespace from " + t.what + "."
		p.Done = t.what + ": waypoint labels removed"
	case NoWaypoint:
		p.Title = "Opt " + t.what + " out of waypoints"
		p.Description = "Labels " + t.what + " istio.io/use-waypoint=none."
		p.Done = t.what + " labelled istio.io/use-waypoint=none"
	default:
		p.Title = "Use waypoint " + waypoint.String() + " for " + t.what
		p.Description = "Labels " + t.what + " istio.io/use-waypoint=" + waypoint.Name
		if waypoint.Namespace != t.ns {
			p.Description += " and istio.io/use-waypoint-namespace=" + waypoint.Namespace
		}
		p.Description += "."
		p.Done = t.what + " now asks for waypoint " + waypoint.String()
	}
	p.Consequences = consequencesOf(obj, v, changes)
	p.whatIf = whatIf(s, labelsChange(t.ref, changes))
	return p, nil
}

// consequencesOf says what relabelling obj does to its waypoint binding.
func consequencesOf(obj metav1.Object, v view, changes []labelChange) []string {
	switch o := obj.(type) {
	case *corev1.Service:
		return v.rebind(o, changes)
	case *corev1.Namespace:
		out, _ := v.rebindNamespace(o, changes)
		return out
	case *corev1.Pod:
		return v.rebindPod(o, changes)
	}
	return nil
}

// labelsChange is a label patch as kube/whatif simulates it.
func labelsChange(ref finding.Ref, changes []labelChange) whatif.Change {
	set := map[string]string{}
	var remove []string
	for _, c := range changes {
		if c.Remove {
			remove = append(remove, c.Key)
		} else {
			set[c.Key] = c.Value
		}
	}
	return whatif.Labels(ref, set, remove...)
}

// whatIf is the deferred what-if of changes: the analyses on the state the
// write would produce, saying what it would break, headed by its summary;
// the summary alone when it breaks nothing (it says so, or what it could
// not read).
func whatIf(s *kube.Snapshot, changes ...whatif.Change) func() []string {
	if s == nil {
		return nil
	}
	return func() []string {
		r := whatif.Run(s, changes...)
		return append([]string{r.Summary()}, r.Lines()...)
	}
}

// bound is what SetWaypoint labels, named for titles and errors.
type bound struct {
	ref  finding.Ref
	ns   string // the namespace a waypoint without one is looked up in
	name string // ns/name, or the namespace's name
	what string // "Service shop/cart", "namespace shop", "pod shop/cart-1"
}

func bindTarget(obj metav1.Object) (bound, error) {
	var kind, word string
	switch o := obj.(type) {
	case nil:
		return bound{}, &Error{Kind: KindOther, Line: "nothing selected"}
	case *corev1.Namespace:
		if o == nil || o.Name == "" {
			return bound{}, &Error{Kind: KindOther, Line: "no namespace selected"}
		}
		return bound{ref: finding.Ref{Kind: KindNamespace, Name: o.Name}, ns: o.Name, name: o.Name, what: "namespace " + o.Name}, nil
	case *corev1.Service:
		if o == nil || o.Name == "" {
			return bound{}, &Error{Kind: KindOther, Line: "no Service selected"}
		}
		kind, word = KindService, "Service "
	case *corev1.Pod:
		if o == nil || o.Name == "" {
			return bound{}, &Error{Kind: KindOther, Line: "no pod selected"}
		}
		kind, word = KindPod, "pod "
	default:
		return bound{}, &Error{Kind: KindOther, Line: fmt.Sprintf("ambx binds only namespaces, Services and pods to waypoints, not %T", obj)}
	}
	name := obj.GetNamespace() + "/" + obj.GetName()
	return bound{ref: finding.Ref{Kind: kind, Namespace: obj.GetNamespace(), Name: obj.GetName()}, ns: obj.GetNamespace(), name: name, what: word + name}, nil
}

// relabel returns a copy of labels with changes applied.
func relabel(l map[string]string, changes []labelChange) map[string]string {
	out := make(map[string]string, len(l)+len(changes))
	for k, v := range l {
		out[k] = v
	}
	for _, c := range changes {
		if c.Remove {
			delete(out, c.Key)
		} else {
			out[c.Key] = c.Value
		}
	}
	return out
}

// rebind says what the new labels do, by running the analysis on the
// cluster with the relabelled Service: the analysis already resolves
// bindings the way istiod does (missing, not ready, attachment denied,
// traffic type), so the dialog predicts istiod's own answer.
func (v view) rebind(svc *corev1.Service, changes []labelChange) []string {
	key := ambient.Key{Namespace: svc.Namespace, Name: svc.Name}
	before := v.mesh.Services[key].Waypoint

	next := svc.DeepCopy()
	next.Labels = relabel(svc.Labels, changes)
	c := v.c
	c.Services = make([]*corev1.Service, 0, len(v.c.Services)+1)
	found := false
	for _, s := range v.c.Services {
		if s != nil && s.Namespace == svc.Namespace && s.Name == svc.Name {
			s, found = next, true
		}
		c.Services = append(c.Services, s)
	}
	if !found {
		c.Services = append(c.Services, next)
	}
	after := ambient.Analyze(&c).Services[key].Waypoint

	var out []string
	switch {
	case after.Bound():
		out = append(out, "Traffic to the Service goes through waypoint "+after.Waypoint.String()+", which applies its L7 policy and routing.")
		if after.Source == "namespace" {
			out[0] = "The Service falls back to its namespace's waypoint " + after.Waypoint.String() + ", which applies its L7 policy and routing."
		}
	case after.Problem != "":
		out = append(out, fmt.Sprintf("istiod will report %s: %s. Until that is fixed, ztunnel sends traffic straight to the Service and the waypoint's L7 policy is skipped.", after.Reason, after.Problem))
	case after.Note != "":
		out = append(out, "No waypoint serves the Service: "+strings.TrimSuffix(after.Note, ".")+".")
	default:
		out = append(out, "No waypoint serves the Service: ztunnel sends its traffic straight to the pods (L4 only).")
	}
	if before.Bound() && (!after.Bound() || after.Waypoint != before.Waypoint) {
		out = append(out, "Waypoint "+before.Waypoint.String()+" stops handling its traffic.")
	}
	if n := targetingPolicies(v.c.AuthorizationPolicies, svc); n > 0 && before.Bound() != after.Bound() {
		verb := "start"
		if !after.Bound() {
			verb = "stop"
		}
		out = append(out, fmt.Sprintf("%d AuthorizationPolic%s targeting this Service (enforced only by a waypoint) %s%s being enforced.", n, plural(n, "y", "ies"), verb, plural(n, "s", "")))
	}
	if after.Bound() && !v.clientsInAmbient() {
		out = append(out, "No pod in the cluster is captured yet: only ambient clients send traffic through waypoints.")
	}
	return out
}

// clientsInAmbient reports whether any pod is captured; without ambient
// clients a waypoint sees no traffic (when the analysis knows no pods, say
// nothing).
func (v view) clientsInAmbient() bool {
	if len(v.mesh.Pods) == 0 {
		return true
	}
	for _, p := range v.mesh.Pods {
		if p.State == ambient.PodCaptured {
			return true
		}
	}
	return false
}

// targetingPolicies counts the AuthorizationPolicies that name the Service
// in targetRefs.
func targetingPolicies(aps []*secv1.AuthorizationPolicy, svc *corev1.Service) int {
	n := 0
	for _, ap := range aps {
		if ap == nil || ap.Namespace != svc.Namespace {
			continue
		}
		// A fresh slice: appending to the spec's own would write into an
		// object the snapshot shares.
		refs := append([]*typev1beta1.PolicyTargetReference{ap.Spec.GetTargetRef()}, ap.Spec.GetTargetRefs()...)
		for _, r := range refs {
			if r.GetKind() == "Service" && (r.GetGroup() == "" || r.GetGroup() == "core") && r.GetName() == svc.Name &&
				(r.GetNamespace() == "" || r.GetNamespace() == svc.Namespace) {
				n++
				break
			}
		}
	}
	return n
}

// rebindNamespace says what the new namespace labels do to its Services,
// by running the analysis on the relabelled cluster.
func (v view) rebindNamespace(ns *corev1.Namespace, changes []labelChange) (out []string, gained int) {
	next := ns.DeepCopy()
	next.Labels = relabel(ns.Labels, changes)
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
	var lost, own, failing int
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
	return out, gained
}

// rebindPod says what a pod's own use-waypoint label does, by running the
// analysis on the cluster with the relabelled pod. A pod's waypoint serves
// only traffic addressed to the pod itself: ztunnel sends Service-addressed
// traffic by the Service's waypoint (ztunnel outbound build_request).
func (v view) rebindPod(pod *corev1.Pod, changes []labelChange) []string {
	key := ambient.Key{Namespace: pod.Namespace, Name: pod.Name}
	prev := v.mesh.Pods[key]
	next := pod.DeepCopy()
	next.Labels = relabel(pod.Labels, changes)
	c := v.c
	c.Pods = make([]*corev1.Pod, 0, len(v.c.Pods)+1)
	found := false
	for _, p := range v.c.Pods {
		if p != nil && p.Namespace == pod.Namespace && p.Name == pod.Name {
			p, found = next, true
		}
		c.Pods = append(c.Pods, p)
	}
	if !found {
		c.Pods = append(c.Pods, next)
	}
	info := ambient.Analyze(&c).Pods[key]
	after, before := info.Waypoint, prev.Waypoint

	var out []string
	switch {
	case info.State != ambient.PodCaptured && info.State != ambient.PodPending && info.State != ambient.PodNeedsRestart && info.State != "":
		out = append(out, fmt.Sprintf("The pod is %s, not in ambient: the label does nothing until ztunnel captures it.", info.State))
	case after.Bound():
		out = append(out, "Traffic addressed to the pod itself goes through waypoint "+after.Waypoint.String()+", which applies its L7 policy; traffic sent to a Service follows the Service's waypoint.")
		if after.Source == "namespace" {
			out[0] = "The pod falls back to its namespace's waypoint " + after.Waypoint.String() + " for traffic addressed to the pod itself."
		}
	case after.Problem != "":
		out = append(out, fmt.Sprintf("istiod will refuse it (%s: %s), and says so nowhere: pods get no WaypointBound condition. Traffic addressed to the pod skips the waypoint.", after.Reason, after.Problem))
	case after.Note != "":
		out = append(out, "No waypoint serves traffic addressed to the pod: "+strings.TrimSuffix(after.Note, ".")+".")
	default:
		out = append(out, "No waypoint serves traffic addressed to the pod: ztunnel delivers it straight (L4 only).")
	}
	if before.Bound() && (!after.Bound() || after.Waypoint != before.Waypoint) {
		out = append(out, "Waypoint "+before.Waypoint.String()+" stops handling traffic addressed to the pod.")
	}
	if owner := prev.Owner; owner != "" && !strings.HasPrefix(owner, "pod/") {
		out = append(out, "The label is on this pod only: pods "+owner+" creates later will not carry it (label its pod template to keep it).")
	}
	return out
}
