package demo

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The homelab is described as a table of apps (this file's types, filled in
// cluster.go) and expanded into objects by build.go. Describing each app
// once is what keeps a Service's targetPort, its pods' container ports, the
// owner chain and the metrics consistent with each other.

// controller is the kind of workload that owns an app's pods.
type controller int

const (
	deployment  controller = iota // Deployment -> ReplicaSet -> pods
	daemonSet                     // one pod on every node
	statefulSet                   // pods named <name>-<ordinal>
	staticPod                     // kubelet manifest; the mirror pod is owned by its Node
)

// mode is what the mesh does with an app's pods.
type mode int

const (
	offMesh   mode = iota // not in any mesh (or opted out by label)
	captured              // ambient: istio-cni set up redirection and a ztunnel accepted the pod
	preEnroll             // ambient namespace, but the pod started before the label and was never restarted
	injected              // sidecar: istio-proxy injected by the webhook
)

// usage is what metrics-server reports for one container.
type usage struct{ cpu, mem int64 } // millicores, MiB

// container is one container of an app's pods.
type container struct {
	name       string
	repo, tag  string // the image, kept apart so image IDs need no parsing
	args       []string
	ports      []corev1.ContainerPort
	cpu, mem   string // requests
	memLimit   string
	use        []usage // per pod in pod order; the last entry repeats
	readyProbe *corev1.Probe
}

func (c container) image() string { return c.repo + ":" + c.tag }

// usageFor returns the container's usage in its app's i-th pod.
func (c container) usageFor(i int) usage {
	if len(c.use) == 0 {
		return usage{}
	}
	if i >= len(c.use) {
		return c.use[len(c.use)-1]
	}
	return c.use[i]
}

// service is a Service in front of an app's pods, selecting them by the
// app's selector.
type service struct {
	name        string // defaults to the app's name
	ports       []corev1.ServicePort
	labels      map[string]string
	annotations map[string]string
	headless    bool
	// loadBalancer, when set, makes it a LoadBalancer Service the LAN's
	// load balancer gave this address.
	loadBalancer string
	// bound is the waypoint ("ns/name") istiod attached this Service to,
	// which it reports in the istio.io/WaypointBound condition.
	bound string
	// unbound is istiod's reason and message when the waypoint the Service
	// asks for cannot be used.
	unbound *metav1.Condition
}

// app is one workload with its pods and Services.
type app struct {
	ns, name    string
	kind        controller
	nodes       []string // one pod per entry; DaemonSets run on every node
	selector    map[string]string
	labels      map[string]string // extra pod labels
	annotations map[string]string // extra pod annotations
	sa          string            // defaults to the app's name
	hostNetwork bool
	mode        mode
	priority    string
	age         time.Duration // of the controller
	podAge      time.Duration // of its pods (the last rollout)
	restarts    int32         // of the first pod's first container
	containers  []container
	services    []service
	// waypoint names the Gateway whose controller made this Deployment.
	waypoint string
}

func (a app) serviceAccount() string {
	if a.sa == "" {
		return a.name
	}
	return a.sa
}

func tcp(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolTCP}
}

func udp(name string, port int32) corev1.ContainerPort {
	return corev1.ContainerPort{Name: name, ContainerPort: port, Protocol: corev1.ProtocolUDP}
}

// sport is a TCP Service port forwarding to a named container port.
func sport(name string, port int32, target string) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromString(target), Protocol: corev1.ProtocolTCP}
}

// nport is a TCP Service port forwarding to a container port by number.
func nport(name string, port, target int32) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(target), Protocol: corev1.ProtocolTCP}
}

// udpPort is a UDP Service port forwarding to a named container port.
func udpPort(name string, port int32, target string) corev1.ServicePort {
	return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromString(target), Protocol: corev1.ProtocolUDP}
}

// probe is an HTTP readiness probe. Kubelet's probes are the traffic istio-cni
// SNATs to 169.254.7.127, which is why NetworkPolicies here admit that address.
func probe(path string, port intstr.IntOrString) *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: port, Scheme: corev1.URISchemeHTTP}},
		PeriodSeconds:    10,
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}
