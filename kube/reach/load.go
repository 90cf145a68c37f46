package reach

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
)

// Objects are what reach evaluates: namespaces, pods (real, or pod
// templates of workloads) and NetworkPolicies, each remembered with the
// file and document it came from so errors can point at it.
type Objects struct {
	Namespaces      []*corev1.Namespace
	Pods            []*corev1.Pod
	NetworkPolicies []*networkingv1.NetworkPolicy
	// Origin maps "Kind ns/name" to "file: document N".
	Origin map[string]string
	// Notes are things worth telling the user that do not stop the run:
	// duplicates, documents without a kind, unknown fields outside policies.
	Notes []string
}

// strictDecoder decodes typed objects and reports unknown or duplicate
// fields, which in a NetworkPolicy silently change what it allows.
var strictDecoder = serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()

// manifestExts are the files a folder walk reads.
var manifestExts = map[string]bool{".yaml": true, ".yml": true, ".json": true}

// Load reads files and folders (recursively, *.yaml, *.yml and *.json) of
// multi-document YAML or JSON. Kinds other than Namespace, Pod,
// NetworkPolicy, workloads with pod templates and List are skipped.
func Load(paths []string) (*Objects, error) {
	o := newObjects()
	for _, p := range paths {
		info, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, errors.Unwrap(err))
		}
		if !info.IsDir() {
			if err := o.loadFile(p); err != nil {
				return nil, err
			}
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir // .git and friends
			}
			if !d.IsDir() && manifestExts[strings.ToLower(filepath.Ext(path))] {
				files = append(files, path)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		slices.Sort(files)
		for _, f := range files {
			if err := o.loadFile(f); err != nil {
				return nil, err
			}
		}
	}
	return o.done(), nil
}

// LoadBytes reads one multi-document YAML or JSON stream; name is used in
// messages.
func LoadBytes(name string, data []byte) (*Objects, error) {
	o := newObjects()
	if err := o.load(name, data); err != nil {
		return nil, err
	}
	return o.done(), nil
}

type loader struct {
	Objects
	index map[string]int // "Kind ns/name" -> position in its slice
}

func newObjects() *loader {
	return &loader{Objects: Objects{Origin: map[string]string{}}, index: map[string]int{}}
}

func (o *loader) done() *Objects { return &o.Objects }

func (o *loader) loadFile(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%s: %w", path, errors.Unwrap(err))
	}
	return o.load(path, data)
}

func (o *loader) load(name string, data []byte) error {
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for doc := 1; ; doc++ {
		var raw json.RawMessage
		err := dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		where := fmt.Sprintf("%s: document %d", name, doc)
		if err != nil {
			return fmt.Errorf("%s: not YAML or JSON: %v", where, err)
		}
		if err := o.object(where, raw, 0); err != nil {
			return err
		}
	}
}

// maxListDepth bounds Lists nested in Lists, which a hostile file could
// make deep enough to exhaust the stack.
const maxListDepth = 8

func (o *loader) object(where string, raw []byte, depth int) error {
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
		o.Notes = append(o.Notes, where+": no kind; skipped")
		return nil
	}
	if !wanted[tm.Kind] {
		return nil // Services, ConfigMaps, CRDs...: nothing reach needs
	}
	obj, _, err := strictDecoder.Decode(raw, nil, nil)
	if runtime.IsNotRegisteredError(err) || runtime.IsMissingVersion(err) {
		return fmt.Errorf("%s: %s %q is not a version reach reads (%v)", where, tm.Kind, tm.APIVersion, err)
	}
	name := describe(raw, tm.Kind)
	if err != nil && runtime.IsStrictDecodingError(err) && obj != nil {
		if tm.Kind == "NetworkPolicy" {
			// A misspelt field changes what the policy allows; the API
			// server would refuse it too.
			return fmt.Errorf("%s (%s): %v", where, name, err)
		}
		o.Notes = append(o.Notes, fmt.Sprintf("%s (%s): %v", where, name, err))
		err = nil
	}
	if err != nil {
		return fmt.Errorf("%s (%s): %v", where, name, err)
	}
	switch x := obj.(type) {
	case *corev1.List:
		if depth >= maxListDepth {
			return fmt.Errorf("%s: Lists nested more than %d deep", where, maxListDepth)
		}
		for i, item := range x.Items {
			if err := o.object(fmt.Sprintf("%s item %d", where, i+1), item.Raw, depth+1); err != nil {
				return err
			}
		}
	case *corev1.Namespace:
		if x.Name == "" {
			return fmt.Errorf("%s: Namespace without metadata.name", where)
		}
		o.add(where, "Namespace", "", x.Name, x)
	case *corev1.Pod:
		return o.pod(where, "Pod", x.ObjectMeta, x.Spec)
	case *networkingv1.NetworkPolicy:
		if x.Name == "" {
			return fmt.Errorf("%s: NetworkPolicy without metadata.name", where)
		}
		if x.Namespace == "" {
			x.Namespace = corev1.NamespaceDefault
		}
		o.add(where, "NetworkPolicy", x.Namespace, x.Name, x)
	case *appsv1.Deployment:
		return o.template(where, "Deployment", x.ObjectMeta, &x.Spec.Template)
	case *appsv1.StatefulSet:
		return o.template(where, "StatefulSet", x.ObjectMeta, &x.Spec.Template)
	case *appsv1.DaemonSet:
		return o.template(where, "DaemonSet", x.ObjectMeta, &x.Spec.Template)
	case *appsv1.ReplicaSet:
		return o.template(where, "ReplicaSet", x.ObjectMeta, &x.Spec.Template)
	case *corev1.ReplicationController:
		return o.template(where, "ReplicationController", x.ObjectMeta, x.Spec.Template)
	case *batchv1.Job:
		return o.template(where, "Job", x.ObjectMeta, &x.Spec.Template)
	case *batchv1.CronJob:
		return o.template(where, "CronJob", x.ObjectMeta, &x.Spec.JobTemplate.Spec.Template)
	default:
		// An older API version of a kind reach reads, such as
		// extensions/v1beta1 NetworkPolicy: ignoring it would change verdicts.
		return fmt.Errorf("%s (%s): %s %q is not a version reach reads", where, name, tm.Kind, tm.APIVersion)
	}
	return nil
}

// wanted are the kinds reach reads.
var wanted = map[string]bool{
	"List": true, "Namespace": true, "Pod": true, "NetworkPolicy": true,
	"Deployment": true, "StatefulSet": true, "DaemonSet": true, "ReplicaSet": true,
	"ReplicationController": true, "Job": true, "CronJob": true,
}

// template treats a workload's pod template as one pod named after the
// workload: what its pods will look like to a NetworkPolicy.
func (o *loader) template(where, kind string, meta metav1.ObjectMeta, t *corev1.PodTemplateSpec) error {
	if t == nil {
		return fmt.Errorf("%s: %s %s has no pod template", where, kind, meta.Name)
	}
	pm := t.ObjectMeta
	pm.Name, pm.Namespace = meta.Name, meta.Namespace
	return o.pod(where+" ("+kind+")", kind, pm, t.Spec)
}

func (o *loader) pod(where, kind string, meta metav1.ObjectMeta, spec corev1.PodSpec) error {
	if meta.Name == "" {
		return fmt.Errorf("%s: %s without metadata.name", where, kind)
	}
	if meta.Namespace == "" {
		meta.Namespace = corev1.NamespaceDefault
	}
	p := &corev1.Pod{ObjectMeta: meta, Spec: spec}
	p.Kind, p.APIVersion = "Pod", "v1"
	o.add(where, "Pod", meta.Namespace, meta.Name, p)
	return nil
}

// add keeps the last of duplicates, as applying the files in order would.
func (o *loader) add(where, kind, ns, name string, obj any) {
	key := kind + " " + name
	if ns != "" {
		key = kind + " " + ns + "/" + name
	}
	if first, dup := o.Origin[key]; dup {
		o.Notes = append(o.Notes, fmt.Sprintf("%s: %s is also defined at %s; using this one", where, key, first))
		i := o.index[key]
		switch x := obj.(type) {
		case *corev1.Namespace:
			o.Namespaces[i] = x
		case *corev1.Pod:
			o.Pods[i] = x
		case *networkingv1.NetworkPolicy:
			o.NetworkPolicies[i] = x
		}
		o.Origin[key] = where
		return
	}
	o.Origin[key] = where
	switch x := obj.(type) {
	case *corev1.Namespace:
		o.index[key] = len(o.Namespaces)
		o.Namespaces = append(o.Namespaces, x)
	case *corev1.Pod:
		o.index[key] = len(o.Pods)
		o.Pods = append(o.Pods, x)
	case *networkingv1.NetworkPolicy:
		o.index[key] = len(o.NetworkPolicies)
		o.NetworkPolicies = append(o.NetworkPolicies, x)
	}
}

// describe names an object for messages, even when it failed to decode.
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
