package ambient_test

import (
	"strings"
	"testing"
	"time"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
)

// installAt is an installation read at istiod version v with env.
func installAt(t *testing.T, v string, env map[string]string) install.Info {
	t.Helper()
	ver, ok := install.ParseVersion(v)
	if !ok {
		t.Fatalf("bad version %q", v)
	}
	return install.Info{Istiod: ver, Ztunnel: ver, CNI: ver, Env: env, Discovered: true,
		Components: []install.Component{{Kind: install.Istiod, Namespace: "istio-system", Name: "istiod", Version: ver, Desired: 1, Ready: 1}}}
}

// TestStrictRejectsPlaintextSidecars: with istiod's
// PILOT_ENABLE_SENDING_HBONE off, sidecars reach ambient pods in plaintext
// on the app port (auto-mTLS finds no tlsMode=istio on them), which their
// ztunnel takes as plaintext: a STRICT PeerAuthentication deciding ambient
// pods then rejects every sidecar client. On (the default, in every
// release) the sidecar tunnels with its identity and nothing is said.
func TestStrictRejectsPlaintextSidecars(t *testing.T) {
	strict := secv1beta1.PeerAuthentication_MutualTLS_STRICT
	const code = "error peerauthentication-strict-sidecar-plaintext PeerAuthentication shop/strict"
	for _, tc := range []struct {
		name    string
		env     map[string]string
		sidecar bool
		want    bool
	}{
		{"sending on by default", map[string]string{"PILOT_ENABLE_AMBIENT": "true"}, true, false},
		{"sending off", map[string]string{"PILOT_ENABLE_AMBIENT": "true", "PILOT_ENABLE_SENDING_HBONE": "false"}, true, true},
		{"sending off, no sidecars in the mesh", map[string]string{"PILOT_ENABLE_AMBIENT": "true", "PILOT_ENABLE_SENDING_HBONE": "false"}, false, false},
		{"ambient off: other findings say so", map[string]string{"PILOT_ENABLE_SENDING_HBONE": "false"}, true, false},
	} {
		for _, v := range []string{"1.24.6", "1.29.6", "1.31.0"} {
			t.Run(tc.name+" "+v, func(t *testing.T) {
				c := policyCluster()
				if !tc.sidecar {
					var pods = c.Pods[:0:0]
					for _, p := range c.Pods {
						if p.Namespace != "legacy" {
							pods = append(pods, p)
						}
					}
					c.Pods = pods
				}
				c.Install = installAt(t, v, tc.env)
				c.PeerAuthentications = []*secv1.PeerAuthentication{peerAuthn("shop", "strict", strict, 0)}
				a := ambient.Analyze(c)
				got := false
				for _, f := range a.Findings {
					if f.Code == "peerauthentication-strict-sidecar-plaintext" {
						got = true
						if s := strings.Join(codes(a.Findings), ";"); !strings.Contains(s, code) {
							t.Errorf("findings %q, want %q", s, code)
						}
						if f.Fix != "kubectl set env deployment/istiod -n istio-system PILOT_ENABLE_SENDING_HBONE-" {
							t.Errorf("fix %q", f.Fix)
						}
						if !strings.Contains(f.Why, "istio_converted_static_strict") || !strings.Contains(f.Title, "2 ambient pods") {
							t.Errorf("title %q why %q", f.Title, f.Why)
						}
					}
				}
				if got != tc.want {
					t.Fatalf("finding raised %v, want %v: %q", got, tc.want, codes(a.Findings))
				}
				p := policyOf(t, a, "PeerAuthentication", key("shop", "strict"))
				if says := strings.Contains(p.Effect, "Sidecars connect to them in plaintext"); says != tc.want {
					t.Errorf("effect %q", p.Effect)
				}
			})
		}
	}
}

// TestServiceAccountsByVersion: serviceAccounts and notServiceAccounts
// exist from istiod 1.25 (reference 2.1, 0.7); istiod 1.24 drops them, so
// a source naming only them is an empty match that never matches: the
// ALLOW admits nobody and the DENY never fires. ambx warns at 1.24 only.
func TestServiceAccountsByVersion(t *testing.T) {
	const client = "spiffe://cluster.local/ns/shop/sa/client"
	sa := &secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{ServiceAccounts: []string{"shop/client"}})}}
	deny := action(secv1beta1.AuthorizationPolicy_DENY)
	for _, tc := range []struct {
		istiod string
		deny   bool
		want   ambient.AuthzOutcome
		warn   bool
	}{
		{"1.24.6", false, ambient.AuthzDenied, true},
		{"1.25.0", false, ambient.AuthzAllowed, false},
		{"1.31.0", false, ambient.AuthzAllowed, false},
		{"1.24.6", true, ambient.AuthzAllowed, true},
		{"1.25.0", true, ambient.AuthzDenied, false},
	} {
		name := "allow "
		if tc.deny {
			name = "deny "
		}
		t.Run(name+tc.istiod, func(t *testing.T) {
			opts := []apOpt{rules(sa)}
			if tc.deny {
				opts = append(opts, deny)
			}
			c := policyCluster(authz("shop", "by-sa", opts...))
			c.Install = installAt(t, tc.istiod, map[string]string{"PILOT_ENABLE_AMBIENT": "true"})
			a := ambient.Analyze(c)
			var dst *corev1.Pod
			for _, p := range c.Pods {
				if p.Namespace == "shop" && p.Name == "ratings" {
					dst = p
				}
			}
			if v := ambient.Authorize(c, a, ambient.Peer{Identity: client}, dst); v.Outcome != tc.want {
				t.Errorf("Authorize = %+v, want %s", v, tc.want)
			}
			warned := len(findingsFor(a, "policy-service-accounts-unsupported")) == 1
			if warned != tc.warn {
				t.Errorf("warning %v, want %v: %q", warned, tc.warn, codes(a.Findings))
			}
			p := policyOf(t, a, "AuthorizationPolicy", key("shop", "by-sa"))
			if says := strings.Contains(p.Effect, "no serviceAccounts field"); says != tc.warn {
				t.Errorf("effect %q", p.Effect)
			}
		})
	}
}

// TestHostNetworkByCNIVersion: a host-network pod is never captured, but
// why differs (reference 1.2): istio-cni 1.24-1.26 and 1.31+ skip it;
// 1.27-1.30 lost the check, try, and fail without retry. Its state is the
// same, and never "needs restart".
func TestHostNetworkByCNIVersion(t *testing.T) {
	for v, tries := range map[string]bool{"1.24.6": false, "1.26.8": false, "1.27.0": true, "1.30.3": true, "1.31.0": false} {
		t.Run(v, func(t *testing.T) {
			c := &ambient.Cluster{
				Namespaces: []*corev1.Namespace{namespace("monitoring", "istio.io/dataplane-mode=ambient")},
				Pods:       append(dataplane("node-1"), pod("monitoring", "node-exporter", hostNetwork)),
				Install:    installAt(t, v, nil),
			}
			a := ambient.Analyze(c)
			got := a.Pods[key("monitoring", "node-exporter")]
			if got.State != ambient.PodHostNetwork {
				t.Fatalf("state %q, want %q", got.State, ambient.PodHostNetwork)
			}
			if says := strings.Contains(got.Reason, "will not retry"); says != tries {
				t.Errorf("reason %q: says the agent tries = %v, want %v", got.Reason, says, tries)
			}
			for _, f := range a.Findings {
				if strings.Contains(f.Fix, "rollout restart") {
					t.Errorf("a host-network pod is restarted: %+v", f)
				}
			}
		})
	}
}

// TestVersionIndependentRulesHoldAtEveryBoundary: the rules the reference
// says did not change from 1.24 to master (2.3 ztunnel's per-rule DENY
// semantics, 2.6 PeerAuthentication inheritance) give the same verdicts at
// the oldest and newest releases ambx knows.
func TestVersionIndependentRulesHoldAtEveryBoundary(t *testing.T) {
	strict := secv1beta1.PeerAuthentication_MutualTLS_STRICT
	disable := secv1beta1.PeerAuthentication_MutualTLS_DISABLE
	deny := action(secv1beta1.AuthorizationPolicy_DENY)
	// Rule 0 is L7-only (void at ztunnel), rule 1 denies namespace evil.
	l7deny := authz("shop", "no-delete", deny, rules(
		&secv1beta1.Rule{To: []*secv1beta1.Rule_To{to(&secv1beta1.Operation{Methods: []string{"DELETE"}})}},
		&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"evil"}})}}))
	for _, v := range []string{"1.24.6", "1.27.0", "1.30.3", "1.31.0"} {
		t.Run(v, func(t *testing.T) {
			c := policyCluster(l7deny)
			c.Install = installAt(t, v, map[string]string{"PILOT_ENABLE_AMBIENT": "true"})
			c.PeerAuthentications = []*secv1.PeerAuthentication{
				peerAuthn("istio-system", "default", strict, 2*time.Hour),
				peerAuthn("shop", "off", disable, time.Hour, "app=reviews"),
			}
			a := ambient.Analyze(c)
			if f := findingsFor(a, "policy-l7-on-ztunnel"); len(f) != 1 || !strings.Contains(f[0].Title+f[0].Why, "less") {
				t.Errorf("DENY with an L7-only rule: %+v", f)
			}
			var ratings, reviews *corev1.Pod
			for _, p := range c.Pods {
				switch p.Name {
				case "ratings":
					ratings = p
				case "reviews":
					reviews = p
				}
			}
			if v := ambient.Authorize(c, a, ambient.Peer{Identity: "spiffe://cluster.local/ns/good/sa/x"}, ratings); v.Outcome != ambient.AuthzAllowed {
				t.Errorf("the void DELETE rule denies: %+v", v)
			}
			if v := ambient.Authorize(c, a, ambient.Peer{Identity: "spiffe://cluster.local/ns/evil/sa/x"}, ratings); v.Outcome != ambient.AuthzDenied {
				t.Errorf("the namespace rule does not deny: %+v", v)
			}
			if a.Pods[key("shop", "ratings")].MTLS.Strict != true || a.Pods[key("shop", "reviews")].MTLS.Strict {
				t.Errorf("mTLS: ratings %+v, reviews %+v: want STRICT from the mesh, and DISABLE lifting it", a.Pods[key("shop", "ratings")].MTLS, a.Pods[key("shop", "reviews")].MTLS)
			}
			if v := ambient.Authorize(c, a, ambient.Peer{}, reviews); v.Outcome == ambient.AuthzDenied {
				t.Errorf("plaintext to the DISABLE pod: %+v", v)
			}
			if f := findingsFor(a, "peerauthentication-disable-lifts-strict"); len(f) != 1 || strings.Contains(f[0].Fix, "delete") {
				t.Errorf("DISABLE under STRICT: %+v", f)
			}
		})
	}
}

// TestProtectedCountsCapturedPodsOnly: a policy's "ztunnel enforces it for
// N ambient pods" counts pods ztunnel has (redirection enabled), not pods
// that should be captured but are not, nor pending ones, which it names as
// unprotected; sidecar pods are their sidecars' (issue item 12).
func TestProtectedCountsCapturedPodsOnly(t *testing.T) {
	c := policyCluster(authz("shop", "ns-wide", rules(&secv1beta1.Rule{From: []*secv1beta1.Rule_From{from(&secv1beta1.Source{Namespaces: []string{"shop"}})}})))
	c.Pods = append(c.Pods,
		pod("shop", "late", labels("app=late")), // matches, never captured
		pod("shop", "stuck", pendingRedir, labels("app=stuck")),
		pod("shop", "old", injected, labels("app=old")))
	a := ambient.Analyze(c)
	p := policyOf(t, a, "AuthorizationPolicy", key("shop", "ns-wide"))
	if p.SelectedAmbient != 2 || p.SelectedUncaptured != 2 || p.SelectedSidecar != 1 {
		t.Errorf("selected ambient %d uncaptured %d sidecar %d, want 2, 2, 1", p.SelectedAmbient, p.SelectedUncaptured, p.SelectedSidecar)
	}
	for _, want := range []string{"ztunnel enforces it for 2 ambient pods, sidecars for 1 sidecar pods", "2 captured, 2 not captured: unprotected"} {
		if !strings.Contains(p.Effect, want) {
			t.Errorf("effect %q does not say %q", p.Effect, want)
		}
	}
}
