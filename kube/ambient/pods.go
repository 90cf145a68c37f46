package ambient

import (
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube/install"
)

// CaptureGrace is how long istio-cni normally takes to capture a running
// pod that matches its selectors; before that a missing annotation is not
// a problem.
const CaptureGrace = time.Minute

// nodePlane is what runs the ambient data plane on one node.
type nodePlane struct {
	cni, cniReady         bool
	ztunnel, ztunnelReady bool
	cniPod                *corev1.Pod // one istio-cni pod on the node, for the log command
}

// capture holds what istio-cni decides with: its configuration, version and
// the agents on each node.
type capture struct {
	info      install.Info
	excluded  map[string]bool
	selectors []compiledSelector
	nodes     map[string]*nodePlane
	now       time.Time
	// ztunnelNS and cniNS are where the data plane was found; istio-system
	// when it was not.
	ztunnelNS, cniNS string
	// recheck is the earliest moment a verdict given now changes by the
	// clock alone (a pod's capture grace ending); zero when none does.
	recheck time.Time
}

type compiledSelector struct{ pod, ns labels.Selector }

func newCapture(c *Cluster) *capture {
	cp := &capture{info: c.Install, excluded: map[string]bool{}, nodes: map[string]*nodePlane{}, now: c.Now}
	for _, ns := range c.Install.ExcludedNamespaces() {
		cp.excluded[strings.TrimSpace(ns)] = true
	}
	for _, sel := range c.Install.Selectors() {
		cs := compiledSelector{pod: labels.Everything(), ns: labels.Everything()}
		var err error
		if sel.PodSelector != nil {
			if cs.pod, err = metav1.LabelSelectorAsSelector(sel.PodSelector); err != nil {
				continue
			}
		}
		if sel.NamespaceSelector != nil {
			if cs.ns, err = metav1.LabelSelectorAsSelector(sel.NamespaceSelector); err != nil {
				continue
			}
		}
		cp.selectors = append(cp.selectors, cs)
	}
	for _, p := range c.Pods {
		if p == nil || p.Spec.NodeName == "" {
			continue
		}
		n := cp.nodes[p.Spec.NodeName]
		if n == nil {
			n = &nodePlane{}
			cp.nodes[p.Spec.NodeName] = n
		}
		switch {
		case isCNIPod(p):
			if cp.cniNS == "" {
				cp.cniNS = p.Namespace
			}
			n.cni = true
			if n.cniPod == nil || podReady(p) && !n.cniReady {
				n.cniPod = p
			}
			n.cniReady = n.cniReady || podReady(p)
		case isZtunnelPod(p) && (c.Install.ZtunnelNamespace == "" || p.Namespace == c.Install.ZtunnelNamespace):
			if cp.ztunnelNS == "" {
				cp.ztunnelNS = p.Namespace
			}
			n.ztunnel = true
			n.ztunnelReady = n.ztunnelReady || podReady(p)
		}
	}
	if c.Install.ZtunnelNamespace != "" {
		cp.ztunnelNS = c.Install.ZtunnelNamespace
	}
	if cp.ztunnelNS == "" {
		cp.ztunnelNS = ztunnelNamespace
	}
	if cp.cniNS == "" {
		cp.cniNS = ztunnelNamespace
	}
	return cp
}

// isZtunnelPod and isCNIPod find the data plane by label in whatever
// namespace it runs (istio-system, kube-system on GKE and OpenShift); a
// ztunnel counts only in the namespace its DaemonSet was found in, when
// discovery found one.
func isZtunnelPod(p *corev1.Pod) bool { return p.Labels[ztunnelAppLabel] == ztunnelAppValue }
func isCNIPod(p *corev1.Pod) bool {
	return p.Labels[cniLabel] == cniValue || p.Labels["app.kubernetes.io/name"] == "istio-cni"
}

// matches reports whether istio-cni's enablement selectors pick the pod.
func (cp *capture) matches(p *corev1.Pod, nsLabels map[string]string) bool {
	for _, s := range cp.selectors {
		if s.pod.Matches(labels.Set(p.Labels)) && s.ns.Matches(labels.Set(nsLabels)) {
			return true
		}
	}
	return false
}

// excludes reports whether istio-cni keeps pods of ns out of ambient: only
// from 1.30 does its node agent honour excludeNamespaces; before, the CNI
// plugin skips them but the agent enrolls them anyway.
func (cp *capture) excludes(ns string) bool {
	return cp.excluded[ns] && cp.info.AgentHonoursExclusions()
}

// podState decides a pod's mesh state the way istio-cni does (its enablement
// selectors, cni/pkg/util/enablement_selector.go) and then compares that
// intent with the redirection annotation istio-cni writes once it acted.
// istio-cni captures running pods without a restart, so a pod it should have
// captured points first at the istio-cni agent on its node.
func (cp *capture) podState(p *corev1.Pod, ns *corev1.Namespace) (PodState, string) {
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
		return PodHostNetwork, cp.hostNetworkReason()
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
	var why string
	switch {
	case mode == modeAmbient:
		why = "its own istio.io/dataplane-mode=ambient label"
	case nsLabels[LabelDataplaneMode] == modeAmbient:
		why = "its namespace's istio.io/dataplane-mode=ambient label"
	default:
		why = "istio-cni's enablement selectors"
	}
	if !cp.matches(p, nsLabels) {
		if mode == modeAmbient || nsLabels[LabelDataplaneMode] == modeAmbient {
			return PodNotMeshed, "Its ambient label matches none of istio-cni's enablement selectors."
		}
		return PodNotMeshed, "Neither it nor its namespace is labelled for ambient or sidecar injection."
	}
	if cp.excludes(p.Namespace) {
		return PodNotMeshed, "istio-cni excludes the " + p.Namespace + " namespace (excludeNamespaces), so " + why + " has no effect."
	}
	switch {
	case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		return PodNotMeshed, "It has finished (" + string(p.Status.Phase) + "); " + why + " would capture it if it ran again."
	case p.Spec.NodeName == "":
		return PodNotMeshed, "It is not scheduled yet; istio-cni will capture it when it starts because of " + why + "."
	}
	node := p.Spec.NodeName
	np := cp.nodes[node]
	switch {
	case !cp.info.CNIAmbientEnabled():
		return PodUncaptured, "It matches " + why + ", but istio-cni runs with AMBIENT_ENABLED=false, so it captures nothing."
	case np == nil || !np.cni:
		return PodUncaptured, "It matches " + why + ", but no istio-cni agent runs on node " + node + " to capture it."
	case !np.cniReady:
		return PodUncaptured, "It matches " + why + ", but the istio-cni agent on node " + node + " is not ready; it captures the pod once it is."
	case p.Status.Phase == corev1.PodPending:
		return PodUncaptured, "It matches " + why + " and has not started: its CNI setup usually fails to reach the istio-cni agent on node " + node + " (istio-cni cmdAdd failed); a restart does not help."
	case p.Status.PodIP == "":
		return PodUncaptured, "It matches " + why + " but has no pod IP yet; istio-cni captures it once it has one."
	case !cp.now.IsZero() && cp.now.Sub(podStart(p)) < CaptureGrace:
		if end := podStart(p).Add(CaptureGrace); cp.recheck.IsZero() || end.Before(cp.recheck) {
			cp.recheck = end
		}
		return PodUncaptured, "It matches " + why + " and started moments ago; istio-cni captures running pods within seconds."
	}
	return PodNeedsRestart, "It matches " + why + " and the istio-cni agent on node " + node + " is ready, which captures running pods without a restart, so capturing it failed with an error istio-cni does not retry (its log says \"Failed capturing pod, will not retry\"); restarting the pod is the last resort."
}

// hostNetworkReason says why a host-network pod is never captured, as the
// installed istio-cni decides it: 1.24-1.26 and 1.31+ skip such pods, while
// 1.27-1.30 lost that check (istio/istio#56048) and try, but find no pod
// netns, fail without retry and leave the pod as it was.
func (cp *capture) hostNetworkReason() string {
	if v := cp.info.CNIEffective(); v.AtLeast(1, 27) && !v.AtLeast(1, 31) {
		return "It uses the host network: istio-cni " + v.MinorString() + " tries to capture it if it matches, but finds no pod network namespace and gives up without retry (\"Failed capturing pod, will not retry\"), so it is never captured."
	}
	return "It uses the host network, which istio-cni never captures."
}

func podStart(p *corev1.Pod) time.Time {
	if p.Status.StartTime != nil {
		return p.Status.StartTime.Time
	}
	return p.CreationTimestamp.Time
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
	return s == PodCaptured || s == PodPending || s == PodNeedsRestart || s == PodUncaptured
}
