package kubeenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
)

// Manifests are applied the way kubectl applies them: decoded into
// unstructured objects and sent with server-side apply. Typed clients for
// CRDs and APIServices would pull k8s.io/apiextensions-apiserver and
// k8s.io/kube-aggregator (and, through them, newer grpc and genproto) into
// the main module for the sake of test set-up alone.

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// fieldManager owns every field the harness applies.
const fieldManager = "kubeenv"

// readManifests decodes every object in the YAML (or JSON) files, in order.
func readManifests(paths ...string) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		more, err := decodeManifests(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		objs = append(objs, more...)
	}
	return objs, nil
}

func decodeManifests(b []byte) ([]*unstructured.Unstructured, error) {
	var objs []*unstructured.Unstructured
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return objs, nil
			}
			return nil, err
		}
		if len(m) == 0 { // an empty document between two ---
			continue
		}
		obj := &unstructured.Unstructured{Object: m}
		if obj.GetKind() == "" || obj.GetAPIVersion() == "" {
			return nil, fmt.Errorf("object %q has no kind or apiVersion", obj.GetName())
		}
		objs = append(objs, obj)
	}
}

// apply creates or updates objs and waits for every CRD among them to be
// Established, so the caller can use the new APIs at once.
func (e *Env) apply(ctx context.Context, objs []*unstructured.Unstructured) error {
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(e.Client.Discovery()))
	var crds []string
	for _, obj := range objs {
		gvk := obj.GroupVersionKind()
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			// A kind defined by a CRD earlier in this batch.
			mapper.Reset()
			if m, err = mapper.RESTMapping(gvk.GroupKind(), gvk.Version); err != nil {
				return fmt.Errorf("apply %s %q: %w", gvk.Kind, obj.GetName(), err)
			}
		}
		ri := e.dynamic.Resource(m.Resource)
		var res interface {
			Apply(context.Context, string, *unstructured.Unstructured, metav1.ApplyOptions, ...string) (*unstructured.Unstructured, error)
		} = ri
		if m.Scope.Name() == "namespace" {
			ns := obj.GetNamespace()
			if ns == "" {
				ns = "default"
			}
			res = ri.Namespace(ns)
		}
		if _, err := res.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: fieldManager, Force: true}); err != nil {
			return fmt.Errorf("apply %s %q: %w", gvk.Kind, obj.GetName(), err)
		}
		if m.Resource == crdResource {
			crds = append(crds, obj.GetName())
		}
	}
	for _, name := range crds {
		if err := e.waitEstablished(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// crdStatus is the part of a CRD's status the harness reads.
type crdStatus struct {
	Conditions []metav1.Condition `json:"conditions"`
}

func (e *Env) waitEstablished(ctx context.Context, name string) error {
	for {
		obj, err := e.dynamic.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			raw, _, _ := unstructured.NestedMap(obj.Object, "status")
			var st crdStatus
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st); err != nil {
				return fmt.Errorf("CRD %s status: %w", name, err)
			}
			for _, c := range st.Conditions {
				if c.Type == "Established" && c.Status == metav1.ConditionTrue {
					return nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("CRD %s not Established: %w (last error: %v)", name, ctx.Err(), err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// moduleDirs finds where the Go toolchain keeps the modules whose CRDs the
// env installs. They are the main module's own versions, so the CRD schemas
// match the typed clients ambx is built with.
var moduleDirs = sync.OnceValues(func() (map[string]string, error) {
	mods := []string{"istio.io/api", "sigs.k8s.io/gateway-api"}
	cmd := exec.Command("go", append([]string{"list", "-m", "-f", "{{.Path}} {{.Dir}}"}, mods...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list -m %s: %w: %s", strings.Join(mods, " "), err, stderr.String())
	}
	dirs := map[string]string{}
	for line := range strings.Lines(string(out)) {
		path, dir, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || dir == "" {
			return nil, fmt.Errorf("go list -m: module %s is not downloaded (run go mod download)", path)
		}
		dirs[path] = dir
	}
	return dirs, nil
})

// crdFiles lists the CRD manifests Options asks for.
func crdFiles(o Options) ([]string, error) {
	if o.NoIstioCRDs && o.NoGatewayAPICRDs {
		return nil, nil
	}
	dirs, err := moduleDirs()
	if err != nil {
		return nil, err
	}
	var files []string
	if !o.NoIstioCRDs {
		files = append(files, filepath.Join(dirs["istio.io/api"], "kubernetes", "customresourcedefinitions.gen.yaml"))
	}
	if !o.NoGatewayAPICRDs {
		gw, err := filepath.Glob(filepath.Join(dirs["sigs.k8s.io/gateway-api"], "config", "crd", "standard", "*.yaml"))
		if err != nil {
			return nil, err
		}
		if len(gw) == 0 {
			return nil, fmt.Errorf("no Gateway API CRDs under %s", dirs["sigs.k8s.io/gateway-api"])
		}
		files = append(files, gw...)
	}
	return files, nil
}

func (e *Env) installCRDs(ctx context.Context) error {
	files, err := crdFiles(e.opts)
	if err != nil {
		return fmt.Errorf("find CRDs: %w", err)
	}
	objs, err := readManifests(files...)
	if err != nil {
		return fmt.Errorf("read CRDs: %w", err)
	}
	if err := e.apply(ctx, objs); err != nil {
		return fmt.Errorf("install CRDs: %w", err)
	}
	return nil
}

// Apply creates or updates the objects in a YAML manifest (documents
// separated by ---), as kubectl apply --server-side would, and waits for
// any CRDs among them to be Established.
func (e *Env) Apply(t testing.TB, manifest string) {
	t.Helper()
	objs, err := decodeManifests([]byte(manifest))
	if err != nil {
		t.Fatalf("kubeenv: Apply: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.apply(ctx, objs); err != nil {
		t.Fatalf("kubeenv: Apply: %v", err)
	}
}
