package kube

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unique"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwinformers "sigs.k8s.io/gateway-api/pkg/client/informers/externalversions"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// Coalescing bounds: a burst of events becomes one snapshot after settle,
// and snapshots are at most one per minGap, so churn costs a few rebuilds a
// second however many objects change.
const (
	settle = 50 * time.Millisecond
	minGap = 250 * time.Millisecond
)

// recheckGap spaces the rebuilds the clock alone asks for. Pods started
// over a minute end their capture grace one after another, and a rebuild
// at each end re-analysed a 10,600-pod cluster about once a second for
// that minute, holding two snapshots' analyses and a heap 12 MiB above
// idle all along (BENCHMARKS.md). A grace is a minute's guess at
// istio-cni's pace, so a verdict that comes a few seconds after it ends
// says nothing different; one rebuild then covers every grace that ended
// in the gap. Events still rebuild at once.
const recheckGap = 5 * time.Second

// recheckIn is how long after a build the next clock-driven one comes,
// for a verdict that changes in until: a second past it, so that the
// clock has surely passed it, and no sooner than recheckGap.
func recheckIn(until time.Duration) time.Duration {
	return max(until+time.Second, recheckGap)
}

// Source watches a cluster through informers and publishes snapshots.
type Source struct {
	clients *Clients

	mu        sync.Mutex
	informers map[Resource]cache.SharedIndexInformer
	lists     map[Resource]any // *sorted[T] of each informer's objects
	states    map[Resource]ResourceState
	// servedAt is the group/version an Istio kind is read through, when
	// not v1 (served.go).
	servedAt  map[Resource]string
	reachable bool
	problem   string
	seq       uint64
	// lastEvent is when an informer last delivered a change (Unix ns):
	// a quiet cluster's last event can be old while its watch is live.
	lastEvent atomic.Int64
	// podTotal is how many pods the server holds, asked once at start so
	// the first list can show its progress; 0 until known.
	podTotal atomic.Int64
	// podsStreamed counts the pods the informer's transform has seen. A
	// streaming list (client-go's WatchList, on by default) fills a
	// temporary store and hands the informer every pod at once when it
	// ends, so until then the event handlers' count stays at 0; the
	// transform sees each pod as it arrives.
	podsStreamed atomic.Int64

	dirty chan struct{}
	probe chan struct{}

	builder builder // used by the loop goroutine only
	// progress is the last snapshot built while the pods' first list
	// streamed, and what it was built from (loop goroutine only).
	progress *progressBuild
}

// progressBuild is a snapshot built while the pods' first list streamed
// and its inputs. A progress tick that finds them unchanged needs only
// the new count: at 53,000 pods, 15,000 Services and 2,500 policies the
// analysis of everything but the pods costs 60-80 ms, and the ticks come
// every 250 ms for the whole stream, on the cores the stream needs.
type progressBuild struct {
	gens      map[Resource]uint64
	states    map[Resource]ResourceState
	reachable bool
	problem   string
	snap      *Snapshot
}

// reuses reports whether a snapshot of these inputs would be p's but for
// the pods' count: no list changed, no resource's state but that count,
// and no verdict waits on the clock.
func (p *progressBuild) reuses(gens map[Resource]uint64, states map[Resource]ResourceState, reachable bool, problem string) bool {
	if p == nil || p.reachable != reachable || p.problem != problem || !maps.Equal(p.gens, gens) || len(p.states) != len(states) {
		return false
	}
	if p.snap.Mesh != nil && !p.snap.Mesh.Recheck.IsZero() {
		return false
	}
	for r, st := range states {
		was, ok := p.states[r]
		if r == ResPods {
			was.Loaded, was.Total, st.Loaded, st.Total = 0, 0, 0, 0
		}
		if !ok || was != st {
			return false
		}
	}
	return true
}

// NewSource returns a Source over the given clients; Run starts it.
func NewSource(c *Clients) *Source {
	return &Source{
		clients:   c,
		informers: map[Resource]cache.SharedIndexInformer{},
		lists:     map[Resource]any{},
		states:    map[Resource]ResourceState{},
		reachable: true,
		dirty:     make(chan struct{}, 1),
		probe:     make(chan struct{}, 1),
	}
}

// slim keeps the informer caches small by dropping what ambx never reads:
// managedFields (often half an object) and kubectl's last-applied copy on
// every kind, and on pods the heavy parts of the spec and status (see
// slimPod). Strings that many objects repeat (namespaces, label and
// annotation keys and values, owners, images) are interned, so the cache
// holds one copy of each. Objects in the caches are never modified after
// this, so sharing their strings is safe; the YAML view GETs the object
// afresh (Fetch) rather than showing this copy.
func slim(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
		if a := m.GetAnnotations(); a[lastApplied] != "" {
			delete(a, lastApplied)
		}
		m.SetNamespace(intern(m.GetNamespace()))
		m.SetGenerateName(intern(m.GetGenerateName()))
		m.SetLabels(internMap(m.GetLabels()))
		m.SetAnnotations(internMap(m.GetAnnotations()))
		if refs := m.GetOwnerReferences(); len(refs) > 0 {
			m.SetOwnerReferences(owners.share(refs))
		}
	}
	switch o := obj.(type) {
	case *corev1.Pod:
		slimPod(o)
	case *corev1.ConfigMap:
		slimConfigMap(o)
	case *admissionv1.MutatingWebhookConfiguration:
		o.Webhooks = nil // CA bundles and rules; tags need only the labels
	}
	return obj, nil
}

// slimCopy slims a copy. client-go's fake tracker hands a new watch the
// objects it stores, not copies of them (testing/fixture.go, Watch), so
// slimming in place would rewrite the demo cluster's own objects while its
// writers read them: a data race, and a demo that loses what slim drops.
func slimCopy(obj any) (any, error) {
	if o, ok := obj.(runtime.Object); ok {
		obj = o.DeepCopyObject()
	}
	return slim(obj)
}

// intern returns the one shared copy of s. Decoding gives every object its
// own copy of each string; at 10,000 pods the namespaces, label keys and
// values, node names and images alone are megabytes of duplicates.
func intern(s string) string {
	if s == "" {
		return s
	}
	return unique.Make(s).Value()
}

// internMap is the one shared map equal to m, its keys and values
// interned (sharedMaps). A new map, because a map's keys cannot be
// replaced in place.
func internMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return m
	}
	return labelMaps.share(m)
}

// slimConfigMap keeps of Istio's ConfigMaps only what install.Discover
// reads: the mesh config and istio-cni's settings. The injector's template
// alone is ~100 KiB per revision.
func slimConfigMap(c *corev1.ConfigMap) {
	c.BinaryData = nil
	switch {
	case c.Name == "istio-cni-config":
	case c.Name == "istio" || strings.HasPrefix(c.Name, "istio-"):
		if m, ok := c.Data["mesh"]; ok {
			c.Data = map[string]string{"mesh": m}
		} else {
			c.Data = nil
		}
	default:
		c.Data = nil
	}
}

const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

// readyConditions are the Ready conditions slim keeps (type and status
// only), one slice per status every pod shares.
var readyConditions = map[corev1.ConditionStatus][]corev1.PodCondition{
	corev1.ConditionTrue:    {{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
	corev1.ConditionFalse:   {{Type: corev1.PodReady, Status: corev1.ConditionFalse}},
	corev1.ConditionUnknown: {{Type: corev1.PodReady, Status: corev1.ConditionUnknown}},
}

func readyCondition(status corev1.ConditionStatus) []corev1.PodCondition {
	if c, ok := readyConditions[status]; ok {
		return c
	}
	return []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionStatus(intern(string(status)))}}
}

// slimPod drops the pod fields no analysis or view reads: environment,
// commands, resources, mounts, volumes, scheduling and DNS settings,
// security contexts, every condition but Ready (and of that only its
// status), the containers' states, images' IDs and host IPs. It keeps
// identity, placement, the service account, containers' names, images,
// ports, probes and restart policy (netpol and ambient read them), the
// pod's IPs, phase and start, and each container's readiness and restart
// count. A view that starts showing a dropped field must keep it here.
func slimPod(p *corev1.Pod) {
	s := &p.Spec
	s.Volumes, s.Affinity, s.Tolerations, s.TopologySpreadConstraints = nil, nil, nil, nil
	s.SecurityContext, s.ImagePullSecrets, s.DNSConfig, s.Overhead = nil, nil, nil, nil
	s.ResourceClaims, s.Resources, s.ReadinessGates, s.HostAliases = nil, nil, nil, nil
	s.NodeSelector, s.SchedulingGates, s.OS, s.RuntimeClassName = nil, nil, nil, nil
	s.Priority, s.PreemptionPolicy, s.EnableServiceLinks, s.AutomountServiceAccountToken = nil, nil, nil, nil
	s.TerminationGracePeriodSeconds, s.ActiveDeadlineSeconds = nil, nil
	s.SchedulerName, s.PriorityClassName, s.DNSPolicy, s.Hostname, s.Subdomain = "", "", "", "", ""
	s.DeprecatedServiceAccount = ""
	s.NodeName, s.ServiceAccountName = intern(s.NodeName), intern(s.ServiceAccountName)
	s.RestartPolicy = corev1.RestartPolicy(intern(string(s.RestartPolicy)))
	for _, list := range [][]corev1.Container{s.Containers, s.InitContainers} {
		for i := range list {
			c := &list[i]
			c.Command, c.Args, c.Env, c.EnvFrom = nil, nil, nil, nil
			c.Resources, c.ResizePolicy = corev1.ResourceRequirements{}, nil
			c.VolumeMounts, c.VolumeDevices, c.Lifecycle, c.SecurityContext = nil, nil, nil, nil
			c.TerminationMessagePath, c.TerminationMessagePolicy, c.ImagePullPolicy, c.WorkingDir = "", "", "", ""
			c.Name, c.Image = intern(c.Name), intern(c.Image)
			for j := range c.Ports {
				pt := &c.Ports[j]
				pt.Name, pt.Protocol, pt.HostIP = intern(pt.Name), corev1.Protocol(intern(string(pt.Protocol))), intern(pt.HostIP)
			}
			for _, pr := range []*corev1.Probe{c.LivenessProbe, c.ReadinessProbe, c.StartupProbe} {
				if pr != nil && pr.HTTPGet != nil {
					h := pr.HTTPGet
					h.Path, h.Host, h.Scheme, h.HTTPHeaders = intern(h.Path), intern(h.Host), corev1.URIScheme(intern(string(h.Scheme))), nil
					h.Port.StrVal = intern(h.Port.StrVal)
				}
			}
		}
	}
	s.EphemeralContainers = nil
	// The pods of one template have equal containers once slimmed: one
	// copy, probes and ports included, serves them all.
	if len(s.Containers) > 0 {
		s.Containers = containers.share(s.Containers)
	}
	if len(s.InitContainers) > 0 {
		s.InitContainers = containers.share(s.InitContainers)
	}
	st := &p.Status
	st.Phase = corev1.PodPhase(intern(string(st.Phase)))
	var ready []corev1.PodCondition
	for _, c := range st.Conditions {
		if c.Type == corev1.PodReady {
			ready = readyCondition(c.Status)
			break
		}
	}
	st.Conditions = ready
	for _, list := range [][]corev1.ContainerStatus{st.ContainerStatuses, st.InitContainerStatuses} {
		for i := range list {
			c := &list[i]
			*c = corev1.ContainerStatus{Name: intern(c.Name), Ready: c.Ready, RestartCount: c.RestartCount, Started: c.Started}
		}
	}
	if len(st.ContainerStatuses) > 0 {
		st.ContainerStatuses = statuses.share(st.ContainerStatuses)
	}
	if len(st.InitContainerStatuses) > 0 {
		st.InitContainerStatuses = statuses.share(st.InitContainerStatuses)
	}
	st.EphemeralContainerStatuses = nil
	st.HostIP, st.HostIPs, st.QOSClass, st.NominatedNodeName, st.ResourceClaimStatuses = "", nil, "", "", nil
	st.Resize, st.ExtendedResourceClaimStatus = "", nil
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
	// The installation's objects, each kind by its label: a factory holds
	// one informer per type, so each selector gets its own.
	byLabel := func(sel string) informers.SharedInformerFactory {
		return informers.NewSharedInformerFactoryWithOptions(s.clients.Kube, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = sel }))
	}
	istiodF, dataplaneF, revF := byLabel(install.IstiodSelector), byLabel(install.DataplaneSelector), byLabel(install.RevisionSelector)
	add[*appsv1.Deployment](s, ResIstiodDeployments, istiodF.Apps().V1().Deployments().Informer())
	add[*appsv1.DaemonSet](s, ResDataplaneDaemonSets, dataplaneF.Apps().V1().DaemonSets().Informer())
	add[*corev1.ConfigMap](s, ResIstioConfigMaps, revF.Core().V1().ConfigMaps().Informer())
	add[*admissionv1.MutatingWebhookConfiguration](s, ResIstioWebhooks, revF.Admissionregistration().V1().MutatingWebhookConfigurations().Informer())
	factories := []informers.SharedInformerFactory{core, istiodF, dataplaneF, revF}
	add[*corev1.Namespace](s, ResNamespaces, core.Core().V1().Namespaces().Informer())
	add[*corev1.Pod](s, ResPods, s.podInformer(core))
	add[*corev1.Service](s, ResServices, core.Core().V1().Services().Informer())
	add[*corev1.Node](s, ResNodes, core.Core().V1().Nodes().Informer())
	add[*networkingv1.NetworkPolicy](s, ResNetworkPolicies, core.Networking().V1().NetworkPolicies().Informer())
	// Istio's kinds are read at the version the server serves (served.go).
	var ist []cache.SharedIndexInformer
	if s.clients.Istio != nil {
		ist = s.addIstio(s.clients.Istio)
	}
	var gw gwinformers.SharedInformerFactory
	if s.clients.Gateway != nil {
		gw = gwinformers.NewSharedInformerFactory(s.clients.Gateway, 0)
		add[*gwv1.Gateway](s, ResGateways, gw.Gateway().V1().Gateways().Informer())
		add[*gwv1.GatewayClass](s, ResGatewayClasses, gw.Gateway().V1().GatewayClasses().Informer())
	}
	for _, f := range factories {
		f.Start(ctx.Done())
	}
	var istRunning sync.WaitGroup
	for _, inf := range ist {
		istRunning.Go(func() { inf.RunWithContext(ctx) })
	}
	if gw != nil {
		gw.Start(ctx.Done())
	}
	go s.watchSync(ctx)
	go s.probeLoop(ctx)
	go s.countPods(ctx)
	s.loop(ctx, publish)
	for _, f := range factories {
		f.Shutdown()
	}
	istRunning.Wait()
	if gw != nil {
		gw.Shutdown()
	}
}

// podInformer is the factory's pod informer, whose watch (and streaming
// list) decodes through kube/podwatch when the clients have its REST
// client: at 10,600 pods client-go's own decoding was a third of
// start-up's CPU in copies and fields the transform drops.
func (s *Source) podInformer(core informers.SharedInformerFactory) cache.SharedIndexInformer {
	rc := s.clients.Pods
	if rc == nil {
		return core.Core().V1().Pods().Informer()
	}
	return core.InformerFor(&corev1.Pod{}, func(k kubernetes.Interface, resync time.Duration) cache.SharedIndexInformer {
		lw := &cache.ListWatch{
			ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return k.CoreV1().Pods("").List(ctx, o)
			},
			WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				o.Watch = true
				return rc.Get().Resource("pods").VersionedParams(&o, scheme.ParameterCodec).Watch(ctx)
			},
		}
		return cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, k), &corev1.Pod{}, resync,
			cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	})
}

// podsProgressStep is how many streamed pods ask for a progress snapshot.
const podsProgressStep = 500

// add watches one resource; its objects are kept sorted between snapshots.
func add[T object](s *Source, r Resource, inf cache.SharedIndexInformer) {
	transform := slim
	if s.clients.Fake {
		transform = slimCopy
	}
	if r == ResPods {
		slimmed := transform
		transform = func(o any) (any, error) {
			// A snapshot now and then while the first list streams, so
			// the progress line moves (markDirty does not block).
			if n := s.podsStreamed.Add(1); n%podsProgressStep == 0 {
				s.markDirty()
			}
			return slimmed(o)
		}
	}
	_ = inf.SetTransform(transform)
	_ = inf.SetWatchErrorHandler(func(_ *cache.Reflector, err error) { s.watchError(r, err) })
	l := newSorted[T](inf.GetStore())
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { l.count.Add(1); l.touch(o); s.event() },
		UpdateFunc: func(_, o any) { l.touch(o); s.event() },
		DeleteFunc: func(o any) { l.count.Add(-1); l.touch(o); s.event() },
	})
	s.mu.Lock()
	s.informers[r] = inf
	s.lists[r] = l
	s.states[r] = ResourceState{Availability: Syncing}
	s.mu.Unlock()
}

// event notes an informer change: when, and that a snapshot is due.
func (s *Source) event() {
	s.lastEvent.Store(time.Now().UnixNano())
	s.markDirty()
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
	var unserved *unservedError
	switch {
	case errors.As(err, &unserved):
		st.Detail = unserved.detail()
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

// countPods asks the server how many pods it holds: a LIST of one pod
// carries the count of the rest. Nothing depends on the answer but the
// progress line of the first list; a server that does not give it (a
// fake, an old one) leaves the line without a total.
func (s *Source) countPods(ctx context.Context) {
	if s.clients.Kube == nil {
		return
	}
	l, err := s.clients.Kube.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
	if err != nil || l.RemainingItemCount == nil {
		return
	}
	s.podTotal.Store(int64(len(l.Items)) + *l.RemainingItemCount)
	s.markDirty()
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
					// A resource that never synced is still loading, not
					// read: watchSync marks it when it is.
					if st.Availability == Failing && s.informers[r].HasSynced() {
						s.states[r] = ResourceState{Availability: Available}
					} else if st.Availability == Failing {
						s.states[r] = ResourceState{Availability: Syncing}
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
	// recheck fires when the last snapshot's verdicts change by the clock
	// alone (ambient.Analysis.Recheck): a quiet cluster sends no event
	// then, yet a pod past its capture grace must be judged again.
	var recheck <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.dirty:
		case <-recheck:
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
		snap := s.build()
		recheck = nil
		if snap.Mesh != nil && !snap.Mesh.Recheck.IsZero() {
			recheck = time.After(recheckIn(time.Until(snap.Mesh.Recheck)))
		}
		publish(snap)
	}
}

// build reads every cache into a new snapshot.
func (s *Source) build() *Snapshot {
	s.mu.Lock()
	lists := s.lists
	states := make(map[Resource]ResourceState, len(s.states))
	for r, st := range s.states {
		states[r] = st
	}
	reachable, problem := s.reachable, s.problem
	for r, gv := range s.servedAt {
		if st := states[r]; st.Availability == Available && st.Detail == "" {
			st.Detail = "read at " + gv
			states[r] = st
		}
	}
	syncing := false
	if st, ok := states[ResPods]; ok && st.Availability == Syncing {
		syncing = true
		// Until the first list of pods is complete, snapshots carry its
		// progress and none of its pods: analysing and drawing a growing
		// part of them cost start-up most of its time, and a partial list
		// is not the cluster (the pods' checks say they did not run).
		if l, ok := lists[ResPods].(*sorted[*corev1.Pod]); ok {
			st.Loaded = int(l.count.Load())
		}
		st.Total = int(s.podTotal.Load())
		// A stream that restarted counts some pods twice: never more
		// than the server holds.
		if n := int(s.podsStreamed.Load()); n > st.Loaded {
			st.Loaded = n
			if st.Total > 0 {
				st.Loaded = min(n, st.Total)
			}
		}
		states[ResPods] = st
		lists = maps.Clone(lists)
		delete(lists, ResPods)
	}
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	// During an outage what never synced is unreachable, not loading: the
	// installation's objects too, or the header would say "Istio loading…"
	// until the server returns.
	states = withOutage(states, reachable, problem)
	c := collect(lists)
	c.Install = discover(lists, states)
	c.RootNamespace = c.Install.RootNamespace
	for _, r := range []Resource{ResGateways, ResGatewayClasses, ResAuthorizationPolicies, ResPeerAuthentications, ResRequestAuthentications, ResServiceEntries, ResWorkloadEntries} {
		if _, ok := lists[r]; !ok {
			states[r] = ResourceState{Availability: Missing, Detail: "no client for this API"}
		}
	}
	c.ServiceEntriesUnread = !states[ResServiceEntries].Availability.Read()
	now := time.Now()
	var gens map[Resource]uint64
	if syncing {
		gens = generations(lists)
	}
	var snap *Snapshot
	if p := s.progress; syncing && p.reuses(gens, states, reachable, problem) {
		again := *p.snap
		snap = &again
		snap.Taken = now
	} else {
		snap = s.builder.build(c, now)
		snap.Context = s.clients.Context
		snap.Reachable = reachable
		snap.Problem = problem
		snap.Resources = states
		snap.DropUnchecked()
		s.progress = nil
		if syncing {
			s.progress = &progressBuild{gens: gens, states: states, reachable: reachable, problem: problem, snap: snap}
		}
	}
	snap.Resources = states
	snap.Seq = seq
	if ns := s.lastEvent.Load(); ns != 0 {
		snap.LastEvent = time.Unix(0, ns)
	}
	return snap
}

// generations says which version of each list the last take returned.
func generations(lists map[Resource]any) map[Resource]uint64 {
	gens := make(map[Resource]uint64, len(lists))
	for r, l := range lists {
		if g, ok := l.(interface{ generation() uint64 }); ok {
			gens[r] = g.generation()
		}
	}
	return gens
}

// collect takes each resource's sorted objects: only the resources whose
// informers changed since the last call cost anything.
func collect(lists map[Resource]any) ambient.Cluster {
	var c ambient.Cluster
	take(&c.Namespaces, lists[ResNamespaces])
	take(&c.Pods, lists[ResPods])
	take(&c.Services, lists[ResServices])
	take(&c.Nodes, lists[ResNodes])
	take(&c.NetworkPolicies, lists[ResNetworkPolicies])
	take(&c.Gateways, lists[ResGateways])
	take(&c.GatewayClasses, lists[ResGatewayClasses])
	take(&c.AuthorizationPolicies, lists[ResAuthorizationPolicies])
	take(&c.PeerAuthentications, lists[ResPeerAuthentications])
	take(&c.RequestAuthentications, lists[ResRequestAuthentications])
	take(&c.ServiceEntries, lists[ResServiceEntries])
	take(&c.WorkloadEntries, lists[ResWorkloadEntries])
	return c
}

// discover reads the installation from its watched objects; a kind not
// (yet) listed is reported as unread, never as absent.
func discover(lists map[Resource]any, states map[Resource]ResourceState) install.Info {
	var o install.Objects
	take(&o.Deployments, lists[ResIstiodDeployments])
	take(&o.DaemonSets, lists[ResDataplaneDaemonSets])
	take(&o.ConfigMaps, lists[ResIstioConfigMaps])
	take(&o.Webhooks, lists[ResIstioWebhooks])
	for r, kind := range map[Resource]string{ResIstiodDeployments: "deployments", ResDataplaneDaemonSets: "daemonsets",
		ResIstioConfigMaps: "configmaps", ResIstioWebhooks: "mutatingwebhookconfigurations"} {
		st, ok := states[r]
		switch {
		case !ok:
			o.Unread = setUnread(o.Unread, kind, "not watched")
		case st.Availability == Syncing:
			o.Unread = setUnread(o.Unread, kind, install.Loading)
		case st.Availability != Available:
			why := st.Detail
			if why == "" {
				why = "unavailable"
			}
			o.Unread = setUnread(o.Unread, kind, why)
		}
	}
	return install.Discover(o)
}

func setUnread(m map[string]string, k, v string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	m[k] = v
	return m
}

func take[T object](dst *[]T, l any) {
	if l, ok := l.(*sorted[T]); ok {
		*dst = l.take()
	}
}

// object is what the Source keeps of each watched kind.
type object interface {
	comparable
	GetNamespace() string
	GetName() string
}

func sortObjects[T object](s []T) {
	slices.SortFunc(s, compareObjects)
}

func compareObjects[T object](a, b T) int {
	return compareKey(a.GetNamespace(), a.GetName(), b)
}

func compareKey[T object](ns, name string, b T) int {
	if c := strings.Compare(ns, b.GetNamespace()); c != 0 {
		return c
	}
	return strings.Compare(name, b.GetName())
}

// sorted keeps one resource's objects sorted by namespace and name between
// snapshots. Informer handlers name the keys that changed; take re-reads
// only those from the store and merges them in, so one changed pod costs a
// copy of the slice, not a list and sort of 10,000 pods. An unchanged
// resource hands out the same slice: snapshots share it and never modify it.
type sorted[T object] struct {
	store cache.Store

	// count is the objects added less those deleted, as the handlers saw
	// them: the progress of the first list.
	count atomic.Int64

	mu      sync.Mutex
	changed map[string]struct{} // store keys touched since the last take
	relist  bool                // nothing taken yet: list the whole store

	items []T    // last taken; shared with published snapshots
	gen   uint64 // how many times take replaced items
}

// generation counts the takes that returned a new slice: the same number
// means the same objects.
func (l *sorted[T]) generation() uint64 { return l.gen }

func newSorted[T object](store cache.Store) *sorted[T] {
	return &sorted[T]{store: store, changed: map[string]struct{}{}, relist: true}
}

// touch records that the object's key changed; the informer calls its
// handlers after its store holds the change. Until the first take, which
// lists the whole store, there is nothing to record: the first list of
// 10,000 pods would otherwise build a set of 10,000 keys to throw away.
func (l *sorted[T]) touch(obj any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.relist {
		return
	}
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		l.relist = true // cannot name it: read everything next time
	} else {
		l.changed[key] = struct{}{}
	}
}

// take returns the objects now in the store, sorted.
func (l *sorted[T]) take() []T {
	l.mu.Lock()
	var changed map[string]struct{}
	if len(l.changed) > 0 {
		// Hand the set over whole: handlers go on writing to a new one.
		changed, l.changed = l.changed, map[string]struct{}{}
	}
	relist := l.relist
	l.relist = false
	l.mu.Unlock()
	switch {
	case relist:
		l.items = l.list()
		l.gen++
	case changed != nil:
		l.items = l.merge(changed)
		l.gen++
	}
	return l.items
}

func (l *sorted[T]) list() []T {
	all := l.store.List()
	out := make([]T, 0, len(all))
	for _, o := range all {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	sortObjects(out)
	return out
}

// change is the store's current state of one touched key.
type change[T object] struct {
	ns, name string
	obj      T
	exists   bool
}

// merge walks the old items and the sorted changes together, O(n) copying
// plus O(k log n) comparing for k changes, into a new slice so published
// snapshots keep theirs.
func (l *sorted[T]) merge(keys map[string]struct{}) []T {
	cs := make([]change[T], 0, len(keys))
	adds := 0
	for k := range keys {
		ns, name, err := cache.SplitMetaNamespaceKey(k)
		if err != nil {
			return l.list()
		}
		c := change[T]{ns: ns, name: name}
		if o, ok, _ := l.store.GetByKey(k); ok {
			c.obj, c.exists = o.(T)
		}
		if c.exists {
			adds++
		}
		cs = append(cs, c)
	}
	slices.SortFunc(cs, func(a, b change[T]) int {
		if c := strings.Compare(a.ns, b.ns); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	old := l.items
	out := make([]T, 0, len(old)+adds)
	i := 0
	for _, c := range cs {
		// Binary search, then copy the run before it in one go: comparing
		// every element on the way was most of the cost.
		j, found := slices.BinarySearchFunc(old[i:], c, func(o T, c change[T]) int {
			return -compareKey(c.ns, c.name, o)
		})
		out = append(out, old[i:i+j]...)
		i += j
		if found {
			i++ // replaced or deleted
		}
		if c.exists {
			out = append(out, c.obj)
		}
	}
	return append(out, old[i:]...)
}

// ErrNoCluster is returned when no kubeconfig or in-cluster config exists.
var ErrNoCluster = fmt.Errorf("no kubeconfig found and not running in a cluster (try --demo)")
