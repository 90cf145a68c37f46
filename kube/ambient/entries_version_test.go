package ambient_test

import (
	"strings"
	"testing"

	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	netapi "istio.io/api/networking/v1"
	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	netv1 "istio.io/client-go/pkg/apis/networking/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
)

// TestServiceEntryWaypointMissing follows GetConditions for ServiceEntries:
// a host of an entry with no valid waypoint gets istio.io/WaypointMissing
// when it is a wildcard (1.28+) or, overriding that, when the entry races
// its connections (1.30+); a bound entry, or an older istiod, gets none.
func TestServiceEntryWaypointMissing(t *testing.T) {
	const (
		wildcard = "NoWaypointForWildcardService"
		racing   = "NoWaypointForRacingConnectStrategy"
		race     = "istio.io/connect-strategy=RACE_FIRST_TCP_CONNECT"
	)
	nsOnly := &meshv1alpha1.ServiceEntryVisibility{DefaultVisibility: meshv1alpha1.ServiceEntryVisibility_NONE}
	for _, tc := range []struct {
		name        string
		hosts       []string
		labels      []string
		annotations []string
		visibility  *meshv1alpha1.ServiceEntryVisibility
		// by version: the reason istiod writes ("" none) and whether
		// ambx raises serviceentry-waypoint-missing for it.
		want    map[string]string
		finding map[string]bool
	}{
		{name: "wildcard host, no waypoint", hosts: []string{"*.example.com"},
			want:    map[string]string{"1.24.6": "", "1.27.3": "", "1.28.0": wildcard, "1.29.4": wildcard, "1.30.1": wildcard, "1.31.0": wildcard},
			finding: map[string]bool{"1.27.3": false, "1.28.0": true, "1.31.0": true}},
		{name: "wildcard host bound to a waypoint", hosts: []string{"*.example.com"}, labels: []string{"istio.io/use-waypoint=egress"},
			want: map[string]string{"1.28.0": "", "1.31.0": ""}},
		{name: "wildcard among plain hosts", hosts: []string{"api.example.com", "*.cdn.example.com"},
			want:    map[string]string{"1.27.3": "", "1.28.0": wildcard, "1.31.0": wildcard},
			finding: map[string]bool{"1.28.0": true}},
		{name: "plain host, no waypoint", hosts: []string{"api.example.com"},
			want: map[string]string{"1.28.0": "", "1.30.1": "", "1.31.0": ""}},
		{name: "racing connect strategy, no waypoint", hosts: []string{"api.example.com"}, annotations: []string{race},
			want:    map[string]string{"1.28.0": "", "1.29.4": "", "1.30.0": racing, "1.31.0": racing},
			finding: map[string]bool{"1.29.4": false, "1.30.0": true}},
		{name: "racing strategy in lower case", hosts: []string{"api.example.com"}, annotations: []string{"istio.io/connect-strategy=race_first_tcp_connect"},
			want: map[string]string{"1.29.4": "", "1.30.0": racing}},
		{name: "another strategy is the default", hosts: []string{"api.example.com"}, annotations: []string{"istio.io/connect-strategy=FIRST"},
			want: map[string]string{"1.30.0": ""}},
		{name: "racing strategy bound to a waypoint", hosts: []string{"api.example.com"}, annotations: []string{race}, labels: []string{"istio.io/use-waypoint=egress"},
			want: map[string]string{"1.30.0": "", "1.31.0": ""}},
		{name: "racing overrides wildcard", hosts: []string{"*.example.com"}, annotations: []string{race},
			want:    map[string]string{"1.28.0": wildcard, "1.29.4": wildcard, "1.30.0": racing},
			finding: map[string]bool{"1.28.0": true, "1.30.0": true}},
		{name: "wildcard host asking for a missing waypoint: the binding finding says it", hosts: []string{"*.example.com"}, labels: []string{"istio.io/use-waypoint=gone"},
			want:    map[string]string{"1.27.3": "", "1.28.0": wildcard},
			finding: map[string]bool{"1.28.0": false}},
		{name: "wildcard host asking for a workload waypoint is refused and missing", hosts: []string{"*.example.com"}, labels: []string{"istio.io/use-waypoint=for-workload"},
			want: map[string]string{"1.28.0": wildcard, "1.31.0": wildcard}},
		{name: "visibility NONE publishes nothing to write it on", hosts: []string{"*.example.com"}, visibility: nsOnly,
			want:    map[string]string{"1.30.1": wildcard, "1.31.0": ""},
			finding: map[string]bool{"1.31.0": false}},
	} {
		for v, reason := range tc.want {
			t.Run(tc.name+" "+v, func(t *testing.T) {
				c := entryCluster()
				c.Install.Istiod = version(t, v)
				c.Install.ServiceEntryVisibility = tc.visibility
				se := serviceEntry("ext", "api", tc.labels...)
				se.Spec.Hosts = tc.hosts
				se.Annotations = kv(tc.annotations...)
				c.ServiceEntries = []*netv1.ServiceEntry{se}
				a := ambient.Analyze(c)
				m := a.ServiceEntries[key("ext", "api")].WaypointMissing
				got := ""
				if m != nil {
					got = m.Reason
				}
				if got != reason {
					t.Fatalf("WaypointMissing %q, want %q (%+v)", got, reason, m)
				}
				want := map[string]string{
					wildcard: "ServiceEntry will not apply until it is bound to a valid waypoint.",
					racing:   "ServiceEntry has a non-default connect strategy but no waypoint bound. A waypoint is required for connect strategies to take effect for ambient clients.",
				}[reason]
				if m != nil && m.Message != want {
					t.Errorf("message %q, want istiod's %q", m.Message, want)
				}
				fs := findingsFor(a, "serviceentry-waypoint-missing")
				wantFinding, set := tc.finding[v]
				if !set {
					return
				}
				if (len(fs) == 1) != wantFinding || len(fs) > 1 {
					t.Fatalf("serviceentry-waypoint-missing findings %+v, want %v", fs, wantFinding)
				}
				if wantFinding {
					f := fs[0]
					if f.Object.Kind != "ServiceEntry" || f.Object.Name != "api" || !strings.Contains(f.Title, reason) || !strings.Contains(f.Why, want) {
						t.Errorf("finding %+v", f)
					}
					for _, h := range tc.hosts {
						if strings.HasPrefix(h, "*") != strings.Contains(f.Why, h) {
							t.Errorf("finding names hosts wrongly (%s): %s", h, f.Why)
						}
					}
				}
			})
		}
	}
}

// TestWorkloadTrafficTypeByVersion follows fetchWaypointForWorkload at
// the 1.29/1.30 boundary: a workload that inherits a service waypoint from
// its namespace is refused (UnsupportedTrafficType, shown nowhere) up to
// 1.29 and simply has none from 1.30; its own label is refused in both.
// Neither namespace case is a finding: the traffic is the same.
func TestWorkloadTrafficTypeByVersion(t *testing.T) {
	const note = `namespace waypoint ext/egress takes "service" traffic only, so traffic addressed to the pod skips it`
	refused := func(source string) ambient.WaypointBinding {
		return ambient.WaypointBinding{Waypoint: key("ext", "egress"), Source: source, Reason: "UnsupportedTrafficType",
			Problem: `attempting to bind to traffic type "workload" which the waypoint "ext/egress" does not support`}
	}
	for _, tc := range []struct {
		name     string
		kind     string // Pod or WorkloadEntry
		own      bool   // the object's own label, else the namespace's
		version  string
		want     ambient.WaypointBinding
		gwFinder bool // waypoint-traffic-type on the Gateway
	}{
		{name: "inherited", kind: "Pod", version: "1.24.6",
			want: ambient.WaypointBinding{Source: "namespace", Reason: "UnsupportedTrafficType", Note: note + "; istiod 1.24 counts it as UnsupportedTrafficType and reports it nowhere"}},
		{name: "inherited", kind: "Pod", version: "1.29.4",
			want: ambient.WaypointBinding{Source: "namespace", Reason: "UnsupportedTrafficType", Note: note + "; istiod 1.29 counts it as UnsupportedTrafficType and reports it nowhere"}},
		{name: "inherited", kind: "Pod", version: "1.30.0", want: ambient.WaypointBinding{Note: note}},
		{name: "inherited", kind: "WorkloadEntry", version: "1.29.4",
			want: ambient.WaypointBinding{Source: "namespace", Reason: "UnsupportedTrafficType", Note: note + "; istiod 1.29 counts it as UnsupportedTrafficType and reports it nowhere"}},
		{name: "inherited", kind: "WorkloadEntry", version: "1.30.0", want: ambient.WaypointBinding{Note: note}},
		{name: "own label", kind: "Pod", own: true, version: "1.29.4", want: refused("pod"), gwFinder: true},
		{name: "own label", kind: "Pod", own: true, version: "1.30.0", want: refused("pod"), gwFinder: true},
		{name: "own label", kind: "WorkloadEntry", own: true, version: "1.29.4", want: refused("workloadentry"), gwFinder: true},
		{name: "own label", kind: "WorkloadEntry", own: true, version: "1.31.0", want: refused("workloadentry"), gwFinder: true},
	} {
		t.Run(tc.name+" "+tc.kind+" "+tc.version, func(t *testing.T) {
			c := entryCluster()
			c.Install.Istiod = version(t, tc.version)
			c.Namespaces[0].Labels = kv("istio.io/dataplane-mode=ambient", "istio.io/use-waypoint=egress")
			var own []string
			if tc.own {
				own = []string{"istio.io/use-waypoint=egress"}
			}
			var got ambient.WaypointBinding
			if tc.kind == "Pod" {
				c.Pods = append(c.Pods, dataplane("node-1")...)
				c.Pods = append(c.Pods, pod("ext", "app", captured, labels(own...)))
				a := ambient.Analyze(c)
				got = a.Pods[key("ext", "app")].Waypoint
				checkTrafficFinding(t, a, tc.gwFinder)
			} else {
				c.WorkloadEntries = []*netv1.WorkloadEntry{workloadEntry("ext", "vm", own, nil)}
				a := ambient.Analyze(c)
				got = a.WorkloadEntries[key("ext", "vm")].Waypoint
				checkTrafficFinding(t, a, tc.gwFinder)
			}
			if got != tc.want {
				t.Errorf("binding\n got  %+v\n want %+v", got, tc.want)
			}
			if got.Bound() {
				t.Errorf("bound, want pod-addressed traffic to skip the waypoint")
			}
		})
	}
}

func checkTrafficFinding(t *testing.T, a *ambient.Analysis, want bool) {
	t.Helper()
	if got := len(findingsFor(a, "waypoint-traffic-type")) == 1; got != want {
		t.Errorf("waypoint-traffic-type finding %v, want %v: %v", got, want, codes(a.Findings))
	}
}

// TestWorkloadBindingErrorShowsWhereIstiodWritesIt: istiod writes
// WaypointBound on WorkloadEntries from 1.30 and never on Pods, so the
// finding for a missing waypoint says where (or that nowhere) the user
// can see istiod's refusal.
func TestWorkloadBindingErrorShowsWhereIstiodWritesIt(t *testing.T) {
	for _, tc := range []struct {
		kind, version, want string
	}{
		{"WorkloadEntry", "1.29.4", "istiod 1.29 refuses it (WaypointIsNotReady) but writes no status on WorkloadEntries"},
		{"WorkloadEntry", "1.30.0", "istiod reports WaypointIsNotReady and"},
		{"ServiceEntry", "1.24.6", "istiod reports WaypointIsNotReady and"},
		{"Pod", "1.30.0", "istiod refuses it (WaypointIsNotReady) but writes no status on a Pod"},
	} {
		t.Run(tc.kind+" "+tc.version, func(t *testing.T) {
			c := entryCluster()
			c.Install.Istiod = version(t, tc.version)
			c.Namespaces[0].Labels = kv("istio.io/dataplane-mode=ambient")
			gone := []string{"istio.io/use-waypoint=gone"}
			switch tc.kind {
			case "WorkloadEntry":
				c.WorkloadEntries = []*netv1.WorkloadEntry{workloadEntry("ext", "vm", gone, nil)}
			case "ServiceEntry":
				c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("ext", "api", gone...)}
			case "Pod":
				c.Pods = append(append(c.Pods, dataplane("node-1")...), pod("ext", "app", captured, labels(gone...)))
			}
			fs := findingsFor(ambient.Analyze(c), "waypoint-missing")
			if len(fs) != 1 || !strings.HasPrefix(fs[0].Why, tc.want) {
				t.Fatalf("waypoint-missing %+v, want one saying %q", fs, tc.want)
			}
		})
	}
}

// TestTargetRefGroup follows ShouldAttachPolicy's matchesGroupKind: a
// targetRef attaches only with its kind's group (Gateway and GatewayClass
// gateway.networking.k8s.io, ServiceEntry networking.istio.io, Service
// the core group), though istiod's WaypointAccepted status switches on the
// kind alone; a GatewayClass attaches from 1.25, and only istio-waypoint.
func TestTargetRefGroup(t *testing.T) {
	gwGroup := "gateway.networking.k8s.io"
	for _, tc := range []struct {
		name, ns, group, kind, target, version string
		bound                                  []string
		problem                                string
	}{
		{name: "Gateway, Gateway API group", group: gwGroup, kind: "Gateway", target: "waypoint", bound: []string{"shop/waypoint"}},
		{name: "Gateway, another group", group: "networking.istio.io", kind: "Gateway", target: "waypoint",
			problem: `targetRef Gateway/waypoint has group "networking.istio.io", not "gateway.networking.k8s.io": istiod attaches it to nothing`},
		{name: "Gateway, no group", group: "", kind: "Gateway", target: "waypoint",
			problem: `targetRef Gateway/waypoint has group "", not "gateway.networking.k8s.io"`},
		{name: "Service, core group spelled out", group: "core", kind: "Service", target: "reviews", bound: []string{"shop/waypoint"}},
		{name: "Service, Gateway API group", group: gwGroup, kind: "Service", target: "reviews",
			problem: `targetRef Service/reviews has group "gateway.networking.k8s.io", not "core"`},
		{name: "ServiceEntry, Istio group", group: "networking.istio.io", kind: "ServiceEntry", target: "api", bound: []string{"shop/waypoint"}},
		{name: "ServiceEntry, no group", group: "", kind: "ServiceEntry", target: "api",
			problem: `targetRef ServiceEntry/api has group "", not "networking.istio.io"`},
		{name: "GatewayClass from the root, 1.25", ns: "istio-system", group: gwGroup, kind: "GatewayClass", target: "istio-waypoint", version: "1.25.2",
			bound: []string{"GatewayClass/istio-waypoint"}},
		{name: "GatewayClass from the root, 1.24", ns: "istio-system", group: gwGroup, kind: "GatewayClass", target: "istio-waypoint", version: "1.24.6",
			problem: "istiod 1.24 does not attach policies to a GatewayClass"},
		{name: "GatewayClass, wrong group", ns: "istio-system", group: "networking.istio.io", kind: "GatewayClass", target: "istio-waypoint",
			problem: `targetRef GatewayClass/istio-waypoint has group "networking.istio.io"`},
		{name: "another mesh-controller GatewayClass", ns: "istio-system", group: gwGroup, kind: "GatewayClass", target: "custom-waypoint",
			problem: "istiod attaches GatewayClass targetRefs only for istio-waypoint, not custom-waypoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := tc.ns
			if ns == "" {
				ns = "shop"
			}
			p := authz(ns, "p")
			p.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Group: tc.group, Kind: tc.kind, Name: tc.target}}
			c := policyCluster(p)
			if tc.version != "" {
				c.Install.Istiod = version(t, tc.version)
			}
			custom := waypointClass()
			custom.Name = "custom-waypoint"
			c.GatewayClasses = append(c.GatewayClasses, custom)
			se := serviceEntry("shop", "api", "istio.io/use-waypoint=waypoint")
			se.Spec = netapi.ServiceEntry{Hosts: []string{"api.example.com"}}
			c.ServiceEntries = []*netv1.ServiceEntry{se}
			a := ambient.Analyze(c)
			pi := policyOf(t, a, ambient.KindAuthorizationPolicy, key(ns, "p"))
			if strings.Join(pi.BoundTo, ",") != strings.Join(tc.bound, ",") {
				t.Errorf("bound to %v, want %v", pi.BoundTo, tc.bound)
			}
			fs := findingsFor(a, "policy-target-unbound")
			if tc.problem == "" {
				if len(fs) != 0 {
					t.Errorf("findings %+v, want none", fs)
				}
				return
			}
			if !strings.Contains(pi.Effect, tc.problem) {
				t.Errorf("effect %q, want it to say %q", pi.Effect, tc.problem)
			}
			if len(fs) != 1 {
				t.Errorf("policy-target-unbound findings %d, want 1: %v", len(fs), codes(a.Findings))
			}
		})
	}
}

// TestTargetRefGroupAtTheWaypoint: at the waypoint a policy applies to
// traffic for a Service only through a targetRef with the core group; a
// Service ref under another group beside a good ServiceEntry ref (which
// binds the policy to the same waypoint) does not make it apply to the
// Service.
func TestTargetRefGroupAtTheWaypoint(t *testing.T) {
	allowNothing := authz("shop", "allow-nothing")
	allowNothing.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{
		{Group: "networking.istio.io", Kind: "ServiceEntry", Name: "api"},
		{Group: "gateway.networking.k8s.io", Kind: "Service", Name: "reviews"},
	}
	for _, tc := range []struct {
		name  string
		group string
		want  ambient.AuthzOutcome
	}{
		{"core group", "", ambient.AuthzDenied},
		{"another group", "gateway.networking.k8s.io", ambient.AuthzAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			allowNothing.Spec.TargetRefs[1].Group = tc.group
			c := policyCluster(allowNothing)
			c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("shop", "api", "istio.io/use-waypoint=waypoint")}
			var dst, wp *corev1.Pod
			for _, p := range c.Pods {
				switch p.Name {
				case "reviews":
					dst = p
				case "waypoint-a":
					wp = p
				}
			}
			a := ambient.Analyze(c)
			if pi := policyOf(t, a, ambient.KindAuthorizationPolicy, key("shop", "allow-nothing")); strings.Join(pi.BoundTo, ",") != "shop/waypoint" {
				t.Fatalf("bound to %v, want shop/waypoint", pi.BoundTo)
			}
			v := ambient.AuthorizeViaWaypoint(c, a, ambient.Peer{Identity: "spiffe://cluster.local/ns/shop/sa/client"}, key("shop", "waypoint"), wp, key("shop", "reviews"), dst)
			if v.AtWaypoint.Outcome != tc.want {
				t.Errorf("at the waypoint %+v, want %s", v.AtWaypoint, tc.want)
			}
		})
	}
}

// TestGatewayClassPolicyAtTheWaypoint: a root-namespace policy targeting
// the istio-waypoint GatewayClass applies at every waypoint
// (ShouldAttachPolicy), so a DENY of the client denies it there, from
// 1.25; istiod 1.24 attaches nothing to a GatewayClass.
func TestGatewayClassPolicyAtTheWaypoint(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    ambient.AuthzOutcome
	}{
		{"1.24.6", ambient.AuthzAllowed},
		{"1.25.2", ambient.AuthzDenied},
		{"1.31.0", ambient.AuthzDenied},
	} {
		t.Run(tc.version, func(t *testing.T) {
			deny := authz("istio-system", "deny-evil", action(1), rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"evil"}})}}))
			deny.Spec.TargetRefs = []*typev1beta1.PolicyTargetReference{{Group: "gateway.networking.k8s.io", Kind: "GatewayClass", Name: "istio-waypoint"}}
			c := policyCluster(deny)
			c.Install.Istiod = version(t, tc.version)
			var dst, wp *corev1.Pod
			for _, p := range c.Pods {
				switch p.Name {
				case "reviews":
					dst = p
				case "waypoint-a":
					wp = p
				}
			}
			a := ambient.Analyze(c)
			v := ambient.AuthorizeViaWaypoint(c, a, ambient.Peer{Identity: "spiffe://cluster.local/ns/evil/sa/x"}, key("shop", "waypoint"), wp, key("shop", "reviews"), dst)
			if v.AtWaypoint.Outcome != tc.want {
				t.Errorf("at the waypoint %+v, want %s", v.AtWaypoint, tc.want)
			}
		})
	}
}

// TestTrafficTypeFindingSaysWhereNoStatusShows: the Gateway's
// waypoint-traffic-type finding names the refused objects istiod writes no
// status on: pods in every release, WorkloadEntries before 1.30.
func TestTrafficTypeFindingSaysWhereNoStatusShows(t *testing.T) {
	for _, tc := range []struct {
		kind, version string
		unshown       bool
	}{
		{"Pod", "1.29.4", true},
		{"Pod", "1.31.0", true},
		{"WorkloadEntry", "1.29.4", true},
		{"WorkloadEntry", "1.30.0", false},
		{"ServiceEntry", "1.24.6", false},
	} {
		t.Run(tc.kind+" "+tc.version, func(t *testing.T) {
			c := entryCluster()
			c.Install.Istiod = version(t, tc.version)
			c.Namespaces[0].Labels = kv("istio.io/dataplane-mode=ambient")
			var obj string
			switch tc.kind {
			case "Pod":
				c.Pods = append(append(c.Pods, dataplane("node-1")...), pod("ext", "app", captured, labels("istio.io/use-waypoint=egress")))
				obj = "pod/ext/app"
			case "WorkloadEntry":
				c.WorkloadEntries = []*netv1.WorkloadEntry{workloadEntry("ext", "vm", []string{"istio.io/use-waypoint=egress"}, nil)}
				obj = "workloadentry/ext/vm"
			case "ServiceEntry":
				c.ServiceEntries = []*netv1.ServiceEntry{serviceEntry("ext", "api", "istio.io/use-waypoint=for-workload")}
				obj = "serviceentry/ext/api"
			}
			fs := findingsFor(ambient.Analyze(c), "waypoint-traffic-type")
			if len(fs) != 1 || !strings.Contains(fs[0].Why, obj) {
				t.Fatalf("waypoint-traffic-type %+v, want one naming %s", fs, obj)
			}
			if got := strings.Contains(fs[0].Why, "writes no status on "+obj); got != tc.unshown {
				t.Errorf("says no status shows it: %v, want %v: %s", got, tc.unshown, fs[0].Why)
			}
		})
	}
}
