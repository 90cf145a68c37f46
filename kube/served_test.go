package kube

import (
	"context"
	"errors"
	"testing"

	secv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	istiofake "istio.io/client-go/pkg/clientset/versioned/fake"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	fakediscovery "k8s.io/client-go/discovery/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/ambx/ambx/kube/ambient"
)

func served(gv string, resources ...string) *metav1.APIResourceList {
	l := &metav1.APIResourceList{GroupVersion: gv}
	for _, r := range resources {
		l.APIResources = append(l.APIResources, metav1.APIResource{Name: r, Namespaced: true})
	}
	return l
}

func TestServedVersion(t *testing.T) {
	const sec = "security.istio.io"
	for _, tc := range []struct {
		name      string
		resources []*metav1.APIResourceList
		fail      error // every discovery request fails with it
		resource  string
		want      string
		unserved  string // the unread state's detail
		wantErr   bool
	}{
		{name: "v1 served", resource: "authorizationpolicies", want: "v1",
			resources: []*metav1.APIResourceList{served(sec+"/v1", "authorizationpolicies"), served(sec+"/v1beta1", "authorizationpolicies")}},
		{name: "only v1beta1, as before Istio 1.22", resource: "authorizationpolicies", want: "v1beta1",
			resources: []*metav1.APIResourceList{served(sec+"/v1beta1", "authorizationpolicies", "peerauthentications")}},
		{name: "the group serves v1 for another kind", resource: "authorizationpolicies", want: "v1beta1",
			resources: []*metav1.APIResourceList{served(sec+"/v1", "peerauthentications"), served(sec+"/v1beta1", "authorizationpolicies", "peerauthentications")}},
		{name: "a subresource is not the kind", resource: "authorizationpolicies", want: "v1beta1",
			resources: []*metav1.APIResourceList{served(sec+"/v1", "authorizationpolicies/status"), served(sec+"/v1beta1", "authorizationpolicies")}},
		{name: "served at a version ambx cannot read", resource: "serviceentries",
			resources: []*metav1.APIResourceList{served("networking.istio.io/v1alpha3", "serviceentries")},
			unserved:  "served only at networking.istio.io/v1alpha3, which ambx cannot read (it reads v1 and v1beta1): not read"},
		{name: "two unreadable versions are both named", resource: "authorizationpolicies",
			resources: []*metav1.APIResourceList{served(sec+"/v1alpha2", "authorizationpolicies"), served(sec+"/v1alpha1", "authorizationpolicies")},
			unserved:  "served only at security.istio.io/v1alpha1, security.istio.io/v1alpha2, which ambx cannot read (it reads v1 and v1beta1): not read"},
		{name: "not served at all: the v1 list says the CRD is missing", resource: "authorizationpolicies", want: "v1"},
		{name: "discovery forbidden: the v1 list says what it may", resource: "authorizationpolicies", want: "v1",
			fail: apierrors.NewForbidden(schema.GroupResource{}, "", errors.New("no discovery"))},
		{name: "server not answering: the informer retries", resource: "authorizationpolicies", wantErr: true,
			fail: errors.New(`Get "https://127.0.0.1:6443/apis": dial tcp 127.0.0.1:6443: connect: connection refused`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &fakediscovery.FakeDiscovery{Fake: &k8stesting.Fake{Resources: tc.resources}}
			if tc.fail != nil {
				d.AddReactor("*", "*", func(k8stesting.Action) (bool, runtime.Object, error) { return true, nil, tc.fail })
			}
			group := sec
			if tc.resource == "serviceentries" {
				group = "networking.istio.io"
			}
			got, err := servedVersion(d, group, tc.resource)
			var un *unservedError
			switch {
			case tc.unserved != "":
				if !errors.As(err, &un) || un.detail() != tc.unserved {
					t.Fatalf("got %q, %v; want unserved %q", got, err, tc.unserved)
				}
			case tc.wantErr:
				if err == nil || errors.As(err, &un) {
					t.Fatalf("got %q, %v; want a transport error", got, err)
				}
			case err != nil || got != tc.want:
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// v1beta1Only makes a fake Istio clientset answer as an API server whose
// Istio CRDs serve v1beta1 only: discovery lists no v1, and v1 requests
// are 404.
func v1beta1Only(ist *istiofake.Clientset) {
	ist.Resources = []*metav1.APIResourceList{
		served("security.istio.io/v1beta1", "authorizationpolicies", "peerauthentications", "requestauthentications"),
		served("networking.istio.io/v1beta1", "serviceentries", "workloadentries"),
	}
	notServed := func(a k8stesting.Action) bool { return a.GetResource().Version == "v1" }
	ist.PrependReactor("list", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if notServed(a) {
			return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "")
		}
		return false, nil, nil
	})
	ist.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		if notServed(a) {
			return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "")
		}
		return false, nil, nil
	})
}

// A deny-all served at v1beta1 only is read, enforced, and followed; on
// main before this it was "not installed", so no policy could exist.
func TestSourceReadsPoliciesServedAtV1beta1(t *testing.T) {
	k := fake.NewClientset(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}},
		&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web", Annotations: map[string]string{"ambient.istio.io/redirection": "enabled"}}},
	)
	ist := istiofake.NewSimpleClientset()
	v1beta1Only(ist)
	gvr := secv1beta1.SchemeGroupVersion.WithResource("authorizationpolicies")
	deny := &secv1beta1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny-all"}}
	if err := ist.Tracker().Create(gvr, deny, "shop"); err != nil {
		t.Fatal(err)
	}
	next := run(t, &Clients{Kube: k, Istio: ist, Gateway: gwfake.NewSimpleClientset(), Fake: true})
	s := next("the deny-all read at v1beta1", func(s *Snapshot) bool {
		return len(s.AuthorizationPolicies) == 1 && len(s.Pods) == 1 && s.State(ResPods).Availability == Available &&
			s.State(ResAuthorizationPolicies).Availability == Available
	})
	st := s.State(ResAuthorizationPolicies)
	if st.Availability != Available || st.Detail != "read at security.istio.io/v1beta1" {
		t.Fatalf("state %v %q, want synced, read at security.istio.io/v1beta1", st.Availability, st.Detail)
	}
	p, ok := s.Mesh.Policy("AuthorizationPolicy", ambient.Key{Namespace: "shop", Name: "deny-all"})
	if !ok || p.EnforcedBy != ambient.EnforcedByZtunnel || p.SelectedAmbient != 1 {
		t.Fatalf("deny-all %+v (found %v), want enforced by ztunnel on the captured pod", p, ok)
	}
	for _, c := range s.Coverage() {
		if c.Check == "policy checks" {
			t.Fatalf("policy checks skipped: %s", c)
		}
	}

	// The watch that follows the list is the v1beta1 one, converted too.
	allow := &secv1beta1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "allow-web"}}
	if _, err := ist.SecurityV1beta1().AuthorizationPolicies("shop").Create(context.Background(), allow, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	next("the policy created later", func(s *Snapshot) bool { return len(s.AuthorizationPolicies) == 2 })
	if err := ist.SecurityV1beta1().AuthorizationPolicies("shop").Delete(context.Background(), "deny-all", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	next("the deny-all deleted", func(s *Snapshot) bool {
		return len(s.AuthorizationPolicies) == 1 && s.AuthorizationPolicies[0].Name == "allow-web"
	})
}

// A kind served only at a version ambx cannot read is unread, named with
// what is served: never "not installed", which would mean none exist.
func TestSourceSaysWhatIsServedWhenItCannotRead(t *testing.T) {
	ist := istiofake.NewSimpleClientset()
	ist.Resources = []*metav1.APIResourceList{
		served("security.istio.io/v1", "authorizationpolicies", "peerauthentications", "requestauthentications"),
		served("networking.istio.io/v1", "serviceentries"),
		served("networking.istio.io/v1alpha3", "serviceentries", "workloadentries"),
	}
	next := run(t, &Clients{Kube: fake.NewClientset(), Istio: ist, Gateway: gwfake.NewSimpleClientset(), Fake: true})
	s := next("workload entries unread", func(s *Snapshot) bool {
		return s.State(ResWorkloadEntries).Availability == Failing && s.State(ResServiceEntries).Availability == Available
	})
	want := "served only at networking.istio.io/v1alpha3, which ambx cannot read (it reads v1 and v1beta1): not read"
	if d := s.State(ResWorkloadEntries).Detail; d != want {
		t.Fatalf("detail %q, want %q", d, want)
	}
	if d := s.State(ResServiceEntries).Detail; d != "" {
		t.Fatalf("service entries detail %q, want none (read at v1)", d)
	}
	if s.State(ResWorkloadEntries).Availability.Read() {
		t.Fatal("an unread kind counts as read")
	}
}

// The YAML view shows a policy served at v1beta1 only as stored there.
func TestFetchReadsV1beta1(t *testing.T) {
	ist := istiofake.NewSimpleClientset()
	v1beta1Only(ist)
	// The fake's Get by GVR is a "get" action: refuse v1 as the server would.
	ist.PrependReactor("get", "*", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetResource().Version == "v1" {
			return true, nil, apierrors.NewNotFound(a.GetResource().GroupResource(), "deny-all")
		}
		return false, nil, nil
	})
	gvr := secv1beta1.SchemeGroupVersion.WithResource("authorizationpolicies")
	if err := ist.Tracker().Create(gvr, &secv1beta1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny-all"}}, "shop"); err != nil {
		t.Fatal(err)
	}
	c := &Clients{Kube: fake.NewClientset(), Istio: ist, Fake: true}
	obj, err := Fetch(context.Background(), c, Ref{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "deny-all"})
	if err != nil {
		t.Fatal(err)
	}
	if gvk := obj.GetObjectKind().GroupVersionKind(); gvk.Version != "v1beta1" || gvk.Kind != "AuthorizationPolicy" {
		t.Fatalf("fetched %v, want the v1beta1 AuthorizationPolicy", gvk)
	}
	if _, err := Fetch(context.Background(), c, Ref{Kind: KindAuthorizationPolicy, Namespace: "shop", Name: "ghost"}); !apierrors.IsNotFound(err) {
		t.Fatalf("a policy at neither version: %v, want not found", err)
	}
}
