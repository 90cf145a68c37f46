// Package logstream follows the logs of several pods at once (the ztunnels
// on the nodes of the pods a person is looking at), parses each line with
// ztlog, and hands them over in batches so a view renders once per batch,
// not once per line. Dropped streams reconnect with backoff and say so.
package logstream

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"
)

// Opener opens one container's log. The demo cluster and the real one both
// go through it. Cancelling ctx must end the stream (a Read in progress
// returns), and so must closing the returned reader.
type Opener interface {
	Open(ctx context.Context, namespace, pod, container string, tailLines int64, follow bool) (io.ReadCloser, error)
}

// KubeOpener opens logs through the API server (pods/log), as kubectl logs does.
type KubeOpener struct {
	Client kubernetes.Interface
}

// Open streams the log; tailLines < 0 reads the whole log.
func (o KubeOpener) Open(ctx context.Context, namespace, pod, container string, tailLines int64, follow bool) (io.ReadCloser, error) {
	if o.Client == nil {
		return nil, fmt.Errorf("no Kubernetes client to read logs of %s/%s", namespace, pod)
	}
	opts := &corev1.PodLogOptions{Container: container, Follow: follow}
	if tailLines >= 0 {
		opts.TailLines = &tailLines
	}
	return o.Client.CoreV1().Pods(namespace).GetLogs(pod, opts).Stream(ctx)
}

// The ztunnel DaemonSet's pods: istioctl and the docs find them by this
// label, and the proxy runs in this container.
const (
	ZtunnelLabel     = "app"
	ZtunnelLabelVal  = "ztunnel"
	ZtunnelContainer = "istio-proxy"
)

// ztunnelSelector matches ztunnel pods in whatever namespace Istio runs in.
var ztunnelSelector = labels.SelectorFromSet(labels.Set{ZtunnelLabel: ZtunnelLabelVal})

// Target is one log to follow: a ztunnel pod and the node it serves, or
// a waypoint's pod, whose Envoy access log is read instead.
type Target struct {
	Namespace, Pod, Container, Node string
	// Waypoint is the waypoint (its Gateway, ns/name) whose pod this is;
	// empty for a ztunnel.
	Waypoint string
}

// String names the target as kubectl would.
func (t Target) String() string { return t.Namespace + "/" + t.Pod }

// Plan is what to follow for a set of pods: one ztunnel per node they run
// on, and the nodes that have none.
type Plan struct {
	Targets []Target
	Missing []string // nodes with selected pods but no ztunnel pod
	// NoPods are waypoints (ns/name) asked for that run no pod.
	NoPods []string
}

// The labels istiod's waypoint Deployment gives its pods.
const (
	WaypointGatewayLabel = "gateway.networking.k8s.io/gateway-name"
	WaypointManagedLabel = "gateway.istio.io/managed"
	WaypointManagedValue = "istio.io-mesh-controller"
)

// WithWaypoints adds the pods of each waypoint (ns/name) to the plan, so
// their Envoy access logs are followed beside the ztunnels; a waypoint
// with no scheduled pod is named in NoPods.
func (p Plan) WithWaypoints(waypoints []string, all []*corev1.Pod) Plan {
	seen := map[string]bool{}
	for _, wp := range waypoints {
		ns, name, ok := strings.Cut(wp, "/")
		if !ok || seen[wp] {
			continue
		}
		seen[wp] = true
		var found []Target
		for _, pod := range all {
			if pod == nil || pod.Namespace != ns || pod.Labels[WaypointGatewayLabel] != name ||
				pod.Labels[WaypointManagedLabel] != WaypointManagedValue || pod.Spec.NodeName == "" || pod.DeletionTimestamp != nil {
				continue
			}
			t := targetOf(pod)
			t.Waypoint = wp
			found = append(found, t)
		}
		slices.SortFunc(found, func(a, b Target) int { return cmp.Compare(a.Pod, b.Pod) })
		if len(found) == 0 {
			p.NoPods = append(p.NoPods, wp)
		}
		p.Targets = append(p.Targets, found...)
	}
	return p
}

// ZtunnelsFor plans the logs to follow for the selected pods, given every
// pod in the cluster: the ztunnel pod on each node that runs a selected pod.
// Pods not yet scheduled have no node and no ztunnel to ask.
func ZtunnelsFor(selected, all []*corev1.Pod) Plan {
	byNode := map[string]*corev1.Pod{}
	for _, p := range all {
		if p == nil || p.Spec.NodeName == "" || !ztunnelSelector.Matches(labels.Set(p.Labels)) {
			continue
		}
		if cur := byNode[p.Spec.NodeName]; cur == nil || better(p, cur) {
			byNode[p.Spec.NodeName] = p
		}
	}
	var plan Plan
	seen := map[string]bool{}
	for _, p := range selected {
		if p == nil || p.Spec.NodeName == "" || seen[p.Spec.NodeName] {
			continue
		}
		node := p.Spec.NodeName
		seen[node] = true
		if z := byNode[node]; z != nil {
			plan.Targets = append(plan.Targets, targetOf(z))
		} else {
			plan.Missing = append(plan.Missing, node)
		}
	}
	slices.SortFunc(plan.Targets, func(a, b Target) int { return cmp.Compare(a.Node, b.Node) })
	slices.Sort(plan.Missing)
	return plan
}

// better prefers a running, not terminating, newer pod: during a rollout
// a node briefly has two ztunnels and the new one is the one that logs.
func better(a, b *corev1.Pod) bool {
	ra, rb := live(a), live(b)
	if ra != rb {
		return ra
	}
	return b.CreationTimestamp.Before(&a.CreationTimestamp)
}

func live(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
}

func targetOf(p *corev1.Pod) Target {
	c := ZtunnelContainer
	if !slices.ContainsFunc(p.Spec.Containers, func(k corev1.Container) bool { return k.Name == c }) && len(p.Spec.Containers) > 0 {
		c = p.Spec.Containers[0].Name
	}
	return Target{Namespace: p.Namespace, Pod: p.Name, Container: c, Node: p.Spec.NodeName}
}

// Locator finds the ztunnel that now runs on a node, for when the one being
// followed was replaced (a DaemonSet rollout gives the pod a new name).
type Locator interface {
	Ztunnel(ctx context.Context, node string) (Target, error)
}

// KubeLocator asks the API server for the ztunnel pod on a node.
type KubeLocator struct {
	Client    kubernetes.Interface
	Namespace string // "" searches every namespace
}

// Ztunnel lists the ztunnel pods scheduled on node and picks the live one.
func (l KubeLocator) Ztunnel(ctx context.Context, node string) (Target, error) {
	list, err := l.Client.CoreV1().Pods(l.Namespace).List(ctx, metav1.ListOptions{
		LabelSelector: ztunnelSelector.String(),
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String(),
	})
	if err != nil {
		return Target{}, err
	}
	var best *corev1.Pod
	for i := range list.Items {
		p := &list.Items[i]
		if p.Spec.NodeName != node { // fake clientsets ignore field selectors
			continue
		}
		if best == nil || better(p, best) {
			best = p
		}
	}
	if best == nil {
		return Target{}, fmt.Errorf("no ztunnel pod (label %s=%s) on node %s", ZtunnelLabel, ZtunnelLabelVal, node)
	}
	return targetOf(best), nil
}
