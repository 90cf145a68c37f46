package demo

import (
	"fmt"
	"strings"
	"time"

	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	k8stesting "k8s.io/client-go/testing"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/ambx/ambx/kube"
)

// Clients returns fake clientsets seeded with the demo cluster at now. Each
// call returns a new, independent cluster; writes (label patches, restarts)
// change only that cluster.
func Clients(now time.Time) *kube.Clients {
	c, err := newClients(now)
	if err != nil {
		// Only a contradiction inside this package's own tables gets here
		// (two objects with one name); the tests build the cluster every run.
		panic(err)
	}
	return c
}

func newClients(now time.Time) (*kube.Clients, error) {
	w := build(now)
	c := &w.cluster
	s := &seeder{}

	// Not NewClientset: its field-managed tracker builds a whole REST mapper on
	// every create and patch, which made each --demo start take seconds. No
	// write ambx makes is a server-side apply, which is all that tracker adds.
	kc := kubefake.NewSimpleClientset() //nolint:staticcheck // see above
	kc.Resources = coreResources
	// The demo user is the homelab's admin: access reviews say yes, as a
	// real API server would for cluster-admin (the fake would say no).
	kc.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
		r.Status = authzv1.SubjectAccessReviewStatus{Allowed: true, Reason: "demo user is cluster-admin"}
		return true, r, nil
	})
	rollouts(kc)
	seed(s, kc.Tracker(), corev1.SchemeGroupVersion.WithResource("namespaces"), c.Namespaces)
	seed(s, kc.Tracker(), corev1.SchemeGroupVersion.WithResource("nodes"), c.Nodes)
	seed(s, kc.Tracker(), corev1.SchemeGroupVersion.WithResource("pods"), c.Pods)
	seed(s, kc.Tracker(), corev1.SchemeGroupVersion.WithResource("services"), c.Services)
	seed(s, kc.Tracker(), networkingv1.SchemeGroupVersion.WithResource("networkpolicies"), c.NetworkPolicies)
	for _, o := range w.workloads {
		gvr := appsv1.SchemeGroupVersion.WithResource(strings.ToLower(kindOf(o)) + "s")
		seed(s, kc.Tracker(), gvr, []metav1.Object{o.(metav1.Object)})
	}

	seed(s, kc.Tracker(), corev1.SchemeGroupVersion.WithResource("configmaps"), w.configMaps)
	seed(s, kc.Tracker(), corev1.SchemeGroupVersion.WithResource("events"), seededEvents(now, c))
	seed(s, kc.Tracker(), admissionv1.SchemeGroupVersion.WithResource("mutatingwebhookconfigurations"), w.webhooks)

	ic := istiofake.NewSimpleClientset()
	ic.Resources = istioResources
	seed(s, ic.Tracker(), secv1.SchemeGroupVersion.WithResource("authorizationpolicies"), c.AuthorizationPolicies)
	seed(s, ic.Tracker(), secv1.SchemeGroupVersion.WithResource("peerauthentications"), c.PeerAuthentications)
	seed(s, ic.Tracker(), secv1.SchemeGroupVersion.WithResource("requestauthentications"), c.RequestAuthentications)
	seed(s, ic.Tracker(), netv1.SchemeGroupVersion.WithResource("serviceentries"), c.ServiceEntries)
	seed(s, ic.Tracker(), netv1.SchemeGroupVersion.WithResource("workloadentries"), c.WorkloadEntries)

	// Not NewClientset: its field manager maps Gateway to "gatewaies" too and
	// refuses the Create. ambx creates and deletes waypoints, never applies
	// them, so it needs no SSA.
	gc := gwfake.NewSimpleClientset()
	gc.Resources = gatewayResources
	seed(s, gc.Tracker(), gwv1.SchemeGroupVersion.WithResource("gatewayclasses"), c.GatewayClasses)
	seed(s, gc.Tracker(), gwv1.SchemeGroupVersion.WithResource("gateways"), c.Gateways)
	deployWaypoints(gc, kc)

	// metrics.k8s.io serves PodMetrics as "pods" and NodeMetrics as "nodes".
	mc := metricsfake.NewSimpleClientset()
	mc.Resources = metricsResources
	seed(s, mc.Tracker(), metricsv1beta1.SchemeGroupVersion.WithResource("pods"), w.podMetrics)
	seed(s, mc.Tracker(), metricsv1beta1.SchemeGroupVersion.WithResource("nodes"), w.nodeMetrics)

	if s.err != nil {
		return nil, s.err
	}
	return &kube.Clients{Kube: kc, Istio: ic, Gateway: gc, Metrics: mc, Context: Context, Server: Server, Demo: true, Fake: true}, nil
}

// seeder keeps the first error of a run of seed calls.
type seeder struct{ err error }

// seed creates objects in a fake's tracker under an explicit resource. The
// trackers' Add guesses the resource from the kind, and guesses wrong for
// Gateway ("gatewaies") and the metrics kinds ("podmetricses" where the
// API serves "pods"), which would leave the typed clients listing nothing.
func seed[T metav1.Object](s *seeder, t clienttesting.ObjectTracker, gvr schema.GroupVersionResource, objs []T) {
	for _, o := range objs {
		if s.err != nil {
			return
		}
		ro, ok := any(o).(runtime.Object)
		if !ok {
			s.err = fmt.Errorf("seed %s: %T is not a runtime.Object", gvr.Resource, o)
			return
		}
		if err := t.Create(gvr, ro, o.GetNamespace()); err != nil {
			s.err = fmt.Errorf("seed %s %s/%s: %w", gvr.Resource, o.GetNamespace(), o.GetName(), err)
		}
	}
}

// The fakes' discovery answers from these lists, so code that checks
// whether an API is installed before watching it sees a full installation.
var (
	coreResources = []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "namespaces", Kind: "Namespace", Verbs: readWrite},
			{Name: "nodes", Kind: "Node", Verbs: readWrite},
			{Name: "pods", Namespaced: true, Kind: "Pod", Verbs: readWrite},
			{Name: "pods/log", Namespaced: true, Kind: "Pod", Verbs: metav1.Verbs{"get"}},
			{Name: "services", Namespaced: true, Kind: "Service", Verbs: readWrite},
			{Name: "events", Namespaced: true, Kind: "Event", Verbs: readWrite},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
			{Name: "daemonsets", Namespaced: true, Kind: "DaemonSet", Verbs: readWrite},
			{Name: "deployments", Namespaced: true, Kind: "Deployment", Verbs: readWrite},
			{Name: "replicasets", Namespaced: true, Kind: "ReplicaSet", Verbs: readWrite},
			{Name: "statefulsets", Namespaced: true, Kind: "StatefulSet", Verbs: readWrite},
		}},
		{GroupVersion: "networking.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "networkpolicies", Namespaced: true, Kind: "NetworkPolicy", Verbs: readWrite},
		}},
		metricsResources[0],
	}
	istioResources = []*metav1.APIResourceList{
		{GroupVersion: "security.istio.io/v1", APIResources: []metav1.APIResource{
			{Name: "authorizationpolicies", Namespaced: true, Kind: "AuthorizationPolicy", Verbs: readWrite},
			{Name: "peerauthentications", Namespaced: true, Kind: "PeerAuthentication", Verbs: readWrite},
			{Name: "requestauthentications", Namespaced: true, Kind: "RequestAuthentication", Verbs: readWrite},
		}},
		{GroupVersion: "networking.istio.io/v1", APIResources: []metav1.APIResource{
			{Name: "serviceentries", Namespaced: true, Kind: "ServiceEntry", Verbs: readWrite},
			{Name: "workloadentries", Namespaced: true, Kind: "WorkloadEntry", Verbs: readWrite},
		}},
	}
	gatewayResources = []*metav1.APIResourceList{
		{GroupVersion: "gateway.networking.k8s.io/v1", APIResources: []metav1.APIResource{
			{Name: "gatewayclasses", Kind: "GatewayClass", Verbs: readWrite},
			{Name: "gateways", Namespaced: true, Kind: "Gateway", Verbs: readWrite},
		}},
	}
	metricsResources = []*metav1.APIResourceList{
		{GroupVersion: "metrics.k8s.io/v1beta1", APIResources: []metav1.APIResource{
			{Name: "nodes", Kind: "NodeMetrics", Verbs: metav1.Verbs{"get", "list"}},
			{Name: "pods", Namespaced: true, Kind: "PodMetrics", Verbs: metav1.Verbs{"get", "list"}},
		}},
	}
	readWrite = metav1.Verbs{"create", "delete", "get", "list", "patch", "update", "watch"}
)
