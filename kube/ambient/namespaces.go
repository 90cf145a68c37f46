package ambient

import corev1 "k8s.io/api/core/v1"

// namespaceLabels reads a namespace's enrollment intent.
func namespaceLabels(ns *corev1.Namespace, cp *capture) NamespaceInfo {
	n := NamespaceInfo{Counts: map[PodState]int{}}
	if ns == nil {
		return n
	}
	n.Enrolled = ns.Labels[LabelDataplaneMode] == modeAmbient
	n.Injected = injectedNamespace(ns.Labels)
	n.Excluded = cp.excludes(ns.Name)
	return n
}

// injectedNamespace follows the injector's namespace selectors:
// istio-injection=enabled, or istio.io/rev while istio-injection is absent
// (the revision webhook requires it not to exist), so
// istio-injection=disabled beside istio.io/rev is not injected.
func injectedNamespace(l map[string]string) bool {
	inj, set := l[LabelInjection]
	return inj == "enabled" || (!set && l[LabelRev] != "")
}

// namespaceState combines the labels with the pods actually found: a
// namespace migrating between sidecar and ambient holds pods of both kinds
// whatever its labels say now.
func namespaceState(n NamespaceInfo) (NamespaceState, string) {
	ambientPods := n.Counts[PodCaptured] + n.Counts[PodPending]
	sidecarPods := n.Counts[PodSidecar]
	switch {
	case n.Enrolled && n.Injected:
		return NamespaceMixed, "It has both the ambient label and a sidecar injection label; sidecar injection wins for new pods."
	case n.Enrolled && n.Excluded:
		return NamespaceOff, "It is labelled for ambient but istio-cni excludes it."
	case n.Enrolled && sidecarPods > 0:
		return NamespaceMixed, "It is labelled for ambient but still runs sidecar pods (a migration in progress)."
	case n.Enrolled:
		return NamespaceAmbient, "It is labelled istio.io/dataplane-mode=ambient."
	case n.Injected && ambientPods > 0:
		return NamespaceMixed, "It is labelled for sidecar injection but still runs ambient pods (a migration in progress)."
	case n.Injected:
		return NamespaceSidecar, "It is labelled for sidecar injection."
	case ambientPods > 0 && sidecarPods > 0:
		return NamespaceMixed, "It has no mesh label but runs both ambient and sidecar pods."
	}
	return NamespaceOff, "It has no ambient or sidecar injection label."
}
