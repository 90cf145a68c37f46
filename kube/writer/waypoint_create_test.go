package writer

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	secapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"
	gwfake "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned/fake"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/guard"
	"github.com/ambx/ambx/kube/install"
)

// newGatewayFake is a writer over fake core and Gateway API clientsets.
func newGatewayFake(t *testing.T, core []runtime.Object, gws ...runtime.Object) (*Writer, *fake.Clientset, *gwfake.Clientset) {
	t.Helper()
	cs := fake.NewSimpleClientset(core...)
	gc := gwfake.NewSimpleClientset()
	for _, o := range gws {
		if err := gc.Tracker().Create(gwv1.SchemeGroupVersion.WithResource("gateways"), o, o.(metav1.Object).GetNamespace()); err != nil {
			t.Fatal(err)
		}
	}
	w := New(&kube.Clients{Kube: cs, Gateway: gc}, false)
	w.now = func() time.Time { return fixedNow }
	return w, cs, gc
}

func withClass(s *kube.Snapshot) *kube.Snapshot {
	s.GatewayClasses = []*gwv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: ambient.WaypointGatewayClass},
		Spec: gwv1.GatewayClassSpec{ControllerName: ambient.MeshController}}}
	s = rebuilt(s)
	return s
}

func TestCreateWaypointSendsWhatIstioctlWrites(t *testing.T) {
	svc := service("shop", "cart", nil)
	s := withClass(mesh(svc))
	ns := s.Namespaces[0]
	w, cs, gc := newGatewayFake(t, []runtime.Object{ns})
	p, err := w.CreateWaypoint(NewWaypoint{Namespace: "shop", Name: "l7", For: "all", EnrollNamespace: true}, s)
	if err != nil {
		t.Fatal(err)
	}
	wantPatch := `apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  labels:
    istio.io/waypoint-for: all
  name: l7
  namespace: shop
spec:
  gatewayClassName: istio-waypoint
  listeners:
  - name: mesh
    port: 15008
    protocol: HBONE

# then namespace shop, JSON patch:
[
  {"op":"test","path":"/metadata/resourceVersion","value":"3"},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint","value":"l7"}
]`
	if p.Patch != wantPatch {
		t.Errorf("shown:\n%s\nwant:\n%s", p.Patch, wantPatch)
	}
	if got, want := p.Access(), []Access{
		{Verb: "create", Group: "gateway.networking.k8s.io", Resource: "gateways", Namespace: "shop"},
		{Verb: "patch", Resource: "namespaces", Name: "shop"},
	}; !reflect.DeepEqual(got, want) {
		t.Errorf("access %+v, want %+v", got, want)
	}
	wantCons := []string{
		"istiod deploys it (a Deployment, Service and ServiceAccount named l7 in shop, removed with the Gateway) and sets Programmed=True once a waypoint pod is ready; ambx follows that here.",
		"It takes traffic sent to Services and to pods (istio.io/waypoint-for=all).",
		"1 Service in shop starts going through the waypoint, which applies its L7 policy and routing.",
		"Until istiod programs it, istiod refuses the binding (WaypointIsNotReady) and ztunnel sends that traffic straight to the pods: its L7 policy is skipped.",
	}
	if !reflect.DeepEqual(p.Consequences, wantCons) {
		t.Errorf("consequences:\n%s\nwant:\n%s", strings.Join(p.Consequences, "\n"), strings.Join(wantCons, "\n"))
	}
	done, err := w.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if done != "waypoint shop/l7 created and namespace shop labelled istio.io/use-waypoint=l7" {
		t.Errorf("done %q", done)
	}
	gw, err := gc.GatewayV1().Gateways("shop").Get(context.Background(), "l7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := WaypointGateway(NewWaypoint{Namespace: "shop", Name: "l7", For: "all"})
	if !reflect.DeepEqual(gw.Spec, want.Spec) || !reflect.DeepEqual(gw.Labels, want.Labels) {
		t.Errorf("created %+v %v, want %+v %v", gw.Spec, gw.Labels, want.Spec, want.Labels)
	}
	got, _ := cs.CoreV1().Namespaces().Get(context.Background(), "shop", metav1.GetOptions{})
	if got.Labels[ambient.LabelUseWaypoint] != "l7" || got.Labels[ambient.LabelDataplaneMode] != "ambient" {
		t.Errorf("namespace labels %v", got.Labels)
	}
}

func TestCreateWaypointWithoutForLeavesTheClassToDecide(t *testing.T) {
	s := mesh(service("shop", "cart", nil))
	s.Resources = map[kube.Resource]kube.ResourceState{kube.ResGatewayClasses: {Availability: kube.Available}}
	w, _, _ := newGatewayFake(t, nil)
	p, err := w.CreateWaypoint(NewWaypoint{Namespace: "infra"}, s)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(p.Patch, "waypoint-for") || !strings.Contains(p.Patch, "name: waypoint\n") {
		t.Errorf("shown:\n%s", p.Patch)
	}
	want := []string{
		"istiod deploys it (a Deployment, Service and ServiceAccount named waypoint in infra, removed with the Gateway) and sets Programmed=True once a waypoint pod is ready; ambx follows that here.",
		"No GatewayClass istio-waypoint exists: istiod creates it when ambient waypoints are on (PILOT_ENABLE_AMBIENT_WAYPOINTS); until then nothing programs this Gateway.",
		"It takes traffic sent to Services (istio.io/waypoint-for=service): pods bound to it directly are refused.",
		"Nothing uses it until a namespace, Service or pod is labelled istio.io/use-waypoint=waypoint (W).",
	}
	if !reflect.DeepEqual(p.Consequences, want) {
		t.Errorf("consequences:\n%s\nwant:\n%s", strings.Join(p.Consequences, "\n"), strings.Join(want, "\n"))
	}
	if len(p.Access()) != 1 {
		t.Errorf("access %+v: only the create", p.Access())
	}
}

func TestCreateWaypointRefuses(t *testing.T) {
	s := mesh(service("shop", "cart", nil))
	for _, tc := range []struct {
		name string
		spec NewWaypoint
		want string
	}{
		{"reserved name", NewWaypoint{Namespace: "shop", Name: "none"}, `waypoint name "none" is reserved: istio.io/use-waypoint=none opts out of waypoints`},
		{"bad name", NewWaypoint{Namespace: "shop", Name: "L7_proxy"}, `waypoint name "L7_proxy" is not valid: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"bad traffic", NewWaypoint{Namespace: "shop", Name: "x", For: "both"}, `waypoint-for "both" is not one of service, workload, all, none`},
		{"exists", NewWaypoint{Namespace: "shop", Name: "waypoint"}, "Gateway shop/waypoint already exists"},
		{"no namespace", NewWaypoint{Name: "x"}, `namespace "" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, cs, gc := newGatewayFake(t, nil)
			_, err := w.CreateWaypoint(tc.spec, s)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
			if n := len(cs.Actions()) + len(gc.Actions()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestCreateWaypointNeverOverwrites(t *testing.T) {
	// Planned on a snapshot that did not have it yet; someone created it
	// meanwhile: the create fails and their Gateway stays.
	theirs := gateway("shop", "l7", false, gwv1.NamespacesFromSame, "workload")
	w, _, gc := newGatewayFake(t, nil, theirs)
	p, err := w.CreateWaypoint(NewWaypoint{Namespace: "shop", Name: "l7"}, mesh(service("shop", "cart", nil)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Apply(context.Background(), p)
	if KindOf(err) != KindConflict || err.Error() != "changed since you looked: gateway shop/l7 already exists, reopen to see the new state" {
		t.Fatalf("apply: %v", err)
	}
	got, _ := gc.GatewayV1().Gateways("shop").Get(context.Background(), "l7", metav1.GetOptions{})
	if got.Labels[ambient.LabelWaypointFor] != "workload" {
		t.Errorf("their Gateway changed: %v", got.Labels)
	}
}

func TestWaypointWritesRefusedReadOnly(t *testing.T) {
	w := New(&kube.Clients{Kube: fake.NewSimpleClientset(), Gateway: gwfake.NewSimpleClientset()}, true)
	s := mesh(service("shop", "cart", nil))
	if _, err := w.CreateWaypoint(NewWaypoint{Namespace: "shop"}, s); KindOf(err) != KindReadOnly {
		t.Errorf("create: %v", err)
	}
	if _, err := w.DeleteWaypoint(s.Gateways[1], s); KindOf(err) != KindReadOnly {
		t.Errorf("delete: %v", err)
	}
}

// deleteFixture: shop/waypoint is used by the namespace shop (cart follows
// it), by Service pinned's own label, by a pod and from another namespace;
// two policies target it or a Service bound to it.
func deleteFixture() (*kube.Snapshot, *gwv1.Gateway) {
	getOnly := []*secapi.Rule{{To: []*secapi.Rule_To{{Operation: &secapi.Operation{Methods: []string{"GET"}}}}}}
	wp := gateway("shop", "waypoint", true, gwv1.NamespacesFromAll, "all")
	wp.UID, wp.ResourceVersion = "u-1", "41"
	s := snapshot(
		namespace("shop", "3", map[string]string{ambient.LabelDataplaneMode: "ambient", ambient.LabelUseWaypoint: "waypoint"}),
		namespace("other", "3", map[string]string{ambient.LabelDataplaneMode: "ambient"}),
		pod("shop", "client", captured),
		pod("shop", "pinned-pod", captured, withLabel(ambient.LabelUseWaypoint, "waypoint")),
		service("shop", "cart", nil),
		service("shop", "pinned", map[string]string{ambient.LabelUseWaypoint: "waypoint"}),
		service("other", "api", map[string]string{ambient.LabelUseWaypoint: "waypoint", ambient.LabelUseWaypointNS: "shop"}),
		service("other", "elsewhere", map[string]string{ambient.LabelUseWaypoint: "waypoint"}),
	)
	s.Gateways = []*gwv1.Gateway{wp}
	s.AuthorizationPolicies = []*secv1.AuthorizationPolicy{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "gw-l7"}, Spec: secapi.AuthorizationPolicy{
			TargetRefs: []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "waypoint"}}, Rules: getOnly}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-l7"}, Spec: secapi.AuthorizationPolicy{
			TargetRefs: []*typev1beta1.PolicyTargetReference{{Kind: "Service", Name: "cart"}}, Rules: getOnly}},
	}
	s = rebuilt(s)
	return s, wp
}

func TestDeleteWaypointListsWhatUsesIt(t *testing.T) {
	s, wp := deleteFixture()
	w, _, gc := newGatewayFake(t, nil, wp)
	p, err := w.DeleteWaypoint(wp, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"Labelled to use it: 1 namespace: shop (1 Service there follows the namespace label).",
		"Labelled to use it: 2 Services: other/api, shop/pinned.",
		"Labelled to use it: 1 pod: shop/pinned-pod.",
		"Those labels stay and then name a waypoint that does not exist: istiod reports WaypointIsNotReady and ztunnel sends the traffic straight to the destination (clear them with W).",
		"Bound to it now, and losing its L7 policy and routing: svc/other/api, svc/shop/cart, svc/shop/pinned, pod/shop/client, pod/shop/pinned-pod.",
		"AuthorizationPolicy shop/cart-l7 (Service/cart) loses this waypoint: Not enforced anywhere: Service shop/cart is not bound to a waypoint.",
		"AuthorizationPolicy shop/gw-l7 (Gateway/waypoint) loses this waypoint: Not enforced anywhere: Gateway shop/waypoint was not found.",
		"The garbage collector removes the Deployment, Service and ServiceAccount istiod made for it: the Gateway owns them.",
	}
	if !reflect.DeepEqual(p.Consequences, want) {
		t.Errorf("consequences:\n%s\nwant:\n%s", strings.Join(p.Consequences, "\n"), strings.Join(want, "\n"))
	}
	if !strings.HasPrefix(p.Patch, "DELETE /apis/gateway.networking.k8s.io/v1/namespaces/shop/gateways/waypoint\n") ||
		!strings.Contains(p.Patch, `"uid": "u-1"`) || !strings.Contains(p.Patch, `"resourceVersion": "41"`) {
		t.Errorf("request shown:\n%s", p.Patch)
	}
	if _, err := w.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	if _, err := gc.GatewayV1().Gateways("shop").Get(context.Background(), "waypoint", metav1.GetOptions{}); err == nil {
		t.Error("the Gateway is still there")
	}
}

func TestDeleteWaypointGoneMeanwhile(t *testing.T) {
	s, wp := deleteFixture()
	w, _, _ := newGatewayFake(t, nil)
	p, err := w.DeleteWaypoint(wp, s)
	if err != nil {
		t.Fatal(err)
	}
	_, err = w.Apply(context.Background(), p)
	if KindOf(err) != KindNotFound || err.Error() != "changed since you looked: gateway shop/waypoint no longer exists, reopen to see the new state" {
		t.Errorf("apply: %v", err)
	}
}

func TestDeleteRefusesAGatewayThatIsNoWaypoint(t *testing.T) {
	s, _ := deleteFixture()
	w, _, gc := newGatewayFake(t, nil)
	ingress := &gwv1.Gateway{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "ingress"}, Spec: gwv1.GatewaySpec{GatewayClassName: "istio"}}
	if _, err := w.DeleteWaypoint(ingress, s); err == nil || err.Error() != "Gateway shop/ingress is not a waypoint; ambx deletes only waypoints" {
		t.Errorf("got %v", err)
	}
	if len(gc.Actions()) != 0 {
		t.Error("requests sent")
	}
}

func TestSetPodWaypoint(t *testing.T) {
	s, _ := deleteFixture()
	var client *corev1.Pod
	for _, p := range s.Pods {
		if p.Name == "client" {
			client = p
		}
	}
	client = client.DeepCopy()
	ownedByDeployment("client")(client)
	for i, p := range s.Pods {
		if p.Name == "client" {
			s.Pods[i] = client
		}
	}
	s = rebuilt(s)
	w, cs := newFake(t, false, client)
	p, err := w.SetWaypoint(client, NoWaypoint, s)
	if err != nil {
		t.Fatal(err)
	}
	if p.Title != "Opt pod shop/client out of waypoints" {
		t.Errorf("title %q", p.Title)
	}
	want := []string{
		"No waypoint serves traffic addressed to the pod: opted out with istio.io/use-waypoint=none.",
		"Waypoint shop/waypoint stops handling traffic addressed to the pod.",
		"The label is on this pod only: pods deployment/client creates later will not carry it (label its pod template to keep it).",
	}
	if !reflect.DeepEqual(p.Consequences, want) {
		t.Errorf("consequences:\n%s\nwant:\n%s", strings.Join(p.Consequences, "\n"), strings.Join(want, "\n"))
	}
	if _, err := w.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().Pods("shop").Get(context.Background(), "client", metav1.GetOptions{})
	if got.Labels[ambient.LabelUseWaypoint] != "none" {
		t.Errorf("pod labels %v", got.Labels)
	}
	wpPod := pod("shop", "waypoint-abc", withLabel(ambient.LabelGatewayName, "waypoint"))
	if _, err := w.SetWaypoint(wpPod, ambient.Key{Name: "waypoint"}, s); err == nil || !strings.Contains(err.Error(), "never binds a gateway's own pods") {
		t.Errorf("waypoint pod: %v", err)
	}
}

// TestWaypointWritesStopAtTheTransport: a writable writer whose Gateway
// API client carries the read-only guard sends no POST or DELETE.
func TestWaypointWritesStopAtTheTransport(t *testing.T) {
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
	g, err := gwclient.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w := New(&kube.Clients{Kube: k, Gateway: g}, false)
	s, wp := deleteFixture()
	create, err := w.CreateWaypoint(NewWaypoint{Namespace: "other", Name: "l7", EnrollNamespace: true}, s)
	if err != nil {
		t.Fatal(err)
	}
	del, err := w.DeleteWaypoint(wp, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []Plan{create, del} {
		if _, err := w.Apply(context.Background(), p); KindOf(err) != KindReadOnly || err.Error() != "read-only mode: write refused" {
			t.Errorf("%s through the guard: %v", p.Title, err)
		}
	}
	if n := mutating.Load(); n != 0 {
		t.Errorf("server received %d mutating requests", n)
	}
}

// rebuilt analyses a hand-made snapshot the way kube.Source does, findings
// included, so a what-if compares against the same analysis.
func rebuilt(s *kube.Snapshot) *kube.Snapshot {
	return kube.Build(s.Cluster, s.Cluster.Now)
}

// TestWaypointWhatIf: the dialogs end with what the analyses of the state
// after the write find broken: a policy left without a waypoint, a Service
// bound to a waypoint with no pods.
func TestWaypointWhatIf(t *testing.T) {
	svc := service("shop", "cart", map[string]string{ambient.LabelUseWaypoint: "waypoint"})
	s := mesh(svc)
	w, _, _ := newGatewayFake(t, nil)
	p, err := w.SetWaypoint(svc, NoWaypoint, s)
	if err != nil {
		t.Fatal(err)
	}
	// The what-if is deferred (the UI runs it in a command), never in
	// the consequences built with the plan.
	if !p.HasWhatIf() || strings.Contains(strings.Join(p.Consequences, "\n"), "What-if") {
		t.Errorf("opting out: what-if deferred %v, consequences %q", p.HasWhatIf(), p.Consequences)
	}
	whatIf := strings.Join(p.WhatIf(), "\n")
	if !strings.HasPrefix(whatIf, "What-if: ") || !strings.Contains(whatIf, "Breaks: shop/cart-l7: AuthorizationPolicy shop/cart-l7 is not enforced") {
		t.Errorf("opting out, what-if:\n%s", whatIf)
	}
	svc2 := service("shop", "cart", nil)
	s = mesh(svc2)
	p, err = w.SetWaypoint(svc2, ambient.Key{Name: "waypoint"}, s)
	if err != nil {
		t.Fatal(err)
	}
	whatIf = strings.Join(p.WhatIf(), "\n")
	if !strings.Contains(whatIf, "New error: Gateway shop/waypoint: Waypoint shop/waypoint has no ready pods (0 of 0)") {
		t.Errorf("binding to a waypoint without pods, what-if:\n%s", whatIf)
	}
}

// TestCreateWaypointRevision: --revision labels the Gateway istio.io/rev,
// and the dialog says which istiod that picks, or that none answers to it.
func TestCreateWaypointRevision(t *testing.T) {
	w, _, _ := newGatewayFake(t, nil)
	s := mesh(service("shop", "cart", nil))
	s.Install = install.Info{Discovered: true,
		Components: []install.Component{{Kind: install.Istiod, Namespace: "istio-system", Name: "istiod-canary", Revision: "canary"}},
		Tags:       []install.Tag{{Name: "stable", Revision: "canary"}}}
	for _, tc := range []struct{ rev, want string }{
		{"canary", "The Gateway is labelled istio.io/rev=canary: istiod istio-system/istiod-canary programs it."},
		{"stable", "The Gateway is labelled istio.io/rev=stable: tag stable points at revision canary, whose istiod programs it."},
		{"gone", "The Gateway is labelled istio.io/rev=gone: no istiod revision or tag of that name was found, so no control plane programs it (Programmed stays Unknown)."},
	} {
		p, err := w.CreateWaypoint(NewWaypoint{Namespace: "shop", Name: "l7", Revision: tc.rev}, s)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(p.Patch, "istio.io/rev: "+tc.rev) || !strings.Contains(p.Description, "--revision "+tc.rev) {
			t.Errorf("%s: patch %s\ndescription %s", tc.rev, p.Patch, p.Description)
		}
		if !slices.Contains(p.Consequences, tc.want) {
			t.Errorf("%s: consequences %q lack %q", tc.rev, p.Consequences, tc.want)
		}
	}
	if _, err := w.CreateWaypoint(NewWaypoint{Namespace: "shop", Name: "l7", Revision: "bad value!"}, s); KindOf(err) != KindInvalid {
		t.Errorf("a revision that is no label value: %v", err)
	}
}
