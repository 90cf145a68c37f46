package reach

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// pageSize keeps each LIST response small on large clusters.
const pageSize = 500

// FromCluster LISTs namespaces, pods and NetworkPolicies of every
// namespace. Pods that have finished (Succeeded or Failed) are left out:
// they hold no connections.
func FromCluster(ctx context.Context, client kubernetes.Interface) (*Objects, error) {
	o := newObjects()
	opts := metav1.ListOptions{Limit: pageSize}
	for {
		l, err := client.CoreV1().Namespaces().List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing namespaces: %w", err)
		}
		for i := range l.Items {
			o.add("cluster", "Namespace", "", l.Items[i].Name, &l.Items[i])
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	opts = metav1.ListOptions{Limit: pageSize}
	for {
		l, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing pods: %w", err)
		}
		for i := range l.Items {
			p := &l.Items[i]
			if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
				continue
			}
			o.add("cluster", "Pod", p.Namespace, p.Name, p)
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	opts = metav1.ListOptions{Limit: pageSize}
	for {
		l, err := client.NetworkingV1().NetworkPolicies(metav1.NamespaceAll).List(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("listing networkpolicies: %w", err)
		}
		for i := range l.Items {
			np := &l.Items[i]
			o.add("cluster", "NetworkPolicy", np.Namespace, np.Name, np)
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	return o.done(), nil
}
