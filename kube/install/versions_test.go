package install

import "testing"

// TestDefaultsAtEveryBoundary pins each per-version default the reference
// names (0.4, 0.5, 1.2) on both sides of its boundary, with the switches
// set as the ambient profile sets PILOT_ENABLE_AMBIENT.
func TestDefaultsAtEveryBoundary(t *testing.T) {
	v := func(s string) Version { x, _ := ParseVersion(s); return x }
	ambient := func(kv ...string) map[string]string {
		m := map[string]string{EnvEnableAmbient: "true"}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name string
		got  func(Info) bool
		env  map[string]string
		want map[string]bool // version -> value
	}{
		{"AMBIENT_DNS_CAPTURE default (istio-cni)", Info.CNIDNSCapture, nil,
			map[string]bool{"1.24.6": false, "1.25.0": true, "1.30.3": true}},
		{"agent honours excludeNamespaces (istio-cni)", Info.AgentHonoursExclusions, nil,
			map[string]bool{"1.29.6": false, "1.30.0": true, "1.31.0": true}},
		{"dry-run switch set true", func(i Info) bool { return i.Switch(EnvDryRunAuthorizationPolicy) }, ambient(EnvDryRunAuthorizationPolicy, "true"),
			map[string]bool{"1.28.10": false, "1.29.0": true}},
		{"multi-network switch set true", func(i Info) bool { return i.Switch(EnvAmbientMultiNetwork) }, ambient(EnvAmbientMultiNetwork, "true"),
			map[string]bool{"1.24.6": false, "1.25.0": true}},
		{"layered waypoint policies set true, not ambient-gated", func(i Info) bool { return i.Switch(EnvLayeredWaypointPolicies) }, map[string]string{EnvLayeredWaypointPolicies: "true"},
			map[string]bool{"1.24.6": false, "1.25.0": true}},
		{"sending HBONE default", func(i Info) bool { return i.Switch(EnvSendingHBONE) }, ambient(),
			map[string]bool{"1.24.6": true, "1.29.6": true, "1.31.0": true}},
		{"sending HBONE without ambient", func(i Info) bool { return i.Switch(EnvSendingHBONE) }, map[string]string{EnvSendingHBONE: "true"},
			map[string]bool{"1.24.6": false, "1.31.0": false}},
		{"prefer sending HBONE default", func(i Info) bool { return i.Switch(EnvPreferSendingHBONE) }, ambient(),
			map[string]bool{"1.24.6": false, "1.31.0": false}},
		{"prefer sending HBONE set", func(i Info) bool { return i.Switch(EnvPreferSendingHBONE) }, ambient(EnvPreferSendingHBONE, "1"),
			map[string]bool{"1.24.6": true, "1.31.0": true}},
	} {
		for ver, want := range tc.want {
			i := Info{Istiod: v(ver), CNI: v(ver), Env: tc.env}
			if got := tc.got(i); got != want {
				t.Errorf("%s at %s = %v, want %v", tc.name, ver, got, want)
			}
		}
	}
	// Custom enablement selectors are read from istio-cni 1.27.
	custom := CNIConfig{Read: true, AmbientEnabled: true, EnablementSelectors: []EnablementSelector{{}}}
	for ver, n := range map[string]int{"1.26.8": 2, "1.27.0": 1} {
		if got := len((Info{CNI: v(ver), CNIConfig: custom}).Selectors()); got != n {
			t.Errorf("selectors at %s: %d, want %d", ver, got, n)
		}
	}
}
