// Command ambx is a terminal explorer for Istio ambient-mode meshes.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	sigsyaml "sigs.k8s.io/yaml"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/audit"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/manifest"
	"github.com/ambx/ambx/kube/metrics"
	"github.com/ambx/ambx/kube/reach"
	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// options are the root command's flags: the TUI's.
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
	noMouse    bool
}

// bindRootFlags declares the TUI's flags on fs.
func bindRootFlags(fs *pflag.FlagSet, o *options) {
	fs.BoolVar(&o.demo, "demo", false, "run on the built-in demo cluster (no kubeconfig needed)")
	fs.BoolVar(&o.readOnly, "read-only", false, "refuse every write at the HTTP transport (also AMBX_READONLY=1)")
	fs.DurationVar(&o.refresh, "refresh", 0, "fixed metrics poll period (default: the metrics API's own resolution, 15s on metrics-server's defaults)")
	fs.StringVarP(&o.namespace, "namespace", "n", "", "start drilled into this namespace")
	fs.BoolVar(&o.version, "version", false, "print the version and exit")
	fs.StringVar(&o.config, "config", "", "config file (default: $XDG_CONFIG_HOME/ambx/config.yaml when it exists)")
	fs.BoolVar(&o.noMouse, "no-mouse", false, "leave the mouse to the terminal (selecting text) instead of clicks and the wheel (config: mouse: false)")
	fs.StringVar(&o.sidecar, "sidecar-cost", "", "what one sidecar costs, CPU/memory, for the mesh-overhead comparison (e.g. 10m/50Mi; default: measured sidecars, else 10m/50Mi)")
}

// bindClusterFlags declares how to reach the cluster; every command that
// reads one shares them.
func bindClusterFlags(fs *pflag.FlagSet, o *options) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: KUBECONFIG or ~/.kube/config)")
	fs.StringVar(&o.context, "context", "", "kubeconfig context to use")
}

// parseFlags parses the root command's flags alone (tests and the root
// command share finish).
func parseFlags(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := pflag.NewFlagSet("ambx", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bindRootFlags(fs, &o)
	bindClusterFlags(fs, &o)
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return o, o.finish(fs)
}

// finish checks the parsed flags and merges the config file and the
// environment into them.
func (o *options) finish(fs *pflag.FlagSet) error {
	if fs.Changed("refresh") && o.refresh <= 0 {
		return fmt.Errorf("--refresh must be positive, got %s", o.refresh)
	}
	cfg, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	if cfg.ReadOnly {
		o.readOnly = true
	}
	if o.sidecar == "" {
		o.sidecar = cfg.SidecarCost
	}
	if !fs.Changed("no-mouse") && cfg.Mouse != nil {
		o.noMouse = !*cfg.Mouse
	}
	if !fs.Changed("refresh") && cfg.Refresh != "" {
		d, err := time.ParseDuration(cfg.Refresh)
		if err != nil || d <= 0 {
			return fmt.Errorf("config: refresh %q is not a positive duration", cfg.Refresh)
		}
		o.refresh = d
	}
	if _, err := parseSidecarCost(o.sidecar); err != nil {
		return err
	}
	v, set := os.LookupEnv("AMBX_READONLY")
	ro, err := readOnlyEnv(v, set)
	if err != nil {
		return err
	}
	o.readOnly = o.readOnly || ro
	return nil
}

// usageError is a mistake in the command line: exit 2 with a pointer to
// --help.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// exitCode ends a command with a status it has already explained on
// stderr (or that needs no explanation, such as --fail-on).
type exitCode int

func (e exitCode) Error() string { return "exit status " + strconv.Itoa(int(e)) }

// demanding tells the metrics poller, after every message, what the screen
// now shows of the metrics API, so no poll reads figures nobody sees.
// Demand.Set is a non-blocking store; the poller does the I/O.
type demanding struct {
	ui.Model
	demand *metrics.Demand
	pace   *gcPace
}

// Update forwards to the UI and records its metrics need; the collector's
// pace learns of each snapshot the UI applied.
func (d demanding) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	next, cmd := d.Model.Update(msg)
	if sm, ok := msg.(ui.SnapshotMsg); ok && d.pace != nil {
		d.pace.shown(sm.Snapshot)
	}
	if m, ok := next.(ui.Model); ok {
		d.Model = m
		d.demand.Set(m.MetricsNeed())
		return d, cmd
	}
	return next, cmd
}

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
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// displayName is how the user called ambx: "kubectl ambx" when kubectl
// runs it as the plugin kubectl-ambx, so help and completion show the
// command they typed.
func displayName(argv0 string) string {
	base := strings.TrimSuffix(filepath.Base(argv0), ".exe")
	if rest, ok := strings.CutPrefix(base, "kubectl-"); ok && rest != "" {
		return "kubectl " + strings.ReplaceAll(rest, "_", "-")
	}
	return "ambx"
}

func run(args []string, stdout, stderr io.Writer) int {
	// ambx keeps about 70 MiB live on a 10,000-pod cluster; Go's default
	// lets the heap double that before collecting. Collecting at +50%
	// keeps the process within its memory budget (BENCHMARKS.md); the
	// explorer collects at +25% once a cluster is loaded (gc.go). A GOGC
	// set by the user wins.
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(50)
	}
	// client-go logs to stderr, which would tear the full-screen UI.
	silenceKlog()

	root := newRootCommand(stdout, stderr)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var code exitCode
	var uerr usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	case errors.As(err, &uerr):
		fmt.Fprintf(stderr, "ambx: %v (see %s --help)\n", uerr.err, root.DisplayName())
		return 2
	default:
		// cobra's own parse errors (unknown flag or command) are usage errors.
		fmt.Fprintf(stderr, "ambx: %v (see %s --help)\n", err, root.DisplayName())
		return 2
	}
}

// newRootCommand builds the command tree: the TUI at the root, and the
// commands for scripts beside it.
func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	var o options
	root := &cobra.Command{
		Use:   "ambx",
		Short: "a terminal explorer for Istio ambient mode",
		Long: "ambx: a terminal explorer for Istio ambient mode.\n\n" +
			"Without a command it opens the full-screen explorer on the current kubeconfig context\n" +
			"(or the built-in demo cluster with --demo).",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unexpected argument %q", args[0])}
			}
			return nil
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.finish(cmd.Flags()); err != nil {
				return usageError{err}
			}
			if o.version {
				fmt.Fprintf(stdout, "ambx %s\n", version)
				return nil
			}
			return explore(o, stderr)
		},
	}
	root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: displayName(os.Args[0])}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	bindRootFlags(root.Flags(), &o)
	bindClusterFlags(root.PersistentFlags(), &o)
	root.AddCommand(newReachCommand(&o, stdout, stderr), newAuditCommand(&o, stdout, stderr), newVersionCommand(&o, stdout, stderr), newLogsCommand(os.Stdin, stdout, stderr))
	return root
}

// newReachCommand is `ambx reach`.
func newReachCommand(o *options, stdout, stderr io.Writer) *cobra.Command {
	var ro reach.Options
	var onDemo bool
	cmd := &cobra.Command{
		Use:   "reach [-f PATH]... [--from] FROM [--to] TO --port PORT...",
		Short: "tell whether NetworkPolicies allow a connection, as the mesh carries it (from files or the cluster)",
		Long:  reach.Long,
		Example: "  ambx reach -f manifests/ --from loki/promtail --to loki/loki-0 --port 3100\n" +
			"  ambx reach -f manifests/ --from '*' --to 'loki/*' --port http-metrics -o json\n" +
			"  ambx reach --context prod --from 10.0.3.7 --to shop/web --port 8080\n" +
			"  ambx reach shop/web svc/billing/api:http",
		Args: func(_ *cobra.Command, args []string) error {
			if err := ro.Positional(args); err != nil {
				return usageError{err}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			connect := func() (*kube.Clients, error) {
				if onDemo {
					return demo.Clients(time.Now()), nil
				}
				// reach only reads: the guard refuses any write whatever the flags.
				return kube.Connect(kube.ConnectOptions{Kubeconfig: o.kubeconfig, Context: o.context, WrapTransport: guard.Wrap})
			}
			if onDemo && len(ro.Files) > 0 {
				return usageError{errors.New("-f and --demo ask about different clusters; give one")}
			}
			if code := reach.Run(cmd.Context(), ro, stdout, stderr, connect); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	}
	ro.Bind(cmd.Flags())
	cmd.Flags().BoolVar(&onDemo, "demo", false, "ask the built-in demo cluster")
	return cmd
}

// noArgs refuses positional arguments as a usage error, with a hint.
func noArgs(hint string) cobra.PositionalArgs {
	return func(_ *cobra.Command, args []string) error {
		if len(args) > 0 {
			if hint != "" {
				return usageError{fmt.Errorf("unexpected argument %q (%s)", args[0], hint)}
			}
			return usageError{fmt.Errorf("unexpected argument %q", args[0])}
		}
		return nil
	}
}

// newVersionCommand is `ambx version`: ambx's version, and the Istio of
// the current cluster when one answers within a few seconds.
func newVersionCommand(o *options, stdout, stderr io.Writer) *cobra.Command {
	var clientOnly bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "version",
		Short: "print the version of ambx and of the cluster's Istio",
		Args:  noArgs(""),
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(stdout, "ambx %s\n", version)
			if clientOnly {
				return nil
			}
			clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: o.kubeconfig, Context: o.context, WrapTransport: guard.Wrap})
			if err != nil {
				fmt.Fprintf(stdout, "cluster: none (%s)\n", clean(err.Error()))
				return nil
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			snap, err := kube.SnapshotOnce(ctx, clients)
			switch {
			case snap == nil || !snap.Reachable:
				why := "did not answer within " + timeout.String()
				if snap != nil && snap.Problem != "" {
					why = snap.Problem
				}
				fmt.Fprintf(stdout, "cluster %s: %s\n", clean(clients.Context), clean(why))
			default:
				_ = err
				fmt.Fprintf(stdout, "cluster %s: %s\n", clean(clients.Context), clean(istioVersions(snap)))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&clientOnly, "client", false, "print only ambx's version; do not contact a cluster")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "how long to wait for the cluster")
	return cmd
}

// istioVersions says which Istio components the snapshot found.
func istioVersions(s *kube.Snapshot) string {
	i := s.Install
	if !i.Istiod.Known() && !i.Ztunnel.Known() && !i.CNI.Known() {
		return "no Istio version found (verdicts assume " + i.Effective().String() + ")"
	}
	var parts []string
	for _, c := range []struct {
		name string
		v    install.Version
	}{{"istiod", i.Istiod}, {"ztunnel", i.Ztunnel}, {"istio-cni", i.CNI}} {
		if c.v.Known() {
			parts = append(parts, c.name+" "+c.v.String())
		} else {
			parts = append(parts, c.name+" not found")
		}
	}
	return "Istio " + strings.Join(parts, ", ")
}

// clean is the one door for text from outside (cluster, files) on its way
// to the terminal in main's own output.
func clean(s string) string { return safe.Line(s) }

// auditOptions are `ambx audit`'s flags.
type auditOptions struct {
	files      []string
	output     string
	failOn     string
	namespaces []string
	timeout    time.Duration
	demo       bool
	whatIf     []string
}

// Exit statuses of `ambx audit`.
const (
	auditFailed  = 1 // a finding at or above --fail-on
	auditBad     = 2 // bad flags or manifests
	auditPartial = 3 // something was not read and --fail-on asked for a verdict, or no cluster at all
)

const auditLong = `Audits the mesh and prints a report: every finding with its severity,
object, why and fix; the Istio installation found (versions, switches);
and per object the verdicts ambx computed (pod capture state, waypoint
binding and why, where each policy is enforced and at which layer,
whether NetworkPolicies let HBONE through). The schema is stable and
documented (kube/audit/SCHEMA.md); lists are sorted and the report has no
timestamps, so two reports diff cleanly.

Against the live cluster (the default) the audit is always read-only:
every write is refused at the HTTP transport, whatever the other flags.
Resources that could not be read (forbidden, failing, not synced within
--timeout) are listed and make the result "partial", never "clean".

With -f it audits manifests instead (files or folders of YAML or JSON,
multi-document, Lists): the intended state, where the pods of a workload
in an ambient namespace are judged as captured. Findings carry the file
and line of the object, or of the field the fix changes; -o sarif puts
them on the lines of a pull request.

Exit status: 0 when the report was written and nothing reached --fail-on;
1 when a finding is at or above --fail-on; 2 on bad flags or manifests;
3 when the data is partial and --fail-on was given (a check cannot pass on
data it did not read), or when no cluster could be reached at all.`

// newAuditCommand is ` + "`ambx audit`" + `.
func newAuditCommand(o *options, stdout, stderr io.Writer) *cobra.Command {
	var ao auditOptions
	cmd := &cobra.Command{
		Use:   "audit [-f PATH]...",
		Short: "report findings and verdicts for CI and auditors (live cluster, read-only, or manifests)",
		Long:  auditLong,
		Example: "  ambx audit --fail-on warning\n" +
			"  ambx audit -n shop -o markdown > audit.md\n" +
			"  ambx audit -f deploy/ -o sarif > ambx.sarif\n" +
			"  ambx audit --what-if 'enroll shop' --fail-on warning",
		Args: noArgs("files go after -f"),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAudit(cmd.Context(), *o, ao, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&ao.files, "filename", "f", nil, "audit manifests: a YAML or JSON file, or a folder of them; repeatable")
	f.StringVarP(&ao.output, "output", "o", "table", "output: "+strings.Join(audit.Formats, ", "))
	f.StringVar(&ao.failOn, "fail-on", "", "exit 1 when a finding is at least this severe: error or warning (and 3 on partial data)")
	f.StringSliceVarP(&ao.namespaces, "namespace", "n", nil, "audit only these namespaces; repeatable or comma-separated")
	f.DurationVar(&ao.timeout, "timeout", time.Minute, "how long to wait for the cluster to be read")
	f.BoolVar(&ao.demo, "demo", false, "audit the built-in demo cluster")
	f.StringArrayVar(&ao.whatIf, "what-if", nil, "report what a write would break instead, without sending it: "+strings.Join(whatif.Verbs, ", ")+"; repeatable (applied in order)")
	_ = cmd.RegisterFlagCompletionFunc("output", cobra.FixedCompletions(audit.Formats, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("fail-on", cobra.FixedCompletions([]string{"error", "warning"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}

func runAudit(ctx context.Context, o options, ao auditOptions, stdout, stderr io.Writer) error {
	if !slices.Contains(audit.Formats, ao.output) {
		return usageError{fmt.Errorf("-o must be one of %s, not %q", strings.Join(audit.Formats, ", "), ao.output)}
	}
	threshold := -1
	switch ao.failOn {
	case "":
	case "error":
		threshold = int(finding.Error)
	case "warning":
		threshold = int(finding.Warning)
	default:
		return usageError{fmt.Errorf("--fail-on must be error or warning, not %q", ao.failOn)}
	}
	if ao.timeout <= 0 {
		return usageError{fmt.Errorf("--timeout must be positive, got %s", ao.timeout)}
	}
	if len(ao.files) > 0 && ao.demo {
		return usageError{errors.New("-f and --demo audit different things; give one")}
	}
	if len(ao.whatIf) > 0 && !slices.Contains([]string{"table", "json", "yaml"}, ao.output) {
		return usageError{fmt.Errorf("--what-if prints table, json or yaml, not %q", ao.output)}
	}
	in := audit.Input{Version: version, Scope: ao.namespaces}
	if len(ao.files) > 0 {
		set, err := manifest.Load(ao.files)
		if err != nil {
			fmt.Fprintf(stderr, "ambx audit: %s\n", clean(err.Error()))
			return exitCode(auditBad)
		}
		in.Snapshot = audit.FromManifests(set, time.Now())
		in.Origin, in.Notes = set.Origin, set.Notes
		in.Source = audit.Source{Kind: "files", Files: ao.files}
	} else {
		var clients *kube.Clients
		if ao.demo {
			clients = demo.Clients(time.Now())
		} else {
			var err error
			clients, err = kube.Connect(kube.ConnectOptions{Kubeconfig: o.kubeconfig, Context: o.context, WrapTransport: guard.Wrap})
			if err != nil {
				fmt.Fprintf(stderr, "ambx audit: %s\n", clean(err.Error()))
				return exitCode(auditPartial)
			}
		}
		tctx, cancel := context.WithTimeout(ctx, ao.timeout)
		defer cancel()
		snap, _ := kube.SnapshotOnce(tctx, clients)
		if snap == nil {
			snap = &kube.Snapshot{Problem: "the cluster did not answer within " + ao.timeout.String()}
		}
		in.Snapshot = snap
		in.Source = audit.Source{Kind: "cluster", Context: clients.Context}
	}
	if len(ao.whatIf) > 0 {
		return runWhatIf(in.Snapshot, ao, threshold, stdout, stderr)
	}
	r := audit.Build(in)
	if err := audit.Write(stdout, r, ao.output); err != nil {
		fmt.Fprintf(stderr, "ambx audit: %s\n", clean(err.Error()))
		return exitCode(1)
	}
	if threshold < 0 {
		return nil
	}
	if threshold <= int(finding.Error) && r.Summary.Errors > 0 || threshold <= int(finding.Warning) && r.Summary.Errors+r.Summary.Warnings > 0 {
		return exitCode(auditFailed)
	}
	if r.Result == audit.ResultPartial {
		fmt.Fprintln(stderr, "ambx audit: partial data: "+clean(fmt.Sprintf("%d resources not read", len(r.Unread))))
		return exitCode(auditPartial)
	}
	return nil
}

// runWhatIf is `ambx audit --what-if`: the writes applied to the snapshot
// by kube/whatif, never sent, and what they would break. With --fail-on it
// exits 1 when the writes add a finding that severe (STRICT against callers
// outside the mesh and sidecars left behind count as warnings), and 3 when
// nothing breaks but something was not read.
func runWhatIf(snap *kube.Snapshot, ao auditOptions, threshold int, stdout, stderr io.Writer) error {
	var changes []whatif.Change
	for _, expr := range ao.whatIf {
		c, err := whatif.Parse(snap, expr)
		if err != nil {
			return usageError{fmt.Errorf("--what-if: %s", clean(err.Error()))}
		}
		changes = append(changes, c...)
	}
	r := whatif.Run(snap, changes...)
	if len(r.Unknown) > 0 {
		fmt.Fprintf(stderr, "ambx audit: --what-if: %s\n", clean(strings.Join(r.Unknown, "; ")))
		return exitCode(auditBad)
	}
	var err error
	switch ao.output {
	case "json":
		var b []byte
		if b, err = json.MarshalIndent(r.Doc(), "", "  "); err == nil {
			_, err = stdout.Write(append(b, '\n'))
		}
	case "yaml":
		var b []byte
		if b, err = sigsyaml.Marshal(r.Doc()); err == nil {
			_, err = stdout.Write(b)
		}
	default:
		err = whatif.WriteText(stdout, r)
	}
	if err != nil {
		fmt.Fprintf(stderr, "ambx audit: %s\n", clean(err.Error()))
		return exitCode(1)
	}
	if threshold < 0 {
		return nil
	}
	if int(r.WorstNew()) >= threshold {
		return exitCode(auditFailed)
	}
	if len(r.Unread) > 0 {
		fmt.Fprintln(stderr, "ambx audit: partial data: "+clean(strings.Join(r.Unread, ", ")))
		return exitCode(auditPartial)
	}
	return nil
}

// explore runs the full-screen explorer.
func explore(o options, stderr io.Writer) error {
	perSidecar, _ := parseSidecarCost(o.sidecar) // checked by finish
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Nothing is polled until the UI has pods on screen to show figures
	// for; it widens and narrows this as panes come and go. One demand
	// serves every session: it is what the screen shows.
	demand := metrics.NewDemand(usage.Need{})
	sessions := &sessions{o: o, parent: ctx, demand: demand, pace: newGCPace()}
	first, err := sessions.start(o.context, o.namespace)
	if err != nil {
		fmt.Fprintf(stderr, "ambx: %v\n", err)
		return exitCode(2)
	}
	first.Theme, first.Version, first.PerSidecar, first.Namespace = theme.ForEnv(os.Getenv), version, perSidecar, o.namespace
	first.NoMouse = o.noMouse
	if !o.demo {
		first.Contexts = func() ([]kube.KubeContext, error) { return kube.Contexts(o.kubeconfig) }
		first.Switch = func(name string) (ui.Options, error) { return sessions.start(name, "") }
	}
	m := ui.New(first)
	p := tea.NewProgram(demanding{Model: m, demand: demand, pace: sessions.pace}, tea.WithContext(ctx))
	restore := func(io.Writer) {}
	if f, ok := stderr.(*os.File); ok && f == os.Stderr {
		restore = quietStderr()
	}
	_, err = p.Run()
	sessions.stop()
	restore(stderr)
	if err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		fmt.Fprintf(stderr, "ambx: %v\n", err)
		return exitCode(1)
	}
	return nil
}

// sessions connects to one kubeconfig context at a time: start connects
// to the next and, only once that worked, ends the one before (its
// informers, metrics poll, log streams and credential plugins).
type sessions struct {
	o      options
	parent context.Context
	demand *metrics.Demand
	pace   *gcPace

	mu      sync.Mutex
	cancel  context.CancelFunc
	plugins []string
}

// start connects to context name ("" for the kubeconfig's current one)
// and returns the UI options of the new session.
func (s *sessions) start(name, namespace string) (ui.Options, error) {
	var clients *kube.Clients
	var opener logstream.Opener
	var locator logstream.Locator
	var zt ztread.Reader
	if s.o.demo {
		now := time.Now()
		clients = demo.Clients(now)
		objs := demo.Objects(now)
		opener = demo.ZtunnelLogs(objs.Pods).WithServices(objs.Services)
		zt = &demo.Ztunnel{}
	} else {
		co := kube.ConnectOptions{Kubeconfig: s.o.kubeconfig, Context: name, Namespace: namespace}
		// Read-only is a property of the process, not of a context: every
		// session's transport carries the guard.
		if s.o.readOnly {
			co.WrapTransport = guard.Wrap
		}
		var err error
		clients, err = kube.Connect(co)
		if err != nil {
			return ui.Options{}, err
		}
		opener = logstream.KubeOpener{Client: clients.Kube}
		locator = logstream.KubeLocator{Client: clients.Kube}
		zt = &ztread.Live{Config: clients.Config, Client: clients.Kube}
	}
	s.stop()
	ctx, cancel := context.WithCancel(s.parent)
	s.mu.Lock()
	s.cancel, s.plugins = cancel, clients.Plugins
	s.mu.Unlock()
	if live, ok := zt.(*ztread.Live); ok {
		// The session's port-forwards to ztunnels end with it.
		context.AfterFunc(ctx, live.Close)
	}

	snaps := make(chan *kube.Snapshot, 1)
	src := kube.NewSource(clients)
	publish := s.pace.watch(keepNewest(snaps))
	go func() {
		src.Run(ctx, publish)
		// The UI's wait on this session's snapshots ends with it.
		close(snaps)
	}()
	usages := make(chan *usage.Usage, 1)
	if clients.Metrics != nil {
		go func() {
			metrics.Poller{Client: clients.Metrics, Period: s.o.refresh, Demand: s.demand}.Run(ctx, keepNewest(usages))
			close(usages)
		}()
	}
	return ui.Options{
		Context:    clients.Context,
		ReadOnly:   s.o.readOnly,
		Snapshots:  snaps,
		Logs:       opener,
		LogLocator: locator,
		Ztunnel:    zt,
		Fetch:      ui.FetchFrom(clients),
		Events:     ui.EventsFrom(clients),
		Writer:     writer.New(clients, s.o.readOnly),
		Usage:      usages,
		Ctx:        ctx,
	}, nil
}

// stop ends the current session, if any.
func (s *sessions) stop() {
	s.mu.Lock()
	cancel, plugins := s.cancel, s.plugins
	s.cancel, s.plugins = nil, nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	// A credential plugin that hangs would outlive the session.
	kube.StopPlugins(plugins)
}
