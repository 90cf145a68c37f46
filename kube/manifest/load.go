// Package manifest reads Kubernetes manifests (multi-document YAML, JSON,
// List, folders) into the objects the analyses read, remembering the file
// and line each came from. `ambx reach -f` and `ambx audit -f` share it, so
// both judge the same intended state: the pods of a workload's template,
// which in an ambient namespace are judged as captured, since that is what
// istio-cni will make of them.
package manifest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	netv1beta1 "istio.io/client-go/pkg/apis/networking/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	secv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	istioscheme "istio.io/client-go/pkg/clientset/versioned/scheme"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwv1beta1 "sigs.k8s.io/gateway-api/apis/v1beta1"
	gwscheme "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/scheme"
	"sigs.k8s.io/yaml"

	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// Set is what a manifest stream holds for the analyses: an ambient.Cluster
// with sorted slices, and where each object came from.
type Set struct {
	ambient.Cluster
	// Origin maps "Kind ns/name" (finding.Ref's String form; "Kind name"
	// for cluster-scoped objects) to where the object was defined. A
	// workload's pod is "Pod ns/name" at the workload's position.
	Origin map[string]Position
	// Templates maps the "Pod ns/name" of each pod made from a workload's
	// template to the workload, "Deployment ns/name".
	Templates map[string]string
	// Notes are things worth telling the user that do not stop the run:
	// duplicates, documents without a kind, unknown fields outside
	// NetworkPolicies, files skipped.
	Notes []string
}

// Position is where an object was defined.
type Position struct {
	File  string // empty for objects read from a cluster
	Line  int    // 1-based line of the object in File; 0 when unknown
	Where string // "file: document N[ item K]", for messages
	node  *yamlv3.Node
}

// String returns Where.
func (p Position) String() string { return p.Where }

// LineOf returns the line of the field at a JSON pointer inside the object
// ("/spec/ingress/0/ports"), or of the nearest enclosing field that exists;
// the object's own line when its text could not be mapped.
func (p Position) LineOf(pointer string) int {
	if l := lineOf(p.node, pointer); l > 0 {
		return l
	}
	return p.Line
}

// decoder decodes typed objects of every kind the analyses read and
// reports unknown or duplicate fields, which in a NetworkPolicy silently
// change what it allows.
var decoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{scheme.AddToScheme, istioscheme.AddToScheme, gwscheme.AddToScheme} {
		if err := add(s); err != nil {
			panic(err) // the schemes are compiled in: this cannot fail at run time
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer()
}()

// wanted are the kinds read; all others are skipped quietly.
var wanted = map[string]bool{
	"List": true, "Namespace": true, "Pod": true, "Service": true, "Node": true, "NetworkPolicy": true,
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"ReplicationController": true, "Job": true, "CronJob": true,
	"Gateway": true, "GatewayClass": true,
	"AuthorizationPolicy": true, "PeerAuthentication": true, "RequestAuthentication": true,
	"ServiceEntry": true, "WorkloadEntry": true,
	"ConfigMap": true, "MutatingWebhookConfiguration": true,
}

// strictKinds are the kinds where an unknown field is an error, not a
// note: a misspelt field changes what they allow, and the API server
// would refuse it too.
var strictKinds = map[string]bool{"NetworkPolicy": true, "AuthorizationPolicy": true, "PeerAuthentication": true}

type loader struct {
	Set
	index   map[string]int  // "Kind ns/name" -> position in its slice
	total   int             // bytes read so far
	install install.Objects // what install.Discover reads, when the input holds Istio's own objects
}

func newLoader() *loader {
	return &loader{Set: Set{Origin: map[string]Position{}, Templates: map[string]string{}}, index: map[string]int{}}
}

func (l *loader) load(name string, data []byte) error {
	chunks, err := split(data)
	if err != nil {
		return fmt.Errorf("%s: not YAML or JSON: %v", name, err)
	}
	for i, c := range chunks {
		where := fmt.Sprintf("%s: document %d", name, i+1)
		raw := c.text
		if !c.json {
			if raw, err = yaml.YAMLToJSON(c.text); err != nil {
				return fmt.Errorf("%s: not YAML or JSON: %v", where, err)
			}
		}
		pos := Position{File: name, Line: c.line, Where: where}
		if n := nodeOf(c); n != nil {
			pos.node, pos.Line = n, n.Line
		}
		if err := l.object(pos, raw, 0); err != nil {
			return err
		}
	}
	return nil
}

// maxListDepth bounds Lists nested in Lists, which a hostile file could
// make deep enough to exhaust the stack.
const maxListDepth = 8

func (l *loader) object(pos Position, raw []byte, depth int) error {
	where := pos.Where
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '{' {
		return fmt.Errorf("%s: expected an object with apiVersion and kind, found %s", where, firstWord(raw))
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(raw, &tm); err != nil {
		return fmt.Errorf("%s: apiVersion and kind must be strings: %v", where, err)
	}
	if tm.Kind == "" {
		l.Notes = append(l.Notes, where+": no kind; skipped")
		return nil
	}
	if !wanted[tm.Kind] {
		return nil // ConfigMaps, CRDs...: nothing the analyses read
	}
	obj, _, err := decoder.Decode(raw, nil, nil)
	if runtime.IsNotRegisteredError(err) || runtime.IsMissingVersion(err) {
		return fmt.Errorf("%s: %s %q is not a version ambx reads (%v)", where, tm.Kind, tm.APIVersion, err)
	}
	name := describe(raw, tm.Kind)
	if err != nil && runtime.IsStrictDecodingError(err) && obj != nil {
		if strictKinds[tm.Kind] {
			return fmt.Errorf("%s (%s): %v", where, name, err)
		}
		l.Notes = append(l.Notes, fmt.Sprintf("%s (%s): %v", where, name, err))
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%s (%s): %v", where, name, err)
	}
	named := func(kind string, m metav1.ObjectMeta, namespaced bool) (metav1.ObjectMeta, error) {
		if m.Name == "" {
			return m, fmt.Errorf("%s: %s without metadata.name", where, kind)
		}
		if namespaced && m.Namespace == "" {
			m.Namespace = corev1.NamespaceDefault
		}
		return m, nil
	}
	switch x := obj.(type) {
	case *corev1.List:
		if depth >= maxListDepth {
			return fmt.Errorf("%s: Lists nested more than %d deep", where, maxListDepth)
		}
		items := itemsNode(pos.node)
		for i, item := range x.Items {
			ip := Position{File: pos.File, Line: pos.Line, Where: fmt.Sprintf("%s item %d", where, i+1)}
			if i < len(items) {
				ip.node, ip.Line = items[i], items[i].Line
			}
			if err := l.object(ip, item.Raw, depth+1); err != nil {
				return err
			}
		}
		return nil
	case *corev1.Pod:
		return l.pod(pos, "Pod", x.ObjectMeta, x.Spec, x.Status, "")
	case *corev1.ConfigMap:
		l.install.ConfigMaps = append(l.install.ConfigMaps, x)
		return nil
	case *admissionv1.MutatingWebhookConfiguration:
		l.install.Webhooks = append(l.install.Webhooks, x)
		return nil
	case *appsv1.Deployment:
		l.install.Deployments = append(l.install.Deployments, x)
		return l.template(pos, "Deployment", x.ObjectMeta, &x.Spec.Template)
	case *appsv1.StatefulSet:
		return l.template(pos, "StatefulSet", x.ObjectMeta, &x.Spec.Template)
	case *appsv1.DaemonSet:
		l.install.DaemonSets = append(l.install.DaemonSets, x)
		return l.template(pos, "DaemonSet", x.ObjectMeta, &x.Spec.Template)
	case *appsv1.ReplicaSet:
		return l.template(pos, "ReplicaSet", x.ObjectMeta, &x.Spec.Template)
	case *corev1.ReplicationController:
		return l.template(pos, "ReplicationController", x.ObjectMeta, x.Spec.Template)
	case *batchv1.Job:
		return l.template(pos, "Job", x.ObjectMeta, &x.Spec.Template)
	case *batchv1.CronJob:
		return l.template(pos, "CronJob", x.ObjectMeta, &x.Spec.JobTemplate.Spec.Template)
	}
	// The remaining kinds are kept as they are, under their metadata.
	var meta *metav1.ObjectMeta
	var kept any
	namespaced := true
	switch x := obj.(type) {
	case *corev1.Namespace:
		meta, kept, namespaced = &x.ObjectMeta, x, false
	case *corev1.Node:
		meta, kept, namespaced = &x.ObjectMeta, x, false
	case *corev1.Service:
		meta, kept = &x.ObjectMeta, x
	case *networkingv1.NetworkPolicy:
		meta, kept = &x.ObjectMeta, x
	case *gwv1.Gateway:
		meta, kept = &x.ObjectMeta, x
	case *gwv1beta1.Gateway:
		meta, kept = &x.ObjectMeta, (*gwv1.Gateway)(x)
	case *gwv1.GatewayClass:
		meta, kept, namespaced = &x.ObjectMeta, x, false
	case *gwv1beta1.GatewayClass:
		meta, kept, namespaced = &x.ObjectMeta, (*gwv1.GatewayClass)(x), false
	case *secv1.AuthorizationPolicy:
		meta, kept = &x.ObjectMeta, x
	case *secv1.PeerAuthentication:
		meta, kept = &x.ObjectMeta, x
	case *secv1.RequestAuthentication:
		meta, kept = &x.ObjectMeta, x
	case *netv1.ServiceEntry:
		meta, kept = &x.ObjectMeta, x
	case *netv1.WorkloadEntry:
		meta, kept = &x.ObjectMeta, x
	case *netv1beta1.ServiceEntry:
		v := &netv1.ServiceEntry{}
		x.ObjectMeta.DeepCopyInto(&v.ObjectMeta)
		x.Spec.DeepCopyInto(&v.Spec)
		x.Status.DeepCopyInto(&v.Status)
		meta, kept = &v.ObjectMeta, v
	case *netv1beta1.WorkloadEntry:
		v := &netv1.WorkloadEntry{}
		x.ObjectMeta.DeepCopyInto(&v.ObjectMeta)
		x.Spec.DeepCopyInto(&v.Spec)
		x.Status.DeepCopyInto(&v.Status)
		meta, kept = &v.ObjectMeta, v
	case *secv1beta1.AuthorizationPolicy:
		v := &secv1.AuthorizationPolicy{}
		x.ObjectMeta.DeepCopyInto(&v.ObjectMeta)
		x.Spec.DeepCopyInto(&v.Spec)
		x.Status.DeepCopyInto(&v.Status)
		meta, kept = &v.ObjectMeta, v
	case *secv1beta1.PeerAuthentication:
		v := &secv1.PeerAuthentication{}
		x.ObjectMeta.DeepCopyInto(&v.ObjectMeta)
		x.Spec.DeepCopyInto(&v.Spec)
		x.Status.DeepCopyInto(&v.Status)
		meta, kept = &v.ObjectMeta, v
	case *secv1beta1.RequestAuthentication:
		v := &secv1.RequestAuthentication{}
		x.ObjectMeta.DeepCopyInto(&v.ObjectMeta)
		x.Spec.DeepCopyInto(&v.Spec)
		x.Status.DeepCopyInto(&v.Status)
		meta, kept = &v.ObjectMeta, v
	default:
		// An older API version of a kind ambx reads, such as
		// extensions/v1beta1 NetworkPolicy: ignoring it would change verdicts.
		return fmt.Errorf("%s (%s): %s %q is not a version ambx reads", where, name, tm.Kind, tm.APIVersion)
	}
	m, err := named(tm.Kind, *meta, namespaced)
	if err != nil {
		return err
	}
	*meta = m
	l.add(pos, tm.Kind, m.Namespace, m.Name, kept)
	return nil
}

// itemsNode returns the nodes of a List's items, for their lines.
func itemsNode(n *yamlv3.Node) []*yamlv3.Node {
	if n == nil || n.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "items" && n.Content[i+1].Kind == yamlv3.SequenceNode {
			return n.Content[i+1].Content
		}
	}
	return nil
}

// template treats a workload's pod template as one pod named after the
// workload: what its pods will look like to the mesh and to NetworkPolicy.
func (l *loader) template(pos Position, kind string, meta metav1.ObjectMeta, t *corev1.PodTemplateSpec) error {
	if t == nil {
		return fmt.Errorf("%s: %s %s has no pod template", pos.Where, kind, meta.Name)
	}
	if meta.Name == "" {
		return fmt.Errorf("%s (%s): %s without metadata.name", pos.Where, kind, kind)
	}
	if meta.Namespace == "" {
		meta.Namespace = corev1.NamespaceDefault
	}
	pm := *t.ObjectMeta.DeepCopy()
	pm.Name, pm.Namespace = meta.Name, meta.Namespace
	// The pod's owner, so findings name the workload to restart or fix.
	ctrl := true
	pm.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: meta.Name, Controller: &ctrl}}
	pos.Where += " (" + kind + ")"
	return l.pod(pos, kind, pm, t.Spec, corev1.PodStatus{}, kind+" "+meta.Namespace+"/"+meta.Name)
}

func (l *loader) pod(pos Position, kind string, meta metav1.ObjectMeta, spec corev1.PodSpec, status corev1.PodStatus, workload string) error {
	if meta.Name == "" {
		return fmt.Errorf("%s: %s without metadata.name", pos.Where, kind)
	}
	if meta.Namespace == "" {
		meta.Namespace = corev1.NamespaceDefault
	}
	p := &corev1.Pod{ObjectMeta: meta, Spec: spec, Status: status}
	p.Kind, p.APIVersion = "Pod", "v1"
	key := "Pod " + meta.Namespace + "/" + meta.Name
	if workload != "" {
		l.Templates[key] = workload
	} else {
		delete(l.Templates, key) // a real pod replaces a template of the same name
	}
	l.add(pos, "Pod", meta.Namespace, meta.Name, p)
	return nil
}

// add keeps the last of duplicates, as applying the files in order would.
func (l *loader) add(pos Position, kind, ns, name string, obj any) {
	key := kind + " " + name
	if ns != "" {
		key = kind + " " + ns + "/" + name
	}
	if first, dup := l.Origin[key]; dup {
		l.Notes = append(l.Notes, fmt.Sprintf("%s: %s is also defined at %s; using this one", pos.Where, key, first.Where))
		replace(&l.Cluster, l.index[key], obj)
		l.Origin[key] = pos
		return
	}
	l.Origin[key] = pos
	l.index[key] = appendTo(&l.Cluster, obj)
}

func replace(c *ambient.Cluster, i int, obj any) {
	switch x := obj.(type) {
	case *corev1.Namespace:
		c.Namespaces[i] = x
	case *corev1.Pod:
		c.Pods[i] = x
	case *corev1.Service:
		c.Services[i] = x
	case *corev1.Node:
		c.Nodes[i] = x
	case *networkingv1.NetworkPolicy:
		c.NetworkPolicies[i] = x
	case *gwv1.Gateway:
		c.Gateways[i] = x
	case *gwv1.GatewayClass:
		c.GatewayClasses[i] = x
	case *secv1.AuthorizationPolicy:
		c.AuthorizationPolicies[i] = x
	case *secv1.PeerAuthentication:
		c.PeerAuthentications[i] = x
	case *secv1.RequestAuthentication:
		c.RequestAuthentications[i] = x
	case *netv1.ServiceEntry:
		c.ServiceEntries[i] = x
	case *netv1.WorkloadEntry:
		c.WorkloadEntries[i] = x
	}
}

func appendTo(c *ambient.Cluster, obj any) int {
	switch x := obj.(type) {
	case *corev1.Namespace:
		c.Namespaces = append(c.Namespaces, x)
		return len(c.Namespaces) - 1
	case *corev1.Pod:
		c.Pods = append(c.Pods, x)
		return len(c.Pods) - 1
	case *corev1.Service:
		c.Services = append(c.Services, x)
		return len(c.Services) - 1
	case *corev1.Node:
		c.Nodes = append(c.Nodes, x)
		return len(c.Nodes) - 1
	case *networkingv1.NetworkPolicy:
		c.NetworkPolicies = append(c.NetworkPolicies, x)
		return len(c.NetworkPolicies) - 1
	case *gwv1.Gateway:
		c.Gateways = append(c.Gateways, x)
		return len(c.Gateways) - 1
	case *gwv1.GatewayClass:
		c.GatewayClasses = append(c.GatewayClasses, x)
		return len(c.GatewayClasses) - 1
	case *secv1.AuthorizationPolicy:
		c.AuthorizationPolicies = append(c.AuthorizationPolicies, x)
		return len(c.AuthorizationPolicies) - 1
	case *secv1.PeerAuthentication:
		c.PeerAuthentications = append(c.PeerAuthentications, x)
		return len(c.PeerAuthentications) - 1
	case *secv1.RequestAuthentication:
		c.RequestAuthentications = append(c.RequestAuthentications, x)
		return len(c.RequestAuthentications) - 1
	case *netv1.ServiceEntry:
		c.ServiceEntries = append(c.ServiceEntries, x)
		return len(c.ServiceEntries) - 1
	case *netv1.WorkloadEntry:
		c.WorkloadEntries = append(c.WorkloadEntries, x)
		return len(c.WorkloadEntries) - 1
	}
	return -1
}

// done sorts every slice by namespace and name, as the analyses require,
// and decides what the mesh makes of each workload's pods.
func (l *loader) done() *Set {
	c := &l.Cluster
	sortMeta(c.Namespaces)
	sortMeta(c.Pods)
	sortMeta(c.Services)
	sortMeta(c.Nodes)
	sortMeta(c.NetworkPolicies)
	sortMeta(c.Gateways)
	sortMeta(c.GatewayClasses)
	sortMeta(c.AuthorizationPolicies)
	sortMeta(c.PeerAuthentications)
	sortMeta(c.RequestAuthentications)
	sortMeta(c.ServiceEntries)
	sortMeta(c.WorkloadEntries)
	// The installation, when the manifests hold Istio's own objects (a
	// rendered chart, a dump): verdicts then follow its version and
	// switches. Without them Install stays empty and verdicts follow the
	// assumed version, as the report says.
	if in := l.install; len(in.Deployments)+len(in.DaemonSets)+len(in.ConfigMaps)+len(in.Webhooks) > 0 {
		info := install.Discover(in)
		if info.Istiod.Known() || info.Ztunnel.Known() || info.CNI.Known() {
			c.Install = info
			if c.RootNamespace == "" {
				c.RootNamespace = info.RootNamespace
			}
		}
	}
	l.intend()
	l.intendWaypoints()
	return &l.Set
}

type meta interface {
	GetNamespace() string
	GetName() string
}

func sortMeta[T meta](s []T) {
	slices.SortStableFunc(s, func(a, b T) int {
		if c := strings.Compare(a.GetNamespace(), b.GetNamespace()); c != 0 {
			return c
		}
		return strings.Compare(a.GetName(), b.GetName())
	})
}

func describe(raw []byte, kind string) string {
	var m struct {
		Metadata struct {
			Name      any `json:"name"`
			Namespace any `json:"namespace"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &m) // best effort: the name is only for the message
	name, _ := m.Metadata.Name.(string)
	ns, _ := m.Metadata.Namespace.(string)
	switch {
	case name == "":
		return kind + " without a name"
	case ns == "":
		return kind + " " + name
	default:
		return kind + " " + ns + "/" + name
	}
}

func firstWord(raw []byte) string {
	s := string(raw)
	if len(s) > 20 {
		s = s[:20] + "…"
	}
	return fmt.Sprintf("%q", s)
}
