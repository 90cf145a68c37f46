// Package reach is `ambx reach`: from manifests in files (or a live
// cluster), tell whether pods may connect under their NetworkPolicies, and
// which rule or policy decides it. It knows ambient mode: between two pods
// the mesh carries, the connection the policies see is HBONE on 15008,
// through the destination's waypoint when one serves it. It is for scripts
// and GitOps checks, so it prints one line (or JSON object) per query.
package reach

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/manifest"
	"github.com/ambx/ambx/kube/netpol"
)

// Exit codes.
const (
	exitOK       = 0 // the queries ran, whatever their verdicts
	exitCluster  = 1 // the live cluster could not be read
	exitBadInput = 2 // flags, files or objects are wrong
)

// Long is the command's help text.
const Long = `Tells whether new connections are allowed by Kubernetes NetworkPolicies,
and which policy rule allows them or which policies deny them.

FROM and TO are NS/POD, NS/* (every pod in NS), * (every pod) or an IP
address (a pod's IP means that pod; any other is outside the cluster).
TO may also be a Service, svc/NS/NAME[:PORT], PORT being the Service's
port number or name (without one, --port or else every port): each
endpoint (the ready pods it selects) is judged on its targetPort, along
the path the client takes. They may be given as the two arguments instead
of --from and --to.
Workloads (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob)
count as one pod named after the workload; in an ambient namespace their
pods are judged as captured. PORT is a number or a named container port of
the destination, optionally /TCP, /UDP or /SCTP.

Ambient mode: when the mesh carries the connection (a captured or sidecar
source to a captured destination), the policies see HBONE on TCP 15008, and
that is what is judged ("carried as HBONE: 3100 → 15008"); with a waypoint
in front of the destination, both hops through the waypoint's pods are.
To a Service, a captured client goes through the Service's waypoint when
one is bound ("carried as HBONE via waypoint W: 80 → 15008"), else straight
to the endpoint; sidecars never use waypoints; clients outside the mesh
connect plainly to the targetPort.

Without -f, the current kubeconfig's cluster is read (read-only).

Exit status: 0 when the queries ran (whatever the verdicts), 1 when the
cluster could not be read, 2 on bad flags, files or objects.`

// DefaultTimeout bounds reading a live cluster.
const DefaultTimeout = 30 * time.Second

// Options are reach's flags.
type Options struct {
	Files   []string
	From    string
	To      string
	Ports   []string
	Output  string
	Timeout time.Duration
}

// Bind declares the flags on fs.
func (o *Options) Bind(fs *pflag.FlagSet) {
	fs.StringArrayVarP(&o.Files, "filename", "f", nil, "a YAML or JSON file, or a folder of them; repeatable")
	fs.StringVar(&o.From, "from", "", "source: NS/POD, NS/*, * or an IP")
	fs.StringVar(&o.To, "to", "", "destination: NS/POD, NS/*, *, an IP or svc/NS/NAME[:PORT]")
	fs.StringArrayVar(&o.Ports, "port", nil, "port to check: N, a container port's name, optionally /TCP|UDP|SCTP; repeatable")
	fs.StringVarP(&o.Output, "output", "o", "text", "output: text or json (one object per line)")
	fs.DurationVar(&o.Timeout, "timeout", DefaultTimeout, "how long to wait for the live cluster")
}

// Connect returns the clients of the live cluster; it is called only when
// no -f is given.
type Connect func() (*kube.Clients, error)

// Result is what -o json prints for each query.
type Result struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
	Allowed  bool            `json:"allowed"`
	Reason   string          `json:"reason"`
	// PortName is the named port asked for, when one was.
	PortName string `json:"portName,omitempty"`
	// Carried is "HBONE" when the mesh carries the connection, so the
	// policies were asked about CarriedPort (15008) instead of Port.
	Carried     string `json:"carried,omitempty"`
	CarriedPort int32  `json:"carriedPort,omitempty"`
	// Waypoint is the waypoint the connection passes through, ns/name.
	Waypoint string `json:"waypoint,omitempty"`
	// Hops are the connections judged when there is more than one.
	Hops []Hop `json:"hops,omitempty"`
	// Service is the Service asked about (ns/name), ServicePort its port;
	// To and Port are then the endpoint and its targetPort.
	Service     string `json:"service,omitempty"`
	ServicePort int32  `json:"servicePort,omitempty"`
}

// Hop is one connection of a path through a waypoint.
type Hop struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Port    int32  `json:"port"`
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
}

// Main parses args (the words after "reach") and runs; for tests and for
// callers without cobra.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, connect Connect) int {
	var o Options
	fs := pflag.NewFlagSet("ambx reach", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.Bind(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, "Usage: ambx reach [-f PATH]... [--from] FROM [--to] TO --port PORT... [-o text|json]\n\n%s\n\nFlags:\n%s", Long, fs.FlagUsages())
			return exitOK
		}
		fmt.Fprintf(stderr, "ambx reach: %s\n", clean(err.Error()))
		return exitBadInput
	}
	if err := o.Positional(fs.Args()); err != nil {
		fmt.Fprintf(stderr, "ambx reach: %s\n", clean(err.Error()))
		return exitBadInput
	}
	return Run(ctx, o, stdout, stderr, connect)
}

// Positional takes FROM TO given as arguments instead of --from and --to
// (ambx reach apps/client svc/billing/api:80); anything else is refused.
func (o *Options) Positional(args []string) error {
	switch {
	case len(args) == 0:
		return nil
	case len(args) == 2 && o.From == "" && o.To == "":
		o.From, o.To = args[0], args[1]
		return nil
	case len(args) == 2:
		return fmt.Errorf("FROM TO as arguments or --from and --to, not both")
	}
	return fmt.Errorf("unexpected argument %q (files go after -f; FROM and TO come as a pair)", args[len(args)-1])
}

// portQuery is one --port: a number, or a name resolved per destination.
type portQuery struct {
	num   int32
	name  string
	proto corev1.Protocol
}

// Run answers the queries of o and returns the exit status.
func Run(ctx context.Context, o Options, stdout, stderr io.Writer, connect Connect) int {
	bad := func(format string, a ...any) int {
		fmt.Fprintln(stderr, "ambx reach: "+clean(fmt.Sprintf(format, a...)))
		return exitBadInput
	}
	switch {
	case o.From == "" || o.To == "":
		return bad("--from and --to are required")
	case len(o.Ports) == 0 && !isServiceSpec(o.To):
		return bad("at least one --port is required")
	case o.Output != "text" && o.Output != "json":
		return bad("-o must be text or json, not %q", o.Output)
	case o.Timeout <= 0:
		return bad("--timeout must be positive, got %s", o.Timeout)
	}
	var ports []portQuery
	for _, p := range o.Ports {
		q, err := parsePort(p)
		if err != nil {
			return bad("--port %q: %v", p, err)
		}
		ports = append(ports, q)
	}

	var set *manifest.Set
	var mesh *ambient.Analysis
	if len(o.Files) > 0 {
		var err error
		if set, err = manifest.Load(o.Files); err != nil {
			return bad("%v", err)
		}
		mesh = ambient.Analyze(&set.Cluster)
	} else {
		var code int
		if set, mesh, code = live(ctx, o.Timeout, stderr, connect, isServiceSpec(o.To)); code != exitOK {
			return code
		}
	}
	for _, n := range set.Notes {
		fmt.Fprintln(stderr, "ambx reach: note: "+clean(n))
	}
	c, err := netpol.NewCluster(set.Namespaces, set.Pods, set.NetworkPolicies)
	if err != nil {
		for _, l := range policyErrors(err, set) {
			bad("%s", l)
		}
		return exitBadInput
	}
	srcs, err := expand(c, o.From, "--from")
	if err != nil {
		return bad("%v", err)
	}
	svcSpec, isSvc, err := parseService(o.To)
	if err != nil {
		return bad("--to %v", err)
	}
	var dsts []netpol.Peer
	if !isSvc {
		if dsts, err = expand(c, o.To, "--to"); err != nil {
			return bad("%v", err)
		}
	}
	j := judge{c: c, mesh: mesh, set: set, intended: len(o.Files) > 0}
	emit := func(r Result) int {
		if o.Output == "json" {
			b, err := json.Marshal(r)
			if err != nil {
				return exitCluster
			}
			if _, err := stdout.Write(cleanJSON(append(b, '\n'))); err != nil {
				return exitCluster
			}
			return exitOK
		}
		fmt.Fprintln(stdout, textLine(r))
		return exitOK
	}
	if isSvc {
		return j.runService(o, srcs, svcSpec, ports, stderr, emit, bad)
	}
	wild := strings.Contains(o.From, "*") || strings.Contains(o.To, "*")
	ran := 0
	for _, s := range srcs {
		for _, d := range dsts {
			if !s.IsPod() && !d.IsPod() {
				return bad("--from %s and --to %s are both addresses; one end must be a pod", s, d)
			}
			if wild && s == d {
				continue // a wildcard's pod to itself is loopback, not a question
			}
			for _, q := range ports {
				num, err := resolvePort(c, d, q)
				if err != nil {
					if wild {
						fmt.Fprintln(stderr, "ambx reach: note: "+clean(err.Error())+"; skipped")
						continue
					}
					return bad("%v", err)
				}
				r, err := j.query(s, d, num, q.proto)
				if err != nil {
					return bad("%s -> %s: %v", s, d, err)
				}
				r.PortName = q.name
				ran++
				if code := emit(r); code != exitOK {
					return code
				}
			}
		}
	}
	if ran == 0 {
		fmt.Fprintln(stderr, "ambx reach: no queries: the only pairs were pods with themselves")
	}
	return exitOK
}

// textLine is one verdict for people: the word first, so it can be grepped.
func textLine(r Result) string {
	word := "denied "
	if r.Allowed {
		word = "allowed"
	}
	port := fmt.Sprintf("%d/%s", r.Port, r.Protocol)
	if r.Service != "" {
		// svc/NS/NAME 80/TCP (http) → NS/POD 8080/TCP: the Service's port,
		// then the endpoint and its targetPort.
		sport := fmt.Sprintf("%d/%s", r.ServicePort, r.Protocol)
		if r.PortName != "" {
			sport = fmt.Sprintf("%s (%s)", sport, r.PortName)
		}
		to := "svc/" + r.Service + " " + sport
		if r.To != "svc/"+r.Service {
			to += " → " + r.To + " " + port
		}
		return clean(fmt.Sprintf("%s  %s -> %s  %s", word, r.From, to, r.Reason))
	}
	if r.PortName != "" {
		port = fmt.Sprintf("%s (%s)", port, r.PortName)
	}
	return clean(fmt.Sprintf("%s  %s -> %s %s  %s", word, r.From, r.To, port, r.Reason))
}

// live reads the cluster through the same Source as the explorer, read
// only, within the timeout. Verdicts need namespaces, pods and
// NetworkPolicies; without them it fails rather than guess.
func live(ctx context.Context, timeout time.Duration, stderr io.Writer, connect Connect, services bool) (*manifest.Set, *ambient.Analysis, int) {
	fail := func(format string, a ...any) (*manifest.Set, *ambient.Analysis, int) {
		fmt.Fprintln(stderr, "ambx reach: "+clean(fmt.Sprintf(format, a...)))
		return nil, nil, exitCluster
	}
	if connect == nil {
		fmt.Fprintln(stderr, "ambx reach: no -f given and no cluster to read")
		return nil, nil, exitBadInput
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type connected struct {
		c   *kube.Clients
		err error
	}
	ch := make(chan connected, 1)
	go func() { c, err := connect(); ch <- connected{c, err} }()
	var clients *kube.Clients
	select {
	case r := <-ch:
		if r.err != nil {
			return fail("%v", r.err)
		}
		clients = r.c
	case <-ctx.Done():
		return fail("connecting to the cluster took longer than --timeout %s", timeout)
	}
	snap, err := kube.SnapshotOnce(ctx, clients)
	var missing []string
	need := []kube.Resource{kube.ResNamespaces, kube.ResPods, kube.ResNetworkPolicies}
	if services {
		need = append(need, kube.ResServices) // a Service destination's endpoints
	}
	for _, r := range need {
		if st := snap.State(r); st.Availability != kube.Available {
			missing = append(missing, fmt.Sprintf("%s (%s)", r, describeState(st)))
		}
	}
	if len(missing) > 0 {
		why := ""
		if err != nil {
			why = fmt.Sprintf(" within --timeout %s", timeout)
			if snap != nil && snap.Problem != "" {
				why += ": " + snap.Problem
			}
		}
		return fail("could not read %s%s; no verdict without them", strings.Join(missing, ", "), why)
	}
	for _, r := range []kube.Resource{kube.ResGateways, kube.ResServices} {
		if st := snap.State(r); st.Availability != kube.Available && st.Availability != kube.Missing {
			fmt.Fprintln(stderr, "ambx reach: note: "+clean(fmt.Sprintf("%s not read (%s): waypoints in the path may be missed", r, describeState(st))))
		}
	}
	set := &manifest.Set{Cluster: snap.Cluster, Origin: map[string]manifest.Position{}}
	// Finished pods hold no connections.
	set.Pods = nil
	for _, p := range snap.Pods {
		if p.Status.Phase != corev1.PodSucceeded && p.Status.Phase != corev1.PodFailed {
			set.Pods = append(set.Pods, p)
		}
	}
	return set, snap.Mesh, exitOK
}

func describeState(st kube.ResourceState) string {
	word := map[kube.Availability]string{kube.Syncing: "not synced", kube.Available: "read", kube.Missing: "not installed",
		kube.Forbidden: "forbidden", kube.Failing: "failing"}[st.Availability]
	if st.Detail != "" {
		return word + ": " + st.Detail
	}
	return word
}

// parsePort reads N, NAME, N/PROTO or NAME/PROTO.
func parsePort(s string) (portQuery, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	q := portQuery{proto: corev1.ProtocolTCP}
	if hasProto {
		q.proto = corev1.Protocol(strings.ToUpper(proto))
		if q.proto != corev1.ProtocolTCP && q.proto != corev1.ProtocolUDP && q.proto != corev1.ProtocolSCTP {
			return q, fmt.Errorf("protocol %q is not TCP, UDP or SCTP", proto)
		}
	}
	if n, err := strconv.ParseInt(num, 10, 32); err == nil {
		if n < 1 || n > 65535 {
			return q, fmt.Errorf("want a port number 1-65535 or a port name, optionally /TCP, /UDP or /SCTP")
		}
		q.num = int32(n)
		return q, nil
	}
	if !validPortName(num) {
		return q, fmt.Errorf("want a port number 1-65535 or a port name (IANA_SVC_NAME: 1-15 lower-case letters, digits and '-'), optionally /TCP, /UDP or /SCTP")
	}
	q.name = num
	return q, nil
}

// validPortName is Kubernetes' IANA_SVC_NAME rule for container port names.
func validPortName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' || strings.Contains(s, "--") {
		return false
	}
	letter := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			letter = true
		case r >= '0' && r <= '9', r == '-':
		default:
			return false
		}
	}
	return letter
}

// resolvePort turns a named port into the destination pod's number.
func resolvePort(c *netpol.Cluster, d netpol.Peer, q portQuery) (int32, error) {
	if q.name == "" {
		return q.num, nil
	}
	if !d.IsPod() {
		return 0, fmt.Errorf("port %s: a named port needs a pod destination, not %s", q.name, d)
	}
	p := c.Pod(d.Pod)
	for _, ct := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, cp := range ct.Ports {
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if cp.Name == q.name && proto == q.proto {
				return cp.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("%s has no %s container port named %s", d, q.proto, q.name)
}

// expand turns NS/POD, NS/*, * or an IP into peers. An IP that is a pod's
// address means that pod, since a NetworkPolicy sees the pod behind it.
func expand(c *netpol.Cluster, spec, flagName string) ([]netpol.Peer, error) {
	if ip, err := netip.ParseAddr(spec); err == nil {
		for _, k := range c.Pods() {
			p := c.Pod(k)
			if p.Spec.HostNetwork {
				continue
			}
			for _, pip := range p.Status.PodIPs {
				if a, err := netip.ParseAddr(pip.IP); err == nil && a == ip.Unmap() {
					return []netpol.Peer{{Pod: k}}, nil
				}
			}
			if a, err := netip.ParseAddr(p.Status.PodIP); err == nil && a == ip.Unmap() {
				return []netpol.Peer{{Pod: k}}, nil
			}
		}
		return []netpol.Peer{netpol.IPPeer(ip)}, nil
	}
	var keys []netpol.Key
	ns, name, ok := strings.Cut(spec, "/")
	switch {
	case spec == "*":
		keys = c.Pods()
		if len(keys) == 0 {
			return nil, fmt.Errorf("%s *: the input holds no pods", flagName)
		}
	case !ok || ns == "" || name == "":
		return nil, fmt.Errorf("%s %q: want NS/POD, NS/*, * or an IP address", flagName, spec)
	case name == "*":
		keys = c.PodsIn(ns)
		if len(keys) == 0 {
			return nil, fmt.Errorf("%s %s: no pods in namespace %s", flagName, spec, ns)
		}
	default:
		k := netpol.Key{Namespace: ns, Name: name}
		if !c.HasPod(k) {
			return nil, fmt.Errorf("%s %s: no pod or workload %s in namespace %s%s", flagName, spec, name, ns, similar(c, ns))
		}
		keys = []netpol.Key{k}
	}
	out := make([]netpol.Peer, len(keys))
	for i, k := range keys {
		out[i] = netpol.Peer{Pod: k}
	}
	return out, nil
}

// similar lists what the namespace does hold, to help spot a typo.
func similar(c *netpol.Cluster, ns string) string {
	keys := c.PodsIn(ns)
	if len(keys) == 0 {
		return " (it holds no pods)"
	}
	var names []string
	for i, k := range keys {
		if i == 5 {
			names = append(names, "…")
			break
		}
		names = append(names, k.Name)
	}
	return " (it holds " + strings.Join(names, ", ") + ")"
}

// policyErrors names the file each unreadable policy came from.
func policyErrors(err error, set *manifest.Set) []string {
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var lines []string
	for _, e := range errs {
		var pe *netpol.PolicyError
		if errors.As(e, &pe) {
			if where, ok := set.Origin["NetworkPolicy "+pe.Policy.String()]; ok {
				lines = append(lines, where.Where+": "+pe.Error())
				continue
			}
		}
		lines = append(lines, e.Error())
	}
	return lines
}
