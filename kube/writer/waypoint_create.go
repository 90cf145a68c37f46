package writer

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	"sigs.k8s.io/yaml"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/whatif"
)

// DefaultWaypointName is the name istioctl waypoint apply gives a waypoint
// when none is asked for.
const DefaultWaypointName = "waypoint"

// WaypointTraffic are the values of istio.io/waypoint-for, in the order the
// create dialog offers them; "" leaves the label off, so the GatewayClass's
// own label (else service) decides, as istioctl does without --for.
var WaypointTraffic = []string{"", ambient.TrafficService, ambient.TrafficWorkload, ambient.TrafficAll, ambient.TrafficNone}

// NewWaypoint is what the create dialog asks for: istioctl waypoint apply
// -n Namespace --name Name [--for For] [--enroll-namespace].
type NewWaypoint struct {
	Namespace, Name string
	For             string
	// EnrollNamespace labels the namespace istio.io/use-waypoint=Name, so
	// its Services (and, for workload waypoints, pods) use it.
	EnrollNamespace bool
	// Revision is the Gateway's own istio.io/rev (istioctl's --revision):
	// the control plane that programs it. "" leaves it to the namespace's
	// istio.io/rev, else the default revision (tag_watcher.go IsMine).
	Revision string
}

// WaypointGateway is the Gateway istioctl waypoint apply writes for spec:
// class istio-waypoint, one HBONE listener on 15008 named mesh, and
// istio.io/waypoint-for only when a traffic type was chosen.
func WaypointGateway(spec NewWaypoint) *gwv1.Gateway {
	gw := &gwv1.Gateway{
		TypeMeta:   metav1.TypeMeta{APIVersion: gwv1.GroupVersion.String(), Kind: "Gateway"},
		ObjectMeta: metav1.ObjectMeta{Namespace: spec.Namespace, Name: spec.Name},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: ambient.WaypointGatewayClass,
			Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
		},
	}
	if spec.For != "" {
		gw.Labels = map[string]string{ambient.LabelWaypointFor: spec.For}
	}
	if spec.Revision != "" {
		if gw.Labels == nil {
			gw.Labels = map[string]string{}
		}
		gw.Labels[ambient.LabelRev] = spec.Revision
	}
	return gw
}

// CreateWaypoint plans creating a waypoint and, with EnrollNamespace,
// then labelling its namespace to use it. The Gateway is created, never
// applied over an existing one.
func (w *Writer) CreateWaypoint(spec NewWaypoint, s *kube.Snapshot) (Plan, error) {
	if err := w.usable(); err != nil {
		return Plan{}, err
	}
	if spec.Name == "" {
		spec.Name = DefaultWaypointName
	}
	if errs := validation.IsDNS1123Label(spec.Namespace); len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("namespace %q is not a namespace name: %s", spec.Namespace, errs[0])}
	}
	// istiod names the waypoint's Deployment, Service and ServiceAccount
	// after the Gateway and Services bind to it by a label value, so the
	// name must be a DNS label, which is also a valid label value.
	if errs := validation.IsDNS1123Label(spec.Name); len(errs) > 0 {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("waypoint name %q is not valid: %s", spec.Name, errs[0])}
	}
	if spec.Name == NoWaypoint.Name {
		return Plan{}, &Error{Kind: KindInvalid, Line: `waypoint name "none" is reserved: istio.io/use-waypoint=none opts out of waypoints`}
	}
	known := false
	for _, t := range WaypointTraffic {
		known = known || t == spec.For
	}
	if !known {
		return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("waypoint-for %q is not one of service, workload, all, none", spec.For)}
	}
	if spec.Revision != "" {
		if errs := validation.IsValidLabelValue(spec.Revision); len(errs) > 0 {
			return Plan{}, &Error{Kind: KindInvalid, Line: fmt.Sprintf("revision %q is not a label value: %s", spec.Revision, errs[0])}
		}
	}
	v := newView(s)
	ns := v.namespace(spec.Namespace)
	if s != nil && ns == nil && s.State(kube.ResNamespaces).Availability == kube.Available {
		return Plan{}, &Error{Kind: KindNotFound, Line: "namespace " + spec.Namespace + " does not exist"}
	}
	key := ambient.Key{Namespace: spec.Namespace, Name: spec.Name}
	for _, g := range v.c.Gateways {
		if g != nil && g.Namespace == key.Namespace && g.Name == key.Name {
			return Plan{}, &Error{Kind: KindConflict, Line: "Gateway " + key.String() + " already exists"}
		}
	}

	gw := WaypointGateway(spec)
	body, err := yaml.Marshal(gw)
	if err != nil {
		return Plan{}, &Error{Kind: KindOther, Line: "cannot write the Gateway: " + err.Error(), Err: err}
	}
	ref := finding.Ref{Kind: KindGateway, Namespace: key.Namespace, Name: key.Name}
	p := Plan{
		ID:         planID("create-waypoint", ref, ""),
		Title:      "Create waypoint " + key.String(),
		Patch:      strings.TrimRight(string(body), "\n"),
		PatchLabel: "Gateway to create",
		Target:     ref,
		Targets:    []finding.Ref{ref},
		steps:      []step{createStep(ref, gw)},
		Done:       "waypoint " + key.String() + " created",
	}
	p.Description = "Creates Gateway " + key.String() + " of class istio-waypoint, as istioctl waypoint apply -n " + key.Namespace + " --name " + key.Name
	if spec.For != "" {
		p.Description += " --for " + spec.For
	}
	if spec.EnrollNamespace {
		p.Description += " --enroll-namespace"
	}
	if spec.Revision != "" {
		p.Description += " --revision " + spec.Revision
	}
	p.Description += " does."
	p.Consequences = v.createWaypoint(spec, gw, ns)
	// The what-if sees the waypoint as istiod will leave it: addressed.
	sim := []whatif.Change{whatif.AddGateway(ready(gw))}

	if spec.EnrollNamespace {
		if ns == nil {
			return Plan{}, &Error{Kind: KindNotFound, Line: "namespace " + spec.Namespace + " is not in the snapshot: cannot plan its label"}
		}
		changes := []labelChange{{Key: ambient.LabelUseWaypoint, Value: spec.Name}, {Key: ambient.LabelUseWaypointNS, Remove: true}}
		nsBody, err := labelPatch(ns, changes...)
		switch {
		case err == errNoChange:
			p.Consequences = append(p.Consequences, "Namespace "+ns.Name+" already asks for "+spec.Name+": its label stays as it is.")
		case err != nil:
			return Plan{}, planError(err, "namespace "+ns.Name)
		default:
			nsRef := finding.Ref{Kind: KindNamespace, Name: ns.Name}
			p.ID = planID("create-waypoint", ref, ns.ResourceVersion)
			p.Targets = append(p.Targets, nsRef)
			p.steps = append(p.steps, newStep(nsRef, types.JSONPatchType, nsBody))
			p.Patch += "\n\n# then namespace " + ns.Name + ", JSON patch:\n" + string(nsBody)
			p.PatchLabel = "Gateway to create, then the namespace's patch"
			p.Done = "waypoint " + key.String() + " created and namespace " + ns.Name + " labelled istio.io/use-waypoint=" + spec.Name
			p.Consequences = append(p.Consequences, v.enrollWithWaypoint(ns, gw, changes)...)
			sim = append(sim, labelsChange(nsRef, changes))
		}
	}
	p.whatIf = whatIf(s, sim...)
	return p, nil
}

// ready is the Gateway as istiod leaves it once programmed: addressed.
func ready(gw *gwv1.Gateway) *gwv1.Gateway {
	r := gw.DeepCopy()
	r.Status.Addresses = []gwv1.GatewayStatusAddress{{Value: gw.Name + "." + gw.Namespace + ".svc.cluster.local"}}
	r.Status.Conditions = []metav1.Condition{{Type: string(gwv1.GatewayConditionProgrammed), Status: metav1.ConditionTrue, Reason: "Programmed"}}
	return r
}

// createStep is the POST of a Gateway.
func createStep(ref finding.Ref, gw *gwv1.Gateway) step {
	g, r := resourceOf(ref.Kind)
	return step{
		target:   ref,
		resource: Access{Verb: "create", Group: g, Resource: r, Namespace: ref.Namespace},
		gateway:  gw,
	}
}

// createWaypoint says what creating the Gateway sets in motion, and what
// in the snapshot says it will not happen.
func (v view) createWaypoint(spec NewWaypoint, gw *gwv1.Gateway, ns *corev1.Namespace) []string {
	out := []string{"istiod deploys it (a Deployment, Service and ServiceAccount named " + gw.Name + " in " + gw.Namespace +
		", removed with the Gateway) and sets Programmed=True once a waypoint pod is ready; ambx follows that here."}
	class := false
	classFor := ""
	for _, c := range v.c.GatewayClasses {
		if c != nil && c.Name == ambient.WaypointGatewayClass {
			class, classFor = true, c.Labels[ambient.LabelWaypointFor]
		}
	}
	if !class && v.classesRead {
		out = append(out, "No GatewayClass istio-waypoint exists: istiod creates it when ambient waypoints are on (PILOT_ENABLE_AMBIENT_WAYPOINTS); until then nothing programs this Gateway.")
	}
	if in := v.c.Install; in.Discovered && !in.DeploymentsUnread && !in.Loading {
		if _, ok := in.Found(install.Istiod); !ok {
			out = append(out, "No istiod was found in the cluster: the Gateway will wait for a controller (Programmed=Unknown, Waiting for controller).")
		}
	}
	traffic := spec.For
	if traffic == "" {
		traffic = classFor
		if traffic == "" {
			traffic = ambient.TrafficService
		}
	}
	switch traffic {
	case ambient.TrafficService:
		out = append(out, "It takes traffic sent to Services (istio.io/waypoint-for="+traffic+"): pods bound to it directly are refused.")
	case ambient.TrafficWorkload:
		out = append(out, "It takes traffic sent to pods directly (istio.io/waypoint-for=workload): Services bound to it are refused (UnsupportedTrafficType).")
	case ambient.TrafficAll:
		out = append(out, "It takes traffic sent to Services and to pods (istio.io/waypoint-for=all).")
	case ambient.TrafficNone:
		out = append(out, "It takes no traffic (istio.io/waypoint-for=none): everything bound to it is refused.")
	}
	switch {
	case spec.Revision != "":
		out = append(out, v.revisionNote(spec.Revision))
	case ns != nil && ns.Labels[ambient.LabelRev] != "":
		out = append(out, "Namespace "+ns.Name+" is labelled istio.io/rev="+ns.Labels[ambient.LabelRev]+": that revision's istiod programs the waypoint.")
	}
	if !spec.EnrollNamespace {
		out = append(out, "Nothing uses it until a namespace, Service or pod is labelled istio.io/use-waypoint="+gw.Name+" (W).")
	}
	return out
}

// revisionNote says which istiod the Gateway's own istio.io/rev picks, and
// when the installation knows no such revision or tag.
func (v view) revisionNote(rev string) string {
	line := "The Gateway is labelled istio.io/rev=" + rev + ": "
	in := v.c.Install
	for _, t := range in.Tags {
		if t.Name == rev {
			return line + "tag " + rev + " points at revision " + t.Revision + ", whose istiod programs it."
		}
	}
	for _, c := range in.Components {
		if c.Kind == install.Istiod && c.Revision == rev {
			return line + "istiod " + c.Namespace + "/" + c.Name + " programs it."
		}
	}
	if in.Discovered && !in.DeploymentsUnread && !in.Loading {
		return line + "no istiod revision or tag of that name was found, so no control plane programs it (Programmed stays Unknown)."
	}
	return line + "that revision's istiod programs it."
}

// enrollWithWaypoint says what the namespace label does once the waypoint
// is ready, and meanwhile: the analysis runs on the cluster with the new
// Gateway as istiod will leave it (addressed, programmed).
func (v view) enrollWithWaypoint(ns *corev1.Namespace, gw *gwv1.Gateway, changes []labelChange) []string {
	var out []string
	if old := ns.Labels[ambient.LabelUseWaypoint]; old != "" {
		w := old
		if other := ns.Labels[ambient.LabelUseWaypointNS]; other != "" {
			w = other + "/" + old
		}
		out = append(out, "Namespace "+ns.Name+" now asks for "+w+": the label is replaced (istioctl asks for --overwrite).")
	}
	if ns.Labels[ambient.LabelDataplaneMode] != modeAmbient {
		out = append(out, "Namespace "+ns.Name+" is not enrolled in ambient (istio.io/dataplane-mode=ambient): only captured clients send traffic through waypoints.")
	}
	c := v.c
	c.Gateways = append(append([]*gwv1.Gateway(nil), v.c.Gateways...), ready(gw))
	once := view{c: c, mesh: ambient.Analyze(&c)}
	lines, gained := once.rebindNamespace(ns, changes)
	out = append(out, lines...)
	if gained > 0 {
		out = append(out, "Until istiod programs it, istiod refuses the binding (WaypointIsNotReady) and ztunnel sends that traffic straight to the pods: its L7 policy is skipped.")
	}
	return out
}
