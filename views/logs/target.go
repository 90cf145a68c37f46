package logs

import (
	"net/netip"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/logstream"
	"github.com/ambx/ambx/kube/ztlog"
)

// Target is what the pane follows and what "lines about the selection"
// means: the selected pods (by name and IP), their workloads and Services,
// or a whole namespace.
type Target struct {
	Title     string // shown in the title bar, e.g. "loki/promtail"
	Namespace string
	// WholeNamespace keeps every line whose source or destination is in
	// Namespace (the pane was opened on a namespace).
	WholeNamespace bool
	Pods           []string // pod names
	IPs            []string // pod IPs
	Workloads      []string // workload (canonical service) names
	Services       []string // Service names in Namespace, or "name.namespace"
	// Plan is the ztunnels to follow, one per node, and the nodes with none,
	// then the pods of the waypoints whose Envoy access logs are followed.
	Plan logstream.Plan
	// Waypoint is set when the pane was opened on a waypoint (ns/name):
	// every line of its Envoy is about it.
	Waypoint string
	// Names names the pods by IP (ns/name), so a waypoint's access line,
	// which carries addresses only, says who called.
	Names map[netip.Addr]string
}

// matcher answers "is this line about the target" cheaply, once per line.
type matcher struct {
	ns       string
	wholeNS  bool
	names    map[string]bool // pod and workload names
	ips      map[netip.Addr]bool
	services map[string]bool // "name.namespace"
	pods     []string
	waypoint bool
}

func newMatcher(t Target) matcher {
	m := matcher{ns: t.Namespace, wholeNS: t.WholeNamespace, names: map[string]bool{},
		ips: map[netip.Addr]bool{}, services: map[string]bool{}, pods: t.Pods, waypoint: t.Waypoint != ""}
	for _, p := range t.Pods {
		m.names[p] = true
	}
	for _, w := range t.Workloads {
		m.names[w] = true
	}
	for _, s := range t.IPs {
		if a, err := netip.ParseAddr(s); err == nil {
			m.ips[a] = true
		}
	}
	for _, s := range t.Services {
		if !strings.Contains(s, ".") {
			s += "." + t.Namespace
		}
		m.services[serviceKey(s)] = true
	}
	return m
}

// serviceKey reduces a hostname (loki.loki.svc.cluster.local) to
// "name.namespace", which does not depend on the cluster domain.
func serviceKey(host string) string {
	if i := strings.IndexByte(host, '.'); i >= 0 {
		if j := strings.IndexByte(host[i+1:], '.'); j >= 0 {
			return host[:i+1+j]
		}
	}
	return host
}

func (m *matcher) about(e *logstream.Entry) bool {
	if e.Kind == logstream.KindStatus {
		return true
	}
	if a := e.Envoy; a != nil {
		// A waypoint's access line: about the selection when it forwarded
		// to one of its pods, came from one, or was for its Service.
		if m.waypoint {
			return true
		}
		if ip, ok := a.UpstreamIP(); ok && m.ips[ip] {
			return true
		}
		if ip, ok := a.ClientIP(); ok && m.ips[ip] {
			return true
		}
		return m.services[a.Service()]
	}
	l := &e.Line
	c := &l.Conn
	if m.wholeNS && m.ns != "" && (c.SrcNamespace == m.ns || c.DstNamespace == m.ns) {
		return true
	}
	if c.SrcWorkload != "" && m.names[c.SrcWorkload] || c.DstWorkload != "" && m.names[c.DstWorkload] {
		return true
	}
	if m.hasIP(c.SrcAddr) || m.hasIP(c.DstAddr) || m.hasIP(c.DstHBONEAddr) {
		return true
	}
	if c.DstService != "" && m.services[serviceKey(c.DstService)] {
		return true
	}
	if l.Access() {
		return false
	}
	// Other lines (a pod enrolled, a proxy failed to start) name pods in
	// their fields or message.
	if ns, ok := l.Field("namespace"); ok && m.wholeNS && ns == m.ns {
		return true
	}
	if name, ok := l.Field("name"); ok && m.names[name] {
		return true
	}
	for _, p := range m.pods {
		if strings.Contains(l.Message, p) {
			return true
		}
	}
	return false
}

func (m *matcher) hasIP(addr string) bool {
	if addr == "" || len(m.ips) == 0 {
		return false
	}
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return m.ips[ap.Addr()]
	}
	if a, err := netip.ParseAddr(addr); err == nil {
		return m.ips[a]
	}
	return false
}

// WithWaypoints follows the Envoy access logs of the waypoints (ns/name)
// in front of the selection too.
func (t Target) WithWaypoints(waypoints []string, all []*corev1.Pod) Target {
	t.Plan = t.Plan.WithWaypoints(waypoints, all)
	if len(t.Plan.Targets) > 0 && t.Names == nil {
		t.Names = podNames(all)
	}
	return t
}

func podNames(all []*corev1.Pod) map[netip.Addr]string {
	out := make(map[netip.Addr]string, len(all))
	for _, p := range all {
		if p == nil || p.Spec.HostNetwork {
			continue // a host-network pod's IP is its node's, shared
		}
		for _, ip := range p.Status.PodIPs {
			if a, err := netip.ParseAddr(ip.IP); err == nil {
				out[a] = p.Namespace + "/" + p.Name
			}
		}
		if a, err := netip.ParseAddr(p.Status.PodIP); err == nil {
			out[a] = p.Namespace + "/" + p.Name
		}
	}
	return out
}

// WaypointTarget is the pane opened on a waypoint: its pods' Envoy
// access logs, every line about it.
func WaypointTarget(namespace, name string, all []*corev1.Pod) Target {
	wp := namespace + "/" + name
	return Target{Title: wp, Namespace: namespace, Waypoint: wp,
		Plan: logstream.Plan{}.WithWaypoints([]string{wp}, all), Names: podNames(all)}
}

// patchFor is the PatchRequest an HBONE-timeout line asks for, if it is one.
func patchFor(l *ztlog.Line) (PatchRequest, bool) {
	if l.Hint().Cause != ztlog.CauseNetworkPolicy {
		return PatchRequest{}, false
	}
	src, ok1 := l.Conn.SrcIP()
	dst, ok2 := l.Conn.DstIP()
	if !ok1 || !ok2 {
		return PatchRequest{}, false
	}
	return PatchRequest{
		FromIP: src.String(), ToIP: dst.String(),
		FromWorkload: l.Conn.SrcWorkload, FromNamespace: l.Conn.SrcNamespace,
		ToWorkload: l.Conn.DstWorkload, ToNamespace: l.Conn.DstNamespace,
	}, true
}

// TargetFor describes the selected pods for the pane: their names, IPs and
// workload names, and the ztunnels of their nodes found among all pods.
// Opening the pane on a namespace passes its pods with wholeNamespace set.
func TargetFor(title, namespace string, wholeNamespace bool, selected, all []*corev1.Pod, services []string) Target {
	t := Target{Title: title, Namespace: namespace, WholeNamespace: wholeNamespace, Services: services,
		Plan: logstream.ZtunnelsFor(selected, all)}
	seen := map[string]bool{}
	for _, p := range selected {
		if p == nil {
			continue
		}
		t.Pods = append(t.Pods, p.Name)
		for _, ip := range p.Status.PodIPs {
			t.IPs = append(t.IPs, ip.IP)
		}
		if len(p.Status.PodIPs) == 0 && p.Status.PodIP != "" {
			t.IPs = append(t.IPs, p.Status.PodIP)
		}
		// ztunnel falls back to the canonical service when it has no pod
		// name; these labels are what istiod derives it from.
		for _, k := range []string{"service.istio.io/canonical-name", "app.kubernetes.io/name", "app"} {
			if v := p.Labels[k]; v != "" && !seen[v] {
				seen[v] = true
				t.Workloads = append(t.Workloads, v)
				break
			}
		}
	}
	return t
}
