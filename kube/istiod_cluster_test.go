package kube_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	metaapi "istio.io/api/meta/v1alpha1"
	netapi "istio.io/api/networking/v1"
	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/kubeenv"
)

// These tests run the real istiod (pilot-discovery in ambient mode, with
// kube-controller-manager and kube-scheduler so that the waypoint
// Deployments it renders get pods and their Services endpoints) and check
// ambx's analysis against every status condition istiod writes, object by
// object. The cases name what istiod is expected to write so that the wait
// knows when istiod is done; the comparison is then between what istiod
// actually wrote and what ambx derives through kube.Source.
//
// Where istiod's status is known to disagree with what its enforcement
// code does, a case carries a quirk: the test says so and holds ambx to
// the enforcement, not to the status text.

// istiodTimeout bounds waiting for istiod: waypoint pods must be
// scheduled, run by kwok and become endpoints before a waypoint gets an
// address, and the machine may be busy.
const istiodTimeout = 4 * time.Minute

// An objectCase is one object whose istiod status ambx must agree with.
type objectCase struct {
	name string
	want kubeenv.StatusWant
	// quirk, when set, says where istiod's status departs from what Istio
	// enforces; check then holds ambx to the enforcement.
	quirk string
	// check adds what ambx must say beyond agreeing with the condition
	// (or, with a quirk, instead of it); "" when satisfied.
	check func(s *kube.Snapshot) string
}

// waypointGateway is a Gateway as `istioctl waypoint apply` writes it.
func waypointGateway(ns, name, class string, labels map[string]string, from *gwv1.AllowedRoutes) *gwv1.Gateway {
	if class == "" {
		class = ambient.WaypointGatewayClass
	}
	l := map[string]string{}
	for k, v := range labels {
		l[k] = v
	}
	return &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: l},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: gwv1.ObjectName(class),
			Listeners: []gwv1.Listener{{
				Name: "mesh", Port: 15008, Protocol: "HBONE", AllowedRoutes: from,
			}},
		},
	}
}

func allowFrom(from gwv1.FromNamespaces, sel map[string]string) *gwv1.AllowedRoutes {
	ar := &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: ptr.To(from)}}
	if sel != nil {
		ar.Namespaces.Selector = &metav1.LabelSelector{MatchLabels: sel}
	}
	return ar
}

func clusterIPService(ns, name string, labels map[string]string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": name},
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
}

func boundTo(wp string) kubeenv.StatusWant {
	return kubeenv.StatusWant{Type: ambient.ConditionWaypointBound, Status: "True", Reason: "WaypointAccepted", Namespace: wp}
}

func notBound(reason string) kubeenv.StatusWant {
	return kubeenv.StatusWant{Type: ambient.ConditionWaypointBound, Status: "False", Reason: reason}
}

func noBinding() kubeenv.StatusWant {
	return kubeenv.StatusWant{Type: ambient.ConditionWaypointBound, Absent: true}
}

// serviceCase is a Service whose WaypointBound condition ambx must agree
// with. want.Namespace, when set by boundTo, carries the waypoint the
// message must name.
func serviceCase(name string, svc *corev1.Service, want kubeenv.StatusWant) (objectCase, *corev1.Service) {
	wp := want.Namespace
	want.Kind, want.Namespace, want.Name = kubeenv.KindService, svc.Namespace, svc.Name
	c := objectCase{name: name, want: want}
	if wp != "" {
		c.check = func(s *kube.Snapshot) string {
			b := s.Mesh.Services[ambient.Key{Namespace: svc.Namespace, Name: svc.Name}].Waypoint
			if b.Waypoint.String() != wp {
				return fmt.Sprintf("ambx binds it to %q, want %s", b.Waypoint, wp)
			}
			return ""
		}
	}
	return c, svc
}

// The binding fixture: namespaces, waypoints and Services covering how a
// Service chooses a waypoint and each way that choice can fail.
type bindingFixture struct {
	namespaces []*corev1.Namespace
	classes    []*gwv1.GatewayClass
	gateways   []*gwv1.Gateway
	configMaps []*corev1.ConfigMap
	services   []*corev1.Service
	entries    []*netv1.ServiceEntry
	workloads  []*netv1.WorkloadEntry
	policies   []*secv1.AuthorizationPolicy
	cases      []objectCase
}

func (f *bindingFixture) ns(name string, labels map[string]string) {
	l := map[string]string{ambient.LabelDataplaneMode: "ambient"}
	for k, v := range labels {
		l[k] = v
	}
	f.namespaces = append(f.namespaces, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}})
}

func (f *bindingFixture) service(name string, svc *corev1.Service, want kubeenv.StatusWant) {
	c, s := serviceCase(name, svc, want)
	f.cases = append(f.cases, c)
	f.services = append(f.services, s)
}

// serviceEntry adds a ServiceEntry for an external host and what istiod
// writes on it; want.Namespace, when set by boundTo, is the waypoint.
func (f *bindingFixture) serviceEntry(name string, se *netv1.ServiceEntry, want kubeenv.StatusWant) {
	f.entries = append(f.entries, se)
	f.cases = append(f.cases, entryCase(name, kubeenv.KindServiceEntry, se.Namespace, se.Name, want))
}

// workloadEntry adds a WorkloadEntry and what istiod (1.30+) writes on it.
func (f *bindingFixture) workloadEntry(name string, we *netv1.WorkloadEntry, want kubeenv.StatusWant) {
	f.workloads = append(f.workloads, we)
	f.cases = append(f.cases, entryCase(name, kubeenv.KindWorkloadEntry, we.Namespace, we.Name, want))
}

func entryCase(name, kind, ns, obj string, want kubeenv.StatusWant) objectCase {
	wp := want.Namespace
	want.Kind, want.Namespace, want.Name = kind, ns, obj
	c := objectCase{name: name, want: want}
	if wp != "" {
		c.check = func(s *kube.Snapshot) string {
			if b := bindingOf(s, kind, ambient.Key{Namespace: ns, Name: obj}); b.Waypoint.String() != wp {
				return fmt.Sprintf("ambx binds it to %q, want %s", b.Waypoint, wp)
			}
			return ""
		}
	}
	return c
}

// entryCase adds one more condition to check on an entry already added.
func (f *bindingFixture) entryCase(name, kind, ns, obj string, want kubeenv.StatusWant) {
	f.cases = append(f.cases, entryCase(name, kind, ns, obj, want))
}

// missingWaypoint is istiod's WaypointMissing condition with a reason.
func missingWaypoint(reason string) kubeenv.StatusWant {
	return kubeenv.StatusWant{Type: ambient.ConditionWaypointMissing, Status: "True", Reason: reason}
}

// agreesOnMissing compares ambx's WaypointMissing with istiod's, reason
// and message.
func agreesOnMissing(m *ambient.WaypointMissing, c kubeenv.Condition, written bool) string {
	switch {
	case !written && m != nil:
		return fmt.Sprintf("ambx says WaypointMissing %s: %s", m.Reason, m.Message)
	case written && m == nil:
		return "ambx says no WaypointMissing"
	case written && (c.Status != "True" || c.Reason != m.Reason || c.Message != m.Message):
		return fmt.Sprintf("ambx says %s: %s", m.Reason, m.Message)
	}
	return ""
}

// bindingOf is ambx's binding of a Service, ServiceEntry or WorkloadEntry.
func bindingOf(s *kube.Snapshot, kind string, k ambient.Key) ambient.WaypointBinding {
	switch kind {
	case kubeenv.KindServiceEntry:
		return s.Mesh.ServiceEntries[k].Waypoint
	case kubeenv.KindWorkloadEntry:
		return s.Mesh.WorkloadEntries[k].Waypoint
	}
	return s.Mesh.Services[k].Waypoint
}

func externalEntry(ns, name string, labels map[string]string) *netv1.ServiceEntry {
	return &netv1.ServiceEntry{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: netapi.ServiceEntry{
			Hosts:      []string{name + ".example.com"},
			Ports:      []*netapi.ServicePort{{Number: 443, Name: "tls", Protocol: "TLS"}},
			Resolution: netapi.ServiceEntry_DNS,
			Location:   netapi.ServiceEntry_MESH_EXTERNAL,
		},
	}
}

func vmEntry(ns, name string, labels, specLabels map[string]string) *netv1.WorkloadEntry {
	return &netv1.WorkloadEntry{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec:       netapi.WorkloadEntry{Address: "10.200.0.7", Labels: specLabels, ServiceAccount: "vm"},
	}
}

// readyWaypoint is a waypoint istiod must deploy and address.
func (f *bindingFixture) readyWaypoint(gw *gwv1.Gateway) {
	f.gateways = append(f.gateways, gw)
	f.cases = append(f.cases, waypointCase(gw.Namespace, gw.Name))
}

// waypointCase is a waypoint istiod must program, whose pods the real
// controllers make from istiod's Deployment.
func waypointCase(ns, name string) objectCase {
	return objectCase{
		name: "waypoint " + ns + "/" + name + " is programmed with an address",
		want: kubeenv.StatusWant{Kind: kubeenv.KindGateway, Namespace: ns, Name: name,
			Type: string(gwv1.GatewayConditionProgrammed), Status: "True"},
		check: func(s *kube.Snapshot) string { return waypointPodsFromControllers(s, ns, name) },
	}
}

// waypointPodsFromControllers says what is wrong with a waypoint's pods:
// they must exist, be made by a ReplicaSet (so by the controller-manager
// from istiod's Deployment, not by the test) and be counted ready by ambx.
func waypointPodsFromControllers(s *kube.Snapshot, ns, name string) string {
	wi, ok := s.Mesh.Waypoint(ambient.Key{Namespace: ns, Name: name})
	if !ok {
		return "ambx does not list it as a waypoint"
	}
	var pods int
	for _, p := range s.Pods {
		if p.Namespace != ns || p.Labels[ambient.LabelGatewayName] != name {
			continue
		}
		pods++
		owner := metav1.GetControllerOf(p)
		if owner == nil || owner.Kind != "ReplicaSet" {
			return fmt.Sprintf("waypoint pod %s is not owned by a ReplicaSet (%v)", p.Name, owner)
		}
	}
	if pods == 0 || wi.Replicas != pods || wi.Ready == 0 {
		return fmt.Sprintf("%d waypoint pods in the cluster; ambx counts %d, %d ready", pods, wi.Replicas, wi.Ready)
	}
	return ""
}

func bindingCases() *bindingFixture {
	f := &bindingFixture{}
	svcLabel := func(wp string, extra ...string) map[string]string {
		l := map[string]string{ambient.LabelUseWaypoint: wp}
		for i := 0; i+1 < len(extra); i += 2 {
			l[extra[i]] = extra[i+1]
		}
		return l
	}

	// A namespace label binds every Service in it; a Service label wins
	// over it, and none opts one Service out.
	f.ns("wb-ns", map[string]string{ambient.LabelUseWaypoint: "waypoint"})
	f.readyWaypoint(waypointGateway("wb-ns", "waypoint", "", nil, nil))
	f.readyWaypoint(waypointGateway("wb-ns", "other", "", nil, nil))
	f.service("namespace label binds a Service", clusterIPService("wb-ns", "by-namespace", nil), boundTo("wb-ns/waypoint"))
	f.service("Service label wins over the namespace label", clusterIPService("wb-ns", "by-service", svcLabel("other")), boundTo("wb-ns/other"))
	f.service("use-waypoint=none opts a Service out of its namespace's waypoint", clusterIPService("wb-ns", "opted-out", svcLabel("none")), noBinding())

	// Service labels in a namespace without one; waypoint-for decides which
	// traffic a waypoint takes, the Gateway's label over its class's.
	f.ns("wb-svc", nil)
	f.readyWaypoint(waypointGateway("wb-svc", "waypoint", "", nil, nil))
	f.readyWaypoint(waypointGateway("wb-svc", "for-workload", "", map[string]string{ambient.LabelWaypointFor: ambient.TrafficWorkload}, nil))
	f.readyWaypoint(waypointGateway("wb-svc", "for-all", "", map[string]string{ambient.LabelWaypointFor: ambient.TrafficAll}, nil))
	f.readyWaypoint(waypointGateway("wb-svc", "for-none", "", map[string]string{ambient.LabelWaypointFor: ambient.TrafficNone}, nil))
	f.service("Service label binds", clusterIPService("wb-svc", "labelled", svcLabel("waypoint")), boundTo("wb-svc/waypoint"))
	f.service("no label, no binding", clusterIPService("wb-svc", "plain", nil), noBinding())
	f.service("waypoint-for=workload refuses a Service", clusterIPService("wb-svc", "to-workload-waypoint", svcLabel("for-workload")), notBound(ambient.ReasonUnsupportedTrafficType))
	f.service("waypoint-for=all takes a Service", clusterIPService("wb-svc", "to-all-waypoint", svcLabel("for-all")), boundTo("wb-svc/for-all"))
	f.service("waypoint-for=none refuses a Service", clusterIPService("wb-svc", "to-none-waypoint", svcLabel("for-none")), notBound(ambient.ReasonUnsupportedTrafficType))
	f.service("a waypoint that does not exist is not ready", clusterIPService("wb-svc", "to-missing", svcLabel("ghost")), notBound(ambient.ReasonWaypointNotReady))
	headless := clusterIPService("wb-svc", "headless", svcLabel("waypoint"))
	headless.Spec.ClusterIP = corev1.ClusterIPNone
	f.service("a headless Service binds like any other", headless, boundTo("wb-svc/waypoint"))
	external := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "wb-svc", Name: "external", Labels: svcLabel("waypoint")},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "example.com"},
	}
	f.service("istiod leaves ExternalName Services out of ambient: no binding", external, noBinding())

	// A GatewayClass's waypoint-for label is the default for its Gateways.
	f.classes = append(f.classes, &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "ambx-workload-waypoint", Labels: map[string]string{ambient.LabelWaypointFor: ambient.TrafficWorkload}},
		Spec:       gwv1.GatewayClassSpec{ControllerName: ambient.MeshController},
	})
	f.readyWaypoint(waypointGateway("wb-svc", "class-default", "ambx-workload-waypoint", nil, nil))
	f.readyWaypoint(waypointGateway("wb-svc", "class-overridden", "ambx-workload-waypoint", map[string]string{ambient.LabelWaypointFor: ambient.TrafficService}, nil))
	f.service("the GatewayClass's waypoint-for=workload refuses a Service", clusterIPService("wb-svc", "to-class-default", svcLabel("class-default")), notBound(ambient.ReasonUnsupportedTrafficType))
	f.service("the Gateway's waypoint-for label wins over its class's", clusterIPService("wb-svc", "to-class-overridden", svcLabel("class-overridden")), boundTo("wb-svc/class-overridden"))

	// A waypoint whose pods never run: its Deployment asks for a node that
	// does not exist, so its Service has no endpoints and istiod gives it
	// no address.
	f.configMaps = append(f.configMaps, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: "wb-svc", Name: "unschedulable"},
		Data:       map[string]string{"deployment": "spec:\n  template:\n    spec:\n      nodeSelector:\n        ambx.test/nowhere: \"true\"\n"},
	})
	stuck := waypointGateway("wb-svc", "no-pods", "", nil, nil)
	stuck.Spec.Infrastructure = &gwv1.GatewayInfrastructure{ParametersRef: &gwv1.LocalParametersReference{Kind: "ConfigMap", Name: "unschedulable"}}
	f.gateways = append(f.gateways, stuck)
	f.service("a waypoint with no ready pods is not ready", clusterIPService("wb-svc", "to-no-pods", svcLabel("no-pods")), notBound(ambient.ReasonWaypointNotReady))

	// A waypoint of another revision: this istiod neither deploys nor
	// addresses it.
	f.gateways = append(f.gateways, waypointGateway("wb-svc", "canary", "", map[string]string{ambient.LabelRev: "canary"}, nil))
	f.service("a waypoint of another revision is not ready for this istiod", clusterIPService("wb-svc", "to-canary", svcLabel("canary")), notBound(ambient.ReasonWaypointNotReady))

	// Cross-namespace waypoints and the listener's allowedRoutes.
	f.ns("wb-shared", nil)
	f.ns("wb-client", map[string]string{"team": "a"})
	f.ns("wb-stranger", nil)
	f.readyWaypoint(waypointGateway("wb-shared", "open", "", nil, allowFrom(gwv1.NamespacesFromAll, nil)))
	f.readyWaypoint(waypointGateway("wb-shared", "private", "", nil, nil))
	f.readyWaypoint(waypointGateway("wb-shared", "same", "", nil, allowFrom(gwv1.NamespacesFromSame, nil)))
	f.readyWaypoint(waypointGateway("wb-shared", "team-a", "", nil, allowFrom(gwv1.NamespacesFromSelector, map[string]string{"team": "a"})))
	other := func(wp string) map[string]string { return svcLabel(wp, ambient.LabelUseWaypointNS, "wb-shared") }
	f.service("allowedRoutes All admits another namespace", clusterIPService("wb-client", "to-open", other("open")), boundTo("wb-shared/open"))
	f.service("no allowedRoutes means Same: another namespace is denied", clusterIPService("wb-client", "to-private", other("private")), notBound(ambient.ReasonAttachmentDenied))
	f.service("allowedRoutes Same denies another namespace", clusterIPService("wb-client", "to-same", other("same")), notBound(ambient.ReasonAttachmentDenied))
	f.service("allowedRoutes Selector admits a matching namespace", clusterIPService("wb-client", "to-team-a", other("team-a")), boundTo("wb-shared/team-a"))
	f.service("allowedRoutes Selector denies a namespace that does not match", clusterIPService("wb-stranger", "to-team-a", other("team-a")), notBound(ambient.ReasonAttachmentDenied))
	f.service("a Service without a label in a namespace without one", clusterIPService("wb-client", "plain", nil), noBinding())
	entryCases(f, svcLabel)
	return f
}

// entryCases bind ServiceEntries (service traffic) and WorkloadEntries
// (workload traffic), reusing the waypoints above.
func entryCases(f *bindingFixture, lbl func(string, ...string) map[string]string) {
	f.serviceEntry("a ServiceEntry label binds", externalEntry("wb-svc", "se-labelled", lbl("waypoint")), boundTo("wb-svc/waypoint"))
	f.serviceEntry("a ServiceEntry label with ingress-use-waypoint binds", externalEntry("wb-svc", "se-ingress", lbl("waypoint", ambient.LabelIngressUseWaypoint, "true")), boundTo("wb-svc/waypoint"))
	f.serviceEntry("a ServiceEntry without a label is not bound", externalEntry("wb-svc", "se-plain", nil), noBinding())
	f.serviceEntry("the namespace label binds a ServiceEntry", externalEntry("wb-ns", "se-by-namespace", nil), boundTo("wb-ns/waypoint"))
	f.serviceEntry("none opts a ServiceEntry out of its namespace's waypoint", externalEntry("wb-ns", "se-opted-out", lbl("none")), noBinding())
	f.serviceEntry("a ServiceEntry naming a missing waypoint is not ready", externalEntry("wb-svc", "se-to-missing", lbl("ghost")), notBound(ambient.ReasonWaypointNotReady))
	f.serviceEntry("waypoint-for=workload refuses a ServiceEntry", externalEntry("wb-svc", "se-to-workload", lbl("for-workload")), notBound(ambient.ReasonUnsupportedTrafficType))
	f.serviceEntry("waypoint-for=all takes a ServiceEntry", externalEntry("wb-svc", "se-to-all", lbl("for-all")), boundTo("wb-svc/for-all"))
	f.serviceEntry("allowedRoutes All admits a ServiceEntry from another namespace", externalEntry("wb-client", "se-to-open", lbl("open", ambient.LabelUseWaypointNS, "wb-shared")), boundTo("wb-shared/open"))
	f.serviceEntry("no allowedRoutes denies a ServiceEntry from another namespace", externalEntry("wb-client", "se-to-private", lbl("private", ambient.LabelUseWaypointNS, "wb-shared")), notBound(ambient.ReasonAttachmentDenied))
	f.serviceEntry("waypoint-for=none refuses a ServiceEntry", externalEntry("wb-svc", "se-to-none", lbl("for-none")), notBound(ambient.ReasonUnsupportedTrafficType))

	// WaypointMissing (1.28+ wildcard, 1.30+ racing connect strategy): ambx
	// must write the same reason and message, and none on a bound entry.
	wild := func(name string, labels map[string]string) *netv1.ServiceEntry {
		se := externalEntry("wb-svc", name, labels)
		se.Spec.Hosts = []string{"*." + name + ".example.com"}
		se.Spec.Resolution = netapi.ServiceEntry_NONE
		return se
	}
	racing := func(se *netv1.ServiceEntry) *netv1.ServiceEntry {
		se.Annotations = map[string]string{ambient.AnnotationConnectStrategy: "RACE_FIRST_TCP_CONNECT"}
		return se
	}
	f.serviceEntry("a wildcard ServiceEntry without a waypoint is WaypointMissing", wild("se-wild", nil), missingWaypoint(ambient.ReasonNoWaypointForWildcard))
	f.serviceEntry("a wildcard ServiceEntry bound to a waypoint is not WaypointMissing", wild("se-wild-bound", lbl("waypoint")), kubeenv.StatusWant{Type: ambient.ConditionWaypointMissing, Absent: true})
	f.entryCase("the bound wildcard ServiceEntry's binding", kubeenv.KindServiceEntry, "wb-svc", "se-wild-bound", boundTo("wb-svc/waypoint"))
	f.serviceEntry("a wildcard ServiceEntry naming a missing waypoint is WaypointMissing", wild("se-wild-ghost", lbl("ghost")), missingWaypoint(ambient.ReasonNoWaypointForWildcard))
	f.entryCase("the wildcard ServiceEntry naming a missing waypoint is not bound", kubeenv.KindServiceEntry, "wb-svc", "se-wild-ghost", notBound(ambient.ReasonWaypointNotReady))
	f.serviceEntry("a racing ServiceEntry without a waypoint is WaypointMissing", racing(externalEntry("wb-svc", "se-race", nil)), missingWaypoint(ambient.ReasonNoWaypointForRacing))
	f.serviceEntry("a racing ServiceEntry bound to a waypoint is not WaypointMissing", racing(externalEntry("wb-svc", "se-race-bound", lbl("waypoint"))), kubeenv.StatusWant{Type: ambient.ConditionWaypointMissing, Absent: true})
	f.entryCase("the bound racing ServiceEntry's binding", kubeenv.KindServiceEntry, "wb-svc", "se-race-bound", boundTo("wb-svc/waypoint"))
	f.serviceEntry("a plain ServiceEntry without a waypoint is not WaypointMissing", externalEntry("wb-svc", "se-plain-unbound", nil), kubeenv.StatusWant{Type: ambient.ConditionWaypointMissing, Absent: true})

	f.workloadEntry("a WorkloadEntry label binds a workload waypoint", vmEntry("wb-svc", "vm-labelled", lbl("for-workload"), nil), boundTo("wb-svc/for-workload"))
	f.workloadEntry("spec.labels bind a WorkloadEntry too", vmEntry("wb-svc", "vm-spec-labels", nil, lbl("for-all")), boundTo("wb-svc/for-all"))
	f.workloadEntry("a service waypoint refuses a WorkloadEntry's own label", vmEntry("wb-svc", "vm-to-service", lbl("waypoint"), nil), notBound(ambient.ReasonUnsupportedTrafficType))
	f.workloadEntry("a WorkloadEntry naming a missing waypoint is not ready", vmEntry("wb-svc", "vm-to-missing", lbl("ghost"), nil), notBound(ambient.ReasonWaypointNotReady))
	f.workloadEntry("a namespace's service waypoint is skipped silently for a WorkloadEntry", vmEntry("wb-ns", "vm-inherits", nil, nil), noBinding())
	f.workloadEntry("a WorkloadEntry without a label is not bound", vmEntry("wb-svc", "vm-plain", nil, nil), noBinding())
}

// policyCase adds an AuthorizationPolicy and what istiod writes on it.
func (f *bindingFixture) policy(name string, p *secv1.AuthorizationPolicy, want kubeenv.StatusWant, quirk string, check func(pi ambient.PolicyInfo) string) {
	want.Kind, want.Namespace, want.Name = kubeenv.KindAuthorizationPolicy, p.Namespace, p.Name
	c := objectCase{name: name, want: want, quirk: quirk}
	if check != nil {
		c.check = func(s *kube.Snapshot) string {
			pi, ok := s.Mesh.Policy(ambient.KindAuthorizationPolicy, ambient.Key{Namespace: p.Namespace, Name: p.Name})
			if !ok {
				return "ambx has no analysis of it"
			}
			return check(pi)
		}
	}
	f.cases = append(f.cases, c)
	f.policies = append(f.policies, p)
}

func authz(ns, name string, spec *secv1beta1.AuthorizationPolicy) *secv1.AuthorizationPolicy {
	p := &secv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	// Merged, not assigned: the generated message holds a mutex.
	proto.Merge(&p.Spec, spec)
	return p
}

func ref(group, kind, name string) *typev1beta1.PolicyTargetReference {
	return &typev1beta1.PolicyTargetReference{Group: group, Kind: kind, Name: name}
}

func selectApp(app string) *typev1beta1.WorkloadSelector {
	return &typev1beta1.WorkloadSelector{MatchLabels: map[string]string{"app": app}}
}

func ztunnel(status, reason string) kubeenv.StatusWant {
	return kubeenv.StatusWant{Type: "ZtunnelAccepted", Status: status, Reason: reason}
}

func atWaypoint(status, reason string) kubeenv.StatusWant {
	return kubeenv.StatusWant{Type: "WaypointAccepted", Status: status, Reason: reason}
}

func effect(want string) func(ambient.PolicyInfo) string {
	return func(pi ambient.PolicyInfo) string {
		if !strings.Contains(pi.Effect, want) {
			return fmt.Sprintf("ambx's effect is %q, want it to say %q", pi.Effect, want)
		}
		return ""
	}
}

func policyCases(f *bindingFixture) {
	const ns = "pol"
	f.ns(ns, nil)
	f.readyWaypoint(waypointGateway(ns, "waypoint", "", nil, nil))
	f.service("policy target Service bound to the waypoint", clusterIPService(ns, "bound", map[string]string{ambient.LabelUseWaypoint: "waypoint"}), boundTo(ns+"/waypoint"))
	f.service("policy target Service bound to nothing", clusterIPService(ns, "unbound", nil), noBinding())
	l4 := []*secv1beta1.Rule{{From: []*secv1beta1.Rule_From{{Source: &secv1beta1.Source{Principals: []string{"cluster.local/ns/pol/sa/client"}}}}}}
	l7 := []*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{{Operation: &secv1beta1.Operation{Methods: []string{"GET"}}}}}}

	f.policy("L4 selector policy: ztunnel enforces it",
		authz(ns, "l4-selector", &secv1beta1.AuthorizationPolicy{Selector: selectApp("bound"), Rules: l4}),
		ztunnel("True", "Accepted"), "", nil)
	f.policy("namespace-wide L4 policy: ztunnel takes it; its only pods are the waypoint's, which no ztunnel captures",
		authz(ns, "l4-namespace", &secv1beta1.AuthorizationPolicy{Rules: l4}),
		ztunnel("True", "Accepted"), "", func(pi ambient.PolicyInfo) string {
			if pi.EnforcedBy != ambient.EnforcedByNone || pi.SelectedOther == 0 {
				return fmt.Sprintf("ambx says %s enforces it for %d ambient, %d other pods; want none, for the waypoint pod outside the mesh", pi.EnforcedBy, pi.SelectedAmbient, pi.SelectedOther)
			}
			return ""
		})
	f.policy("L7 ALLOW by selector: ztunnel drops the HTTP rules",
		authz(ns, "l7-allow-selector", &secv1beta1.AuthorizationPolicy{Selector: selectApp("bound"), Rules: l7}),
		ztunnel("True", "UnsupportedValue"), "", effect("Allows nothing it meant to"))
	f.policy("L7-only DENY by selector",
		authz(ns, "l7-deny-selector", &secv1beta1.AuthorizationPolicy{Selector: selectApp("bound"), Action: secv1beta1.AuthorizationPolicy_DENY, Rules: l7}),
		ztunnel("True", "UnsupportedValue"),
		"istiod's message calls this DENY policy more restrictive, but ztunnel receives an empty match and denies nothing (fixed on Istio master only)",
		effect("No effect at ztunnel"))
	f.policy("targetRef to a ready waypoint Gateway",
		authz(ns, "to-gateway", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "Gateway", "waypoint")}, Rules: l7}),
		atWaypoint("True", "Accepted"), "", boundList(ns+"/waypoint"))
	f.policy("targetRef to a Service bound to a waypoint",
		authz(ns, "to-bound-service", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("", "Service", "bound")}, Rules: l7}),
		atWaypoint("True", "Accepted"), "", boundList(ns+"/waypoint"))
	f.policy("targetRef to a Service bound to no waypoint",
		authz(ns, "to-unbound-service", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("", "Service", "unbound")}, Rules: l7}),
		atWaypoint("False", "AncestorNotBound"), "", boundList())
	f.policy("targetRef to a missing Gateway",
		authz(ns, "to-missing-gateway", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "Gateway", "ghost")}, Rules: l7}),
		atWaypoint("False", "TargetNotFound"), "", boundList())
	f.policy("targetRef to a missing Service",
		authz(ns, "to-missing-service", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("", "Service", "ghost")}, Rules: l7}),
		atWaypoint("False", "TargetNotFound"), "", boundList())
	f.policy("targetRef to a missing ServiceEntry",
		authz(ns, "to-missing-serviceentry", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("networking.istio.io", "ServiceEntry", "ghost")}, Rules: l7}),
		atWaypoint("False", "TargetNotFound"), "", boundList())
	f.serviceEntry("policy target ServiceEntry bound to the waypoint", externalEntry(ns, "se-bound", map[string]string{ambient.LabelUseWaypoint: "waypoint"}), boundTo(ns+"/waypoint"))
	f.serviceEntry("policy target ServiceEntry bound to nothing", externalEntry(ns, "se-unbound", nil), noBinding())
	f.policy("targetRef to a ServiceEntry bound to a waypoint",
		authz(ns, "to-bound-serviceentry", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("networking.istio.io", "ServiceEntry", "se-bound")}, Rules: l7}),
		atWaypoint("True", "Accepted"), "", boundList(ns+"/waypoint"))
	f.policy("targetRef to a ServiceEntry bound to no waypoint",
		authz(ns, "to-unbound-serviceentry", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("networking.istio.io", "ServiceEntry", "se-unbound")}, Rules: l7}),
		atWaypoint("False", "AncestorNotBound"), "", boundList())
	f.policy("one good and one missing targetRef",
		authz(ns, "partly-bound", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "Gateway", "waypoint"), ref("", "Service", "ghost")}, Rules: l7}),
		atWaypoint("True", "PartiallyInvalid"), "", boundList(ns+"/waypoint"))
	f.policy("targetRef to a GatewayClass outside the root namespace",
		authz(ns, "to-class-outside-root", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "GatewayClass", ambient.WaypointGatewayClass)}, Rules: l7}),
		atWaypoint("False", "Invalid"), "", boundList())
	f.policy("targetRef to the waypoint GatewayClass from the root namespace",
		authz(kubeenv.IstioNamespace, "to-waypoint-class", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "GatewayClass", ambient.WaypointGatewayClass)}, Rules: l7}),
		atWaypoint("True", "Accepted"), "", boundList("GatewayClass/"+ambient.WaypointGatewayClass))
	f.policy("targetRef to a GatewayClass of another controller",
		authz(kubeenv.IstioNamespace, "to-ingress-class", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "GatewayClass", "istio")}, Rules: l7}),
		atWaypoint("False", "Invalid"), "", boundList())
	f.policy("targetRef to a Service with a non-core group",
		authz(ns, "service-wrong-group", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("networking.istio.io", "Service", "bound")}, Rules: l7}),
		atWaypoint("True", "Accepted"),
		"istiod reports a Service targetRef with a non-core group as bound, but its waypoint only applies policies whose Service targetRef has the core group",
		boundList())
	f.policy("targetRef to the waypoint Gateway under another group",
		authz(ns, "gateway-wrong-group", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("networking.istio.io", "Gateway", "waypoint")}, Rules: l7}),
		atWaypoint("True", "Accepted"),
		"istiod's WaypointAccepted switches on the targetRef's kind alone, but ShouldAttachPolicy matches group and kind, so the waypoint never applies a Gateway targetRef outside gateway.networking.k8s.io",
		boundList())
	f.policy("targetRef to another mesh-controller GatewayClass from the root namespace",
		authz(kubeenv.IstioNamespace, "to-other-mesh-class", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("gateway.networking.k8s.io", "GatewayClass", "ambx-workload-waypoint")}, Rules: l7}),
		atWaypoint("True", "Accepted"),
		"istiod's WaypointAccepted accepts any GatewayClass of the mesh controller, but ShouldAttachPolicy attaches a GatewayClass targetRef only when it names istio-waypoint",
		boundList())
	f.policy("targetRef to an ExternalName Service labelled with a waypoint",
		authz("wb-svc", "to-externalname", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("", "Service", "external")}, Rules: l7}),
		atWaypoint("True", "Accepted"),
		"istiod's WaypointAccepted reads the ExternalName Service's use-waypoint label, but ambient leaves ExternalName Services out, so no waypoint serves it or applies the policy",
		boundList())
	f.policy("targetRef to a ServiceEntry without its group",
		authz(ns, "serviceentry-no-group", &secv1beta1.AuthorizationPolicy{TargetRefs: []*typev1beta1.PolicyTargetReference{ref("", "ServiceEntry", "se-bound")}, Rules: l7}),
		atWaypoint("True", "Accepted"),
		"istiod's WaypointAccepted switches on the targetRef's kind alone, but ShouldAttachPolicy matches group and kind, so the waypoint never applies a ServiceEntry targetRef outside networking.istio.io",
		boundList())
}

// boundList checks what ambx says a targetRefs policy is attached to.
func boundList(want ...string) func(ambient.PolicyInfo) string {
	return func(pi ambient.PolicyInfo) string {
		if pi.EnforcedBy != ambient.EnforcedByWaypoint {
			return fmt.Sprintf("ambx says %s enforces it, want waypoint", pi.EnforcedBy)
		}
		if !slices.Equal(pi.BoundTo, want) && !(len(want) == 0 && len(pi.BoundTo) == 0) {
			return fmt.Sprintf("ambx binds it to %v, want %v", pi.BoundTo, want)
		}
		return ""
	}
}

// unsentCases are selector policies istiod never sends to ztunnel. They
// are not waited for: istiod keys every policy it does not send under one
// empty name, so of several only one gets its ZtunnelAccepted condition.
func unsentCases(f *bindingFixture) []objectCase {
	const ns = "pol"
	l4 := []*secv1beta1.Rule{{From: []*secv1beta1.Rule_From{{Source: &secv1beta1.Source{Namespaces: []string{"pol"}}}}}}
	var out []objectCase
	add := func(name string, p *secv1.AuthorizationPolicy, want string) {
		f.policies = append(f.policies, p)
		out = append(out, objectCase{
			name:  name,
			want:  kubeenv.StatusWant{Kind: kubeenv.KindAuthorizationPolicy, Namespace: p.Namespace, Name: p.Name, Type: "ZtunnelAccepted", Status: "False", Reason: "UnsupportedValue"},
			quirk: "istiod may write no ZtunnelAccepted condition: the policies it does not send to ztunnel share one internal key",
			check: func(s *kube.Snapshot) string {
				pi, ok := s.Mesh.Policy(ambient.KindAuthorizationPolicy, ambient.Key{Namespace: p.Namespace, Name: p.Name})
				if !ok {
					return "ambx has no analysis of it"
				}
				return effect(want)(pi)
			},
		})
	}
	add("CUSTOM by selector is not sent to ztunnel",
		authz(ns, "custom", &secv1beta1.AuthorizationPolicy{Selector: selectApp("bound"), Action: secv1beta1.AuthorizationPolicy_CUSTOM,
			ActionDetail: &secv1beta1.AuthorizationPolicy_Provider{Provider: &secv1beta1.AuthorizationPolicy_ExtensionProvider{Name: "ext-authz"}}, Rules: l4}),
		"Not sent to ztunnel: ztunnel does not support the CUSTOM action")
	add("AUDIT by selector is not sent to ztunnel",
		authz(ns, "audit", &secv1beta1.AuthorizationPolicy{Selector: selectApp("bound"), Action: secv1beta1.AuthorizationPolicy_AUDIT, Rules: l4}),
		"Not sent to ztunnel: ztunnel does not support the AUDIT action")
	dry := authz(ns, "dry-run", &secv1beta1.AuthorizationPolicy{Selector: selectApp("bound"), Action: secv1beta1.AuthorizationPolicy_DENY, Rules: l4})
	dry.Annotations = map[string]string{ambient.AnnotationDryRun: "true"}
	add("dry-run by selector is not sent to ztunnel", dry, "Not sent to ztunnel")
	return out
}

// TestIstiodAgreesOnBindingsAndPolicies creates the binding and policy
// cases on a cluster run by the real controllers and istiod, waits for
// istiod's verdicts and compares ambx's with each.
func TestIstiodAgreesOnBindingsAndPolicies(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Istiod: true})
	env.CreateNode(t, "node-a", nil)
	f := bindingCases()
	policyCases(f)
	unsent := unsentCases(f)
	createFixture(t, env, f)

	var wants []kubeenv.StatusWant
	for _, c := range f.cases {
		wants = append(wants, c.want)
	}
	started := time.Now()
	statuses := env.WaitIstioStatus(t, istiodTimeout, wants...)
	t.Logf("istiod wrote the %d expected conditions after %s", len(wants), time.Since(started).Round(time.Millisecond))
	// The unsent policies were created with the rest, so what istiod
	// wrote on them is there by now; read it without waiting.
	for _, c := range unsent {
		statuses[c.want.Key()] = env.IstioStatus(t, c.want.Kind, c.want.Namespace, c.want.Name)
	}

	s := awaitIstioView(t, env, statuses)
	for _, c := range append(f.cases, unsent...) {
		t.Run(c.name, func(t *testing.T) { compareCase(t, s, statuses, c) })
	}
}

// awaitIstioView waits until kube.Source shows every condition istiod
// wrote, so the comparison is of the same state, and every addressed
// waypoint's pods as ready.
func awaitIstioView(t *testing.T, env *kubeenv.Env, statuses map[string]kubeenv.ObjectStatus) *kube.Snapshot {
	t.Helper()
	w := watch(t, env.Kubeconfig)
	return w.await(t, 90*time.Second, func(s *kube.Snapshot) string {
		// A resource still listing is neither found nor missing to ambx
		// (a targetRef to an unread ServiceEntry stays as written), so the
		// comparison waits for every list, not only the conditions.
		for _, r := range kube.Resources {
			if st := s.State(r); !st.Availability.Read() {
				return fmt.Sprintf("%s not read yet (%v %s)", r, st.Availability, st.Detail)
			}
		}
		for key, st := range statuses {
			kind, nsName, _ := strings.Cut(key, " ")
			ns, name, _ := strings.Cut(nsName, "/")
			k := ambient.Key{Namespace: ns, Name: name}
			var have []string
			switch kind {
			case kubeenv.KindService:
				have = s.Mesh.Services[k].Conditions
			case kubeenv.KindServiceEntry:
				have = s.Mesh.ServiceEntries[k].Conditions
			case kubeenv.KindWorkloadEntry:
				have = s.Mesh.WorkloadEntries[k].Conditions
			case kubeenv.KindAuthorizationPolicy:
				pi, _ := s.Mesh.Policy(ambient.KindAuthorizationPolicy, k)
				have = pi.Conditions
			case kubeenv.KindGateway:
				wi, ok := s.Mesh.Waypoint(k)
				if !ok {
					return "no waypoint " + nsName + " in the snapshot yet"
				}
				have = wi.Conditions
				if st.Addresses > 0 && wi.Ready == 0 {
					return "waypoint " + nsName + " has an address but the snapshot has no ready pod of it yet"
				}
			}
			for _, c := range st.Conditions {
				if want := conditionText(c); !slices.Contains(have, want) {
					return fmt.Sprintf("%s: snapshot has %q, istiod wrote %q", key, have, want)
				}
			}
		}
		return ""
	})
}

// conditionText is a condition as ambx displays it.
func conditionText(c kubeenv.Condition) string {
	s := c.Type + "=" + c.Status
	if c.Reason != "" {
		s += " " + c.Reason
	}
	if c.Message != "" {
		s += ": " + c.Message
	}
	return s
}

// compareCase checks one case: ambx must agree with the condition istiod
// wrote (unless the case names a quirk) and satisfy the case's own check.
func compareCase(t *testing.T, s *kube.Snapshot, statuses map[string]kubeenv.ObjectStatus, c objectCase) {
	t.Helper()
	st := statuses[c.want.Key()]
	cond, written := st.Condition(c.want.Type)
	if c.quirk != "" {
		t.Logf("known istiod quirk: %s; istiod wrote %s, ambx follows the enforcement code", c.quirk, describe(cond, written))
	} else if why := agrees(s, c.want, st); why != "" {
		t.Errorf("%s %s/%s: istiod wrote %s; %s", c.want.Kind, c.want.Namespace, c.want.Name, describe(cond, written), why)
	}
	if c.check != nil {
		if why := c.check(s); why != "" {
			t.Errorf("%s %s/%s: %s", c.want.Kind, c.want.Namespace, c.want.Name, why)
		}
	}
}

func describe(c kubeenv.Condition, written bool) string {
	if !written {
		return "no condition"
	}
	return strings.TrimSpace(fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
}

// agrees compares ambx's analysis of one object with istiod's condition of
// the want's type on it, returning "" when they agree.
func agrees(s *kube.Snapshot, w kubeenv.StatusWant, st kubeenv.ObjectStatus) string {
	k := ambient.Key{Namespace: w.Namespace, Name: w.Name}
	cond, written := st.Condition(w.Type)
	switch w.Kind {
	case kubeenv.KindService:
		info, ok := s.Mesh.Services[k]
		if !ok {
			return "ambx has no analysis of it"
		}
		return agreesOnBinding(info.Waypoint, cond, written)
	case kubeenv.KindServiceEntry:
		info, ok := s.Mesh.ServiceEntries[k]
		if !ok {
			return "ambx has no analysis of it"
		}
		if w.Type == ambient.ConditionWaypointMissing {
			return agreesOnMissing(info.WaypointMissing, cond, written)
		}
		return agreesOnBinding(info.Waypoint, cond, written)
	case kubeenv.KindWorkloadEntry:
		info, ok := s.Mesh.WorkloadEntries[k]
		if !ok {
			return "ambx has no analysis of it"
		}
		return agreesOnBinding(info.Waypoint, cond, written)
	case kubeenv.KindAuthorizationPolicy:
		pi, ok := s.Mesh.Policy(ambient.KindAuthorizationPolicy, k)
		if !ok {
			return "ambx has no analysis of it"
		}
		return agreesOnPolicy(pi, st)
	case kubeenv.KindGateway:
		wi, ok := s.Mesh.Waypoint(k)
		if !ok {
			return "ambx does not list it as a waypoint"
		}
		programmed := written && cond.Status == "True"
		if wi.Programmed != programmed || wi.Addressed != (st.Addresses > 0) {
			return fmt.Sprintf("ambx says programmed=%v addressed=%v; istiod wrote %d addresses", wi.Programmed, wi.Addressed, st.Addresses)
		}
		if programmed && st.Addresses > 0 && wi.Ready == 0 {
			return fmt.Sprintf("ambx counts %d of %d waypoint pods ready, istiod addressed it only once one was", wi.Ready, wi.Replicas)
		}
	}
	return ""
}

func agreesOnBinding(b ambient.WaypointBinding, c kubeenv.Condition, written bool) string {
	switch {
	case !written:
		if b.Bound() || b.Problem != "" {
			return fmt.Sprintf("ambx says bound=%v to %q (%s %s)", b.Bound(), b.Waypoint, b.Reason, b.Problem)
		}
	case c.Status == "True":
		if !b.Bound() {
			return fmt.Sprintf("ambx says not bound: %s %s", b.Reason, b.Problem)
		}
		if !strings.Contains(c.Message, b.Waypoint.String()) {
			return fmt.Sprintf("ambx binds it to %s", b.Waypoint)
		}
	default:
		if b.Bound() {
			return fmt.Sprintf("ambx says bound to %s", b.Waypoint)
		}
		if b.Reason != c.Reason || b.Problem != c.Message {
			return fmt.Sprintf("ambx says %s: %s", b.Reason, b.Problem)
		}
	}
	return ""
}

// agreesOnPolicy: istiod writes ZtunnelAccepted on the policies it sends
// to ztunnel (or refuses to) and WaypointAccepted on targetRefs policies.
func agreesOnPolicy(pi ambient.PolicyInfo, st kubeenv.ObjectStatus) string {
	zt, hasZt := st.Condition("ZtunnelAccepted")
	wp, hasWp := st.Condition("WaypointAccepted")
	notSent := strings.Contains(pi.Effect, "Not sent to ztunnel")
	switch {
	case hasWp:
		// istiod writes WaypointAccepted on every targetRefs policy; one
		// whose targets are all ingress Gateways runs on their pods.
		if pi.EnforcedBy != ambient.EnforcedByWaypoint && pi.EnforcedBy != ambient.EnforcedByGateway {
			return fmt.Sprintf("ambx says %s enforces it", pi.EnforcedBy)
		}
		if bound := len(pi.BoundTo) > 0; bound != (wp.Status == "True") {
			return fmt.Sprintf("ambx binds it to %v", pi.BoundTo)
		}
	case hasZt && zt.Status == "False":
		if !notSent {
			return fmt.Sprintf("ambx says %s enforces it (%s)", pi.EnforcedBy, pi.Effect)
		}
	case hasZt:
		// istiod says ztunnel took the policy; it does not look at pods.
		// ambx also says who enforces it for the pods it selects, so with
		// no ambient pod among them (only waypoint, sidecar or ingress
		// gateway pods) it may rightly name none, sidecars or the gateway.
		noAmbientPods := pi.SelectedAmbient == 0 && (pi.EnforcedBy == ambient.EnforcedByNone || pi.EnforcedBy == ambient.EnforcedBySidecar || pi.EnforcedBy == ambient.EnforcedByGateway)
		if (pi.EnforcedBy != ambient.EnforcedByZtunnel && !noAmbientPods) || notSent {
			return fmt.Sprintf("ambx says %s enforces it (%s)", pi.EnforcedBy, pi.Effect)
		}
		if l7 := zt.Reason == "UnsupportedValue"; l7 != (pi.Layer == ambient.L7) {
			return fmt.Sprintf("ambx says its rules are %s (%v)", pi.Layer, pi.L7Fields)
		}
	default:
		return "istiod wrote neither ZtunnelAccepted nor WaypointAccepted"
	}
	return ""
}

// createFixture creates the fixture's objects, namespaces first.
func createFixture(t *testing.T, env *kubeenv.Env, f *bindingFixture) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, ns := range f.namespaces {
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns.Name, err)
		}
	}
	for _, cm := range f.configMaps {
		if _, err := env.Client.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create configmap %s/%s: %v", cm.Namespace, cm.Name, err)
		}
	}
	gw := gwclient.NewForConfigOrDie(env.Config).GatewayV1()
	for _, c := range f.classes {
		if _, err := gw.GatewayClasses().Create(ctx, c, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create gatewayclass %s: %v", c.Name, err)
		}
	}
	for _, g := range f.gateways {
		if _, err := gw.Gateways(g.Namespace).Create(ctx, g, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create gateway %s/%s: %v", g.Namespace, g.Name, err)
		}
	}
	for _, s := range f.services {
		if _, err := env.Client.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create service %s/%s: %v", s.Namespace, s.Name, err)
		}
	}
	ist := istioclient.NewForConfigOrDie(env.Config)
	for _, se := range f.entries {
		if _, err := ist.NetworkingV1().ServiceEntries(se.Namespace).Create(ctx, se, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create serviceentry %s/%s: %v", se.Namespace, se.Name, err)
		}
	}
	for _, we := range f.workloads {
		if _, err := ist.NetworkingV1().WorkloadEntries(we.Namespace).Create(ctx, we, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create workloadentry %s/%s: %v", we.Namespace, we.Name, err)
		}
	}
	sec := ist.SecurityV1()
	for _, p := range f.policies {
		if _, err := sec.AuthorizationPolicies(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create authorizationpolicy %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
}

// TestIstiodAgreesOnTheDemo applies the demo cluster's objects without
// the status the demo invents, lets istiod and the controllers write it
// and deploy the waypoints, and checks two things object by object: ambx's
// analysis agrees with every condition istiod wrote, and the demo's
// hand-written conditions are what istiod writes, wording included, so
// `ambx --demo` looks like a real cluster.
func TestIstiodAgreesOnTheDemo(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Istiod: true})
	c := demo.Objects(demo.Epoch)
	createDemoWithoutStatus(t, env, demo.Objects(demo.Epoch))

	var cases []objectCase
	for _, svc := range c.Services {
		for _, cond := range svc.Status.Conditions {
			cases = append(cases, objectCase{name: "Service " + svc.Namespace + "/" + svc.Name,
				want: kubeenv.StatusWant{Kind: kubeenv.KindService, Namespace: svc.Namespace, Name: svc.Name,
					Type: cond.Type, Status: string(cond.Status), Reason: cond.Reason}})
		}
	}
	for _, p := range c.AuthorizationPolicies {
		for _, cond := range p.Status.Conditions {
			cases = append(cases, objectCase{name: "AuthorizationPolicy " + p.Namespace + "/" + p.Name,
				want: kubeenv.StatusWant{Kind: kubeenv.KindAuthorizationPolicy, Namespace: p.Namespace, Name: p.Name,
					Type: cond.GetType(), Status: cond.GetStatus(), Reason: cond.GetReason()}})
		}
	}
	for _, g := range c.Gateways {
		wc := waypointCase(g.Namespace, g.Name)
		if g.Spec.GatewayClassName != ambient.WaypointGatewayClass {
			// Ingress Gateways get no LoadBalancer address here (no cloud
			// provider); their Programmed state is not the demo's.
			continue
		}
		cases = append(cases, wc)
	}
	var wants []kubeenv.StatusWant
	for _, c := range cases {
		wants = append(wants, c.want)
	}
	started := time.Now()
	statuses := env.WaitIstioStatus(t, istiodTimeout, wants...)
	t.Logf("istiod wrote the demo's %d conditions after %s", len(wants), time.Since(started).Round(time.Millisecond))
	// Objects the demo gives no status: istiod wrote theirs in the same
	// batches, so what they hold now is its verdict.
	for _, svc := range c.Services {
		if key := kubeenv.KindService + " " + svc.Namespace + "/" + svc.Name; statuses[key].Conditions == nil && svc.Labels[ambient.LabelGatewayManaged] == "" {
			statuses[key] = env.IstioStatus(t, kubeenv.KindService, svc.Namespace, svc.Name)
		}
	}
	for _, p := range c.AuthorizationPolicies {
		if key := kubeenv.KindAuthorizationPolicy + " " + p.Namespace + "/" + p.Name; statuses[key].Conditions == nil {
			statuses[key] = env.IstioStatus(t, kubeenv.KindAuthorizationPolicy, p.Namespace, p.Name)
		}
	}
	s := awaitIstioView(t, env, statuses)
	for _, c := range cases {
		t.Run("ambx agrees with istiod on "+c.name+" "+c.want.Type, func(t *testing.T) { compareCase(t, s, statuses, c) })
	}

	// The demo's own status, condition by condition, against istiod's.
	t.Run("the demo's status is what istiod writes", func(t *testing.T) {
		check := func(key, typ, status, reason, msg string) {
			got, ok := statuses[key].Condition(typ)
			switch {
			case !ok:
				t.Errorf("%s: the demo has %s=%s %s, istiod wrote no such condition", key, typ, status, reason)
			case got.Status != status || got.Reason != reason || got.Message != msg:
				t.Errorf("%s %s:\n\tdemo:   %s %s: %s\n\tistiod: %s %s: %s", key, typ, status, reason, msg, got.Status, got.Reason, got.Message)
			}
		}
		for _, svc := range c.Services {
			for _, cond := range svc.Status.Conditions {
				check(kubeenv.KindService+" "+svc.Namespace+"/"+svc.Name, cond.Type, string(cond.Status), cond.Reason, cond.Message)
			}
		}
		for _, p := range c.AuthorizationPolicies {
			for _, cond := range p.Status.Conditions {
				check(kubeenv.KindAuthorizationPolicy+" "+p.Namespace+"/"+p.Name, cond.GetType(), cond.GetStatus(), cond.GetReason(), cond.GetMessage())
			}
		}
		for _, g := range c.Gateways {
			key := kubeenv.KindGateway + " " + g.Namespace + "/" + g.Name
			if _, waited := statuses[key]; !waited {
				continue
			}
			for _, cond := range g.Status.Conditions {
				check(key, cond.Type, string(cond.Status), cond.Reason, cond.Message)
			}
		}
		// And the other way: a condition istiod wrote that the demo lacks.
		for key, st := range statuses {
			for _, got := range st.Conditions {
				if !demoHas(c, key, got.Type) {
					t.Errorf("%s: istiod wrote %s, the demo has no %s condition", key, conditionText(got), got.Type)
				}
			}
		}
	})
}

// demoHas reports whether the demo gives the object a condition of type typ.
func demoHas(c *ambient.Cluster, key, typ string) bool {
	kind, nsName, _ := strings.Cut(key, " ")
	ns, name, _ := strings.Cut(nsName, "/")
	switch kind {
	case kubeenv.KindService:
		for _, s := range c.Services {
			if s.Namespace == ns && s.Name == name {
				return slices.ContainsFunc(s.Status.Conditions, func(c metav1.Condition) bool { return c.Type == typ })
			}
		}
	case kubeenv.KindAuthorizationPolicy:
		for _, p := range c.AuthorizationPolicies {
			if p.Namespace == ns && p.Name == name {
				return slices.ContainsFunc(p.Status.Conditions, func(c *metaapi.IstioCondition) bool { return c.GetType() == typ })
			}
		}
	case kubeenv.KindGateway:
		for _, g := range c.Gateways {
			if g.Namespace == ns && g.Name == name {
				return slices.ContainsFunc(g.Status.Conditions, func(c metav1.Condition) bool { return c.Type == typ })
			}
		}
	}
	return false
}

// createDemoWithoutStatus creates the demo's objects as a user would
// apply them: no status anywhere, and nothing istiod makes itself (the
// GatewayClasses, and each waypoint's Deployment, Service and pods). Pods
// lose their ownerReferences: the demo's Deployments are not created (their
// controllers would replace the demo's pods with pods of other names), and
// the garbage collector deletes a pod whose owner does not exist.
func createDemoWithoutStatus(t *testing.T, env *kubeenv.Env, c *ambient.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for _, n := range c.Nodes {
		env.CreateNode(t, n.Name, n.Labels)
	}
	for _, ns := range c.Namespaces {
		existing, err := env.Client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		if err == nil {
			if existing.Labels == nil {
				existing.Labels = map[string]string{}
			}
			for k, v := range ns.Labels {
				existing.Labels[k] = v
			}
			if _, err := env.Client.CoreV1().Namespaces().Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
				t.Fatalf("label namespace %s: %v", ns.Name, err)
			}
			continue
		}
		fresh(ns)
		ns.Status = corev1.NamespaceStatus{}
		if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace %s: %v", ns.Name, err)
		}
	}
	for _, p := range c.Pods {
		if _, isWaypoint := p.Labels[ambient.LabelGatewayName]; isWaypoint {
			continue
		}
		fresh(p)
		p.OwnerReferences = nil
		p.Status = corev1.PodStatus{}
		if _, err := env.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create pod %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	for _, s := range c.Services {
		if s.Labels[ambient.LabelGatewayManaged] != "" {
			continue // a waypoint's Service: istiod's deployment controller makes it
		}
		if _, err := env.Client.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{}); err == nil {
			continue // default/kubernetes
		}
		fresh(s)
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
		}
		s.Status = corev1.ServiceStatus{}
		if _, err := env.Client.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create service %s/%s: %v", s.Namespace, s.Name, err)
		}
	}
	for _, np := range c.NetworkPolicies {
		fresh(np)
		if _, err := env.Client.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create networkpolicy %s/%s: %v", np.Namespace, np.Name, err)
		}
	}
	gw := gwclient.NewForConfigOrDie(env.Config).GatewayV1()
	for _, g := range c.Gateways {
		fresh(g)
		g.Status = gwv1.GatewayStatus{}
		if _, err := gw.Gateways(g.Namespace).Create(ctx, g, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create gateway %s/%s: %v", g.Namespace, g.Name, err)
		}
	}
	sec := istioclient.NewForConfigOrDie(env.Config).SecurityV1()
	for _, p := range c.AuthorizationPolicies {
		fresh(p)
		p.Status = metaapi.IstioStatus{}
		if _, err := sec.AuthorizationPolicies(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create authorizationpolicy %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	for _, p := range c.PeerAuthentications {
		fresh(p)
		p.Status = metaapi.IstioStatus{}
		if _, err := sec.PeerAuthentications(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create peerauthentication %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
	for _, p := range c.RequestAuthentications {
		fresh(p)
		p.Status = metaapi.IstioStatus{}
		// istiod would fetch a jwksUri off the machine; the key set
		// inline keeps it on loopback and changes no status.
		for _, r := range p.Spec.JwtRules {
			if r.JwksUri != "" {
				r.JwksUri, r.Jwks = "", `{"keys":[]}`
			}
		}
		if _, err := sec.RequestAuthentications(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create requestauthentication %s/%s: %v", p.Namespace, p.Name, err)
		}
	}
}
