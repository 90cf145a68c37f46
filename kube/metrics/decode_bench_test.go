package metrics

import (
	"fmt"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/ambx/ambx/kube/usage"
)

// BenchmarkDecodePodMetrics is the CPU side of one idle poll at issue 21's
// size: 10,600 PodMetrics (two containers, a pod's labels, as
// metrics-server copies them) decoded from protobuf and summed into a
// Usage. The HTTP read and the GC it provokes are not counted.
func BenchmarkDecodePodMetrics(b *testing.B) {
	var l metricsv1beta1.PodMetricsList
	now := metav1.NewTime(time.Now())
	for i := range 10600 {
		l.Items = append(l.Items, metricsv1beta1.PodMetrics{
			ObjectMeta: metav1.ObjectMeta{Namespace: fmt.Sprintf("ns-%d", i/10), Name: fmt.Sprintf("app-%d-7d9f8c6b5-x%d", i/10, i), Labels: map[string]string{"app": fmt.Sprint("app-", i/10), "pod-template-hash": "7d9f8c6b5", "version": "v1"}, CreationTimestamp: now},
			Timestamp:  now, Window: metav1.Duration{Duration: 10 * time.Second},
			Containers: []metricsv1beta1.ContainerMetrics{
				{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("12345n"), corev1.ResourceMemory: resource.MustParse("23456Ki")}},
				{Name: "istio-proxy", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2345n"), corev1.ResourceMemory: resource.MustParse("34567Ki")}},
			},
		})
	}
	raw, err := l.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%d bytes", len(raw))
	b.Run("whole-list", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var out metricsv1beta1.PodMetricsList
			if err := out.Unmarshal(raw); err != nil {
				b.Fatal(err)
			}
			_ = usage.FromMetrics(now.Time, out.Items, nil)
		}
	})
	// As the poller decodes a protobuf answer now (listPods).
	b.Run("item-at-a-time", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodePodItems(raw, now.Time); err != nil {
				b.Fatal(err)
			}
		}
	})
}
