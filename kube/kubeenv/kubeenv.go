// Package kubeenv runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver and kwok (fake nodes whose pods reach Running and serve
// logs), with the Istio and Gateway API CRDs installed and, on request, a
// metrics.k8s.io API. The binaries come from .ci/kubebin (KUBEENV_BIN), so
// the main module never links Kubernetes itself.
//
// A test calls Start, which skips unless KUBEENV_BIN is set (fails instead
// with KUBEENV_REQUIRED=1) and tears everything down when the test ends:
//
//	env := kubeenv.Start(t, kubeenv.Options{FakeMetrics: true})
//	node := env.CreateNode(t, "node-a", nil)
//	env.CreatePod(t, &corev1.Pod{...Spec: corev1.PodSpec{NodeName: node.Name, ...}})
//	clients, _ := kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig})
//
// A package that wants one env for all its tests uses Launch and Close in
// TestMain. Child processes die with the test binary (Pdeathsig), so a
// crashed or killed test leaves nothing running. KUBEENV_KEEP=1 keeps the
// directory with the component logs.
//
// Without control-plane controllers some things a real cluster does never
// happen here: pods are not scheduled (set spec.nodeName, which CreatePod
// does), Deployments make no pods, namespaces stay Terminating when deleted
// and no default ServiceAccounts exist. Options.Controllers (or
// Env.StartControllers) adds the real kube-controller-manager and
// kube-scheduler; Options.Istiod (or Env.StartIstiod) adds istiod in ambient
// mode, which writes Istio's own status conditions and deploys waypoints.
package kubeenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Environment variables the harness reads.
const (
	// EnvBin names the directory holding etcd, kube-apiserver, kwok and
	// metrics-server (.ci/kubebin/bin). Unset, cluster tests skip.
	EnvBin = "KUBEENV_BIN"
	// EnvRequired set to 1 turns a skip for missing binaries into a
	// failure, so CI cannot pass by running nothing.
	EnvRequired = "KUBEENV_REQUIRED"
	// EnvKeep set to 1 keeps each env's directory (logs, certs, etcd data).
	EnvKeep = "KUBEENV_KEEP"
)

// Users in the API server's token file.
const (
	// AdminUser is in system:masters; Env.Config and Env.Kubeconfig use it.
	AdminUser = "kubeenv-admin"
	// LimitedUser has no groups beyond system:authenticated, so it can do
	// nothing until a test binds it to a role.
	LimitedUser = "kubeenv-limited"
	// kwokUser and metricsUser are the other components' identities, so an
	// audit log tells their writes from the test's.
	kwokUser    = "kubeenv-kwok"
	metricsUser = "kubeenv-metrics-server"
)

// componentUsers are the token-file users of the components, all in
// system:masters like a kubeadm control plane's own credentials.
var componentUsers = []string{kwokUser, metricsUser, controllerManagerUser, schedulerUser, istiodUser}

// binaries are what .ci/kubebin/build.sh produces.
var binaries = []string{"etcd", "kube-apiserver", "kwok", "metrics-server"}

// Options choose what an env runs beyond etcd, kube-apiserver and kwok.
type Options struct {
	// NoIstioCRDs leaves out the Istio CRDs (istio.io/api), as on a cluster
	// without Istio.
	NoIstioCRDs bool
	// NoGatewayAPICRDs leaves out the Gateway API CRDs.
	NoGatewayAPICRDs bool
	// FakeMetrics serves metrics.k8s.io from an in-test server whose values
	// the test sets through Env.Metrics; answers are immediate.
	FakeMetrics bool
	// MetricsServer runs the real metrics-server scraping kwok; the first
	// PodMetrics appear after 20–35 s. Exclusive with FakeMetrics.
	MetricsServer bool
	// Audit logs every request at Metadata level; read it back with
	// Env.AuditEvents or Env.MutatingRequests.
	Audit bool
	// PodNetwork routes the API server's connections into the cluster
	// through a loopback stand-in for the pod network, so a test can serve
	// a pod's port (Env.ServePodPort) behind the real pod proxy.
	PodNetwork bool
	// Controllers runs kube-controller-manager and kube-scheduler (see
	// Env.StartControllers); kwok still plays the kubelet.
	Controllers bool
	// Istiod runs istiod in ambient mode (see Env.StartIstiod); it implies
	// Controllers, without which waypoints never get pods or addresses.
	Istiod bool
}

// binariesFor lists what o needs in KUBEENV_BIN beyond the base set.
func (o Options) binariesFor() []string {
	var extra []string
	if o.Controllers || o.Istiod {
		extra = append(extra, controllerBinaries...)
	}
	if o.Istiod {
		extra = append(extra, istiodBinaries...)
	}
	return extra
}

// apiServerGrace bounds a graceful API server stop. It stops listening
// within a fraction of a second of SIGTERM but sometimes lingers for many
// seconds after, which would only slow tests down: nothing of its state
// outlives it but what is in etcd.
const apiServerGrace = 2 * time.Second

// Env is one running control plane.
type Env struct {
	// Config reaches the API server as AdminUser.
	Config *rest.Config
	// Kubeconfig is a file holding the same admin credentials.
	Kubeconfig string
	// Dir holds the env's certificates, logs and etcd data; it is removed
	// on Close unless KUBEENV_KEEP=1.
	Dir string
	// Client is a typed client built from Config.
	Client kubernetes.Interface
	// Metrics serves metrics.k8s.io when Options.FakeMetrics is set.
	Metrics *FakeMetrics

	opts    Options
	bin     string
	pki     *pki
	tokens  map[string]string // user → bearer token
	apiPort int
	etcdURL string

	etcd, apiserver, kwok, metricsServer *process
	controllerManager, scheduler, istiod *process
	istiodHTTPS                          int // istiod's webhook port, once it ran
	dynamic                              dynamic.Interface
	podNet                               *podNet

	mu   sync.Mutex
	logs map[string]*podLogs // namespace/pod → its kwok Logs object
}

// Require skips t unless KUBEENV_BIN names a directory with all binaries;
// with KUBEENV_REQUIRED=1 it fails instead. It returns that directory.
func Require(t testing.TB) string {
	t.Helper()
	return require(t, Options{})
}

func require(t testing.TB, o Options) string {
	t.Helper()
	bin, err := findBinaries(o)
	if err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("kubeenv: %v (%s=1)", err, EnvRequired)
		}
		t.Skipf("kubeenv: %v; build them with .ci/kubebin/build.sh", err)
	}
	return bin
}

// findBinaries checks KUBEENV_BIN for what o needs without starting
// anything.
func findBinaries(o Options) (string, error) {
	bin := os.Getenv(EnvBin)
	if bin == "" {
		return "", fmt.Errorf("%s is not set", EnvBin)
	}
	if err := missingFiles(bin, append(append([]string{}, binaries...), o.binariesFor()...)); err != nil {
		return "", err
	}
	return bin, nil
}

// missingFiles says which of files (binaries, and the YAML build.sh
// writes) bin lacks, or returns nil.
func missingFiles(bin string, files []string) error {
	var missing []string
	for _, b := range files {
		st, err := os.Stat(filepath.Join(bin, b))
		executable := strings.HasSuffix(b, ".yaml") || (err == nil && st.Mode()&0o111 != 0)
		if err != nil || st.IsDir() || !executable {
			missing = append(missing, b)
		}
	}
	if _, err := os.Stat(filepath.Join(bin, "kwok-config", "stages")); err != nil {
		missing = append(missing, "kwok-config/stages")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%s=%s lacks %s", EnvBin, bin, strings.Join(missing, ", "))
	}
	return nil
}

// Start runs an env for t (skipping as Require does) and tears it down when
// t ends, whether it passed or not. On failure the tails of the component
// logs are printed.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	require(t, o)
	started := time.Now()
	e, err := Launch(o)
	if err != nil {
		t.Fatalf("kubeenv: %v", err)
	}
	t.Logf("kubeenv: control plane up in %s (dir %s)", time.Since(started).Round(time.Millisecond), e.Dir)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(e.LogTails(40))
		}
		if err := e.Close(); err != nil {
			t.Errorf("kubeenv: %v", err)
		}
	})
	return e
}

// Launch runs an env without a test, for a TestMain that shares one env
// across a package's tests; the caller must Close it. It fails when the
// binaries are missing (see Require).
func Launch(o Options) (*Env, error) {
	if o.FakeMetrics && o.MetricsServer {
		return nil, errors.New("Options.FakeMetrics and Options.MetricsServer both claim metrics.k8s.io; choose one")
	}
	bin, err := findBinaries(o)
	if err != nil {
		return nil, err
	}
	// Ports are chosen free but bound later by the servers, so a program
	// starting meanwhile (another test's env) can take one first. That is
	// rare and worth one more try with new ports, not a failed test.
	for attempt := 1; ; attempt++ {
		e, err := launch(o, bin)
		if err == nil || attempt == 3 || !strings.Contains(err.Error(), "address already in use") {
			return e, err
		}
	}
}

func launch(o Options, bin string) (env *Env, err error) {
	dir, err := os.MkdirTemp("", "kubeenv-")
	if err != nil {
		return nil, err
	}
	e := &Env{Dir: dir, bin: bin, opts: o, logs: map[string]*podLogs{}}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, e.LogTails(20))
			_ = e.Close()
			env = nil
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	// etcd client, etcd peer, API server, kwok, metrics-server.
	ports, err := freePorts(5)
	if err != nil {
		return nil, err
	}
	if e.pki, err = newPKI(dir); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	if err := e.writeTokens(); err != nil {
		return nil, err
	}
	if err := e.startEtcd(ports[0], ports[1]); err != nil {
		return nil, err
	}
	e.apiPort = ports[2]
	if o.PodNetwork {
		if e.podNet, err = startPodNet(dir); err != nil {
			return nil, fmt.Errorf("pod network: %w", err)
		}
	}
	if err := e.startAPIServer(); err != nil {
		return nil, err
	}
	if e.Config, err = e.UserConfig(AdminUser); err != nil {
		return nil, err
	}
	if e.Kubeconfig, err = e.KubeconfigFor(AdminUser); err != nil {
		return nil, err
	}
	if e.Client, err = kubernetes.NewForConfig(e.Config); err != nil {
		return nil, err
	}
	if e.dynamic, err = dynamic.NewForConfig(e.Config); err != nil {
		return nil, err
	}
	if err := e.startKwok(ctx, ports[3]); err != nil {
		return nil, err
	}
	if err := e.installCRDs(ctx); err != nil {
		return nil, err
	}
	switch {
	case o.FakeMetrics:
		if e.Metrics, err = startFakeMetrics(ctx, e); err != nil {
			return nil, fmt.Errorf("fake metrics API: %w", err)
		}
	case o.MetricsServer:
		if err := e.startMetricsServer(ctx, ports[4]); err != nil {
			return nil, err
		}
	}
	if o.Controllers || o.Istiod {
		if err := e.startControllers(); err != nil {
			return nil, err
		}
	}
	if o.Istiod {
		if err := e.startIstiod(); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// Close stops every process and removes Dir (unless KUBEENV_KEEP=1). It is
// safe to call more than once.
func (e *Env) Close() error {
	if e.Metrics != nil {
		e.Metrics.close()
	}
	// Clients of the API server first, so they do not log its absence.
	e.stopIstiod()
	e.stopControllers()
	for _, p := range []*process{e.metricsServer, e.kwok, e.apiserver, e.etcd} {
		if p != nil {
			grace := 10 * time.Second
			if p == e.apiserver {
				grace = apiServerGrace
			}
			p.stop(grace)
		}
	}
	e.podNet.close()
	if os.Getenv(EnvKeep) == "1" || e.Dir == "" {
		return nil
	}
	return os.RemoveAll(e.Dir)
}

// LogTails returns the last n lines of each component's log, for a failing
// test's output.
func (e *Env) LogTails(n int) string {
	var b strings.Builder
	for _, p := range []*process{e.etcd, e.apiserver, e.kwok, e.metricsServer, e.controllerManager, e.scheduler, e.istiod} {
		if p != nil {
			fmt.Fprintf(&b, "--- %s (%s):\n%s\n", p.name, p.log, p.tail(n))
		}
	}
	return b.String()
}

func (e *Env) writeTokens() error {
	// Groups are listed per user; the API server adds system:authenticated.
	users := []struct {
		name   string
		groups string
	}{
		{AdminUser, "system:masters"},
		{LimitedUser, ""},
	}
	for _, u := range componentUsers {
		users = append(users, struct {
			name   string
			groups string
		}{u, "system:masters"})
	}
	e.tokens = map[string]string{}
	var b strings.Builder
	for _, u := range users {
		tok := make([]byte, 16)
		if _, err := rand.Read(tok); err != nil {
			return err
		}
		e.tokens[u.name] = hex.EncodeToString(tok)
		// token,user,uid,"group1,group2"
		fmt.Fprintf(&b, "%s,%s,%s,%q\n", e.tokens[u.name], u.name, u.name, u.groups)
	}
	return os.WriteFile(filepath.Join(e.Dir, "tokens.csv"), []byte(b.String()), 0o600)
}

func (e *Env) startEtcd(clientPort, peerPort int) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	e.etcdURL = client
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	e.etcd = newProcess(e.Dir, e.bin, "etcd",
		"--name=default",
		"--data-dir="+filepath.Join(e.Dir, "etcd"),
		"--listen-client-urls="+client,
		"--advertise-client-urls="+client,
		"--listen-peer-urls="+peer,
		"--initial-advertise-peer-urls="+peer,
		"--initial-cluster=default="+peer,
		// Test data is thrown away; fsync would make every write wait
		// on a disk shared with the other engineers' builds.
		"--unsafe-no-fsync=true",
		"--log-level=warn",
	)
	if err := e.etcd.start(); err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	return waitFor(e.etcd, 30*time.Second, func() error {
		resp, err := hc.Get(client + "/health")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("etcd /health: %s", resp.Status)
		}
		return nil
	})
}

func (e *Env) apiServerArgs() ([]string, error) {
	p := e.pki
	args := []string{
		"--etcd-servers=" + e.etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(e.apiPort),
		"--tls-cert-file=" + p.servingCert,
		"--tls-private-key-file=" + p.servingKey,
		"--token-auth-file=" + filepath.Join(e.Dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.serviceAccountPK,
		"--service-account-signing-key-file=" + p.serviceAccountSK,
		"--service-cluster-ip-range=10.96.0.0/16",
		"--allow-privileged=true",
		// ServiceAccount: without Options.Controllers no controller-manager
		// creates the default ServiceAccounts it would demand of every pod.
		// TaintNodesByCondition: it taints every new node not-ready until
		// the node-lifecycle controller, which the env never runs (kwok
		// sends no heartbeats), lifts it; the scheduler would then place
		// no pod anywhere.
		"--disable-admission-plugins=ServiceAccount,TaintNodesByCondition",
		// 127.0.0.1 is not a valid Endpoints address for the kubernetes
		// Service, and nothing here needs that Service.
		"--endpoint-reconciler-type=none",
		// kwok nodes have InternalIP 127.0.0.1 and serve the kubelet API
		// (logs) there.
		"--kubelet-preferred-address-types=InternalIP",
		// The aggregation layer (metrics.k8s.io) proxies with this client
		// certificate and passes the user in these headers.
		"--requestheader-client-ca-file=" + p.frontProxyCA,
		"--requestheader-allowed-names=" + frontProxyName,
		"--requestheader-username-headers=X-Remote-User",
		"--requestheader-group-headers=X-Remote-Group",
		"--requestheader-extra-headers-prefix=X-Remote-Extra-",
		"--proxy-client-cert-file=" + p.frontProxyCert,
		"--proxy-client-key-file=" + p.frontProxyKey,
		"--profiling=false",
	}
	if e.podNet != nil {
		cfg, err := e.podNet.egressConfig(e.Dir)
		if err != nil {
			return nil, err
		}
		args = append(args, "--egress-selector-config-file="+cfg)
	}
	if e.opts.Audit {
		policy := filepath.Join(e.Dir, "audit-policy.yaml")
		if err := os.WriteFile(policy, []byte(auditPolicy), 0o644); err != nil {
			return nil, err
		}
		args = append(args,
			"--audit-policy-file="+policy,
			"--audit-log-path="+e.auditLog(),
			"--audit-log-format=json",
			// Each event is written before the response is sent, so a
			// test reading the log after a request sees it.
			"--audit-log-mode=blocking",
		)
	}
	return args, nil
}

func (e *Env) startAPIServer() error {
	if e.apiserver == nil {
		args, err := e.apiServerArgs()
		if err != nil {
			return err
		}
		e.apiserver = newProcess(e.Dir, e.bin, "kube-apiserver", args...)
	}
	if err := e.apiserver.start(); err != nil {
		return err
	}
	cfg, err := e.UserConfig(AdminUser)
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	rc := cs.Discovery().RESTClient()
	// /readyz includes the RBAC bootstrap roles and the CRD and aggregator
	// informers, so once it answers ok the server is usable by every test.
	return waitFor(e.apiserver, 90*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		body, err := rc.Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			return fmt.Errorf("/readyz: %w: %s", err, body)
		}
		return nil
	})
}

// StopAPIServer stops kube-apiserver, leaving etcd and kwok running, so a
// test can watch a client live through an outage. StartAPIServer brings it
// back on the same address with the same data.
func (e *Env) StopAPIServer(t testing.TB) {
	t.Helper()
	if e.apiserver == nil || !e.apiserver.running() {
		t.Fatalf("kubeenv: StopAPIServer: the API server is not running")
	}
	start := time.Now()
	e.apiserver.stop(apiServerGrace)
	t.Logf("kubeenv: API server stopped in %s", time.Since(start).Round(time.Millisecond))
}

// StartAPIServer starts the API server stopped by StopAPIServer and waits
// until it is ready.
func (e *Env) StartAPIServer(t testing.TB) {
	t.Helper()
	if e.apiserver != nil && e.apiserver.running() {
		t.Fatalf("kubeenv: StartAPIServer: the API server is already running")
	}
	start := time.Now()
	if err := e.startAPIServer(); err != nil {
		t.Fatalf("kubeenv: restart API server: %v", err)
	}
	t.Logf("kubeenv: API server ready again in %s", time.Since(start).Round(time.Millisecond))
}

// Token returns the bearer token of one of the users in the token file
// (AdminUser, LimitedUser).
func (e *Env) Token(user string) (string, error) {
	tok, ok := e.tokens[user]
	if !ok {
		known := make([]string, 0, len(e.tokens))
		for u := range e.tokens {
			known = append(known, u)
		}
		sort.Strings(known)
		return "", fmt.Errorf("no user %q in the token file (have %s)", user, strings.Join(known, ", "))
	}
	return tok, nil
}

// UserConfig returns a client config that authenticates as user.
func (e *Env) UserConfig(user string) (*rest.Config, error) {
	tok, err := e.Token(user)
	if err != nil {
		return nil, err
	}
	return &rest.Config{
		Host:            e.Server(),
		BearerToken:     tok,
		TLSClientConfig: rest.TLSClientConfig{CAFile: e.pki.caCert},
		// client-go's default of 5 QPS makes installing 25 CRDs take
		// seconds; the env is local and has no other tenants.
		QPS:       200,
		Burst:     400,
		UserAgent: "kubeenv",
	}, nil
}

// Server is the API server's URL.
func (e *Env) Server() string {
	return "https://127.0.0.1:" + strconv.Itoa(e.apiPort)
}

// KubeconfigFor writes a kubeconfig for one of the users in the token file
// and returns its path.
func (e *Env) KubeconfigFor(user string) (string, error) {
	tok, err := e.Token(user)
	if err != nil {
		return "", err
	}
	return e.WriteKubeconfig(user, tok)
}

// WriteKubeconfig writes a kubeconfig in Dir whose only context, named
// "kubeenv", authenticates with token under the user name given, and
// returns its path. Any token may be used, including invalid ones.
func (e *Env) WriteKubeconfig(user, token string) (string, error) {
	if user == "" || strings.ContainsAny(user, `/\`) {
		return "", fmt.Errorf("kubeconfig user name %q must be non-empty and have no slashes", user)
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kubeenv"] = &clientcmdapi.Cluster{Server: e.Server(), CertificateAuthority: e.pki.caCert}
	cfg.AuthInfos[user] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts["kubeenv"] = &clientcmdapi.Context{Cluster: "kubeenv", AuthInfo: user, Namespace: "default"}
	cfg.CurrentContext = "kubeenv"
	path := filepath.Join(e.Dir, "kubeconfig-"+user)
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("write kubeconfig: %w", err)
	}
	return path, nil
}
