package metrics

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	"k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

// NewFake returns a fake metrics clientset serving the given *PodMetrics and
// *NodeMetrics. fake.NewSimpleClientset cannot be seeded with them: its
// tracker files objects under the resource guessed from the kind
// ("podmetricses"), while the typed client lists "pods" and "nodes", so
// seeded objects are never listed. This stores them where List looks.
func NewFake(objects ...runtime.Object) (*fake.Clientset, error) {
	cs := fake.NewSimpleClientset()
	pods := metricsv1beta1.SchemeGroupVersion.WithResource("pods")
	nodes := metricsv1beta1.SchemeGroupVersion.WithResource("nodes")
	for _, o := range objects {
		var err error
		switch m := o.(type) {
		case *metricsv1beta1.PodMetrics:
			err = cs.Tracker().Create(pods, m, m.Namespace)
		case *metricsv1beta1.NodeMetrics:
			err = cs.Tracker().Create(nodes, m, "")
		default:
			err = fmt.Errorf("metrics fake: %T is neither PodMetrics nor NodeMetrics", o)
		}
		if err != nil {
			return nil, err
		}
	}
	return cs, nil
}
