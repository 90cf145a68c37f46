package demo

import (
	"fmt"
	"time"

	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
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

	var core []runtime.Object
	for _, o := range c.Namespaces {
		core = append(core, o)
	}
	for _, o := range c.Nodes {
		core = append(core, o)
	}
	for _, o := range c.Pods {
		core = append(core, o)
	}
	for _, o := range c.Services {
		core = append(core, o)
	}
	for _, o := range c.NetworkPolicies {
		core = append(core, o)
	}
	core = append(core, w.workloads...)
	kc := kubefake.NewClientset()
	if err := addAll(kc.Tracker().Add, core); err != nil {
		return nil, err
	}
	kc.Resources = coreResources

	var sec []runtime.Object
	for _, o := range c.AuthorizationPolicies {
		sec = append(sec, o)
	}
	for _, o := range c.PeerAuthentications {
		sec = append(sec, o)
	}
	for _, o := range c.RequestAuthentications {
		sec = append(sec, o)
	}
	ic := istiofake.NewSimpleClientset()
	if err := addAll(ic.Tracker().Add, sec); err != nil {
		return nil, err
	}
	ic.Resources = istioResources

	var gws []runtime.Object
	for _, o := range c.GatewayClasses {
		gws = append(gws, o)
	}
	for _, o := range c.Gateways {
		gws = append(gws, o)
	}
	gc := gwfake.NewClientset()
	if err := addAll(gc.Tracker().Add, gws); err != nil {
		return nil, err
	}
	gc.Resources = gatewayResources

	// The metrics tracker cannot be seeded with Add: it guesses the resource
	// from the kind ("podmetricses"), while the typed client lists "pods"
	// and "nodes" of metrics.k8s.io, so Add-ed objects would never be listed.
	mc := metricsfake.NewSimpleClientset()
	pods := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	nodes := metricsv1beta1.SchemeGroupVersion.WithResource("nodes")
	for _, m := range w.podMetrics {
		if err := mc.Tracker().Create(pods, m, m.Namespace); err != nil {
			return nil, fmt.Errorf("seed pod metrics %s/%s: %w", m.Namespace, m.Name, err)
		}
	}
	for _, m := range w.nodeMetrics {
		if err := mc.Tracker().Create(nodes, m, ""); err != nil {
			return nil, fmt.Errorf("seed node metrics %s: %w", m.Name, err)
		}
	}
	mc.Resources = metricsResources

	return &kube.Clients{Kube: kc, Istio: ic, Gateway: gc, Metrics: mc, Context: Context, Server: Server, Demo: true}, nil
}

func addAll(add func(runtime.Object) error, objs []runtime.Object) error {
	for _, o := range objs {
		if err := add(o); err != nil {
			m, _ := o.(metav1.Object)
			return fmt.Errorf("seed %T %s/%s: %w", o, m.GetNamespace(), m.GetName(), err)
		}
	}
	return nil
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
