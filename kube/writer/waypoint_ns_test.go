package writer

import (
	"context"
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
)

func TestSetNamespaceWaypoint(t *testing.T) {
	for _, tc := range []struct {
		name      string
		nsLabels  map[string]string
		waypoint  ambient.Key
		wantPatch string
		wantTitle string
		want      []string
	}{
		{
			name:     "same namespace",
			nsLabels: map[string]string{ambient.LabelDataplaneMode: "ambient"},
			waypoint: ambient.Key{Name: "waypoint"},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"3"},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint","value":"waypoint"}
]`,
			wantTitle: "Use waypoint shop/waypoint for namespace shop",
			want: []string{
				"1 Service in shop starts going through the waypoint, which applies its L7 policy and routing.",
				"1 Service keeps its own istio.io/use-waypoint label, which wins over the namespace's.",
			},
		},
		{
			name:     "a waypoint that denies the namespace",
			nsLabels: map[string]string{ambient.LabelDataplaneMode: "ambient"},
			waypoint: ambient.Key{Namespace: "infra", Name: "private"},
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"3"},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint","value":"private"},
  {"op":"add","path":"/metadata/labels/istio.io~1use-waypoint-namespace","value":"infra"}
]`,
			wantTitle: "Use waypoint infra/private for namespace shop",
			want: []string{
				`1 Service cannot use it: istiod will report AttachmentDenied: we are not permitted to attach to waypoint "infra/private" (missing allowedRoutes?). Until that is fixed their traffic skips the waypoint.`,
				"1 Service keeps its own istio.io/use-waypoint label, which wins over the namespace's.",
			},
		},
		{
			name:     "opt out",
			nsLabels: map[string]string{ambient.LabelDataplaneMode: "ambient", ambient.LabelUseWaypoint: "waypoint"},
			waypoint: NoWaypoint,
			wantPatch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"3"},
  {"op":"replace","path":"/metadata/labels/istio.io~1use-waypoint","value":"none"}
]`,
			wantTitle: "Opt namespace shop out of waypoints",
			want: []string{
				"1 Service stops going through a waypoint.",
				"1 Service keeps its own istio.io/use-waypoint label, which wins over the namespace's.",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := snapshot(
				namespace("shop", "3", tc.nsLabels),
				namespace("infra", "3", nil),
				pod("shop", "client", captured),
				service("shop", "cart", nil),
				service("shop", "pinned", map[string]string{ambient.LabelUseWaypoint: "none"}),
			)
			s.Gateways = []*gwv1.Gateway{
				gateway("shop", "waypoint", true, gwv1.NamespacesFromSame, ""),
				gateway("infra", "private", true, gwv1.NamespacesFromSame, ""),
			}
			s = rebuilt(s)
			w, cs := newFake(t, false, s.Namespaces[0])
			p, err := w.SetWaypoint(s.Namespaces[0], tc.waypoint, s)
			if err != nil {
				t.Fatal(err)
			}
			if p.Patch != tc.wantPatch {
				t.Errorf("patch:\n%s\nwant:\n%s", p.Patch, tc.wantPatch)
			}
			if p.Title != tc.wantTitle {
				t.Errorf("title %q, want %q", p.Title, tc.wantTitle)
			}
			if !reflect.DeepEqual(p.Consequences, tc.want) {
				t.Errorf("consequences:\n%q\nwant:\n%q", p.Consequences, tc.want)
			}
			if _, err := w.Apply(context.Background(), p); err != nil {
				t.Fatal(err)
			}
			got, _ := cs.CoreV1().Namespaces().Get(context.Background(), "shop", metav1.GetOptions{})
			want := tc.waypoint.Name
			if got.Labels[ambient.LabelUseWaypoint] != want {
				t.Errorf("after apply use-waypoint = %q, want %q", got.Labels[ambient.LabelUseWaypoint], want)
			}
		})
	}
}
