package install

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestServiceEntryVisibility reads meshConfig.serviceEntryVisibility from
// the mesh ConfigMap and resolves it as istiod 1.31 does: first policy
// whose rules all match, else the default; never before 1.31.
func TestServiceEntryVisibility(t *testing.T) {
	mesh := `serviceEntryVisibility:
  defaultVisibility: NAMESPACE
  policies:
  - visibility: NONE
    matchingRules:
    - namespaceSelector: {matchLabels: {tier: sandbox}}
  - visibility: PUBLIC
    matchingRules:
    - namespaceSelector: {matchExpressions: [{key: team, operator: In, values: [platform]}]}
    - namespaceSelector: {matchLabels: {shared: "yes"}}
  - visibility: NONE
    matchingRules:
    - namespaceSelector: {matchExpressions: [{key: x, operator: Bogus}]}
`
	for _, tc := range []struct {
		image  string
		labels map[string]string
		want   Visibility
	}{
		{"1.31.0", nil, VisibilityNamespace},
		{"1.31.0", map[string]string{"tier": "sandbox"}, VisibilityNone},
		{"1.31.0", map[string]string{"team": "platform"}, VisibilityNamespace}, // the second rule does not match
		{"1.31.0", map[string]string{"team": "platform", "shared": "yes"}, VisibilityPublic},
		{"1.31.0", map[string]string{"x": "y"}, VisibilityNamespace}, // an invalid selector never matches
		{"1.30.3", map[string]string{"tier": "sandbox"}, VisibilityPublic},
	} {
		i := Discover(Objects{
			Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "docker.io/istio/pilot:"+tc.image)},
			ConfigMaps:  []*corev1.ConfigMap{cm("istio-system", "istio", "mesh", mesh)},
		})
		if got := i.ServiceEntryVisibilityFor(tc.labels); got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.image, tc.labels, got, tc.want)
		}
	}
	if got := (Info{}).ServiceEntryVisibilityFor(nil); got != VisibilityPublic {
		t.Errorf("nothing read: %s", got)
	}
}
