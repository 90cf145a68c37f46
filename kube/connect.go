package kube

import (
	"fmt"
	"net/http"
	"time"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube/podwatch"
)

// ConnectOptions pick the cluster the way kubectl does.
type ConnectOptions struct {
	Kubeconfig string // --kubeconfig; empty means KUBECONFIG (merged) or ~/.kube/config
	Context    string // --context
	Namespace  string // -n; empty means the context's namespace
	// WrapTransport, when set, wraps the HTTP transport of every client (the
	// read-only guard is installed through it).
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// Timeout bounds the wait for the API server's answer to each request
	// (default AnswerTimeout); a watch's stream is not bounded by it.
	Timeout time.Duration
}

// Connection is a resolved configuration before any request is made.
type Connection struct {
	Config    *rest.Config
	Context   string
	Namespace string
	// Plugins are the credential plugins the configuration runs (see
	// StopPlugins).
	Plugins []string
}

// Resolve reads the kubeconfig (or in-cluster config) without contacting
// the server, so a broken kubeconfig is reported before the UI starts.
func Resolve(o ConnectOptions) (*Connection, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if o.Kubeconfig != "" {
		rules.ExplicitPath = o.Kubeconfig
	}
	overrides := &clientcmd.ConfigOverrides{CurrentContext: o.Context}
	if o.Namespace != "" {
		overrides.Context.Namespace = o.Namespace
	}
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides)
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, ErrNoCluster
		}
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ns, _, err := cc.Namespace()
	if err != nil {
		ns = "default"
	}
	name := o.Context
	if raw, err := cc.RawConfig(); err == nil && name == "" {
		name = raw.CurrentContext
	}
	if name == "" {
		name = "in-cluster"
	}
	// Informers start with a burst of LISTs; client-go's default of 5 QPS
	// would make start-up on a large cluster crawl.
	cfg.QPS, cfg.Burst = 50, 100
	cfg.UserAgent = "ambx"
	plugins := harden(cfg, o.Timeout)
	if o.WrapTransport != nil {
		cfg.Wrap(o.WrapTransport)
	}
	return &Connection{Config: cfg, Context: name, Namespace: ns, Plugins: plugins}, nil
}

// Clients builds the typed clients for a connection.
func (c *Connection) Clients() (*Clients, error) {
	h := &Health{}
	cfg := rest.CopyConfig(c.Config)
	cfg.Wrap(h.Wrap)
	// Built-in kinds travel as protobuf: a LIST of 10,000 pods decodes
	// several times faster and with far less garbage than as JSON. CRDs
	// (Istio, Gateway API) are served only as JSON, so their clients keep
	// the default; metrics.k8s.io offers both and gets both in Accept.
	kcfg := rest.CopyConfig(cfg)
	kcfg.ContentType = runtime.ContentTypeProtobuf
	kcfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	// One HTTP client for the typed clientset and the pod watch's REST
	// client, so that they share connections.
	hc, err := rest.HTTPClientFor(kcfg)
	if err != nil {
		return nil, err
	}
	k, err := kubernetes.NewForConfigAndClient(kcfg, hc)
	if err != nil {
		return nil, err
	}
	pods, err := podwatch.NewClient(kcfg, hc)
	if err != nil {
		return nil, err
	}
	i, err := istioclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	g, err := gwclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	mcfg := rest.CopyConfig(cfg)
	mcfg.AcceptContentTypes = runtime.ContentTypeProtobuf + "," + runtime.ContentTypeJSON
	m, err := metricsclient.NewForConfig(mcfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Kube: k, Istio: i, Gateway: g, Metrics: m, Pods: pods, Context: c.Context, Server: c.Config.Host, Config: cfg, Health: h, Plugins: c.Plugins}, nil
}

// Connect resolves the configuration and builds the clients.
func Connect(o ConnectOptions) (*Clients, error) {
	conn, err := Resolve(o)
	if err != nil {
		return nil, err
	}
	return conn.Clients()
}
