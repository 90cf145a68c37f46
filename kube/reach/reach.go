// Package reach is `ambx reach`: from manifests in files (or a live
// cluster), tell whether pods may connect under their NetworkPolicies, and
// which rule or policy decides it. It is for scripts and GitOps checks, so
// it needs no cluster and prints one line (or JSON object) per query.
package reach

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ambx/ambx/kube/netpol"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
)

// Exit codes.
const (
	exitOK       = 0 // the queries ran, whatever their verdicts
	exitCluster  = 1 // the live cluster could not be read
	exitBadInput = 2 // flags, files or objects are wrong
)

const usage = `Usage: ambx reach [-f PATH]... --from FROM --to TO --port N[/PROTO]... [-o text|json]

Tells whether new connections are allowed by Kubernetes NetworkPolicies,
and which policy rule allows them or which policies deny them.

FROM and TO are NS/POD, NS/* (every pod in NS), * (every pod) or an IP
address outside the cluster. Workloads (Deployment, StatefulSet, DaemonSet,
ReplicaSet, Job, CronJob) count as one pod named after the workload.
Without -f, the current kubeconfig's cluster is read.

Exit status: 0 when the queries ran (whatever the verdicts), 1 when the
cluster could not be read, 2 on bad flags, files or objects.

Flags:
`

// multi is a flag that may be given more than once.
type multi []string

// String returns the values given so far, for flag's defaults.
func (m *multi) String() string { return strings.Join(*m, ",") }

// Set adds one value.
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// query is one connection to judge.
type query struct {
	from, to netpol.Peer
	port     int32
	proto    corev1.Protocol
}

// Result is what -o json prints for each query.
type Result struct {
	From     string          `json:"from"`
	To       string          `json:"to"`
	Port     int32           `json:"port"`
	Protocol corev1.Protocol `json:"protocol"`
	Allowed  bool            `json:"allowed"`
	Reason   string          `json:"reason"`
}

// Main runs `ambx reach` with the arguments after "reach" and returns the
// exit status. connect is called only when no -f is given.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, connect func() (kubernetes.Interface, error)) int {
	fs := flag.NewFlagSet("ambx reach", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var files, ports multi
	fs.Var(&files, "f", "a YAML or JSON file, or a folder of them; repeatable")
	from := fs.String("from", "", "source: NS/POD, NS/*, * or an IP")
	to := fs.String("to", "", "destination: NS/POD, NS/*, * or an IP")
	fs.Var(&ports, "port", "port to check, N or N/TCP|UDP|SCTP; repeatable")
	out := fs.String("o", "text", "output: text or json (one object per line)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitBadInput
	}
	bad := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "ambx reach: "+format+"\n", a...)
		return exitBadInput
	}
	switch {
	case fs.NArg() > 0:
		return bad("unexpected argument %q (files go after -f)", fs.Arg(0))
	case *from == "" || *to == "":
		return bad("--from and --to are required")
	case len(ports) == 0:
		return bad("at least one --port is required")
	case *out != "text" && *out != "json":
		return bad("-o must be text or json, not %q", *out)
	}
	var portList []query
	for _, p := range ports {
		n, proto, err := parsePort(p)
		if err != nil {
			return bad("--port %q: %v", p, err)
		}
		portList = append(portList, query{port: n, proto: proto})
	}

	var objs *Objects
	if len(files) > 0 {
		var err error
		if objs, err = Load(files); err != nil {
			return bad("%v", err)
		}
	} else {
		if connect == nil {
			return bad("no -f given and no cluster to read")
		}
		client, err := connect()
		if err != nil {
			fmt.Fprintf(stderr, "ambx reach: %v\n", err)
			return exitCluster
		}
		if objs, err = FromCluster(ctx, client); err != nil {
			fmt.Fprintf(stderr, "ambx reach: %v\n", err)
			return exitCluster
		}
	}
	for _, n := range objs.Notes {
		fmt.Fprintf(stderr, "ambx reach: note: %s\n", n)
	}
	c, err := netpol.NewCluster(objs.Namespaces, objs.Pods, objs.NetworkPolicies)
	if err != nil {
		return bad("%s", policyErrors(err, objs))
	}
	srcs, err := expand(c, objs, *from, "--from")
	if err != nil {
		return bad("%v", err)
	}
	dsts, err := expand(c, objs, *to, "--to")
	if err != nil {
		return bad("%v", err)
	}
	wild := strings.Contains(*from, "*") || strings.Contains(*to, "*")
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	ran := 0
	for _, s := range srcs {
		for _, d := range dsts {
			if !s.IsPod() && !d.IsPod() {
				return bad("--from %s and --to %s are both addresses; one end must be a pod", s, d)
			}
			if wild && s == d {
				continue // a wildcard's pod to itself is loopback, not a question
			}
			for _, q := range portList {
				v, err := c.Evaluate(s, d, q.port, q.proto)
				if err != nil {
					return bad("%s -> %s: %v", s, d, err)
				}
				ran++
				r := Result{From: s.String(), To: d.String(), Port: q.port, Protocol: q.proto, Allowed: v.Allowed, Reason: v.Reason}
				if *out == "json" {
					if err := enc.Encode(r); err != nil {
						return exitCluster
					}
					continue
				}
				word := "denied "
				if v.Allowed {
					word = "allowed"
				}
				fmt.Fprintf(stdout, "%s  %s -> %s %d/%s  %s\n", word, r.From, r.To, r.Port, r.Protocol, r.Reason)
			}
		}
	}
	if ran == 0 {
		fmt.Fprintln(stderr, "ambx reach: no queries: the only pairs were pods with themselves")
	}
	return exitOK
}

// parsePort reads N or N/PROTO.
func parsePort(s string) (int32, corev1.Protocol, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	n, err := strconv.ParseInt(num, 10, 32)
	if err != nil || n < 1 || n > 65535 {
		return 0, "", fmt.Errorf("want a port number 1-65535, optionally /TCP, /UDP or /SCTP")
	}
	p := corev1.ProtocolTCP
	if hasProto {
		p = corev1.Protocol(strings.ToUpper(proto))
		if p != corev1.ProtocolTCP && p != corev1.ProtocolUDP && p != corev1.ProtocolSCTP {
			return 0, "", fmt.Errorf("protocol %q is not TCP, UDP or SCTP", proto)
		}
	}
	return int32(n), p, nil
}

// expand turns NS/POD, NS/*, * or an IP into peers. An IP that is a pod's
// address means that pod, since a NetworkPolicy sees the pod behind it.
func expand(c *netpol.Cluster, objs *Objects, spec, flagName string) ([]netpol.Peer, error) {
	if ip, err := netip.ParseAddr(spec); err == nil {
		for _, k := range c.Pods() {
			p := c.Pod(k)
			if p.Spec.HostNetwork {
				continue
			}
			for _, pip := range p.Status.PodIPs {
				if pip.IP == ip.String() {
					return []netpol.Peer{{Pod: k}}, nil
				}
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
func policyErrors(err error, objs *Objects) string {
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
			if where := objs.Origin["NetworkPolicy "+pe.Policy.String()]; where != "" {
				lines = append(lines, where+": "+pe.Error())
				continue
			}
		}
		lines = append(lines, e.Error())
	}
	return strings.Join(lines, "\nambx reach: ")
}
