package writer

import (
	"fmt"
	"strings"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/whatif"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Values of istio.io/dataplane-mode.
const (
	modeAmbient = "ambient"
	modeNone    = "none"
)

// ToggleNamespaceAmbient plans adding istio.io/dataplane-mode=ambient to
// the namespace, or removing it when present. s is the snapshot the user
// is looking at; its analysis supplies the consequences.
func (w *Writer) ToggleNamespaceAmbient(ns *corev1.Namespace, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if ns == nil || ns.Name == "" {
		return Plan{}, &Error{Kind: KindOther, Line: "no namespace selected"}
	}
	enrolled := ns.Labels[ambient.LabelDataplaneMode] == modeAmbient
	change := labelChange{Key: ambient.LabelDataplaneMode, Value: modeAmbient, Remove: enrolled}
	body, err := labelPatch(ns, change)
	if err != nil {
		return Plan{}, planError(err, "namespace "+ns.Name)
	}
	ref := finding.Ref{Kind: KindNamespace, Name: ns.Name}
	p := Plan{
		ID:        planID("ambient", ref, ns.ResourceVersion),
		Patch:     string(body),
		PatchType: types.JSONPatchType,
		Target:    ref,
		Targets:   []finding.Ref{ref},
		steps:     []step{newStep(ref, types.JSONPatchType, body)},
	}
	v := newView(s)
	if enrolled {
		p.Title = "Remove namespace " + ns.Name + " from ambient"
		p.Description = "Removes the label istio.io/dataplane-mode=ambient from namespace " + ns.Name + "."
		p.Done = "namespace " + ns.Name + ": istio.io/dataplane-mode removed"
		p.Consequences = v.leaveNamespace(ns)
		p.whatIf = whatIf(s, whatif.LeaveNamespace(ns.Name)...)
	} else {
		p.Title = "Enroll namespace " + ns.Name + " in ambient"
		p.Description = "Labels namespace " + ns.Name + " istio.io/dataplane-mode=ambient."
		if old, ok := ns.Labels[ambient.LabelDataplaneMode]; ok {
			p.Description = fmt.Sprintf("Changes the label istio.io/dataplane-mode of namespace %s from %q to ambient.", ns.Name, old)
		}
		p.Done = "namespace " + ns.Name + " labelled istio.io/dataplane-mode=ambient"
		p.Consequences = v.enrollNamespace(ns)
		p.whatIf = whatIf(s, whatif.EnrollNamespace(ns.Name)...)
	}
	return p, nil
}

// podModePlan plans setting the pod's own istio.io/dataplane-mode to value,
// or removing it when it already holds value (had reports which): the
// patch both pod toggles send, guarded by the pod's resourceVersion.
func podModePlan(pod *corev1.Pod, value, id string) (p Plan, had bool, err error) {
	if pod == nil || pod.Name == "" {
		return Plan{}, false, &Error{Kind: KindOther, Line: "no pod selected"}
	}
	had = pod.Labels[ambient.LabelDataplaneMode] == value
	body, err := labelPatch(pod, labelChange{Key: ambient.LabelDataplaneMode, Value: value, Remove: had})
	if err != nil {
		return Plan{}, false, planError(err, "pod "+pod.Namespace+"/"+pod.Name)
	}
	ref := finding.Ref{Kind: KindPod, Namespace: pod.Namespace, Name: pod.Name}
	return Plan{
		ID:        planID(id, ref, pod.ResourceVersion),
		Patch:     string(body),
		PatchType: types.JSONPatchType,
		Target:    ref,
		Targets:   []finding.Ref{ref},
		steps:     []step{newStep(ref, types.JSONPatchType, body)},
	}, had, nil
}

// TogglePodOptOut plans labelling the pod istio.io/dataplane-mode=none, or
// removing that label when present.
func (w *Writer) TogglePodOptOut(pod *corev1.Pod, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	p, optedOut, err := podModePlan(pod, modeNone, "opt-out")
	if err != nil {
		return Plan{}, err
	}
	v := newView(s)
	name := pod.Namespace + "/" + pod.Name
	if optedOut {
		p.Title = "Let pod " + name + " back into ambient"
		p.Description = "Removes the opt-out label istio.io/dataplane-mode=none from pod " + name + "."
		p.Done = "pod " + name + ": istio.io/dataplane-mode=none removed"
		p.Consequences = v.optIn(pod)
	} else {
		p.Title = "Opt pod " + name + " out of ambient"
		p.Description = "Labels pod " + name + " istio.io/dataplane-mode=none."
		p.Done = "pod " + name + " labelled istio.io/dataplane-mode=none"
		p.Consequences = v.optOut(pod)
	}
	return p, nil
}

// view is the part of a snapshot a plan reads, safe on a nil or partial
// snapshot (the consequences then say less, they never guess).
type view struct {
	c    ambient.Cluster
	mesh *ambient.Analysis
	// classesRead reports that the snapshot's GatewayClasses were read, so
	// a missing class is missing, not unknown.
	classesRead bool
}

func newView(s *kube.Snapshot) view {
	if s == nil {
		return view{mesh: &ambient.Analysis{}}
	}
	v := view{c: s.Cluster, mesh: s.Mesh, classesRead: s.State(kube.ResGatewayClasses).Availability.Read()}
	if v.mesh == nil {
		v.mesh = &ambient.Analysis{}
	}
	return v
}

func (v view) state(p *corev1.Pod) ambient.PodState {
	return v.mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].State
}

func (v view) podsIn(ns string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range v.c.Pods {
		if p != nil && p.Namespace == ns {
			out = append(out, p)
		}
	}
	return out
}

func (v view) namespace(name string) *corev1.Namespace {
	for _, n := range v.c.Namespaces {
		if n != nil && n.Name == name {
			return n
		}
	}
	return nil
}

func running(p *corev1.Pod) bool {
	return p.Status.Phase == corev1.PodRunning && p.Spec.NodeName != "" && p.DeletionTimestamp == nil
}

// excluded reports whether istio-cni never captures pods in ns.
func (v view) excluded(ns string) bool {
	if info, ok := v.mesh.Namespaces[ns]; ok {
		return info.Excluded
	}
	return ns == "kube-system"
}

// injection names the sidecar-injection label of a namespace, if any.
func injection(ns *corev1.Namespace) string {
	if ns == nil {
		return ""
	}
	if ns.Labels[ambient.LabelInjection] == "enabled" {
		return "istio-injection=enabled"
	}
	if rev, ok := ns.Labels[ambient.LabelRev]; ok {
		return "istio.io/rev=" + rev
	}
	return ""
}

// enrollNamespace says what labelling a namespace for ambient does. istio-cni
// watches namespaces and captures pods that are already running, so no
// restart is needed (cni/README.md: "enroll already-started-but-newly-
// enrolled pods"); what stays out is what its enablement rules skip.
func (v view) enrollNamespace(ns *corev1.Namespace) []string {
	if v.excluded(ns.Name) {
		return []string{"istio-cni excludes " + ns.Name + ": the label has no effect, no pod here is ever captured."}
	}
	var capture, sidecar, optedOut, hostNet, already int
	for _, p := range v.podsIn(ns.Name) {
		switch st := v.state(p); {
		case st == ambient.PodSidecar:
			sidecar++
		case st == ambient.PodHostNetwork || (st == "" && p.Spec.HostNetwork):
			hostNet++
		case st == ambient.PodOptedOut || p.Labels[ambient.LabelDataplaneMode] == modeNone:
			optedOut++
		case st == ambient.PodCaptured || st == ambient.PodPending:
			already++
		case running(p):
			capture++
		}
	}
	var out []string
	switch capture {
	case 0:
		out = append(out, "No running pod here is waiting to be captured; new pods start in ambient.")
	default:
		out = append(out, fmt.Sprintf("%s captured by istio-cni now, without a restart: ztunnel carries their traffic with mTLS and enforces L4 policy; new pods start in ambient.", pods(capture, "running pod is", "running pods are")))
	}
	if inj := injection(ns); inj != "" {
		out = append(out, "Namespace also has "+inj+": sidecar pods stay on sidecars and new pods still get sidecars (the sidecar wins).")
	}
	if sidecar > 0 {
		out = append(out, fmt.Sprintf("%s on their sidecars; press M to migrate them: it drops the injection label and restarts their workloads.", pods(sidecar, "pod with a sidecar stays", "pods with sidecars stay")))
	}
	if already > 0 {
		out = append(out, fmt.Sprintf("%s already captured through its own label.", pods(already, "pod is", "pods are")))
	}
	if optedOut > 0 {
		out = append(out, fmt.Sprintf("%s labelled istio.io/dataplane-mode=none and stay%s out.", pods(optedOut, "pod is", "pods are"), plural(optedOut, "s", "")))
	}
	if hostNet > 0 {
		out = append(out, fmt.Sprintf("%s the host network and can never be captured.", pods(hostNet, "pod uses", "pods use")))
	}
	if n := ingressPolicies(v.c.NetworkPolicies, ns.Name); n > 0 {
		out = append(out, fmt.Sprintf("%d NetworkPolic%s restrict%s ingress here: each must admit TCP 15008 (HBONE) and 169.254.7.127 (kubelet probes), or captured pods lose traffic.", n, plural(n, "y", "ies"), plural(n, "s", "")))
	}
	return out
}

// leaveNamespace says what removing the namespace's ambient label does:
// istio-cni takes running pods out at once, except those labelled ambient
// themselves (the pod label alone is enough).
func (v view) leaveNamespace(ns *corev1.Namespace) []string {
	var leave, own int
	for _, p := range v.podsIn(ns.Name) {
		st := v.state(p)
		if st != ambient.PodCaptured && st != ambient.PodPending {
			continue
		}
		if p.Labels[ambient.LabelDataplaneMode] == modeAmbient {
			own++
		} else {
			leave++
		}
	}
	var out []string
	if leave == 0 {
		out = append(out, "No captured pod here depends on the namespace label.")
	} else {
		out = append(out, fmt.Sprintf("%s the mesh immediately: their traffic is no longer mTLS and ztunnel stops enforcing their L4 policies.", pods(leave, "captured pod leaves", "captured pods leave")))
	}
	if n := v.ambientPolicies(ns.Name); n > 0 && leave > 0 {
		out = append(out, fmt.Sprintf("%d polic%s in %s stop%s applying to them.", n, plural(n, "y", "ies"), ns.Name, plural(n, "s", "")))
	}
	if own > 0 {
		out = append(out, fmt.Sprintf("%s labelled istio.io/dataplane-mode=ambient %s and stay%s captured.", pods(own, "pod is", "pods are"), plural(own, "itself", "themselves"), plural(own, "s", "")))
	}
	out = append(out, "New pods start outside the mesh.")
	return out
}

// optOut says what labelling a pod istio.io/dataplane-mode=none does.
func (v view) optOut(p *corev1.Pod) []string {
	var out []string
	switch st := v.state(p); st {
	case ambient.PodCaptured, ambient.PodPending:
		out = append(out, "The pod leaves the mesh immediately: its traffic is no longer mTLS and ztunnel stops enforcing its L4 policies.")
	case ambient.PodSidecar:
		out = append(out, "The pod has a sidecar, which handles its traffic whatever this label says.")
	case ambient.PodHostNetwork:
		out = append(out, "The pod uses the host network and is never captured; the label changes nothing now.")
	default:
		ns := v.namespace(p.Namespace)
		if ns == nil || ns.Labels[ambient.LabelDataplaneMode] != modeAmbient {
			out = append(out, "Namespace "+p.Namespace+" is not enrolled: the opt-out only matters if it is enrolled later.")
		} else {
			out = append(out, "The pod is not captured now; the label keeps it out.")
		}
	}
	if p.Labels[ambient.LabelDataplaneMode] == modeAmbient {
		out = append(out, "It replaces the pod's own istio.io/dataplane-mode=ambient label.")
	}
	return append(out, v.ephemeral(p))
}

// optIn says what removing a pod's opt-out label does.
func (v view) optIn(p *corev1.Pod) []string {
	ns := v.namespace(p.Namespace)
	var out []string
	switch {
	case v.state(p) == ambient.PodSidecar:
		out = append(out, "The pod has a sidecar, which keeps handling its traffic.")
	case p.Spec.HostNetwork:
		out = append(out, "The pod uses the host network and stays out of the mesh.")
	case v.excluded(p.Namespace):
		out = append(out, "istio-cni excludes "+p.Namespace+": the pod stays out of the mesh.")
	case ns != nil && ns.Labels[ambient.LabelDataplaneMode] == modeAmbient:
		out = append(out, "Namespace "+p.Namespace+" is enrolled: istio-cni captures the pod now, without a restart, and ztunnel enforces its L4 policies.")
	default:
		out = append(out, "Namespace "+p.Namespace+" is not enrolled: the pod stays out of the mesh.")
	}
	return append(out, v.ephemeral(p))
}

// ephemeral warns that a pod label dies with the pod: its controller makes
// replacements from the template.
func (v view) ephemeral(p *corev1.Pod) string {
	owner := v.mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Owner
	if owner == "" || strings.HasPrefix(owner, "pod/") {
		return "The label is on this pod only."
	}
	return "The label is on this pod only: pods " + owner + " creates later follow its template; set it there to keep it."
}

// ambientPolicies counts the policies of ns that ztunnel or a waypoint enforces.
func (v view) ambientPolicies(ns string) int {
	n := 0
	for _, p := range v.mesh.Policies {
		if p.Key.Namespace == ns && (p.EnforcedBy == ambient.EnforcedByZtunnel || p.EnforcedBy == ambient.EnforcedByWaypoint) {
			n++
		}
	}
	return n
}

// ingressPolicies counts the NetworkPolicies of ns that restrict ingress.
func ingressPolicies(nps []*networkingv1.NetworkPolicy, ns string) int {
	n := 0
	for _, np := range nps {
		if np == nil || np.Namespace != ns {
			continue
		}
		types := np.Spec.PolicyTypes
		if len(types) == 0 {
			// Unset means Ingress (plus Egress when egress rules exist).
			n++
			continue
		}
		for _, t := range types {
			if t == networkingv1.PolicyTypeIngress {
				n++
				break
			}
		}
	}
	return n
}

func pods(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func planID(action string, ref finding.Ref, rv string) string {
	return action + " " + ref.String() + "@" + rv
}

// planError words a failure to build a plan.
func planError(err error, what string) error {
	if err == errNoChange {
		return &Error{Kind: KindNothing, Line: "nothing to change on " + what}
	}
	return &Error{Kind: KindOther, Line: "cannot plan the change of " + what + ": " + err.Error(), Err: err}
}
