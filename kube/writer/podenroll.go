package writer

import (
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/whatif"
)

// TogglePodAmbient plans labelling one pod istio.io/dataplane-mode=ambient,
// or removing that label when present: istio-cni's default enablement
// selectors take a pod by its own label whatever its namespace says
// (ambient-reference 1.2), so this enrols one pod of a namespace that is not
// enrolled. Whether istio-cni would really take it (custom selectors,
// excluded namespaces by version, a sidecar, the host network) is what the
// what-if of the change says, from the same analysis the panes use.
func (w *Writer) TogglePodAmbient(pod *corev1.Pod, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	p, own, err := podModePlan(pod, modeAmbient, "pod-ambient")
	if err != nil {
		return Plan{}, err
	}
	name := pod.Namespace + "/" + pod.Name
	var change whatif.Change
	if own {
		p.Title = "Take pod " + name + " out of ambient"
		p.Description = "Removes the label istio.io/dataplane-mode=ambient from pod " + name + "."
		p.Done = "pod " + name + ": istio.io/dataplane-mode removed"
		change = whatif.Labels(p.Target, nil, ambient.LabelDataplaneMode)
	} else {
		p.Title = "Enroll pod " + name + " in ambient"
		p.Description = "Labels pod " + name + " istio.io/dataplane-mode=ambient."
		if old, ok := pod.Labels[ambient.LabelDataplaneMode]; ok {
			p.Description = "Changes the label istio.io/dataplane-mode of pod " + name + " from " + old + " to ambient."
		}
		p.Done = "pod " + name + " labelled istio.io/dataplane-mode=ambient"
		change = whatif.Labels(p.Target, map[string]string{ambient.LabelDataplaneMode: modeAmbient})
	}
	v := newView(s)
	p.Consequences = []string{v.ephemeral(pod)}
	// How istio-cni would treat the pod is the what-if's answer: deferred
	// with it, so the dialog says it is checking rather than guess.
	k := ambient.Key{Namespace: pod.Namespace, Name: pod.Name}
	was := v.state(pod)
	p.whatIf = func() []string {
		r := whatif.Run(s, change)
		after, known := r.Pods[k]
		var line string
		switch {
		case !known:
			line = "The snapshot does not say how istio-cni would treat the pod."
		case !own && (after.State == ambient.PodCaptured || after.State == ambient.PodPending):
			line = "istio-cni captures the pod now, without a restart: ztunnel carries its traffic with mTLS and enforces its L4 policy."
		case !own:
			line = "istio-cni would not capture it: " + after.Reason
		case (was == ambient.PodCaptured || was == ambient.PodPending) && after.State != ambient.PodCaptured && after.State != ambient.PodPending:
			line = "The pod leaves the mesh immediately: its traffic is no longer mTLS and ztunnel stops enforcing its L4 policies."
		default:
			line = "The pod stays as it is: " + after.Reason
		}
		return append([]string{line, r.Summary()}, r.Lines()...)
	}
	return p, nil
}
