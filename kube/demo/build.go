package demo

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/utils/ptr"

	"github.com/ambx/ambx/kube/ambient"
)

// world is everything the demo cluster holds, built once per call so that
// callers can never share (and mutate) each other's objects.
type world struct {
	cluster     ambient.Cluster
	workloads   []runtime.Object
	podMetrics  []*metricsv1beta1.PodMetrics
	nodeMetrics []*metricsv1beta1.NodeMetrics
	configMaps  []*corev1.ConfigMap
	webhooks    []*admissionv1.MutatingWebhookConfiguration
}

func build(now time.Time) *world {
	w := &world{}
	c := &w.cluster
	for _, n := range nodes {
		c.Nodes = append(c.Nodes, n.object(now))
	}
	for _, ns := range namespaces() {
		c.Namespaces = append(c.Namespaces, ns.object(now))
	}
	c.Services = append(c.Services, apiServerService(now))

	ips := ipam{}
	ipsUsed := map[string]bool{"10.96.0.1": true}
	nodeUse := map[string]usage{}
	for _, a := range apps() {
		pods := a.pods(now, ips)
		c.Pods = append(c.Pods, pods...)
		w.workloads = append(w.workloads, a.controllers(now, pods)...)
		for _, s := range a.services {
			c.Services = append(c.Services, a.service(now, s, ipsUsed))
		}
		for i, p := range pods {
			pm := a.podMetrics(now, p, i)
			w.podMetrics = append(w.podMetrics, pm)
			u := nodeUse[p.Spec.NodeName]
			for _, ct := range a.allContainers() {
				cu := ct.usageFor(i)
				u.cpu += cu.cpu
				u.mem += cu.mem
			}
			nodeUse[p.Spec.NodeName] = u
		}
	}
	for _, n := range nodes {
		u := nodeUse[n.name]
		w.nodeMetrics = append(w.nodeMetrics, &metricsv1beta1.NodeMetrics{
			ObjectMeta: metav1.ObjectMeta{Name: n.name, CreationTimestamp: metav1.NewTime(now.Truncate(time.Second)),
				Labels: n.object(now).Labels},
			Timestamp: metav1.NewTime(at(now, 9*time.Second)),
			Window:    metav1.Duration{Duration: 20 * time.Second},
			Usage:     usageList("node/"+n.name, u.cpu+n.baseCPU, u.mem+n.baseMem),
		})
	}

	c.GatewayClasses = gatewayClasses(now)
	c.Gateways = gateways(now, c.Services)
	c.AuthorizationPolicies = authorizationPolicies(now)
	c.PeerAuthentications = peerAuthentications(now)
	c.RequestAuthentications = requestAuthentications(now)
	c.NetworkPolicies = networkPolicies(now)
	w.install(now)
	w.sort()
	return w
}

func (w *world) sort() {
	c := &w.cluster
	byKey := func(a, b metav1.Object) bool {
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	}
	sort.Slice(c.Namespaces, func(i, j int) bool { return byKey(c.Namespaces[i], c.Namespaces[j]) })
	sort.Slice(c.Pods, func(i, j int) bool { return byKey(c.Pods[i], c.Pods[j]) })
	sort.Slice(c.Services, func(i, j int) bool { return byKey(c.Services[i], c.Services[j]) })
	sort.Slice(c.Nodes, func(i, j int) bool { return byKey(c.Nodes[i], c.Nodes[j]) })
	sort.Slice(c.NetworkPolicies, func(i, j int) bool { return byKey(c.NetworkPolicies[i], c.NetworkPolicies[j]) })
	sort.Slice(c.Gateways, func(i, j int) bool { return byKey(c.Gateways[i], c.Gateways[j]) })
	sort.Slice(c.GatewayClasses, func(i, j int) bool { return byKey(c.GatewayClasses[i], c.GatewayClasses[j]) })
	sort.Slice(c.AuthorizationPolicies, func(i, j int) bool {
		return byKey(c.AuthorizationPolicies[i], c.AuthorizationPolicies[j])
	})
	sort.Slice(c.PeerAuthentications, func(i, j int) bool { return byKey(c.PeerAuthentications[i], c.PeerAuthentications[j]) })
	sort.Slice(c.RequestAuthentications, func(i, j int) bool {
		return byKey(c.RequestAuthentications[i], c.RequestAuthentications[j])
	})
	sort.Slice(w.podMetrics, func(i, j int) bool { return byKey(w.podMetrics[i], w.podMetrics[j]) })
	sort.Slice(w.workloads, func(i, j int) bool {
		a, b := w.workloads[i], w.workloads[j]
		ka, kb := kindOf(a), kindOf(b)
		if ka != kb {
			return ka < kb
		}
		return byKey(a.(metav1.Object), b.(metav1.Object))
	})
}

func kindOf(o runtime.Object) string {
	switch o.(type) {
	case *appsv1.DaemonSet:
		return "DaemonSet"
	case *appsv1.Deployment:
		return "Deployment"
	case *appsv1.ReplicaSet:
		return "ReplicaSet"
	case *appsv1.StatefulSet:
		return "StatefulSet"
	}
	return fmt.Sprintf("%T", o)
}

func (ns namespace) object(now time.Time) *corev1.Namespace {
	labels := map[string]string{"kubernetes.io/metadata.name": ns.name}
	maps.Copy(labels, ns.labels)
	o := &corev1.Namespace{
		ObjectMeta: metav1.ObjectMeta{
			Name:              ns.name,
			UID:               uid("Namespace", "", ns.name),
			CreationTimestamp: metav1.NewTime(at(now, ns.age)),
			Labels:            labels,
		},
		Spec:   corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive},
	}
	// managedFields are the only record of when a label was added; the UI
	// can show it next to a pod's age.
	created := map[string]any{".": map[string]any{}, "f:kubernetes.io/metadata.name": map[string]any{}}
	labelled := map[string]any{}
	for k := range ns.labels {
		if ns.enrolled == 0 || ns.enrolled == ns.age {
			created["f:"+k] = map[string]any{}
		} else {
			labelled["f:"+k] = map[string]any{}
		}
	}
	o.ManagedFields = []metav1.ManagedFieldsEntry{managedLabels("kubectl-create", o.CreationTimestamp, created)}
	if len(labelled) > 0 {
		o.ManagedFields = append(o.ManagedFields, managedLabels("kubectl-label", metav1.NewTime(at(now, ns.enrolled)), labelled))
	}
	return o
}

func managedLabels(manager string, when metav1.Time, labels map[string]any) metav1.ManagedFieldsEntry {
	// json.Marshal sorts map keys, so the bytes are stable.
	raw, err := json.Marshal(map[string]any{"f:metadata": map[string]any{"f:labels": labels}})
	if err != nil {
		panic(err) // maps of strings always marshal
	}
	return metav1.ManagedFieldsEntry{Manager: manager, Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1",
		Time: &when, FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: raw}}
}

func apiServerService(now time.Time) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kubernetes", Namespace: "default", UID: uid("Service", "default", "kubernetes"),
			CreationTimestamp: metav1.NewTime(at(now, 412*day)),
			Labels:            map[string]string{"component": "apiserver", "provider": "kubernetes"}},
		Spec: corev1.ServiceSpec{
			Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"},
			Ports:           []corev1.ServicePort{{Name: "https", Port: 443, TargetPort: intstr.FromInt32(6443), Protocol: corev1.ProtocolTCP}},
			SessionAffinity: corev1.ServiceAffinityNone, IPFamilies: []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:        ptr.To(corev1.IPFamilyPolicySingleStack),
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
}

// sidecarStatus is the annotation the injection webhook writes on the pods
// it injected (with istio-cni, the init container is istio-validation).
const sidecarStatus = `{"initContainers":["istio-validation"],"containers":["istio-proxy"],"volumes":["workload-socket","credential-socket","workload-certs","istio-envoy","istio-data","istio-podinfo","istio-token","istiod-ca-cert","istio-ca-crl"],"imagePullSecrets":null,"revision":"default"}`

// allContainers are the containers of the app's running pods, with the
// injected sidecar.
func (a app) allContainers() []container {
	if a.mode != injected {
		return a.containers
	}
	p := proxy()
	p.ports = []corev1.ContainerPort{tcp("http-envoy-prom", 15090)}
	p.use = []usage{{4, 38}}
	return append(append([]container(nil), a.containers...), p)
}

func proxy() container {
	repo, tag := istio("proxyv2")
	return container{name: "istio-proxy", repo: repo, tag: tag, cpu: "100m", mem: "128Mi", memLimit: "1Gi",
		readyProbe: probe("/healthz/ready", intstr.FromInt32(15021))}
}

func (a app) templateHash() string {
	var images []string
	for _, c := range a.containers {
		images = append(images, c.image())
	}
	return templateHash(a.ns + "/" + a.name + "/" + strings.Join(images, ","))
}

func (a app) replicaSetName() string { return a.name + "-" + a.templateHash() }

// podNames are the names of the app's pods, in pod order.
func (a app) podNames() []string {
	out := make([]string, len(a.nodes))
	for i, n := range a.nodes {
		switch a.kind {
		case deployment:
			rs := a.replicaSetName()
			out[i] = rs + "-" + podSuffix(rs+"/"+strconv.Itoa(i))
		case daemonSet:
			out[i] = a.name + "-" + podSuffix(a.ns+"/"+a.name+"/"+n)
		case statefulSet:
			out[i] = a.name + "-" + strconv.Itoa(i)
		case staticPod:
			out[i] = a.name + "-" + n
		}
	}
	return out
}

// templateLabels are the labels of the pod template: selector plus extras.
func (a app) templateLabels() map[string]string {
	l := maps.Clone(a.selector)
	maps.Copy(l, a.labels)
	if a.mode == injected {
		l["security.istio.io/tlsMode"] = "istio"
		l["service.istio.io/canonical-name"] = a.name
		l["service.istio.io/canonical-revision"] = "latest"
		if !a.plaintextSidecar() {
			l["networking.istio.io/tunnel"] = "http"
		}
	}
	return l
}

// plaintextSidecar reports a sidecar whose pod pins ISTIO_META_ENABLE_HBONE
// off in its proxy config: the injection template then sets no tunnel
// label, so the sidecar receives mTLS on its app ports, not HBONE
// (ambient-reference 1.1, the networking.istio.io/tunnel row).
func (a app) plaintextSidecar() bool {
	return a.annotations[annotationProxyConfig] == plaintextProxyConfig
}

// annotationProxyConfig and plaintextProxyConfig are the pod annotation
// that overrides the mesh's proxy config, and the value legacy-apps pins.
const (
	annotationProxyConfig = "proxy.istio.io/config"
	plaintextProxyConfig  = `{"proxyMetadata":{"ISTIO_META_ENABLE_HBONE":"false"}}`
)

func (a app) podSpec(nodeName string) corev1.PodSpec {
	spec := corev1.PodSpec{
		NodeName:                      nodeName,
		ServiceAccountName:            a.serviceAccount(),
		HostNetwork:                   a.hostNetwork,
		PriorityClassName:             a.priority,
		RestartPolicy:                 corev1.RestartPolicyAlways,
		DNSPolicy:                     corev1.DNSClusterFirst,
		SchedulerName:                 corev1.DefaultSchedulerName,
		TerminationGracePeriodSeconds: ptr.To[int64](30),
		EnableServiceLinks:            ptr.To(true),
		PreemptionPolicy:              ptr.To(corev1.PreemptLowerPriority),
	}
	if a.hostNetwork {
		spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}
	if a.kind == staticPod {
		spec.ServiceAccountName = "" // the kubelet refuses static pods that name one
	}
	switch a.kind {
	case daemonSet, staticPod:
		spec.Tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	default:
		spec.Tolerations = []corev1.Toleration{
			{Key: corev1.TaintNodeNotReady, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
			{Key: corev1.TaintNodeUnreachable, Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)},
		}
	}
	for _, c := range a.allContainers() {
		spec.Containers = append(spec.Containers, c.spec())
	}
	if a.mode == injected {
		repo, tag := istio("proxyv2")
		spec.InitContainers = []corev1.Container{{Name: "istio-validation", Image: repo + ":" + tag,
			Args:                     []string{"istio-iptables", "-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020", "--log_output_level=default:info", "--run-validation", "--skip-rule-apply"},
			ImagePullPolicy:          corev1.PullIfNotPresent,
			TerminationMessagePath:   corev1.TerminationMessagePathDefault,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}}
	}
	return spec
}

func (c container) spec() corev1.Container {
	out := corev1.Container{
		Name: c.name, Image: c.image(), Args: c.args, Ports: c.ports,
		ImagePullPolicy:          corev1.PullIfNotPresent,
		TerminationMessagePath:   corev1.TerminationMessagePathDefault,
		TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		ReadinessProbe:           c.readyProbe,
	}
	if c.cpu != "" || c.mem != "" {
		out.Resources.Requests = corev1.ResourceList{}
		if c.cpu != "" {
			out.Resources.Requests[corev1.ResourceCPU] = resource.MustParse(c.cpu)
		}
		if c.mem != "" {
			out.Resources.Requests[corev1.ResourceMemory] = resource.MustParse(c.mem)
		}
	}
	if c.memLimit != "" {
		out.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(c.memLimit)}
	}
	return out
}

func (a app) pods(now time.Time, ips ipam) []*corev1.Pod {
	names := a.podNames()
	var out []*corev1.Pod
	for i, nodeName := range a.nodes {
		n := nodeByName(nodeName)
		// A rollout replaces pods one after another, a few seconds apart.
		created := at(now, a.podAge-time.Duration(i)*37*time.Second)
		labels := a.templateLabels()
		annotations := maps.Clone(a.annotations)
		if annotations == nil {
			annotations = map[string]string{}
		}
		var owner metav1.OwnerReference
		switch a.kind {
		case deployment:
			labels["pod-template-hash"] = a.templateHash()
			owner = ownerRef("apps/v1", "ReplicaSet", a.ns, a.replicaSetName())
		case daemonSet:
			labels["controller-revision-hash"] = a.templateHash()
			labels["pod-template-generation"] = "1"
			owner = ownerRef("apps/v1", "DaemonSet", a.ns, a.name)
		case statefulSet:
			labels["controller-revision-hash"] = a.name + "-" + a.templateHash()
			labels["statefulset.kubernetes.io/pod-name"] = names[i]
			labels["apps.kubernetes.io/pod-index"] = strconv.Itoa(i)
			owner = ownerRef("apps/v1", "StatefulSet", a.ns, a.name)
		case staticPod:
			owner = ownerRef("v1", "Node", "", nodeName)
			annotations["kubernetes.io/config.source"] = "file"
			annotations["kubernetes.io/config.hash"] = digest(names[i])[:32]
			annotations["kubernetes.io/config.mirror"] = annotations["kubernetes.io/config.hash"]
		}
		switch a.mode {
		case captured:
			annotations[ambient.AnnotationRedirection] = "enabled"
		case injected:
			annotations[ambient.AnnotationSidecarState] = sidecarStatus
			annotations["kubectl.kubernetes.io/default-container"] = a.containers[0].name
			annotations["kubectl.kubernetes.io/default-logs-container"] = a.containers[0].name
			annotations["istio.io/rev"] = "default"
			annotations["prometheus.io/path"] = "/stats/prometheus"
			annotations["prometheus.io/port"] = "15020"
			annotations["prometheus.io/scrape"] = "true"
		}
		if len(annotations) == 0 {
			annotations = nil
		}
		ip := n.ip
		if !a.hostNetwork {
			ip = ips.next(n)
		}
		p := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{
				Name:              names[i],
				Namespace:         a.ns,
				UID:               uid("Pod", a.ns, names[i]),
				CreationTimestamp: metav1.NewTime(created),
				Labels:            labels,
				Annotations:       annotations,
				OwnerReferences:   []metav1.OwnerReference{owner},
			},
			Spec:   a.podSpec(nodeName),
			Status: a.podStatus(now, created, names[i], n, ip, i),
		}
		if a.kind == deployment || a.kind == daemonSet {
			p.GenerateName = strings.TrimSuffix(names[i], podSuffixOf(names[i]))
		}
		out = append(out, p)
	}
	return out
}

// podSuffixOf is the generated part of a pod name: what follows the last dash.
func podSuffixOf(name string) string { return name[strings.LastIndex(name, "-")+1:] }

func ownerRef(apiVersion, kind, ns, name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid(kind, ns, name),
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}
}

func (a app) podStatus(now, created time.Time, name string, n node, ip string, i int) corev1.PodStatus {
	t := func(d time.Duration) metav1.Time { return metav1.NewTime(created.Add(d)) }
	ready := t(9 * time.Second)
	var restarts int32
	if i == 0 {
		restarts = a.restarts
	}
	// A restarted container came back halfway through the pod's life.
	restartedAt := metav1.NewTime(created.Add(now.Sub(created) / 2).Truncate(time.Second))
	if restarts > 0 {
		ready = metav1.NewTime(restartedAt.Add(6 * time.Second))
	}
	cond := func(tp corev1.PodConditionType, when metav1.Time) corev1.PodCondition {
		return corev1.PodCondition{Type: tp, Status: corev1.ConditionTrue, LastTransitionTime: when}
	}
	st := corev1.PodStatus{
		Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{
			cond(corev1.PodReadyToStartContainers, t(2*time.Second)),
			cond(corev1.PodInitialized, t(3*time.Second)),
			cond(corev1.PodReady, ready),
			cond(corev1.ContainersReady, ready),
			cond(corev1.PodScheduled, t(0)),
		},
		HostIP:    n.ip,
		HostIPs:   []corev1.HostIP{{IP: n.ip}},
		PodIP:     ip,
		PodIPs:    []corev1.PodIP{{IP: ip}},
		StartTime: ptr.To(t(time.Second)),
		QOSClass:  corev1.PodQOSBestEffort,
	}
	for ci, c := range a.allContainers() {
		if c.cpu != "" || c.mem != "" {
			st.QOSClass = corev1.PodQOSBurstable
		}
		cs := corev1.ContainerStatus{
			Name: c.name, Ready: true, Started: ptr.To(true),
			Image: c.image(), ImageID: c.repo + "@sha256:" + digest(c.image()),
			ContainerID: "containerd://" + digest(a.ns+"/"+name+"/"+c.name),
			State:       corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: t(4 * time.Second)}},
		}
		if ci == 0 && restarts > 0 {
			cs.RestartCount = restarts
			cs.State.Running.StartedAt = restartedAt
			cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", StartedAt: t(4 * time.Second),
				FinishedAt:  metav1.NewTime(restartedAt.Add(-2 * time.Second)),
				ContainerID: "containerd://" + digest(a.ns+"/"+name+"/"+c.name+"/0"),
			}}
		}
		st.ContainerStatuses = append(st.ContainerStatuses, cs)
	}
	if a.mode == injected {
		repo, tag := istio("proxyv2")
		st.InitContainerStatuses = []corev1.ContainerStatus{{
			Name: "istio-validation", Ready: true, Image: repo + ":" + tag, ImageID: repo + "@sha256:" + digest(repo+":"+tag),
			ContainerID: "containerd://" + digest(a.ns+"/"+name+"/istio-validation"),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed",
				StartedAt: t(2 * time.Second), FinishedAt: t(3 * time.Second)}},
		}}
	}
	return st
}

// controllers are the app's owning workload objects.
func (a app) controllers(now time.Time, pods []*corev1.Pod) []runtime.Object {
	replicas := int32(len(pods))
	meta := metav1.ObjectMeta{
		Namespace: a.ns, Name: a.name, Generation: 1,
		CreationTimestamp: metav1.NewTime(at(now, a.age)),
		Labels:            maps.Clone(a.selector),
	}
	template := corev1.PodTemplateSpec{
		ObjectMeta: metav1.ObjectMeta{Labels: a.templateLabels(), Annotations: maps.Clone(a.annotations)},
		Spec:       a.podSpec(""),
	}
	selector := &metav1.LabelSelector{MatchLabels: maps.Clone(a.selector)}
	switch a.kind {
	case deployment:
		d := &appsv1.Deployment{ObjectMeta: meta}
		d.UID = uid("Deployment", a.ns, a.name)
		d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
		if a.waypoint != "" {
			d.OwnerReferences = []metav1.OwnerReference{gatewayOwner(a.ns, a.waypoint)}
		}
		d.Spec = appsv1.DeploymentSpec{Replicas: &replicas, Selector: selector, Template: template,
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType, RollingUpdate: &appsv1.RollingUpdateDeployment{
				MaxUnavailable: ptr.To(intstr.FromString("25%")), MaxSurge: ptr.To(intstr.FromString("25%"))}},
			RevisionHistoryLimit: ptr.To[int32](10), ProgressDeadlineSeconds: ptr.To[int32](600)}
		since := metav1.NewTime(at(now, a.podAge))
		d.Status = appsv1.DeploymentStatus{ObservedGeneration: 1, Replicas: replicas, UpdatedReplicas: replicas,
			ReadyReplicas: replicas, AvailableReplicas: replicas,
			Conditions: []appsv1.DeploymentCondition{
				{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable",
					Message: "Deployment has minimum availability.", LastUpdateTime: since, LastTransitionTime: since},
				{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable",
					Message:        fmt.Sprintf("ReplicaSet %q has successfully progressed.", a.replicaSetName()),
					LastUpdateTime: since, LastTransitionTime: metav1.NewTime(at(now, a.age))},
			}}

		rsLabels := maps.Clone(a.selector)
		rsLabels["pod-template-hash"] = a.templateHash()
		rsTemplate := *template.DeepCopy()
		rsTemplate.Labels["pod-template-hash"] = a.templateHash()
		rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{
			Namespace: a.ns, Name: a.replicaSetName(), UID: uid("ReplicaSet", a.ns, a.replicaSetName()), Generation: 1,
			CreationTimestamp: metav1.NewTime(at(now, a.podAge+2*time.Second)),
			Labels:            rsLabels,
			Annotations: map[string]string{"deployment.kubernetes.io/desired-replicas": strconv.Itoa(int(replicas)),
				"deployment.kubernetes.io/max-replicas": strconv.Itoa(int(replicas) + 1), "deployment.kubernetes.io/revision": "1"},
			OwnerReferences: []metav1.OwnerReference{ownerRef("apps/v1", "Deployment", a.ns, a.name)},
		}}
		rs.Spec = appsv1.ReplicaSetSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: maps.Clone(rsLabels)}, Template: rsTemplate}
		rs.Status = appsv1.ReplicaSetStatus{Replicas: replicas, FullyLabeledReplicas: replicas, ReadyReplicas: replicas,
			AvailableReplicas: replicas, ObservedGeneration: 1}
		return []runtime.Object{d, rs}
	case daemonSet:
		ds := &appsv1.DaemonSet{ObjectMeta: meta}
		ds.UID = uid("DaemonSet", a.ns, a.name)
		ds.Annotations = map[string]string{"deprecated.daemonset.template.generation": "1"}
		ds.Spec = appsv1.DaemonSetSpec{Selector: selector, Template: template, RevisionHistoryLimit: ptr.To[int32](10),
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{Type: appsv1.RollingUpdateDaemonSetStrategyType, RollingUpdate: &appsv1.RollingUpdateDaemonSet{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)), MaxSurge: ptr.To(intstr.FromInt32(0))}}}
		ds.Status = appsv1.DaemonSetStatus{ObservedGeneration: 1, DesiredNumberScheduled: replicas, CurrentNumberScheduled: replicas,
			NumberReady: replicas, NumberAvailable: replicas, UpdatedNumberScheduled: replicas}
		return []runtime.Object{ds}
	case statefulSet:
		ss := &appsv1.StatefulSet{ObjectMeta: meta}
		ss.UID = uid("StatefulSet", a.ns, a.name)
		serviceName := a.name
		if len(a.services) > 0 && a.services[0].name != "" {
			serviceName = a.services[0].name
		}
		ss.Spec = appsv1.StatefulSetSpec{Replicas: &replicas, Selector: selector, Template: template, ServiceName: serviceName,
			PodManagementPolicy: appsv1.OrderedReadyPodManagement, RevisionHistoryLimit: ptr.To[int32](10),
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{Type: appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{Partition: ptr.To[int32](0)}}}
		rev := a.name + "-" + a.templateHash()
		ss.Status = appsv1.StatefulSetStatus{ObservedGeneration: 1, Replicas: replicas, ReadyReplicas: replicas,
			CurrentReplicas: replicas, UpdatedReplicas: replicas, AvailableReplicas: replicas,
			CurrentRevision: rev, UpdateRevision: rev, CollisionCount: ptr.To[int32](0)}
		return []runtime.Object{ss}
	}
	return nil // static pods have no controller object
}

func gatewayOwner(ns, name string) metav1.OwnerReference {
	return metav1.OwnerReference{APIVersion: "gateway.networking.k8s.io/v1", Kind: "Gateway", Name: name, UID: uid("Gateway", ns, name)}
}

// clusterIP derives a Service's address from its name, as stable as the
// API server's random pick is stable for the life of a Service.
func clusterIP(ns, name string, used map[string]bool) string {
	if ns == "kube-system" && name == "kube-dns" {
		used["10.96.0.10"] = true
		return "10.96.0.10"
	}
	h := fnv.New32a()
	h.Write([]byte(ns + "/" + name))
	v := h.Sum32()
	for {
		ip := fmt.Sprintf("10.%d.%d.%d", 96+(v>>16)%16, (v>>8)&0xff, 2+v%250)
		if !used[ip] {
			used[ip] = true
			return ip
		}
		v++
	}
}

func fnv32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}

func (a app) service(now time.Time, s service, used map[string]bool) *corev1.Service {
	name := s.name
	if name == "" {
		name = a.name
	}
	labels := maps.Clone(a.selector)
	maps.Copy(labels, s.labels)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: a.ns, UID: uid("Service", a.ns, name),
			CreationTimestamp: metav1.NewTime(at(now, a.age)),
			Labels:            labels,
			Annotations:       maps.Clone(s.annotations),
		},
		Spec: corev1.ServiceSpec{
			Type:                  corev1.ServiceTypeClusterIP,
			Selector:              maps.Clone(a.selector),
			Ports:                 s.ports,
			SessionAffinity:       corev1.ServiceAffinityNone,
			IPFamilies:            []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:        ptr.To(corev1.IPFamilyPolicySingleStack),
			InternalTrafficPolicy: ptr.To(corev1.ServiceInternalTrafficPolicyCluster),
		},
	}
	if a.waypoint != "" {
		svc.OwnerReferences = []metav1.OwnerReference{gatewayOwner(a.ns, a.waypoint)}
		svc.Spec.IPFamilyPolicy = ptr.To(corev1.IPFamilyPolicyPreferDualStack)
	}
	if s.loadBalancer != "" {
		svc.Spec.Type = corev1.ServiceTypeLoadBalancer
		svc.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
		svc.Spec.AllocateLoadBalancerNodePorts = ptr.To(true)
		svc.Spec.Ports = slices.Clone(svc.Spec.Ports)
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 30000 + int32(fnv32(a.ns+"/"+name+"/"+svc.Spec.Ports[i].Name)%2768)
		}
		svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: s.loadBalancer, IPMode: ptr.To(corev1.LoadBalancerIPModeVIP)}}
	}
	if s.headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	} else {
		svc.Spec.ClusterIP = clusterIP(a.ns, name, used)
	}
	svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	// istiod (re)writes the condition when the binding changes: the label
	// was added with the waypoint, a few minutes after the Service existed.
	when := metav1.NewTime(at(now, min(a.podAge, a.age)-4*time.Minute))
	switch {
	case s.bound != "":
		msg := "Successfully attached to waypoint " + s.bound
		// istiod adds the ingress advice only when the Service or its
		// namespace has an istio.io/ingress-use-waypoint label.
		if v, ok := s.labels["istio.io/ingress-use-waypoint"]; ok {
			if v == "true" {
				msg += ". Ingress traffic will traverse the waypoint"
			} else {
				msg += ". Ingress traffic is not using the waypoint, set the istio.io/ingress-use-waypoint label to true if desired."
			}
		}
		svc.Status.Conditions = []metav1.Condition{{Type: "istio.io/WaypointBound", Status: metav1.ConditionTrue,
			Reason: "WaypointAccepted", ObservedGeneration: 1, LastTransitionTime: when, Message: msg}}
	case s.unbound != nil:
		c := *s.unbound
		c.ObservedGeneration = 1
		c.LastTransitionTime = when
		svc.Status.Conditions = []metav1.Condition{c}
	}
	return svc
}

func (a app) podMetrics(now time.Time, p *corev1.Pod, i int) *metricsv1beta1.PodMetrics {
	pm := &metricsv1beta1.PodMetrics{
		ObjectMeta: metav1.ObjectMeta{Name: p.Name, Namespace: p.Namespace, Labels: maps.Clone(p.Labels),
			CreationTimestamp: metav1.NewTime(now.Truncate(time.Second))},
		Timestamp: metav1.NewTime(at(now, 11*time.Second)),
		Window:    metav1.Duration{Duration: 16 * time.Second},
	}
	for _, c := range a.allContainers() {
		u := c.usageFor(i)
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{
			Name: c.name, Usage: usageList(p.Namespace+"/"+p.Name+"/"+c.name, u.cpu, u.mem),
		})
	}
	return pm
}

// usageList is a usage in the units metrics-server reports: nanocores and
// KiB, with a stable jitter so the numbers do not look typed in.
func usageList(seed string, milli, mib int64) corev1.ResourceList {
	h := fnv.New64a()
	h.Write([]byte(seed))
	j := int64(h.Sum64() % 1000)
	return corev1.ResourceList{
		corev1.ResourceCPU:    *resource.NewScaledQuantity(milli*1_000_000+j*997, resource.Nano),
		corev1.ResourceMemory: *resource.NewQuantity((mib*1024+j%512)*1024, resource.BinarySI),
	}
}
