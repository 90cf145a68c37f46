package kube_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	secv1beta1 "istio.io/client-go/pkg/apis/security/v1beta1"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/kubeenv"
)

// oldIstioCRD is a CRD as Istio before 1.22 installed it: no v1, the kind
// served at the versions given, the first of them stored.
func oldIstioCRD(group, kind, plural string, versions ...string) string {
	var vs strings.Builder
	for i, v := range versions {
		fmt.Fprintf(&vs, `
  - name: %s
    served: true
    storage: %t
    subresources: {status: {}}
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}`, v, i == 0)
	}
	return fmt.Sprintf(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: %[3]s.%[1]s
spec:
  group: %[1]s
  names: {kind: %[2]s, plural: %[3]s, singular: %[4]s, listKind: %[2]sList}
  scope: Namespaced
  versions:%[5]s
---
`, group, kind, plural, strings.ToLower(kind), vs.String())
}

// On a real API server whose Istio CRDs serve v1beta1 only (an install
// before 1.22), a deny-all AuthorizationPolicy created at v1beta1 is read
// and judged enforced by ztunnel; a kind served only at v1alpha3 is said to
// be unread, with what is served, never "not installed".
func TestClusterIstioServedAtV1beta1(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true})
	env.Apply(t, oldIstioCRD("security.istio.io", "AuthorizationPolicy", "authorizationpolicies", "v1beta1")+
		oldIstioCRD("security.istio.io", "PeerAuthentication", "peerauthentications", "v1beta1")+
		oldIstioCRD("security.istio.io", "RequestAuthentication", "requestauthentications", "v1beta1")+
		oldIstioCRD("networking.istio.io", "ServiceEntry", "serviceentries", "v1alpha3", "v1beta1")+
		oldIstioCRD("networking.istio.io", "WorkloadEntry", "workloadentries", "v1alpha3"))
	node := env.CreateNode(t, "node-a", nil)
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient"})
	web := pod("shop", "web-1", node.Name, map[string]string{"app": "web"})
	web.Annotations = map[string]string{"ambient.istio.io/redirection": "enabled"} // as istio-cni marks a captured pod
	env.CreatePod(t, web)
	ic := istioclient.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	if _, err := ic.SecurityV1beta1().AuthorizationPolicies("shop").Create(ctx, &secv1beta1.AuthorizationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "deny-all"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The test's premise: v1 is not served, as on the old install.
	if _, err := ic.SecurityV1().AuthorizationPolicies("shop").List(ctx, metav1.ListOptions{}); err == nil {
		t.Fatal("the server serves AuthorizationPolicy at v1; the test needs it at v1beta1 only")
	}

	w := watch(t, env.Kubeconfig)
	key := ambient.Key{Namespace: "shop", Name: "deny-all"}
	s := w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if why := availability(s, map[kube.Resource]kube.Availability{kube.ResWorkloadEntries: kube.Failing}); why != "" {
			return why
		}
		p, ok := s.Mesh.Policy("AuthorizationPolicy", key)
		if !ok {
			return fmt.Sprintf("no deny-all in the analysis; policies read: %v", names(s.AuthorizationPolicies))
		}
		if p.EnforcedBy != ambient.EnforcedByZtunnel || p.SelectedAmbient != 1 {
			return fmt.Sprintf("deny-all enforced by %q on %d captured pods, want ztunnel on web-1", p.EnforcedBy, p.SelectedAmbient)
		}
		return ""
	})
	for r, want := range map[kube.Resource]string{
		kube.ResAuthorizationPolicies:  "read at security.istio.io/v1beta1",
		kube.ResPeerAuthentications:    "read at security.istio.io/v1beta1",
		kube.ResRequestAuthentications: "read at security.istio.io/v1beta1",
		kube.ResServiceEntries:         "read at networking.istio.io/v1beta1",
		kube.ResWorkloadEntries:        "served only at networking.istio.io/v1alpha3, which ambx cannot read (it reads v1 and v1beta1): not read",
	} {
		if got := s.State(r).Detail; got != want {
			t.Errorf("%s: %q, want %q", r, got, want)
		}
	}
	for _, c := range s.Coverage() {
		if c.Check == "policy checks" {
			t.Errorf("policy checks did not run: %s", c)
		}
	}

	// Watched at v1beta1 too: a policy created and one deleted are followed.
	if _, err := ic.SecurityV1beta1().AuthorizationPolicies("shop").Create(ctx, &secv1beta1.AuthorizationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "allow-web"},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := ic.SecurityV1beta1().AuthorizationPolicies("shop").Delete(ctx, "deny-all", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.await(t, 10*time.Second, func(s *kube.Snapshot) string {
		if n := names(s.AuthorizationPolicies); len(n) != 1 || n[0] != "shop/allow-web" {
			return fmt.Sprintf("policies %v, want shop/allow-web alone", n)
		}
		return ""
	})
}
