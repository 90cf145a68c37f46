package writer

import (
	"github.com/ambx/ambx/kube/finding"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

// Kinds of object a plan can patch, spelled as in finding.Ref.
const (
	KindNamespace   = "Namespace"
	KindPod         = "Pod"
	KindService     = "Service"
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindDaemonSet   = "DaemonSet"
	KindGateway     = "Gateway"
)

// Plan is one change, decided and described before anything is sent.
type Plan struct {
	// ID names the change; the confirm dialog echoes it in its Result so the
	// UI applies the plan the user answered, not a newer one.
	ID string
	// Title heads the confirm dialog.
	Title string
	// Description says in one sentence what changes.
	Description string
	// Patch is the exact body sent (to each target, when there are several).
	Patch string
	// PatchType is how the API server reads Patch.
	PatchType types.PatchType
	// PatchLabel, when set, heads Patch in the dialog instead of a name
	// derived from PatchType: a created object or a delete's options are
	// not patches.
	PatchLabel string
	// Consequences are what the change does to traffic and policy, from the
	// analysis of the snapshot the plan was built from.
	Consequences []string
	// Target is the object the user acted on.
	Target finding.Ref
	// Targets are the objects patched, in order (one, except for restarts).
	Targets []finding.Ref
	// Done is the status-bar line after a successful Apply.
	Done string

	steps []step
	// whatIf says what the write would break: the analyses re-run on the
	// state it would produce. It rebuilds the analysis of the whole
	// snapshot, slow on a big cluster, so it is not part of Consequences:
	// the UI runs it in a command while the dialog says it is checking.
	whatIf func() []string
}

// HasWhatIf reports whether the plan has a what-if to run before the
// user is asked to confirm it.
func (p Plan) HasWhatIf() bool { return p.whatIf != nil }

// WhatIf runs the plan's what-if: the lines that follow Consequences in the
// dialog, headed by its summary. Pure but slow on a big cluster: call it
// in a command, never in Update.
func (p Plan) WhatIf() []string {
	if p.whatIf == nil {
		return nil
	}
	return p.whatIf()
}

// AllConsequences are the consequences followed by the what-if, run here:
// what the dialog shows once the what-if arrived.
func (p Plan) AllConsequences() []string {
	return append(append([]string(nil), p.Consequences...), p.WhatIf()...)
}

// step is one request: a PATCH unless gateway (create) or preconditions
// (delete) say otherwise (waypoint_apply.go).
type step struct {
	target    finding.Ref
	resource  Access
	patchType types.PatchType
	body      []byte
	// gateway is the object a create step sends.
	gateway *gwv1.Gateway
	// preconditions guard a delete step.
	preconditions *metav1.Preconditions
}

// Access is one permission a plan needs, in SelfSubjectAccessReview terms.
type Access struct {
	Verb, Group, Resource, Namespace, Name string
}

// Access returns the permissions Apply needs, one per target.
func (p Plan) Access() []Access {
	out := make([]Access, 0, len(p.steps))
	for _, s := range p.steps {
		out = append(out, s.resource)
	}
	return out
}

// resourceOf maps a kind to the API group and resource a PATCH goes to.
func resourceOf(kind string) (group, resource string) {
	switch kind {
	case KindNamespace:
		return "", "namespaces"
	case KindPod:
		return "", "pods"
	case KindService:
		return "", "services"
	case KindDeployment:
		return "apps", "deployments"
	case KindStatefulSet:
		return "apps", "statefulsets"
	case KindDaemonSet:
		return "apps", "daemonsets"
	case KindGateway:
		return "gateway.networking.k8s.io", "gateways"
	}
	return "", ""
}

func newStep(target finding.Ref, pt types.PatchType, body []byte) step {
	g, r := resourceOf(target.Kind)
	return step{
		target:    target,
		resource:  Access{Verb: "patch", Group: g, Resource: r, Namespace: target.Namespace, Name: target.Name},
		patchType: pt,
		body:      body,
	}
}

func patchOptions() metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: FieldManager}
}
