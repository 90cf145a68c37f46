package kubeenv

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Binaries beyond the base set, needed only by the envs that run them.
var (
	controllerBinaries = []string{"kube-controller-manager", "kube-scheduler"}
	istiodBinaries     = []string{"pilot-discovery", filepath.Join("istio", "configmaps.yaml")}
)

// Identities of the optional components, so an audit log tells their
// writes apart.
const (
	controllerManagerUser = "kubeenv-controller-manager"
	schedulerUser         = "kubeenv-scheduler"
	istiodUser            = "kubeenv-istiod"
)

// IstioNamespace is where istiod runs and keeps its ConfigMaps, CA secret
// and leader-election Leases.
const IstioNamespace = "istio-system"

// controllersOff are controllers that would fight the fake nodes:
// node-lifecycle would mark kwok nodes NotReady (the env runs no heartbeat
// stage) and then mark their pods not Ready and evict them.
var controllersOff = []string{"node-lifecycle-controller"}

// StartControllers runs kube-controller-manager and kube-scheduler on an
// env that does not have them yet (see Options.Controllers) and stops them
// when t ends. From then on Deployments make ReplicaSets and pods, pods
// without a node are scheduled onto kwok nodes, Services get
// EndpointSlices, namespaces finish deleting and every namespace gets its
// default ServiceAccount.
func (e *Env) StartControllers(t testing.TB) {
	t.Helper()
	if e.controllerManager != nil && e.controllerManager.running() {
		t.Fatalf("kubeenv: StartControllers: the controllers are already running")
	}
	requireExtra(t, e.bin, controllerBinaries)
	started := time.Now()
	if err := e.startControllers(); err != nil {
		t.Fatalf("kubeenv: %v", err)
	}
	t.Logf("kubeenv: controller-manager and scheduler up in %s", time.Since(started).Round(time.Millisecond))
	t.Cleanup(e.stopControllers)
}

// StartIstiod runs istiod (pilot-discovery, ambient mode) on an env that
// does not have it yet (see Options.Istiod), starting the controllers first
// if they are not running, and stops it when t ends.
func (e *Env) StartIstiod(t testing.TB) {
	t.Helper()
	if e.istiod != nil && e.istiod.running() {
		t.Fatalf("kubeenv: StartIstiod: istiod is already running")
	}
	if e.controllerManager == nil || !e.controllerManager.running() {
		e.StartControllers(t)
	}
	requireExtra(t, e.bin, istiodBinaries)
	started := time.Now()
	if err := e.startIstiod(); err != nil {
		t.Fatalf("kubeenv: %v", err)
	}
	t.Logf("kubeenv: istiod up in %s", time.Since(started).Round(time.Millisecond))
	t.Cleanup(e.stopIstiod)
}

// requireExtra skips or fails t (as Require does) when bin lacks files.
func requireExtra(t testing.TB, bin string, files []string) {
	t.Helper()
	if err := missingFiles(bin, files); err != nil {
		if os.Getenv(EnvRequired) == "1" {
			t.Fatalf("kubeenv: %v (%s=1)", err, EnvRequired)
		}
		t.Skipf("kubeenv: %v; build them with .ci/kubebin/build.sh", err)
	}
}

func (e *Env) stopControllers() {
	for _, p := range []*process{e.scheduler, e.controllerManager} {
		if p != nil {
			p.stop(5 * time.Second)
		}
	}
}

func (e *Env) stopIstiod() {
	if e.istiod != nil {
		e.istiod.stop(5 * time.Second)
	}
}

func (e *Env) startControllers() error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	cmKubeconfig, err := e.KubeconfigFor(controllerManagerUser)
	if err != nil {
		return err
	}
	schedKubeconfig, err := e.KubeconfigFor(schedulerUser)
	if err != nil {
		return err
	}
	controllers := "*"
	for _, c := range controllersOff {
		controllers += ",-" + c
	}
	if e.controllerManager == nil {
		e.controllerManager = newProcess(e.Dir, e.bin, "kube-controller-manager",
			"--kubeconfig="+cmKubeconfig,
			"--authentication-kubeconfig="+cmKubeconfig,
			"--authorization-kubeconfig="+cmKubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(ports[0]),
			"--cert-dir="+filepath.Join(e.Dir, "controller-manager"),
			"--leader-elect=false",
			"--controllers="+controllers,
			// Signs the ServiceAccount tokens the token controller makes,
			// and publishes the API server's CA as kube-root-ca.crt.
			"--service-account-private-key-file="+e.pki.serviceAccountSK,
			"--root-ca-file="+e.pki.caCert,
			"--use-service-account-credentials=false",
			"--profiling=false",
		)
	}
	if err := e.controllerManager.start(); err != nil {
		return err
	}
	if err := waitHealthz(e.controllerManager, ports[0]); err != nil {
		return err
	}
	if e.scheduler == nil {
		e.scheduler = newProcess(e.Dir, e.bin, "kube-scheduler",
			"--kubeconfig="+schedKubeconfig,
			"--authentication-kubeconfig="+schedKubeconfig,
			"--authorization-kubeconfig="+schedKubeconfig,
			"--bind-address=127.0.0.1",
			"--secure-port="+strconv.Itoa(ports[1]),
			"--cert-dir="+filepath.Join(e.Dir, "scheduler"),
			"--leader-elect=false",
			"--profiling=false",
		)
	}
	if err := e.scheduler.start(); err != nil {
		return err
	}
	if err := waitHealthz(e.scheduler, ports[1]); err != nil {
		return err
	}
	// /healthz answers before the controllers have synced their informers;
	// the default ServiceAccount appearing shows they are working.
	return waitFor(e.controllerManager, 60*time.Second, func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err := e.Client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// waitHealthz polls a component's /healthz on its self-signed secure port.
func waitHealthz(p *process, port int) error {
	hc := &http.Client{Timeout: time.Second, Transport: &http.Transport{
		// The component made its own certificate in --cert-dir; this is a
		// liveness probe on loopback, not a trust decision.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	url := "https://127.0.0.1:" + strconv.Itoa(port) + "/healthz"
	return waitFor(p, 60*time.Second, func() error {
		resp, err := hc.Get(url)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s /healthz: %s", p.name, resp.Status)
		}
		return nil
	})
}

func (e *Env) startIstiod() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.installIstioConfig(ctx); err != nil {
		return err
	}
	kubeconfig, err := e.KubeconfigFor(istiodUser)
	if err != nil {
		return err
	}
	// http (readiness, debug), https (webhooks), grpc, secure grpc,
	// monitoring, ControlZ: every listener on loopback, none on a fixed port.
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(ports[i]) }
	if e.istiod == nil {
		e.istiodHTTPS = ports[1]
		e.istiod = newProcess(e.Dir, e.bin, "pilot-discovery",
			"discovery",
			"--kubeconfig="+kubeconfig,
			"--httpAddr="+addr(0),
			"--httpsAddr="+addr(1),
			"--grpcAddr="+addr(2),
			"--secureGRPCAddr="+addr(3),
			"--monitoringAddr="+addr(4),
			"--ctrlz_address=127.0.0.1",
			"--ctrlz_port="+strconv.Itoa(ports[5]),
			"--domain=cluster.local",
			"--keepaliveMaxServerConnectionAge=30m",
			// The env is thrown away: no need to drain connections.
			"--shutdownDuration=1s",
			"--log_output_level=default:info",
		)
		e.istiod.env = append(os.Environ(),
			"POD_NAME=istiod-kubeenv",
			"POD_NAMESPACE="+IstioNamespace,
			"REVISION=default",
			"PILOT_ENABLE_AMBIENT=true",
			"CLUSTER_ID=Kubernetes",
			"PILOT_CERT_PROVIDER=istiod",
			"JWT_POLICY=third-party-jwt",
			"ISTIOD_ADDR=istiod."+IstioNamespace+".svc:15012",
			// istiod sizes its worker pools by GOMAXPROCS; the machine
			// is shared.
			"GOMAXPROCS=2",
		)
	}
	if err := e.istiod.start(); err != nil {
		return err
	}
	hc := &http.Client{Timeout: time.Second}
	return waitFor(e.istiod, 90*time.Second, func() error {
		resp, err := hc.Get("http://" + addr(0) + "/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("istiod /ready: %s", resp.Status)
		}
		return nil
	})
}

// installIstioConfig creates istio-system and the ConfigMaps istiod reads
// at start-up, as build.sh rendered them from Istio's own chart.
func (e *Env) installIstioConfig(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: IstioNamespace}}
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", IstioNamespace, err)
	}
	objs, err := readManifests(filepath.Join(e.bin, "istio", "configmaps.yaml"))
	if err != nil {
		return fmt.Errorf("istiod ConfigMaps: %w", err)
	}
	if len(objs) == 0 {
		return fmt.Errorf("istiod ConfigMaps: %s holds none", filepath.Join(e.bin, "istio", "configmaps.yaml"))
	}
	for _, o := range objs {
		b, err := o.MarshalJSON()
		if err != nil {
			return err
		}
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal(b, &cm); err != nil {
			return fmt.Errorf("istiod ConfigMap %s: %w", o.GetName(), err)
		}
		cm.Namespace = IstioNamespace
		if _, err := e.Client.CoreV1().ConfigMaps(IstioNamespace).Create(ctx, &cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create ConfigMap %s: %w", cm.Name, err)
		}
	}
	return nil
}

// PIDs returns the process id of every component running now, by name, so
// a test can check that nothing outlives its env.
func (e *Env) PIDs() map[string]int {
	out := map[string]int{}
	for _, p := range []*process{e.etcd, e.apiserver, e.kwok, e.metricsServer, e.controllerManager, e.scheduler, e.istiod} {
		if p != nil && p.running() {
			out[p.name] = p.cmd.Process.Pid
		}
	}
	return out
}
