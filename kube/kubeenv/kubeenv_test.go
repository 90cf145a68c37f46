package kubeenv

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsclient "k8s.io/metrics/pkg/client/clientset/versioned"
)

// These tests need no binaries: they cover what the harness computes on
// its own, so plain go test checks it.

func TestFindBinaries(t *testing.T) {
	dir := t.TempDir()
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/true\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "kwok"), nil, 0o644); err != nil { // not executable
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, bin string
		want      string
	}{
		{"unset", "", "KUBEENV_BIN is not set"},
		{"partial", dir, "lacks kwok, metrics-server, kwok-config/stages"},
		{"absent dir", filepath.Join(dir, "nope"), "lacks etcd, kube-apiserver, kwok, metrics-server, kwok-config/stages"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvBin, tc.bin)
			_, err := findBinaries(Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("findBinaries() = %v, want an error saying %q", err, tc.want)
			}
		})
	}
	t.Run("complete", func(t *testing.T) {
		if err := os.Chmod(filepath.Join(dir, "kwok"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "metrics-server"), []byte("#!/bin/true\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "kwok-config", "stages"), 0o755); err != nil {
			t.Fatal(err)
		}
		t.Setenv(EnvBin, dir)
		if got, err := findBinaries(Options{}); err != nil || got != dir {
			t.Errorf("findBinaries() = %q, %v; want %q", got, err, dir)
		}
	})
	// istiod needs the controllers too, and the ConfigMaps build.sh
	// rendered; a plain env does not.
	t.Run("istiod", func(t *testing.T) {
		t.Setenv(EnvBin, dir)
		_, err := findBinaries(Options{Istiod: true})
		want := "lacks kube-controller-manager, kube-scheduler, pilot-discovery, istio/configmaps.yaml"
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("findBinaries(Istiod) = %v, want an error saying %q", err, want)
		}
		for _, b := range []string{"kube-controller-manager", "kube-scheduler", "pilot-discovery"} {
			if err := os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/true\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := findBinaries(Options{Istiod: true}); err == nil || !strings.Contains(err.Error(), "lacks istio/configmaps.yaml") {
			t.Errorf("findBinaries(Istiod) without the ConfigMaps = %v, want it to say they are missing", err)
		}
		if _, err := findBinaries(Options{Controllers: true}); err != nil {
			t.Errorf("findBinaries(Controllers) = %v, want nil", err)
		}
		if err := os.MkdirAll(filepath.Join(dir, "istio"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "istio", "configmaps.yaml"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := findBinaries(Options{Istiod: true}); err != nil {
			t.Errorf("findBinaries(Istiod) = %v, want nil", err)
		}
	})
}

func TestLaunchRefusesTwoMetricsAPIs(t *testing.T) {
	_, err := Launch(Options{FakeMetrics: true, MetricsServer: true})
	if err == nil || !strings.Contains(err.Error(), "choose one") {
		t.Errorf("Launch with both metrics options: %v, want a refusal", err)
	}
}

func TestDecodeManifests(t *testing.T) {
	objs, err := decodeManifests([]byte(`
---
apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: x}
---
# only a comment
---
{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "b"}}
`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName())
	}
	if strings.Join(got, " ") != "ConfigMap/x/a Namespace//b" {
		t.Errorf("decoded %v, want the ConfigMap then the Namespace", got)
	}
	if _, err := decodeManifests([]byte("metadata: {name: c}\n")); err == nil || !strings.Contains(err.Error(), `"c" has no kind`) {
		t.Errorf("object without kind: err = %v, want it named", err)
	}
	if _, err := decodeManifests([]byte("kind: [\n")); err == nil {
		t.Error("broken YAML decoded without error")
	}
}

func TestReadAudit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.log")
	lines := []string{
		`{"stage":"ResponseStarted","verb":"watch","requestURI":"/api/v1/pods?watch=true","user":{"username":"u"}}`,
		`{"stage":"ResponseComplete","verb":"create","requestURI":"/api/v1/namespaces/a/configmaps","user":{"username":"u","groups":["g"]},"userAgent":"ambx","objectRef":{"resource":"configmaps","namespace":"a","name":"c"},"responseStatus":{"code":201}}`,
		`{"stage":"ResponseComplete","verb":"patch","requestURI":"/api/v1/namespaces/a","user":{"username":"other"},"responseStatus":{"code":403}}`,
		`{"stage":"ResponseComplete","verb":"list","requestURI":"/api/v1/pods","user":{"username":"u"}}`,
		`{"stage":"ResponseComplete","verb":"delete","requestURI":"/api/v1/namespa`, // being written
	}
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	evs, err := readAudit(path)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ev := range evs {
		got = append(got, ev.String())
	}
	want := []string{
		"create /api/v1/namespaces/a/configmaps by u (ambx) → 201",
		"patch /api/v1/namespaces/a by other () → 403",
		"list /api/v1/pods by u () → 0",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if evs[0].ObjectRef == nil || evs[0].ObjectRef.Name != "c" || evs[0].User.Groups[0] != "g" {
		t.Errorf("first event %+v lost its object or groups", evs[0])
	}

	if err := os.WriteFile(path, []byte("not json\n"+lines[1]+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readAudit(path); err == nil || !strings.Contains(err.Error(), "audit.log:1") {
		t.Errorf("corrupt line: err = %v, want its line number", err)
	}
	if evs, err := readAudit(filepath.Join(t.TempDir(), "absent")); err != nil || len(evs) != 0 {
		t.Errorf("no log yet: %v, %v; want no events and no error", evs, err)
	}
}

// The fake metrics API is read through the real metrics clientset, which
// is what the aggregator passes its answers to.
func TestFakeMetricsAPI(t *testing.T) {
	f := &FakeMetrics{pods: map[string]metricsv1beta1.PodMetrics{}, nodes: map[string]metricsv1beta1.NodeMetrics{}}
	srv := httptest.NewServer(f.handler())
	defer srv.Close()
	mc := metricsclient.NewForConfigOrDie(&rest.Config{Host: srv.URL})
	ctx := context.Background()

	usage := corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("120m")}
	f.SetPod(metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web-2", Labels: map[string]string{"app": "web"}},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: usage}}})
	f.SetPod(metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "web-1", Labels: map[string]string{"app": "web"}}})
	f.SetPod(metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "b", Name: "web-3", Labels: map[string]string{"app": "web"}}})
	f.SetPod(metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "a", Name: "db", Labels: map[string]string{"app": "db"}}})
	f.SetNode(metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Usage: usage})

	names := func(l *metricsv1beta1.PodMetricsList) string {
		var s []string
		for _, p := range l.Items {
			s = append(s, p.Namespace+"/"+p.Name)
		}
		return strings.Join(s, " ")
	}
	inA, err := mc.MetricsV1beta1().PodMetricses("a").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(inA); got != "a/web-1 a/web-2" {
		t.Errorf("app=web in a: %s, want a/web-1 a/web-2", got)
	}
	all, err := mc.MetricsV1beta1().PodMetricses("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(all); got != "a/db a/web-1 a/web-2 b/web-3" {
		t.Errorf("all pods: %s", got)
	}
	p, err := mc.MetricsV1beta1().PodMetricses("a").Get(ctx, "web-2", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cpu := p.Containers[0].Usage[corev1.ResourceCPU]; cpu.MilliValue() != 120 || p.Window.Duration == 0 || p.Timestamp.IsZero() {
		t.Errorf("web-2: cpu %s window %s at %s; want 120m with a window and a time", cpu.String(), p.Window.Duration, p.Timestamp)
	}
	f.DeletePod("a", "web-2")
	if _, err := mc.MetricsV1beta1().PodMetricses("a").Get(ctx, "web-2", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("deleted pod: err = %v, want NotFound", err)
	}
	n, err := mc.MetricsV1beta1().NodeMetricses().Get(ctx, "n1", metav1.GetOptions{})
	if err != nil || n.Usage.Cpu().MilliValue() != 120 {
		t.Errorf("node n1: %v, %v; want 120m", n, err)
	}
	if _, err := mc.MetricsV1beta1().PodMetricses("a").List(ctx, metav1.ListOptions{LabelSelector: "app in (("}); !apierrors.IsBadRequest(err) {
		t.Errorf("bad selector: err = %v, want BadRequest", err)
	}
	resp, err := http.Get(srv.URL + "/apis/metrics.k8s.io/v1beta1")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("discovery: %s %s, want 200 JSON", resp.Status, resp.Header.Get("Content-Type"))
	}
}
