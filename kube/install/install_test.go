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
