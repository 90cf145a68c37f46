package kube_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	netapi "istio.io/api/networking/v1"
	secapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/rbac"
)

// These tests run kube.Source against a real API server (kube/kubeenv);
// without KUBEENV_BIN they skip.

// watcher runs a Source on a kubeconfig and keeps the latest snapshot.
type watcher struct {
	mu     sync.Mutex
	latest *kube.Snapshot
	seen   chan struct{} // signalled on every snapshot
}

func watch(t *testing.T, kubeconfig string) *watcher {
	t.Helper()
	clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: kubeconfig})
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	w := &watcher{seen: make(chan struct{}, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		kube.NewSource(clients).Run(ctx, func(s *kube.Snapshot) {
			w.mu.Lock()
			w.latest = s
			w.mu.Unlock()
			select {
			case w.seen <- struct{}{}:
			default:
			}
		})
	}()
	// Registered after the env's, so it runs first: the Source stops
	// before the API server it watches.
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// await returns the first snapshot, current or coming within timeout, for
// which ok returns "" and fails with ok's last complaint otherwise.
func (w *watcher) await(t *testing.T, timeout time.Duration, ok func(*kube.Snapshot) string) *kube.Snapshot {
	t.Helper()
	deadline := time.After(timeout)
	why := "no snapshot published"
	for {
		w.mu.Lock()
		s := w.latest
		w.mu.Unlock()
		if s != nil {
			if why = ok(s); why == "" {
				return s
			}
		}
		select {
		case <-w.seen:
		case <-deadline:
			t.Fatalf("after %s: %s", timeout, why)
		}
	}
}

func names[T interface {
	GetNamespace() string
	GetName() string
}](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		out = append(out, strings.TrimPrefix(o.GetNamespace()+"/"+o.GetName(), "/"))
	}
	return out
}

// missing names the wanted objects a list lacks, or "" when it has them all.
func missing(kind string, have []string, want ...string) string {
	var lack []string
	for _, w := range want {
		if !slices.Contains(have, w) {
			lack = append(lack, w)
		}
	}
	if len(lack) == 0 {
		return ""
	}
	return fmt.Sprintf("%s lacks %v (has %v)", kind, lack, have)
}

func pod(ns, name, node string, labels map[string]string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "example/app"}}},
	}
}

// shop creates a small ambient namespace: a pod behind a Service that uses
// a waypoint, the waypoint Gateway, an AuthorizationPolicy on the Service
// and a NetworkPolicy; and a namespace outside the mesh.
func shop(t *testing.T, env *kubeenv.Env, node string) {
	t.Helper()
	ctx := context.Background()
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient", "istio.io/use-waypoint": "waypoint"})
	env.CreateNamespace(t, "legacy", nil)
	env.CreatePod(t, pod("shop", "web-1", node, map[string]string{"app": "web"}))
	env.CreatePod(t, pod("legacy", "old-1", node, map[string]string{"app": "old"}))
	if _, err := env.Client.CoreV1().Services("shop").Create(ctx, &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Client.NetworkingV1().NetworkPolicies("shop").Create(ctx, &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default-deny", Namespace: "shop"},
		Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	gc := gwclient.NewForConfigOrDie(env.Config)
	if _, err := gc.GatewayV1().GatewayClasses().Create(ctx, &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-waypoint"},
		Spec:       gwv1.GatewayClassSpec{ControllerName: "istio.io/mesh-controller"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.GatewayV1().Gateways("shop").Create(ctx, &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Name: "waypoint", Namespace: "shop", Labels: map[string]string{"istio.io/waypoint-for": "service"}},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: "istio-waypoint",
			Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := istioclient.NewForConfigOrDie(env.Config).SecurityV1().AuthorizationPolicies("shop").Create(ctx, &secv1.AuthorizationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "allow-web", Namespace: "shop"},
		Spec: secapi.AuthorizationPolicy{
			TargetRefs: []*typeapi.PolicyTargetReference{{Kind: "Service", Name: "web"}},
			Rules:      []*secapi.Rule{{To: []*secapi.Rule_To{{Operation: &secapi.Operation{Methods: []string{"GET"}}}}}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ic := istioclient.NewForConfigOrDie(env.Config)
	if _, err := ic.NetworkingV1().ServiceEntries("shop").Create(ctx, &netv1.ServiceEntry{
		ObjectMeta: metav1.ObjectMeta{Name: "payments", Namespace: "shop", Labels: map[string]string{"istio.io/use-waypoint": "waypoint"}},
		Spec: netapi.ServiceEntry{
			Hosts:    []string{"payments.example.com"},
			Ports:    []*netapi.ServicePort{{Number: 443, Name: "tls", Protocol: "TLS"}},
			Location: netapi.ServiceEntry_MESH_INTERNAL, Resolution: netapi.ServiceEntry_STATIC,
			WorkloadSelector: &netapi.WorkloadSelector{Labels: map[string]string{"app": "payments"}},
		},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := ic.NetworkingV1().WorkloadEntries("shop").Create(ctx, &netv1.WorkloadEntry{
		ObjectMeta: metav1.ObjectMeta{Name: "payments-vm", Namespace: "shop", Labels: map[string]string{"app": "payments"}},
		Spec:       netapi.WorkloadEntry{Address: "10.9.0.7", Labels: map[string]string{"app": "payments"}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

var allResources = []kube.Resource{
	kube.ResNamespaces, kube.ResPods, kube.ResServices, kube.ResNodes, kube.ResNetworkPolicies,
	kube.ResGateways, kube.ResGatewayClasses, kube.ResAuthorizationPolicies, kube.ResPeerAuthentications, kube.ResRequestAuthentications,
	kube.ResServiceEntries, kube.ResWorkloadEntries,
	kube.ResIstiodDeployments, kube.ResDataplaneDaemonSets, kube.ResIstioConfigMaps, kube.ResIstioWebhooks,
}

// availability says which resources are not in the wanted state.
func availability(s *kube.Snapshot, want map[kube.Resource]kube.Availability) string {
	var bad []string
	for _, r := range allResources {
		w, ok := want[r]
		if !ok {
			w = kube.Available
		}
		if st := s.State(r); st.Availability != w {
			bad = append(bad, fmt.Sprintf("%s is %d (%s), want %d", r, st.Availability, st.Detail, w))
		}
	}
	return strings.Join(bad, "; ")
}

func TestClusterSourceFollowsObjects(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "node-a", nil)
	shop(t, env, node.Name)
	w := watch(t, env.Kubeconfig)

	s := w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		for _, why := range []string{
			availability(s, nil),
			missing("namespaces", names(s.Namespaces), "shop", "legacy", "default", "kube-system"),
			missing("pods", names(s.Pods), "shop/web-1", "legacy/old-1"),
			missing("services", names(s.Services), "shop/web"),
			missing("nodes", names(s.Nodes), "node-a"),
			missing("networkpolicies", names(s.NetworkPolicies), "shop/default-deny"),
			missing("gateways", names(s.Gateways), "shop/waypoint"),
			missing("gatewayclasses", names(s.GatewayClasses), "istio-waypoint"),
			missing("authorizationpolicies", names(s.AuthorizationPolicies), "shop/allow-web"),
			missing("serviceentries", names(s.ServiceEntries), "shop/payments"),
			missing("workloadentries", names(s.WorkloadEntries), "shop/payments-vm"),
		} {
			if why != "" {
				return why
			}
		}
		return ""
	})
	if !s.Reachable || s.Context != "kubeenv" {
		t.Errorf("snapshot reachable=%v context=%q, want reachable on context kubeenv", s.Reachable, s.Context)
	}
	for _, p := range s.Pods {
		if p.Name == "web-1" && (p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "") {
			t.Errorf("web-1 in the snapshot: phase %s IP %q, want Running with an IP", p.Status.Phase, p.Status.PodIP)
		}
		if len(p.ManagedFields) != 0 {
			t.Errorf("pod %s keeps managedFields in the cache", p.Name)
		}
	}
	if _, ok := s.Mesh.Pods[ambient.Key{Namespace: "shop", Name: "web-1"}]; !ok {
		t.Error("the analysis has no entry for shop/web-1")
	}

	// A label change reaches the snapshot within a couple of seconds.
	changed := time.Now()
	patch := []byte(`{"metadata":{"labels":{"istio.io/dataplane-mode":"none"}}}`)
	if _, err := env.Client.CoreV1().Pods("shop").Patch(context.Background(), "web-1", types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	w.await(t, 2*time.Second, func(s *kube.Snapshot) string {
		for _, p := range s.Pods {
			if p.Namespace == "shop" && p.Name == "web-1" {
				if p.Labels["istio.io/dataplane-mode"] == "none" {
					return ""
				}
				return fmt.Sprintf("web-1 labels %v, want istio.io/dataplane-mode=none", p.Labels)
			}
		}
		return "web-1 is gone from the snapshot"
	})
	t.Logf("label change seen after %s", time.Since(changed).Round(time.Millisecond))

	// Deleted objects leave it.
	ctx := context.Background()
	if err := istioclient.NewForConfigOrDie(env.Config).SecurityV1().AuthorizationPolicies("shop").Delete(ctx, "allow-web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.CoreV1().Pods("legacy").Delete(ctx, "old-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.CoreV1().Services("shop").Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.await(t, 10*time.Second, func(s *kube.Snapshot) string {
		if n := names(s.AuthorizationPolicies); slices.Contains(n, "shop/allow-web") {
			return "deleted AuthorizationPolicy still in the snapshot"
		}
		// kwok finishes the graceful deletion a kubelet would.
		if n := names(s.Pods); slices.Contains(n, "legacy/old-1") {
			return "deleted pod still in the snapshot"
		}
		if n := names(s.Services); slices.Contains(n, "shop/web") {
			return "deleted Service still in the snapshot"
		}
		if !slices.Contains(names(s.Pods), "shop/web-1") {
			return "the remaining pod left the snapshot too"
		}
		return ""
	})
}

func TestClusterSourceWithoutMeshCRDs(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "plain", nil)
	env.CreatePod(t, pod("plain", "app-1", node.Name, nil))
	w := watch(t, env.Kubeconfig)
	w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if why := availability(s, map[kube.Resource]kube.Availability{
			kube.ResGateways:               kube.Missing,
			kube.ResGatewayClasses:         kube.Missing,
			kube.ResAuthorizationPolicies:  kube.Missing,
			kube.ResPeerAuthentications:    kube.Missing,
			kube.ResRequestAuthentications: kube.Missing,
			kube.ResServiceEntries:         kube.Missing,
			kube.ResWorkloadEntries:        kube.Missing,
		}); why != "" {
			return why
		}
		if !s.Reachable {
			return "unreachable: " + s.Problem
		}
		return missing("pods", names(s.Pods), "plain/app-1")
	})
}

func TestClusterSourceSurvivesAPIServerRestart(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "apps", nil)
	env.CreatePod(t, pod("apps", "before", node.Name, nil))
	w := watch(t, env.Kubeconfig)
	w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if why := availability(s, nil); why != "" {
			return why
		}
		return missing("pods", names(s.Pods), "apps/before")
	})

	env.StopAPIServer(t)
	down := w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if s.Reachable {
			return "snapshot still says reachable with the API server stopped"
		}
		return ""
	})
	if down.Problem == "" {
		t.Error("unreachable snapshot gives no reason")
	}
	if !slices.Contains(names(down.Pods), "apps/before") {
		t.Error("the outage emptied the snapshot; the last known objects should stay")
	}
	t.Logf("during the outage: %s", down.Problem)

	env.StartAPIServer(t)
	recovered := time.Now()
	env.CreatePod(t, pod("apps", "after", node.Name, nil))
	w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if !s.Reachable {
			return "still unreachable after the restart: " + s.Problem
		}
		if why := availability(s, nil); why != "" {
			return why
		}
		return missing("pods", names(s.Pods), "apps/before", "apps/after")
	})
	t.Logf("recovered and saw the new pod %s after the restart", time.Since(recovered).Round(time.Millisecond))
}

// shippedRoleWithout creates the shipped ambx-auditor ClusterRole (or the
// operator's) under name, less the resources in drop, and returns it: the
// cluster tests run ambx as a user bound by exactly what the repository
// ships, so they prove those rights are enough, and take some away to see
// what a user who lacks them is told.
func shippedRoleWithout(t *testing.T, env *kubeenv.Env, manifest []byte, name string, drop ...string) string {
	t.Helper()
	role, _, err := rbac.Objects(manifest)
	if err != nil {
		t.Fatal(err)
	}
	var rules []rbacv1.PolicyRule
	dropped := 0
	for _, r := range role.Rules {
		kept := slices.DeleteFunc(slices.Clone(r.Resources), func(res string) bool { return slices.Contains(drop, res) })
		dropped += len(r.Resources) - len(kept)
		if len(kept) > 0 {
			r.Resources = kept
			rules = append(rules, r)
		}
	}
	if dropped != len(drop) {
		t.Fatalf("the shipped role grants %d of %q; the test would take away nothing", dropped, drop)
	}
	role.ObjectMeta = metav1.ObjectMeta{Name: name}
	role.Rules = rules
	if _, err := env.Client.RbacV1().ClusterRoles().Create(context.Background(), role, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// A user bound by the shipped auditor role without NetworkPolicies: the
// snapshot says they are forbidden and that the HBONE checks did not run,
// holds no HBONE verdict drawn from the policies it could not read, and the
// findings view of the real binary says so instead of a clean list.
func TestClusterSourceLimitedUser(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	kubeconfig := limitedUserAs(t, env, shippedRoleWithout(t, env, rbac.AuditorYAML, "ambx-auditor-no-netpol", "networkpolicies"))
	w := watch(t, kubeconfig)
	s := w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if why := availability(s, map[kube.Resource]kube.Availability{kube.ResNetworkPolicies: kube.Forbidden}); why != "" {
			return why
		}
		return missing("pods", names(s.Pods), "shop/web-1")
	})
	if d := s.State(kube.ResNetworkPolicies).Detail; !strings.Contains(d, "forbidden") || !strings.Contains(d, kubeenv.LimitedUser) {
		t.Errorf("networkpolicies detail %q, want it to say forbidden for %s", d, kubeenv.LimitedUser)
	}
	if !s.Reachable {
		t.Errorf("a forbidden resource made the cluster look unreachable: %s", s.Problem)
	}
	var skipped []string
	for _, k := range s.Coverage() {
		skipped = append(skipped, k.String())
	}
	if want := "NetworkPolicies forbidden: HBONE checks not run"; !slices.Contains(skipped, want) {
		t.Errorf("checks not run %q, want %q among them", skipped, want)
	}
	if len(skipped) != 1 {
		t.Errorf("only the HBONE checks need NetworkPolicies; not run: %q", skipped)
	}
	for _, f := range s.Findings {
		if kube.CheckOf(f) == "HBONE checks" {
			t.Errorf("an HBONE verdict from NetworkPolicies never read: %s %s", f.Code, f.Object)
		}
	}

	x := startAmbx(t, kubeconfig, "--read-only")
	x.waitScreen(30*time.Second, "READ-ONLY", "connected", "web-1", "1 of 4 checks not run")
	f := x.overlay("!", "Findings (", "partial: 1 of 4 checks not run", "NetworkPolicies forbidden: HBONE checks not run")
	noClean(t, "the findings view without NetworkPolicies", f, "every check ran", "✔ no findings")
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}

// The real ambx binary, built from this module, runs inside a private tmux
// server on a kubeconfig for a user who may only read, in --read-only mode.
// The test reads the screen as a person would and checks the audit log for
// writes.

// tmux is one private tmux server and the session running ambx in it.
type tmux struct {
	t    *testing.T
	sock string
}

func (x tmux) run(args ...string) string {
	x.t.Helper()
	out, err := exec.Command("tmux", append([]string{"-S", x.sock}, args...)...).CombinedOutput()
	if err != nil {
		x.t.Fatalf("tmux %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// screen is what the pane shows now.
func (x tmux) screen() string { return x.run("capture-pane", "-p", "-t", "ambx") }

// waitScreen waits until the screen has every one of want.
func (x tmux) waitScreen(timeout time.Duration, want ...string) string {
	x.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := x.screen()
		var lack []string
		for _, w := range want {
			if !strings.Contains(s, w) {
				lack = append(lack, w)
			}
		}
		if len(lack) == 0 {
			return s
		}
		if time.Now().After(deadline) {
			x.t.Fatalf("after %s the screen lacks %q:\n%s", timeout, lack, s)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func buildAmbx(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ambx")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/ambx/ambx").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startAmbx runs the binary on kubeconfig in a 160×45 tmux pane. When it
// exits the pane says so, with its status.
func startAmbx(t *testing.T, kubeconfig string, args ...string) tmux {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Fatalf("tmux is needed (.ci/test installs it): %v", err)
	}
	bin := buildAmbx(t)
	x := tmux{t: t, sock: filepath.Join(t.TempDir(), "tmux.sock")}
	cmd := append([]string{bin, "--kubeconfig", kubeconfig}, args...)
	// ambx saves logs to its working directory: a temporary one keeps them
	// out of the source tree.
	x.run("-f", "/dev/null", "new-session", "-d", "-s", "ambx", "-c", t.TempDir(), "-x", "160", "-y", "45",
		strings.Join(cmd, " ")+"; echo ambx exited $?; sleep 600")
	t.Cleanup(func() { _ = exec.Command("tmux", "-S", x.sock, "kill-server").Run() })
	// tmux reads ESC followed within escape-time (500 ms) by a key as
	// alt+key; keys sent by a test follow each other much faster.
	x.run("set-option", "-s", "escape-time", "0")
	return x
}

func (x tmux) keys(keys ...string) {
	x.t.Helper()
	x.run(append([]string{"send-keys", "-t", "ambx"}, keys...)...)
}

// A user bound by the shipped auditor role less Istio's security policies
// runs ambx read-only: the panes fill, the Policies pane says forbidden, a write key
// changes nothing, and the audit log holds no write by that user.
func TestClusterBinaryReadOnlyLimitedUser(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{FakeMetrics: true, Audit: true})
	ctx := context.Background()
	kubeconfig := limitedUserAs(t, env, shippedRoleWithout(t, env, rbac.AuditorYAML, "ambx-auditor-no-istio-security",
		"authorizationpolicies", "peerauthentications", "requestauthentications"))
	x := startAmbx(t, kubeconfig, "--read-only")

	x.waitScreen(30*time.Second, "kubeenv", "READ-ONLY", "connected",
		"shop", "● ambient", "legacy", // Namespaces
		"web-1", "old-1", "node-a", // Workloads
		"Waypoints (1)", "waypoint service", // Waypoints
		"authorizationpolicies: forbidden", kubeenv.LimitedUser, // Policies
	)
	// Toggle ambient on the namespace under the cursor, then on every
	// other one the cursor reaches: read-only must refuse them all.
	x.keys("1")
	for range 6 {
		// y answers a dialog had one opened; with none it opens the YAML
		// view, which Escape closes. A key right after ESC reads as
		// alt+key, so the next one waits, as a person's would.
		x.keys("a", "y", "Escape")
		time.Sleep(200 * time.Millisecond)
		x.keys("j")
	}
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")

	ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["istio.io/dataplane-mode"] != "ambient" {
		t.Errorf("shop's dataplane-mode is %q after read-only ambx, want ambient as created", ns.Labels["istio.io/dataplane-mode"])
	}
	if w := env.MutatingRequests(t, kubeenv.LimitedUser); len(w) != 0 {
		t.Errorf("ambx --read-only made %d mutating requests:\n%v", len(w), w)
	}
	reads := 0
	for _, ev := range env.AuditEvents(t) {
		if ev.User.Username == kubeenv.LimitedUser {
			reads++
		}
	}
	if reads == 0 {
		t.Error("the audit log has no request by ambx's user at all; the write check above proves nothing")
	}
}

// A user with every right runs ambx --read-only through every pane and
// every key, the write keys included: the API server's audit log must hold
// no mutating request from that user. This checks the guard from outside,
// at the server, not by trusting it.
func TestClusterBinaryReadOnlyAdminSessionWritesNothing(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{FakeMetrics: true, Audit: true})
	ctx := context.Background()
	kubeconfig := limitedUserAs(t, env, "cluster-admin")
	x := startAmbx(t, kubeconfig, "--read-only")
	x.waitScreen(30*time.Second, "READ-ONLY", "connected", "shop", "web-1")

	// Every pane, every action key, and yes to anything that asks. Keys go
	// one at a time with a pause, as a person types.
	typeKey := func(k string) {
		x.keys(k)
		pause := 20 * time.Millisecond
		if k == "Escape" {
			// The terminal reader takes ESC followed at once by a key
			// for alt+key, as every terminal program must.
			pause = 200 * time.Millisecond
		}
		time.Sleep(pause)
	}
	for _, pane := range []string{"1", "2", "3", "4"} {
		typeKey(pane)
		typeKey("g")
		for range 3 {
			for _, k := range []string{"a", "y", "Enter", "R", "y", "W", "Enter", "y", "n", "y", "w", "Escape",
				"d", "Escape", "l", "s", "Escape", "!", "n", "y", "Escape", "Escape", "o", "o", "Escape",
				"z", "r", "Escape", "T", "T"} {
				typeKey(k)
			}
			typeKey("j")
		}
	}
	typeKey("Escape")
	typeKey("Escape")
	typeKey("q")
	start := time.Now()
	x.waitScreen(60*time.Second, "ambx exited 0")
	t.Logf("quit took %s after the last key", time.Since(start))

	// The one create read-only mode lets out is a port-forward to a
	// ztunnel's admin port (z reads its config_dump); nothing else.
	ztunnels := map[string]bool{}
	zl, err := env.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{LabelSelector: "app=ztunnel"})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range zl.Items {
		ztunnels[p.Namespace+"/"+p.Name] = true
	}
	var w []kubeenv.AuditEvent
	for _, ev := range env.MutatingRequests(t, kubeenv.LimitedUser) {
		if r := ev.ObjectRef; r != nil && r.Subresource == "portforward" && ztunnels[r.Namespace+"/"+r.Name] {
			continue
		}
		w = append(w, ev)
	}
	if len(w) != 0 {
		t.Errorf("ambx --read-only made %d mutating requests other than ztunnel port-forwards:\n%v", len(w), w)
	}
	reads := 0
	for _, ev := range env.AuditEvents(t) {
		if ev.User.Username == kubeenv.LimitedUser {
			reads++
		}
	}
	if reads == 0 {
		t.Error("the audit log has no request by ambx's user at all; the write check above proves nothing")
	}
	ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels["istio.io/dataplane-mode"] != "ambient" {
		t.Errorf("shop's dataplane-mode is %q, want ambient as created", ns.Labels["istio.io/dataplane-mode"])
	}
}

// limitedUserAs binds kubeenv's limited user to a ClusterRole, fills the
// cluster with the shop fixture on one node, and returns a kubeconfig for
// that user.
func limitedUserAs(t *testing.T, env *kubeenv.Env, clusterRole string) string {
	t.Helper()
	kubeconfig := bindLimitedUser(t, env, clusterRole)
	node := env.CreateNode(t, "node-a", nil)
	shop(t, env, node.Name)
	return kubeconfig
}

// bindLimitedUser binds kubeenv's limited user to a ClusterRole and
// returns a kubeconfig for that user.
func bindLimitedUser(t *testing.T, env *kubeenv.Env, clusterRole string) string {
	t.Helper()
	if _, err := env.Client.RbacV1().ClusterRoleBindings().Create(context.Background(), &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "limited-user-" + clusterRole},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: kubeenv.LimitedUser}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := env.KubeconfigFor(kubeenv.LimitedUser)
	if err != nil {
		t.Fatal(err)
	}
	return kubeconfig
}

// Without the Istio and Gateway API CRDs the Waypoints and Policies panes
// say why they are empty and the rest works.
func TestClusterBinaryWithoutMeshCRDs(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "plain", nil)
	env.CreatePod(t, pod("plain", "app-1", node.Name, nil))
	x := startAmbx(t, env.Kubeconfig)
	x.waitScreen(30*time.Second, "connected", "plain", "app-1", "node-a",
		"Gateway API CRDs are not installed", "Istio CRDs are not installed")
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}

// overlay opens the view key shows, waits for every one of want, and
// closes it again with ESC, waiting for title to leave the screen; it
// returns the view's screen.
func (x tmux) overlay(key, title string, want ...string) string {
	x.t.Helper()
	x.keys(key)
	s := x.waitScreen(10*time.Second, append([]string{title}, want...)...)
	x.keys("Escape")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(x.screen(), title) {
		if time.Now().After(deadline) {
			x.t.Fatalf("ESC did not close %s:\n%s", title, x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

// noClean fails when screen holds any wording of a clean state.
func noClean(t *testing.T, where, screen string, clean ...string) {
	t.Helper()
	for _, c := range clean {
		if strings.Contains(screen, c) {
			t.Errorf("%s says %q with the API server unreachable:\n%s", where, c, screen)
		}
	}
}

// cleanWords are what the findings view, the overhead view and the panes
// say when everything was read and nothing is wrong.
var cleanWords = []string{"no findings", "every check ran", "✔", "no pods captured by ambient", "nothing to compare", "no rows", "loading…", "reading…", "watch live"}

// A kubeconfig names a server that is not there (a closed loopback port):
// nothing is ever read, and no view may look clean. The findings view says
// no check ran, the overhead view that pods and metrics were not read, the
// panes which resources were not read, the status bar that nothing was.
func TestClusterBinaryUnreachableServer(t *testing.T) {
	kubeenv.Require(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: gone
  cluster: {server: "https://`+addr+`"}
contexts:
- name: gone
  context: {cluster: gone, user: nobody}
current-context: gone
users:
- name: nobody
  user: {token: not-used}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	x := startAmbx(t, kubeconfig)
	main := x.waitScreen(30*time.Second, "cannot reach API server", "connection refused",
		"namespaces not read", "pods not read", "gateways not read", "authorizationpolicies not read", // the four panes
		"4 of 4 checks not run", "ztunnel not read", "Istio unreadable")
	noClean(t, "the main screen", main, cleanWords...)
	// Give the retries time: a screen that turns clean later is as bad.
	time.Sleep(3 * time.Second)
	noClean(t, "the main screen a while later", x.screen(), cleanWords...)

	f := x.overlay("!", "Findings (0)", "partial: 4 of 4 checks not run", "cannot reach the API server: nothing was read, no check ran")
	noClean(t, "the findings view", f, cleanWords...)
	o := x.overlay("o", "Mesh overhead", "pods not read", "metrics unavailable", "no comparison with sidecars")
	noClean(t, "the overhead view", o, cleanWords...)
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}

// The API server goes away under a running ambx and comes back: the status
// bar shows the outage, the findings and overhead views say their data is
// from before it rather than current, then ambx recovers without a restart
// and shows a pod created meanwhile.
func TestClusterBinaryAPIServerOutage(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "apps", nil)
	env.CreatePod(t, pod("apps", "before", node.Name, nil))
	x := startAmbx(t, env.Kubeconfig)
	x.waitScreen(30*time.Second, "connected", "before")
	env.StopAPIServer(t)
	down := x.waitScreen(30*time.Second, "cannot reach API server", "before")
	noClean(t, "the main screen during the outage", down, "watch live", "loading…")
	f := x.overlay("!", "Findings (", "API server unreachable: findings are from the last data read")
	noClean(t, "the findings view during the outage", f, "every check ran", "✔ no findings")
	o := x.overlay("o", "Mesh overhead", "API server unreachable: pod counts are from the last data read", "metrics unavailable")
	noClean(t, "the overhead view during the outage", o, "nothing to compare")
	env.StartAPIServer(t)
	env.CreatePod(t, pod("apps", "after", node.Name, nil))
	s := x.waitScreen(30*time.Second, "connected", "before", "after")
	if strings.Contains(s, "cannot reach") {
		t.Errorf("the outage message stays after recovery:\n%s", s)
	}
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}
