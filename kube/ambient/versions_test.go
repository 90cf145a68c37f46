package ambient_test

import (
	"strings"
	"testing"

	secv1beta1 "istio.io/api/security/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"

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
