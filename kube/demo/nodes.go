package demo

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// node is one machine of the homelab.
type node struct {
	name    string
	ip      string // InternalIP
	podCIDR string // allocated by kube-controller-manager; pod IPs come from it
	subnet  int    // third octet of podCIDR, to hand out pod IPs
	cpu     string
	memory  string
	age     time.Duration
	// base is what the node uses outside pods (kubelet, containerd, the
	// kernel), added to its pods' usage for NodeMetrics.
	baseCPU, baseMem int64 // millicores, MiB
}

const (
	kubeletVersion   = "v1.36.2"
	containerRuntime = "containerd://2.1.4"
	controlPlane     = "homelab-cp"
)

// nodes are a kubeadm control plane and four workers, built a few weeks apart.
var nodes = []node{
	{name: controlPlane, ip: "10.0.10.10", podCIDR: "10.244.0.0/24", subnet: 0, cpu: "4", memory: "8029348Ki", age: 412 * day, baseCPU: 160, baseMem: 1210},
	{name: "homelab-w1", ip: "10.0.10.11", podCIDR: "10.244.1.0/24", subnet: 1, cpu: "8", memory: "32761456Ki", age: 412 * day, baseCPU: 70, baseMem: 820},
	{name: "homelab-w2", ip: "10.0.10.12", podCIDR: "10.244.2.0/24", subnet: 2, cpu: "8", memory: "32761456Ki", age: 412 * day, baseCPU: 85, baseMem: 860},
	{name: "homelab-w3", ip: "10.0.10.13", podCIDR: "10.244.3.0/24", subnet: 3, cpu: "8", memory: "32761456Ki", age: 287 * day, baseCPU: 65, baseMem: 790},
	{name: "homelab-w4", ip: "10.0.10.14", podCIDR: "10.244.4.0/24", subnet: 4, cpu: "8", memory: "32761456Ki", age: 287 * day, baseCPU: 60, baseMem: 770},
}

const day = 24 * time.Hour

// nodeNames are the names of every node, in order.
func nodeNames() []string {
	out := make([]string, len(nodes))
	for i, n := range nodes {
		out[i] = n.name
	}
	return out
}

func nodeByName(name string) node {
	for _, n := range nodes {
		if n.name == name {
			return n
		}
	}
	panic("demo: unknown node " + name) // a typo in this file's tables, caught by the tests
}

func (n node) object(now time.Time) *corev1.Node {
	created := at(now, n.age)
	labels := map[string]string{
		"beta.kubernetes.io/arch": "amd64",
		"beta.kubernetes.io/os":   "linux",
		"kubernetes.io/arch":      "amd64",
		"kubernetes.io/hostname":  n.name,
		"kubernetes.io/os":        "linux",
	}
	var taints []corev1.Taint
	if n.name == controlPlane {
		labels["node-role.kubernetes.io/control-plane"] = ""
		labels["node.kubernetes.io/exclude-from-external-load-balancers"] = ""
		taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
	}
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:              resource.MustParse(n.cpu),
		corev1.ResourceMemory:           resource.MustParse(n.memory),
		corev1.ResourcePods:             resource.MustParse("110"),
		corev1.ResourceEphemeralStorage: resource.MustParse("479079112Ki"),
	}
	allocatable := capacity.DeepCopy()
	// kubeadm's default eviction threshold keeps 100Mi back from pods.
	mem := capacity[corev1.ResourceMemory]
	mem.Sub(resource.MustParse("100Mi"))
	allocatable[corev1.ResourceMemory] = mem
	heartbeat := metav1.NewTime(at(now, 23*time.Second))
	since := metav1.NewTime(at(now, 33*day)) // the last reboot, for the 1.36 upgrade
	cond := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, LastHeartbeatTime: heartbeat, LastTransitionTime: since, Reason: reason, Message: msg}
	}
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:              n.name,
			UID:               uid("Node", "", n.name),
			CreationTimestamp: metav1.NewTime(created),
			Labels:            labels,
			Annotations: map[string]string{
				"kubeadm.alpha.kubernetes.io/cri-socket":                 "unix:///var/run/containerd/containerd.sock",
				"node.alpha.kubernetes.io/ttl":                           "0",
				"projectcalico.org/IPv4Address":                          n.ip + "/24",
				"volumes.kubernetes.io/controller-managed-attach-detach": "true",
			},
		},
		Spec: corev1.NodeSpec{PodCIDR: n.podCIDR, PodCIDRs: []string{n.podCIDR}, Taints: taints},
		Status: corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: allocatable,
			Conditions: []corev1.NodeCondition{
				cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "CalicoIsUp", "Calico is running on this node"),
				cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
				cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
				cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
				cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
			},
			Addresses: []corev1.NodeAddress{
				{Type: corev1.NodeInternalIP, Address: n.ip},
				{Type: corev1.NodeHostName, Address: n.name},
			},
			DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
			NodeInfo: corev1.NodeSystemInfo{
				MachineID:               digest("machine/" + n.name)[:32],
				SystemUUID:              string(uid("System", "", n.name)),
				BootID:                  string(uid("Boot", "", n.name)),
				KernelVersion:           "6.8.0-79-generic",
				OSImage:                 "Ubuntu 24.04.3 LTS",
				ContainerRuntimeVersion: containerRuntime,
				KubeletVersion:          kubeletVersion,
				OperatingSystem:         "linux",
				Architecture:            "amd64",
			},
		},
	}
}

// at is the time age before now, at the second resolution the API server keeps.
func at(now time.Time, age time.Duration) time.Time {
	return now.Add(-age).Truncate(time.Second)
}

// ipam hands out pod addresses from each node's pod CIDR, in the order pods
// are built. It starts at .10, past the addresses a CNI keeps for itself.
type ipam map[string]int

func (a ipam) next(n node) string {
	a[n.name]++
	return fmt.Sprintf("10.244.%d.%d", n.subnet, 9+a[n.name])
}
