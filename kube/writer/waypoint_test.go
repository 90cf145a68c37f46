package writer

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	secapi "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func gateway(ns, name string, ready bool, from gwv1.FromNamespaces, waypointFor string) *gwv1.Gateway {
	gw := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: ambient.WaypointGatewayClass,
			Listeners: []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE",
				AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &from}}}},
		},
	}
	if waypointFor != "" {
		gw.Labels = map[string]string{ambient.LabelWaypointFor: waypointFor}
	}
	if ready {
		gw.Status.Addresses = []gwv1.GatewayStatusAddress{{Value: "10.96.0.50"}}
	}
	return gw
}

func service(ns, name string, labels map[string]string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, ResourceVersion: "20", Labels: labels}}
}

// mesh is a small cluster: shop is enrolled and has a ready waypoint and a
// captured client; infra has a shared waypoint open to all namespaces.
func mesh(svc *corev1.Service, extra ...*gwv1.Gateway) *kube.Snapshot {
	s := snapshot(
		namespace("shop", "3", map[string]string{ambient.LabelDataplaneMode: "ambient"}),
		namespace("infra", "3", nil),
		pod("shop", "client", captured),
		svc,
	)
	s.Gateways = append([]*gwv1.Gateway{
		gateway("infra", "shared", true, gwv1.NamespacesFromAll, ""),
		gateway("shop", "waypoint", true, gwv1.NamespacesFromSame, ""),
	}, extra...)
	s.AuthorizationPolicies = []*secv1.AuthorizationPolicy{{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "cart-l7"},
		Spec: secapi.AuthorizationPolicy{
			TargetRefs: []*typev1beta1.PolicyTargetReference{{Kind: "Service", Name: "cart"}},
		},
	}}
	s = rebuilt(s)
	return s
}

func TestSetServiceWaypoint(t *testing.T) {
	for _, tc := range []struct {
		name      string
		labels    map[string]string
		waypoint  ambient.Key
		extra     []*gwv1.Gateway
		wantPatch string
		wantTitle string
		want      []string
	}{
		{
			name:     "same namespace",
			waypoint: ambient.Key{Name: "waypoint"},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"20"},
  {"op":"add","path":"/metadata/labels","value":{}},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint","value":"waypoint"}
]`,
			wantTitle: "Use waypoint shop/waypoint for Service shop/cart",
			want: []string{
				"Traffic to the Service goes through waypoint shop/waypoint, which applies its L7 policy and routing.",
				"1 AuthorizationPolicy targeting this Service (enforced only by a waypoint) starts being enforced.",
			},
		},
		{
			name:     "another namespace",
			labels:   map[string]string{"app": "cart"},
			waypoint: ambient.Key{Namespace: "infra", Name: "shared"},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"20"},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint","value":"shared"},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint-namespace","value":"infra"}
]`,
			wantTitle: "Use waypoint infra/shared for Service shop/cart",
			want: []string{
				"Traffic to the Service goes through waypoint infra/shared, which applies its L7 policy and routing.",
				"1 AuthorizationPolicy targeting this Service (enforced only by a waypoint) starts being enforced.",
			},
		},
		{
			name:     "a waypoint that does not exist",
			labels:   map[string]string{ambient.LabelUseWaypoint: "shared", ambient.LabelUseWaypointNS: "infra"},
			waypoint: ambient.Key{Name: "missing"},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"20"},
  {"op":"replace","path":"/metadata/labels/istio.io~1use-waypoint","value":"missing"},
  {"op":"remove","path":"/metadata/labels/istio.io~1use-waypoint-namespace"}
]`,
			wantTitle: "Use waypoint shop/missing for Service shop/cart",
			want: []string{
				`istiod will report WaypointIsNotReady: waypoint "shop/missing" is not ready. Until that is fixed, ztunnel sends traffic straight to the Service and the waypoint's L7 policy is skipped.`,
				"Waypoint infra/shared stops handling its traffic.",
				"1 AuthorizationPolicy targeting this Service (enforced only by a waypoint) stops being enforced.",
			},
		},
		{
			name:     "a workload-only waypoint",
			waypoint: ambient.Key{Name: "pods-only"},
			extra:    []*gwv1.Gateway{gateway("shop", "pods-only", true, gwv1.NamespacesFromSame, "workload")},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"20"},
  {"op":"add","path":"/metadata/labels","value":{}},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint","value":"pods-only"}
]`,
			wantTitle: "Use waypoint shop/pods-only for Service shop/cart",
			want: []string{
				`istiod will report UnsupportedTrafficType: attempting to bind to traffic type "service" which the waypoint "shop/pods-only" does not support. Until that is fixed, ztunnel sends traffic straight to the Service and the waypoint's L7 policy is skipped.`,
			},
		},
		{
			name:     "clear",
			labels:   map[string]string{ambient.LabelUseWaypoint: "waypoint", "app": "cart"},
			waypoint: ambient.Key{},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"20"},
  {"op":"remove","path":"/metadata/labels/istio.io~1use-waypoint"}
]`,
			wantTitle: "Clear the waypoint of Service shop/cart",
			want: []string{
				"No waypoint serves the Service: ztunnel sends its traffic straight to the pods (L4 only).",
				"Waypoint shop/waypoint stops handling its traffic.",
				"1 AuthorizationPolicy targeting this Service (enforced only by a waypoint) stops being enforced.",
			},
		},
		{
			name:     "opt out",
			labels:   map[string]string{ambient.LabelUseWaypoint: "waypoint"},
			waypoint: NoWaypoint,
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"20"},
  {"op":"replace","path":"/metadata/labels/istio.io~1use-waypoint","value":"none"}
]`,
			wantTitle: "Opt Service shop/cart out of waypoints",
			want: []string{
				"No waypoint serves the Service: opted out with istio.io/use-waypoint=none.",
				"Waypoint shop/waypoint stops handling its traffic.",
				"1 AuthorizationPolicy targeting this Service (enforced only by a waypoint) stops being enforced.",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := service("shop", "cart", tc.labels)
			ctx := context.Background()
			w, cs := newFake(t, false, svc)
			plan, err := w.SetWaypoint(svc, tc.waypoint, mesh(svc, tc.extra...))
			if err != nil {
				t.Fatal(err)
			}
			if plan.Patch != tc.wantPatch {
				t.Errorf("patch\n%s\nwant\n%s", plan.Patch, tc.wantPatch)
			}
			if plan.Title != tc.wantTitle {
				t.Errorf("title %q, want %q", plan.Title, tc.wantTitle)
			}
			if !reflect.DeepEqual(plan.Consequences, tc.want) {
				t.Errorf("consequences\n%s\nwant\n%s", strings.Join(plan.Consequences, "\n"), strings.Join(tc.want, "\n"))
			}
			if _, err := w.Apply(ctx, plan); err != nil {
				t.Fatal(err)
			}
			got, err := cs.CoreV1().Services("shop").Get(ctx, "cart", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{}
			for k, v := range tc.labels {
				want[k] = v
			}
			delete(want, ambient.LabelUseWaypoint)
			delete(want, ambient.LabelUseWaypointNS)
			switch {
			case tc.waypoint.Name == "":
			case tc.waypoint.Namespace != "" && tc.waypoint.Namespace != "shop":
				want[ambient.LabelUseWaypoint], want[ambient.LabelUseWaypointNS] = tc.waypoint.Name, tc.waypoint.Namespace
			default:
				want[ambient.LabelUseWaypoint] = tc.waypoint.Name
			}
			if len(want) == 0 {
				want = nil
			}
			if len(got.Labels) == 0 {
				got.Labels = nil
			}
			if !reflect.DeepEqual(got.Labels, want) {
				t.Errorf("labels after apply %v, want %v", got.Labels, want)
			}
			before := svc.DeepCopy()
			before.Labels, got.Labels = nil, nil
			if !reflect.DeepEqual(before, got) {
				t.Errorf("Service changed beyond its labels:\n%+v\n%+v", before, got)
			}
		})
	}
}

func TestSetServiceWaypointRefuses(t *testing.T) {
	wpSvc := service("shop", "waypoint", map[string]string{ambient.LabelGatewayManaged: "istio.io-mesh-controller"})
	svc := service("shop", "cart", map[string]string{ambient.LabelUseWaypoint: "waypoint"})
	for _, tc := range []struct {
		name     string
		svc      *corev1.Service
		waypoint ambient.Key
		want     string
	}{
		{"a waypoint's own Service", wpSvc, ambient.Key{Name: "waypoint"}, "Service shop/waypoint belongs to a waypoint or east-west gateway; istiod never binds it to a waypoint"},
		{"already so", svc, ambient.Key{Name: "waypoint"}, "nothing to change on Service shop/cart"},
		{"bad name", svc, ambient.Key{Name: "Not A Name!"}, `waypoint name "Not A Name!" cannot be a label value: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		{"bad namespace", svc, ambient.Key{Namespace: "In/valid", Name: "wp"}, `namespace "In/valid" is not a namespace name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`},
		{"namespace without name", svc, ambient.Key{Namespace: "infra"}, "waypoint in namespace infra has no name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, cs := newFake(t, false, tc.svc)
			_, err := w.SetWaypoint(tc.svc, tc.waypoint, mesh(tc.svc))
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
			if n := len(cs.Actions()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

func TestClearingFallsBackToTheNamespaceWaypoint(t *testing.T) {
	svc := service("shop", "cart", map[string]string{ambient.LabelUseWaypoint: "shared", ambient.LabelUseWaypointNS: "infra"})
	s := mesh(svc)
	for i, n := range s.Namespaces {
		if n.Name == "shop" {
			n = n.DeepCopy()
			n.Labels[ambient.LabelUseWaypoint] = "waypoint"
			s.Namespaces[i] = n
		}
	}
	s = rebuilt(s)
	w, _ := newFake(t, false)
	plan, err := w.SetWaypoint(svc, ambient.Key{}, s)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"The Service falls back to its namespace's waypoint shop/waypoint, which applies its L7 policy and routing.",
		"Waypoint infra/shared stops handling its traffic.",
	}
	if !reflect.DeepEqual(plan.Consequences, want) {
		t.Errorf("consequences\n%s\nwant\n%s", strings.Join(plan.Consequences, "\n"), strings.Join(want, "\n"))
	}
}
