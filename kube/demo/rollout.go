package demo

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/ambx/ambx/kube/ambient"
)

// RolloutStep is how long the demo's controllers take per replaced pod: a
// restart shows on screen as pods coming and going, not as one jump.
var RolloutStep = 1500 * time.Millisecond

// annotationRestartedAt is the pod-template annotation of kubectl rollout
// restart (kube/writer sets it the same way).
const annotationRestartedAt = "kubectl.kubernetes.io/restartedAt"

// rollouts makes the fake clientset's Deployments, StatefulSets and
// DaemonSets replace their pods when their template is restarted, the way
// their controllers and the webhook and istio-cni would: a replacement is
// injected only if its namespace still asks for sidecars, and captured if
// ambient takes it. Nothing else changes, so the demo's planted mistakes
// stay as they are until the user acts on them.
func rollouts(kc *kubefake.Clientset) {
	// Read once per cluster: a test that shortens the step for its own
	// cluster must not race with the rollouts of an earlier one.
	step := RolloutStep
	for _, res := range []string{"deployments", "statefulsets", "daemonsets"} {
		kind := strings.TrimSuffix(res, "s")
		kc.PrependReactor("patch", res, func(a k8stesting.Action) (bool, runtime.Object, error) {
			pa, ok := a.(k8stesting.PatchAction)
			if !ok || !restarts(pa.GetPatch()) {
				return false, nil, nil
			}
			// The reactor runs under the fake's lock: roll out after it.
			go roll(kc, kind, pa.GetNamespace(), pa.GetName(), time.Now(), step)
			return false, nil, nil
		})
	}
}

// restarts reports whether a patch sets the restart annotation.
func restarts(body []byte) bool {
	var p struct {
		Spec struct {
			Template struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			} `json:"template"`
		} `json:"spec"`
	}
	return json.Unmarshal(body, &p) == nil && p.Spec.Template.Metadata.Annotations[annotationRestartedAt] != ""
}

// roll replaces the workload's pods one at a time.
func roll(kc *kubefake.Clientset, kind, ns, name string, at time.Time, step time.Duration) {
	ctx := context.Background()
	list, err := kc.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return
	}
	hash := templateHash(ns + "/" + name + "/" + at.Format(time.RFC3339Nano))
	for _, p := range list.Items {
		if !ownedBy(&p, kind, name) {
			continue
		}
		time.Sleep(step)
		nsObj, err := kc.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		if err != nil {
			return
		}
		np := replacement(&p, nsObj, kind, name, hash, time.Now())
		if kind != "statefulset" {
			if _, err := kc.CoreV1().Pods(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
				return
			}
			recordStart(kc, np, time.Now())
			time.Sleep(step / 2)
		}
		if err := kc.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
			return
		}
		recordStop(kc, &p, time.Now())
		if kind == "statefulset" {
			// A StatefulSet makes the replacement after the old pod is gone.
			if _, err := kc.CoreV1().Pods(ns).Create(ctx, np, metav1.CreateOptions{}); err != nil {
				return
			}
			recordStart(kc, np, time.Now())
		}
	}
}

// ownedBy reports whether the workload kind/name controls the pod.
func ownedBy(p *corev1.Pod, kind, name string) bool {
	for _, ref := range p.OwnerReferences {
		if ref.Controller == nil || !*ref.Controller {
			continue
		}
		switch {
		case kind == "deployment" && ref.Kind == "ReplicaSet":
			h := p.Labels["pod-template-hash"]
			return h != "" && ref.Name == name+"-"+h
		case strings.EqualFold(ref.Kind, kind):
			return ref.Name == name
		}
	}
	return false
}

// replacement is the pod the controller creates in place of old.
func replacement(old *corev1.Pod, ns *corev1.Namespace, kind, name, hash string, now time.Time) *corev1.Pod {
	p := old.DeepCopy()
	p.ResourceVersion, p.UID = "", ""
	p.CreationTimestamp = metav1.NewTime(now)
	p.DeletionTimestamp = nil
	start := metav1.NewTime(now)
	p.Status.StartTime = &start
	for j := range p.Status.ContainerStatuses {
		p.Status.ContainerStatuses[j].RestartCount = 0
	}
	switch kind {
	case "deployment":
		rs := name + "-" + hash
		p.Name = rs + "-" + podSuffix(rs+"/"+old.Name)
		p.GenerateName = rs + "-"
		p.Labels["pod-template-hash"] = hash
		p.OwnerReferences = []metav1.OwnerReference{ownerRef("apps/v1", "ReplicaSet", p.Namespace, rs)}
	case "daemonset":
		p.Name = name + "-" + podSuffix(hash+"/"+old.Name)
		p.GenerateName = name + "-"
	}
	if !injects(ns, p) {
		p.Spec.Containers = without(p.Spec.Containers, "istio-proxy")
		p.Spec.InitContainers = without(p.Spec.InitContainers, "istio-validation", "istio-init", "istio-proxy")
		var statuses []corev1.ContainerStatus
		for _, s := range p.Status.ContainerStatuses {
			if s.Name != "istio-proxy" {
				statuses = append(statuses, s)
			}
		}
		p.Status.ContainerStatuses = statuses
		p.Status.InitContainerStatuses = nil
		for k := range p.Annotations {
			if strings.HasPrefix(k, "sidecar.istio.io/") || strings.HasPrefix(k, "prometheus.io/") || k == "istio.io/rev" {
				delete(p.Annotations, k)
			}
		}
		for _, k := range []string{"security.istio.io/tlsMode", "networking.istio.io/tunnel", "service.istio.io/canonical-name", "service.istio.io/canonical-revision"} {
			delete(p.Labels, k)
		}
	}
	delete(p.Annotations, ambient.AnnotationRedirection)
	mode := p.Labels[ambient.LabelDataplaneMode]
	if _, sidecar := p.Annotations[ambient.AnnotationSidecarState]; !sidecar && mode != "none" &&
		(mode == "ambient" || ns.Labels[ambient.LabelDataplaneMode] == "ambient") {
		// The demo's istio-cni agents are ready on every node: the new pod
		// starts captured, as ambient pods do.
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[ambient.AnnotationRedirection] = "enabled"
	}
	return p
}

// injects reports whether the demo's injector (Istio's default webhooks)
// gives the new pod a sidecar.
func injects(ns *corev1.Namespace, p *corev1.Pod) bool {
	if p.Labels["sidecar.istio.io/inject"] == "false" {
		return false
	}
	inj, hasInj := ns.Labels[ambient.LabelInjection]
	_, hasRev := ns.Labels[ambient.LabelRev]
	switch {
	case inj == "enabled":
		return true
	case hasInj:
		return false
	case hasRev:
		return true
	}
	return p.Labels["sidecar.istio.io/inject"] == "true"
}

func without(cs []corev1.Container, names ...string) []corev1.Container {
	var out []corev1.Container
	for _, c := range cs {
		drop := false
		for _, n := range names {
			drop = drop || c.Name == n
		}
		if !drop {
			out = append(out, c)
		}
	}
	return out
}
