package kube

import (
	"strings"
	"testing"
	"time"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

func states(over map[Resource]Availability) map[Resource]ResourceState {
	m := AllRead()
	for r, a := range over {
		m[r] = ResourceState{Availability: a, Detail: "detail of " + string(r)}
	}
	return m
}

func TestCoverage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		snap      *Snapshot
		want      []string // Skipped.String() of each check not run
		complete  bool
		unreadPod bool
	}{
		{name: "everything synced", snap: &Snapshot{Resources: AllRead()}, complete: true},
		{name: "missing CRDs are read: none of their objects can exist",
			snap:     &Snapshot{Resources: states(map[Resource]Availability{ResGateways: Missing, ResGatewayClasses: Missing, ResAuthorizationPolicies: Missing, ResPeerAuthentications: Missing, ResRequestAuthentications: Missing})},
			complete: true},
		{name: "NetworkPolicies forbidden",
			snap: &Snapshot{Resources: states(map[Resource]Availability{ResNetworkPolicies: Forbidden})},
			want: []string{"NetworkPolicies forbidden: HBONE checks not run"}},
		{name: "pods still loading stops every check",
			snap: &Snapshot{Resources: states(map[Resource]Availability{ResPods: Syncing})},
			want: []string{"Pods loading: enrollment checks not run", "Pods loading: waypoint checks not run",
				"Pods loading: policy checks not run", "Pods loading: HBONE checks not run"},
			unreadPod: true},
		{name: "Istio policies forbidden and gateways failing",
			snap: &Snapshot{Resources: states(map[Resource]Availability{ResAuthorizationPolicies: Forbidden, ResGateways: Failing})},
			want: []string{"Gateways failing: waypoint checks not run", "Gateways failing, AuthorizationPolicies forbidden: policy checks not run"}},
		{name: "unreachable",
			snap: &Snapshot{Resources: withOutage(map[Resource]ResourceState{ResNamespaces: {}, ResPods: {}, ResServices: {Availability: Available}, ResGateways: {Availability: Missing},
				ResGatewayClasses: {Availability: Missing}, ResNetworkPolicies: {Availability: Forbidden}, ResNodes: {}, ResAuthorizationPolicies: {Availability: Available},
				ResPeerAuthentications: {Availability: Available}, ResRequestAuthentications: {Availability: Available}}, false, "cannot reach API server")},
			want: []string{"Namespaces unreachable, Pods unreachable: enrollment checks not run", "Namespaces unreachable, Pods unreachable: waypoint checks not run",
				"Namespaces unreachable, Pods unreachable: policy checks not run", "Namespaces unreachable, Pods unreachable, NetworkPolicies forbidden: HBONE checks not run"},
			unreadPod: true},
		{name: "no states at all is nothing read", snap: &Snapshot{},
			want: []string{"Namespaces loading, Pods loading: enrollment checks not run",
				"Namespaces loading, Pods loading, Services loading, Gateways loading, GatewayClasses loading: waypoint checks not run",
				"Namespaces loading, Pods loading, Gateways loading, AuthorizationPolicies loading, PeerAuthentications loading, RequestAuthentications loading: policy checks not run",
				"Namespaces loading, Pods loading, Services loading, NetworkPolicies loading: HBONE checks not run"},
			unreadPod: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, k := range tc.snap.Coverage() {
				got = append(got, k.String())
			}
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("Coverage:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			if c := tc.snap.Complete(); c != tc.complete {
				t.Errorf("Complete() = %v, want %v", c, tc.complete)
			}
			if u := len(tc.snap.Unread(ResPods)) > 0; u != tc.unreadPod {
				t.Errorf("pods unread = %v, want %v", u, tc.unreadPod)
			}
		})
	}
	var nilSnap *Snapshot
	if nilSnap.Complete() || len(nilSnap.Coverage()) != len(Checks) {
		t.Error("a nil snapshot claims checks ran")
	}
}

func TestWithOutage(t *testing.T) {
	in := map[Resource]ResourceState{
		ResPods:            {Availability: Syncing},
		ResNamespaces:      {Availability: Available},
		ResNetworkPolicies: {Availability: Forbidden, Detail: "forbidden: no"},
		ResGateways:        {Availability: Missing, Detail: "API not installed"},
		ResServices:        {Availability: Failing, Detail: "boom"},
	}
	copyOf := func() map[Resource]ResourceState {
		m := map[Resource]ResourceState{}
		for r, s := range in {
			m[r] = s
		}
		return m
	}
	if got := withOutage(copyOf(), true, ""); got[ResPods].Availability != Syncing {
		t.Errorf("reachable: pods %v, want still loading", got[ResPods].Availability)
	}
	got := withOutage(copyOf(), false, "cannot reach API server: refused")
	want := map[Resource]Availability{ResPods: Unreachable, ResNamespaces: Available, ResNetworkPolicies: Forbidden, ResGateways: Missing, ResServices: Failing}
	for r, a := range want {
		if got[r].Availability != a {
			t.Errorf("unreachable: %s is %v, want %v", r, got[r].Availability, a)
		}
	}
	if d := got[ResPods].Detail; !strings.Contains(d, "cannot reach API server") {
		t.Errorf("unreachable pods detail %q does not say why", d)
	}
}

// Build is handed every object, so all is read and the index is made.
func TestBuildReadsAll(t *testing.T) {
	s := Build(ambient.Cluster{}, time.Unix(0, 0))
	if !s.Complete() {
		t.Errorf("Build's snapshot is not complete: %v", s.Coverage())
	}
	if s.Index == nil || s.Marks() != s.Index {
		t.Error("Build made no findings index")
	}
	hand := &Snapshot{}
	if hand.Marks() == nil {
		t.Error("Marks of a hand-made snapshot is nil")
	}
}

// Findings of a check whose inputs were not read are dropped, the rest
// kept, and the index follows.
func TestDropUnchecked(t *testing.T) {
	all := []finding.Finding{
		{Severity: finding.Error, Code: "waypoint-no-ready-pods", Object: finding.Ref{Kind: "Gateway", Namespace: "a", Name: "wp"}},
		{Severity: finding.Error, Code: "hbone-ingress-blocked", Object: finding.Ref{Kind: "NetworkPolicy", Namespace: "a", Name: "np"}},
		{Severity: finding.Error, Code: "policy-l7-on-ztunnel", Object: finding.Ref{Kind: "AuthorizationPolicy", Namespace: "a", Name: "p"}},
		{Severity: finding.Warning, Code: "pod-needs-restart", Object: finding.Ref{Kind: "Namespace", Name: "a"}},
		{Severity: finding.Warning, Code: "peerauthentication-conflict", Object: finding.Ref{Kind: "PeerAuthentication", Namespace: "a", Name: "pa"}},
	}
	for _, tc := range []struct {
		name  string
		over  map[Resource]Availability
		codes []string
	}{
		{"all read", nil, []string{"waypoint-no-ready-pods", "hbone-ingress-blocked", "policy-l7-on-ztunnel", "pod-needs-restart", "peerauthentication-conflict"}},
		{"networkpolicies forbidden", map[Resource]Availability{ResNetworkPolicies: Forbidden}, []string{"waypoint-no-ready-pods", "policy-l7-on-ztunnel", "pod-needs-restart", "peerauthentication-conflict"}},
		{"gateways loading", map[Resource]Availability{ResGateways: Syncing}, []string{"hbone-ingress-blocked", "pod-needs-restart"}},
		{"istio policies missing is read", map[Resource]Availability{ResAuthorizationPolicies: Missing}, []string{"waypoint-no-ready-pods", "hbone-ingress-blocked", "policy-l7-on-ztunnel", "pod-needs-restart", "peerauthentication-conflict"}},
		{"pods unreachable", map[Resource]Availability{ResPods: Unreachable}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Snapshot{Findings: append([]finding.Finding(nil), all...), Resources: states(tc.over)}
			s.DropUnchecked()
			var got []string
			for _, f := range s.Findings {
				got = append(got, f.Code)
			}
			if strings.Join(got, ",") != strings.Join(tc.codes, ",") {
				t.Errorf("kept %v, want %v", got, tc.codes)
			}
			if n := s.Marks().All().Total(); n != len(tc.codes) {
				t.Errorf("index counts %d findings, want %d", n, len(tc.codes))
			}
		})
	}
}
