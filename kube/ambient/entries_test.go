package ambient_test

import (
	"slices"
	"strings"
	"testing"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	netapi "istio.io/api/networking/v1"
	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

func serviceEntry(ns, name string, labels ...string) *netv1.ServiceEntry {
	return &netv1.ServiceEntry{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: kv(labels...)},
		Spec: netapi.ServiceEntry{Hosts: []string{name + ".example.com"}}}
}

func workloadEntry(ns, name string, meta, spec []string) *netv1.WorkloadEntry {
	return &netv1.WorkloadEntry{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: kv(meta...)},
		Spec: netapi.WorkloadEntry{Address: "10.9.9.9", Labels: kv(spec...)}}
}

func version(t *testing.T, s string) install.Version {
	t.Helper()
	v, ok := install.ParseVersion(s)
	if !ok {
		t.Fatalf("bad version %q", s)
	}
	return v
}

// entryCluster has waypoints of each traffic type in "ext" and a shared
// one in "infra" open to all namespaces.
func entryCluster() *ambient.Cluster {
	return &ambient.Cluster{
		Namespaces: []*corev1.Namespace{namespace("ext", "team=a"), namespace("infra"), namespace("istio-system")},
		Pods:       append(append(waypointPods("ext", "egress", 1), waypointPods("ext", "for-workload", 1)...), waypointPods("infra", "shared", 1)...),
		Gateways: []*gwv1.Gateway{
			waypointGW("ext", "egress"),
			waypointGW("ext", "for-workload", gwLabels("istio.io/waypoint-for=workload")),
			waypointGW("ext", "for-all", gwLabels("istio.io/waypoint-for=all")),
			waypointGW("infra", "shared", allowFrom(gwv1.NamespacesFromAll)),
			waypointGW("infra", "private"),
		},
		GatewayClasses: []*gwv1.GatewayClass{waypointClass()},
	}
}

// TestServiceEntryBinding follows serviceEntryServiceBuilder and
// fetchWaypointForService: a ServiceEntry binds like a Service, and from
// 1.31 within meshConfig.serviceEntryVisibility.
func TestServiceEntryBinding(t *testing.T) {
	nsOnly := &meshv1alpha1.ServiceEntryVisibility{DefaultVisibility: meshv1alpha1.ServiceEntryVisibility_NAMESPACE}
	hidden := &meshv1alpha1.ServiceEntryVisibility{Policies: []*meshv1alpha1.ServiceEntryVisibility_Policy{{
		Visibility: meshv1alpha1.ServiceEntryVisibility_NONE,
		MatchingRules: []*meshv1alpha1.ServiceEntryVisibility_MatchRule{{Matcher: &meshv1alpha1.ServiceEntryVisibility_MatchRule_NamespaceSelector{
			NamespaceSelector: &meshv1alpha1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}}}},
	}}}
	cross := []string{"istio.io/use-waypoint=shared", "istio.io/use-waypoint-namespace=infra"}
	for _, tc := range []struct {
		name       string
		labels     []string
		nsLabels   []string
		version    string
		visibility *meshv1alpha1.ServiceEntryVisibility
		want       ambient.WaypointBinding
		finding    string // the finding code on the ServiceEntry or its waypoint, if any
	}{
		{name: "no label", want: ambient.WaypointBinding{}},
		{name: "own label", labels: []string{"istio.io/use-waypoint=egress"},
			want: ambient.WaypointBinding{Waypoint: key("ext", "egress"), Source: "serviceentry"}},
		{name: "namespace label", nsLabels: []string{"istio.io/use-waypoint=egress"},
			want: ambient.WaypointBinding{Waypoint: key("ext", "egress"), Source: "namespace"}},
		{name: "none beats the namespace label", labels: []string{"istio.io/use-waypoint=none"}, nsLabels: []string{"istio.io/use-waypoint=egress"},
			want: ambient.WaypointBinding{Source: "serviceentry", Note: "opted out with istio.io/use-waypoint=none"}},
		{name: "missing waypoint", labels: []string{"istio.io/use-waypoint=gone"}, finding: "waypoint-missing",
			want: ambient.WaypointBinding{Waypoint: key("ext", "gone"), Source: "serviceentry", Reason: "WaypointIsNotReady", Problem: `waypoint "ext/gone" is not ready`}},
		{name: "unaddressed waypoint", labels: []string{"istio.io/use-waypoint=pending"}, finding: "waypoint-not-programmed",
			want: ambient.WaypointBinding{Waypoint: key("ext", "pending"), Source: "serviceentry", Reason: "WaypointIsNotReady", Problem: `waypoint "ext/pending" is not ready`}},
		{name: "workload-only waypoint refuses it", labels: []string{"istio.io/use-waypoint=for-workload"}, finding: "waypoint-traffic-type",
			want: ambient.WaypointBinding{Waypoint: key("ext", "for-workload"), Source: "serviceentry", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "service" which the waypoint "ext/for-workload" does not support`}},
		{name: "allowedRoutes Same refuses another namespace", labels: []string{"istio.io/use-waypoint=private", "istio.io/use-waypoint-namespace=infra"}, finding: "waypoint-attachment-denied",
			want: ambient.WaypointBinding{Waypoint: key("infra", "private"), Source: "serviceentry", Reason: "AttachmentDenied",
				Problem: `we are not permitted to attach to waypoint "infra/private" (missing allowedRoutes?)`}},
		{name: "cross-namespace waypoint, 1.31, visibility unset", labels: cross, version: "1.31.0",
			want: ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "serviceentry"}},
		{name: "cross-namespace waypoint, 1.30, NAMESPACE visibility is not read yet", labels: cross, version: "1.30.2", visibility: nsOnly,
			want: ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "serviceentry"}},
		{name: "cross-namespace waypoint, 1.31, NAMESPACE visibility", labels: cross, version: "1.31.0", visibility: nsOnly, finding: "waypoint-cross-namespace-forbidden",
			want: ambient.WaypointBinding{Waypoint: key("infra", "shared"), Source: "serviceentry", Reason: "CrossNamespaceWaypointForbidden",
				Problem: `cannot bind to waypoint "infra/shared" in another namespace: cross-namespace waypoint binding is not permitted for a ServiceEntry with NAMESPACE visibility`}},
		{name: "same-namespace waypoint, 1.31, NAMESPACE visibility", labels: []string{"istio.io/use-waypoint=egress"}, version: "1.31.0", visibility: nsOnly,
			want: ambient.WaypointBinding{Waypoint: key("ext", "egress"), Source: "serviceentry"}},
		{name: "1.31, a policy resolving the namespace to NONE hides it", labels: []string{"istio.io/use-waypoint=egress"}, version: "1.31.0", visibility: hidden,
			want: ambient.WaypointBinding{Source: "serviceentry", Note: "meshConfig.serviceEntryVisibility resolves it to NONE: istiod publishes nothing for it to ambient proxies"}},
		{name: "a waypoint's own ServiceEntry is never bound", labels: []string{"gateway.istio.io/managed=istio.io-mesh-controller", "istio.io/use-waypoint=egress"},
			want: ambient.WaypointBinding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := entryCluster()
			c.Namespaces[0].Labels = kv(append([]string{"team=a"}, tc.nsLabels...)...)
			if tc.version != "" {
				c.Install.Istiod = version(t, tc.version)
			}
			c.Install.ServiceEntryVisibility = tc.visibility
			if tc.finding == "waypoint-not-programmed" {
				c.Gateways = append(c.Gateways, waypointGW("ext", "pending", unaddressed("Pending", "Waiting for controller")))
			}
			c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("ext", "api", tc.labels...)}
			a := ambient.Analyze(c)
			if got := a.ServiceEntries[key("ext", "api")].Waypoint; got != tc.want {
				t.Errorf("binding\n got  %+v\n want %+v", got, tc.want)
			}
			var got []string
			for _, f := range a.Findings {
				if f.Object.Kind == "ServiceEntry" || f.Object.Kind == "Gateway" || f.Object.Kind == "Namespace" {
					got = append(got, f.Code)
				}
			}
			var want []string
			if tc.finding != "" {
				want = []string{tc.finding}
			}
			if !slices.Equal(got, want) {
				t.Errorf("findings %v, want %v", got, want)
			}
			bound := false
			for _, w := range a.Waypoints {
				if slices.Contains(w.ServiceEntries, key("ext", "api")) {
					bound = w.Key == tc.want.Waypoint
				}
			}
			if bound != tc.want.Bound() {
				t.Errorf("listed under its waypoint: %v, want %v", bound, tc.want.Bound())
			}
		})
	}
}

// TestWorkloadEntryBinding follows workloadEntryWorkloadBuilder: workload
// traffic, spec.labels merged under the object's labels, and a mismatched
// traffic type silent only when inherited from the namespace.
func TestWorkloadEntryBinding(t *testing.T) {
	for _, tc := range []struct {
		name       string
		meta, spec []string
		nsLabels   []string
		want       ambient.WaypointBinding
	}{
		{name: "own label on a workload waypoint", meta: []string{"istio.io/use-waypoint=for-workload"},
			want: ambient.WaypointBinding{Waypoint: key("ext", "for-workload"), Source: "workloadentry"}},
		{name: "spec.labels count too", spec: []string{"istio.io/use-waypoint=for-all"},
			want: ambient.WaypointBinding{Waypoint: key("ext", "for-all"), Source: "workloadentry"}},
		{name: "metadata labels win over spec.labels", meta: []string{"istio.io/use-waypoint=for-all"}, spec: []string{"istio.io/use-waypoint=for-workload"},
			want: ambient.WaypointBinding{Waypoint: key("ext", "for-all"), Source: "workloadentry"}},
		{name: "own label on a service waypoint is refused", meta: []string{"istio.io/use-waypoint=egress"},
			want: ambient.WaypointBinding{Waypoint: key("ext", "egress"), Source: "workloadentry", Reason: "UnsupportedTrafficType",
				Problem: `attempting to bind to traffic type "workload" which the waypoint "ext/egress" does not support`}},
		{name: "namespace service waypoint is skipped silently", nsLabels: []string{"istio.io/use-waypoint=egress"},
			want: ambient.WaypointBinding{Note: `namespace waypoint ext/egress takes "service" traffic only, so traffic addressed to the pod skips it`}},
		{name: "an instance of a waypoint has none", meta: []string{"gateway.networking.k8s.io/gateway-name=egress", "istio.io/use-waypoint=for-all"},
			want: ambient.WaypointBinding{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := entryCluster()
			c.Namespaces[0].Labels = kv(tc.nsLabels...)
			c.WorkloadEntries = []*netv1.WorkloadEntry{workloadEntry("ext", "vm", tc.meta, tc.spec)}
			a := ambient.Analyze(c)
			if got := a.WorkloadEntries[key("ext", "vm")].Waypoint; got != tc.want {
				t.Errorf("binding\n got  %+v\n want %+v", got, tc.want)
			}
		})
	}
}

// TestWaypointWithNoPodsBreaksServiceEntries: a bound ServiceEntry counts
// as a victim of a waypoint whose pods are gone.
func TestWaypointWithNoPodsBreaksServiceEntries(t *testing.T) {
	c := entryCluster()
	c.Pods = nil
	c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("ext", "api", "istio.io/use-waypoint=egress")}
	c.WorkloadEntries = []*netv1.WorkloadEntry{workloadEntry("ext", "vm", []string{"istio.io/use-waypoint=for-all"}, nil)}
	a := ambient.Analyze(c)
	fs := findingsFor(a, "waypoint-no-ready-pods")
	var names []string
	for _, f := range fs {
		names = append(names, f.Object.Name)
		if f.Object.Name == "for-all" && !strings.Contains(f.Why, "1 object") {
			t.Errorf("for-all: %s", f.Why)
		}
	}
	if !slices.Equal(names, []string{"egress", "for-all"}) {
		t.Errorf("waypoint-no-ready-pods on %v, want egress and for-all", names)
	}
}

// TestExternalNameServiceIsNeverBound: istiod drops ExternalName Services
// from ambient in every release, label or not.
func TestExternalNameServiceIsNeverBound(t *testing.T) {
	for _, v := range []string{"1.24.6", "1.28.3", "1.31.0"} {
		for _, tc := range []struct {
			name, label string
			finding     bool
		}{
			{"labelled with a waypoint", "istio.io/use-waypoint=egress", true},
			{"opted out", "istio.io/use-waypoint=none", false},
			{"no label", "", false},
		} {
			t.Run(v+" "+tc.name, func(t *testing.T) {
				c := entryCluster()
				c.Install.Istiod = version(t, v)
				c.Namespaces[0].Labels = kv("istio.io/use-waypoint=egress")
				svc := service("ext", "legacy-api")
				if tc.label != "" {
					svc.Labels = kv(tc.label)
				}
				svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "api.example.com",
					Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}
				c.Services = []*corev1.Service{svc}
				a := ambient.Analyze(c)
				info := a.Services[key("ext", "legacy-api")]
				if info.Waypoint.Bound() || info.Waypoint.Problem != "" || info.Waypoint.Waypoint.Name != "" {
					t.Errorf("binding %+v, want none", info.Waypoint)
				}
				for _, w := range a.Waypoints {
					if len(w.Services) > 0 {
						t.Errorf("waypoint %s lists %v", w.Key, w.Services)
					}
				}
				fs := findingsFor(a, "waypoint-externalname-service")
				if (len(fs) == 1) != tc.finding || len(fs) > 1 {
					t.Fatalf("findings %v, want one: %v", codes(fs), tc.finding)
				}
				if tc.finding {
					for _, want := range []string{"kind: ServiceEntry", "- api.example.com", "istio.io/use-waypoint: egress", "protocol: HTTP", "resolution: DNS"} {
						if !strings.Contains(fs[0].Fix, want) {
							t.Errorf("fix lacks %q:\n%s", want, fs[0].Fix)
						}
					}
				}
			})
		}
	}
}

// TestServiceEntryTargetRef follows WaypointPolicyStatusCollection: a
// ServiceEntry targetRef is found, bound or TargetNotFound, the same in
// every release; unread ServiceEntries decide nothing.
func TestServiceEntryTargetRef(t *testing.T) {
	seRef := func(name string) *typev1beta1.PolicyTargetReference {
		return &typev1beta1.PolicyTargetReference{Group: "networking.istio.io", Kind: "ServiceEntry", Name: name}
	}
	for _, tc := range []struct {
		name    string
		ref     string
		unread  bool
		bound   []string
		effect  string
		finding bool
	}{
		{name: "bound ServiceEntry", ref: "bound", bound: []string{"ext/egress"}},
		{name: "ServiceEntry bound to nothing", ref: "unbound", effect: "ServiceEntry ext/unbound is not bound to a waypoint", finding: true},
		{name: "missing ServiceEntry", ref: "ghost", effect: "ServiceEntry ext/ghost was not found", finding: true},
		{name: "ServiceEntries not read", ref: "ghost", unread: true, bound: []string{"ServiceEntry/ext/ghost"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := entryCluster()
			c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("ext", "bound", "istio.io/use-waypoint=egress"), serviceEntry("ext", "unbound")}
			c.ServiceEntriesUnread = tc.unread
			p := authz("ext", "to-se")
			p.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{seRef(tc.ref)}
			c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{p}
			a := ambient.Analyze(c)
			pi := policyOf(t, a, ambient.KindAuthorizationPolicy, key("ext", "to-se"))
			if !slices.Equal(pi.BoundTo, tc.bound) {
				t.Errorf("bound to %v, want %v", pi.BoundTo, tc.bound)
			}
			if !strings.Contains(pi.Effect, tc.effect) {
				t.Errorf("effect %q, want it to say %q", pi.Effect, tc.effect)
			}
			if got := len(findingsFor(a, "policy-target-unbound")) == 1; got != tc.finding {
				t.Errorf("policy-target-unbound: %v, want %v", got, tc.finding)
			}
		})
	}
}

// TestIngressUseWaypointByVersion follows reference 3.4: 1.24 reads the
// Service's own label, exactly "true"; 1.25-1.29 fall back to the
// namespace and fold case; 1.30+ ParseBool.
func TestIngressUseWaypointByVersion(t *testing.T) {
	for _, tc := range []struct {
		svc, ns string // label values; "" is absent
		want    map[string]bool
	}{
		{svc: "true", want: map[string]bool{"1.23.4": false, "1.24.6": true, "1.28.3": true, "1.30.1": true}},
		{svc: "TRUE", want: map[string]bool{"1.24.6": false, "1.25.5": true, "1.29.6": true, "1.30.1": true}},
		{svc: "1", want: map[string]bool{"1.24.6": false, "1.29.6": false, "1.30.1": true}},
		{svc: "t", want: map[string]bool{"1.29.6": false, "1.31.0": true}},
		{svc: "yes", want: map[string]bool{"1.24.6": false, "1.29.6": false, "1.30.1": false}},
		{ns: "true", want: map[string]bool{"1.24.6": false, "1.25.5": true, "1.30.1": true}},
		{ns: "1", want: map[string]bool{"1.25.5": false, "1.30.1": true}},
		{svc: "false", ns: "true", want: map[string]bool{"1.25.5": false, "1.30.1": false}},
		{svc: "bogus", ns: "true", want: map[string]bool{"1.25.5": false, "1.30.1": false}},
	} {
		for v, want := range tc.want {
			t.Run("svc="+tc.svc+" ns="+tc.ns+" "+v, func(t *testing.T) {
				c := entryCluster()
				c.Install.Istiod = version(t, v)
				if tc.ns != "" {
					c.Namespaces[0].Labels = kv("istio.io/ingress-use-waypoint=" + tc.ns)
				}
				l := []string{"istio.io/use-waypoint=egress"}
				if tc.svc != "" {
					l = append(l, "istio.io/ingress-use-waypoint="+tc.svc)
				}
				c.Services = []*corev1.Service{service("ext", "web", l...)}
				c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("ext", "api", l...)}
				a := ambient.Analyze(c)
				if got := a.Services[key("ext", "web")].IngressUseWaypoint; got != want {
					t.Errorf("Service: %v, want %v", got, want)
				}
				if got := a.ServiceEntries[key("ext", "api")].IngressUseWaypoint; got != want {
					t.Errorf("ServiceEntry: %v, want %v", got, want)
				}
			})
		}
	}
}

// TestGatewayPodsEnforcePolicies follows ShouldAttachPolicy (reference
// 2.2, 3.2): a Gateway API ingress gateway's pods apply selector
// AuthorizationPolicies and RequestAuthentications (while
// ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY is on) and targetRefs to their
// Gateway; east-west gateways and waypoints ignore selector policies, and
// PeerAuthentication is not theirs.
func TestGatewayPodsEnforcePolicies(t *testing.T) {
	l7 := rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}})
	for _, tc := range []struct {
		name     string
		env      map[string]string
		podLabel []string
		policy   func(c *ambient.Cluster)
		kind     string
		want     ambient.Enforcement
		noCode   string // a finding that must not appear
	}{
		{name: "selector L7 ALLOW on an ingress gateway", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			policy: func(c *ambient.Cluster) {
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", selector("app=gw"), l7)}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByGateway, noCode: "policy-l7-on-ztunnel"},
		{name: "a hand-deployed pod of an ingress Gateway counts too",
			policy: func(c *ambient.Cluster) {
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", selector("app=gw"))}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByGateway},
		{name: "namespace-wide policy reaches the gateway pods", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			policy: func(c *ambient.Cluster) {
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", action(secv1beta1.AuthorizationPolicy_DENY), l7)}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByGateway},
		{name: "switch off: gateways ignore selector policies", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			env: map[string]string{"PILOT_ENABLE_AMBIENT": "true", "ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY": "false"},
			policy: func(c *ambient.Cluster) {
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", selector("app=gw"))}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByNone},
		{name: "east-west gateway pods run as waypoints", podLabel: []string{"gateway.istio.io/managed=istio.io-eastwest-controller"},
			policy: func(c *ambient.Cluster) {
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", selector("app=gw"))}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByNone},
		{name: "targetRef to the ingress Gateway", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			policy: func(c *ambient.Cluster) {
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", targetRef("Gateway", "public"), l7)}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByGateway, noCode: "policy-target-unbound"},
		{name: "targetRef to the ingress Gateway before it has an address (LoadBalancer pending)", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			policy: func(c *ambient.Cluster) {
				c.Gateways[0].Status.Addresses = nil
				c.AuthorizationPolicies = []*secv1.AuthorizationPolicy{authz("ingress", "p", targetRef("Gateway", "public"), l7)}
			}, kind: ambient.KindAuthorizationPolicy, want: ambient.EnforcedByGateway, noCode: "policy-target-unbound"},
		{name: "selector RequestAuthentication on the gateway applies", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			policy: func(c *ambient.Cluster) {
				c.RequestAuthentications = []*secv1.RequestAuthentication{requestAuthn("ingress", "p", []string{"app=gw"})}
			}, kind: ambient.KindRequestAuthentication, want: ambient.EnforcedByGateway, noCode: "requestauthentication-no-waypoint"},
		{name: "PeerAuthentication does not apply to the gateway", podLabel: []string{"gateway.istio.io/managed=istio.io-gateway-controller"},
			policy: func(c *ambient.Cluster) {
				c.PeerAuthentications = []*secv1.PeerAuthentication{peerAuthn("ingress", "p", secv1beta1.PeerAuthentication_MutualTLS_STRICT, 0, "app=gw")}
			}, kind: ambient.KindPeerAuthentication, want: ambient.EnforcedByNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gw := waypointGW("ingress", "public", class("istio"))
			gw.Spec.Listeners = []gwv1.Listener{{Name: "http", Port: 80, Protocol: "HTTP"}}
			c := &ambient.Cluster{
				Namespaces: []*corev1.Namespace{namespace("ingress"), namespace("istio-system")},
				Pods: []*corev1.Pod{pod("ingress", "public-istio-0",
					labels(append([]string{"app=gw", "gateway.networking.k8s.io/gateway-name=public", "istio.io/dataplane-mode=none"}, tc.podLabel...)...))},
				Gateways: []*gwv1.Gateway{gw},
			}
			c.Install.Env = tc.env
			tc.policy(c)
			a := ambient.Analyze(c)
			pi := policyOf(t, a, tc.kind, key("ingress", "p"))
			if pi.EnforcedBy != tc.want {
				t.Errorf("enforced by %s (%s), want %s", pi.EnforcedBy, pi.Effect, tc.want)
			}
			if tc.want == ambient.EnforcedByGateway && pi.BoundTo == nil && pi.SelectedGateway != 1 {
				t.Errorf("selected gateway pods %d, want 1", pi.SelectedGateway)
			}
			if tc.noCode != "" && len(findingsFor(a, tc.noCode)) > 0 {
				t.Errorf("unexpected %s: %v", tc.noCode, codes(a.Findings))
			}
		})
	}
}
