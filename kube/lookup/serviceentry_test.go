package lookup_test

import (
	"testing"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	netapi "istio.io/api/networking/v1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/lookup"
)

func TestServiceEntryWaypoint(t *testing.T) {
	all := gwv1.NamespacesFromAll
	gws := []*gwv1.Gateway{
		waypoint("ext", "egress", true, nil, nil, nil),
		waypoint("ext", "pending", false, nil, nil, nil),
		waypoint("ext", "workload", true, map[string]string{"istio.io/waypoint-for": "workload"}, nil, nil),
		waypoint("infra", "shared", true, nil, &all, nil),
		waypoint("infra", "private", true, nil, nil, nil),
	}
	v131, _ := install.ParseVersion("1.31.0")
	v130, _ := install.ParseVersion("1.30.2")
	v127, _ := install.ParseVersion("1.27.3")
	for _, tc := range []struct {
		name     string
		nsLabels map[string]string
		labels   map[string]string
		exportTo []string
		hosts    []string
		nsOnly   bool // meshConfig.serviceEntryVisibility defaults to NAMESPACE
		version  install.Version
		want     ambient.WaypointBinding
	}{
		{name: "no label", want: ambient.WaypointBinding{}},
		{name: "own label", labels: map[string]string{"istio.io/use-waypoint": "egress"},
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "egress"}, Source: "serviceentry"}},
		{name: "namespace label", nsLabels: map[string]string{"istio.io/use-waypoint": "egress"},
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "egress"}, Source: "namespace"}},
		{name: "own none beats the namespace", nsLabels: map[string]string{"istio.io/use-waypoint": "egress"}, labels: map[string]string{"istio.io/use-waypoint": "none"},
			want: ambient.WaypointBinding{Source: "serviceentry", Note: "opted out with istio.io/use-waypoint=none"}},
		{name: "not ready", labels: map[string]string{"istio.io/use-waypoint": "pending"},
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "pending"}, Source: "serviceentry", Reason: "WaypointIsNotReady", Problem: `waypoint "ext/pending" is not ready`}},
		{name: "missing is not a fallback", nsLabels: map[string]string{"istio.io/use-waypoint": "egress"}, labels: map[string]string{"istio.io/use-waypoint": "gone"},
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "gone"}, Source: "serviceentry", Reason: "WaypointIsNotReady", Problem: `waypoint "ext/gone" is not ready`}},
		{name: "workload-only waypoint", labels: map[string]string{"istio.io/use-waypoint": "workload"},
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "workload"}, Source: "serviceentry", Reason: "UnsupportedTrafficType", Problem: `attempting to bind to traffic type "service" which the waypoint "ext/workload" does not support`}},
		{name: "attachment denied", labels: map[string]string{"istio.io/use-waypoint": "private", "istio.io/use-waypoint-namespace": "infra"},
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "infra", Name: "private"}, Source: "serviceentry", Reason: "AttachmentDenied", Problem: `we are not permitted to attach to waypoint "infra/private" (missing allowedRoutes?)`}},
		{name: "cross-namespace, exported everywhere", labels: map[string]string{"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}, version: v131,
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "infra", Name: "shared"}, Source: "serviceentry"}},
		{name: "cross-namespace, NAMESPACE visibility, 1.30", labels: map[string]string{"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}, nsOnly: true, version: v130,
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "infra", Name: "shared"}, Source: "serviceentry"}},
		{name: "cross-namespace, exportTo . is not the mesh's visibility, 1.31", labels: map[string]string{"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}, exportTo: []string{"."}, version: v131,
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "infra", Name: "shared"}, Source: "serviceentry"}},
		{name: "cross-namespace, NAMESPACE visibility, 1.31", labels: map[string]string{"istio.io/use-waypoint": "shared", "istio.io/use-waypoint-namespace": "infra"}, nsOnly: true, version: v131,
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "infra", Name: "shared"}, Source: "serviceentry", Reason: "CrossNamespaceWaypointForbidden",
				Problem: `cannot bind to waypoint "infra/shared" in another namespace: cross-namespace waypoint binding is not permitted for a ServiceEntry with NAMESPACE visibility`}},
		{name: "wildcard host without a waypoint, 1.31", hosts: []string{"*.example.com"}, version: v131,
			want: ambient.WaypointBinding{Note: "istiod: NoWaypointForWildcardService: ServiceEntry will not apply until it is bound to a valid waypoint."}},
		{name: "wildcard host without a waypoint, 1.27", hosts: []string{"*.example.com"}, version: v127, want: ambient.WaypointBinding{}},
		{name: "wildcard host opted out", hosts: []string{"*.example.com"}, labels: map[string]string{"istio.io/use-waypoint": "none"}, version: v131,
			want: ambient.WaypointBinding{Source: "serviceentry", Note: "opted out with istio.io/use-waypoint=none; istiod: NoWaypointForWildcardService: ServiceEntry will not apply until it is bound to a valid waypoint."}},
		{name: "wildcard host naming a missing waypoint keeps the binding's problem", hosts: []string{"*.example.com"}, labels: map[string]string{"istio.io/use-waypoint": "gone"}, version: v131,
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "gone"}, Source: "serviceentry", Reason: "WaypointIsNotReady", Problem: `waypoint "ext/gone" is not ready`}},
		{name: "wildcard host bound", hosts: []string{"*.example.com"}, labels: map[string]string{"istio.io/use-waypoint": "egress"}, version: v131,
			want: ambient.WaypointBinding{Waypoint: ambient.Key{Namespace: "ext", Name: "egress"}, Source: "serviceentry"}},
		{name: "a waypoint's own", labels: map[string]string{"gateway.istio.io/managed": "istio.io-mesh-controller", "istio.io/use-waypoint": "egress"},
			want: ambient.WaypointBinding{Note: "belongs to a waypoint or east-west gateway: never bound"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ambient.Cluster{
				Namespaces: []*corev1.Namespace{{ObjectMeta: meta("", "ext", tc.nsLabels)}, {ObjectMeta: meta("", "infra", nil)}},
				Gateways:   gws,
			}
			c.Install.Istiod = tc.version
			if tc.nsOnly {
				c.Install.ServiceEntryVisibility = &meshv1alpha1.ServiceEntryVisibility{DefaultVisibility: meshv1alpha1.ServiceEntryVisibility_NAMESPACE}
			}
			hosts := tc.hosts
			if hosts == nil {
				hosts = []string{"api.example.com"}
			}
			se := &netv1.ServiceEntry{ObjectMeta: meta("ext", "api", tc.labels), Spec: netapi.ServiceEntry{Hosts: hosts, ExportTo: tc.exportTo}}
			c.ServiceEntries = []*netv1.ServiceEntry{se}
			if got := lookup.ServiceEntryWaypoint(kube.Build(c, t0), se); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}
