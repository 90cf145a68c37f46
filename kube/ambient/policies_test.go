package ambient_test

import (
	"strings"
	"testing"
	"time"

	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// policyCluster: "shop" is ambient with a bound waypoint Service "reviews"
// and an unbound Service "ratings"; "legacy" runs sidecars; "plain" nothing.
func policyCluster(aps ...*secv1.AuthorizationPolicy) *ambient.Cluster {
	return &ambient.Cluster{
		Namespaces: []*corev1.Namespace{
			namespace("istio-system"),
			namespace("shop", "istio.io/dataplane-mode=ambient"),
			namespace("legacy", "istio-injection=enabled"),
			namespace("plain"),
			namespace("empty-ambient", "istio.io/dataplane-mode=ambient"),
			namespace("empty-sidecar", "istio-injection=enabled"),
		},
		Pods: append(append(dataplane("node-1"), waypointPods("shop", "waypoint", 1)...),
			pod("shop", "reviews", captured, labels("app=reviews")),
			pod("shop", "ratings", captured, labels("app=ratings")),
			pod("legacy", "billing", injected, labels("app=billing")),
			pod("plain", "web", labels("app=web")),
		),
		Services: []*corev1.Service{
			service("shop", "reviews", "istio.io/use-waypoint=waypoint"),
			service("shop", "ratings"),
		},
		Gateways:              []*gwv1.Gateway{waypointGW("shop", "waypoint")},
		GatewayClasses:        []*gwv1.GatewayClass{waypointClass()},
		AuthorizationPolicies: aps,
	}
}

func policyOf(t *testing.T, a *ambient.Analysis, kind string, k ambient.Key) ambient.PolicyInfo {
	t.Helper()
	p, ok := a.Policy(kind, k)
	if !ok {
		t.Fatalf("%s %s not in analysis: %+v", kind, k, a.Policies)
	}
	return p
}

// TestAuthorizationPolicyLayer classifies fields by reference 2.1.
func TestAuthorizationPolicyLayer(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rule  *secv1beta1.Rule
		layer ambient.Layer
		l7    string
	}{
		{"principals", &secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Principals: []string{"cluster.local/ns/shop/sa/web"}})}}, ambient.L4, ""},
		{"namespaces, service accounts, ipBlocks", &secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"a"}, NotServiceAccounts: []string{"b"}, IpBlocks: []string{"10.0.0.0/8"}, NotIpBlocks: []string{"10.1.0.0/16"}})}}, ambient.L4, ""},
		{"ports", &secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Ports: []string{"8080"}, NotPorts: []string{"9090"}})}}, ambient.L4, ""},
		{"L4 when keys", &secv1beta1.Rule{When: []*secv1beta1.Condition{when("source.ip", "10.0.0.1"), when("source.namespace", "a"), when("source.principal", "x"), when("destination.ip", "10.0.0.2"), when("destination.port", "80")}}, ambient.L4, ""},
		{"methods and paths", &secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}, Paths: []string{"/api"}})}}, ambient.L7, "methods,paths"},
		{"negated operations and hosts", &secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Hosts: []string{"a"}, NotHosts: []string{"b"}, NotMethods: []string{"POST"}, NotPaths: []string{"/x"}})}}, ambient.L7, "hosts,notHosts,notMethods,notPaths"},
		{"request principals", &secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{RequestPrincipals: []string{"*"}, NotRequestPrincipals: []string{"x"}})}}, ambient.L7, "notRequestPrincipals,requestPrincipals"},
		{"remoteIpBlocks are L7", &secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{RemoteIpBlocks: []string{"1.2.3.4"}, NotRemoteIpBlocks: []string{"5.6.7.8"}})}}, ambient.L7, "notRemoteIpBlocks,remoteIpBlocks"},
		{"header when key", &secv1beta1.Rule{When: []*secv1beta1.Condition{when("request.headers[x-user]", "alice")}}, ambient.L7, "request.headers[x-user]"},
		{"other when keys", &secv1beta1.Rule{When: []*secv1beta1.Condition{when("source.serviceAccount", "a"), when("connection.sni", "b"), when("request.auth.claims[iss]", "c")}}, ambient.L7, "connection.sni,request.auth.claims[iss],source.serviceAccount"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambient.Analyze(policyCluster(authz("shop", "p", selector("app=reviews"), rules(tc.rule))))
			p := policyOf(t, a, "AuthorizationPolicy", key("shop", "p"))
			if p.Layer != tc.layer || strings.Join(p.L7Fields, ",") != tc.l7 {
				t.Errorf("layer %s fields %v, want %s %q", p.Layer, p.L7Fields, tc.layer, tc.l7)
			}
		})
	}
}

// TestAuthorizationPolicyEnforcement places policies by reference 2.2.
func TestAuthorizationPolicyEnforcement(t *testing.T) {
	for _, tc := range []struct {
		name     string
		policy   *secv1.AuthorizationPolicy
		enforced ambient.Enforcement
		target   string
		selected [3]int // ambient, sidecar, other
		boundTo  string
	}{
		{"selector on ambient pods", authz("shop", "p", selector("app=reviews")), ambient.EnforcedByZtunnel, "selector app=reviews", [3]int{1, 0, 0}, ""},
		{"namespace-wide", authz("shop", "p"), ambient.EnforcedByZtunnel, "namespace", [3]int{2, 0, 1}, ""}, // the waypoint pod is not captured
		{"root namespace is mesh-wide", authz("istio-system", "p"), ambient.EnforcedByZtunnel, "mesh", [3]int{2, 1, 4}, ""},
		{"root namespace selector reaches every namespace", authz("istio-system", "p", selector("app=billing")), ambient.EnforcedBySidecar, "selector app=billing", [3]int{0, 1, 0}, ""},
		{"selector on sidecar pods", authz("legacy", "p", selector("app=billing")), ambient.EnforcedBySidecar, "selector app=billing", [3]int{0, 1, 0}, ""},
		{"selector on pods outside the mesh", authz("plain", "p", selector("app=web")), ambient.EnforcedByNone, "selector app=web", [3]int{0, 0, 1}, ""},
		{"no pods in an ambient namespace", authz("empty-ambient", "p"), ambient.EnforcedByZtunnel, "namespace", [3]int{}, ""},
		{"no pods in a sidecar namespace", authz("empty-sidecar", "p"), ambient.EnforcedBySidecar, "namespace", [3]int{}, ""},
		{"targetRefs Gateway", authz("shop", "p", targetRef("Gateway", "waypoint")), ambient.EnforcedByWaypoint, "Gateway/waypoint", [3]int{}, "shop/waypoint"},
		{"targetRefs Service bound to a waypoint", authz("shop", "p", targetRef("Service", "reviews")), ambient.EnforcedByWaypoint, "Service/reviews", [3]int{}, "shop/waypoint"},
		{"targetRef (singular)", authz("shop", "p", func(p *secv1.AuthorizationPolicy) {
			p.Spec.TargetRef = &typev1beta1.PolicyTargetReference{Group: "gateway.networking.k8s.io", Kind: "Gateway", Name: "waypoint"}
		}), ambient.EnforcedByWaypoint, "Gateway/waypoint", [3]int{}, "shop/waypoint"},
		{"GatewayClass from the root namespace", authz("istio-system", "p", targetRef("GatewayClass", "istio-waypoint")), ambient.EnforcedByWaypoint, "GatewayClass/istio-waypoint", [3]int{}, "GatewayClass/istio-waypoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambient.Analyze(policyCluster(tc.policy))
			p := policyOf(t, a, "AuthorizationPolicy", key(tc.policy.Namespace, "p"))
			if p.EnforcedBy != tc.enforced || p.Target != tc.target {
				t.Errorf("enforced by %s target %q, want %s %q (%s)", p.EnforcedBy, p.Target, tc.enforced, tc.target, p.Effect)
			}
			if got := [3]int{p.SelectedAmbient, p.SelectedSidecar, p.SelectedOther}; got != tc.selected {
				t.Errorf("selected %v, want %v", got, tc.selected)
			}
			if strings.Join(p.BoundTo, " ") != tc.boundTo {
				t.Errorf("bound to %v, want %q", p.BoundTo, tc.boundTo)
			}
			if p.HasFindings {
				t.Errorf("unexpected findings: %v", codes(a.Findings))
			}
		})
	}
}

// TestAuthorizationPolicyEffect predicts what ztunnel does (reference 2.3)
// and what the findings say about it.
func TestAuthorizationPolicyEffect(t *testing.T) {
	l7Rule := &secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}
	l4Rule := &secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}}
	mixedRule := &secv1beta1.Rule{
		From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})},
		To:   []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Ports: []string{"8080"}, Paths: []string{"/admin"}})},
	}
	// Without a port the `to` clause is empty at ztunnel, and a rule with an
	// empty clause never matches (authorization.go hasEffectiveRules).
	pathOnlyRule := &secv1beta1.Rule{
		From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})},
		To:   []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Paths: []string{"/admin"}})},
	}
	principalAndHeader := &secv1beta1.Rule{
		From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Principals: []string{"cluster.local/ns/shop/sa/web"}})},
		When: []*secv1beta1.Condition{when("request.headers[x-debug]", "1")},
	}
	deny := action(secv1beta1.AuthorizationPolicy_DENY)
	for _, tc := range []struct {
		name     string
		policy   *secv1.AuthorizationPolicy
		finding  string // "severity code", or "" for none
		effect   string
		enforced ambient.Enforcement
	}{
		{"ALLOW whose every rule is L7 allows nothing", authz("shop", "p", selector("app=reviews"), rules(l7Rule)),
			"error policy-l7-on-ztunnel", "Allows nothing it meant to", ambient.EnforcedByZtunnel},
		{"ALLOW with an L4 rule left allows less", authz("shop", "p", selector("app=reviews"), rules(l4Rule, l7Rule)),
			"warning policy-l7-on-ztunnel", "istiod drops the 1 rule with HTTP attributes", ambient.EnforcedByZtunnel},
		{"DENY with L4 parts denies more", authz("shop", "p", selector("app=reviews"), deny, rules(mixedRule)),
			"warning policy-l7-on-ztunnel", "Denies more than written", ambient.EnforcedByZtunnel},
		{"DENY from a namespace to a path only has no effect", authz("shop", "p", selector("app=reviews"), deny, rules(pathOnlyRule)),
			"error policy-l7-on-ztunnel", "No effect at ztunnel", ambient.EnforcedByZtunnel},
		{"DENY with only L7 has no effect", authz("shop", "p", selector("app=reviews"), deny, rules(l7Rule)),
			"error policy-l7-on-ztunnel", "No effect at ztunnel", ambient.EnforcedByZtunnel},
		{"DENY whose rule needs an L7 when has no effect", authz("shop", "p", deny, rules(principalAndHeader)),
			"error policy-l7-on-ztunnel", "No effect at ztunnel", ambient.EnforcedByZtunnel},
		{"DENY with an L7-only rule beside an L4 one denies less", authz("shop", "p", deny, rules(l4Rule, l7Rule)),
			"error policy-l7-on-ztunnel", "Denies less than written: rule 2 never fires", ambient.EnforcedByZtunnel},
		{"CUSTOM is not sent to ztunnel", authz("shop", "p", action(secv1beta1.AuthorizationPolicy_CUSTOM), rules(l4Rule)),
			"error policy-unsupported-action", "ztunnel does not support the CUSTOM action", ambient.EnforcedByZtunnel},
		{"AUDIT is not sent to ztunnel", authz("shop", "p", action(secv1beta1.AuthorizationPolicy_AUDIT), rules(l4Rule)),
			"warning policy-unsupported-action", "ztunnel does not support the AUDIT action", ambient.EnforcedByZtunnel},
		{"dry-run is not sent to ztunnel", authz("shop", "p", apAnnotations("istio.io/dry-run=true"), rules(l4Rule)),
			"info policy-dry-run-ignored", "Not sent to ztunnel", ambient.EnforcedByZtunnel},
		{"ALLOW without rules denies everything, on purpose", authz("shop", "p", selector("app=reviews")),
			"", "allows nothing", ambient.EnforcedByZtunnel},
		{"L4 ALLOW is fine", authz("shop", "p", rules(l4Rule)), "", "", ambient.EnforcedByZtunnel},
		{"trustDomains alone never match", authz("shop", "p", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{TrustDomains: []string{"td"}})}})),
			"", "trustDomains are not translated", ambient.EnforcedByZtunnel},
		{"L7 on a waypoint is fine", authz("shop", "p", targetRef("Service", "reviews"), rules(l7Rule)), "", "", ambient.EnforcedByWaypoint},
		{"L7 on sidecars is fine", authz("legacy", "p", selector("app=billing"), rules(l7Rule)), "", "", ambient.EnforcedBySidecar},
		{"targetRefs Service without a waypoint is enforced nowhere", authz("shop", "p", targetRef("Service", "ratings"), rules(l7Rule)),
			"error policy-target-unbound", "Not enforced anywhere: Service shop/ratings is not bound to a waypoint.", ambient.EnforcedByWaypoint},
		{"targetRefs missing Service", authz("shop", "p", targetRef("Service", "nope")),
			"error policy-target-unbound", "Service shop/nope was not found", ambient.EnforcedByWaypoint},
		{"targetRefs missing Gateway", authz("shop", "p", targetRef("Gateway", "nope")),
			"error policy-target-unbound", "Gateway shop/nope was not found", ambient.EnforcedByWaypoint},
		{"GatewayClass outside the root namespace", authz("shop", "p", targetRef("GatewayClass", "istio-waypoint")),
			"error policy-target-unbound", "must be in the root namespace `istio-system`", ambient.EnforcedByWaypoint},
		{"one of two targets unbound", authz("shop", "p", targetRef("Service", "reviews"), targetRef("Service", "ratings")),
			"warning policy-target-unbound", "Partly enforced: Service shop/ratings is not bound to a waypoint.", ambient.EnforcedByWaypoint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambient.Analyze(policyCluster(tc.policy))
			p := policyOf(t, a, "AuthorizationPolicy", key(tc.policy.Namespace, "p"))
			if p.EnforcedBy != tc.enforced {
				t.Errorf("enforced by %s, want %s", p.EnforcedBy, tc.enforced)
			}
			if !strings.Contains(p.Effect, tc.effect) {
				t.Errorf("effect %q does not say %q", p.Effect, tc.effect)
			}
			var got []string
			for _, f := range a.Findings {
				if f.Object.Kind == "AuthorizationPolicy" {
					got = append(got, f.Severity.String()+" "+f.Code)
					if f.Why == "" || f.Fix == "" {
						t.Errorf("finding %s lacks why or fix", f.Code)
					}
				}
			}
			want := []string(nil)
			if tc.finding != "" {
				want = []string{tc.finding}
			}
			if strings.Join(got, ";") != strings.Join(want, ";") {
				t.Errorf("findings %v, want %v", got, want)
			}
			if p.HasFindings != (tc.finding != "") {
				t.Errorf("HasFindings = %v", p.HasFindings)
			}
		})
	}
}

func TestAuthorizationPolicyFixMovesToWaypoint(t *testing.T) {
	ap := authz("shop", "p", selector("app=reviews"), rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}}))
	c := policyCluster(ap)
	a := ambient.Analyze(c)
	f := findingsFor(a, "policy-l7-on-ztunnel")[0]
	if !strings.HasPrefix(f.Fix, "istioctl waypoint apply -n shop --enroll-namespace --wait\nkubectl patch authorizationpolicy p -n shop --type=json") {
		t.Errorf("fix without a namespace waypoint = %q", f.Fix)
	}
	c.Namespaces[1] = namespace("shop", "istio.io/dataplane-mode=ambient", "istio.io/use-waypoint=waypoint")
	f = findingsFor(ambient.Analyze(c), "policy-l7-on-ztunnel")[0]
	if !strings.HasPrefix(f.Fix, "kubectl patch authorizationpolicy p -n shop") || !strings.Contains(f.Fix, `"name":"waypoint"`) {
		t.Errorf("fix with a namespace waypoint = %q", f.Fix)
	}
}

func TestPolicyConditions(t *testing.T) {
	msg := "ztunnel does not support HTTP attributes (found: methods). In ambient mode you must use a waypoint proxy to enforce HTTP rules. Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested."
	a := ambient.Analyze(policyCluster(authz("shop", "p", apCondition("ZtunnelAccepted", "True", "UnsupportedValue", msg))))
	p := policyOf(t, a, "AuthorizationPolicy", key("shop", "p"))
	if len(p.Conditions) != 1 || p.Conditions[0] != "ZtunnelAccepted=True UnsupportedValue: "+msg {
		t.Errorf("conditions = %q", p.Conditions)
	}
	c := policyCluster()
	c.Services[0].Status.Conditions = append(c.Services[0].Status.Conditions, metaCondition("istio.io/WaypointBound", "True", "WaypointAccepted", "Successfully attached to waypoint shop/waypoint"))
	s := ambient.Analyze(c).Services[key("shop", "reviews")]
	if len(s.Conditions) != 1 || s.Conditions[0] != "istio.io/WaypointBound=True WaypointAccepted: Successfully attached to waypoint shop/waypoint" {
		t.Errorf("service conditions = %q", s.Conditions)
	}
}

func TestPeerAuthentication(t *testing.T) {
	strict := secv1beta1.PeerAuthentication_MutualTLS_STRICT
	disable := secv1beta1.PeerAuthentication_MutualTLS_DISABLE
	for _, tc := range []struct {
		name     string
		pas      []*secv1.PeerAuthentication
		subject  string // ns/name
		enforced ambient.Enforcement
		effect   string
		findings string
	}{
		{"STRICT in an ambient namespace", []*secv1.PeerAuthentication{peerAuthn("shop", "strict", strict, 0)}, "shop/strict",
			ambient.EnforcedByZtunnel, "istio-system/istio_converted_static_strict", ""},
		{"PERMISSIVE accepts plaintext", []*secv1.PeerAuthentication{peerAuthn("shop", "perm", secv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE, 0)}, "shop/perm",
			ambient.EnforcedByZtunnel, "accepts HBONE (mTLS) and plaintext", ""},
		{"mesh-wide STRICT", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0)}, "istio-system/default",
			ambient.EnforcedByZtunnel, "rejects plaintext", ""},
		{"DISABLE with nothing STRICT above is redundant", []*secv1.PeerAuthentication{peerAuthn("shop", "off", disable, 0)}, "shop/off",
			ambient.EnforcedByZtunnel, "Acts as PERMISSIVE", "info peerauthentication-disable-ambient PeerAuthentication shop/off"},
		{"DISABLE under a mesh-wide STRICT lifts it", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, time.Hour), peerAuthn("shop", "off", disable, 0)}, "shop/off",
			ambient.EnforcedByZtunnel, "deleting it would make 2 pods STRICT", "warning peerauthentication-disable-lifts-strict PeerAuthentication shop/off"},
		{"DISABLE on sidecars is theirs", []*secv1.PeerAuthentication{peerAuthn("legacy", "off", disable, 0)}, "legacy/off",
			ambient.EnforcedBySidecar, "", ""},
		{"the older namespace-wide policy wins", []*secv1.PeerAuthentication{peerAuthn("shop", "a-new", strict, 0), peerAuthn("shop", "b-old", strict, time.Hour)}, "shop/a-new",
			ambient.EnforcedByZtunnel, "older PeerAuthentication", "warning peerauthentication-conflict PeerAuthentication shop/a-new"},
		{"selector in the root namespace is ignored", []*secv1.PeerAuthentication{peerAuthn("istio-system", "x", strict, 0, "app=reviews")}, "istio-system/x",
			ambient.EnforcedByNone, "root namespace", ""},
		{"portLevelMtls without selector is ignored", []*secv1.PeerAuthentication{withPorts(peerAuthn("shop", "ports", strict, 0))}, "shop/ports",
			ambient.EnforcedByZtunnel, "portLevelMtls is ignored", ""},
		{"portLevelMtls with selector becomes a DENY policy", []*secv1.PeerAuthentication{withPorts(peerAuthn("shop", "ports", strict, 0, "app=reviews"))}, "shop/ports",
			ambient.EnforcedByZtunnel, "converted_peer_authentication_ports", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := policyCluster()
			c.PeerAuthentications = tc.pas
			a := ambient.Analyze(c)
			ns, name, _ := strings.Cut(tc.subject, "/")
			p := policyOf(t, a, "PeerAuthentication", key(ns, name))
			if p.EnforcedBy != tc.enforced || p.Layer != ambient.L4 {
				t.Errorf("enforced by %s layer %s, want %s L4", p.EnforcedBy, p.Layer, tc.enforced)
			}
			if !strings.Contains(p.Effect, tc.effect) {
				t.Errorf("effect %q does not say %q", p.Effect, tc.effect)
			}
			if got := strings.Join(codes(a.Findings), ";"); got != tc.findings {
				t.Errorf("findings %q, want %q", got, tc.findings)
			}
		})
	}
}

func withPorts(p *secv1.PeerAuthentication) *secv1.PeerAuthentication {
	p.Spec.PortLevelMtls = map[uint32]*secv1beta1.PeerAuthentication_MutualTLS{8080: {Mode: secv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE}}
	return p
}

func TestRequestAuthentication(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ra       *secv1.RequestAuthentication
		enforced ambient.Enforcement
		finding  string
	}{
		{"selector on ambient pods is ignored", requestAuthn("shop", "jwt", []string{"app=reviews"}), ambient.EnforcedByNone,
			"warning requestauthentication-no-waypoint RequestAuthentication shop/jwt"},
		{"namespace-wide in ambient is ignored", requestAuthn("shop", "jwt", nil), ambient.EnforcedByNone,
			"warning requestauthentication-no-waypoint RequestAuthentication shop/jwt"},
		{"targetRefs waypoint", requestAuthn("shop", "jwt", nil, "Gateway/waypoint"), ambient.EnforcedByWaypoint, ""},
		{"targetRefs Service with a waypoint", requestAuthn("shop", "jwt", nil, "Service/reviews"), ambient.EnforcedByWaypoint, ""},
		{"targetRefs Service without a waypoint", requestAuthn("shop", "jwt", nil, "Service/ratings"), ambient.EnforcedByWaypoint,
			"error policy-target-unbound RequestAuthentication shop/jwt"},
		{"selector on sidecars", requestAuthn("legacy", "jwt", []string{"app=billing"}), ambient.EnforcedBySidecar, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := policyCluster()
			c.RequestAuthentications = []*secv1.RequestAuthentication{tc.ra}
			a := ambient.Analyze(c)
			p := policyOf(t, a, "RequestAuthentication", key(tc.ra.Namespace, "jwt"))
			if p.EnforcedBy != tc.enforced || p.Layer != ambient.L7 || p.Action != "JWT https://issuer.example" {
				t.Errorf("enforced by %s layer %s action %q, want %s L7", p.EnforcedBy, p.Layer, p.Action, tc.enforced)
			}
			if got := strings.Join(codes(a.Findings), ";"); got != tc.finding {
				t.Errorf("findings %q, want %q", got, tc.finding)
			}
		})
	}
}

func TestPolicyCountsAndOrder(t *testing.T) {
	c := policyCluster(authz("shop", "b"), authz("legacy", "a"), authz("shop", "a"))
	c.PeerAuthentications = []*secv1.PeerAuthentication{peerAuthn("shop", "strict", secv1beta1.PeerAuthentication_MutualTLS_STRICT, 0)}
	a := ambient.Analyze(c)
	var order []string
	for _, p := range a.Policies {
		order = append(order, p.Kind+" "+p.Key.String())
	}
	want := "AuthorizationPolicy legacy/a,AuthorizationPolicy shop/a,AuthorizationPolicy shop/b,PeerAuthentication shop/strict"
	if strings.Join(order, ",") != want {
		t.Errorf("order = %v", order)
	}
	if a.Namespaces["shop"].Policies != 3 || a.Namespaces["legacy"].Policies != 1 {
		t.Errorf("policy counts shop %d legacy %d", a.Namespaces["shop"].Policies, a.Namespaces["legacy"].Policies)
	}
}

// TestDenyL7PerRule follows handleRule and ztunnel's matcher rule by rule:
// an HTTP-only clause voids its rule, an HTTP-only alternative vanishes
// (both deny less), and L4 fields beside HTTP ones stay (deny more).
func TestDenyL7PerRule(t *testing.T) {
	methods := func(ports ...string) *secv1beta1.Rule_To {
		return to(&secv1beta1.Operation{Methods: []string{"DELETE"}, Ports: ports})
	}
	port := func(p string) *secv1beta1.Rule_To { return to(&secv1beta1.Operation{Ports: []string{p}}) }
	ns := func(n string) *secv1beta1.Rule_From { return from(&secv1beta1.Source{Namespaces: []string{n}}) }
	reqP := from(&secv1beta1.Source{RequestPrincipals: []string{"*"}})
	deny := action(secv1beta1.AuthorizationPolicy_DENY)
	for _, tc := range []struct {
		name    string
		rules   []*secv1beta1.Rule
		finding string
		effect  string
	}{
		{"the reference's example: DELETE from anyone is allowed, evil still denied",
			[]*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{methods()}}, {From: []*secv1beta1.Rule_From{ns("evil")}}},
			"error", "Denies less than written: rule 1 never fires (to holds"},
		{"an HTTP-only alternative beside a port disappears",
			[]*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{port("8080"), methods()}}},
			"error", "rule 1 loses its HTTP-only alternatives to[1]"},
		{"an HTTP-only source alternative disappears",
			[]*secv1beta1.Rule{{From: []*secv1beta1.Rule_From{ns("evil"), reqP}}},
			"error", "rule 1 loses its HTTP-only alternatives from[1]"},
		{"an HTTP when voids the rule",
			[]*secv1beta1.Rule{{From: []*secv1beta1.Rule_From{ns("evil")}, When: []*secv1beta1.Condition{when("request.headers[x]", "1")}}, {From: []*secv1beta1.Rule_From{ns("bad")}}},
			"error", "rule 1 never fires (when[0] request.headers[x]"},
		{"L4 beside HTTP in one match denies more",
			[]*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{methods("8080")}}},
			"warning", "Denies more than written: rule 1 matches to[0] on their L4 fields alone"},
		{"both at once",
			[]*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{methods("8080")}}, {To: []*secv1beta1.Rule_To{methods()}}},
			"error", "Denies less and more than written: rule 2 never fires"},
		{"every rule void: no effect",
			[]*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{methods()}}, {From: []*secv1beta1.Rule_From{reqP}}},
			"error", "No effect at ztunnel"},
		{"a void rule without HTTP attributes is not blamed on HTTP",
			[]*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{port("http")}}, {To: []*secv1beta1.Rule_To{methods("80")}}},
			"warning", "Denies more than written: rule 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambient.Analyze(policyCluster(authz("shop", "p", deny, rules(tc.rules...))))
			p := policyOf(t, a, "AuthorizationPolicy", key("shop", "p"))
			if !strings.Contains(p.Effect, tc.effect) {
				t.Errorf("effect %q does not say %q", p.Effect, tc.effect)
			}
			fs := findingsFor(a, "policy-l7-on-ztunnel")
			if len(fs) != 1 || fs[0].Severity.String() != tc.finding {
				t.Errorf("findings %v, want one %s", codes(fs), tc.finding)
			}
		})
	}
}

// TestAllowL7WithOtherAllows: an ALLOW policy ztunnel empties blocks all
// traffic only to pods no other ALLOW policy admits anything to.
func TestAllowL7WithOtherAllows(t *testing.T) {
	l7 := rules(&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"GET"}})}})
	l4 := rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}})
	for _, tc := range []struct {
		name    string
		others  []*secv1.AuthorizationPolicy
		finding string
		effect  string
	}{
		{"alone it blocks everything", nil, "error", "denies all traffic"},
		{"another L4 ALLOW on the same pod admits", []*secv1.AuthorizationPolicy{authz("shop", "q", selector("app=reviews"), l4)}, "warning", "take only what their other ALLOW policies admit"},
		{"a namespace-wide ALLOW admits", []*secv1.AuthorizationPolicy{authz("shop", "q", l4)}, "warning", "other ALLOW"},
		{"a mesh-wide ALLOW admits", []*secv1.AuthorizationPolicy{authz("istio-system", "q", l4)}, "warning", "other ALLOW"},
		{"an ALLOW on another pod does not", []*secv1.AuthorizationPolicy{authz("shop", "q", selector("app=ratings"), l4)}, "error", "denies all traffic"},
		{"another L7-only ALLOW does not", []*secv1.AuthorizationPolicy{authz("shop", "q", selector("app=reviews"), l7)}, "error", "denies all traffic"},
		{"an allow-nothing ALLOW does not", []*secv1.AuthorizationPolicy{authz("shop", "q", selector("app=reviews"))}, "error", "denies all traffic"},
		{"a DENY does not", []*secv1.AuthorizationPolicy{authz("shop", "q", selector("app=reviews"), action(secv1beta1.AuthorizationPolicy_DENY), l4)}, "error", "denies all traffic"},
		{"a waypoint policy does not", []*secv1.AuthorizationPolicy{authz("shop", "q", targetRef("Service", "reviews"), l4)}, "error", "denies all traffic"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := ambient.Analyze(policyCluster(append([]*secv1.AuthorizationPolicy{authz("shop", "p", selector("app=reviews"), l7)}, tc.others...)...))
			p := policyOf(t, a, "AuthorizationPolicy", key("shop", "p"))
			if !strings.Contains(p.Effect, tc.effect) {
				t.Errorf("effect %q does not say %q", p.Effect, tc.effect)
			}
			var got []string
			for _, f := range findingsFor(a, "policy-l7-on-ztunnel") {
				if f.Object.Name == "p" {
					got = append(got, f.Severity.String())
				}
			}
			if strings.Join(got, ",") != tc.finding {
				t.Errorf("findings on p %v, want %s", got, tc.finding)
			}
		})
	}
}

// TestDryRunByVersion: enforced on 1.24, dropped on 1.25-1.28, rejected or
// logged on 1.29+ by the switch, and enforced again by a ztunnel older than
// 1.29. No fix ever removes the annotation.
func TestDryRunByVersion(t *testing.T) {
	l4 := rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}})
	// istiod as the ambient profile runs it: without PILOT_ENABLE_AMBIENT the
	// dry-run switch is forced off (registerAmbient).
	on := map[string]string{install.EnvEnableAmbient: "true", install.EnvDryRunAuthorizationPolicy: "true"}
	for _, tc := range []struct {
		istiod, ztunnel string
		env             map[string]string
		finding         string // "severity code", or ""
		effect          string
	}{
		{"1.24.6", "", nil, "error policy-dry-run-enforced", "Enforced despite istio.io/dry-run"},
		{"1.25.0", "", nil, "info policy-dry-run-ignored", "istiod drops dry-run policies"},
		{"1.28.10", "", on, "info policy-dry-run-ignored", "istiod drops dry-run policies"},
		{"1.29.0", "", nil, "info policy-dry-run-ignored", "ambient dry-run support"},
		{"1.29.0", "", on, "", "logged, not enforced"},
		{"1.30.3", "1.28.2", on, "error policy-dry-run-enforced", "ztunnel 1.28 predates"},
		{"", "", nil, "info policy-dry-run-ignored", "ambient dry-run support"}, // assumed 1.30
	} {
		t.Run(tc.istiod+"/"+tc.ztunnel, func(t *testing.T) {
			c := policyCluster(authz("shop", "p", apAnnotations("istio.io/dry-run=true"), l4))
			c.Install.Istiod, _ = install.ParseVersion(tc.istiod)
			c.Install.Ztunnel, _ = install.ParseVersion(tc.ztunnel)
			c.Install.Env = tc.env
			a := ambient.Analyze(c)
			p := policyOf(t, a, "AuthorizationPolicy", key("shop", "p"))
			if !strings.Contains(p.Effect, tc.effect) {
				t.Errorf("effect %q does not say %q", p.Effect, tc.effect)
			}
			var got []string
			for _, f := range a.Findings {
				got = append(got, f.Severity.String()+" "+f.Code)
				if strings.Contains(f.Fix, "istio.io/dry-run-") {
					t.Errorf("fix removes the dry-run annotation: %q", f.Fix)
				}
			}
			if strings.Join(got, ";") != tc.finding {
				t.Errorf("findings %v, want %q", got, tc.finding)
			}
		})
	}
}

// TestEffectiveMTLSPerPod follows convertedSelectorPeerAuthentications:
// mesh, namespace unless UNSET, workload; DISABLE as PERMISSIVE overriding
// an inherited STRICT; port-level exceptions by the workload's own mode.
func TestEffectiveMTLSPerPod(t *testing.T) {
	strict := secv1beta1.PeerAuthentication_MutualTLS_STRICT
	perm := secv1beta1.PeerAuthentication_MutualTLS_PERMISSIVE
	disable := secv1beta1.PeerAuthentication_MutualTLS_DISABLE
	unset := secv1beta1.PeerAuthentication_MutualTLS_UNSET
	ports := func(p *secv1.PeerAuthentication, m map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode) *secv1.PeerAuthentication {
		p.Spec.PortLevelMtls = map[uint32]*secv1beta1.PeerAuthentication_MutualTLS{}
		for port, mode := range m {
			p.Spec.PortLevelMtls[port] = &secv1beta1.PeerAuthentication_MutualTLS{Mode: mode}
		}
		return p
	}
	for _, tc := range []struct {
		name     string
		pas      []*secv1.PeerAuthentication
		reviews  string // effective mode of shop/reviews
		ratings  string
		ports    string // honoured port exceptions of reviews
		findings string
	}{
		{"none", nil, "PERMISSIVE", "PERMISSIVE", "", ""},
		{"mesh STRICT", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0)},
			"STRICT (istio-system/default)", "STRICT (istio-system/default)", "", ""},
		{"namespace UNSET inherits the mesh", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0), peerAuthn("shop", "ns", unset, 0)},
			"STRICT (istio-system/default)", "STRICT (istio-system/default)", "", ""},
		{"namespace DISABLE overrides mesh STRICT", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0), peerAuthn("shop", "ns", disable, 0)},
			"PERMISSIVE (shop/ns)", "PERMISSIVE (shop/ns)", "", "warning peerauthentication-disable-lifts-strict PeerAuthentication shop/ns"},
		{"workload DISABLE overrides namespace STRICT", []*secv1.PeerAuthentication{peerAuthn("shop", "ns", strict, 0), peerAuthn("shop", "w", disable, 0, "app=reviews")},
			"PERMISSIVE (shop/w)", "STRICT (shop/ns)", "", "warning peerauthentication-disable-lifts-strict PeerAuthentication shop/w"},
		{"workload STRICT over namespace PERMISSIVE", []*secv1.PeerAuthentication{peerAuthn("shop", "ns", perm, 0), peerAuthn("shop", "w", strict, 0, "app=reviews")},
			"STRICT (shop/w)", "PERMISSIVE (shop/ns)", "", ""},
		{"the oldest workload policy wins", []*secv1.PeerAuthentication{peerAuthn("shop", "a", strict, 0, "app=reviews"), peerAuthn("shop", "b", perm, time.Hour, "app=reviews")},
			"PERMISSIVE (shop/b)", "PERMISSIVE", "", ""},
		{"own STRICT honours port DISABLE", []*secv1.PeerAuthentication{ports(peerAuthn("shop", "w", strict, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{8080: disable})},
			"STRICT (shop/w)", "PERMISSIVE", "8080 DISABLE", ""},
		{"UNSET under inherited STRICT: a port DISABLE counts beside a port PERMISSIVE", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0),
			ports(peerAuthn("shop", "w", unset, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{8080: disable, 9090: perm})},
			"STRICT (istio-system/default)", "STRICT (istio-system/default)", "8080 DISABLE,9090 PERMISSIVE", ""},
		{"UNSET under inherited STRICT: a port DISABLE alone is ignored", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0),
			ports(peerAuthn("shop", "w", unset, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{8080: disable})},
			"STRICT (istio-system/default)", "STRICT (istio-system/default)", "", "warning peerauthentication-port-disable-ignored PeerAuthentication shop/w"},
		{"UNSET under namespace STRICT honours port PERMISSIVE", []*secv1.PeerAuthentication{peerAuthn("shop", "ns", strict, 0),
			ports(peerAuthn("shop", "w", unset, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{9090: perm})},
			"STRICT (shop/ns)", "STRICT (shop/ns)", "9090 PERMISSIVE", ""},
		{"UNSET under namespace UNSET and mesh STRICT: port PERMISSIVE drops STRICT everywhere", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0), peerAuthn("shop", "ns", unset, 0),
			ports(peerAuthn("shop", "w", unset, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{9090: perm})},
			"PERMISSIVE (shop/w)", "STRICT (istio-system/default)", "", "error peerauthentication-port-lifts-strict PeerAuthentication shop/w"},
		{"PERMISSIVE with a port STRICT", []*secv1.PeerAuthentication{ports(peerAuthn("shop", "w", perm, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{9090: strict})},
			"PERMISSIVE (shop/w)", "PERMISSIVE", "9090 STRICT", ""},
		{"PERMISSIVE with a port STRICT under a namespace PERMISSIVE and mesh STRICT", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0), peerAuthn("shop", "ns", perm, 0),
			ports(peerAuthn("shop", "w", perm, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{9090: strict})},
			"PERMISSIVE (shop/w)", "PERMISSIVE (shop/ns)", "9090 STRICT", ""},
		{"PERMISSIVE with a port STRICT under only a mesh STRICT: the port STRICT is lost", []*secv1.PeerAuthentication{peerAuthn("istio-system", "default", strict, 0),
			ports(peerAuthn("shop", "w", perm, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{9090: strict})},
			"PERMISSIVE (shop/w)", "STRICT (istio-system/default)", "", "warning peerauthentication-port-strict-ignored PeerAuthentication shop/w"},
		{"UNSET with a port STRICT under no STRICT", []*secv1.PeerAuthentication{
			ports(peerAuthn("shop", "w", unset, 0, "app=reviews"), map[uint32]secv1beta1.PeerAuthentication_MutualTLS_Mode{9090: strict})},
			"PERMISSIVE (shop/w)", "PERMISSIVE", "9090 STRICT", ""},
		{"root-namespace selector policies are ignored", []*secv1.PeerAuthentication{peerAuthn("istio-system", "x", strict, 0, "app=reviews")},
			"PERMISSIVE", "PERMISSIVE", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := policyCluster()
			c.PeerAuthentications = tc.pas
			a := ambient.Analyze(c)
			rv, ra := a.Pods[key("shop", "reviews")].MTLS, a.Pods[key("shop", "ratings")].MTLS
			if rv.String() != tc.reviews || ra.String() != tc.ratings || strings.Join(rv.Ports, ",") != tc.ports {
				t.Errorf("reviews %s %v, ratings %s; want %s %q, %s", rv, rv.Ports, ra, tc.reviews, tc.ports, tc.ratings)
			}
			if got := strings.Join(codes(a.Findings), ";"); got != tc.findings {
				t.Errorf("findings %q, want %q", got, tc.findings)
			}
			for _, f := range a.Findings {
				if strings.Contains(f.Fix, "kubectl delete peerauthentication") {
					t.Errorf("fix deletes a PeerAuthentication that shields plaintext callers: %q", f.Fix)
				}
			}
		})
	}
}
