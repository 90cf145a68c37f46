package ztunnel

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

// dumpIndex is one dump's lists by namespace/name.
type dumpIndex struct {
	dump      *Dump
	workloads map[string]Workload
	services  map[string]Service
	policies  map[string]Policy
}

// lastIndex is the index of the dump drift last judged against: a survey
// is judged against every snapshot until the next one, and indexing its
// 10,000 workloads each time was a good part of what that cost. Dumps are
// not modified once read, so the same dump has the same index.
var lastIndex struct {
	sync.Mutex
	ix *dumpIndex
}

func indexOf(d *Dump) *dumpIndex {
	lastIndex.Lock()
	defer lastIndex.Unlock()
	if ix := lastIndex.ix; ix != nil && ix.dump == d {
		return ix
	}
	ix := &dumpIndex{dump: d, workloads: make(map[string]Workload, len(d.Workloads)),
		services: make(map[string]Service, len(d.Services)), policies: make(map[string]Policy, len(d.Policies))}
	for _, w := range d.Workloads {
		if w.Name != "" {
			ix.workloads[w.Key()] = w
		}
	}
	for _, s := range d.Services {
		ix.services[s.Key()] = s
	}
	for _, p := range d.Policies {
		ix.policies[p.Key()] = p
	}
	lastIndex.ix = ix
	return ix
}

// Reading is what ambx read from one ztunnel.
type Reading struct {
	Node string // the node the ztunnel runs on
	Pod  string // the ztunnel pod, namespace/name
	// Dump is nil when it could not be read; Err says why.
	Dump *Dump
	Err  string
	// At is when the read returned; a round that re-reads only some
	// nodes keeps the others' readings with their own At (Survey.Ages).
	At time.Time
}

// CertExpiryWarning is how close to expiry a workload certificate must be
// before it is a finding. ztunnel renews at half of the (24 h by default)
// lifetime, so a certificate this close to expiry means renewal is failing.
const CertExpiryWarning = time.Hour

// Drift compares what ztunnel holds with the API objects and ambx's
// analysis of them. Only what was read is judged: a node whose ztunnel
// could not be read yields no finding about its pods, and pods are judged
// only against the ztunnel of their own node.
func Drift(c *ambient.Cluster, a *ambient.Analysis, readings []Reading, now time.Time) []finding.Finding {
	return drift(c, a, readings, now, nil)
}

// drift is Drift judging only the objects settled admits (all when nil).
func drift(c *ambient.Cluster, a *ambient.Analysis, readings []Reading, now time.Time, settled func(kind string, o metav1.Object) bool) []finding.Finding {
	if settled == nil {
		settled = func(string, metav1.Object) bool { return true }
	}
	if c == nil || a == nil {
		return nil
	}
	var out []finding.Finding
	add := func(sev finding.Severity, code string, obj finding.Ref, title, why, fix string) {
		out = append(out, finding.Finding{Severity: sev, Code: code, Object: obj, Title: title, Why: why, Fix: fix})
	}
	byNode := map[string]*Reading{}
	var any *Reading // the cluster-wide view: every ztunnel holds every workload
	for i := range readings {
		r := &readings[i]
		if r.Dump == nil {
			continue
		}
		byNode[r.Node] = r
		if any == nil {
			any = r
		}
		ztRef := refOf("Pod", r.Pod)
		if r.Dump.Empty() {
			add(finding.Error, "ztunnel-no-config", ztRef,
				"ztunnel on "+r.Node+" holds no workloads or services",
				"It has not received its configuration from istiod, so it cannot route or authorize any traffic of the pods on "+r.Node+".",
				"Check its log for XDS client connection errors to istiod on port 15012: ambx logs, or kubectl logs -n "+ns(r.Pod)+" "+name(r.Pod))
		}
		for _, cert := range r.Dump.Certificates {
			switch {
			case certFailed(cert):
				add(finding.Error, "ztunnel-cert-failed", ztRef,
					"certificate for "+cert.Identity+" on "+r.Node+": "+cert.State,
					"ztunnel cannot present this identity, so mTLS connections of its pods fail.",
					"Check that istiod's CA (port 15012) is reachable from "+r.Node+" and the ztunnel log for identity errors.")
			case !cert.Expires.IsZero() && cert.Expires.Sub(now) < CertExpiryWarning:
				sev, what := finding.Warning, "expires "+cert.Expires.UTC().Format(time.RFC3339)
				if !cert.Expires.After(now) {
					sev, what = finding.Error, "expired "+cert.Expires.UTC().Format(time.RFC3339)
				}
				add(sev, "ztunnel-cert-expiring", ztRef,
					"certificate for "+cert.Identity+" on "+r.Node+" "+what,
					"ztunnel renews certificates at half their lifetime; one this close to expiry means renewal is failing.",
					"Check the ztunnel log for identity errors and istiod's CA on port 15012.")
			}
		}
	}
	if any == nil {
		return out
	}
	// A namespace's labels decide its pods' capture and its services'
	// waypoint, and a Gateway's status any service's binding: a change to
	// them leaves the objects' own versions alone.
	nsChanged := map[string]bool{}
	for _, n := range c.Namespaces {
		if !settled("Namespace", n) {
			nsChanged[n.Name] = true
		}
	}
	nsSettled := func(ns string) bool { return !nsChanged[ns] }
	gatewaysSettled := true
	for _, g := range c.Gateways {
		if !settled("Gateway", g) {
			gatewaysSettled = false
		}
	}
	ix := indexOf(any.Dump)
	workloads := ix.workloads
	var key []byte // "namespace/name", looked up without a string made per pod
	for _, p := range c.Pods {
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		info, ok := a.Pods[k]
		if !ok || p.Status.PodIP == "" || p.Spec.HostNetwork || !settled("Pod", p) || !nsSettled(p.Namespace) {
			continue
		}
		ref := finding.Ref{Kind: "Pod", Namespace: p.Namespace, Name: p.Name}
		key = append(append(append(key[:0], p.Namespace...), '/'), p.Name...)
		w, known := workloads[string(key)]
		local := byNode[p.Spec.NodeName]
		switch info.State {
		case ambient.PodCaptured:
			switch {
			case !known:
				add(finding.Error, "ztunnel-workload-missing", ref,
					"ztunnel does not know this captured pod",
					"istio-cni redirected its traffic, but the ztunnels have no workload for it, so its connections are refused.",
					"Check istiod's log for errors about the pod, and that the pod's IP "+p.Status.PodIP+" is not reused.")
			case w.Protocol != "HBONE":
				add(finding.Error, "ztunnel-workload-tcp", ref,
					"ztunnel sees this captured pod as "+w.Protocol+", not HBONE",
					"Callers will send it plaintext although its traffic is redirected to ztunnel: mTLS and L4 policy do not apply to them.",
					"Wait for istiod to push the pod (it reads the ambient.istio.io/redirection annotation); if it stays, restart istiod and check its log.")
			}
			if local != nil && local.Dump.Local != nil {
				if _, runs := local.Dump.Local[string(key)]; !runs {
					add(finding.Error, "ztunnel-no-proxy", ref,
						"ztunnel on "+p.Spec.NodeName+" runs no proxy for this captured pod",
						"The pod's traffic is redirected into its network namespace, but no ztunnel serves it there: it can neither send nor receive.",
						"Check the istio-cni-node and ztunnel logs on "+p.Spec.NodeName+" for the pod; restarting the istio-cni agent there re-sends it.")
				}
			}
		case ambient.PodSidecar, ambient.PodNotMeshed, ambient.PodOptedOut:
			if known && w.Protocol == "HBONE" {
				add(finding.Warning, "ztunnel-unexpected-hbone", ref,
					"ztunnel reaches this pod over HBONE, but it is not captured",
					"Callers' ztunnels will send it HBONE on port 15008, which nothing in the pod terminates: their connections fail.",
					"Check the pod's ambient.istio.io/redirection annotation and istio-cni's log for the pod.")
			}
		}
		if info.State != ambient.PodCaptured {
			if ni := a.Namespaces[p.Namespace]; ni.Enrolled && !known && p.Status.Phase == "Running" && info.State != ambient.PodSidecar {
				add(finding.Warning, "ztunnel-workload-missing", ref,
					"ztunnel does not know this pod of an ambient namespace",
					"Neither istiod nor ztunnel has it, so meshed callers cannot reach it by identity.",
					"Check istiod's log for the pod.")
			}
		}
	}
	services := ix.services
	for _, s := range c.Services {
		k := ambient.Key{Namespace: s.Namespace, Name: s.Name}
		zs, ok := services[k.String()]
		if !ok || !settled("Service", s) || !nsSettled(s.Namespace) || !gatewaysSettled {
			continue
		}
		ref := finding.Ref{Kind: "Service", Namespace: s.Namespace, Name: s.Name}
		bound := a.Services[k].Waypoint.Bound()
		switch {
		case bound && zs.Waypoint == "":
			add(finding.Error, "ztunnel-service-no-waypoint", ref,
				"bound to waypoint "+a.Services[k].Waypoint.Waypoint.String()+" but ztunnel sends it no waypoint",
				"ztunnel delivers its traffic directly, so the waypoint's L7 policies and routes do not apply.",
				"Check the Service's istio.io/WaypointBound condition and istiod's log.")
		case !bound && zs.Waypoint != "":
			add(finding.Warning, "ztunnel-service-unexpected-waypoint", ref,
				"ztunnel sends its traffic through waypoint "+zs.Waypoint+", but ambx finds no binding",
				"Traffic goes through a waypoint the labels do not explain; its policies apply where none are expected.",
				"Check the istio.io/use-waypoint labels of the Service and its namespace.")
		}
	}
	policies := ix.policies
	for _, ap := range c.AuthorizationPolicies {
		k := ambient.Key{Namespace: ap.Namespace, Name: ap.Name}
		info, ok := a.Policy("AuthorizationPolicy", k)
		if !ok || info.EnforcedBy != ambient.EnforcedByZtunnel || !settled("AuthorizationPolicy", ap) {
			continue
		}
		ref := finding.Ref{Kind: "AuthorizationPolicy", Namespace: ap.Namespace, Name: ap.Name}
		zp, held := policies[k.String()]
		written := len(ap.Spec.GetRules())
		switch {
		case !held:
			add(finding.Error, "ztunnel-policy-missing", ref,
				"enforced by ztunnel, but ztunnel does not hold it",
				"ambx expects ztunnel to enforce it, but istiod did not send it: its rules are not applied.",
				"Check the policy's ZtunnelAccepted condition and istiod's log.")
		case zp.Rules < written && info.Layer != ambient.L7:
			// An L7 policy losing rules is what the analysis already
			// predicts (and reports); only a loss it did not expect is drift.
			add(finding.Warning, "ztunnel-policy-rules-dropped", ref,
				fmt.Sprintf("ztunnel holds %d of its %d rules", zp.Rules, written),
				"istiod dropped the rest while translating it for ztunnel (L7 attributes ztunnel cannot see), so it "+dropEffect(zp.Action)+" than written.",
				"Move the L7 rules to a policy that targets a waypoint (targetRefs), or drop them.")
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Severity != out[j].Severity {
			return out[i].Severity > out[j].Severity
		}
		return out[i].Object.String() < out[j].Object.String()
	})
	return out
}

func dropEffect(action string) string {
	if strings.EqualFold(action, "Deny") {
		return "denies less"
	}
	return "allows less"
}

func refOf(kind, nsName string) finding.Ref {
	return finding.Ref{Kind: kind, Namespace: ns(nsName), Name: name(nsName)}
}

func ns(nsName string) string {
	if i := strings.IndexByte(nsName, '/'); i >= 0 {
		return nsName[:i]
	}
	return ""
}

func name(nsName string) string {
	if i := strings.IndexByte(nsName, '/'); i >= 0 {
		return nsName[i+1:]
	}
	return nsName
}

// certFailed reports whether ztunnel says it cannot present the
// certificate, whatever its expiry.
func certFailed(c Certificate) bool {
	return c.State != "" && c.State != "Available" && c.State != "Initializing"
}
