package reach

import (
	"fmt"
	"io"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/netpol"
)

// A Service destination is a question about each of its endpoints: the
// connection goes to the Service's address and port, kube-proxy or ztunnel
// picks a ready pod it selects, and the pod receives it on the targetPort.
// Which hops the NetworkPolicies see depends on who sends it:
//   - a captured client's ztunnel sends HBONE to the Service's waypoint when
//     one is bound (the waypoint then opens HBONE to the endpoint, or plain
//     TCP to one outside the mesh), else straight to the endpoint: HBONE to
//     a captured one, plain to the targetPort of one outside the mesh.
//     Service-addressed traffic never uses the endpoint's workload waypoint.
//   - a sidecar never uses waypoints: HBONE to a captured endpoint's 15008.
//   - a client outside the mesh connects plainly to the targetPort.

// serviceSpec is a parsed svc/NS/NAME[:PORT].
type serviceSpec struct {
	ns, name string
	port     string // "" for every port of the Service
}

func (s serviceSpec) String() string { return "svc/" + s.ns + "/" + s.name }

// parseService reads svc/NS/NAME[:PORT] (or service/…); ok is false for
// anything else, which is then a pod, a wildcard or an address.
func parseService(spec string) (serviceSpec, bool, error) {
	rest, ok := strings.CutPrefix(spec, "svc/")
	if !ok {
		if rest, ok = strings.CutPrefix(spec, "service/"); !ok {
			return serviceSpec{}, false, nil
		}
	}
	var s serviceSpec
	rest, s.port, _ = strings.Cut(rest, ":")
	var found bool
	s.ns, s.name, found = strings.Cut(rest, "/")
	if !found || s.ns == "" || s.name == "" || strings.Contains(s.name, "/") || strings.Contains(s.name, "*") || strings.Contains(s.ns, "*") {
		return s, true, fmt.Errorf("%q: want svc/NS/NAME or svc/NS/NAME:PORT", spec)
	}
	return s, true, nil
}

// service finds the Service of s in the input.
func (j judge) service(s serviceSpec) (*corev1.Service, error) {
	for _, svc := range j.set.Services {
		if svc.Namespace == s.ns && svc.Name == s.name {
			return svc, nil
		}
	}
	var names []string
	for _, svc := range j.set.Services {
		if svc.Namespace == s.ns {
			if len(names) == 5 {
				names = append(names, "…")
				break
			}
			names = append(names, svc.Name)
		}
	}
	hint := " (it holds no Services)"
	if len(names) > 0 {
		hint = " (it holds " + strings.Join(names, ", ") + ")"
	}
	return nil, fmt.Errorf("no Service %s in namespace %s%s", s.name, s.ns, hint)
}

// servicePorts are the ports of svc a query asks about: the one named or
// numbered, or every port when none was given.
func servicePorts(svc *corev1.Service, qs []portQuery) ([]corev1.ServicePort, error) {
	if len(qs) == 0 {
		return svc.Spec.Ports, nil
	}
	var out []corev1.ServicePort
	for _, q := range qs {
		found := false
		for _, sp := range svc.Spec.Ports {
			proto := sp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			if proto == q.proto && ((q.name != "" && sp.Name == q.name) || (q.name == "" && sp.Port == q.num)) {
				sp.Protocol = proto
				out = append(out, sp)
				found = true
			}
		}
		if !found {
			want := fmt.Sprint(q.num)
			if q.name != "" {
				want = q.name
			}
			return nil, fmt.Errorf("Service %s/%s has no %s port %s (it has %s)", svc.Namespace, svc.Name, q.proto, want, portList(svc))
		}
	}
	return out, nil
}

func portList(svc *corev1.Service) string {
	if len(svc.Spec.Ports) == 0 {
		return "no ports"
	}
	var s []string
	for _, sp := range svc.Spec.Ports {
		p := fmt.Sprintf("%d/%s", sp.Port, protoOf(sp.Protocol))
		if sp.Name != "" {
			p += " (" + sp.Name + ")"
		}
		s = append(s, p)
	}
	return strings.Join(s, ", ")
}

func protoOf(p corev1.Protocol) corev1.Protocol {
	if p == "" {
		return corev1.ProtocolTCP
	}
	return p
}

// endpoint is one pod a Service port sends to.
type endpoint struct {
	peer netpol.Peer
	port int32 // the targetPort resolved on this pod
}

// endpoints are the pods of svc that receive sp, as the EndpointSlice
// controller picks them: selected, ready (unless the Service publishes
// not-ready addresses; manifests are the intended state, so every pod
// counts), and holding the named targetPort. skipped says why the others
// are not.
func (j judge) endpoints(svc *corev1.Service, sp corev1.ServicePort) (eps []endpoint, selected int, skipped []string) {
	sel := labels.SelectorFromSet(svc.Spec.Selector)
	for _, k := range j.c.PodsIn(svc.Namespace) {
		p := j.c.Pod(k)
		if !sel.Matches(labels.Set(p.Labels)) {
			continue
		}
		selected++
		peer := netpol.Peer{Pod: k}
		if !j.intended && !svc.Spec.PublishNotReadyAddresses && !podReady(p) {
			skipped = append(skipped, fmt.Sprintf("%s is not ready", peer))
			continue
		}
		port, ok := targetPort(p, sp)
		if !ok {
			skipped = append(skipped, fmt.Sprintf("%s has no %s container port named %s", peer, sp.Protocol, sp.TargetPort.StrVal))
			continue
		}
		eps = append(eps, endpoint{peer: peer, port: port})
	}
	return eps, selected, skipped
}

func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// targetPort is the port sp reaches on p: a number, a container port's
// name looked up on this pod (pods of one Service may number it apart),
// or the Service port itself when unset.
func targetPort(p *corev1.Pod, sp corev1.ServicePort) (int32, bool) {
	tp := sp.TargetPort
	if tp.StrVal == "" {
		if tp.IntVal != 0 {
			return tp.IntVal, true
		}
		return sp.Port, true
	}
	for _, ct := range p.Spec.Containers {
		for _, cp := range ct.Ports {
			if cp.Name == tp.StrVal && protoOf(cp.Protocol) == protoOf(sp.Protocol) {
				return cp.ContainerPort, true
			}
		}
	}
	return 0, false
}

// viaService judges from → svc on sp, one Result per endpoint, or one
// denied Result when no endpoint would take the connection.
func (j judge) viaService(from netpol.Peer, svc *corev1.Service, sp corev1.ServicePort) ([]Result, []string, error) {
	key := svc.Namespace + "/" + svc.Name
	base := Result{From: from.String(), Service: key, ServicePort: sp.Port, Protocol: sp.Protocol, PortName: sp.Name}
	eps, selected, skipped := j.endpoints(svc, sp)
	var notes []string
	for _, s := range skipped {
		notes = append(notes, fmt.Sprintf("svc/%s %d/%s: %s; not an endpoint", key, sp.Port, sp.Protocol, s))
	}
	if len(eps) == 0 {
		r := base
		r.To = "svc/" + key
		r.Port = sp.Port
		switch selected {
		case 0:
			r.Reason = "no endpoints: the Service selects no pods"
		default:
			r.Reason = fmt.Sprintf("no ready endpoints: the Service selects %d pods and none can take port %d", selected, sp.Port)
		}
		return []Result{r}, notes, nil
	}
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	var out []Result
	for _, ep := range eps {
		var r Result
		var err error
		if headless {
			// No Service address: clients resolve the pods' own and
			// connect to them, so it is a question about each pod.
			r, err = j.query(from, ep.peer, ep.port, sp.Protocol)
			r.Reason = "headless Service, pod-addressed; " + r.Reason
		} else {
			r, err = j.serviceHop(from, ep, svc, sp)
		}
		if err != nil {
			return nil, nil, err
		}
		r.Service, r.ServicePort, r.PortName = key, sp.Port, sp.Name
		out = append(out, r)
	}
	return out, notes, nil
}

// serviceHop judges from → one endpoint of a Service with an address.
func (j judge) serviceHop(from netpol.Peer, ep endpoint, svc *corev1.Service, sp corev1.ServicePort) (Result, error) {
	to := ep.peer
	r := Result{From: from.String(), To: to.String(), Port: ep.port, Protocol: sp.Protocol}
	src, _ := j.info(from)
	dst, _ := j.info(to)
	for _, p := range []struct {
		peer netpol.Peer
		info ambient.PodInfo
	}{{from, src}, {to, dst}} {
		if p.info.State == ambient.PodPending {
			r.Reason = fmt.Sprintf("%s is pending in the mesh: istio-cni redirected it but no ztunnel accepted it, so it can neither send nor receive", p.peer)
			return r, nil
		}
	}
	kind := clientOf(src)
	if g := j.gatewayOf(from); g != plainClient {
		kind = g
	}
	tcp := sp.Protocol == corev1.ProtocolTCP
	hboneDst := dst.Protocol == "HBONE"
	var si ambient.ServiceInfo
	if j.mesh != nil {
		si = j.mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}]
	}
	direct := func(prefix string, port int32) (Result, error) {
		v, err := j.c.Evaluate(from, to, port, sp.Protocol)
		if err != nil {
			return r, err
		}
		r.Allowed, r.Reason = v.Allowed, prefix+v.Reason
		return r, nil
	}
	switch {
	case kind == ztunnelClient && tcp && si.Waypoint.Bound():
		return j.serviceWaypoint(r, from, ep, sp, si.Waypoint.Waypoint, hboneDst)
	case from == to:
		return direct(fmt.Sprintf("to itself through the Service: %d → %d; ", sp.Port, ep.port), ep.port)
	case kind == ztunnelClient && tcp && hboneDst:
		r.Carried, r.CarriedPort = "HBONE", netpol.HBONEPort
		return direct(fmt.Sprintf("carried as HBONE: %d → %d (targetPort %d)%s; ", sp.Port, netpol.HBONEPort, ep.port, waypointNote(si)), netpol.HBONEPort)
	case kind == ztunnelClient && tcp:
		return direct(fmt.Sprintf("ztunnel sends it plainly, %s is outside the mesh: %d → %d; ", to, sp.Port, ep.port), ep.port)
	case kind == eastWestClient && tcp && si.Waypoint.Bound():
		// buildWaypointInternal: whatever ingress-use-waypoint says.
		return j.serviceWaypoint(r, from, ep, sp, si.Waypoint.Waypoint, hboneDst)
	case kind == gatewayClient && tcp && j.ingressViaWaypoint(svc, si):
		return j.serviceWaypoint(r, from, ep, sp, si.Waypoint.Waypoint, hboneDst)
	case kind == eastWestClient && tcp && hboneDst:
		r.Carried, r.CarriedPort = "HBONE", netpol.HBONEPort
		return direct(fmt.Sprintf("carried as HBONE by the east-west gateway: %d → %d (targetPort %d); ", sp.Port, netpol.HBONEPort, ep.port), netpol.HBONEPort)
	case kind == sidecarClient || kind == gatewayClient:
		who, bypass := "the sidecar", ""
		if kind == gatewayClient {
			who = "the ingress gateway"
		}
		switch {
		case si.Waypoint.Bound() && kind == gatewayClient:
			bypass = fmt.Sprintf(", bypassing waypoint %s (%s)", si.Waypoint.Waypoint, j.ingressBypassReason(svc, si))
		case si.Waypoint.Bound():
			bypass = fmt.Sprintf(", bypassing waypoint %s (sidecars never use waypoints)", si.Waypoint.Waypoint)
		}
		tunnels, plain := false, ""
		if tcp && hboneDst {
			tunnels, plain = j.proxyTunnels(to, dst)
		}
		if tunnels {
			r.Carried, r.CarriedPort = "HBONE", netpol.HBONEPort
			return direct(fmt.Sprintf("carried as HBONE by %s: %d → %d (targetPort %d)%s; ", who, sp.Port, netpol.HBONEPort, ep.port, bypass), netpol.HBONEPort)
		}
		if kind == gatewayClient {
			plain = strings.Replace(plain, "sidecar", "ingress gateway", 1)
		}
		if plain != "" {
			return direct(fmt.Sprintf("%s: %d → %d%s; ", plain, sp.Port, ep.port, bypass), ep.port)
		}
		return direct(fmt.Sprintf("sent by %s to the endpoint: %d → %d%s; ", who, sp.Port, ep.port, bypass), ep.port)
	}
	return direct(fmt.Sprintf("direct to the endpoint: %d → %d; ", sp.Port, ep.port), ep.port)
}

// waypointNote says why a Service that asked for a waypoint has none.
func waypointNote(si ambient.ServiceInfo) string {
	if si.Waypoint.Waypoint.Name != "" && si.Waypoint.Problem != "" {
		return fmt.Sprintf(", not through waypoint %s: %s", si.Waypoint.Waypoint, si.Waypoint.Problem)
	}
	return ""
}

// serviceWaypoint judges client → each waypoint pod on 15008 and each
// waypoint pod → the endpoint: HBONE on 15008 to a captured endpoint,
// plain on the targetPort to one outside the mesh.
func (j judge) serviceWaypoint(r Result, from netpol.Peer, ep endpoint, sp corev1.ServicePort, wp ambient.Key, hboneDst bool) (Result, error) {
	r.Waypoint = wp.String()
	r.Carried, r.CarriedPort = "HBONE", netpol.HBONEPort
	path := fmt.Sprintf("carried as HBONE via waypoint %s: %d → %d", wp, sp.Port, netpol.HBONEPort)
	last, lastProto := netpol.HBONEPort, corev1.ProtocolTCP
	if hboneDst {
		path += fmt.Sprintf(", then to %s as HBONE: %d → %d", ep.peer, ep.port, netpol.HBONEPort)
	} else {
		last, lastProto = ep.port, sp.Protocol
		path += fmt.Sprintf(", then plainly to %s (outside the mesh) on %d", ep.peer, ep.port)
	}
	return j.viaWaypoint(r, from, ep.peer, wp, path, last, lastProto)
}

// gatewayOf is how a gateway pod sends, or plainClient for any other pod:
// an east-west gateway forwards anything only with
// AMBIENT_ENABLE_MULTI_NETWORK.
func (j judge) gatewayOf(from netpol.Peer) client {
	if !from.IsPod() {
		return plainClient
	}
	p := j.c.Pod(from.Pod)
	if p == nil {
		return plainClient
	}
	switch ambient.GatewayKindOf(p) {
	case ambient.IngressGateway, ambient.ClassicGateway:
		return gatewayClient
	case ambient.EastWestGateway:
		if j.install().Switch(install.EnvAmbientMultiNetwork) {
			return eastWestClient
		}
	}
	return plainClient
}

func (j judge) install() install.Info {
	if j.set != nil {
		return j.set.Install
	}
	return install.Info{}
}

// ingressViaWaypoint is istiod's findServiceWaypoint for an ingress
// gateway: ENABLE_INGRESS_WAYPOINT_ROUTING, a VIP, a bound waypoint and
// ingress-use-waypoint as the installed istiod reads it.
func (j judge) ingressViaWaypoint(svc *corev1.Service, si ambient.ServiceInfo) bool {
	return si.IngressUseWaypoint && si.Waypoint.Bound() && ambient.HasVIP(svc) &&
		j.install().Switch(install.EnvIngressWaypointRouting)
}

// ingressBypassReason says why an ingress gateway dials the pods of a
// Service bound to a waypoint.
func (j judge) ingressBypassReason(svc *corev1.Service, si ambient.ServiceInfo) string {
	switch {
	case !j.install().Switch(install.EnvIngressWaypointRouting):
		return "istiod's " + install.EnvIngressWaypointRouting + " is off"
	case !ambient.HasVIP(svc):
		return "a headless Service: gateways send only VIP traffic to waypoints"
	case !si.IngressUseWaypoint:
		return "no " + ambient.LabelIngressUseWaypoint + "=true as istiod reads it"
	}
	return ""
}

// clientOf is how a source pod sends.
func clientOf(i ambient.PodInfo) client {
	switch i.State {
	case ambient.PodCaptured, ambient.PodPending:
		return ztunnelClient
	case ambient.PodSidecar:
		return sidecarClient
	}
	return plainClient
}

// isServiceSpec tells a Service destination, which may go without --port.
func isServiceSpec(spec string) bool {
	return strings.HasPrefix(spec, "svc/") || strings.HasPrefix(spec, "service/")
}

// runService answers from each source to every endpoint of the Service on
// each of its ports asked about.
func (j judge) runService(o Options, srcs []netpol.Peer, s serviceSpec, ports []portQuery, stderr io.Writer, emit func(Result) int, bad func(string, ...any) int) int {
	svc, err := j.service(s)
	if err != nil {
		return bad("--to %s: %v", s, err)
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName {
		return bad("--to %s: an ExternalName Service (%s) has no endpoints in the cluster", s, svc.Spec.ExternalName)
	}
	if len(svc.Spec.Selector) == 0 {
		return bad("--to %s: the Service has no selector, so its endpoints are written by hand in EndpointSlices, which reach does not read; ask about the pods instead", s)
	}
	if s.port != "" {
		if len(ports) > 0 {
			return bad("--to %s:%s and --port: give the port once", s, s.port)
		}
		q, err := parsePort(s.port)
		if err != nil {
			return bad("--to %s:%s: %v", s, s.port, err)
		}
		ports = []portQuery{q}
	}
	sps, err := servicePorts(svc, ports)
	if err != nil {
		return bad("--to %s: %v", s, err)
	}
	if len(sps) == 0 {
		return bad("--to %s: the Service has no ports", s)
	}
	wild := strings.Contains(o.From, "*")
	noted := map[string]bool{}
	ran := 0
	for _, src := range srcs {
		for _, sp := range sps {
			sp.Protocol = protoOf(sp.Protocol)
			rs, notes, err := j.viaService(src, svc, sp)
			if err != nil {
				return bad("%s -> %s: %v", src, s, err)
			}
			for _, n := range notes {
				if !noted[n] {
					noted[n] = true
					fmt.Fprintln(stderr, "ambx reach: note: "+clean(n))
				}
			}
			for _, r := range rs {
				if wild && r.To == src.String() {
					continue // a wildcard's pod to itself is not a question
				}
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
