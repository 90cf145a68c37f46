package install

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/finding"
)

func titles(fs []finding.Finding) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.Code+": "+f.Title)
	}
	return out
}

func hasCode(fs []finding.Finding, code string) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}

func TestFindings(t *testing.T) {
	amb := env("PILOT_ENABLE_AMBIENT", "true")
	healthyCNI := func(tag string) *appsv1.DaemonSet { return cniDS("istio-system", "istio/install-cni:"+tag, 2, 2) }
	cniOn := cm("istio-system", "istio-cni-config", "AMBIENT_ENABLED", "true")
	for _, tc := range []struct {
		name string
		in   Objects
		want []string // codes and a word of the title each, in order
	}{
		{"ztunnel one minor behind is supported", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.28.3", 2, 2), healthyCNI("1.29.0")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, nil},
		{"ztunnel two minors behind", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.27.3", 2, 2), healthyCNI("1.29.0")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, []string{"install-version-skew: ztunnel 1.27.3 is behind"}},
		{"istio-cni ahead of istiod", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.28.0", amb...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.28.0", 2, 2), healthyCNI("1.29.1")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, []string{"install-version-skew: istio-cni 1.29.1 is newer"}},
		{"a major apart", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:2.0.0", amb...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.30.0", 2, 2), healthyCNI("2.0.0")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, []string{"install-version-skew: ztunnel 1.30.0 is behind"}},
		{"ztunnel not ready on one node, istio-cni on none", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.29.0", 2, 3), cniDS("istio-system", "install-cni:1.29.0", 0, 0)},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}},
			[]string{"install-not-ready: ztunnel istio-system/ztunnel: 2 of 3", "install-not-ready: istio-cni istio-system/istio-cni-node: 0 of 0"}},
		{"ambient istiod without a data plane", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)}},
			[]string{"install-dataplane-missing: no ztunnel", "install-dataplane-missing: no istio-cni"}},
		{"DaemonSets unreadable: no false 'missing'", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)},
			Unread:      map[string]string{"daemonsets": "forbidden"}}, nil},
		{"ztunnel runs, istiod has ambient off", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0")},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.29.0", 1, 1), healthyCNI("1.29.0")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, []string{"install-ambient-off: ambient off"}},
		{"istio-cni with ambient off", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.29.0", 1, 1), healthyCNI("1.29.0")},
			ConfigMaps:  []*corev1.ConfigMap{cm("istio-system", "istio-cni-config", "AMBIENT_ENABLED", "false")}},
			[]string{"install-cni-ambient-off: redirection off"}},
		{"dry-run sent to a 1.28 ztunnel", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.29.0", env("PILOT_ENABLE_AMBIENT", "true", EnvDryRunAuthorizationPolicy, "true")...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.28.3", 2, 2), healthyCNI("1.29.0")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, []string{"install-dry-run-old-ztunnel: enforces them"}},
		{"dry-run set on 1.28 does nothing", Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "pilot:1.28.0", env("PILOT_ENABLE_AMBIENT", "true", EnvDryRunAuthorizationPolicy, "true")...)},
			DaemonSets:  []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.28.0", 2, 2), healthyCNI("1.28.0")},
			ConfigMaps:  []*corev1.ConfigMap{cniOn}}, []string{"install-switch-ignored: AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY=true has no effect"}},
		{"istiod down", Objects{
			Deployments: []*appsv1.Deployment{func() *appsv1.Deployment {
				d := istiodDep("istio-system", "istiod", "", "pilot:1.29.0", amb...)
				d.Status.ReadyReplicas = 0
				return d
			}()},
			DaemonSets: []*appsv1.DaemonSet{ztunnelDS("istio-system", "ztunnel:1.29.0", 1, 1), healthyCNI("1.29.0")},
			ConfigMaps: []*corev1.ConfigMap{cniOn}}, []string{"install-not-ready: istiod istio-system/istiod: 0 of 1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := titles(Discover(tc.in).Findings())
			if len(got) != len(tc.want) {
				t.Fatalf("findings %q, want %q", got, tc.want)
			}
			for i, w := range tc.want {
				code, word, _ := strings.Cut(w, ": ")
				if !strings.HasPrefix(got[i], code+": ") || !strings.Contains(got[i], word) {
					t.Errorf("finding %d = %q, want %q", i, got[i], w)
				}
			}
		})
	}
}
