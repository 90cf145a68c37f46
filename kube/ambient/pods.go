package ambient

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// podState decides a pod's mesh state the way istio-cni does (its enablement
// selectors, cni/pkg/util/enablement_selector.go) and then compares that
// intent with the redirection annotation istio-cni writes once it acted.
func podState(p *corev1.Pod, ns *corev1.Namespace) (PodState, string) {
	nsLabels := map[string]string(nil)
	if ns != nil {
		nsLabels = ns.Labels
	}
	switch {
	case hasSidecar(p):
		if p.Annotations[AnnotationRedirection] != "" {
			return PodSidecar, "It has an istio-proxy sidecar and an ambient redirection annotation; istio-cni skips sidecar pods, so the sidecar handles its traffic."
		}
		return PodSidecar, "It has an injected istio-proxy sidecar, which wins over ambient."
	case p.Spec.HostNetwork:
		return PodHostNetwork, "It uses the host network, which istio-cni never captures."
	}
	switch p.Annotations[AnnotationRedirection] {
	case redirectionEnabled:
		return PodCaptured, "istio-cni redirected its traffic and a ztunnel accepted it."
	case redirectionPending:
		return PodPending, "istio-cni set up redirection but no ztunnel accepted it yet, so it can neither send nor receive traffic."
	}
	mode := p.Labels[LabelDataplaneMode]
	if mode == modeNone {
		return PodOptedOut, "It is labelled istio.io/dataplane-mode=none."
	}
	if excludedNamespaces[p.Namespace] {
		if mode == modeAmbient || nsLabels[LabelDataplaneMode] == modeAmbient {
			return PodNotMeshed, "istio-cni excludes the " + p.Namespace + " namespace, so its ambient label has no effect."
		}
		return PodNotMeshed, "istio-cni excludes the " + p.Namespace + " namespace."
	}
	var why string
	switch {
	case mode == modeAmbient:
		why = "its own istio.io/dataplane-mode=ambient label"
	case nsLabels[LabelDataplaneMode] == modeAmbient:
		why = "its namespace's istio.io/dataplane-mode=ambient label"
	default:
		return PodNotMeshed, "Neither it nor its namespace is labelled for ambient or sidecar injection."
	}
	switch {
	case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		return PodNotMeshed, "It has finished (" + string(p.Status.Phase) + "); " + why + " would capture it if it ran again."
	case p.Spec.NodeName == "":
		return PodNotMeshed, "It is not scheduled yet; istio-cni will capture it when it starts because of " + why + "."
	}
	return PodNeedsRestart, "It matches " + why + " but istio-cni never captured it: the istio-cni agent on its node failed or was not ready when the namespace was enrolled (check the istio-cni-node log); a restart captures it as it starts."
}

// hasSidecar reports whether the pod runs an injected istio-proxy next to an
// application. Waypoint, ztunnel and gateway pods run istio-proxy alone, so a
// lone istio-proxy container is a proxy pod, not a sidecar.
func hasSidecar(p *corev1.Pod) bool {
	if _, ok := p.Annotations[AnnotationSidecarState]; ok {
		return true
	}
	for _, c := range p.Spec.InitContainers {
		if c.Name == "istio-proxy" && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways {
			return true
		}
	}
	if len(p.Spec.Containers) < 2 {
		return false
	}
	for _, c := range p.Spec.Containers {
		if c.Name == "istio-proxy" {
			return true
		}
	}
	return false
}

// protocol is how ztunnel reaches the pod (pilot ambient workloads.go).
func protocol(p *corev1.Pod) string {
	if p.Annotations[AnnotationRedirection] == redirectionEnabled || p.Labels[LabelTunnel] == "http" {
		return "HBONE"
	}
	return "TCP"
}

// owner names the workload a user restarts to replace the pod. A ReplicaSet
// created by a Deployment carries the pod-template-hash as its name suffix.
func owner(p *corev1.Pod) string {
	for _, ref := range p.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		kind := strings.ToLower(ref.Kind)
		if ref.Kind == "ReplicaSet" {
			if h := p.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(ref.Name, "-"+h) {
				return "deployment/" + strings.TrimSuffix(ref.Name, "-"+h)
			}
		}
		return kind + "/" + ref.Name
	}
	return "pod/" + p.Name
}

// restartable reports whether `kubectl rollout restart` works on the owner.
func restartable(owner string) bool {
	kind, _, _ := strings.Cut(owner, "/")
	return kind == "deployment" || kind == "statefulset" || kind == "daemonset"
}

// podReady reports whether the pod runs and passes its readiness checks.
func podReady(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodRunning || p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// inAmbient reports whether ambient is, or should be, handling the pod.
func (s PodState) inAmbient() bool {
	return s == PodCaptured || s == PodPending || s == PodNeedsRestart
}
