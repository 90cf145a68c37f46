package kube

import (
	"context"
	"fmt"

	istioscheme "istio.io/client-go/pkg/clientset/versioned/scheme"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	gwscheme "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/scheme"
	"sigs.k8s.io/yaml"
)

// Fetch reads one object from the API server as it is stored, not as the
// Source caches it: the cache is slimmed to what the analysis reads, and a
// user asking for the YAML wants all of it.
func Fetch(ctx context.Context, c *Clients, r Ref) (runtime.Object, error) {
	if c == nil || c.Kube == nil {
		return nil, fmt.Errorf("not connected")
	}
	get := metav1.GetOptions{}
	var obj runtime.Object
	var err error
	switch r.Kind {
	case KindNamespace:
		obj, err = c.Kube.CoreV1().Namespaces().Get(ctx, r.Name, get)
	case KindPod:
		obj, err = c.Kube.CoreV1().Pods(r.Namespace).Get(ctx, r.Name, get)
	case KindService:
		obj, err = c.Kube.CoreV1().Services(r.Namespace).Get(ctx, r.Name, get)
	case KindNetworkPolicy:
		obj, err = c.Kube.NetworkingV1().NetworkPolicies(r.Namespace).Get(ctx, r.Name, get)
	case KindWaypoint:
		if c.Gateway == nil {
			return nil, fmt.Errorf("no Gateway API client")
		}
		obj, err = c.Gateway.GatewayV1().Gateways(r.Namespace).Get(ctx, r.Name, get)
	case KindServiceEntry, KindAuthorizationPolicy, KindPeerAuthentication, KindRequestAuthentication:
		if c.Istio == nil {
			return nil, fmt.Errorf("no Istio client")
		}
		switch r.Kind {
		case KindServiceEntry:
			obj, err = c.Istio.NetworkingV1().ServiceEntries(r.Namespace).Get(ctx, r.Name, get)
		case KindAuthorizationPolicy:
			obj, err = c.Istio.SecurityV1().AuthorizationPolicies(r.Namespace).Get(ctx, r.Name, get)
		case KindPeerAuthentication:
			obj, err = c.Istio.SecurityV1().PeerAuthentications(r.Namespace).Get(ctx, r.Name, get)
		default:
			obj, err = c.Istio.SecurityV1().RequestAuthentications(r.Namespace).Get(ctx, r.Name, get)
		}
		if apierrors.IsNotFound(err) {
			// Served at v1beta1 only (served.go): show it as stored there.
			if o, e := fetchV1beta1(ctx, c, r); e == nil {
				obj, err = o, nil
			}
		}
	default:
		return nil, fmt.Errorf("ambx cannot show a %s", r.Kind)
	}
	if err != nil {
		return nil, err
	}
	setKind(obj)
	return obj, nil
}

func fetchV1beta1(ctx context.Context, c *Clients, r Ref) (runtime.Object, error) {
	get := metav1.GetOptions{}
	switch r.Kind {
	case KindServiceEntry:
		return c.Istio.NetworkingV1beta1().ServiceEntries(r.Namespace).Get(ctx, r.Name, get)
	case KindAuthorizationPolicy:
		return c.Istio.SecurityV1beta1().AuthorizationPolicies(r.Namespace).Get(ctx, r.Name, get)
	case KindPeerAuthentication:
		return c.Istio.SecurityV1beta1().PeerAuthentications(r.Namespace).Get(ctx, r.Name, get)
	case KindRequestAuthentication:
		return c.Istio.SecurityV1beta1().RequestAuthentications(r.Namespace).Get(ctx, r.Name, get)
	}
	return nil, fmt.Errorf("ambx cannot show a %s", r.Kind)
}

// setKind fills apiVersion and kind, which typed clients leave empty.
func setKind(obj runtime.Object) {
	for _, s := range []*runtime.Scheme{scheme.Scheme, istioscheme.Scheme, gwscheme.Scheme} {
		if gvks, _, err := s.ObjectKinds(obj); err == nil && len(gvks) > 0 {
			obj.GetObjectKind().SetGroupVersionKind(gvks[0])
			return
		}
	}
}

// LastAppliedAnnotation is kubectl's copy of the last applied manifest,
// hidden from the YAML view by default like managedFields.
const LastAppliedAnnotation = "kubectl.kubernetes.io/last-applied-configuration"

// YAML renders an object as kubectl get -o yaml does; unless full is set,
// without managedFields and the last-applied annotation, which are noise
// to a reader.
func YAML(obj runtime.Object, full bool) ([]byte, error) {
	obj = obj.DeepCopyObject()
	if !full {
		if m, ok := obj.(metav1.ObjectMetaAccessor); ok {
			meta := m.GetObjectMeta()
			meta.SetManagedFields(nil)
			if a := meta.GetAnnotations(); a[LastAppliedAnnotation] != "" {
				delete(a, LastAppliedAnnotation)
				if len(a) == 0 {
					a = nil
				}
				meta.SetAnnotations(a)
			}
		}
	}
	return yaml.Marshal(obj)
}
