package whatif

import (
	"cmp"
	"slices"
	"strings"
	"time"

	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/migration"
)

// Labels and annotations of injected sidecar pods that a replacement
// without a sidecar does not carry.
const (
	labelSidecarInject = "sidecar.istio.io/inject"
	labelTLSMode       = "security.istio.io/tlsMode"
	sidecarContainer   = "istio-proxy"
)

// Run applies changes to a copy of s's objects and reports what the state
// they produce would break, and what it would fix, against s's own
// findings. A nil snapshot gives an empty report that says so (Unread).
func Run(s *kube.Snapshot, changes ...Change) Report {
	var r Report
	for _, c := range changes {
		if d := c.String(); d != "" {
			r.Writes = append(r.Writes, d)
		}
	}
	if s == nil || s.Mesh == nil {
		r.Unread = append(r.Unread, "no snapshot of the cluster: nothing can be predicted")
		return r
	}
	for res, st := range s.Resources {
		if !st.Availability.Read() {
			r.Unread = append(r.Unread, res.Title()+" "+st.Availability.String())
		}
	}
	slices.Sort(r.Unread)

	w := newWorld(s)
	for _, c := range changes {
		if err := w.apply(c); err != "" {
			r.Unknown = append(r.Unknown, err)
		}
	}
	w.settle()

	taken := s.Taken
	if !s.Cluster.Now.IsZero() {
		taken = s.Cluster.Now
	}
	after := kube.Build(w.c, taken)
	r.compare(s, after, w)
	return r
}

// world is the hypothetical cluster: slices copied from the snapshot,
// objects deep-copied before they change.
type world struct {
	before *kube.Snapshot
	c      ambient.Cluster
	// touched are the namespaces whose pods istio-cni reconsiders: those
	// whose labels changed, or whose pods did.
	touched map[string]bool
	// replaced are the pods a restart replaced, by key, with whether the
	// replacement has a sidecar.
	replaced map[ambient.Key]bool
	// restarted are the owners restarted, per namespace ("" key set: all).
	restarted map[string]map[string]bool
}

func newWorld(s *kube.Snapshot) *world {
	c := s.Cluster
	c.Namespaces = slices.Clone(c.Namespaces)
	c.Pods = slices.Clone(c.Pods)
	c.Services = slices.Clone(c.Services)
	c.Gateways = slices.Clone(c.Gateways)
	c.ServiceEntries = slices.Clone(c.ServiceEntries)
	c.WorkloadEntries = slices.Clone(c.WorkloadEntries)
	return &world{before: s, c: c, touched: map[string]bool{}, replaced: map[ambient.Key]bool{}, restarted: map[string]map[string]bool{}}
}

// apply makes one change and returns why it could not, or "".
func (w *world) apply(c Change) string {
	switch c.kind {
	case changeLabels:
		return w.labels(c)
	case changeRestart:
		ns := c.ref.Name
		set := w.restarted[ns]
		if set == nil {
			set = map[string]bool{}
			w.restarted[ns] = set
		}
		if len(c.owners) == 0 {
			set[""] = true
		}
		for _, o := range c.owners {
			set[o] = true
		}
		w.touched[ns] = true
	case changeAddGateway:
		gw := c.gw
		i, found := slices.BinarySearchFunc(w.c.Gateways, gw, func(a, b *gwv1.Gateway) int {
			return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
		if found {
			w.c.Gateways[i] = gw
		} else {
			w.c.Gateways = slices.Insert(w.c.Gateways, i, gw)
		}
	case changeRemoveGateway:
		n := len(w.c.Gateways)
		w.c.Gateways = slices.DeleteFunc(w.c.Gateways, func(g *gwv1.Gateway) bool {
			return g != nil && g.Namespace == c.ref.Namespace && g.Name == c.ref.Name
		})
		if len(w.c.Gateways) == n {
			return "gateway " + name(c.ref) + " is not in the snapshot"
		}
		w.c.Pods = slices.DeleteFunc(w.c.Pods, func(p *corev1.Pod) bool {
			return p != nil && p.Namespace == c.ref.Namespace && p.Labels[ambient.LabelGatewayName] == c.ref.Name
		})
	}
	return ""
}

// relabel returns a copy of labels with the change made.
func relabel(l map[string]string, c Change) map[string]string {
	out := make(map[string]string, len(l)+len(c.set))
	for k, v := range l {
		out[k] = v
	}
	for _, k := range c.remove {
		delete(out, k)
	}
	for k, v := range c.set {
		out[k] = v
	}
	return out
}

func (w *world) labels(c Change) string {
	r := c.ref
	var found bool
	switch r.Kind {
	case KindNamespace:
		// Matched by name alone, as namespaces are cluster-scoped.
		found = relabelIn(w.c.Namespaces, finding.Ref{Kind: r.Kind, Name: r.Name}, c, (*corev1.Namespace).DeepCopy)
	case KindPod:
		found = relabelIn(w.c.Pods, r, c, (*corev1.Pod).DeepCopy)
	case KindService:
		found = relabelIn(w.c.Services, r, c, (*corev1.Service).DeepCopy)
	case KindServiceEntry:
		found = relabelIn(w.c.ServiceEntries, r, c, (*networkingv1.ServiceEntry).DeepCopy)
	case KindWorkloadEntry:
		found = relabelIn(w.c.WorkloadEntries, r, c, (*networkingv1.WorkloadEntry).DeepCopy)
	case KindGateway:
		found = relabelIn(w.c.Gateways, r, c, (*gwv1.Gateway).DeepCopy)
	default:
		return "whatif cannot label a " + strings.ToLower(r.Kind)
	}
	if !found {
		return strings.ToLower(r.Kind) + " " + name(r) + " is not in the snapshot"
	}
	// A namespace's or a pod's labels decide capture: istio-cni acts on
	// that namespace when the world settles.
	if r.Kind == KindNamespace {
		w.touched[r.Name] = true
	} else if r.Kind == KindPod {
		w.touched[r.Namespace] = true
	}
	return ""
}

// relabelIn replaces r's object in objs by a copy with c's labels; the
// snapshot's own object is never modified.
func relabelIn[T interface {
	comparable
	metav1.Object
}](objs []T, r finding.Ref, c Change, deepCopy func(T) T) bool {
	var none T
	for i, o := range objs {
		if o != none && o.GetNamespace() == r.Namespace && o.GetName() == r.Name {
			o = deepCopy(o)
			o.SetLabels(relabel(o.GetLabels(), c))
			objs[i] = o
			return true
		}
	}
	return false
}

// settle lets the controllers act: restarted workloads get new pods
// (injected or not, by the namespace's labels after the change), then
// istio-cni captures or releases the pods of every touched namespace.
func (w *world) settle() {
	nsByName := map[string]*corev1.Namespace{}
	for _, ns := range w.c.Namespaces {
		if ns != nil {
			nsByName[ns.Name] = ns
		}
	}
	for i, p := range w.c.Pods {
		if p == nil || !w.restarts(p) {
			continue
		}
		np := p.DeepCopy()
		inject := migration.Injected(nsByName[p.Namespace], np)
		if !inject {
			stripSidecar(np)
		}
		// A fresh pod has no capture state yet; istio-cni decides below.
		delete(np.Annotations, ambient.AnnotationRedirection)
		w.c.Pods[i] = np
		w.replaced[ambient.Key{Namespace: p.Namespace, Name: p.Name}] = inject
	}
	if len(w.touched) == 0 {
		return
	}
	// First pass: which pods of touched namespaces would istio-cni
	// capture? Without the annotation, a pod it would capture on a ready
	// node is what the analysis calls "restart" (it should be captured and
	// is not); the clock is left out so a pod just started counts too.
	probe := w.c
	probe.Now = time.Time{}
	probe.Pods = slices.Clone(w.c.Pods)
	for i, p := range probe.Pods {
		if p == nil || !w.touched[p.Namespace] || p.Annotations[ambient.AnnotationRedirection] == "" {
			continue
		}
		np := p.DeepCopy()
		delete(np.Annotations, ambient.AnnotationRedirection)
		probe.Pods[i] = np
	}
	mesh := ambient.Analyze(&probe)
	for i, p := range probe.Pods {
		if p == nil || !w.touched[p.Namespace] {
			continue
		}
		k := ambient.Key{Namespace: p.Namespace, Name: p.Name}
		_, isNew := w.replaced[k]
		was := w.before.Mesh.Pods[k].State
		switch mesh.Pods[k].State {
		case ambient.PodNeedsRestart:
			if was == ambient.PodNeedsRestart && !isNew {
				// Its capture failed for good; a label change does not
				// retry it, so it stays as it is.
				w.c.Pods[i] = p
				continue
			}
			if was == ambient.PodPending && !isNew {
				continue // keeps its annotation: no ztunnel accepts it yet
			}
			np := p.DeepCopy()
			if np.Annotations == nil {
				np.Annotations = map[string]string{}
			}
			np.Annotations[ambient.AnnotationRedirection] = "enabled"
			w.c.Pods[i] = np
		case ambient.PodCaptured, ambient.PodPending, ambient.PodSidecar, ambient.PodHostNetwork:
			// Unchanged by the probe (a sidecar's annotation is moot).
		default:
			// No longer matched, or cannot be captured now: istio-cni
			// removes its redirection.
			w.c.Pods[i] = p
		}
	}
}

// restarts reports whether a restart change replaces the pod.
func (w *world) restarts(p *corev1.Pod) bool {
	set := w.restarted[p.Namespace]
	if set == nil {
		return false
	}
	owner := w.before.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Owner
	if !migration.Restartable(owner) {
		return false
	}
	return set[""] || set[owner]
}

// stripSidecar makes p the pod its template gives without the injector.
func stripSidecar(p *corev1.Pod) {
	p.Spec.Containers = slices.DeleteFunc(p.Spec.Containers, func(c corev1.Container) bool { return c.Name == sidecarContainer })
	p.Spec.InitContainers = slices.DeleteFunc(p.Spec.InitContainers, func(c corev1.Container) bool {
		return c.Name == sidecarContainer || c.Name == "istio-init" || c.Name == "istio-validation"
	})
	for k := range p.Annotations {
		if strings.HasPrefix(k, "sidecar.istio.io/") {
			delete(p.Annotations, k)
		}
	}
	delete(p.Labels, labelTLSMode)
	delete(p.Labels, ambient.LabelTunnel)
}

// inMesh reports whether a pod has a mesh identity that ztunnel accepts
// as a peer (STRICT admits it).
func inMesh(st ambient.PodState) bool {
	return st == ambient.PodCaptured || st == ambient.PodPending || st == ambient.PodSidecar
}

// findingKey identifies a finding across two analyses: its counts may
// change in Why, not in what it is about.
type findingKey struct {
	code  string
	obj   finding.Ref
	title string
}

func keyOf(f finding.Finding) findingKey { return findingKey{f.Code, f.Object, f.Title} }
