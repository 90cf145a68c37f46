package metrics

import (
	"bytes"
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/usage"
)

// TestPollOfTheRealMetricsServer reads what metrics-server itself encodes,
// through the aggregator, as ambx asks for it (protobuf first): the poll
// takes the one-item-at-a-time path and reads what the typed List reads.
func TestPollOfTheRealMetricsServer(t *testing.T) {
	if testing.Short() {
		t.Skip("metrics-server needs about 30 s to report")
	}
	env := kubeenv.Start(t, kubeenv.Options{MetricsServer: true, NoIstioCRDs: true, NoGatewayAPICRDs: true})
	node := env.CreateNode(t, "kwok-node-p", nil)
	for name, cpu := range map[string]string{"busy": "250m", "idle": "3m"} {
		env.CreatePod(t, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"app": name},
				Annotations: map[string]string{kubeenv.UsageCPUAnnotation: cpu, kubeenv.UsageMemoryAnnotation: "64Mi"}},
			Spec: corev1.PodSpec{NodeName: node.Name, Containers: []corev1.Container{{Name: "app", Image: "app"}}},
		})
	}
	cfg := rest.CopyConfig(env.Config)
	cfg.AcceptContentTypes = kruntime.ContentTypeProtobuf + "," + kruntime.ContentTypeJSON
	mc := metricsclient.NewForConfigOrDie(cfg)
	err := wait.PollUntilContextTimeout(context.Background(), time.Second, 90*time.Second, true, func(ctx context.Context) (bool, error) {
		l, err := mc.MetricsV1beta1().PodMetricses("default").List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 2, nil
	})
	if err != nil {
		t.Fatalf("no PodMetrics for both pods from metrics-server: %v", err)
	}
	raw, list, err := getPodList(context.Background(), mc.MetricsV1beta1().RESTClient().(*rest.RESTClient), "", new(bytes.Buffer))
	if err != nil || list != nil || len(raw) == 0 {
		t.Fatalf("metrics-server's answer: %d bytes of protobuf, list %v, error %v; want the protobuf path", len(raw), list != nil, err)
	}
	// metrics-server may scrape between two requests; compare polls until
	// two agree with the typed List, as they must between scrapes.
	now := time.Now()
	var got, want *usage.Usage
	for range 5 {
		got, err = Poller{Client: mc}.poll(context.Background(), now, time.Minute, usage.Need{Pods: true})
		if err != nil {
			t.Fatal(err)
		}
		want = typed(t, mc, "", now)
		if sameUsage(got, want) {
			break
		}
	}
	if !sameUsage(got, want) {
		t.Fatalf("poll %+v, typed List %+v", got, want)
	}
	if r := got.Pods[usage.Key{Namespace: "default", Name: "busy"}]; r.CPUMilli < 240 || r.CPUMilli > 260 || r.MemBytes != 64<<20 {
		t.Errorf("busy = %+v, want about 250m and 64Mi as annotated", r)
	}
	if got.Window <= 0 || got.Sampled.IsZero() {
		t.Errorf("window %v sampled %v: metrics-server's resolution not read", got.Window, got.Sampled)
	}
}
