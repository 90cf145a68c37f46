package logs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"

	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/logs"
)

// These tests open the pane on a pod of a real API server whose node runs
// a ztunnel pod, served by kwok: the log travels pods/log → API server →
// kwok's kubelet API → the file AppendPodLog writes, as kubectl logs -f
// reads it. Without KUBEENV_BIN they skip.

// Size of the pane in these tests: wide enough that no column the tests
// read is cut.
const (
	clusterWidth  = 180
	clusterHeight = 16
)

// mesh is a node with a ztunnel and one ambient pod on it.
type mesh struct {
	env     *kubeenv.Env
	node    string
	ztunnel *corev1.Pod
	web     *corev1.Pod
}

func startMesh(t *testing.T) *mesh {
	t.Helper()
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	node := env.CreateNode(t, "node-a", nil).Name
	env.CreateNamespace(t, "istio-system", nil)
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient"})
	m := &mesh{env: env, node: node}
	m.ztunnel = env.CreatePod(t, ztunnelPod(node, "ztunnel-x7k2p"))
	m.web = env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-7d4b9c8f6-k2x9p", Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{"ambient.istio.io/redirection": "enabled"}},
		Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "web", Image: "example/web"}}},
	})
	return m
}

func ztunnelPod(node, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: name,
			Labels: map[string]string{logstream.ZtunnelLabel: logstream.ZtunnelLabelVal}},
		Spec: corev1.PodSpec{NodeName: node,
			Containers: []corev1.Container{{Name: logstream.ZtunnelContainer, Image: "docker.io/istio/ztunnel:1.31.1"}}},
	}
}

// open opens the pane on the web pod, planning its ztunnel from the pods
// the server has, as the UI does from its snapshot.
func (m *mesh) open(t *testing.T, opt logs.Options) *driver {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	list, err := m.env.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all []*corev1.Pod
	for i := range list.Items {
		all = append(all, &list.Items[i])
	}
	target := logs.TargetFor("shop/web", "shop", false, []*corev1.Pod{m.web}, all, nil)
	if len(target.Plan.Targets) != 1 || target.Plan.Targets[0].Pod != m.ztunnel.Name {
		t.Fatalf("the plan for shop/web is %+v, want the ztunnel %s on %s", target.Plan, m.ztunnel.Name, m.node)
	}
	pane, cmd := logs.Open(ctx, theme.Plain, target, logstream.KubeOpener{Client: m.env.Client}, opt)
	d := &driver{t: t, m: pane.SetSize(clusterWidth, clusterHeight), msgs: make(chan tea.Msg, 1)}
	// Registered after the env's cleanup, so it runs first: the stream
	// stops before the API server it reads from.
	t.Cleanup(func() { d.m.Close(); cancel() })
	d.run(cmd)
	return d
}

// log appends ztunnel lines to the ztunnel's container log.
func (m *mesh) log(t *testing.T, lines ...string) {
	t.Helper()
	m.env.AppendPodLog(t, m.ztunnel.Namespace, m.ztunnel.Name, logstream.ZtunnelContainer, lines...)
}

// driver runs a pane the way the Bubble Tea runtime does: each command in
// its own goroutine, each message it returns through Update on one
// goroutine, the view drawn after every message.
type driver struct {
	t    *testing.T
	m    logs.Model
	msgs chan tea.Msg // the pane waits for one batch at a time
}

func (d *driver) run(cmd tea.Cmd) {
	if cmd != nil {
		go func() { d.msgs <- cmd() }()
	}
}

// await feeds messages to the pane until its view satisfies ok (which
// returns "" then, or what is still missing), and fails after timeout.
func (d *driver) await(timeout time.Duration, ok func(view string) string) string {
	d.t.Helper()
	deadline := time.After(timeout)
	for {
		v := d.m.View(clusterWidth, clusterHeight)
		why := ok(v)
		if why == "" {
			return v
		}
		select {
		case msg := <-d.msgs:
			var cmd tea.Cmd
			d.m, cmd = d.m.Update(msg)
			d.run(cmd)
		case <-deadline:
			d.t.Fatalf("after %s the pane %s:\n%s", timeout, why, v)
		}
	}
}

// shows is an await condition: every one of want is on screen and none of
// unwanted.
func shows(want []string, unwanted ...string) func(string) string {
	return func(v string) string {
		var lack []string
		for _, w := range want {
			if !strings.Contains(v, w) {
				lack = append(lack, w)
			}
		}
		for _, u := range unwanted {
			if strings.Contains(v, u) {
				return fmt.Sprintf("shows %q", u)
			}
		}
		if len(lack) > 0 {
			return fmt.Sprintf("lacks %q", lack)
		}
		return ""
	}
}

// stamp is the time as ztunnel writes it. Lines carry the time they are
// written: after a reconnect the stream skips lines not newer than the
// last one it showed, as a real ztunnel's tail repeats them.
func stamp() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000000Z") }

// Lines in ztunnel's format (TAB-separated, src/telemetry.rs), with the
// test's pods in them.
func enrolled(pod *corev1.Pod) string {
	return fmt.Sprintf("%s\tinfo\tinpod::statemanager\tpod received, starting proxy\tuid=%q name=%q namespace=%q",
		stamp(), string(pod.UID), pod.Name, pod.Namespace)
}

func inbound(pod *corev1.Pod, from string, sent, recv int) string {
	ip := pod.Status.PodIP
	return fmt.Sprintf("%s\tinfo\taccess\tconnection complete\tsrc.addr=10.244.9.12:60059 src.workload=%q src.namespace=\"shop\" src.identity=\"spiffe://cluster.local/ns/shop/sa/%s\" "+
		"dst.addr=%s:8080 dst.hbone_addr=\"%s:8080\" dst.service=\"web.shop.svc.cluster.local\" dst.workload=%q dst.namespace=\"shop\" dst.identity=\"spiffe://cluster.local/ns/shop/sa/web\" "+
		"direction=\"inbound\" bytes_sent=%d bytes_recv=%d duration=\"1ms\"",
		stamp(), from, strings.SplitN(from, "-", 2)[0], ip, ip, pod.Name, sent, recv)
}

// unrelated is a connection between two other pods on the node.
func unrelated() string {
	return stamp() + "\tinfo\taccess\tconnection complete\tsrc.addr=10.244.9.30:41266 src.workload=\"report-28859140-qz7vd\" src.namespace=\"batch\" src.identity=\"spiffe://cluster.local/ns/batch/sa/report\" " +
		"dst.addr=10.244.9.31:15008 dst.hbone_addr=10.244.9.31:5432 dst.service=\"postgres.batch.svc.cluster.local\" dst.workload=\"postgres-0\" dst.namespace=\"batch\" dst.identity=\"spiffe://cluster.local/ns/batch/sa/postgres\" " +
		"direction=\"outbound\" bytes_sent=5483 bytes_recv=1483 duration=\"13ms\""
}

// hboneTimeout is the line ztunnel writes when a NetworkPolicy drops HBONE
// from pod to a database.
func hboneTimeout(pod *corev1.Pod) string {
	return fmt.Sprintf("%s\terror\taccess\tconnection complete\tsrc.addr=%s:58592 src.workload=%q src.namespace=\"shop\" src.identity=\"spiffe://cluster.local/ns/shop/sa/web\" "+
		"dst.addr=10.244.9.31:15008 dst.hbone_addr=10.244.9.31:5432 dst.service=\"postgres.batch.svc.cluster.local\" dst.workload=\"postgres-0\" dst.namespace=\"batch\" dst.identity=\"spiffe://cluster.local/ns/batch/sa/postgres\" "+
		"direction=\"outbound\" bytes_sent=0 bytes_recv=0 duration=\"10002ms\" error=\"connection timed out, maybe a NetworkPolicy is blocking HBONE port 15008: deadline has elapsed\"",
		stamp(), pod.Status.PodIP, pod.Name)
}

func TestClusterLogsShowLineWrittenAfterOpen(t *testing.T) {
	m := startMesh(t)
	m.log(t, enrolled(m.web), unrelated(), inbound(m.web, "curl-6d8f5c7b9-r7zb9", 175, 80))

	d := m.open(t, logs.Options{})
	following := fmt.Sprintf("following istio-system/%s on node %s", m.ztunnel.Name, m.node)
	v := d.await(30*time.Second, shows([]string{
		"shop/web", m.node + " (" + m.ztunnel.Name + ")", // title
		following,
		"pod received, starting proxy", "name=" + m.web.Name,
		"curl-6d8f5c7b9-r7zb9", "web.shop", "175/80",
		"3/4 lines", // the note and the two lines about web, of four
	}, "report-28859140", "postgres"))
	t.Logf("history:\n%s", v)

	// A connection made now, with the pane open and following.
	m.log(t, hboneTimeout(m.web))
	v = d.await(30*time.Second, shows([]string{
		"curl-6d8f5c7b9-r7zb9", // still there
		"10002ms", "connection timed out, maybe a NetworkPolicy",
		"▲ HBONE connect timed out",
		// The newest line is the one explained below the rows.
		"n: NetworkPolicy patch " + m.web.Status.PodIP + " → 10.244.9.31:15008",
		"following", "4/5 lines",
	}, "report-28859140"))
	t.Logf("after a new line:\n%s", v)
}

// kwok's kubelet API never ends a followed log by itself (its stand-in
// container runtime reports every container as running), where a real
// kubelet ends it when the container exits. Restarting the API server ends
// it from the other side: every follow through it breaks, as when the
// ztunnel container exits. The backoff is shortened only so the retries
// during the outage do not grow to the default 30 s.
var quickRetry = logs.Options{Stream: logstream.Options{BackoffMin: 200 * time.Millisecond, BackoffMax: 2 * time.Second}}

// breakStreams ends every followed log by restarting the API server.
func (m *mesh) breakStreams(t *testing.T, d *driver, followed string) {
	t.Helper()
	m.env.StopAPIServer(t)
	v := d.await(30*time.Second, shows([]string{followed + ": the stream"}))
	t.Logf("with the log stream cut:\n%s", v)
	m.env.StartAPIServer(t)
}

// deleteZtunnel deletes the followed ztunnel pod and waits until it is gone.
func (m *mesh) deleteZtunnel(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	pods := m.env.Client.CoreV1().Pods(m.ztunnel.Namespace)
	if err := pods.Delete(ctx, m.ztunnel.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr.To[int64](0)}); err != nil {
		t.Fatal(err)
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := pods.Get(ctx, m.ztunnel.Name, metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the deleted ztunnel pod %s never went away: %v", m.ztunnel.Name, err)
	}
}

// The ztunnel pod restarts under its own name: the pane says its stream
// ended, reconnects to the same pod, says so, and shows what the
// restarted ztunnel logs.
func TestClusterLogsReconnectAfterZtunnelRestart(t *testing.T) {
	m := startMesh(t)
	m.log(t, enrolled(m.web))
	d := m.open(t, quickRetry)
	d.await(30*time.Second, shows([]string{"pod received, starting proxy", "2/2 lines"}))

	m.deleteZtunnel(t)
	m.ztunnel = m.env.CreatePod(t, ztunnelPod(m.node, m.ztunnel.Name))
	m.breakStreams(t, d, "istio-system/"+m.ztunnel.Name)
	m.log(t, inbound(m.web, "curl-6d8f5c7b9-r7zb9", 175, 80))
	v := d.await(45*time.Second, shows([]string{
		"reconnected to istio-system/" + m.ztunnel.Name,
		"pod received, starting proxy", // what was shown stays
		"curl-6d8f5c7b9-r7zb9", "175/80",
	}))
	t.Logf("after the restart:\n%s", v)
}

// The ztunnel pod is replaced by one of another name, as a DaemonSet
// rollout does: with a Locator the pane finds the replacement on the same
// node, says so, and follows it.
func TestClusterLogsFollowReplacedZtunnel(t *testing.T) {
	m := startMesh(t)
	m.log(t, enrolled(m.web))
	opt := quickRetry
	opt.Stream.Locator = logstream.KubeLocator{Client: m.env.Client}
	d := m.open(t, opt)
	d.await(30*time.Second, shows([]string{"pod received, starting proxy", "2/2 lines"}))

	old := m.ztunnel.Name
	m.deleteZtunnel(t)
	m.ztunnel = m.env.CreatePod(t, ztunnelPod(m.node, "ztunnel-q9w4m"))
	m.log(t, inbound(m.web, "curl-6d8f5c7b9-r7zb9", 175, 80))
	m.breakStreams(t, d, "istio-system/"+old)
	v := d.await(45*time.Second, shows([]string{
		fmt.Sprintf("ztunnel istio-system/%s on node %s is gone; following its replacement istio-system/%s", old, m.node, m.ztunnel.Name),
		"reconnected to istio-system/" + m.ztunnel.Name,
		"curl-6d8f5c7b9-r7zb9", "175/80",
	}))
	t.Logf("after the replacement:\n%s", v)
}

// A pod behind a waypoint: the pane follows the waypoint pod's istio-proxy
// log through pods/log as well, and shows Envoy's access lines parsed,
// the one for web's Service kept, another Service's filtered out.
func TestClusterWaypointAccessLog(t *testing.T) {
	m := startMesh(t)
	wp := m.env.CreatePod(t, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "waypoint-6d8c9-q1w2e", Labels: map[string]string{
			logstream.WaypointGatewayLabel: "waypoint", logstream.WaypointManagedLabel: logstream.WaypointManagedValue}},
		Spec: corev1.PodSpec{NodeName: m.node, Containers: []corev1.Container{{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.31.1"}}},
	})
	at := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
	m.env.AppendPodLog(t, wp.Namespace, wp.Name, "istio-proxy",
		stamp()+"\tinfo\tEnvoy proxy is ready",
		fmt.Sprintf(`[%s] "GET /cart HTTP/1.1" 503 UH no_healthy_upstream - "-" 0 19 0 - "-" "curl/8.5.0" "5b1e" "web.shop:8080" "-" inbound-vip|8080|http|web.shop.svc.cluster.local - 10.96.7.7:8080 10.244.9.12:40100 - default`, at),
		fmt.Sprintf(`[%s] "GET /other HTTP/1.1" 200 - via_upstream - "-" 0 50 2 1 "-" "curl/8.5.0" "5b1f" "db.shop:80" "envoy://connect_originate/10.244.9.40:80" inbound-vip|80|http|db.shop.svc.cluster.local envoy://internal_client_address/ 10.96.7.8:80 10.244.9.12:40101 - default`, at))

	list, err := m.env.Client.CoreV1().Pods("").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all []*corev1.Pod
	for i := range list.Items {
		all = append(all, &list.Items[i])
	}
	target := logs.TargetFor("shop/web", "shop", false, []*corev1.Pod{m.web}, all, []string{"web"}).WithWaypoints([]string{"shop/waypoint"}, all)
	if len(target.Plan.Targets) != 2 || target.Plan.Targets[1].Pod != wp.Name {
		t.Fatalf("plan: %+v", target.Plan)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pane, cmd := logs.Open(ctx, theme.Plain, target, logstream.KubeOpener{Client: m.env.Client}, logs.Options{})
	d := &driver{t: t, m: pane.SetSize(clusterWidth, clusterHeight), msgs: make(chan tea.Msg, 1)}
	t.Cleanup(func() { d.m.Close(); cancel() })
	d.run(cmd)
	d.await(20*time.Second, shows([]string{"ztunnel + waypoint logs · shop/web", "waypoint shop/waypoint (" + wp.Name + ")",
		"503", "web.shop", "GET /cart UH no_healthy_upstream"}, "GET /other"))
}
