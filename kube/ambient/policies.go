package ambient

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	metav1alpha1 "istio.io/api/meta/v1alpha1"
	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/install"
)

// Policy kinds, as in PolicyInfo.Kind and finding.Ref.Kind.
const (
	KindAuthorizationPolicy   = "AuthorizationPolicy"
	KindPeerAuthentication    = "PeerAuthentication"
	KindRequestAuthentication = "RequestAuthentication"
)

// selection counts the pods a selector or namespace-wide policy applies to.
// In the root namespace a policy reaches every namespace.
type selection struct {
	ambient    int // captured: ztunnel enforces it for them
	uncaptured int // ambient should carry them but does not (yet): unprotected
	sidecar    int
	gateway    int // Gateway API ingress pods: their Envoy enforces it
	other      int
	// gatewayIgnored counts ingress gateway pods that would enforce it but
	// for ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY=false (counted in other).
	gatewayIgnored int
}

// wideKey names a namespace-wide selection: its namespace, and whether it
// counts gateway pods.
type wideKey struct {
	ns       string
	gateways bool
}

// eachSelected calls f for every pod a selector (nil: all pods) in ns
// reaches; in the root namespace that is every namespace.
func (ix *index) eachSelected(ns string, sel *typev1beta1.WorkloadSelector, f func(podRef)) {
	var match labels.Selector
	if sel != nil {
		match = labels.SelectorFromSet(sel.GetMatchLabels())
	}
	each := func(pods []podRef) {
		for _, p := range pods {
			if match == nil || match.Matches(labels.Set(p.pod.Labels)) {
				f(p)
			}
		}
	}
	if ns == ix.root {
		if ml := sel.GetMatchLabels(); len(ml) > 0 {
			// Only pods with every label can match: walk those with the
			// rarest one, in the same order as all pods would be walked.
			var fewest []podPos
			first := true
			for k, v := range ml {
				if l := ix.labelled(k, v); first || len(l) < len(fewest) {
					fewest, first = l, false
				}
			}
			for _, at := range fewest {
				if p := ix.podsByNS[at.ns][at.i]; match.Matches(labels.Set(p.pod.Labels)) {
					f(p)
				}
			}
			return
		}
		for _, name := range ix.nsOrder {
			each(ix.podsByNS[name])
		}
		return
	}
	each(ix.podsByNS[ns])
}

// labelled returns every pod whose label k is v, namespaces in order.
func (ix *index) labelled(k, v string) []podPos {
	byValue, ok := ix.byLabel[k]
	if !ok {
		byValue = map[string][]podPos{}
		for _, name := range ix.nsOrder {
			for i, r := range ix.podsByNS[name] {
				if val, ok := r.pod.Labels[k]; ok {
					byValue[val] = append(byValue[val], podPos{name, i})
				}
			}
		}
		if ix.byLabel == nil {
			ix.byLabel = map[string]map[string][]podPos{}
		}
		ix.byLabel[k] = byValue
	}
	return byValue[v]
}

// selectPods counts the pods a selector or namespace-wide policy reaches.
// gateways says whether the kind applies to Gateway API ingress pods
// (AuthorizationPolicy and RequestAuthentication do, by ShouldAttachPolicy,
// while ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on; PeerAuthentication
// does not).
func (ix *index) selectPods(ns string, sel *typev1beta1.WorkloadSelector, gateways bool) selection {
	if len(sel.GetMatchLabels()) > 0 {
		return ix.countSelected(ns, sel, gateways)
	}
	// Every namespace-wide policy of a namespace reaches the same pods,
	// and in the root namespace that is all of them: count them once.
	k := wideKey{ns, gateways}
	if s, ok := ix.wide[k]; ok {
		return s
	}
	if ix.wide == nil {
		ix.wide = map[wideKey]selection{}
	}
	ix.wide[k] = ix.countSelected(ns, sel, gateways)
	return ix.wide[k]
}

// countSelected is selectPods without the namespace-wide counts kept.
func (ix *index) countSelected(ns string, sel *typev1beta1.WorkloadSelector, gateways bool) selection {
	var s selection
	honoured := ix.c.Install.Switch(install.EnvSelectorGatewayPolicy)
	ix.eachSelected(ns, sel, func(p podRef) {
		switch {
		case p.state == PodCaptured:
			s.ambient++
		case p.state.inAmbient():
			s.uncaptured++
		case gateways && GatewayKindOf(p.pod) == ClassicGateway:
			// Not a Gateway API gateway, so ShouldAttachPolicy applies
			// selectors to it whatever the switch says; injected, it
			// looks like a sidecar but its Envoy is the gateway's.
			s.gateway++
		case p.state == PodSidecar:
			s.sidecar++
		case gateways && ix.isIngressGatewayPod(p.pod) && honoured:
			s.gateway++
		case gateways && ix.isIngressGatewayPod(p.pod):
			s.gatewayIgnored++
			s.other++
		default:
			s.other++
		}
	})
	return s
}

// isIngressGatewayPod reports a Gateway API ingress gateway's pod (proxy
// type router): istiod applies selector policies to it like a sidecar's.
// Waypoint and east-west gateway pods run as waypoints and ignore them. A
// pod without istiod's managed label counts when the Gateway it names is
// neither.
func (ix *index) isIngressGatewayPod(p *corev1.Pod) bool {
	name := p.Labels[LabelGatewayName]
	if name == "" {
		return false
	}
	switch p.Labels[LabelGatewayManaged] {
	case managedIngressController:
		return true
	case "":
		w := ix.waypoints[Key{p.Namespace, name}]
		return w != nil && !isMeshWaypoint(w.gw, w.class) && !isEastWest(w)
	}
	return false
}

// enforcer decides who enforces a selector or namespace-wide policy: ztunnel
// for ambient pods, their own Envoy for sidecar pods, nobody for pods outside
// the mesh. With no pods yet, the namespace's labels say what will come.
func (ix *index) enforcer(ns string, s selection) (Enforcement, string) {
	unprotected := ""
	if s.uncaptured > 0 {
		unprotected = fmt.Sprintf(" %d captured, %d not captured: unprotected.", s.ambient, s.uncaptured)
	}
	switch {
	case s.ambient > 0 && s.sidecar > 0:
		return EnforcedByZtunnel, fmt.Sprintf("ztunnel enforces it for %d ambient pods, sidecars for %d sidecar pods.", s.ambient, s.sidecar) + gatewaysToo(s) + unprotected
	case s.ambient > 0 && s.gateway > 0:
		return EnforcedByZtunnel, fmt.Sprintf("ztunnel enforces it for %d ambient pods.", s.ambient) + gatewaysToo(s) + unprotected
	case s.ambient > 0 || s.uncaptured > 0:
		return EnforcedByZtunnel, strings.TrimSpace(unprotected)
	case s.sidecar > 0 && s.gateway > 0:
		return EnforcedBySidecar, fmt.Sprintf("Sidecars enforce it for %d sidecar pods, the ingress gateway's Envoy for %d gateway pods.", s.sidecar, s.gateway)
	case s.sidecar > 0:
		return EnforcedBySidecar, ""
	case s.gateway > 0:
		return EnforcedByGateway, fmt.Sprintf("The ingress gateway's Envoy enforces it for its %s; its denials show in the gateway's access log.", plural(s.gateway, "pod", "pods"))
	case s.gatewayIgnored > 0:
		return EnforcedByNone, "It selects ingress gateway pods, which ignore selector policies while " + install.EnvSelectorGatewayPolicy + "=false, so nothing enforces it."
	case s.other > 0:
		return EnforcedByNone, "It selects only pods outside the mesh, so nothing enforces it."
	}
	info := ix.a.Namespaces[ns]
	if info.Injected && !info.Enrolled && ns != ix.root {
		return EnforcedBySidecar, "It selects no pods yet."
	}
	return EnforcedByZtunnel, "It selects no pods yet."
}

func gatewaysToo(s selection) string {
	if s.gateway == 0 {
		return ""
	}
	return fmt.Sprintf(" The ingress gateway's Envoy enforces it for %s.", plural(s.gateway, "gateway pod", "gateway pods"))
}

func selectorTarget(ns, root string, sel *typev1beta1.WorkloadSelector) string {
	if sel == nil {
		if ns == root {
			return "mesh"
		}
		return "namespace"
	}
	m := sel.GetMatchLabels()
	if len(m) == 0 {
		return "selector (all pods)"
	}
	return "selector " + labels.SelectorFromSet(m).String()
}

func istioConditions(st *metav1alpha1.IstioStatus) []string {
	return conditionStrings(st.GetConditions())
}

func conditionStrings(cs []*metav1alpha1.IstioCondition) []string {
	var out []string
	for _, c := range cs {
		out = append(out, conditionString(c.GetType(), c.GetStatus(), c.GetReason(), c.GetMessage()))
	}
	return out
}

// targetRefs returns targetRef and targetRefs together, as istiod does.
func targetRefs(one *typev1beta1.PolicyTargetReference, many []*typev1beta1.PolicyTargetReference) []*typev1beta1.PolicyTargetReference {
	if one == nil {
		return many
	}
	return append([]*typev1beta1.PolicyTargetReference{one}, many...)
}

// targets checks each targetRef the way istiod's WaypointAccepted status
// does: what it binds to, and why the others bind to nothing.
// ingress counts the bound targets that are ingress Gateways, whose own
// pods enforce the policy.
func (ix *index) targets(ns string, refs []*typev1beta1.PolicyTargetReference) (target string, bound, problems []string, ingress int) {
	var names []string
	for _, r := range refs {
		kind, name := r.GetKind(), r.GetName()
		names = append(names, kind+"/"+name)
		refNS := r.GetNamespace()
		if refNS == "" {
			refNS = ns
		}
		k := Key{refNS, name}
		if p := refGroupProblem(r); p != "" {
			problems = append(problems, p)
			continue
		}
		switch {
		case kind == "GatewayClass":
			class := ix.classes[name]
			switch {
			case !ix.v.AtLeast(1, 25):
				problems = append(problems, ix.gatewayClassRefProblem(name))
			case ns != ix.root:
				problems = append(problems, fmt.Sprintf("AuthorizationPolicy must be in the root namespace `%s` when referencing a GatewayClass", ix.root))
			case class == nil:
				problems = append(problems, fmt.Sprintf("GatewayClass %s was not found", name))
			case class.Spec.ControllerName != MeshController:
				problems = append(problems, "GatewayClass must use controller name `"+MeshController+"` for waypoints")
			case ix.gatewayClassRefProblem(name) != "":
				problems = append(problems, ix.gatewayClassRefProblem(name))
			default:
				bound = append(bound, "GatewayClass/"+name)
			}
		case refNS != ns:
			problems = append(problems, fmt.Sprintf("%s %s is in another namespace; targetRefs must stay in the policy's namespace", kind, k))
		case kind == "Gateway":
			w := ix.waypoints[k]
			switch {
			case w == nil:
				problems = append(problems, fmt.Sprintf("Gateway %s was not found", k))
			case !isMeshWaypoint(w.gw, w.class) && !isEastWest(w):
				// An ingress gateway's pods take the policy by their
				// gateway-name label (ShouldAttachPolicy), address or not;
				// istiod's status says TargetNotFound until the Gateway
				// has status.addresses (e.g. a LoadBalancer still pending).
				bound = append(bound, k.String())
				ingress++
			case !w.addressed:
				problems = append(problems, fmt.Sprintf("Gateway %s is not ready (no status.addresses)", k))
			default:
				bound = append(bound, k.String())
			}
		case kind == "Service" && (r.GetGroup() == "" || r.GetGroup() == "core"):
			svc, ok := ix.a.Services[k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("Service %s was not found", k))
			case !svc.Waypoint.Bound():
				problems = append(problems, fmt.Sprintf("Service %s is not bound to a waypoint", k))
			default:
				bound = append(bound, svc.Waypoint.Waypoint.String())
			}
		case kind == KindServiceEntry && ix.c.ServiceEntriesUnread:
			// Not read: neither found nor missing; istiod's condition says.
			bound = append(bound, "ServiceEntry/"+k.String())
		case kind == KindServiceEntry:
			se, ok := ix.a.ServiceEntries[k]
			switch {
			case !ok:
				problems = append(problems, fmt.Sprintf("ServiceEntry %s was not found", k))
			case !se.Waypoint.Bound():
				problems = append(problems, fmt.Sprintf("ServiceEntry %s is not bound to a waypoint", k))
			default:
				bound = append(bound, se.Waypoint.Waypoint.String())
			}
		default:
			problems = append(problems, fmt.Sprintf("targetRef kind %s (group %q) is not supported", kind, r.GetGroup()))
		}
	}
	return strings.Join(names, ", "), dedupe(bound), problems, ingress
}

// isEastWest reports an east-west gateway: its pods run as waypoints.
func isEastWest(w *waypoint) bool {
	return w.gw.Spec.GatewayClassName == eastWestGatewayClass || w.gw.Labels[LabelGatewayManaged] == managedEastWestController
}

func dedupe(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func (ix *index) authorizationPolicy(p *secv1.AuthorizationPolicy) PolicyInfo {
	spec := &p.Spec
	pi := PolicyInfo{
		Kind:       KindAuthorizationPolicy,
		Key:        Key{p.Namespace, p.Name},
		Action:     spec.GetAction().String(),
		Conditions: istioConditions(&p.Status),
		Layer:      L4,
	}
	view := translate(specFor(spec, ix.v))
	pi.L7Fields = view.l7
	if len(view.l7) > 0 {
		pi.Layer = L7
	}
	var effects []string
	if !ix.v.AtLeast(1, 25) && usesServiceAccounts(spec) {
		effects = append(effects, "istiod "+ix.v.MinorString()+" has no serviceAccounts field (added in 1.25): it ignores serviceAccounts and notServiceAccounts, and a source naming only them never matches.")
	}
	if len(spec.GetRules()) == 0 && spec.GetAction() == secv1beta1.AuthorizationPolicy_ALLOW {
		effects = append(effects, "It has no rules, so it allows nothing: traffic to what it applies to is denied unless another ALLOW policy admits it.")
	}
	ref := ix.ref(KindAuthorizationPolicy, p.Namespace, p.Name)
	if !ix.v.AtLeast(1, 25) && usesServiceAccounts(spec) {
		ix.add(finding.Warning, "policy-service-accounts-unsupported", ref,
			"AuthorizationPolicy uses serviceAccounts, which istiod "+ix.v.MinorString()+" does not know",
			"serviceAccounts and notServiceAccounts arrived in Istio 1.25; istiod "+ix.v.MinorString()+" drops them, so a source naming only them matches nothing: an ALLOW rule with one admits nobody, a DENY rule with one never fires.",
			fmt.Sprintf("kubectl edit authorizationpolicy %s -n %s   # name each service account as a principal instead: \"*/ns/<namespace>/sa/<name>\"", p.Name, p.Namespace))
	}

	if refs := targetRefs(spec.GetTargetRef(), spec.GetTargetRefs()); len(refs) > 0 {
		pi.EnforcedBy = EnforcedByWaypoint
		var problems []string
		var ingress int
		pi.Target, pi.BoundTo, problems, ingress = ix.targets(p.Namespace, refs)
		if ingress > 0 && ingress == len(pi.BoundTo) {
			pi.EnforcedBy = EnforcedByGateway
			effects = append(effects, "The ingress gateway's Envoy enforces it for traffic entering through it.")
		}
		ix.targetFindings(&pi, ref, problems)
		pi.Effect = joinEffects(append(effects, pi.Effect)...)
		return pi
	}

	pi.Target = selectorTarget(p.Namespace, ix.root, spec.GetSelector())
	sel := ix.selectPods(p.Namespace, spec.GetSelector(), true)
	pi.SelectedAmbient, pi.SelectedUncaptured, pi.SelectedSidecar, pi.SelectedGateway, pi.SelectedOther = sel.ambient, sel.uncaptured, sel.sidecar, sel.gateway, sel.other
	var note string
	pi.EnforcedBy, note = ix.enforcer(p.Namespace, sel)
	effects = append(effects, note)
	if pi.EnforcedBy != EnforcedByZtunnel {
		pi.Effect = joinEffects(effects...)
		return pi
	}

	dry := ix.dryRun(p)
	switch dry {
	case dryRunDropped, dryRunRejected:
		why := "istiod 1.25 to 1.28 drop dry-run AuthorizationPolicies for ztunnel without a word, so nothing enforces or logs it for ambient pods."
		fix := ix.waypointFix(p.Namespace, p.Name, "authorizationpolicy") + "\n# a waypoint (targetRefs) honours dry-run and logs its verdicts"
		effect := "Not sent to ztunnel: istiod drops dry-run policies for ambient pods."
		if dry == dryRunRejected {
			why = "istiod rejects it for ztunnel (ZtunnelAccepted=False) because " + install.EnvDryRunAuthorizationPolicy + " is off, so nothing enforces or logs it for ambient pods."
			fix = fmt.Sprintf("kubectl set env deployment/istiod -n %s %s=true   # ztunnel 1.29+ then logs its verdicts", ix.root, install.EnvDryRunAuthorizationPolicy)
			effect = "Not sent to ztunnel: ambient dry-run support (" + install.EnvDryRunAuthorizationPolicy + ") is off."
		}
		pi.Effect = joinEffects(append(effects, effect)...)
		ix.add(finding.Info, "policy-dry-run-ignored", ref, "Dry-run AuthorizationPolicy is not sent to ztunnel", why, fix)
		return pi
	case dryRunLogged:
		pi.Effect = joinEffects(append(effects, "Sent to ztunnel as dry-run: its verdicts are logged, not enforced.")...)
		return pi
	case dryRunEnforced:
		why := "istiod 1.24 has no ambient dry-run support and sends it to ztunnel as an ordinary policy, so it is enforced."
		if ix.v.AtLeast(1, 29) {
			why = fmt.Sprintf("istiod sends it with dryRun set, but ztunnel %s predates dry-run support (1.29) and enforces it.", ix.c.Install.ZtunnelEffective().MinorString())
		}
		effects = append(effects, "Enforced despite istio.io/dry-run: "+why)
		ix.add(finding.Error, "policy-dry-run-enforced", ref, "Dry-run AuthorizationPolicy is enforced by ztunnel", why,
			fmt.Sprintf("kubectl delete authorizationpolicy %s -n %s   # only if it must not be enforced until ztunnel supports dry-run", p.Name, p.Namespace))
	}

	switch spec.GetAction() {
	case secv1beta1.AuthorizationPolicy_CUSTOM, secv1beta1.AuthorizationPolicy_AUDIT:
		pi.Effect = joinEffects(append(effects, fmt.Sprintf("Not sent to ztunnel: ztunnel does not support the %s action.", pi.Action))...)
		sev := finding.Warning
		if spec.GetAction() == secv1beta1.AuthorizationPolicy_CUSTOM {
			sev = finding.Error
		}
		ix.add(sev, "policy-unsupported-action", ref,
			fmt.Sprintf("%s policy on ambient pods is ignored by ztunnel", pi.Action),
			fmt.Sprintf("ztunnel does not support the %s action, so istiod never sends this policy and the %d ambient pods it selects are not checked by it.", pi.Action, sel.ambient),
			ix.waypointFix(p.Namespace, p.Name, "authorizationpolicy"))
		return pi
	}

	if view.trustDomainsOnly {
		effects = append(effects, "Sources that name only trustDomains are not translated for ztunnel and never match.")
	}
	if len(view.l7) > 0 {
		found := strings.Join(view.l7, ", ")
		fix := ix.waypointFix(p.Namespace, p.Name, "authorizationpolicy")
		if spec.GetAction() == secv1beta1.AuthorizationPolicy_DENY {
			ix.denyL7(&pi, ref, view, found, fix)
		} else {
			ix.allowL7(&pi, p, ref, view, found, fix)
		}
		pi.Effect = joinEffects(append(effects, pi.Effect)...)
		return pi
	}
	pi.Effect = joinEffects(effects...)
	return pi
}

// denyL7 judges a DENY policy with HTTP attributes rule by rule, as ztunnel
// evaluates what istiod sends: a rule with an HTTP-only clause never fires
// and an HTTP-only alternative vanishes (the policy denies less), while a
// match with L4 fields beside HTTP ones keeps the L4 part (it denies more).
func (ix *index) denyL7(pi *PolicyInfo, ref finding.Ref, view ztunnelView, found, fix string) {
	var less, more []string
	firing := 0
	for i, r := range view.rules {
		if !r.void {
			firing++
		}
		if len(r.l7) == 0 {
			continue
		}
		n := i + 1
		switch {
		case r.void:
			less = append(less, fmt.Sprintf("rule %d never fires (%s holds only HTTP attributes or nothing ztunnel reads)", n, r.voidBy))
		default:
			if len(r.lost) > 0 {
				less = append(less, fmt.Sprintf("rule %d loses its HTTP-only alternatives %s", n, strings.Join(r.lost, ", ")))
			}
			if len(r.broad) > 0 {
				more = append(more, fmt.Sprintf("rule %d matches %s on their L4 fields alone", n, strings.Join(r.broad, ", ")))
			}
		}
	}
	var sev finding.Severity
	var title, why string
	switch {
	case firing == 0:
		sev = finding.Error
		pi.Effect = "No effect at ztunnel: after dropping the HTTP attributes no rule can fire, so nothing is denied."
		title = "L7 DENY policy has no effect on ambient pods"
		why = fmt.Sprintf("ztunnel cannot see HTTP (%s): %s, so the traffic it meant to deny is allowed.", found, strings.Join(less, "; "))
	case len(less) > 0 && len(more) > 0:
		sev = finding.Error
		pi.Effect = "Denies less and more than written: " + strings.Join(append(less, more...), "; ") + "."
		title = "L7 DENY policy denies other traffic than written on ambient pods"
		why = fmt.Sprintf("ztunnel cannot see HTTP (%s): %s.", found, strings.Join(append(less, more...), "; "))
	case len(less) > 0:
		sev = finding.Error
		pi.Effect = "Denies less than written: " + strings.Join(less, "; ") + "."
		title = "L7 DENY policy denies less than written on ambient pods"
		why = fmt.Sprintf("ztunnel cannot see HTTP (%s): %s, so traffic those parts meant to deny is allowed.", found, strings.Join(less, "; "))
	default:
		sev = finding.Warning
		pi.Effect = "Denies more than written: " + strings.Join(more, "; ") + ", whatever the request."
		title = "L7 DENY policy denies more than written on ambient pods"
		why = fmt.Sprintf("ztunnel cannot see HTTP (%s): %s, so it denies all matching traffic whatever the request.", found, strings.Join(more, "; "))
	}
	ix.add(sev, "policy-l7-on-ztunnel", ref, title, why, fix)
}

// allowL7 judges an ALLOW policy with HTTP attributes: istiod drops each
// rule that has one. When none is left the policy admits nothing, which
// blocks traffic only to pods that no other ALLOW policy admits anything
// to (ztunnel ORs the ALLOW policies of a workload).
func (ix *index) allowL7(pi *PolicyInfo, p *secv1.AuthorizationPolicy, ref finding.Ref, view ztunnelView, found, fix string) {
	dropped := 0
	for _, r := range view.rules {
		if len(r.l7) > 0 {
			dropped++
		}
	}
	if view.allowAdmits() > 0 {
		pi.Effect = fmt.Sprintf("Allows less than written: istiod drops the %s with HTTP attributes, so what they allowed is rejected at ztunnel.", plural(dropped, "rule", "rules"))
		ix.add(finding.Warning, "policy-l7-on-ztunnel", ref, "L7 ALLOW policy rules are dropped on ambient pods",
			fmt.Sprintf("ztunnel cannot see HTTP (%s), so rules using it never match and the clients they allowed are rejected.", found), fix)
		return
	}
	blocked, covered := ix.allowedElsewhere(p)
	if blocked == 0 && covered > 0 {
		pi.Effect = fmt.Sprintf("Allows nothing at ztunnel: every rule uses HTTP attributes; its %s take only what their other ALLOW policies admit.", plural(covered, "pod", "pods"))
		ix.add(finding.Warning, "policy-l7-on-ztunnel", ref, "L7 ALLOW policy admits nothing on ambient pods",
			fmt.Sprintf("ztunnel cannot see HTTP (%s) and drops every rule, so the clients this policy meant to allow are rejected unless another ALLOW policy admits them.", found), fix)
		return
	}
	pi.Effect = "Allows nothing it meant to: every rule uses HTTP attributes, so ztunnel denies all traffic to the selected pods that no other ALLOW policy admits."
	why := fmt.Sprintf("ztunnel cannot see HTTP (%s), drops every rule that uses it, and an ALLOW policy with no matching rule rejects every connection", found)
	if covered > 0 {
		why += fmt.Sprintf(" to the %s no other ALLOW policy admits anything to", plural(blocked, "pod", "pods"))
	}
	ix.add(finding.Error, "policy-l7-on-ztunnel", ref, "L7 ALLOW policy blocks all traffic to ambient pods", why+".", fix)
}

// allowedElsewhere counts the captured pods p applies to that no other
// ztunnel ALLOW policy admits anything to (blocked) and those another one
// does (covered).
func (ix *index) allowedElsewhere(p *secv1.AuthorizationPolicy) (blocked, covered int) {
	ix.eachSelected(p.Namespace, p.Spec.GetSelector(), func(r podRef) {
		if r.state != PodCaptured {
			return
		}
		for _, a := range ix.allowers {
			if a.key == (Key{p.Namespace, p.Name}) || (a.ns != r.pod.Namespace && a.ns != ix.root) {
				continue
			}
			if a.sel == nil || a.sel.Matches(labels.Set(r.pod.Labels)) {
				covered++
				return
			}
		}
		blocked++
	})
	return blocked, covered
}

// allower is a ztunnel ALLOW policy that admits something.
type allower struct {
	key Key
	ns  string
	sel labels.Selector // nil: the whole namespace (or mesh)
}

// indexAllowers lists the AuthorizationPolicies ztunnel enforces as ALLOW
// with at least one rule left.
func (ix *index) indexAllowers() {
	for _, p := range ix.c.AuthorizationPolicies {
		if p == nil || p.Spec.GetAction() != secv1beta1.AuthorizationPolicy_ALLOW || len(targetRefs(p.Spec.GetTargetRef(), p.Spec.GetTargetRefs())) > 0 {
			continue
		}
		if d := ix.dryRun(p); d != notDryRun && d != dryRunEnforced {
			continue
		}
		if translate(specFor(&p.Spec, ix.v)).allowAdmits() == 0 {
			continue
		}
		a := allower{key: Key{p.Namespace, p.Name}, ns: p.Namespace}
		if sel := p.Spec.GetSelector(); sel != nil {
			a.sel = labels.SelectorFromSet(sel.GetMatchLabels())
		}
		ix.allowers = append(ix.allowers, a)
	}
}

// dryRunMode is what the installed Istio does with an istio.io/dry-run
// AuthorizationPolicy on ambient pods (reference 2.3).
type dryRunMode int

const (
	notDryRun      dryRunMode = iota
	dryRunEnforced            // 1.24, or 1.29+ with the switch and a ztunnel older than 1.29
	dryRunDropped             // 1.25-1.28: silently not sent
	dryRunRejected            // 1.29+ without the switch: ZtunnelAccepted=False
	dryRunLogged              // 1.29+ with the switch and ztunnel 1.29+
)

func (ix *index) dryRun(p *secv1.AuthorizationPolicy) dryRunMode {
	v, ok := p.Annotations[AnnotationDryRun]
	if !ok {
		return notDryRun
	}
	if dry, err := strconv.ParseBool(v); err != nil || !dry {
		return notDryRun
	}
	switch {
	case !ix.v.AtLeast(1, 25):
		return dryRunEnforced
	case !ix.v.AtLeast(1, 29):
		return dryRunDropped
	case !ix.c.Install.Switch(install.EnvDryRunAuthorizationPolicy):
		return dryRunRejected
	case !ix.c.Install.ZtunnelEffective().AtLeast(1, 29):
		return dryRunEnforced
	}
	return dryRunLogged
}

// targetFindings reports a targetRefs policy that binds to nothing, or to
// less than it names.
func (ix *index) targetFindings(pi *PolicyInfo, ref finding.Ref, problems []string) {
	if len(problems) == 0 {
		return
	}
	fix := fmt.Sprintf("istioctl waypoint apply -n %s --wait\nkubectl label service <name> -n %s %s=waypoint", pi.Key.Namespace, pi.Key.Namespace, LabelUseWaypoint)
	if len(pi.BoundTo) == 0 {
		pi.Effect = "Not enforced anywhere: " + strings.Join(problems, "; ") + "."
		ix.add(finding.Error, "policy-target-unbound", ref,
			fmt.Sprintf("%s %s is not enforced: its targets have no waypoint", pi.Kind, pi.Key),
			"A targetRefs policy runs only on a waypoint, and "+strings.Join(problems, "; ")+", so no proxy enforces it.",
			fix)
		return
	}
	pi.Effect = "Partly enforced: " + strings.Join(problems, "; ") + "."
	ix.add(finding.Warning, "policy-target-unbound", ref,
		fmt.Sprintf("%s %s is only partly enforced", pi.Kind, pi.Key),
		"Some of its targets bind to no waypoint ("+strings.Join(problems, "; ")+"), so traffic to them skips the policy.",
		fix)
}

// waypointFix moves a selector policy to a waypoint: deploy one, then
// replace the selector with a targetRef to it.
func (ix *index) waypointFix(ns, name, resource string) string {
	wp := "waypoint"
	if b := ix.a.Namespaces[ns].Waypoint; b.Bound() && b.Waypoint.Namespace == ns {
		wp = b.Waypoint.Name
	} else if !b.Bound() {
		return fmt.Sprintf("istioctl waypoint apply -n %s --enroll-namespace --wait\n"+
			"kubectl patch %s %s -n %s --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/selector\"},{\"op\":\"add\",\"path\":\"/spec/targetRefs\",\"value\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":\"waypoint\"}]}]'",
			ns, resource, name, ns)
	}
	return fmt.Sprintf("kubectl patch %s %s -n %s --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/selector\"},{\"op\":\"add\",\"path\":\"/spec/targetRefs\",\"value\":[{\"group\":\"gateway.networking.k8s.io\",\"kind\":\"Gateway\",\"name\":%q}]}]'",
		resource, name, ns, wp)
}

func joinEffects(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}

func (ix *index) peerAuthentication(p *secv1.PeerAuthentication, oldest bool) PolicyInfo {
	spec := &p.Spec
	mode := spec.GetMtls().GetMode()
	pi := PolicyInfo{
		Kind:       KindPeerAuthentication,
		Key:        Key{p.Namespace, p.Name},
		Action:     mode.String(),
		Conditions: istioConditions(&p.Status),
		Layer:      L4,
		Target:     selectorTarget(p.Namespace, ix.root, spec.GetSelector()),
	}
	ref := ix.ref(KindPeerAuthentication, p.Namespace, p.Name)
	workload := len(spec.GetSelector().GetMatchLabels()) > 0
	if workload && p.Namespace == ix.root {
		pi.EnforcedBy = EnforcedByNone
		pi.Effect = "Ambient ignores selector PeerAuthentications in the root namespace."
		return pi
	}
	var sel selection
	if workload {
		sel = ix.selectPods(p.Namespace, spec.GetSelector(), false)
	} else {
		sel = ix.selectPods(p.Namespace, nil, false)
	}
	pi.SelectedAmbient, pi.SelectedUncaptured, pi.SelectedSidecar, pi.SelectedOther = sel.ambient, sel.uncaptured, sel.sidecar, sel.other
	var note string
	pi.EnforcedBy, note = ix.enforcer(p.Namespace, sel)
	effects := []string{note}
	if !workload && !oldest {
		effects = append(effects, "Ignored: an older PeerAuthentication at the same level wins.")
		ix.add(finding.Warning, "peerauthentication-conflict", ref,
			fmt.Sprintf("PeerAuthentication %s is ignored: another one at the same level is older", pi.Key),
			"Istio applies only the oldest namespace-wide (or mesh-wide) PeerAuthentication, so this one has no effect.",
			fmt.Sprintf("kubectl get peerauthentication -n %s --sort-by=.metadata.creationTimestamp", p.Namespace))
	}
	if pi.EnforcedBy == EnforcedByZtunnel && (workload || oldest) {
		effects = append(effects, ix.peerEffects(p, ref, workload)...)
	}
	pi.Effect = joinEffects(effects...)
	return pi
}

func (ix *index) requestAuthentication(p *secv1.RequestAuthentication) PolicyInfo {
	spec := &p.Spec
	var issuers []string
	for _, r := range spec.GetJwtRules() {
		issuers = append(issuers, r.GetIssuer())
	}
	pi := PolicyInfo{
		Kind:       KindRequestAuthentication,
		Key:        Key{p.Namespace, p.Name},
		Action:     "JWT",
		Conditions: istioConditions(&p.Status),
		Layer:      L7,
	}
	if len(issuers) > 0 {
		pi.Action = "JWT " + strings.Join(issuers, ",")
	}
	ref := ix.ref(KindRequestAuthentication, p.Namespace, p.Name)
	if refs := targetRefs(spec.GetTargetRef(), spec.GetTargetRefs()); len(refs) > 0 {
		pi.EnforcedBy = EnforcedByWaypoint
		var problems []string
		var ingress int
		pi.Target, pi.BoundTo, problems, ingress = ix.targets(p.Namespace, refs)
		if ingress > 0 && ingress == len(pi.BoundTo) {
			pi.EnforcedBy = EnforcedByGateway
		}
		ix.targetFindings(&pi, ref, problems)
		return pi
	}
	pi.Target = selectorTarget(p.Namespace, ix.root, spec.GetSelector())
	sel := ix.selectPods(p.Namespace, spec.GetSelector(), true)
	pi.SelectedAmbient, pi.SelectedUncaptured, pi.SelectedSidecar, pi.SelectedGateway, pi.SelectedOther = sel.ambient, sel.uncaptured, sel.sidecar, sel.gateway, sel.other
	var note string
	pi.EnforcedBy, note = ix.enforcer(p.Namespace, sel)
	if pi.EnforcedBy != EnforcedByZtunnel {
		pi.Effect = note
		return pi
	}
	pi.EnforcedBy = EnforcedByNone
	pi.Effect = joinEffects(note, "Ignored for ambient pods: ztunnel cannot read JWTs and waypoints apply only targetRefs policies.")
	ix.add(finding.Warning, "requestauthentication-no-waypoint", ref,
		"RequestAuthentication is ignored for ambient pods",
		fmt.Sprintf("JWT validation needs a waypoint with a targetRef, so the %d ambient pods it selects accept any token.", sel.ambient),
		ix.waypointFix(p.Namespace, p.Name, "requestauthentication"))
	return pi
}

// peerEffects says what a PeerAuthentication does to the captured pods it
// reaches, pod by pod (effectiveMTLS), and reports a DISABLE: in ambient it
// acts as PERMISSIVE, so it is redundant when nothing above it is STRICT
// and lifts that STRICT otherwise, which deleting it would restore.
func (ix *index) peerEffects(p *secv1.PeerAuthentication, ref finding.Ref, workload bool) []string {
	mode := paMode(p)
	var decides, lifts, pods int
	var above Key
	ix.eachSelected(p.Namespace, p.Spec.GetSelector(), func(r podRef) {
		if r.state != PodCaptured {
			return
		}
		ps := ix.peers.forPod(r.pod.Namespace, r.pod.Labels)
		if ps.mesh != p && ps.namespace != p && ps.workload != p {
			return // an older policy at the same level wins for this pod
		}
		pods++
		m := effectiveMTLS(ps)
		if m.By == keyOf(p) {
			decides++
		}
		if up := effectiveMTLS(ps.without(p)); up.Strict && !m.Strict {
			lifts++
			above = up.By
		}
	})
	var out []string
	strictAbove, aboveKey := ix.inheritedStrict(p, workload)
	if above.Name == "" {
		above = aboveKey
	}
	switch mode {
	case modeStrict:
		out = append(out, fmt.Sprintf("ztunnel rejects plaintext connections to the %s it decides (policy %s/istio_converted_static_strict); kubelet probes stay exempt, but kube-apiserver calls to webhooks here fail.", plural(decides, "captured pod", "captured pods"), ix.root))
		if n := ix.sidecarsSendingPlaintext(); n > 0 && decides > 0 {
			out = append(out, "Sidecars connect to them in plaintext ("+install.EnvSendingHBONE+" is off), so they are rejected too.")
			ix.add(finding.Error, "peerauthentication-strict-sidecar-plaintext", ref,
				fmt.Sprintf("STRICT mTLS rejects sidecar clients of %s: istiod does not have sidecars send HBONE", plural(decides, "ambient pod", "ambient pods")),
				fmt.Sprintf("istiod's %s is off, so the mesh's %s reach ambient pods in plaintext on the app port, and their ztunnel takes that as plaintext: STRICT rejects it (explicitly denied by %s/istio_converted_static_strict), and no principal, namespace or service-account rule can match it.",
					install.EnvSendingHBONE, plural(n, "sidecar pod", "sidecar pods"), ix.root),
				ix.sendingHBONEFix())
		}
	case modePermissive:
		out = append(out, "ztunnel accepts HBONE (mTLS) and plaintext alike.")
		if lifts > 0 {
			out = append(out, fmt.Sprintf("It lifts the STRICT of %s for %s.", above, plural(lifts, "captured pod", "captured pods")))
		}
	case modeDisable:
		out = append(out, "Acts as PERMISSIVE in ambient: plaintext is accepted and HBONE between ambient pods stays mTLS.")
		fix := fmt.Sprintf("kubectl patch peerauthentication %s -n %s --type=merge -p '{\"spec\":{\"mtls\":{\"mode\":\"PERMISSIVE\"}}}'   # the same in ambient, and says so", p.Name, p.Namespace)
		if strictAbove {
			out = append(out, fmt.Sprintf("It overrides the STRICT of %s: deleting it would make %s STRICT and break their plaintext callers.", above, plural(max(lifts, pods), "pod", "pods")))
			ix.add(finding.Warning, "peerauthentication-disable-lifts-strict", ref,
				fmt.Sprintf("PeerAuthentication DISABLE lifts the STRICT of %s for %s", above, plural(lifts, "ambient pod", "ambient pods")),
				fmt.Sprintf("Ambient has no DISABLE: it acts as PERMISSIVE, so HBONE stays mTLS while these pods accept plaintext from anyone, although %s asks for STRICT. Deleting it would turn them STRICT and break the plaintext callers it lets in.", above),
				fix)
		} else {
			ix.add(finding.Info, "peerauthentication-disable-ambient", ref,
				"PeerAuthentication DISABLE changes nothing for ambient pods",
				"Ambient has no DISABLE: it acts as PERMISSIVE, which is already the mode here since nothing above it is STRICT; HBONE between ambient pods stays mTLS.",
				fix)
		}
	case modeUnset:
		out = append(out, "Inherits the namespace or mesh mode.")
	}
	if len(p.Spec.GetPortLevelMtls()) > 0 {
		if !workload {
			out = append(out, "portLevelMtls is ignored: it works only with a workload selector.")
			return out
		}
		out = append(out, "portLevelMtls is sent to ztunnel as DENY policy converted_peer_authentication_"+p.Name+", keyed by container ports.")
		ix.portQuirks(p, ref, above)
		if mode == modeUnset && strictAbove && !portModes(p)[modePermissive] {
			var ignored []string
			for _, port := range sortedPorts(p.Spec.GetPortLevelMtls()) {
				if p.Spec.GetPortLevelMtls()[port].GetMode() == modeDisable {
					ignored = append(ignored, fmt.Sprint(port))
				}
			}
			if len(ignored) > 0 {
				out = append(out, "Port-level DISABLE on "+joinEffects(ignored...)+" is not honoured under the inherited STRICT.")
				ix.add(finding.Warning, "peerauthentication-port-disable-ignored", ref,
					fmt.Sprintf("Port-level DISABLE on port %s is ignored under the inherited STRICT", joinEffects(ignored...)),
					fmt.Sprintf("With its own mode UNSET under the STRICT of %s, istiod honours port-level exceptions only when one of them is PERMISSIVE, so plaintext to those ports is still rejected.", above),
					fmt.Sprintf("kubectl edit peerauthentication %s -n %s   # set portLevelMtls[%s].mode: PERMISSIVE", p.Name, p.Namespace, ignored[0]))
			}
		}
	}
	return out
}

// inheritedStrict reports whether the level above p is STRICT: the mesh
// policy for a namespace one; the namespace policy (unless UNSET), else the
// mesh one, for a workload one.
func (ix *index) inheritedStrict(p *secv1.PeerAuthentication, workload bool) (bool, Key) {
	if p.Namespace == ix.root {
		return false, Key{}
	}
	if workload {
		if ns := ix.peers.byNS[p.Namespace]; ns != nil && paMode(ns) != modeUnset {
			return paMode(ns) == modeStrict, keyOf(ns)
		}
	}
	if m := ix.peers.mesh; m != nil && paMode(m) == modeStrict {
		return true, keyOf(m)
	}
	return false, Key{}
}

// sidecarsSendingPlaintext counts the sidecar pods that reach ambient pods
// in plaintext: all of them while istiod's PILOT_ENABLE_SENDING_HBONE is
// off with ambient on (without ambient every ambient verdict is moot and
// install findings say so), none otherwise. Sidecars then send to the app
// port, which istio-cni redirects to ztunnel's plaintext inbound listener;
// an ambient pod carries no tlsMode=istio label, so auto-mTLS sends
// plaintext (istiod's cluster and endpoint builders).
func (ix *index) sidecarsSendingPlaintext() int {
	in := ix.c.Install
	if !in.Switch(install.EnvEnableAmbient) || in.Switch(install.EnvSendingHBONE) {
		return 0
	}
	n := 0
	for _, p := range ix.a.Pods {
		if p.State == PodSidecar {
			n++
		}
	}
	return n
}

// sendingHBONEFix unsets PILOT_ENABLE_SENDING_HBONE on istiod, which then
// takes its default, true.
func (ix *index) sendingHBONEFix() string {
	dep, ns := "istiod", ix.c.Install.IstiodNamespace
	if c, ok := ix.c.Install.Found(install.Istiod); ok {
		dep, ns = c.Name, c.Namespace
	}
	if ns == "" {
		ns = ix.root
	}
	return fmt.Sprintf("kubectl set env deployment/%s -n %s %s-", dep, ns, install.EnvSendingHBONE)
}

// portModes says which modes a PeerAuthentication's portLevelMtls uses.
func portModes(p *secv1.PeerAuthentication) map[mtlsMode]bool {
	out := map[mtlsMode]bool{}
	for _, l := range p.Spec.GetPortLevelMtls() {
		out[l.GetMode()] = true
	}
	return out
}

// portQuirks reports the two corners where istiod's port-level handling
// (effectiveMTLS) undoes what the policy asks for on the pods it decides:
// a workload UNSET with a port-level PERMISSIVE under a namespace UNSET and
// a mesh STRICT drops STRICT on every port, and a port-level STRICT under a
// workload PERMISSIVE or DISABLE is lost when the namespace sets no mode
// and the mesh is STRICT.
func (ix *index) portQuirks(p *secv1.PeerAuthentication, ref finding.Ref, above Key) {
	var lifted, lost int
	mode := paMode(p)
	ix.eachSelected(p.Namespace, p.Spec.GetSelector(), func(r podRef) {
		if r.state != PodCaptured {
			return
		}
		ps := ix.peers.forPod(r.pod.Namespace, r.pod.Labels)
		if ps.workload != p {
			return
		}
		m := effectiveMTLS(ps)
		switch {
		case mode == modeUnset && effectiveMTLS(ps.without(p)).Strict && !m.Strict && len(m.Ports) == 0:
			lifted++
		case (mode == modePermissive || mode == modeDisable) && portModes(p)[modeStrict] && len(m.Ports) == 0:
			lost++
		}
	})
	if lifted > 0 {
		ix.add(finding.Error, "peerauthentication-port-lifts-strict", ref,
			fmt.Sprintf("Port-level PERMISSIVE turns off STRICT on every port of %s", plural(lifted, "ambient pod", "ambient pods")),
			fmt.Sprintf("Under the namespace's UNSET PeerAuthentication and the mesh's STRICT %s, istiod stops sending these pods the static STRICT policy but leaves their converted policy empty, so ztunnel accepts plaintext on every port, not only the PERMISSIVE ones.", above),
			fmt.Sprintf("kubectl edit peerauthentication %s -n %s   # set spec.mtls.mode: STRICT, keeping the port-level exceptions", p.Name, p.Namespace))
	}
	if lost > 0 {
		ix.add(finding.Warning, "peerauthentication-port-strict-ignored", ref,
			fmt.Sprintf("Port-level STRICT is ignored for %s", plural(lost, "ambient pod", "ambient pods")),
			"With the workload mode "+mode.String()+", no namespace mode and a STRICT mesh policy, istiod takes the port-level STRICT as enforced by the mesh policy, which the workload mode lifts: plaintext is accepted on those ports too.",
			fmt.Sprintf("kubectl get peerauthentication -n %s   # give the namespace a PeerAuthentication with an explicit mode (e.g. PERMISSIVE): istiod then honours the port-level STRICT", p.Namespace))
	}
}
