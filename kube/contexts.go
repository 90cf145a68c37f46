package kube

import (
	"fmt"
	"sort"

	"k8s.io/client-go/tools/clientcmd"
)

// KubeContext is one context of the kubeconfig.
type KubeContext struct {
	Name      string
	Cluster   string
	Namespace string
	Current   bool // the kubeconfig's current-context
}

// Contexts lists the kubeconfig's contexts (the same files Resolve reads:
// kubeconfig, else KUBECONFIG merged, else ~/.kube/config), sorted by name.
func Contexts(kubeconfig string) ([]KubeContext, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules.ExplicitPath = kubeconfig
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	out := make([]KubeContext, 0, len(raw.Contexts))
	for name, c := range raw.Contexts {
		if c == nil {
			continue
		}
		out = append(out, KubeContext{Name: name, Cluster: c.Cluster, Namespace: c.Namespace, Current: name == raw.CurrentContext})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out, nil
}
