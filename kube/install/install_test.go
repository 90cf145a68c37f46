package install

import "testing"

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in    string
		ok    bool
		major int
		minor int
		patch int
	}{
		{"1.29.2", true, 1, 29, 2},
		{"1.29.2-distroless", true, 1, 29, 2},
		{"v1.28", true, 1, 28, 0},
		{"1.30.0-beta.1", true, 1, 30, 0},
		{"1.24.6_fips", true, 1, 24, 6},
		{"latest", false, 0, 0, 0},
		{"master", false, 0, 0, 0},
		{"sha256:abcdef", false, 0, 0, 0},
		{"", false, 0, 0, 0},
		{"1", false, 0, 0, 0},
		{"1.2.3.4", false, 0, 0, 0},
	} {
		v, ok := ParseVersion(tc.in)
		if ok != tc.ok || v.Major != tc.major || v.Minor != tc.minor || v.Patch != tc.patch {
			t.Errorf("ParseVersion(%q) = %+v, %v; want %d.%d.%d, %v", tc.in, v, ok, tc.major, tc.minor, tc.patch, tc.ok)
		}
	}
}

func TestEffectiveAssumesWhenUnread(t *testing.T) {
	var i Info
	if !i.Assumed() || i.Effective() != AssumedVersion {
		t.Fatalf("empty Info: Effective %v Assumed %v", i.Effective(), i.Assumed())
	}
	v, _ := ParseVersion("1.25.1")
	i.Istiod = v
	if i.Assumed() || !i.Effective().AtLeast(1, 25) || i.Effective().AtLeast(1, 26) {
		t.Fatalf("Info with 1.25.1: Effective %v Assumed %v", i.Effective(), i.Assumed())
	}
	if got := i.ZtunnelEffective(); got != v {
		t.Fatalf("ztunnel falls back to istiod: got %v", got)
	}
}

func TestSwitchDefaultsByVersion(t *testing.T) {
	v := func(s string) Version { x, _ := ParseVersion(s); return x }
	for _, tc := range []struct {
		name string
		info Info
		env  string
		want bool
	}{
		{"dry-run off by default", Info{Istiod: v("1.29.0")}, EnvDryRunAuthorizationPolicy, false},
		{"dry-run set on 1.29", Info{Istiod: v("1.29.0"), Env: map[string]string{EnvEnableAmbient: "true", EnvDryRunAuthorizationPolicy: "true"}}, EnvDryRunAuthorizationPolicy, true},
		{"dry-run set but ambient unset in a read env", Info{Istiod: v("1.29.0"), Env: map[string]string{EnvDryRunAuthorizationPolicy: "true"}}, EnvDryRunAuthorizationPolicy, false},
		{"ambient unset in a read env is istiod's false", Info{Istiod: v("1.29.0"), Env: map[string]string{}}, EnvEnableAmbient, false},
		{"ambient from an unread ConfigMap is assumed", Info{Istiod: v("1.29.0"), Env: map[string]string{}, EnvUnread: map[string]string{EnvEnableAmbient: "ConfigMap x key y"}}, EnvEnableAmbient, true},
		{"dry-run does not exist on 1.28", Info{Istiod: v("1.28.3"), Env: map[string]string{EnvDryRunAuthorizationPolicy: "true"}}, EnvDryRunAuthorizationPolicy, false},
		{"ingress routing on by default", Info{}, EnvIngressWaypointRouting, true},
		{"ingress routing needs ambient", Info{Env: map[string]string{EnvEnableAmbient: "false"}}, EnvIngressWaypointRouting, false},
		{"unparsable value keeps the default", Info{Env: map[string]string{EnvSelectorGatewayPolicy: "yes"}}, EnvSelectorGatewayPolicy, true},
		{"ParseBool spelling", Info{Env: map[string]string{EnvEnableAmbient: "True", EnvAutoAllowWaypointPolicy: "1"}}, EnvAutoAllowWaypointPolicy, true},
		{"selector gateway policy off", Info{Env: map[string]string{EnvSelectorGatewayPolicy: "false"}}, EnvSelectorGatewayPolicy, false},
	} {
		if got := tc.info.Switch(tc.env); got != tc.want {
			t.Errorf("%s: Switch(%s) = %v, want %v", tc.name, tc.env, got, tc.want)
		}
	}
}

func TestCNIDefaults(t *testing.T) {
	var i Info
	if !i.CNIAmbientEnabled() || len(i.ExcludedNamespaces()) != 1 || i.ExcludedNamespaces()[0] != "kube-system" || len(i.Selectors()) != 2 {
		t.Fatalf("unread CNI config: enabled %v excluded %v selectors %d", i.CNIAmbientEnabled(), i.ExcludedNamespaces(), len(i.Selectors()))
	}
	custom := []EnablementSelector{{}}
	i.CNIConfig = CNIConfig{Read: true, EnablementSelectors: custom}
	i.CNI, _ = ParseVersion("1.26.2")
	if len(i.Selectors()) != 2 || i.CNIAmbientEnabled() {
		t.Fatalf("1.26 ignores custom selectors and AMBIENT_ENABLED=false disables: %d %v", len(i.Selectors()), i.CNIAmbientEnabled())
	}
	i.CNI, _ = ParseVersion("1.27.0")
	if len(i.Selectors()) != 1 || i.AgentHonoursExclusions() {
		t.Fatalf("1.27 reads custom selectors, agent ignores exclusions")
	}
	i.CNI, _ = ParseVersion("1.30.0")
	if !i.AgentHonoursExclusions() {
		t.Fatal("1.30 agent honours exclusions")
	}
}
