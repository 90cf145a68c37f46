package kube

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"time"

	istioinformers "istio.io/client-go/pkg/informers/externalversions"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"
	gwinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"

	"github.com/ambx/ambx/kube/ambient"
)

// Coalescing bounds: a burst of events becomes one snapshot after settle,
// and snapshots are at most one per minGap, so churn costs a few rebuilds a
// second however many objects change.
const (
	settle = 50 * time.Millisecond
	minGap = 250 * time.Millisecond
)

// Source watches a cluster through informers and publishes snapshots.
type Source struct {
	clients *Clients

	mu        sync.Mutex
	informers map[Resource]cache.SharedIndexInformer
	states    map[Resource]ResourceState
	reachable bool
	problem   string
	seq       uint64

	dirty chan struct{}
	probe chan struct{}
}

// NewSource returns a Source over the given clients; Run starts it.
func NewSource(c *Clients) *Source {
	return &Source{
		clients:   c,
		informers: map[Resource]cache.SharedIndexInformer{},
		states:    map[Resource]ResourceState{},
		reachable: true,
		dirty:     make(chan struct{}, 1),
		probe:     make(chan struct{}, 1),
	}
}

// dropManagedFields keeps the informer caches small: ambx never reads
// managedFields, and on pods they are often half the object.
func dropManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// Run watches until ctx is done, calling publish with each new snapshot from
// one goroutine. The first snapshot comes once the caches synced (or failed).
func (s *Source) Run(ctx context.Context, publish func(*Snapshot)) {
	if s.clients.Fake {
		noWatchList()
	}
	if s.clients.Health != nil {
		s.clients.Health.Subscribe(s.transportError)
	}
	core := informers.NewSharedInformerFactory(s.clients.Kube, 0)
	s.add(ResNamespaces, core.Core().V1().Namespaces().Informer())
	s.add(ResPods, core.Core().V1().Pods().Informer())
	s.add(ResServices, core.Core().V1().Services().Informer())
	s.add(ResNodes, core.Core().V1().Nodes().Informer())
	s.add(ResNetworkPolicies, core.Networking().V1().NetworkPolicies().Informer())
	var ist istioinformers.SharedInformerFactory
	if s.clients.Istio != nil {
		ist = istioinformers.NewSharedInformerFactory(s.clients.Istio, 0)
		s.add(ResAuthorizationPolicies, ist.Security().V1().AuthorizationPolicies().Informer())
		s.add(ResPeerAuthentications, ist.Security().V1().PeerAuthentications().Informer())
		s.add(ResRequestAuthentications, ist.Security().V1().RequestAuthentications().Informer())
	}
	var gw gwinformers.SharedInformerFactory
	if s.clients.Gateway != nil {
		gw = gwinformers.NewSharedInformerFactory(s.clients.Gateway, 0)
		s.add(ResGateways, gw.Gateway().V1().Gateways().Informer())
		s.add(ResGatewayClasses, gw.Gateway().V1().GatewayClasses().Informer())
	}
	core.Start(ctx.Done())
	if ist != nil {
		ist.Start(ctx.Done())
	}
	if gw != nil {
		gw.Start(ctx.Done())
	}
	go s.watchSync(ctx)
	go s.probeLoop(ctx)
	s.loop(ctx, publish)
	core.Shutdown()
	if ist != nil {
		ist.Shutdown()
	}
	if gw != nil {
		gw.Shutdown()
	}
}

func (s *Source) add(r Resource, inf cache.SharedIndexInformer) {
	_ = inf.SetTransform(dropManagedFields)
	_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { s.watchError(r, err) })
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { s.markDirty() },
		UpdateFunc: func(any, any) { s.markDirty() },
		DeleteFunc: func(any) { s.markDirty() },
	})
	s.mu.Lock()
	s.informers[r] = inf
	s.states[r] = ResourceState{Availability: Syncing}
	s.mu.Unlock()
}

func (s *Source) markDirty() {
	select {
	case s.dirty <- struct{}{}:
	default:
	}
}

// transportError marks the server unreachable and starts probing for its
// return. Only the first failure of an outage changes anything.
func (s *Source) transportError(err error) {
	s.mu.Lock()
	changed := s.reachable
	if changed {
		s.reachable = false
		s.problem = "cannot reach API server: " + oneLine(err)
	}
	s.mu.Unlock()
	if changed {
		select {
		case s.probe <- struct{}{}:
		default:
		}
		s.markDirty()
	}
}

// watchError records why a resource cannot be listed or watched. The
// reflector keeps retrying with backoff, so a CRD installed later or a
// restarted API server recovers by itself.
func (s *Source) watchError(r Resource, err error) {
	st := ResourceState{Availability: Failing, Detail: oneLine(err)}
	unreachable := false
	switch {
	case apierrors.IsNotFound(err):
		st = ResourceState{Availability: Missing, Detail: "API not installed (CRD missing)"}
	case apierrors.IsForbidden(err):
		st = ResourceState{Availability: Forbidden, Detail: "forbidden: " + forbiddenReason(err)}
	case isUnreachable(err):
		unreachable = true
	}
	s.mu.Lock()
	if !unreachable {
		s.states[r] = st
	} else if s.reachable {
		s.reachable = false
		s.problem = "cannot reach API server: " + oneLine(err)
	}
	s.mu.Unlock()
	if unreachable {
		select {
		case s.probe <- struct{}{}:
		default:
		}
	}
	s.markDirty()
}

func forbiddenReason(err error) string {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		if m := se.Status().Message; m != "" {
			return m
		}
	}
	return oneLine(err)
}

// isUnreachable tells a transport failure (server down, restarting, network)
// from an answer the server gave.
func isUnreachable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if _, ok := err.(apierrors.APIStatus); ok {
		return apierrors.IsServiceUnavailable(err) || apierrors.IsTimeout(err) || apierrors.IsServerTimeout(err) || apierrors.IsInternalError(err)
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "no such host", "i/o timeout", "EOF", "connection reset", "TLS handshake", "http2: client connection lost", "context deadline exceeded"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

func oneLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// watchSync marks each resource Available once its cache syncs.
func (s *Source) watchSync(ctx context.Context) {
	s.mu.Lock()
	infs := make(map[Resource]cache.SharedIndexInformer, len(s.informers))
	for r, i := range s.informers {
		infs[r] = i
	}
	s.mu.Unlock()
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for len(infs) > 0 {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for r, inf := range infs {
			if inf.HasSynced() {
				s.mu.Lock()
				s.states[r] = ResourceState{Availability: Available}
				s.mu.Unlock()
				delete(infs, r)
				s.markDirty()
			}
		}
	}
}

// probeLoop asks the server for its version while it is unreachable, so
// the outage banner clears as soon as it answers instead of when the next
// watch happens to reconnect. Idle clusters see no requests from it.
func (s *Source) probeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.probe:
		}
		for {
			_, err := s.clients.Kube.Discovery().ServerVersion()
			if err == nil {
				s.mu.Lock()
				s.reachable, s.problem = true, ""
				for r, st := range s.states {
					if st.Availability == Failing {
						s.states[r] = ResourceState{Availability: Available}
					}
				}
				s.mu.Unlock()
				s.markDirty()
				break
			}
			s.mu.Lock()
			s.reachable, s.problem = false, "cannot reach API server: "+oneLine(err)
			s.mu.Unlock()
			s.markDirty()
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Second):
			}
		}
	}
}

func (s *Source) loop(ctx context.Context, publish func(*Snapshot)) {
	var last time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		}
		wait := settle
		if gap := time.Until(last.Add(minGap)); gap > wait {
			wait = gap
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		// Drain a signal that arrived while settling: this build covers it.
		select {
		case <-s.dirty:
		default:
		}
		last = time.Now()
		publish(s.build())
	}
}

// build reads every cache into a new snapshot.
func (s *Source) build() *Snapshot {
	s.mu.Lock()
	infs := s.informers
	states := make(map[Resource]ResourceState, len(s.states))
	for r, st := range s.states {
		states[r] = st
	}
	reachable, problem := s.reachable, s.problem
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	var c ambient.Cluster
	fill(&c.Namespaces, infs[ResNamespaces])
	fill(&c.Pods, infs[ResPods])
	fill(&c.Services, infs[ResServices])
	fill(&c.Nodes, infs[ResNodes])
	fill(&c.NetworkPolicies, infs[ResNetworkPolicies])
	fill(&c.Gateways, infs[ResGateways])
	fill(&c.GatewayClasses, infs[ResGatewayClasses])
	fill(&c.AuthorizationPolicies, infs[ResAuthorizationPolicies])
	fill(&c.PeerAuthentications, infs[ResPeerAuthentications])
	fill(&c.RequestAuthentications, infs[ResRequestAuthentications])
	for _, r := range []Resource{ResGateways, ResGatewayClasses, ResAuthorizationPolicies, ResPeerAuthentications, ResRequestAuthentications} {
		if _, ok := infs[r]; !ok {
			states[r] = ResourceState{Availability: Missing, Detail: "no client for this API"}
		}
	}
	snap := Build(c, time.Now())
	snap.Context = s.clients.Context
	snap.Reachable = reachable
	snap.Problem = problem
	snap.Resources = states
	snap.Seq = seq
	return snap
}

// fill lists an informer's cache into dst, sorted by namespace and name.
func fill[T interface {
	GetNamespace() string
	GetName() string
}](dst *[]T, inf cache.SharedIndexInformer) {
	if inf == nil {
		return
	}
	items := inf.GetStore().List()
	out := make([]T, 0, len(items))
	for _, it := range items {
		if v, ok := it.(T); ok {
			out = append(out, v)
		}
	}
	sortObjects(out)
	*dst = out
}

func sortObjects[T interface {
	GetNamespace() string
	GetName() string
}](s []T) {
	sort.Slice(s, func(i, j int) bool {
		a, b := s[i], s[j]
		if a.GetNamespace() != b.GetNamespace() {
			return a.GetNamespace() < b.GetNamespace()
		}
		return a.GetName() < b.GetName()
	})
}

// ErrNoCluster is returned when no kubeconfig or in-cluster config exists.
var ErrNoCluster = fmt.Errorf("no kubeconfig found and not running in a cluster (try --demo)")
