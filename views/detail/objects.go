package detail

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/whatif"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/pane"
)

// missing is the document for an object the snapshot does not hold.
func missing(kind, name string) (string, doc) {
	var d doc
	d.text(kind+" "+name+" is not in the cluster any more (deleted, or not yet synced).", theme.ToneWarn)
	return kind + " " + name, d
}

// binding describes a waypoint binding in words.
func (d *doc) binding(b ambient.WaypointBinding) {
	switch {
	case b.Waypoint.Name == "" && b.Note != "":
		d.kv("waypoint", "none: "+b.Note, theme.ToneDim)
	case b.Waypoint.Name == "":
		d.kv("waypoint", "none", theme.ToneDim)
	case b.Problem != "":
		d.kv("waypoint", b.Waypoint.String()+" (from the "+b.Source+" label), not used", theme.ToneBad)
		d.kv("problem", strings.TrimSpace(b.Reason+": "+b.Problem), theme.ToneBad)
	default:
		d.kv("waypoint", b.Waypoint.String()+" (from the "+b.Source+" label)", theme.ToneAccent)
	}
	if b.Waypoint.Name != "" && b.Note != "" {
		d.kv("note", b.Note, theme.ToneDim)
	}
}

// podState returns what a pod's state word is shown as.
// podMTLS is the pod's effective PeerAuthentication mode, for pods ambient
// carries or should: what ztunnel accepts inbound, and which policy decided.
func podMTLS(info ambient.PodInfo) (string, theme.Tone, bool) {
	switch info.State {
	case ambient.PodCaptured, ambient.PodPending, ambient.PodNeedsRestart, ambient.PodUncaptured:
	default:
		return "", theme.ToneNormal, false
	}
	m := info.MTLS
	text, tone := m.String()+": plaintext accepted", theme.ToneNormal
	if m.Strict {
		text, tone = m.String()+": plaintext rejected", theme.ToneGood
	}
	if m.By.Name == "" {
		text += " (no PeerAuthentication applies)"
	}
	if len(m.Ports) > 0 {
		text += "; ports " + strings.Join(m.Ports, ", ")
	}
	if info.State != ambient.PodCaptured {
		text += ", once ztunnel carries it"
	}
	return text, tone, true
}

func podState(info ambient.PodInfo) (string, theme.Tone) {
	g := pane.PodGlyph(info.State)
	return g.Mark + " " + string(info.State) + ": " + g.Meaning, g.Tone
}

// podFindingCodes are the namespace-level findings that list pods in a
// given state, so a pod's detail can show the one that names it.
var podFindingCodes = map[ambient.PodState]string{
	ambient.PodNeedsRestart: "pod-needs-restart",
	ambient.PodPending:      "pod-redirection-pending",
	ambient.PodSidecar:      "sidecar-in-ambient-namespace",
}

// ForPod is the detail of a pod: intent and state side by side, the mesh
// state and why, its waypoint, the policies that apply and the findings.
func ForPod(s *kube.Snapshot, k ambient.Key, t *theme.Theme) Model {
	return newModel(s, t, func(s *kube.Snapshot) (string, doc) {
		var p *corev1.Pod
		for _, x := range s.Pods {
			if x.Namespace == k.Namespace && x.Name == k.Name {
				p = x
				break
			}
		}
		info, ok := s.Mesh.Pods[k]
		if p == nil || !ok {
			return missing("Pod", k.String())
		}
		var ns *corev1.Namespace
		for _, x := range s.Namespaces {
			if x.Name == k.Namespace {
				ns = x
			}
		}
		var d doc
		state, tone := podState(info)
		d.kv("state", state, tone)
		d.kv("why", orNone(info.Reason), theme.ToneNormal)
		d.kv("owner", orNone(info.Owner), theme.ToneNormal)
		d.kv("node", orNone(p.Spec.NodeName), theme.ToneNormal)
		d.kv("IP", orNone(p.Status.PodIP), theme.ToneNormal)
		d.kv("phase", string(p.Status.Phase), theme.ToneNormal)
		d.kv("protocol", orNone(info.Protocol), theme.ToneNormal)
		if m, tone, ok := podMTLS(info); ok {
			d.kv("mTLS", m, tone)
		}

		d.section("Enrollment: intent (labels) and state")
		nsLabel := func(k string) string {
			if ns == nil {
				return "(namespace not found)"
			}
			return labelOrUnset(ns.Labels, k)
		}
		side := "none"
		for _, c := range p.Spec.Containers {
			if c.Name == "istio-proxy" {
				side = "istio-proxy container"
			}
		}
		if st := p.Annotations[ambient.AnnotationSidecarState]; st != "" {
			side += ", injected (" + ambient.AnnotationSidecarState + ")"
		}
		redirect := ambient.AnnotationRedirection + "=" + labelOrUnset(p.Annotations, ambient.AnnotationRedirection)
		rTone := theme.ToneNormal
		switch p.Annotations[ambient.AnnotationRedirection] {
		case "enabled":
			rTone = theme.ToneGood
		case "pending":
			rTone = theme.ToneBad
		}
		d.pair(item{label: "namespace", value: ambient.LabelDataplaneMode + "=" + nsLabel(ambient.LabelDataplaneMode)},
			item{label: "redirection", value: redirect, tone: rTone})
		d.pair(item{label: "pod", value: ambient.LabelDataplaneMode + "=" + labelOrUnset(p.Labels, ambient.LabelDataplaneMode)},
			item{label: "sidecar", value: side})
		d.pair(item{label: "injection", value: ambient.LabelInjection + "=" + nsLabel(ambient.LabelInjection) + ", " + ambient.LabelRev + "=" + nsLabel(ambient.LabelRev)},
			item{label: "host network", value: fmt.Sprint(p.Spec.HostNetwork)})
		d.pair(item{label: "pod inject", value: "sidecar.istio.io/inject=" + labelOrUnset(p.Labels, "sidecar.istio.io/inject")},
			item{label: "mesh state", value: string(info.State), tone: tone})

		d.section("Waypoint (traffic addressed to the pod IP)")
		d.binding(info.Waypoint)
		for _, svc := range servicesSelecting(s, p) {
			si := s.Mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}]
			w := "no waypoint"
			tone := theme.ToneDim
			switch {
			case si.Waypoint.Bound():
				w, tone = "waypoint "+si.Waypoint.Waypoint.String(), theme.ToneAccent
			case si.Waypoint.Problem != "":
				w, tone = "waypoint "+si.Waypoint.Waypoint.String()+" not used: "+si.Waypoint.Problem, theme.ToneBad
			}
			d.kv("via Service", svc.Name+": "+w, tone)
		}

		pols := policiesFor(s, p, info)
		d.section(fmt.Sprintf("Policies that apply (%d)", len(pols)))
		if len(pols) == 0 {
			d.text("none select this pod or its namespace", theme.ToneDim)
		}
		for _, ap := range pols {
			d.kv(kindShort(ap.info.Kind), ap.info.Key.String()+": "+policySummary(ap.info)+" ("+ap.how+")", policyTone(ap.info))
		}

		applies := map[finding.Ref]bool{}
		for _, ap := range pols {
			applies[finding.Ref{Kind: ap.info.Kind, Namespace: ap.info.Key.Namespace, Name: ap.info.Key.Name}] = true
		}
		d.addFindings(matching(s.Findings, func(f finding.Finding) bool {
			o := f.Object
			switch {
			case applies[o]:
				return true
			case o.Kind == "Pod" && o.Namespace == k.Namespace && o.Name == k.Name:
				return true
			case slices.Contains(f.Affects, finding.Ref{Kind: "Pod", Namespace: k.Namespace, Name: k.Name}):
				// Its row carries this finding's mark: say why here.
				return true
			case o.Kind == "Namespace" && o.Name == k.Namespace:
				return namesPod(f, info, k.Name)
			case o.Kind == "Gateway" && info.Waypoint.Waypoint.Name != "":
				return o.Namespace == info.Waypoint.Waypoint.Namespace && o.Name == info.Waypoint.Waypoint.Name
			case o.Kind == "NetworkPolicy" && o.Namespace == k.Namespace:
				return netpolSelects(s, o.Name, p)
			}
			return false
		}))
		return "Pod " + k.String(), d
	})
}

// namesPod reports whether a namespace finding about pods in the pod's
// state lists the pod or its workload.
func namesPod(f finding.Finding, info ambient.PodInfo, name string) bool {
	code, ok := podFindingCodes[info.State]
	if !ok || f.Code != code {
		return false
	}
	return strings.Contains(f.Title, "pod/"+name) || info.Owner != "" && strings.Contains(f.Title, info.Owner)
}

func labelOrUnset(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return "(unset)"
}

func netpolSelects(s *kube.Snapshot, name string, p *corev1.Pod) bool {
	for _, np := range s.NetworkPolicies {
		if np.Namespace == p.Namespace && np.Name == name {
			sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector)
			return err == nil && sel.Matches(labels.Set(p.Labels))
		}
	}
	return false
}

func servicesSelecting(s *kube.Snapshot, p *corev1.Pod) []*corev1.Service {
	var out []*corev1.Service
	for _, svc := range s.Services {
		if svc.Namespace != p.Namespace || len(svc.Spec.Selector) == 0 {
			continue
		}
		if labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(p.Labels)) {
			out = append(out, svc)
		}
	}
	return out
}

// applied is a policy that applies to a pod, and how.
type applied struct {
	info ambient.PolicyInfo
	how  string
}

// policiesFor finds the policies that reach a pod: selector and
// namespace-wide policies of its namespace or the root namespace
// (enforced by its ztunnel), and targetRefs policies bound to a waypoint
// in its path.
func policiesFor(s *kube.Snapshot, p *corev1.Pod, info ambient.PodInfo) []applied {
	podLabels := labels.Set(p.Labels)
	root := s.Cluster.Root()
	waypoints := map[string]string{} // ns/name -> how the pod reaches it
	if info.Waypoint.Bound() {
		waypoints[info.Waypoint.Waypoint.String()] = "its waypoint"
	}
	for _, svc := range servicesSelecting(s, p) {
		if si := s.Mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}]; si.Waypoint.Bound() {
			if _, ok := waypoints[si.Waypoint.Waypoint.String()]; !ok {
				waypoints[si.Waypoint.Waypoint.String()] = "waypoint of Service " + svc.Name
			}
		}
	}
	bySelector := func(ns string, sel map[string]string, hasTargets bool) (string, bool) {
		if hasTargets || ns != p.Namespace && ns != root {
			return "", false
		}
		scope := "namespace-wide"
		if ns == root {
			scope = "mesh-wide"
		}
		if sel == nil {
			return scope, true
		}
		if labels.SelectorFromSet(sel).Matches(podLabels) {
			return "selector " + labels.Set(sel).String(), true
		}
		return "", false
	}
	var out []applied
	add := func(kind, ns, name, how string) {
		if pi, ok := s.Mesh.Policy(kind, ambient.Key{Namespace: ns, Name: name}); ok {
			out = append(out, applied{pi, how})
		}
	}
	viaWaypoint := func(kind, ns, name string) {
		pi, ok := s.Mesh.Policy(kind, ambient.Key{Namespace: ns, Name: name})
		if !ok {
			return
		}
		for _, b := range pi.BoundTo {
			if how, ok := waypoints[b]; ok {
				out = append(out, applied{pi, "targetRefs, at " + how + " " + b})
				return
			}
		}
	}
	for _, ap := range s.AuthorizationPolicies {
		spec := &ap.Spec
		targets := len(spec.GetTargetRefs()) > 0 || spec.GetTargetRef() != nil
		if how, ok := bySelector(ap.Namespace, spec.GetSelector().GetMatchLabels(), targets); ok {
			add("AuthorizationPolicy", ap.Namespace, ap.Name, how)
		} else if targets {
			viaWaypoint("AuthorizationPolicy", ap.Namespace, ap.Name)
		}
	}
	for _, pa := range s.PeerAuthentications {
		if how, ok := bySelector(pa.Namespace, (&pa.Spec).GetSelector().GetMatchLabels(), false); ok {
			add("PeerAuthentication", pa.Namespace, pa.Name, how)
		}
	}
	for _, ra := range s.RequestAuthentications {
		spec := &ra.Spec
		targets := len(spec.GetTargetRefs()) > 0 || spec.GetTargetRef() != nil
		if how, ok := bySelector(ra.Namespace, spec.GetSelector().GetMatchLabels(), targets); ok {
			add("RequestAuthentication", ra.Namespace, ra.Name, how)
		} else if targets {
			viaWaypoint("RequestAuthentication", ra.Namespace, ra.Name)
		}
	}
	return out
}

func kindShort(kind string) string {
	switch kind {
	case "AuthorizationPolicy":
		return "AuthzPolicy"
	case "PeerAuthentication":
		return "PeerAuthn"
	case "RequestAuthentication":
		return "RequestAuthn"
	}
	return kind
}

func policySummary(p ambient.PolicyInfo) string {
	parts := []string{}
	if p.Action != "" {
		parts = append(parts, p.Action)
	}
	parts = append(parts, "by "+string(p.EnforcedBy), string(p.Layer))
	s := strings.Join(parts, ", ")
	if p.Effect != "" {
		s += "; " + p.Effect
	}
	return s
}

func policyTone(p ambient.PolicyInfo) theme.Tone {
	switch {
	case p.HasFindings || p.EnforcedBy == ambient.EnforcedByNone:
		return theme.ToneWarn
	case p.EnforcedBy == ambient.EnforcedByWaypoint:
		return theme.ToneAccent
	}
	return theme.ToneNormal
}

// ForNamespace is the detail of a namespace: labels, state, pods per
// state, waypoint, policies and findings.
func ForNamespace(s *kube.Snapshot, name string, t *theme.Theme) Model {
	return newModel(s, t, func(s *kube.Snapshot) (string, doc) {
		var ns *corev1.Namespace
		for _, x := range s.Namespaces {
			if x.Name == name {
				ns = x
			}
		}
		info, ok := s.Mesh.Namespaces[name]
		if ns == nil || !ok {
			return missing("Namespace", name)
		}
		var d doc
		g := pane.NamespaceGlyph(info.State)
		d.kv("state", g.Mark+" "+string(info.State)+": "+g.Meaning, g.Tone)
		d.kv("why", orNone(info.Reason), theme.ToneNormal)
		if info.Excluded {
			d.kv("note", "istio-cni never captures pods in this namespace", theme.ToneWarn)
		}
		d.kv("labels", labelsText(ns.Labels), theme.ToneNormal)

		d.section(fmt.Sprintf("Pods (%d)", info.Pods))
		if info.Pods == 0 {
			d.text("none", theme.ToneDim)
		}
		for _, st := range pane.PodStates {
			if n := info.Counts[st]; n > 0 {
				pg := pane.PodGlyph(st)
				d.kv(pg.Mark+" "+string(st), fmt.Sprintf("%d  %s", n, pg.Meaning), pg.Tone)
			}
		}

		if mg := whatif.MigrationOf(s, name); mg.Started() {
			tone := theme.ToneWarn
			if mg.OnRestart == mg.Sidecars {
				tone = theme.ToneInfo
			}
			d.kv("migration", mg.String()+" · M migrates", tone)
		}

		d.section("Waypoint (namespace label)")
		d.binding(info.Waypoint)

		var pols []ambient.PolicyInfo
		for _, p := range s.Mesh.Policies {
			if p.Key.Namespace == name {
				pols = append(pols, p)
			}
		}
		d.section(fmt.Sprintf("Policies in the namespace (%d)", len(pols)))
		if len(pols) == 0 {
			d.text("none", theme.ToneDim)
		}
		for _, p := range pols {
			d.kv(kindShort(p.Kind), p.Key.Name+": "+policySummary(p)+" ("+p.Target+")", policyTone(p))
		}
		d.addFindings(matching(s.Findings, func(f finding.Finding) bool { return findings.About(f, name) }))
		return "Namespace " + name, d
	})
}

// ForWaypoint is the detail of a waypoint Gateway: traffic type, status,
// pods, and what is bound to it.
func ForWaypoint(s *kube.Snapshot, k ambient.Key, t *theme.Theme) Model {
	return newModel(s, t, func(s *kube.Snapshot) (string, doc) {
		w, ok := s.Mesh.Waypoint(k)
		if !ok {
			return missing("Waypoint", k.String())
		}
		var d doc
		d.kv("for", w.For, theme.ToneAccent)
		d.kv("class", orNone(w.Class), theme.ToneNormal)
		if w.Revision != "" {
			d.kv("revision", w.Revision, theme.ToneNormal)
		}
		prog, tone := "True", theme.ToneGood
		if !w.Programmed {
			prog, tone = "False", theme.ToneBad
		}
		if w.ProgrammedMsg != "" {
			prog += ": " + w.ProgrammedMsg
		}
		d.kv("programmed", prog, tone)
		addr, aTone := "yes", theme.ToneNormal
		if !w.Addressed {
			addr, aTone = "no: istiod binds nothing to it until it has status.addresses", theme.ToneWarn
		}
		d.kv("addressed", addr, aTone)
		pTone := theme.ToneGood
		if w.Ready == 0 {
			pTone = theme.ToneBad
		} else if w.Ready < w.Replicas {
			pTone = theme.ToneWarn
		}
		d.kv("pods ready", fmt.Sprintf("%d/%d", w.Ready, w.Replicas), pTone)
		if w.AllowedFrom != "" {
			d.kv("allowed from", w.AllowedFrom, theme.ToneNormal)
		}
		d.addConditions(w.Conditions)

		d.section(fmt.Sprintf("Bound Services (%d)", len(w.Services)))
		keys(&d, w.Services)
		d.section(fmt.Sprintf("Bound workloads (%d)", len(w.Workloads)))
		keys(&d, w.Workloads)
		if len(w.ServiceEntries) > 0 {
			d.section(fmt.Sprintf("Bound ServiceEntries (%d)", len(w.ServiceEntries)))
			keys(&d, w.ServiceEntries)
		}
		if len(w.WorkloadEntries) > 0 {
			d.section(fmt.Sprintf("Bound WorkloadEntries (%d)", len(w.WorkloadEntries)))
			keys(&d, w.WorkloadEntries)
		}
		if len(w.Namespaces) > 0 {
			d.section(fmt.Sprintf("Namespaces using it (%d)", len(w.Namespaces)))
			for _, n := range w.Namespaces {
				d.text(n, theme.ToneNormal)
			}
		}
		var pols []string
		for _, p := range s.Mesh.Policies {
			for _, b := range p.BoundTo {
				if b == k.String() {
					pols = append(pols, kindShort(p.Kind)+" "+p.Key.String()+": "+policySummary(p))
				}
			}
		}
		d.section(fmt.Sprintf("Policies it enforces (%d)", len(pols)))
		if len(pols) == 0 {
			d.text("none", theme.ToneDim)
		}
		for _, p := range pols {
			d.text(p, theme.ToneAccent)
		}
		d.addFindings(matching(s.Findings, func(f finding.Finding) bool {
			return f.Object.Kind == "Gateway" && f.Object.Namespace == k.Namespace && f.Object.Name == k.Name
		}))
		return "Waypoint " + k.String(), d
	})
}

func keys(d *doc, ks []ambient.Key) {
	if len(ks) == 0 {
		d.text("none", theme.ToneDim)
		return
	}
	for _, k := range ks {
		d.text(k.String(), theme.ToneNormal)
	}
}

// ForPolicy is the detail of an AuthorizationPolicy, PeerAuthentication or
// RequestAuthentication: target, action, where it is enforced, at which
// layer, what Istio will actually do, and istiod's conditions.
func ForPolicy(s *kube.Snapshot, kind string, k ambient.Key, t *theme.Theme) Model {
	return newModel(s, t, func(s *kube.Snapshot) (string, doc) {
		p, ok := s.Mesh.Policy(kind, k)
		if !ok {
			return missing(kind, k.String())
		}
		var d doc
		d.kv("target", orNone(p.Target), theme.ToneNormal)
		d.kv("action", orNone(p.Action), theme.ToneNormal)
		enfTone := theme.ToneInfo
		switch p.EnforcedBy {
		case ambient.EnforcedByWaypoint:
			enfTone = theme.ToneAccent
		case ambient.EnforcedByNone:
			enfTone = theme.ToneBad
		}
		d.kv("enforced by", string(p.EnforcedBy), enfTone)
		layerTone := theme.ToneNormal
		if p.Layer == ambient.L7 {
			layerTone = theme.ToneAccent
		}
		d.kv("layer", string(p.Layer), layerTone)
		if len(p.L7Fields) > 0 {
			d.kv("L7 fields", strings.Join(p.L7Fields, ", "), theme.ToneAccent)
		}
		if p.Effect != "" {
			d.kv("effect", p.Effect, theme.ToneWarn)
		} else {
			d.kv("effect", "as written", theme.ToneGood)
		}
		gw := ""
		if p.SelectedGateway > 0 {
			gw = fmt.Sprintf(", %d ingress gateway", p.SelectedGateway)
		}
		if n := p.SelectedAmbient + p.SelectedUncaptured + p.SelectedSidecar + p.SelectedGateway + p.SelectedOther; n > 0 || len(p.BoundTo) == 0 {
			if p.SelectedUncaptured > 0 {
				d.kv("selects", fmt.Sprintf("%d captured, %d not captured (unprotected), %d sidecar%s, %d other pods", p.SelectedAmbient, p.SelectedUncaptured, p.SelectedSidecar, gw, p.SelectedOther), theme.ToneWarn)
			} else {
				d.kv("selects", fmt.Sprintf("%d ambient, %d sidecar%s, %d other pods", p.SelectedAmbient, p.SelectedSidecar, gw, p.SelectedOther), theme.ToneNormal)
			}
		}
		if len(p.BoundTo) > 0 {
			d.kv("bound to", strings.Join(p.BoundTo, "\n"), theme.ToneAccent)
		}
		d.addConditions(p.Conditions)
		d.addFindings(matching(s.Findings, func(f finding.Finding) bool {
			return f.Object.Kind == kind && f.Object.Namespace == k.Namespace && f.Object.Name == k.Name
		}))
		return kind + " " + k.String(), d
	})
}
