package kubeenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
)

// kwokStages are the kwok stage and metric configs (copied out of the kwok
// module by build.sh) the env runs with: nodes become Ready at once, pods
// Running with an IP, deleted pods go away, and pod usage is read from the
// kwok.x-k8s.io/usage-* annotations for metrics-server. No heartbeat
// stage: nothing here would mark a silent node NotReady, and heartbeats
// would only add writes to the audit log.
var kwokStages = []string{
	"node-initialize.yaml",
	"pod-ready.yaml",
	"pod-complete.yaml",
	"pod-delete.yaml",
	"metrics-resource.yaml",
	"usage-from-annotation.yaml",
}

// kwokCRDs are the kwok APIs the env enables (--enable-crds).
var kwokCRDs = []string{"kwok.x-k8s.io_logs.yaml", "kwok.x-k8s.io_clusterlogs.yaml", "kwok.x-k8s.io_portforwards.yaml"}

// Annotations that tell kwok what a pod uses, shown by metrics-server.
const (
	UsageCPUAnnotation    = "kwok.x-k8s.io/usage-cpu"
	UsageMemoryAnnotation = "kwok.x-k8s.io/usage-memory"
)

func (e *Env) startKwok(ctx context.Context, port int) error {
	cfgDir := filepath.Join(e.bin, "kwok-config")
	var crds []string
	for _, f := range kwokCRDs {
		crds = append(crds, filepath.Join(cfgDir, "crds", f))
	}
	objs, err := readManifests(crds...)
	if err != nil {
		return fmt.Errorf("kwok CRDs: %w", err)
	}
	if err := e.apply(ctx, objs); err != nil {
		return fmt.Errorf("kwok CRDs: %w", err)
	}
	var cfg strings.Builder
	for _, f := range kwokStages {
		b, err := os.ReadFile(filepath.Join(cfgDir, "stages", f))
		if err != nil {
			return fmt.Errorf("kwok config: %w", err)
		}
		cfg.WriteString("---\n")
		cfg.Write(b)
		cfg.WriteString("\n")
	}
	cfgPath := filepath.Join(e.Dir, "kwok.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg.String()), 0o644); err != nil {
		return err
	}
	kubeconfig, err := e.KubeconfigFor(kwokUser)
	if err != nil {
		return err
	}
	e.kwok = newProcess(e.Dir, e.bin, "kwok",
		"--kubeconfig="+kubeconfig,
		"--config="+cfgPath,
		"--manage-all-nodes=true",
		"--node-ip=127.0.0.1",
		// The API server reaches every node's kubelet API (logs, metrics)
		// at InternalIP:port, which is this one kwok server.
		"--node-port="+strconv.Itoa(port),
		"--server-address=127.0.0.1:"+strconv.Itoa(port),
		"--cidr=10.244.0.0/16",
		"--enable-crds=Logs,ClusterLogs,PortForward",
	)
	if err := e.kwok.start(); err != nil {
		return err
	}
	// kwok serves plain HTTP and TLS on the one port; its health check
	// also catches a port taken before kwok could bind it.
	hc := &http.Client{Timeout: time.Second}
	return waitFor(e.kwok, 30*time.Second, func() error {
		resp, err := hc.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("kwok /healthz: %s", resp.Status)
		}
		return nil
	})
}

// NodeMetricsPathAnnotation tells metrics-server where kwok serves a node's
// resource metrics.
const NodeMetricsPathAnnotation = "metrics.k8s.io/resource-metrics-path"

// CreateNode creates a kwok node and waits until it is Ready with an
// InternalIP. Labels are added to the usual kubernetes.io/hostname.
func (e *Env) CreateNode(t testing.TB, name string, labels map[string]string) *corev1.Node {
	t.Helper()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        name,
		Labels:      map[string]string{corev1.LabelHostname: name, "type": "kwok"},
		Annotations: map[string]string{NodeMetricsPathAnnotation: "/metrics/nodes/" + name + "/metrics/resource"},
	}}
	for k, v := range labels {
		n.Labels[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.Client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubeenv: create node %s: %v", name, err)
	}
	var got *corev1.Node
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		n, err := e.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = n
		return nodeReady(n), nil
	})
	if err != nil {
		t.Fatalf("kubeenv: node %s not Ready (is kwok running?): %v; last status: %+v\n%s", name, err, statusOf(got), e.LogTails(10))
	}
	return got
}

func nodeReady(n *corev1.Node) bool {
	ready := false
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
			ready = true
		}
	}
	hasIP := slices.ContainsFunc(n.Status.Addresses, func(a corev1.NodeAddress) bool { return a.Type == corev1.NodeInternalIP })
	return ready && hasIP
}

func statusOf(n *corev1.Node) any {
	if n == nil {
		return nil
	}
	return n.Status.Conditions
}

// CreatePod creates pod on a kwok node and waits until it is Running with
// a pod IP, returning it as the server has it. Without a scheduler the pod
// must name its node: an empty spec.nodeName is an error, not a guess.
func (e *Env) CreatePod(t testing.TB, pod *corev1.Pod) *corev1.Pod {
	t.Helper()
	if pod.Spec.NodeName == "" {
		t.Fatalf("kubeenv: pod %s/%s has no spec.nodeName; nothing schedules pods here (use a node from CreateNode)", pod.Namespace, pod.Name)
	}
	if len(pod.Spec.Containers) == 0 {
		t.Fatalf("kubeenv: pod %s/%s has no containers", pod.Namespace, pod.Name)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := e.Client.CoreV1().Pods(pod.Namespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatalf("kubeenv: create pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	return e.WaitPodRunning(t, pod.Namespace, pod.Name)
}

// WaitPodRunning waits until a pod is Running with a pod IP.
func (e *Env) WaitPodRunning(t testing.TB, namespace, name string) *corev1.Pod {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got *corev1.Pod
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		p, err := e.Client.CoreV1().Pods(namespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		got = p
		return p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "", nil
	})
	if err != nil {
		phase := "unknown"
		if got != nil {
			phase = string(got.Status.Phase)
		}
		t.Fatalf("kubeenv: pod %s/%s not Running with an IP (phase %s): %v\n%s", namespace, name, phase, err, e.LogTails(10))
	}
	return got
}

// CreateNamespace creates a namespace with labels (nil for none).
func (e *Env) CreateNamespace(t testing.TB, name string, labels map[string]string) *corev1.Namespace {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	got, err := e.Client.CoreV1().Namespaces().Create(context.Background(), ns, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("kubeenv: create namespace %s: %v", name, err)
	}
	return got
}

// kwokLogs mirrors kwok.x-k8s.io/v1alpha1 Logs, the object that tells kwok
// which file holds a pod's container log. Only the fields the harness sets
// are here: importing sigs.k8s.io/kwok would add its whole dependency tree
// to the main module for four fields.
type kwokLogs struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              kwokLogsSpec `json:"spec"`
}

type kwokLogsSpec struct {
	Logs []kwokLog `json:"logs"`
}

type kwokLog struct {
	Containers []string `json:"containers"`
	LogsFile   string   `json:"logsFile"`
	Follow     bool     `json:"follow"`
}

// podLogs is the log files of one pod's containers.
type podLogs struct {
	files map[string]string // container → file
}

// AppendPodLog appends lines to a container's log, which the API server
// then serves (pods/log, also followed) through kwok. Each line is stamped
// with the current time, as a container runtime would.
func (e *Env) AppendPodLog(t testing.TB, namespace, pod, container string, lines ...string) {
	t.Helper()
	file, err := e.podLogFile(namespace, pod, container)
	if err != nil {
		t.Fatalf("kubeenv: log of %s/%s %s: %v", namespace, pod, container, err)
	}
	var b strings.Builder
	for _, l := range lines {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("kubeenv: AppendPodLog: a line may not contain a line break: %q", l)
		}
		// The CRI log format: time, stream, F for a full line, text.
		fmt.Fprintf(&b, "%s stdout F %s\n", time.Now().UTC().Format(time.RFC3339Nano), l)
	}
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatalf("kubeenv: AppendPodLog: %v", err)
	}
	defer f.Close()
	// One write, so a follower never sees half a line.
	if _, err := f.WriteString(b.String()); err != nil {
		t.Fatalf("kubeenv: AppendPodLog: %v", err)
	}
}

// podLogFile returns the file behind a container's log, creating it and
// pointing kwok at it the first time.
func (e *Env) podLogFile(namespace, pod, container string) (string, error) {
	if namespace == "" || pod == "" || container == "" {
		return "", fmt.Errorf("namespace, pod and container must all be given")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	key := namespace + "/" + pod
	pl := e.logs[key]
	if pl == nil {
		pl = &podLogs{files: map[string]string{}}
		e.logs[key] = pl
	}
	if f, ok := pl.files[container]; ok {
		return f, nil
	}
	dir := filepath.Join(e.Dir, "podlogs", namespace, pod)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	file := filepath.Join(dir, container+".log")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		return "", err
	}
	pl.files[container] = file
	obj := kwokLogs{
		TypeMeta:   metav1.TypeMeta{APIVersion: "kwok.x-k8s.io/v1alpha1", Kind: "Logs"},
		ObjectMeta: metav1.ObjectMeta{Name: pod, Namespace: namespace},
	}
	containers := make([]string, 0, len(pl.files))
	for c := range pl.files {
		containers = append(containers, c)
	}
	slices.Sort(containers)
	for _, c := range containers {
		obj.Spec.Logs = append(obj.Spec.Logs, kwokLog{Containers: []string{c}, LogsFile: pl.files[c], Follow: true})
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&obj)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.apply(ctx, []*unstructured.Unstructured{{Object: u}}); err != nil {
		delete(pl.files, container)
		return "", err
	}
	// kwok reads Logs objects through an informer; a request for the log
	// before it has seen this one would get "not found".
	return file, e.waitLogServed(ctx, namespace, pod, container)
}

func (e *Env) waitLogServed(ctx context.Context, namespace, pod, container string) error {
	var last error
	err := wait.PollUntilContextCancel(ctx, 50*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		_, last = e.Client.CoreV1().Pods(namespace).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(ctx)
		if apierrors.IsNotFound(last) && strings.Contains(last.Error(), "pods \""+pod+"\" not found") {
			return false, fmt.Errorf("pod %s/%s does not exist", namespace, pod)
		}
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("kwok does not serve the log: %w (last: %v)", err, last)
	}
	return nil
}

// ForwardPort makes kwok serve port-forwards to a pod's port by connecting
// to target (host:port, on loopback), so a fake server stands in for a
// listener inside the pod (a ztunnel's admin port, say).
func (e *Env) ForwardPort(t testing.TB, namespace, pod string, port int, target string) {
	t.Helper()
	host, tport, err := net.SplitHostPort(target)
	if err != nil {
		t.Fatalf("kubeenv: ForwardPort target %q: %v", target, err)
	}
	e.Apply(t, fmt.Sprintf(`apiVersion: kwok.x-k8s.io/v1alpha1
kind: PortForward
metadata:
  name: %s
  namespace: %s
spec:
  forwards:
  - ports: [%d]
    target:
      address: %s
      port: %s
`, pod, namespace, port, host, tport))
}
