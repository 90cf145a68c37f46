// Package kube is everything that knows the cluster: connecting, watching,
// the snapshot model, logs, metrics and writes. Analysis lives in its
// subpackages, which do no I/O.
package kube

import (
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
)

// Clients are the typed clients ambx talks to a cluster through. The demo
// cluster fills them with fake clientsets, so everything above this line
// cannot tell the two apart.
type Clients struct {
	Kube    kubernetes.Interface
	Istio   istioclient.Interface
	Gateway gwclient.Interface
	Metrics metricsclient.Interface
	Context string // shown in the status bar
	Server  string
	Demo    bool
	// Fake marks fake clientsets (demo, tests), whose watches cannot
	// stream an initial list; the Source then lists the plain way.
	Fake bool
	// Pods is a core REST client that decodes pods as kube/podwatch
	// does, for the pod informer; nil for fake clientsets, whose pods
	// are watched through Kube.
	Pods rest.Interface
	// Config is the connection the clients were built from (port-forwards
	// need it); nil for fake clientsets.
	Config *rest.Config
	// Health reports transport failures; nil for fake clientsets.
	Health *Health
	// Plugins are the credential plugins the kubeconfig runs, to end on
	// quit (StopPlugins).
	Plugins []string
}
