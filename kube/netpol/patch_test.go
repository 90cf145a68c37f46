package netpol

import (
	"testing"

	"sigs.k8s.io/yaml"
)

// toYAML must write exactly what sigs.k8s.io/yaml (and so kubectl) writes.
func TestToYAMLMatchesSigsYAML(t *testing.T) {
	for _, s := range []*scene{lokiScene(t), localstackScene(t), waypointScene(t)} {
		for _, np := range s.in.NetworkPolicies {
			want, err := yaml.Marshal(np)
			if err != nil {
				t.Fatal(err)
			}
			if got := toYAML(np); got != string(want) {
				t.Errorf("toYAML(%s/%s)\n%s\nwant\n%s", np.Namespace, np.Name, got, want)
			}
		}
	}
}
