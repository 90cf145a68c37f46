package manifest

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// intend decides what the mesh will make of each workload's pod, since a
// template carries neither the sidecar the injector adds nor the
// redirection annotation istio-cni writes. A pod the sidecar injector will
// inject gets the injector's status annotation; a pod istio-cni will
// capture gets the redirection annotation, exactly when ambient's own
// analysis, shown the pod running, would say it should be captured (its
// labels, its namespace's, the excluded namespaces). Real Pods in the
// input keep what they hold: a dump of a live cluster is judged as it is.
func (l *loader) intend() {
	c := &l.Cluster
	if len(l.Templates) == 0 {
		return
	}
	nss := map[string]*corev1.Namespace{}
	for _, n := range c.Namespaces {
		nss[n.Name] = n
	}
	missing := map[string]bool{}
	var probes []*corev1.Pod
	var real []*corev1.Pod
	for _, p := range c.Pods {
		if _, ok := l.Templates["Pod "+p.Namespace+"/"+p.Name]; !ok {
			continue
		}
		ns := nss[p.Namespace]
		if ns == nil {
			missing[p.Namespace] = true
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
		if willInject(p, ns) {
			if p.Annotations == nil {
				p.Annotations = map[string]string{}
			}
			p.Annotations[ambient.AnnotationSidecarState] = `{"intended":true}`
			continue
		}
		probe := p.DeepCopy()
		delete(probe.Annotations, ambient.AnnotationRedirection)
		probe.Spec.NodeName = "intended"
		probes = append(probes, probe)
		real = append(real, p)
	}
	for _, ns := range slices.Sorted(maps.Keys(missing)) {
		l.Notes = append(l.Notes, fmt.Sprintf("namespace %s is not in the input: its workloads are judged by their own labels alone", ns))
	}
	if len(probes) == 0 {
		return
	}
	a := ambient.Analyze(&ambient.Cluster{Namespaces: c.Namespaces, Pods: probes, RootNamespace: c.RootNamespace, Install: c.Install})
	for _, p := range real {
		info := a.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}]
		// Shown running on a node of its own, a pod istio-cni should capture
		// reads as needing a restart, or as uncaptured for want of an
		// istio-cni agent there; the manifests hold no nodes, so both mean
		// it will be captured, unless istio-cni captures nothing at all.
		switch {
		case info.State == ambient.PodNeedsRestart:
		case info.State == ambient.PodUncaptured && c.Install.CNIAmbientEnabled():
		default:
			continue
		}
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[ambient.AnnotationRedirection] = "enabled"
	}
}

// willInject reports whether Istio's sidecar injector will add a sidecar
// to the pod: its namespace asks for injection (istio-injection=enabled,
// or an istio.io/rev label without istio-injection=disabled) and the pod
// does not refuse it, or the pod asks for it itself.
func willInject(p *corev1.Pod, ns *corev1.Namespace) bool {
	podAsks := p.Labels["sidecar.istio.io/inject"]
	if strings.EqualFold(podAsks, "false") {
		return false
	}
	if strings.EqualFold(podAsks, "true") {
		return true
	}
	if ns == nil {
		return false
	}
	switch ns.Labels[ambient.LabelInjection] {
	case "enabled":
		return true
	case "disabled":
		return false
	}
	return ns.Labels[ambient.LabelRev] != ""
}

// intendWaypoints gives each waypoint Gateway of the input what istiod
// would: a manifest has no status, and without status.addresses istiod
// binds nothing to a waypoint, so every binding would read as broken. A
// Gateway that has status (a dump of a live cluster) keeps it. A waypoint
// without pods in the input gets the one pod istiod would deploy, with the
// labels istiod puts on it, so NetworkPolicies that select waypoint pods
// are judged too.
func (l *loader) intendWaypoints() {
	c := &l.Cluster
	classes := map[string]*gwv1.GatewayClass{}
	for _, gc := range c.GatewayClasses {
		classes[gc.Name] = gc
	}
	hasPods := map[ambient.Key]bool{}
	for _, p := range c.Pods {
		if gw := p.Labels[ambient.LabelGatewayName]; gw != "" {
			hasPods[ambient.Key{Namespace: p.Namespace, Name: gw}] = true
		}
	}
	added := false
	for _, gw := range c.Gateways {
		class := string(gw.Spec.GatewayClassName)
		if gc := classes[class]; class != ambient.WaypointGatewayClass && (gc == nil || gc.Spec.ControllerName != ambient.MeshController) {
			continue
		}
		if len(gw.Status.Addresses) == 0 && len(gw.Status.Conditions) == 0 {
			host := gwv1.HostnameAddressType
			gw.Status.Addresses = []gwv1.GatewayStatusAddress{{Type: &host, Value: gw.Name + "." + gw.Namespace + ".svc.cluster.local"}}
			for _, t := range []string{string(gwv1.GatewayConditionAccepted), string(gwv1.GatewayConditionProgrammed)} {
				gw.Status.Conditions = append(gw.Status.Conditions, metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: t,
					Message: "intended state: judged from manifests, as istiod would program it"})
			}
		}
		k := ambient.Key{Namespace: gw.Namespace, Name: gw.Name}
		if hasPods[k] {
			continue
		}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: gw.Namespace, Name: gw.Name, Labels: map[string]string{
				ambient.LabelGatewayName:                       gw.Name,
				"gateway.networking.k8s.io/gateway-class-name": class,
				ambient.LabelGatewayManaged:                    "istio.io-mesh-controller",
				ambient.LabelDataplaneMode:                     "none",
				"sidecar.istio.io/inject":                      "false",
				"service.istio.io/canonical-name":              gw.Name,
				"service.istio.io/canonical-revision":          "latest",
			}},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy", Args: []string{"proxy", "waypoint"}, Ports: []corev1.ContainerPort{
				{Name: "mesh", ContainerPort: 15008, Protocol: corev1.ProtocolTCP},
				{Name: "metrics", ContainerPort: 15020, Protocol: corev1.ProtocolTCP},
				{Name: "status-port", ContainerPort: 15021, Protocol: corev1.ProtocolTCP},
				{Name: "http-envoy-prom", ContainerPort: 15090, Protocol: corev1.ProtocolTCP},
			}}}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
		}
		p.Kind, p.APIVersion = "Pod", "v1"
		key := "Pod " + gw.Namespace + "/" + gw.Name
		if _, taken := l.Origin[key]; taken {
			continue // a pod of that name exists; do not shadow it
		}
		l.Origin[key] = l.Origin["Gateway "+gw.Namespace+"/"+gw.Name]
		l.Templates[key] = "Gateway " + gw.Namespace + "/" + gw.Name
		c.Pods = append(c.Pods, p)
		added = true
	}
	if added {
		sortMeta(c.Pods)
	}
}
