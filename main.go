// Command ambx is a terminal explorer for Istio ambient-mode meshes.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/pflag"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/metrics"
	"github.com/ambx/ambx/kube/reach"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type options struct {
	config     string
	sidecar    string
	demo       bool
	readOnly   bool
	refresh    time.Duration
	kubeconfig string
	context    string
	namespace  string
	version    bool
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := pflag.NewFlagSet("ambx", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&o.demo, "demo", false, "run on the built-in demo cluster (no kubeconfig needed)")
	fs.BoolVar(&o.readOnly, "read-only", false, "refuse every write at the HTTP transport (also AMBX_READONLY=1)")
	fs.DurationVar(&o.refresh, "refresh", 2*time.Second, "metrics poll period")
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.context, "context", "", "kubeconfig context to use")
	fs.StringVarP(&o.namespace, "namespace", "n", "", "start drilled into this namespace")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.config, "config", "", "config file (default: $XDG_CONFIG_HOME/ambx/config.yaml when it exists)")
	fs.StringVar(&o.sidecar, "sidecar-cost", "", "what one sidecar costs, CPU/memory, for the mesh-overhead comparison (e.g. 10m/50Mi; default: measured sidecars, else 10m/50Mi)")
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if *help {
		fmt.Fprintf(stderr, "ambx: a terminal explorer for Istio ambient mode\n\nUsage:\n  ambx [flags]\n  ambx reach -f PATH --from NS/POD --to NS/POD --port N\n\nFlags:\n%s", fs.FlagUsages())
		return o, errHelp
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.refresh <= 0 {
		return o, fmt.Errorf("--refresh must be positive, got %s", o.refresh)
	}
	cfg, err := loadConfig(o.config)
	if err != nil {
		return o, err
	}
	if cfg.ReadOnly {
		o.readOnly = true
	}
	if o.sidecar == "" {
		o.sidecar = cfg.SidecarCost
	}
	if !fs.Changed("refresh") && cfg.Refresh != "" {
		d, err := time.ParseDuration(cfg.Refresh)
		if err != nil || d <= 0 {
			return o, fmt.Errorf("config: refresh %q is not a positive duration", cfg.Refresh)
		}
		o.refresh = d
	}
	if _, err := parseSidecarCost(o.sidecar); err != nil {
		return o, err
	}
	if v, ok := os.LookupEnv("AMBX_READONLY"); ok {
		if b, err := strconv.ParseBool(v); err == nil && b {
			o.readOnly = true
		}
	}
	return o, nil
}

var errHelp = errors.New("help")

// keepNewest returns a publisher into a one-slot channel that replaces an
// unread value: the UI never needs a stale snapshot or poll. Only one
// goroutine may publish, so the send after the drain never blocks.
func keepNewest[T any](ch chan T) func(T) {
	return func(v T) {
		select {
		case <-ch:
		default:
		}
		ch <- v
	}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "reach" {
		klog.SetOutput(io.Discard)
		klog.LogToStderr(false)
		os.Exit(reach.Main(context.Background(), os.Args[2:], os.Stdout, os.Stderr, connectForReach))
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// connectForReach reads the live cluster for `ambx reach` without -f,
// always read-only: reach only lists.
func connectForReach() (kubernetes.Interface, error) {
	c, err := kube.Connect(kube.ConnectOptions{WrapTransport: guard.Wrap})
	if err != nil {
		return nil, err
	}
	return c.Kube, nil
}

func run(args []string, stdout, stderr io.Writer) int {
	// ambx keeps about 70 MiB live on a 10,000-pod cluster; Go's default
	// lets the heap double that before collecting. Collecting at +50%
	// keeps the process within its memory budget (BENCHMARKS.md). A GOGC
	// set by the user wins.
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(50)
	}
	// client-go logs to stderr, which would tear the full-screen UI.
	klog.SetOutput(io.Discard)
	klog.LogToStderr(false)

	o, err := parseFlags(args, stderr)
	if errors.Is(err, errHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "ambx: %v (see ambx --help)\n", err)
		return 2
	}
	if o.version {
		fmt.Fprintf(stdout, "ambx %s\n", version)
		return 0
	}

	var clients *kube.Clients
	var opener logstream.Opener
	var locator logstream.Locator
	if o.demo {
		now := time.Now()
		clients = demo.Clients(now)
		opener = demo.ZtunnelLogs(demo.Objects(now).Pods)
	} else {
		co := kube.ConnectOptions{Kubeconfig: o.kubeconfig, Context: o.context, Namespace: o.namespace}
		if o.readOnly {
			co.WrapTransport = guard.Wrap
		}
		clients, err = kube.Connect(co)
		if err != nil {
			fmt.Fprintf(stderr, "ambx: %v\n", err)
			return 2
		}
		opener = logstream.KubeOpener{Client: clients.Kube}
		locator = logstream.KubeLocator{Client: clients.Kube}
	}

	perSidecar, _ := parseSidecarCost(o.sidecar) // checked by parseFlags

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	snaps := make(chan *kube.Snapshot, 1)
	src := kube.NewSource(clients)
	go src.Run(ctx, keepNewest(snaps))

	usages := make(chan *usage.Usage, 1)
	if clients.Metrics != nil {
		go metrics.Poller{Client: clients.Metrics, Period: o.refresh}.Run(ctx, keepNewest(usages))
	}

	m := ui.New(ui.Options{
		Theme:      theme.Current,
		Context:    clients.Context,
		ReadOnly:   o.readOnly,
		Snapshots:  snaps,
		Version:    version,
		Namespace:  o.namespace,
		Logs:       opener,
		LogLocator: locator,
		Writer:     writer.New(clients, o.readOnly),
		Usage:      usages,
		PerSidecar: perSidecar,
	})
	p := tea.NewProgram(m, tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		fmt.Fprintf(stderr, "ambx: %v\n", err)
		return 1
	}
	return 0
}
