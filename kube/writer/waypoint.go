package writer

import (
	"fmt"
	"strings"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
)

// NoWaypoint, passed to SetServiceWaypoint, labels the Service
// istio.io/use-waypoint=none: it opts out of its namespace's waypoint.
var NoWaypoint = ambient.Key{Name: "none"}

// SetServiceWaypoint plans pointing the Service at a waypoint with
// istio.io/use-waypoint (plus istio.io/use-waypoint-namespace when the
// waypoint is in another namespace). A zero waypoint removes both labels;
// NoWaypoint opts the Service out. waypoint.Namespace empty means the
// Service's own namespace.
func (w *Writer) SetServiceWaypoint(svc *corev1.Service, waypoint ambient.Key, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if svc == nil || svc.Name == "" {
		return Plan{}, &Error{Kind: KindOther, Line: "no Service selected"}
	}
	name := svc.Namespace + "/" + svc.Name
	if waypoint.Name == "" && waypoint.Namespace != "" {
		return Plan{}, &Error{Kind: KindOther, Line: "waypoint in namespace " + waypoint.Namespace + " has no name"}
	}
	if waypoint.Namespace == "" && waypoint.Name != "" {
		waypoint.Namespace = svc.Namespace
	}
	if errs := validation.IsValidLabelValue(waypoint.Name); waypoint.Name != "" && len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("waypoint name %q cannot be a label value: %s", waypoint.Name, errs[0])}
	}
	if errs := validation.IsDNS1123Label(waypoint.Namespace); waypoint.Name != "" && len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("namespace %q is not a namespace name: %s", waypoint.Namespace, errs[0])}
	}
	v := newView(s)
	if v.mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}].IsWaypoint {
		return Plan{}, &Error{Kind: KindOther, Line: "Service " + name + " belongs to a waypoint or east-west gateway; istiod never binds it to a waypoint"}
	}

	var changes []labelChange
	switch {
	case waypoint.Name == "":
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Remove: true}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	case waypoint == NoWaypoint || waypoint.Name == NoWaypoint.Name:
		waypoint = NoWaypoint
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: NoWaypoint.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	case waypoint.Namespace == svc.Namespace:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: waypoint.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
	default:
		changes = []labelChange{{Key: ambient.LabelUseWaypoint, Value: waypoint.Name}, {Key: ambient.LabelUseWaypointNS, Value: waypoint.Namespace}}
	}
	body, err := labelPatch(svc, changes...)
	if err != nil {
		return Plan{}, planError(err, "Service "+name)
	}
	ref := finding.Ref{Kind: KindService, Namespace: svc.Namespace, Name: svc.Name}
	p := Plan{
		ID:        planID("waypoint", ref, svc.ResourceVersion),
		Patch:     string(body),
		PatchType: types.JSONPatchType,
		Target:    ref,
		Targets:   []finding.Ref{ref},
		steps:     []step{newStep(ref, types.JSONPatchType, body)},
	}
	switch waypoint {
	case ambient.Key{}:
		p.Title = "Clear the waypoint of Service " + name
		p.Description = "Removes istio.io/use-waypoint and istio.io/use-waypoint-namespace from Service " + name + "."
		p.Done = "Service " + name + ": waypoint labels removed"
	case NoWaypoint:
		p.Title = "Opt Service " + name + " out of waypoints"
		p.Description = "Labels Service " + name + " istio.io/use-waypoint=none."
		p.Done = "Service " + name + " labelled istio.io/use-waypoint=none"
	default:
		p.Title = "Use waypoint " + waypoint.String() + " for Service " + name
		p.Description = "Labels Service " + name + " istio.io/use-waypoint=" + waypoint.Name
		if waypoint.Namespace != svc.Namespace {
			p.Description += " and istio.io/use-waypoint-namespace=" + waypoint.Namespace
		}
		p.Description += "."
		p.Done = "Service " + name + " now asks for waypoint " + waypoint.String()
	}
	p.Consequences = v.rebind(svc, changes)
	return p, nil
}

// rebind says what the new labels do, by running the analysis on the
// cluster with the relabelled Service: the analysis already resolves
// bindings the way istiod does (missing, not ready, attachment denied,
// traffic type), so the dialog predicts istiod's own answer.
func (v view) rebind(svc *corev1.Service, changes []labelChange) []string {
	key := ambient.Key{Namespace: svc.Namespace, Name: svc.Name}
	before := v.mesh.Services[key].Waypoint

	next := svc.DeepCopy()
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
