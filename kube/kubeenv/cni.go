package kubeenv

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

// Labels and annotations the istio-cni stand-in reads and writes, as
// istio-cni does (cni/pkg/util/enablement_selector.go and the node agent's
// pod annotation).
const (
	labelDataplaneMode    = "istio.io/dataplane-mode"
	annotationRedirection = "ambient.istio.io/redirection"
	annotationSidecar     = "sidecar.istio.io/status"
	// DataplaneVersion is the image tag of the ztunnel and istio-cni
	// DaemonSets PlayIstioCNI creates.
	DataplaneVersion = "1.31.1"
)

// PlayIstioCNI stands in for the ambient data plane on an env with the
// controllers (starting them when they are not running): it creates the
// ztunnel and istio-cni-node DaemonSets and istio-cni's ConfigMap in
// istio-system as the charts do, so the DaemonSet controller runs one of
// each on every kwok node, and it plays the one thing istio-cni's node
// agent does that the API server sees. istio-cni itself cannot run here:
// it works in the network namespaces of real pods on a real node.
//
// Every 250 ms, a Running pod with an IP on a node whose istio-cni pod
// runs, with no sidecar, not opted out (istio.io/dataplane-mode=none), and
// labelled for ambient itself or through its namespace, gets the
// annotation ambient.istio.io/redirection=enabled; a pod that has it and no
// longer qualifies loses it, as when istio-cni removes a pod from the mesh
// after its namespace label goes. kube-system and istio-system are
// excluded, as the chart's EXCLUDE_NAMESPACES has them. It stops when t
// ends.
func (e *Env) PlayIstioCNI(t testing.TB) {
	t.Helper()
	if e.controllerManager == nil || !e.controllerManager.running() {
		e.StartControllers(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.installDataplane(ctx); err != nil {
		t.Fatalf("kubeenv: PlayIstioCNI: %v", err)
	}
	run, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for {
			e.redirectPods(run)
			select {
			case <-run.Done():
				return
			case <-tick.C:
			}
		}
	}()
	t.Cleanup(func() { stop(); <-done })
}

// dataplaneDaemonSets are ztunnel and istio-cni-node with the labels the
// charts give them and ambx finds them by.
var dataplaneDaemonSets = []struct {
	name, image, container string
	labels, podLabels      map[string]string
}{
	{"ztunnel", "ztunnel", "istio-proxy", map[string]string{"app.kubernetes.io/name": "ztunnel"}, map[string]string{"app": "ztunnel"}},
	{"istio-cni-node", "install-cni", "install-cni", map[string]string{"app.kubernetes.io/name": "istio-cni", "k8s-app": "istio-cni-node"}, map[string]string{"k8s-app": "istio-cni-node"}},
}

func (e *Env) installDataplane(ctx context.Context) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: IstioNamespace}}
	if _, err := e.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", IstioNamespace, err)
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: IstioNamespace, Name: "istio-cni-config", Labels: map[string]string{"istio.io/rev": "default"}},
		Data:       map[string]string{"AMBIENT_ENABLED": "true", "EXCLUDE_NAMESPACES": "kube-system"},
	}
	if _, err := e.Client.CoreV1().ConfigMaps(IstioNamespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create ConfigMap %s: %w", cm.Name, err)
	}
	for _, d := range dataplaneDaemonSets {
		ds := &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: IstioNamespace, Name: d.name, Labels: d.labels},
			Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: d.podLabels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: d.podLabels},
					Spec: corev1.PodSpec{ServiceAccountName: "default", TerminationGracePeriodSeconds: ptr.To[int64](0),
						Containers: []corev1.Container{{Name: d.container, Image: "docker.io/istio/" + d.image + ":" + DataplaneVersion}}}},
			},
		}
		if _, err := e.Client.AppsV1().DaemonSets(IstioNamespace).Create(ctx, ds, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("create DaemonSet %s: %w", d.name, err)
		}
	}
	return nil
}

// redirectPods makes one pass of the istio-cni stand-in. Errors are left
// for the next pass: the API server may be restarting under a test.
func (e *Env) redirectPods(ctx context.Context) {
	nsl, err := e.Client.CoreV1().Namespaces().List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	nsAmbient := map[string]bool{}
	for _, n := range nsl.Items {
		nsAmbient[n.Name] = n.Labels[labelDataplaneMode] == "ambient"
	}
	pl, err := e.Client.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	agents := map[string]bool{} // nodes whose istio-cni pod runs
	for _, p := range pl.Items {
		if p.Namespace == IstioNamespace && p.Labels["k8s-app"] == "istio-cni-node" && p.Status.Phase == corev1.PodRunning {
			agents[p.Spec.NodeName] = true
		}
	}
	for _, p := range pl.Items {
		if p.DeletionTimestamp != nil {
			continue
		}
		want := redirected(&p, nsAmbient[p.Namespace], agents[p.Spec.NodeName])
		_, has := p.Annotations[annotationRedirection]
		if want == has {
			continue
		}
		var value any // a JSON merge patch's null removes the key
		if want {
			value = "enabled"
		}
		body, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{annotationRedirection: value}}})
		_, _ = e.Client.CoreV1().Pods(p.Namespace).Patch(ctx, p.Name, types.MergePatchType, body, metav1.PatchOptions{})
	}
}

// redirected reports whether istio-cni would have p redirected to ztunnel.
func redirected(p *corev1.Pod, nsAmbient, agent bool) bool {
	switch {
	case p.Namespace == "kube-system" || p.Namespace == IstioNamespace:
		return false
	case p.Spec.HostNetwork || !agent:
		return false
	case p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "":
		return false
	case hasSidecar(p):
		return false
	}
	mode := p.Labels[labelDataplaneMode]
	return mode != "none" && (mode == "ambient" || nsAmbient)
}

// hasSidecar reports whether p carries istiod's sidecar, which istio-cni
// leaves alone.
func hasSidecar(p *corev1.Pod) bool {
	if _, ok := p.Annotations[annotationSidecar]; ok {
		return true
	}
	return injected(p)
}
