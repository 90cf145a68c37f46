package writer

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/guard"
	authnv1 "k8s.io/api/authentication/v1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

func TestLabelPatchBytes(t *testing.T) {
	const key = ambient.LabelDataplaneMode
	for _, tc := range []struct {
		name    string
		labels  map[string]string
		rv      string
		changes []labelChange
		want    string
		wantErr error
	}{
		{
			name:    "add next to other labels",
			labels:  map[string]string{"team": "a"},
			rv:      "41",
			changes: []labelChange{{Key: key, Value: "ambient"}},
			want: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"41"},
  {"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}
]`,
		},
		{
			name:    "object without labels gets the map first",
			rv:      "41",
			changes: []labelChange{{Key: key, Value: "ambient"}},
			want: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"41"},
  {"op":"add","path":"/metadata/labels","value":{}},
  {"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}
]`,
		},
		{
			name:    "remove",
			labels:  map[string]string{key: "ambient", "team": "a"},
			rv:      "41",
			changes: []labelChange{{Key: key, Remove: true}},
			want: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"41"},
  {"op":"remove","path":"/metadata/labels/istio.io~1dataplane-mode"}
]`,
		},
		{
			name:    "another value is replaced",
			labels:  map[string]string{key: "ambient"},
			rv:      "41",
			changes: []labelChange{{Key: key, Value: "none"}},
			want: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"41"},
  {"op":"replace","path":"/metadata/labels/istio.io~1dataplane-mode","value":"none"}
]`,
		},
		{
			name:    "tilde is escaped before slash",
			labels:  map[string]string{},
			rv:      "41",
			changes: []labelChange{{Key: "a~b/c", Value: "x"}},
			want: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"41"},
  {"op":"add","path":"/metadata/labels/a~0b~1c","value":"x"}
]`,
		},
		{
			name:    "no resourceVersion, no test",
			labels:  map[string]string{},
			changes: []labelChange{{Key: key, Value: "ambient"}},
			want: `[
  {"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}
]`,
		},
		{
			name:    "unchanged labels get no operation",
			labels:  map[string]string{ambient.LabelUseWaypoint: "wp"},
			rv:      "41",
			changes: []labelChange{{Key: ambient.LabelUseWaypoint, Value: "wp"}, {Key: ambient.LabelUseWaypointNS, Remove: true}},
			wantErr: errNoChange,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: tc.labels, ResourceVersion: tc.rv}}
			got, err := labelPatch(ns, tc.changes...)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if string(got) != tc.want {
				t.Errorf("patch\n%s\nwant\n%s", got, tc.want)
			}
		})
	}
}

// patches returns the patch actions the fake received.
func patches(cs *fake.Clientset) []k8stesting.PatchActionImpl {
	var out []k8stesting.PatchActionImpl
	for _, a := range cs.Actions() {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			out = append(out, p)
		}
	}
	return out
}

func mutations(cs *fake.Clientset) []string {
	var out []string
	for _, a := range cs.Actions() {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

// onlyLabelDiffers fails unless after equals before except for label key,
// which must be want (absent when want is "").
func onlyLabelDiffers(t *testing.T, before, after metav1.Object, key, want string) {
	t.Helper()
	got, has := after.GetLabels()[key]
	if want == "" && has {
		t.Errorf("label %s = %q after apply, want it removed", key, got)
	}
	if want != "" && got != want {
		t.Errorf("label %s = %q after apply, want %q", key, got, want)
	}
	b := before.(runtime.Object).DeepCopyObject().(metav1.Object)
	a := after.(runtime.Object).DeepCopyObject().(metav1.Object)
	bl, al := map[string]string{}, map[string]string{}
	for k, v := range b.GetLabels() {
		bl[k] = v
	}
	for k, v := range a.GetLabels() {
		al[k] = v
	}
	delete(bl, key)
	delete(al, key)
	if !reflect.DeepEqual(bl, al) {
		t.Errorf("other labels changed: before %v, after %v", bl, al)
	}
	b.SetLabels(nil)
	a.SetLabels(nil)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("object changed beyond the label:\nbefore %+v\nafter  %+v", b, a)
	}
}

func TestToggleNamespaceAddsThenRemovesOnlyTheLabel(t *testing.T) {
	ctx := context.Background()
	start := namespace("shop", "10", map[string]string{"team": "a", ambient.LabelInjection: "disabled"})
	w, cs := newFake(t, false, start)

	plan, err := w.ToggleNamespaceAmbient(start, snapshot(start))
	if err != nil {
		t.Fatal(err)
	}
	if got := cs.Actions(); len(got) != 0 {
		t.Fatalf("planning sent %d requests, want none", len(got))
	}
	line, err := w.Apply(ctx, plan)
	if err != nil {
		t.Fatal(err)
	}
	if line != "namespace shop labelled istio.io/dataplane-mode=ambient" {
		t.Errorf("status line %q", line)
	}
	sent := patches(cs)
	if len(sent) != 1 || sent[0].PatchType != types.JSONPatchType || string(sent[0].Patch) != plan.Patch {
		t.Fatalf("sent %+v, want the plan's JSON patch once", sent)
	}
	if sent[0].PatchOptions.FieldManager != FieldManager {
		t.Errorf("field manager %q", sent[0].PatchOptions.FieldManager)
	}
	enrolled, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onlyLabelDiffers(t, start, enrolled, ambient.LabelDataplaneMode, "ambient")

	// The fake keeps resourceVersion as stored; the server would bump it,
	// so give the plan what a watch would deliver.
	enrolled.ResourceVersion = "11"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, enrolled, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	plan, err = w.ToggleNamespaceAmbient(enrolled, snapshot(enrolled))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(plan.Patch, `"op":"remove"`) || plan.Title != "Remove namespace shop from ambient" {
		t.Errorf("second toggle planned %q: %s", plan.Title, plan.Patch)
	}
	if _, err := w.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	left, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onlyLabelDiffers(t, enrolled, left, ambient.LabelDataplaneMode, "")
	if !reflect.DeepEqual(left.Labels, start.Labels) {
		t.Errorf("after add and remove labels are %v, want the original %v", left.Labels, start.Labels)
	}
}

func TestTogglePodOptOutTouchesOnlyTheLabel(t *testing.T) {
	ctx := context.Background()
	ns := namespace("shop", "10", map[string]string{ambient.LabelDataplaneMode: "ambient"})
	p := pod("shop", "cart-1", captured)
	w, cs := newFake(t, false, ns, p)
	plan, err := w.TogglePodOptOut(p, snapshot(ns, p))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().Pods("shop").Get(ctx, "cart-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onlyLabelDiffers(t, p, got, ambient.LabelDataplaneMode, "none")

	plan, err = w.TogglePodOptOut(got, snapshot(ns, got))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Apply(ctx, plan); err != nil {
		t.Fatal(err)
	}
	back, err := cs.CoreV1().Pods("shop").Get(ctx, "cart-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	onlyLabelDiffers(t, got, back, ambient.LabelDataplaneMode, "")
}

// serverPatchErrors makes the fake answer like kube-apiserver when a JSON
// patch cannot be applied: the fake returns json-patch's bare error, the
// server wraps it in a 422 (apiserver handlers/patch.go applyJSPatch).
func serverPatchErrors(cs *fake.Clientset) {
	cs.PrependReactor("patch", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		_, obj, err := k8stesting.ObjectReaction(cs.Tracker())(a)
		var st apierrors.APIStatus
		if err != nil && !errors.As(err, &st) {
			err = apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", err.Error(), 0, false)
		}
		return true, obj, err
	})
}

func TestConcurrentChangeIsReportedNotOverwritten(t *testing.T) {
	ctx := context.Background()
	seen := namespace("shop", "10", map[string]string{"team": "a"})
	w, cs := newFake(t, false, seen)
	serverPatchErrors(cs)

	plan, err := w.ToggleNamespaceAmbient(seen, snapshot(seen))
	if err != nil {
		t.Fatal(err)
	}
	// Someone else relabels the namespace while the dialog is open.
	moved := seen.DeepCopy()
	moved.ResourceVersion = "12"
	moved.Labels["team"] = "b"
	if _, err := cs.CoreV1().Namespaces().Update(ctx, moved, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}

	_, err = w.Apply(ctx, plan)
	if KindOf(err) != KindConflict {
		t.Fatalf("Apply after a concurrent change: %v (kind %d), want a conflict", err, KindOf(err))
	}
	want := "changed since you looked: namespace shop was modified, reopen to see the new state"
	if err.Error() != want {
		t.Errorf("status line %q, want %q", err, want)
	}
	now, err := cs.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(now.Labels, map[string]string{"team": "b"}) {
		t.Errorf("labels after refused patch %v, want the other writer's", now.Labels)
	}
}

func TestErrorsBecomeOneLine(t *testing.T) {
	gr := schema.GroupResource{Resource: "namespaces"}
	for _, tc := range []struct {
		name string
		err  error
		kind ErrorKind
		want string
	}{
		{"409", apierrors.NewConflict(gr, "shop", errors.New("the object has been modified")), KindConflict,
			"changed since you looked: namespace shop was modified, reopen to see the new state"},
		{"forbidden", apierrors.NewForbidden(gr, "shop", errors.New(`User "alice" cannot patch resource "namespaces"`)), KindForbidden,
			"forbidden: alice cannot patch namespaces/shop"},
		{"gone", apierrors.NewNotFound(gr, "shop"), KindNotFound,
			"changed since you looked: namespace shop no longer exists, reopen to see the new state"},
		{"invalid", apierrors.NewInvalid(schema.GroupKind{Kind: "Namespace"}, "shop", field.ErrorList{
			field.Invalid(field.NewPath("metadata", "labels"), "-x", "must start with an alphanumeric character"),
		}), KindInvalid,
			`rejected by the API server: Namespace "shop" is invalid: metadata.labels: Invalid value: "-x": must start with an alphanumeric character`},
		{"json patch that no longer applies", apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", "", 0, false), KindConflict,
			"changed since you looked: namespace shop was modified, reopen to see the new state"},
		{"transport guard", fmt.Errorf("Patch %q: %w", "https://x/api/v1/namespaces/shop", &guard.ErrReadOnly{Method: "PATCH", Path: "/api/v1/namespaces/shop"}), KindReadOnly,
			"read-only mode: write refused"},
		{"other", errors.New("dial tcp: connection refused\nmore"), KindOther,
			"patching namespace shop: dial tcp: connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := namespace("shop", "10", nil)
			w, cs := newFake(t, false, ns)
			whoami(cs, "alice")
			cs.PrependReactor("patch", "namespaces", func(k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, tc.err
			})
			plan, err := w.ToggleNamespaceAmbient(ns, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = w.Apply(context.Background(), plan)
			if err == nil || err.Error() != tc.want || KindOf(err) != tc.kind {
				t.Errorf("got %v (kind %d), want %q (kind %d)", err, KindOf(err), tc.want, tc.kind)
			}
			if !errors.Is(err, tc.err) {
				t.Errorf("the API's error is not kept for errors.Is")
			}
		})
	}
}

func whoami(cs *fake.Clientset, user string) {
	cs.PrependReactor("create", "selfsubjectreviews", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, &authnv1.SelfSubjectReview{Status: authnv1.SelfSubjectReviewStatus{UserInfo: authnv1.UserInfo{Username: user}}}, nil
	})
}

func TestReadOnlyRefusesEveryMethodBeforeAnyRequest(t *testing.T) {
	ctx := context.Background()
	ns := namespace("shop", "10", nil)
	p := pod("shop", "cart-1")
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart"}}
	w, cs := newFake(t, true, ns, p, svc)
	s := snapshot(ns, p, svc)
	if !w.ReadOnly() {
		t.Fatal("ReadOnly() = false")
	}
	// A plan built by a writable writer must still not pass a read-only one.
	rw, _ := newFake(t, false, ns)
	plan, err := rw.ToggleNamespaceAmbient(ns, s)
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]func() error{
		"ToggleNamespaceAmbient": func() error { _, err := w.ToggleNamespaceAmbient(ns, s); return err },
		"TogglePodOptOut":        func() error { _, err := w.TogglePodOptOut(p, s); return err },
		"SetWaypoint":            func() error { _, err := w.SetWaypoint(svc, ambient.Key{Name: "wp"}, s); return err },
		"RestartPlan":            func() error { _, err := w.RestartPlan(ctx, "shop", s, RestartAll); return err },
		"Apply":                  func() error { _, err := w.Apply(ctx, plan); return err },
		"CanI": func() error {
			ok, why, err := w.CanI(ctx, "patch", "", "namespaces", "", "shop")
			if ok || why != "read-only mode: write refused" {
				t.Errorf("CanI in read-only = %v, %q", ok, why)
			}
			return err
		},
		"CanApply": func() error { _, _, err := w.CanApply(ctx, plan); return err },
	}
	for name, call := range calls {
		if err := call(); KindOf(err) != KindReadOnly || err.Error() != "read-only mode: write refused" {
			t.Errorf("%s in read-only mode: %v", name, err)
		}
	}
	if got := cs.Actions(); len(got) != 0 {
		t.Errorf("read-only writer sent %d requests: %v", len(got), got)
	}
}

// TestTransportGuardRefusalIsReported runs a writable writer over a real
// HTTP client whose transport carries the read-only guard: the server must
// see no PATCH, and the user a clear line.
func TestTransportGuardRefusalIsReported(t *testing.T) {
	var mutating atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			mutating.Add(1)
		}
		http.Error(rw, "unexpected", http.StatusTeapot)
	}))
	defer srv.Close()
	cfg := &rest.Config{Host: srv.URL}
	cfg.Wrap(guard.Wrap)
	k, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := New(&kube.Clients{Kube: k}, false)
	ns := namespace("shop", "10", nil)
	plan, err := w.ToggleNamespaceAmbient(ns, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Apply(context.Background(), plan)
	if KindOf(err) != KindReadOnly || err.Error() != "read-only mode: write refused" {
		t.Errorf("Apply through the guard: %v", err)
	}
	if n := mutating.Load(); n != 0 {
		t.Errorf("server received %d mutating requests", n)
	}
}

func TestCanI(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     authzv1.SubjectAccessReviewStatus
		user       string
		wantOK     bool
		wantReason string
	}{
		{"allowed", authzv1.SubjectAccessReviewStatus{Allowed: true, Reason: `RBAC: allowed by ClusterRoleBinding "admins"`}, "alice", true, ""},
		{"denied without reason", authzv1.SubjectAccessReviewStatus{}, "bob", false, "forbidden: bob cannot patch namespaces/shop"},
		{"denied with reason", authzv1.SubjectAccessReviewStatus{Denied: true, Reason: "policy says no"}, "bob", false, "forbidden: bob cannot patch namespaces/shop (policy says no)"},
		{"unknown user", authzv1.SubjectAccessReviewStatus{}, "", false, "forbidden: you cannot patch namespaces/shop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, cs := newFake(t, false)
			var asked *authzv1.ResourceAttributes
			cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
				r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview)
				asked = r.Spec.ResourceAttributes
				r = r.DeepCopy()
				r.Status = tc.status
				return true, r, nil
			})
			whoami(cs, tc.user)
			ok, reason, err := w.CanI(context.Background(), "patch", "", "namespaces", "", "shop")
			if err != nil {
				t.Fatal(err)
			}
			if ok != tc.wantOK || reason != tc.wantReason {
				t.Errorf("CanI = %v, %q; want %v, %q", ok, reason, tc.wantOK, tc.wantReason)
			}
			want := &authzv1.ResourceAttributes{Verb: "patch", Resource: "namespaces", Name: "shop"}
			if !reflect.DeepEqual(asked, want) {
				t.Errorf("asked %+v, want %+v", asked, want)
			}
		})
	}
}

func TestCanApplyAsksForEveryTarget(t *testing.T) {
	ns := namespace("shop", "10", nil)
	p := pod("shop", "cart-1")
	w, cs := newFake(t, false, ns, p)
	var asked []string
	cs.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authzv1.SelfSubjectAccessReview).DeepCopy()
		ra := r.Spec.ResourceAttributes
		asked = append(asked, ra.Verb+" "+ra.Resource+" "+ra.Namespace+"/"+ra.Name)
		r.Status.Allowed = ra.Resource != "pods"
		return true, r, nil
	})
	plan, err := w.TogglePodOptOut(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	ok, reason, err := w.CanApply(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	if ok || reason != "forbidden: you cannot patch pods/cart-1 in shop" {
		t.Errorf("CanApply = %v, %q", ok, reason)
	}
	if !reflect.DeepEqual(asked, []string{"patch pods shop/cart-1"}) {
		t.Errorf("asked %v", asked)
	}
}

func TestBadInputIsAClearError(t *testing.T) {
	w, _ := newFake(t, false)
	if _, err := w.ToggleNamespaceAmbient(nil, nil); err == nil || err.Error() != "no namespace selected" {
		t.Errorf("nil namespace: %v", err)
	}
	if _, err := w.TogglePodOptOut(nil, nil); err == nil || err.Error() != "no pod selected" {
		t.Errorf("nil pod: %v", err)
	}
	if _, err := w.SetWaypoint((*corev1.Service)(nil), ambient.Key{}, nil); err == nil || err.Error() != "no Service selected" {
		t.Errorf("nil service: %v", err)
	}
	if _, err := w.Apply(context.Background(), Plan{}); err == nil || err.Error() != "nothing to apply: the plan is empty" {
		t.Errorf("empty plan: %v", err)
	}
	unconnected := New(nil, false)
	if _, err := unconnected.ToggleNamespaceAmbient(namespace("a", "1", nil), nil); err == nil || err.Error() != "not connected to a cluster" {
		t.Errorf("nil clients: %v", err)
	}
}
