package kube_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ambx/ambx/kube"
)

// TestGatewaySendsHBONEByIstiodSwitch: an ingress gateway tunnels to an
// ambient pod only while the installed istiod's PILOT_ENABLE_SENDING_HBONE
// is on (default true with ambient, in every release; forced off without
// PILOT_ENABLE_AMBIENT). Off, it connects to the app port, which apps/web
// admits from the gateway's namespace, so nothing is blocked.
func TestGatewaySendsHBONEByIstiodSwitch(t *testing.T) {
	const direct = "hbone-ingress-blocked NetworkPolicy apps/web"
	for _, tc := range []struct {
		name string
		env  map[string]string
		want []string
	}{
		{"default", map[string]string{"PILOT_ENABLE_AMBIENT": "true"}, []string{direct}},
		{"set true", map[string]string{"PILOT_ENABLE_AMBIENT": "true", "PILOT_ENABLE_SENDING_HBONE": "true"}, []string{direct}},
		{"set false", map[string]string{"PILOT_ENABLE_AMBIENT": "true", "PILOT_ENABLE_SENDING_HBONE": "false"}, nil},
		{"unparsable keeps the default", map[string]string{"PILOT_ENABLE_AMBIENT": "true", "PILOT_ENABLE_SENDING_HBONE": "nope"}, []string{direct}},
		{"ambient off forces it off", map[string]string{"PILOT_ENABLE_SENDING_HBONE": "true"}, nil},
	} {
		for _, v := range []string{"1.24.6", "1.29.6", "1.31.1"} {
			t.Run(tc.name+" "+v, func(t *testing.T) {
				s := kube.Build(ingressCluster(v, tc.env, nil, nil, "10.96.0.50"), time.Unix(1e9, 0))
				var got []string
				for _, f := range s.Findings {
					if f.Code == "hbone-ingress-blocked" || f.Code == "hbone-waypoint-clients-blocked" {
						got = append(got, f.Code+" "+f.Object.String())
					}
				}
				if !slices.Equal(got, tc.want) {
					t.Fatalf("HBONE findings %q, want %q", got, tc.want)
				}
			})
		}
	}
}
