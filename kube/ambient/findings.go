package ambient

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/ambx/ambx/kube/finding"
)

func (ix *index) ref(kind, ns, name string) finding.Ref {
	return finding.Ref{Kind: kind, Namespace: ns, Name: name}
}

func (ix *index) add(sev finding.Severity, code string, obj finding.Ref, title, why, fix string) {
	ix.findings = append(ix.findings, finding.Finding{Severity: sev, Code: code, Object: obj, Title: title, Why: why, Fix: fix})
}

// sortFindings orders most severe first, then by object, so the list reads
// the same on every rebuild.
func sortFindings(fs []finding.Finding) []finding.Finding {
	sort.SliceStable(fs, func(i, j int) bool {
		a, b := fs[i], fs[j]
		if a.Severity != b.Severity {
			return a.Severity > b.Severity
		}
		if a.Object.Kind != b.Object.Kind {
			return a.Object.Kind < b.Object.Kind
		}
		if a.Object.Namespace != b.Object.Namespace {
			return a.Object.Namespace < b.Object.Namespace
		}
		if a.Object.Name != b.Object.Name {
			return a.Object.Name < b.Object.Name
		}
		if a.Code != b.Code {
			return a.Code < b.Code
		}
		return a.Title < b.Title
	})
	return fs
}

// owners groups pods by their workload, in first-seen (sorted pod) order.
type owners struct {
	order []string
	count map[string]int
	pods  map[string][]string
}

func (o *owners) add(owner, pod string) {
	if o.count == nil {
		o.count, o.pods = map[string]int{}, map[string][]string{}
	}
	if o.count[owner] == 0 {
		o.order = append(o.order, owner)
	}
	o.count[owner]++
	o.pods[owner] = append(o.pods[owner], pod)
}

// refs are the pods grouped, for the finding's Affects: each pod's row
// carries the mark of its namespace's finding.
func (o *owners) refs(ns string) []finding.Ref {
	var out []finding.Ref
	for _, w := range o.order {
		for _, p := range o.pods[w] {
			out = append(out, finding.Ref{Kind: "Pod", Namespace: ns, Name: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// affects sets the pods the finding just added makes wrong.
func (ix *index) affects(refs []finding.Ref) {
	ix.findings[len(ix.findings)-1].Affects = refs
}

func (o *owners) total() int {
	n := 0
	for _, c := range o.count {
		n += c
	}
	return n
}

// String lists owners as "deployment/a (2), pod/b", at most five.
func (o *owners) String() string {
	var parts []string
	for i, w := range o.order {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(o.order)-5))
			break
		}
		if o.count[w] > 1 {
			parts = append(parts, fmt.Sprintf("%s (%d)", w, o.count[w]))
		} else {
			parts = append(parts, w)
		}
	}
	return strings.Join(parts, ", ")
}

// restartFix restarts controllers and deletes bare pods (which their
// controller, if any, recreates).
func (o *owners) restartFix(ns string) string {
	var restart, del []string
	for _, w := range o.order {
		if restartable(w) {
			restart = append(restart, w)
		} else {
			del = append(del, o.pods[w]...)
		}
	}
	var lines []string
	if len(restart) > 0 {
		lines = append(lines, fmt.Sprintf("kubectl rollout restart -n %s %s", ns, strings.Join(restart, " ")))
	}
	if len(del) > 0 {
		lines = append(lines, fmt.Sprintf("kubectl delete pod -n %s %s", ns, strings.Join(del, " ")))
	}
	return strings.Join(lines, "\n")
}

func oneOrMany(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (ix *index) podFindings() {
	cp := ix.capture
	for _, ns := range ix.nsOrder {
		var restart, uncaptured, pending, sidecars owners
		pendingNodes, restartNodes, uncapturedNodes := map[string]bool{}, map[string]bool{}, map[string]bool{}
		reasons := map[string]bool{}
		for _, r := range ix.podsByNS[ns] {
			info := ix.a.Pods[Key{ns, r.pod.Name}]
			switch r.state {
			case PodNeedsRestart:
				restart.add(info.Owner, r.pod.Name)
				restartNodes[r.pod.Spec.NodeName] = true
			case PodUncaptured:
				if !cp.now.IsZero() && cp.now.Sub(podStart(r.pod)) < CaptureGrace && r.pod.Status.PodIP != "" && r.pod.Status.Phase == corev1.PodRunning {
					continue // within the grace period: istio-cni is about to capture it
				}
				uncaptured.add(info.Owner, r.pod.Name)
				uncapturedNodes[r.pod.Spec.NodeName] = true
				reasons[info.Reason] = true
			case PodPending:
				pending.add(info.Owner, r.pod.Name)
				pendingNodes[r.pod.Spec.NodeName] = true
			case PodSidecar:
				sidecars.add(info.Owner, r.pod.Name)
			}
		}
		nsRef := ix.ref("Namespace", "", ns)
		if n := restart.total(); n > 0 {
			fix := append(cp.cniLogs(sortedSet(restartNodes)), "# only if it logged \"Failed capturing pod, will not retry\" for them:", restart.restartFix(ns))
			ix.add(finding.Warning, "pod-needs-restart", nsRef,
				fmt.Sprintf("%s not captured by ambient: %s", plural(n, "pod", "pods"), restart.String()),
				oneOrMany(n, "It matches istio-cni's ambient selectors and the istio-cni agent on its node is ready, which captures running pods without a restart, so capturing it failed with an error istio-cni does not retry; its traffic bypasses the mesh until it is restarted.",
					"They match istio-cni's ambient selectors and the istio-cni agents on their nodes are ready, which capture running pods without a restart, so capturing them failed with an error istio-cni does not retry; their traffic bypasses the mesh until they are restarted."),
				strings.Join(fix, "\n"))
			ix.affects(restart.refs(ns))
		}
		if n := uncaptured.total(); n > 0 {
			ix.add(finding.Warning, "pod-not-captured", nsRef,
				fmt.Sprintf("%s not captured by ambient: %s", plural(n, "pod", "pods"), uncaptured.String()),
				strings.Join(sortedSet(reasons), " ")+" Their traffic bypasses the mesh meanwhile.",
				strings.Join(cp.cniPods(sortedSet(uncapturedNodes)), "\n"))
			ix.affects(uncaptured.refs(ns))
		}
		if n := pending.total(); n > 0 {
			nodes := sortedSet(pendingNodes)
			var fix []string
			for _, node := range nodes {
				fix = append(fix, fmt.Sprintf("kubectl get pods -n %s -o wide -l %s=%s --field-selector spec.nodeName=%s", cp.ztunnelNS, ztunnelAppLabel, ztunnelAppValue, node))
			}
			fix = append(fix, fmt.Sprintf("kubectl logs -n %s -l %s=%s -c istio-proxy --tail=50", cp.ztunnelNS, ztunnelAppLabel, ztunnelAppValue))
			ix.add(finding.Error, "pod-redirection-pending", nsRef,
				fmt.Sprintf("%s with ambient redirection pending: %s", plural(n, "pod", "pods"), pending.String()),
				oneOrMany(n, "istio-cni redirected its traffic but no ztunnel accepted it, so it can neither send nor receive anything.",
					"istio-cni redirected their traffic but no ztunnel accepted them, so they can neither send nor receive anything."),
				strings.Join(fix, "\n"))
			ix.affects(pending.refs(ns))
		}
		info := ix.a.Namespaces[ns]
		if n := sidecars.total(); n > 0 && info.Enrolled {
			fix := sidecars.restartFix(ns)
			if info.Injected {
				fix = ix.dropInjectionLabels(ns) + "\n" + fix
			}
			ix.add(finding.Warning, "sidecar-in-ambient-namespace", nsRef,
				fmt.Sprintf("%s still run a sidecar in an ambient namespace: %s", plural(n, "pod", "pods"), sidecars.String()),
				"Sidecar injection wins over ambient, so these pods stay on their sidecar until they are re-created without one.",
				fix)
			ix.affects(sidecars.refs(ns))
		}
	}
}

// cniPods lists the istio-cni agent of each node, one command per node
// (a field selector takes one value).
func (cp *capture) cniPods(nodes []string) []string {
	var out []string
	for _, node := range nodes {
		out = append(out, fmt.Sprintf("kubectl get pods -n %s -o wide -l %s=%s --field-selector spec.nodeName=%s", cp.cniNS, cniLabel, cniValue, node))
	}
	return out
}

// cniLogs reads the istio-cni agent's log on each node.
func (cp *capture) cniLogs(nodes []string) []string {
	var out []string
	for _, node := range nodes {
		if np := cp.nodes[node]; np != nil && np.cniPod != nil {
			out = append(out, fmt.Sprintf("kubectl logs -n %s %s -c install-cni | grep -i 'failed capturing'", np.cniPod.Namespace, np.cniPod.Name))
		}
	}
	return out
}

// dropInjectionLabels removes a namespace's sidecar injection labels. Its
// istio.io/rev also picks the revision of its waypoints, so waypoints that
// have no label of their own are pinned to it first.
func (ix *index) dropInjectionLabels(ns string) string {
	var lines []string
	if rev := ix.ns[ns].Labels[LabelRev]; rev != "" {
		for _, k := range sortedKeys(ix.waypoints) {
			w := ix.waypoints[k]
			if k.Namespace == ns && isMeshWaypoint(w.gw, w.class) && w.gw.Labels[LabelRev] == "" {
				lines = append(lines, fmt.Sprintf("kubectl label gateway %s -n %s %s=%s   # keep the waypoint on its revision", k.Name, ns, LabelRev, rev))
			}
		}
	}
	var drop []string
	for _, l := range []string{LabelInjection, LabelRev} {
		if _, ok := ix.ns[ns].Labels[l]; ok {
			drop = append(drop, l+"-")
		}
	}
	lines = append(lines, fmt.Sprintf("kubectl label namespace %s %s", ns, strings.Join(drop, " ")))
	return strings.Join(lines, "\n")
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (ix *index) namespaceFindings() {
	for _, name := range ix.nsOrder {
		ns := ix.ns[name]
		if ns == nil {
			continue
		}
		info := ix.a.Namespaces[name]
		if info.Enrolled && info.Injected {
			var inj []string
			if v, ok := ns.Labels[LabelInjection]; ok {
				inj = append(inj, LabelInjection+"="+v)
			}
			if v, ok := ns.Labels[LabelRev]; ok {
				inj = append(inj, LabelRev+"="+v)
			}
			ix.add(finding.Warning, "namespace-multiple-injection-labels", ix.ref("Namespace", "", name),
				"Namespace has both ambient and sidecar injection labels (IST0123)",
				fmt.Sprintf("With %s and %s=ambient, new pods get a sidecar and istio-cni skips them, so the namespace never fully joins ambient.", strings.Join(inj, ", "), LabelDataplaneMode),
				fmt.Sprintf("# keep ambient:\n%s\n# or keep sidecars:\nkubectl label namespace %s %s-", ix.dropInjectionLabels(name), name, LabelDataplaneMode))
		}
	}
}

// bindingFindings reports waypoints that cannot serve what asks for them:
// a missing Gateway on each object that names it, everything else once on
// the Gateway, where the fix is.
func (ix *index) bindingFindings() {
	type group struct {
		objects []string
		pods    owners
	}
	missing := map[Key]map[string]*group{} // waypoint -> namespace of the asking pods
	traffic := map[Key][]string{}
	unshown := map[Key][]string{} // refused where istiod writes no status
	denied := map[Key][]string{}
	for _, is := range ix.issues {
		b := is.binding
		obj := strings.ToLower(is.kind) + "/" + is.name
		if is.kind != "Namespace" {
			obj = strings.ToLower(is.kind) + "/" + is.namespace + "/" + is.name
		}
		switch {
		case b.Reason == ReasonWaypointNotReady && ix.waypoints[b.Waypoint] == nil:
			switch is.kind {
			case "Pod":
				if missing[b.Waypoint] == nil {
					missing[b.Waypoint] = map[string]*group{}
				}
				g := missing[b.Waypoint][is.namespace]
				if g == nil {
					g = &group{}
					missing[b.Waypoint][is.namespace] = g
				}
				g.pods.add(is.owner, is.name)
			default:
				ns := is.namespace
				kind := is.kind
				if kind == "Namespace" {
					ns = ""
				}
				traffic := TrafficService
				if kind == KindWorkloadEntry {
					traffic = TrafficWorkload
				}
				ix.add(finding.Error, "waypoint-missing", ix.ref(kind, ns, is.name),
					fmt.Sprintf("%s %s uses waypoint %s, which does not exist", kind, is.name, b.Waypoint),
					ix.refusedWhere(kind, ReasonWaypointNotReady)+" and does not fall back to another waypoint, so its traffic goes direct and the waypoint's L7 policies are skipped.",
					waypointApplyFix(b.Waypoint, traffic))
			}
		case b.Reason == ReasonCrossNamespaceForbidden:
			ix.add(finding.Error, "waypoint-cross-namespace-forbidden", ix.ref(is.kind, is.namespace, is.name),
				fmt.Sprintf("ServiceEntry %s may not use waypoint %s in another namespace", is.name, b.Waypoint),
				"meshConfig.serviceEntryVisibility keeps this ServiceEntry to its own namespace (NAMESPACE), so istiod refuses the waypoint in "+b.Waypoint.Namespace+" (CrossNamespaceWaypointForbidden) and its traffic skips the waypoint.",
				fmt.Sprintf("istioctl waypoint apply -n %s --wait\nkubectl label serviceentry %s -n %s %s=waypoint %s- --overwrite", is.namespace, is.name, is.namespace, LabelUseWaypoint, LabelUseWaypointNS))
		case b.Reason == ReasonUnsupportedTrafficType:
			traffic[b.Waypoint] = append(traffic[b.Waypoint], obj)
			if !ix.statusShown(is.kind) && is.kind != "Namespace" {
				unshown[b.Waypoint] = append(unshown[b.Waypoint], obj)
			}
		case b.Reason == ReasonAttachmentDenied:
			denied[b.Waypoint] = append(denied[b.Waypoint], obj)
		}
	}
	for _, k := range sortedKeys(missing) {
		for _, ns := range sortedSet(mapKeys(missing[k])) {
			g := missing[k][ns]
			ix.add(finding.Error, "waypoint-missing", ix.ref("Namespace", "", ns),
				fmt.Sprintf("%s use waypoint %s, which does not exist: %s", plural(g.pods.total(), "pod", "pods"), k, g.pods.String()),
				ix.refusedWhere("Pod", ReasonWaypointNotReady)+" and does not fall back to another waypoint, so their traffic goes direct and the waypoint's L7 policies are skipped.",
				waypointApplyFix(k, TrafficWorkload))
		}
	}
	for _, k := range sortedKeys(ix.waypoints) {
		w := ix.waypoints[k]
		gwRef := ix.ref("Gateway", k.Namespace, k.Name)
		refs := ix.referrers[k]
		info, _ := ix.a.Waypoint(k)
		programmedKnown := false
		for _, c := range w.gw.Status.Conditions {
			if c.Type == string(gwv1.GatewayConditionProgrammed) {
				programmedKnown = true
			}
		}
		switch {
		case w.addressed && info.BoundObjects() > 0 && info.Ready == 0:
			// istiod never removes status.addresses, so the bindings stay
			// and ztunnel fails the connections, whatever Programmed says.
			ix.add(finding.Error, "waypoint-no-ready-pods", gwRef,
				fmt.Sprintf("Waypoint %s has no ready pods (%d of %d)", k, info.Ready, info.Replicas),
				fmt.Sprintf("istiod keeps routing the %s bound to it through the waypoint, so their traffic fails until a waypoint pod is ready.", plural(info.BoundObjects(), "object", "objects")),
				waypointDebugFix(k))
		case !w.addressed && (refs > 0 || isMeshWaypoint(w.gw, w.class)):
			sev := finding.Warning
			why := "istiod binds nothing to a waypoint without status.addresses."
			if refs > 0 {
				sev = finding.Error
				why = fmt.Sprintf("istiod binds nothing to a waypoint without status.addresses, so the %s that ask for it get none and their L7 policies are skipped.", plural(refs, "object", "objects"))
			}
			ix.add(sev, "waypoint-not-programmed", gwRef,
				fmt.Sprintf("Waypoint %s is not ready%s", k, suffix(info.ProgrammedMsg)), why, waypointDebugFix(k))
		case programmedKnown && !info.Programmed && isMeshWaypoint(w.gw, w.class):
			ix.add(finding.Warning, "waypoint-not-programmed", gwRef,
				fmt.Sprintf("Waypoint %s is not programmed%s", k, suffix(info.ProgrammedMsg)),
				"Its Programmed condition is not True, so its configuration or deployment is stale or broken.",
				waypointDebugFix(k))
		}
		if objs := traffic[k]; len(objs) > 0 {
			want := TrafficAll
			ix.add(finding.Error, "waypoint-traffic-type", gwRef,
				fmt.Sprintf("Waypoint %s takes %q traffic but %s need another type", k, w.trafficType, plural(len(objs), "object", "objects")),
				fmt.Sprintf("istiod refuses the binding (UnsupportedTrafficType) for %s, so that traffic skips the waypoint.%s", listSome(objs), ix.unshownNote(unshown[k])),
				fmt.Sprintf("kubectl label gateway %s -n %s %s=%s --overwrite", k.Name, k.Namespace, LabelWaypointFor, want))
		} else if !validTrafficType(w.trafficType) && isMeshWaypoint(w.gw, w.class) {
			ix.add(finding.Warning, "waypoint-traffic-type", gwRef,
				fmt.Sprintf("Waypoint %s has invalid %s=%q", k, LabelWaypointFor, w.trafficType),
				"istiod compares the value literally, so no Service or pod can bind to it.",
				fmt.Sprintf("kubectl label gateway %s -n %s %s=service --overwrite", k.Name, k.Namespace, LabelWaypointFor))
		}
		if objs := denied[k]; len(objs) > 0 {
			ix.add(finding.Error, "waypoint-attachment-denied", gwRef,
				fmt.Sprintf("Waypoint %s refuses %s from other namespaces", k, plural(len(objs), "object", "objects")),
				fmt.Sprintf("Its HBONE listener allows routes from the %s only, so istiod refuses %s (AttachmentDenied).", w.allowedFrom(), listSome(objs)),
				allowedRoutesFix(w.gw))
		}
	}
}

// externalNameFinding reports an ExternalName Service labelled with a
// waypoint: istiod never puts it in ambient, so the label does nothing and
// traffic to the external host skips the waypoint. A ServiceEntry for the
// host is what binds.
func (ix *index) externalNameFinding(s *corev1.Service) {
	wp := s.Labels[LabelUseWaypoint]
	if wp == modeNone {
		return
	}
	ix.add(finding.Warning, "waypoint-externalname-service", ix.ref("Service", s.Namespace, s.Name),
		fmt.Sprintf("ExternalName Service %s asks for waypoint %s, which it never gets", s.Name, wp),
		fmt.Sprintf("istiod leaves ExternalName Services out of ambient, so %s=%s does nothing: traffic to %s goes direct and the waypoint's policies are skipped. A ServiceEntry for the host binds to a waypoint.", LabelUseWaypoint, wp, s.Spec.ExternalName),
		externalNameFix(s))
}

// externalNameFix is a ServiceEntry for the ExternalName's host, with the
// Service's ports and waypoint labels.
func externalNameFix(s *corev1.Service) string {
	l := map[string]string{LabelUseWaypoint: s.Labels[LabelUseWaypoint]}
	if ns, ok := s.Labels[LabelUseWaypointNS]; ok {
		l[LabelUseWaypointNS] = ns
	}
	type port struct {
		Number   int32  `json:"number"`
		Name     string `json:"name"`
		Protocol string `json:"protocol"`
	}
	var ports []port
	for _, p := range s.Spec.Ports {
		name := p.Name
		if name == "" {
			name = fmt.Sprintf("port-%d", p.Port)
		}
		ports = append(ports, port{Number: p.Port, Name: name, Protocol: portProtocol(p)})
	}
	se := map[string]any{
		"apiVersion": "networking.istio.io/v1",
		"kind":       KindServiceEntry,
		"metadata":   map[string]any{"name": s.Name, "namespace": s.Namespace, "labels": l},
		"spec":       map[string]any{"hosts": []string{s.Spec.ExternalName}, "ports": ports, "resolution": "DNS", "location": "MESH_EXTERNAL"},
	}
	b, err := yaml.Marshal(se)
	if err != nil {
		return fmt.Sprintf("kubectl get service %s -n %s -o yaml   # write a ServiceEntry for %s", s.Name, s.Namespace, s.Spec.ExternalName)
	}
	return string(b)
}

// portProtocol names a Service port's protocol as Istio reads it: the
// appProtocol, else the name's prefix (http-web is HTTP), else TCP.
func portProtocol(p corev1.ServicePort) string {
	v := p.Name
	if p.AppProtocol != nil && *p.AppProtocol != "" {
		v = *p.AppProtocol
	}
	prefix, _, _ := strings.Cut(strings.ToLower(v), "-")
	switch prefix {
	case "http", "https", "http2", "grpc", "tls", "tcp", "mongo", "redis", "mysql":
		return strings.ToUpper(prefix)
	}
	return "TCP"
}

func mapKeys[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

func validTrafficType(t string) bool {
	return t == TrafficService || t == TrafficWorkload || t == TrafficAll || t == TrafficNone
}

func suffix(msg string) string {
	if msg == "" {
		return ""
	}
	return ": " + msg
}

func listSome(objs []string) string {
	if len(objs) <= 3 {
		return strings.Join(objs, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(objs[:3], ", "), len(objs)-3)
}

func waypointApplyFix(k Key, traffic string) string {
	return fmt.Sprintf("istioctl waypoint apply -n %s --name %s --for %s --wait", k.Namespace, k.Name, traffic)
}

func waypointDebugFix(k Key) string {
	return fmt.Sprintf("kubectl describe gateway %s -n %s\nkubectl get deploy,pods -n %s -l %s=%s", k.Name, k.Namespace, k.Namespace, LabelGatewayName, k.Name)
}

// allowedRoutesFix is the Gateway as it is, with only its HBONE
// listener's allowedRoutes opened to all namespaces, as YAML to apply: its
// other listeners, labels, annotations and infrastructure are kept.
func allowedRoutesFix(gw *gwv1.Gateway) string {
	from := gwv1.NamespacesFromAll
	spec := *gw.Spec.DeepCopy()
	for i := range spec.Listeners {
		l := &spec.Listeners[i]
		if l.Protocol == "HBONE" && l.Port == 15008 {
			if l.AllowedRoutes == nil {
				l.AllowedRoutes = &gwv1.AllowedRoutes{}
			}
			l.AllowedRoutes.Namespaces = &gwv1.RouteNamespaces{From: &from}
		}
	}
	annotations := map[string]string{}
	for k, v := range gw.Annotations {
		if k != "kubectl.kubernetes.io/last-applied-configuration" {
			annotations[k] = v
		}
	}
	if len(annotations) == 0 {
		annotations = nil
	}
	out := &gwv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Name: gw.Name, Namespace: gw.Namespace, Labels: gw.Labels, Annotations: annotations},
		Spec:       spec,
	}
	b, err := yaml.Marshal(out)
	if err != nil {
		return fmt.Sprintf("kubectl edit gateway %s -n %s   # set listeners[mesh].allowedRoutes.namespaces.from: All", gw.Name, gw.Namespace)
	}
	return string(b)
}

// dataplaneFindings reports namespaces whose ambient pods run on nodes where
// ztunnel or istio-cni is not ready: capture and traffic on those nodes fail.
// The data plane is found by label in any namespace.
func (ix *index) dataplaneFindings() {
	cp := ix.capture
	for _, name := range ix.nsOrder {
		nodes := map[string]int{}
		for _, r := range ix.podsByNS[name] {
			if r.state.inAmbient() && r.pod.Spec.NodeName != "" {
				nodes[r.pod.Spec.NodeName]++
			}
		}
		var problems, bad []string
		for _, node := range sortedSet(mapKeys(nodes)) {
			np := cp.nodes[node]
			if np == nil {
				np = &nodePlane{}
			}
			var what []string
			switch {
			case !np.ztunnel:
				what = append(what, "no ztunnel")
			case !np.ztunnelReady:
				what = append(what, "ztunnel not ready")
			}
			switch {
			case !np.cni:
				what = append(what, "no istio-cni")
			case !np.cniReady:
				what = append(what, "istio-cni not ready")
			}
			if len(what) > 0 {
				bad = append(bad, node)
				problems = append(problems, fmt.Sprintf("%s: %s (%s)", node, strings.Join(what, ", "), plural(nodes[node], "pod", "pods")))
			}
		}
		if len(problems) == 0 {
			continue
		}
		var fix []string
		for _, node := range bad {
			fix = append(fix,
				fmt.Sprintf("kubectl get pods -n %s -o wide -l %s=%s --field-selector spec.nodeName=%s", cp.ztunnelNS, ztunnelAppLabel, ztunnelAppValue, node),
				fmt.Sprintf("kubectl get pods -n %s -o wide -l %s=%s --field-selector spec.nodeName=%s", cp.cniNS, cniLabel, cniValue, node))
		}
		ix.add(finding.Error, "dataplane-not-ready", ix.ref("Namespace", "", name),
			fmt.Sprintf("Ambient data plane not ready on %s running this namespace's pods", plural(len(bad), "node", "nodes")),
			"Without a ready ztunnel and istio-cni on a node, its ambient pods stay pending or unreachable ("+strings.Join(problems, "; ")+").",
			strings.Join(fix, "\n"))
	}
}
