package kubeenv

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/wait"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// FakeMetrics serves metrics.k8s.io/v1beta1 behind the API server's
// aggregation layer with values the test sets, so metrics code is tested
// through the real discovery, RBAC and proxy path without waiting for
// metrics-server's scrape interval.
type FakeMetrics struct {
	srv *httptest.Server

	mu    sync.Mutex
	pods  map[string]metricsv1beta1.PodMetrics // namespace/name
	nodes map[string]metricsv1beta1.NodeMetrics
}

// SetPod sets (or replaces) the metrics of one pod. Zero Timestamp and
// Window become now and 10 s. Labels on m are matched by label selectors,
// as metrics-server copies the pod's labels.
func (f *FakeMetrics) SetPod(m metricsv1beta1.PodMetrics) {
	if m.Timestamp.IsZero() {
		m.Timestamp = metav1.Now()
	}
	if m.Window.Duration == 0 {
		m.Window = metav1.Duration{Duration: 10 * time.Second}
	}
	m.TypeMeta = metav1.TypeMeta{APIVersion: metricsv1beta1.SchemeGroupVersion.String(), Kind: "PodMetrics"}
	f.mu.Lock()
	f.pods[m.Namespace+"/"+m.Name] = m
	f.mu.Unlock()
}

// SetNode sets (or replaces) the metrics of one node, with the same
// defaults as SetPod.
func (f *FakeMetrics) SetNode(m metricsv1beta1.NodeMetrics) {
	if m.Timestamp.IsZero() {
		m.Timestamp = metav1.Now()
	}
	if m.Window.Duration == 0 {
		m.Window = metav1.Duration{Duration: 10 * time.Second}
	}
	m.TypeMeta = metav1.TypeMeta{APIVersion: metricsv1beta1.SchemeGroupVersion.String(), Kind: "NodeMetrics"}
	f.mu.Lock()
	f.nodes[m.Name] = m
	f.mu.Unlock()
}

// DeletePod removes a pod's metrics, as when metrics-server has not
// scraped it yet.
func (f *FakeMetrics) DeletePod(namespace, name string) {
	f.mu.Lock()
	delete(f.pods, namespace+"/"+name)
	f.mu.Unlock()
}

func (f *FakeMetrics) close() { f.srv.Close() }

func startFakeMetrics(ctx context.Context, e *Env) (*FakeMetrics, error) {
	f := &FakeMetrics{pods: map[string]metricsv1beta1.PodMetrics{}, nodes: map[string]metricsv1beta1.NodeMetrics{}}
	f.srv = httptest.NewUnstartedServer(f.handler())
	f.srv.StartTLS() // listens on 127.0.0.1; the aggregator skips verification
	if err := e.registerMetricsAPI(ctx, f.srv.Listener.Addr().(*net.TCPAddr).Port); err != nil {
		f.close()
		return nil, err
	}
	return f, nil
}

func (f *FakeMetrics) handler() http.Handler {
	gv := metricsv1beta1.SchemeGroupVersion
	base := "/apis/" + gv.String()
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+base, func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, &metav1.APIResourceList{
			TypeMeta:     metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: gv.String(),
			APIResources: []metav1.APIResource{
				{Name: "nodes", Kind: "NodeMetrics", Verbs: metav1.Verbs{"get", "list"}},
				{Name: "pods", Kind: "PodMetrics", Namespaced: true, Verbs: metav1.Verbs{"get", "list"}},
			},
		})
	})
	mux.HandleFunc("GET "+base+"/nodes", func(w http.ResponseWriter, r *http.Request) {
		sel, ok := selector(w, r)
		if !ok {
			return
		}
		list := &metricsv1beta1.NodeMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: "NodeMetricsList"}}
		f.mu.Lock()
		for _, m := range f.nodes {
			if sel.Matches(labels.Set(m.Labels)) {
				list.Items = append(list.Items, m)
			}
		}
		f.mu.Unlock()
		sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
		writeObject(w, r, list)
	})
	mux.HandleFunc("GET "+base+"/nodes/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		m, ok := f.nodes[r.PathValue("name")]
		f.mu.Unlock()
		if !ok {
			notFound(w, "nodes", r.PathValue("name"))
			return
		}
		writeObject(w, r, &m)
	})
	pods := func(w http.ResponseWriter, r *http.Request) {
		sel, ok := selector(w, r)
		if !ok {
			return
		}
		ns := r.PathValue("ns") // empty: all namespaces
		list := &metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{APIVersion: gv.String(), Kind: "PodMetricsList"}}
		f.mu.Lock()
		for _, m := range f.pods {
			if (ns == "" || m.Namespace == ns) && sel.Matches(labels.Set(m.Labels)) {
				list.Items = append(list.Items, m)
			}
		}
		f.mu.Unlock()
		sort.Slice(list.Items, func(i, j int) bool {
			a, b := list.Items[i], list.Items[j]
			if a.Namespace != b.Namespace {
				return a.Namespace < b.Namespace
			}
			return a.Name < b.Name
		})
		writeObject(w, r, list)
	}
	mux.HandleFunc("GET "+base+"/pods", pods)
	mux.HandleFunc("GET "+base+"/namespaces/{ns}/pods", pods)
	mux.HandleFunc("GET "+base+"/namespaces/{ns}/pods/{name}", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		m, ok := f.pods[r.PathValue("ns")+"/"+r.PathValue("name")]
		f.mu.Unlock()
		if !ok {
			notFound(w, "pods", r.PathValue("name"))
			return
		}
		writeObject(w, r, &m)
	})
	return mux
}

func selector(w http.ResponseWriter, r *http.Request) (labels.Selector, bool) {
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		st := apierrors.NewBadRequest(err.Error()).ErrStatus
		writeJSON(w, http.StatusBadRequest, &st)
		return nil, false
	}
	return sel, true
}

func notFound(w http.ResponseWriter, resource, name string) {
	st := apierrors.NewNotFound(schema.GroupResource{Group: metricsv1beta1.GroupName, Resource: resource}, name).ErrStatus
	st.TypeMeta = metav1.TypeMeta{Kind: "Status", APIVersion: "v1"}
	writeJSON(w, http.StatusNotFound, &st)
}

// metricsCodecs encode the metrics kinds as metrics-server does: its API
// server negotiates JSON or protobuf (the types have generated protobuf
// marshallers), so a client asking for protobuf pays a real cluster's cost.
var metricsCodecs = func() serializer.CodecFactory {
	s := runtime.NewScheme()
	if err := metricsv1beta1.AddToScheme(s); err != nil {
		panic(err)
	}
	return serializer.NewCodecFactory(s)
}()

// writeObject answers 200 with obj in the first of the request's Accept
// media types that metrics-server serves (protobuf or JSON), JSON when
// none is named.
func writeObject(w http.ResponseWriter, r *http.Request, obj runtime.Object) {
	info, _ := runtime.SerializerInfoForMediaType(metricsCodecs.SupportedMediaTypes(), runtime.ContentTypeJSON)
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if i, ok := runtime.SerializerInfoForMediaType(metricsCodecs.SupportedMediaTypes(), mt); ok && mt != "" {
			info = i
			break
		}
	}
	var buf bytes.Buffer
	if err := metricsCodecs.EncoderForVersion(info.Serializer, metricsv1beta1.SchemeGroupVersion).Encode(obj, &buf); err != nil {
		st := apierrors.NewInternalError(err).ErrStatus
		writeJSON(w, http.StatusInternalServerError, &st)
		return
	}
	w.Header().Set("Content-Type", info.MediaType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// registerMetricsAPI points metrics.k8s.io at a server on 127.0.0.1:port
// and waits until the API server serves its discovery. The Service is an
// ExternalName for localhost: the aggregator resolves it to host:port
// itself, so no kube-proxy or Endpoints are needed.
func (e *Env) registerMetricsAPI(ctx context.Context, port int) error {
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "metrics-server", Namespace: metav1.NamespaceSystem},
		Spec: corev1.ServiceSpec{
			Type:         corev1.ServiceTypeExternalName,
			ExternalName: "localhost",
			Ports:        []corev1.ServicePort{{Name: "https", Port: int32(port), Protocol: corev1.ProtocolTCP}},
		},
	}
	if _, err := e.Client.CoreV1().Services(svc.Namespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("metrics Service: %w", err)
	}
	objs, err := decodeManifests(fmt.Appendf(nil, `
apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata:
  name: v1beta1.metrics.k8s.io
spec:
  group: metrics.k8s.io
  version: v1beta1
  groupPriorityMinimum: 100
  versionPriority: 100
  insecureSkipTLSVerify: true
  service:
    name: metrics-server
    namespace: kube-system
    port: %d
`, port))
	if err != nil {
		return err
	}
	if err := e.apply(ctx, objs); err != nil {
		return fmt.Errorf("metrics APIService: %w", err)
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(context.Context) (bool, error) {
		_, last = e.Client.Discovery().ServerResourcesForGroupVersion(metricsv1beta1.SchemeGroupVersion.String())
		return last == nil, nil
	})
	if err != nil {
		return fmt.Errorf("metrics.k8s.io not served: %w (last: %v)", err, last)
	}
	return nil
}

func (e *Env) startMetricsServer(ctx context.Context, port int) error {
	kubeconfig, err := e.KubeconfigFor(metricsUser)
	if err != nil {
		return err
	}
	e.metricsServer = newProcess(e.Dir, e.bin, "metrics-server",
		"--kubeconfig="+kubeconfig,
		"--authentication-kubeconfig="+kubeconfig,
		"--authorization-kubeconfig="+kubeconfig,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--cert-dir="+filepath.Join(e.Dir, "metrics-server"),
		// kwok serves the kubelet API with a throwaway certificate.
		"--kubelet-insecure-tls",
		"--kubelet-preferred-address-types=InternalIP",
		"--kubelet-use-node-status-port",
		"--metric-resolution=10s",
		// metrics-server refuses to start unless 0.9 × resolution exceeds
		// this timeout, whose default is 10 s.
		"--kubelet-request-timeout=5s",
	)
	if err := e.metricsServer.start(); err != nil {
		return err
	}
	return e.registerMetricsAPI(ctx, port)
}
