package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/waypointstats"
	"github.com/ambx/ambx/kube/ztread"
	"github.com/ambx/ambx/kube/ztunnel"
)

// Drift planted in what the demo's ztunnels hold, beside the API objects'
// planted mistakes; both show as findings once the ztunnel view read them:
//  1. default/grafana: captured (redirection enabled), but every ztunnel
//     holds it as TCP, as when istiod has not seen the annotation yet.
//  2. the ztunnel on homelab-w3 holds a certificate for default/prometheus
//     that expires in 20 minutes: renewal is failing on that node.
const (
	driftTCPNamespace, driftTCPApp = "default", "grafana"
	driftCertNode                  = "homelab-w3"
	driftCertNamespace             = "default"
	driftCertAccount               = "prometheus"
)

// Ztunnel serves the demo's ztunnels through the same interface as real
// ones: a config_dump built from the demo cluster and its analysis, and
// metrics whose counters grow with the clock, so rates are live.
type Ztunnel struct {
	// Now is the demo's clock; time.Now when nil.
	Now func() time.Time
}

var _ ztread.Reader = (*Ztunnel)(nil)

func (z *Ztunnel) now() time.Time {
	if z.Now != nil {
		return z.Now()
	}
	return time.Now()
}

// ConfigDump returns what the ztunnel pod p would hold.
func (z *Ztunnel) ConfigDump(ctx context.Context, p ztread.Pod) (*ztunnel.Dump, error) {
	now := z.now()
	c := Objects(now)
	a := ambient.Analyze(c)
	if !isZtunnel(c, p) {
		return nil, fmt.Errorf("%s/%s is not a ztunnel pod of the demo cluster", p.Namespace, p.Name)
	}
	d := &ztunnel.Dump{Version: "1.31.1", Local: map[string]string{}}
	identities := map[string]bool{}
	for _, pod := range c.Pods {
		if pod.Status.PodIP == "" {
			continue
		}
		k := ambient.Key{Namespace: pod.Namespace, Name: pod.Name}
		info := a.Pods[k]
		proto := "TCP"
		if info.State == ambient.PodCaptured {
			proto = "HBONE"
		}
		if pod.Namespace == driftTCPNamespace && strings.HasPrefix(pod.Name, driftTCPApp+"-") {
			proto = "TCP"
		}
		w := ztunnel.Workload{
			UID: "Kubernetes//Pod/" + k.String(), Name: pod.Name, Namespace: pod.Namespace, Node: pod.Spec.NodeName,
			ServiceAccount: account(pod), IPs: []string{pod.Status.PodIP}, Protocol: proto, Status: "Healthy",
		}
		if info.Waypoint.Bound() {
			w.Waypoint = info.Waypoint.Waypoint.Namespace + "/" + info.Waypoint.Waypoint.Name + "." + info.Waypoint.Waypoint.Namespace + ".svc.cluster.local"
		}
		d.Workloads = append(d.Workloads, w)
		if info.State == ambient.PodCaptured && pod.Spec.NodeName == p.Node {
			d.Local[k.String()] = "Up"
			identities[spiffe(pod.Namespace, account(pod))] = true
		}
	}
	for _, s := range c.Services {
		k := ambient.Key{Namespace: s.Namespace, Name: s.Name}
		zs := ztunnel.Service{Name: s.Name, Namespace: s.Namespace, Hostname: s.Name + "." + s.Namespace + ".svc.cluster.local"}
		if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != corev1.ClusterIPNone {
			zs.VIPs = []string{"/" + s.Spec.ClusterIP}
		}
		if b := a.Services[k].Waypoint; b.Bound() {
			zs.Waypoint = b.Waypoint.Namespace + "/" + b.Waypoint.Name + "." + b.Waypoint.Namespace + ".svc.cluster.local"
		}
		for _, pod := range c.Pods {
			if pod.Namespace == s.Namespace && len(s.Spec.Selector) > 0 && matches(s.Spec.Selector, pod.Labels) {
				zs.Endpoints++
			}
		}
		d.Services = append(d.Services, zs)
	}
	for _, ap := range c.AuthorizationPolicies {
		info, ok := a.Policy("AuthorizationPolicy", ambient.Key{Namespace: ap.Namespace, Name: ap.Name})
		if !ok || info.EnforcedBy != ambient.EnforcedByZtunnel {
			continue
		}
		action := "Allow"
		if ap.Spec.GetAction().String() == "DENY" {
			action = "Deny"
		}
		d.Policies = append(d.Policies, ztunnel.Policy{Name: ap.Name, Namespace: ap.Namespace, Scope: "WorkloadSelector",
			Action: action, Rules: ztunnelRules(ap.Spec.GetRules(), info)})
	}
	for id := range identities {
		cert := ztunnel.Certificate{Identity: id, State: "Available", Expires: now.Add(17 * time.Hour)}
		if p.Node == driftCertNode && id == spiffe(driftCertNamespace, driftCertAccount) {
			cert.Expires = now.Add(20 * time.Minute)
		}
		d.Certificates = append(d.Certificates, cert)
	}
	sort.Slice(d.Workloads, func(i, j int) bool { return d.Workloads[i].Key() < d.Workloads[j].Key() })
	sort.Slice(d.Services, func(i, j int) bool { return d.Services[i].Key() < d.Services[j].Key() })
	sort.Slice(d.Policies, func(i, j int) bool { return d.Policies[i].Key() < d.Policies[j].Key() })
	sort.Slice(d.Certificates, func(i, j int) bool { return d.Certificates[i].Identity < d.Certificates[j].Identity })
	return d, nil
}

// ztunnelRules is how many rules istiod sends ztunnel for a policy: the
// rules the analysis says survive translation.
func ztunnelRules[T any](rules []T, info ambient.PolicyInfo) int {
	if info.Layer == ambient.L7 {
		return 0 // istiod drops the L7 rules (and an ALLOW with none left allows nothing)
	}
	return len(rules)
}

// Metrics returns the ztunnel's counters at the demo's clock: every
// captured pod on p's node talks to the Services its app calls, at a
// steady, deterministic rate.
func (z *Ztunnel) Metrics(ctx context.Context, p ztread.Pod) (*ztunnel.Scrape, error) {
	now := z.now()
	c := Objects(now)
	a := ambient.Analyze(c)
	if !isZtunnel(c, p) {
		return nil, fmt.Errorf("%s/%s is not a ztunnel pod of the demo cluster", p.Namespace, p.Name)
	}
	s := &ztunnel.Scrape{At: now, Edges: map[ztunnel.Edge]ztunnel.Counters{}, Version: "1.31.1", ActiveProxies: 0}
	secs := now.Sub(Epoch.Add(-24 * time.Hour)).Seconds()
	for _, flow := range demoFlows {
		// Each end's ztunnel reports the connection, as real ones do: the
		// source's node (reporter=source) and the destination's
		// (reporter=destination), which a failed connection never reaches.
		// The demo's flows come from one pod per node that runs one.
		src := firstPod(c, a, flow.srcNS, flow.src, p.Node)
		dst := firstSender(c, a, flow.dstNS, flow.dst)
		if dst != nil && dst.Spec.NodeName != p.Node {
			dst = nil // another node's ztunnel reports it
		}
		senders := 0.0
		for _, n := range c.Nodes {
			if firstPod(c, a, flow.srcNS, flow.src, n.Name) != nil {
				senders++
			}
		}
		e := ztunnel.Edge{SrcNamespace: flow.srcNS, SrcWorkload: flow.src,
			DstNamespace: flow.dstNS, DstWorkload: flow.dst, DstService: flow.svc + "." + flow.dstNS + ".svc.cluster.local",
			Security: "mutual_tls", Flags: "-"}
		if src != nil {
			e := e
			e.Reporter, e.SrcPrincipal = "source", spiffe(flow.srcNS, account(src))
			if flow.flags != "" {
				e.Flags, e.Security, e.DstWorkload = flow.flags, "unknown", "unknown"
			}
			s.Edges[e] = ztunnel.Counters{Opened: flow.connsPerSec * secs, Closed: flow.connsPerSec*secs - 1,
				Sent: flow.bytesPerSec * secs, Received: flow.bytesPerSec * secs / 8}
		}
		if dst != nil && flow.flags == "" && senders > 0 {
			// What every sender's pod sent arrives here; the first
			// destination pod takes it all.
			e := e
			e.Reporter = "destination"
			if sp := firstSender(c, a, flow.srcNS, flow.src); sp != nil {
				e.SrcPrincipal = spiffe(flow.srcNS, account(sp))
			}
			s.Edges[e] = ztunnel.Counters{Opened: senders * flow.connsPerSec * secs, Closed: senders*flow.connsPerSec*secs - 1,
				Sent: senders * flow.bytesPerSec * secs / 8, Received: senders * flow.bytesPerSec * secs}
		}
	}
	for _, flow := range waypointEdges {
		// A call through a waypoint is two connections (reference 4.3):
		// the client's ztunnel reports the waypoint as the destination
		// workload, beside the Service asked for; the destination's ztunnel
		// reports the waypoint, by its identity, as the source.
		svc := flow.svc + "." + flow.wpNS + ".svc.cluster.local"
		if src := firstPod(c, a, flow.srcNS, flow.src, p.Node); src != nil {
			e := ztunnel.Edge{Reporter: "source", SrcNamespace: flow.srcNS, SrcWorkload: flow.src, SrcPrincipal: spiffe(flow.srcNS, account(src)),
				DstNamespace: flow.wpNS, DstWorkload: flow.wp, DstService: svc, Security: "mutual_tls", Flags: "-"}
			s.Edges[e] = ztunnel.Counters{Opened: flow.connsPerSec * secs, Closed: flow.connsPerSec*secs - 1,
				Sent: flow.bytesPerSec * secs, Received: flow.bytesPerSec * secs / 8}
		}
		if dst := firstSender(c, a, flow.wpNS, flow.dst); dst != nil && dst.Spec.NodeName == p.Node {
			e := ztunnel.Edge{Reporter: "destination", SrcNamespace: flow.wpNS, SrcWorkload: flow.wp, SrcPrincipal: spiffe(flow.wpNS, flow.wp),
				DstNamespace: flow.wpNS, DstWorkload: flow.dst, DstService: svc, Security: "mutual_tls", Flags: "-"}
			s.Edges[e] = ztunnel.Counters{Opened: flow.connsPerSec * secs, Closed: flow.connsPerSec*secs - 1,
				Sent: flow.bytesPerSec * secs / 8, Received: flow.bytesPerSec * secs}
		}
	}
	for _, pod := range c.Pods {
		if pod.Spec.NodeName == p.Node && a.Pods[ambient.Key{Namespace: pod.Namespace, Name: pod.Name}].State == ambient.PodCaptured {
			s.ActiveProxies++
		}
	}
	return s, nil
}

// demoFlows are the connections the demo's apps make. The promtail → loki
// flow fails with NETWORK_POLICY, as planted mistake 4 (loki's NetworkPolicy
// blocks HBONE) makes it do on a real cluster, and calls to argo's server
// are denied, as planted mistake 3 makes them.
var demoFlows = []struct {
	srcNS, src, dstNS, dst, svc string
	connsPerSec, bytesPerSec    float64
	flags                       string
}{
	{"default", "grafana", "default", "prometheus", "prometheus", 0.5, 42_000, ""},
	{"default", "prometheus", "default", "alertmanager", "alertmanager", 0.2, 3_000, ""},
	{"default", "prometheus", "default", "kube-state-metrics", "kube-state-metrics", 0.1, 120_000, ""},
	{"loki", "promtail", "loki", "loki", "loki", 0.3, 0, "NETWORK_POLICY"},
	{"default", "grafana", "loki", "loki-gateway", "loki-gateway", 0.2, 9_000, ""},
	{"argo-workflows", "argo-workflows-server", "argo-workflows", "argo-workflows-workflow-controller", "argo-workflows-workflow-controller", 0.05, 800, ""},
	// Planted mistake 3 at work: argo-server-api's HTTP rules were
	// dropped for ztunnel, so the server's ztunnel admits no one.
	{"argo-workflows", "argo-workflows-workflow-controller", "argo-workflows", "argo-workflows-server", "argo-workflows-server", 0.1, 0, "DENY"},
}

// waypointEdges are the demo's connections through a waypoint: sleep's
// calls to httpbin go through ambient-apps' namespace waypoint (whose
// service account, as istiod deploys it, is the Gateway's name).
var waypointEdges = []struct {
	srcNS, src, wpNS, wp, svc, dst string
	connsPerSec, bytesPerSec       float64
}{
	{"ambient-apps", "sleep", "ambient-apps", "waypoint", "httpbin", "httpbin", 0.4, 2_400},
}

func firstPod(c *ambient.Cluster, a *ambient.Analysis, ns, app, node string) *corev1.Pod {
	for _, p := range c.Pods {
		if p.Namespace == ns && p.Spec.NodeName == node && strings.HasPrefix(p.Name, app+"-") &&
			a.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].State == ambient.PodCaptured {
			return p
		}
	}
	return nil
}

// firstSender is the captured pod of app on the first node that runs one.
func firstSender(c *ambient.Cluster, a *ambient.Analysis, ns, app string) *corev1.Pod {
	for _, n := range c.Nodes {
		if p := firstPod(c, a, ns, app, n.Name); p != nil {
			return p
		}
	}
	return nil
}

func isZtunnel(c *ambient.Cluster, p ztread.Pod) bool {
	for _, pod := range c.Pods {
		if pod.Namespace == p.Namespace && pod.Name == p.Name {
			return pod.Labels["app"] == "ztunnel"
		}
	}
	return false
}

func account(p *corev1.Pod) string {
	if p.Spec.ServiceAccountName != "" {
		return p.Spec.ServiceAccountName
	}
	return "default"
}

func matches(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// spiffe is a workload identity as ztunnel writes it.
func spiffe(ns, sa string) string { return "spiffe://" + trustDomain + "/ns/" + ns + "/sa/" + sa }

var _ ztread.WaypointReader = (*Ztunnel)(nil)

// waypointFlows are the HTTP requests the demo's waypoints carry: sleep's
// calls to httpbin, some of which the waypoint's L7 policy (httpbin-l7,
// GET on /get and /headers only) answers 403.
var waypointFlows = []struct {
	ns, gateway, srcNS, src, svc, code string
	perSec                             float64
}{
	{"ambient-apps", "waypoint", "ambient-apps", "sleep", "httpbin.ambient-apps.svc.cluster.local", "200", 2},
	{"ambient-apps", "waypoint", "ambient-apps", "sleep", "httpbin.ambient-apps.svc.cluster.local", "403", 0.25},
	{"example-api", "example-api-waypoint", "example-api", "example-api", "example-api.example-api.svc.cluster.local", "200", 0.5},
	{"example-api", "example-api-waypoint", "example-api", "example-api", "example-api.example-api.svc.cluster.local", "503", 0.05},
}

// WaypointRequests returns the waypoint pod's istio_requests_total at the
// demo's clock.
func (z *Ztunnel) WaypointRequests(ctx context.Context, p ztread.Pod) (*waypointstats.Scrape, error) {
	now := z.now()
	var wp *corev1.Pod
	for _, pod := range Objects(now).Pods {
		if pod.Namespace == p.Namespace && pod.Name == p.Name && pod.Labels[labelManaged] == meshController {
			wp = pod
		}
	}
	if wp == nil {
		return nil, fmt.Errorf("%s/%s is not a waypoint pod of the demo cluster", p.Namespace, p.Name)
	}
	secs := now.Sub(Epoch.Add(-24 * time.Hour)).Seconds()
	s := &waypointstats.Scrape{At: now, Requests: map[waypointstats.Route]float64{}}
	for _, f := range waypointFlows {
		if f.ns == wp.Namespace && f.gateway == wp.Labels[labelGatewayName] {
			s.Requests[waypointstats.Route{SrcNamespace: f.srcNS, SrcWorkload: f.src, DstService: f.svc, Code: f.code}] = f.perSec * secs
		}
	}
	return s, nil
}
