package kube

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	netv1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	secv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/tools/cache"
)

// Istio before 1.22 serves AuthorizationPolicy, PeerAuthentication,
// RequestAuthentication, ServiceEntry and WorkloadEntry at v1beta1 only,
// and a cluster upgraded with the old CRDs left in place does too. A v1
// watch there gets 404, which alone would read as "CRD not installed":
// no policy can exist, while a deny-all is in force. So each of these kinds
// is read at the version discovery says the server serves it at, v1 first,
// then v1beta1, and handed to the analysis as its v1 type either way. The
// conversion is exact: istio.io/api's v1 specs are aliases of the v1beta1
// (and, for the entries, v1alpha3) messages, and the status is one type.

// Istio versions ambx reads, newest first.
const (
	istioV1      = "v1"
	istioV1beta1 = "v1beta1"
)

// readable are the versions ambx can read an Istio kind through.
var readable = []string{istioV1, istioV1beta1}

// unservedError says a kind is served, but only at versions ambx cannot
// read: its objects exist and were not read, which is neither "not
// installed" nor a clean result.
type unservedError struct {
	group, resource string
	served          []string
}

func (e *unservedError) Error() string {
	return fmt.Sprintf("%s served only at %s/%s; ambx reads %s", e.resource, e.group, strings.Join(e.served, ", "), strings.Join(readable, " or "))
}

// servedVersion is the version of group's resource ambx reads: the first of
// readable that discovery lists it in. A kind served only at other versions
// is an *unservedError. When discovery does not list it at all, or cannot
// be asked (forbidden, a fake without resources), the answer is v1 and the
// v1 list itself says whether the CRD exists; only a server that does not
// answer is an error, retried by the informer.
func servedVersion(d discovery.DiscoveryInterface, group, resource string) (string, error) {
	for _, v := range readable {
		l, err := d.ServerResourcesForGroupVersion(group + "/" + v)
		switch {
		case err == nil:
			if lists(l, resource) {
				return v, nil
			}
		case apierrors.IsNotFound(err):
		case isUnreachable(err):
			return "", err
		default:
			return istioV1, nil
		}
	}
	groups, err := d.ServerGroups()
	if err != nil {
		if isUnreachable(err) {
			return "", err
		}
		return istioV1, nil
	}
	var served []string
	for _, g := range groups.Groups {
		if g.Name != group {
			continue
		}
		for _, gv := range g.Versions {
			if slices.Contains(readable, gv.Version) {
				continue
			}
			if l, err := d.ServerResourcesForGroupVersion(gv.GroupVersion); err == nil && lists(l, resource) {
				served = append(served, gv.Version)
			}
		}
	}
	if len(served) > 0 {
		slices.Sort(served)
		return "", &unservedError{group: group, resource: resource, served: served}
	}
	return istioV1, nil
}

// lists reports whether l names resource itself (not a subresource).
func lists(l *metav1.APIResourceList, resource string) bool {
	if l == nil {
		return false
	}
	return slices.ContainsFunc(l.APIResources, func(r metav1.APIResource) bool { return r.Name == resource })
}

// versionLW lists and watches one kind at one version, in v1 objects.
type versionLW struct {
	list  func(context.Context, metav1.ListOptions) (runtime.Object, error)
	watch func(context.Context, metav1.ListOptions) (watch.Interface, error)
}

// istioKind is one Istio kind ambx watches, at each version it can read.
type istioKind struct {
	res             Resource
	group, resource string
	example         runtime.Object                                     // the v1 type the informer holds
	add             func(*Source, Resource, cache.SharedIndexInformer) // add of that type
	at              map[string]versionLW
}

// servedLW is a ListerWatcher that reads a kind at its served version,
// asked of discovery at each fresh list: an upgrade that starts serving v1
// (or a downgrade that stops) is followed at the informer's next relist.
type servedLW struct {
	kind   istioKind
	disc   discovery.DiscoveryInterface
	chosen func(Resource, string) // told the group/version of each fresh list

	mu      sync.Mutex
	version string
}

func (l *servedLW) choose() (versionLW, error) {
	v, err := servedVersion(l.disc, l.kind.group, l.kind.resource)
	if err != nil {
		return versionLW{}, err
	}
	l.mu.Lock()
	l.version = v
	l.mu.Unlock()
	if l.chosen != nil {
		l.chosen(l.kind.res, l.kind.group+"/"+v)
	}
	return l.kind.at[v], nil
}

// current is the version of the last list, for the pages after its first
// and the watch that follows it: a continue token or resourceVersion
// belongs to the list it came from.
func (l *servedLW) current() (versionLW, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.version == "" {
		return versionLW{}, false
	}
	return l.kind.at[l.version], true
}

func (l *servedLW) List(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
	at, ok := l.current()
	if !ok || o.Continue == "" {
		var err error
		if at, err = l.choose(); err != nil {
			return nil, err
		}
	}
	return at.list(ctx, o)
}

func (l *servedLW) Watch(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
	at, ok := l.current()
	// A watch that sends the initial objects is a fresh list (WatchList).
	if !ok || (o.SendInitialEvents != nil && *o.SendInitialEvents) {
		var err error
		if at, err = l.choose(); err != nil {
			return nil, err
		}
	}
	return at.watch(ctx, o)
}

// istioInformer is an informer over k's v1 objects, read at the served version.
func istioInformer(k istioKind, d discovery.DiscoveryInterface, chosen func(Resource, string)) cache.SharedIndexInformer {
	lw := &servedLW{kind: k, disc: d, chosen: chosen}
	return cache.NewSharedIndexInformer(&cache.ListWatch{
		ListWithContextFunc:  lw.List,
		WatchFuncWithContext: lw.Watch,
	}, k.example, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
}

// istioKinds are the Istio kinds the Source watches, each readable at v1
// and v1beta1 through c's typed clients.
func istioKinds(c istioclient.Interface) []istioKind {
	return []istioKind{
		{ResAuthorizationPolicies, "security.istio.io", "authorizationpolicies", &secv1.AuthorizationPolicy{}, add[*secv1.AuthorizationPolicy], map[string]versionLW{
			istioV1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.SecurityV1().AuthorizationPolicies("").List(ctx, o)
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.SecurityV1().AuthorizationPolicies("").Watch(ctx, o)
				},
			},
			istioV1beta1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					l, err := c.SecurityV1beta1().AuthorizationPolicies("").List(ctx, o)
					if err != nil {
						return nil, err
					}
					return &secv1.AuthorizationPolicyList{ListMeta: l.ListMeta, Items: convertAll(l.Items, authorizationPolicyV1)}, nil
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					w, err := c.SecurityV1beta1().AuthorizationPolicies("").Watch(ctx, o)
					return convertWatch(w, err, authorizationPolicyV1)
				},
			},
		}},
		{ResPeerAuthentications, "security.istio.io", "peerauthentications", &secv1.PeerAuthentication{}, add[*secv1.PeerAuthentication], map[string]versionLW{
			istioV1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.SecurityV1().PeerAuthentications("").List(ctx, o)
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.SecurityV1().PeerAuthentications("").Watch(ctx, o)
				},
			},
			istioV1beta1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					l, err := c.SecurityV1beta1().PeerAuthentications("").List(ctx, o)
					if err != nil {
						return nil, err
					}
					return &secv1.PeerAuthenticationList{ListMeta: l.ListMeta, Items: convertAll(l.Items, peerAuthenticationV1)}, nil
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					w, err := c.SecurityV1beta1().PeerAuthentications("").Watch(ctx, o)
					return convertWatch(w, err, peerAuthenticationV1)
				},
			},
		}},
		{ResRequestAuthentications, "security.istio.io", "requestauthentications", &secv1.RequestAuthentication{}, add[*secv1.RequestAuthentication], map[string]versionLW{
			istioV1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.SecurityV1().RequestAuthentications("").List(ctx, o)
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.SecurityV1().RequestAuthentications("").Watch(ctx, o)
				},
			},
			istioV1beta1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					l, err := c.SecurityV1beta1().RequestAuthentications("").List(ctx, o)
					if err != nil {
						return nil, err
					}
					return &secv1.RequestAuthenticationList{ListMeta: l.ListMeta, Items: convertAll(l.Items, requestAuthenticationV1)}, nil
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					w, err := c.SecurityV1beta1().RequestAuthentications("").Watch(ctx, o)
					return convertWatch(w, err, requestAuthenticationV1)
				},
			},
		}},
		{ResServiceEntries, "networking.istio.io", "serviceentries", &netv1.ServiceEntry{}, add[*netv1.ServiceEntry], map[string]versionLW{
			istioV1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.NetworkingV1().ServiceEntries("").List(ctx, o)
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.NetworkingV1().ServiceEntries("").Watch(ctx, o)
				},
			},
			istioV1beta1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					l, err := c.NetworkingV1beta1().ServiceEntries("").List(ctx, o)
					if err != nil {
						return nil, err
					}
					return &netv1.ServiceEntryList{ListMeta: l.ListMeta, Items: convertAll(l.Items, serviceEntryV1)}, nil
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					w, err := c.NetworkingV1beta1().ServiceEntries("").Watch(ctx, o)
					return convertWatch(w, err, serviceEntryV1)
				},
			},
		}},
		{ResWorkloadEntries, "networking.istio.io", "workloadentries", &netv1.WorkloadEntry{}, add[*netv1.WorkloadEntry], map[string]versionLW{
			istioV1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					return c.NetworkingV1().WorkloadEntries("").List(ctx, o)
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					return c.NetworkingV1().WorkloadEntries("").Watch(ctx, o)
				},
			},
			istioV1beta1: {
				list: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
					l, err := c.NetworkingV1beta1().WorkloadEntries("").List(ctx, o)
					if err != nil {
						return nil, err
					}
					return &netv1.WorkloadEntryList{ListMeta: l.ListMeta, Items: convertAll(l.Items, workloadEntryV1)}, nil
				},
				watch: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
					w, err := c.NetworkingV1beta1().WorkloadEntries("").Watch(ctx, o)
					return convertWatch(w, err, workloadEntryV1)
				},
			},
		}},
	}
}

func convertAll[B, V any](in []*B, conv func(*B) *V) []*V {
	out := make([]*V, len(in))
	for i, o := range in {
		out[i] = conv(o)
	}
	return out
}

// convertWatch passes w's events on with their objects of type *B as v1
// objects; errors and bookmarks of other types pass unchanged.
func convertWatch[B any, V runtime.Object](w watch.Interface, err error, conv func(*B) V) (watch.Interface, error) {
	if err != nil {
		return nil, err
	}
	return watch.Filter(w, func(e watch.Event) (watch.Event, bool) {
		if o, ok := any(e.Object).(*B); ok {
			e.Object = conv(o)
		}
		return e, true
	}), nil
}

// The conversions to v1. The spec and status are the same Go types at
// both versions; they are deep-copied because protobuf messages must not
// be copied by value, and because a fake's watch hands out its own objects.

func authorizationPolicyV1(in *secv1beta1.AuthorizationPolicy) *secv1.AuthorizationPolicy {
	out := &secv1.AuthorizationPolicy{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
	return out
}

func peerAuthenticationV1(in *secv1beta1.PeerAuthentication) *secv1.PeerAuthentication {
	out := &secv1.PeerAuthentication{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
	return out
}

func requestAuthenticationV1(in *secv1beta1.RequestAuthentication) *secv1.RequestAuthentication {
	out := &secv1.RequestAuthentication{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
	return out
}

func serviceEntryV1(in *netv1beta1.ServiceEntry) *netv1.ServiceEntry {
	out := &netv1.ServiceEntry{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
	return out
}

func workloadEntryV1(in *netv1beta1.WorkloadEntry) *netv1.WorkloadEntry {
	out := &netv1.WorkloadEntry{ObjectMeta: *in.ObjectMeta.DeepCopy()}
	in.Spec.DeepCopyInto(&out.Spec)
	in.Status.DeepCopyInto(&out.Status)
	return out
}

// detail is what a pane says of the kind: what is served, what ambx reads.
func (e *unservedError) detail() string {
	vs := make([]string, len(e.served))
	for i, v := range e.served {
		vs[i] = e.group + "/" + v
	}
	return fmt.Sprintf("served only at %s, which ambx cannot read (it reads %s): not read", strings.Join(vs, ", "), strings.Join(readable, " and "))
}

// addIstio watches the Istio kinds, each at its served version; the
// informers are returned for the caller to run.
func (s *Source) addIstio(c istioclient.Interface) []cache.SharedIndexInformer {
	var infs []cache.SharedIndexInformer
	for _, k := range istioKinds(c) {
		inf := istioInformer(k, c.Discovery(), s.readAt)
		k.add(s, k.res, inf)
		infs = append(infs, inf)
	}
	return infs
}

// readAt records the version a kind is read through, for its state.
func (s *Source) readAt(r Resource, gv string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if strings.HasSuffix(gv, "/"+istioV1) {
		delete(s.servedAt, r)
		return
	}
	if s.servedAt == nil {
		s.servedAt = map[Resource]string{}
	}
	s.servedAt[r] = gv
}
