package writer

import (
	"context"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RolloutWhy reads why a restarted workload's rollout is not moving, as
// its controller says it in the Deployment's conditions: the progress
// deadline passed (Progressing=False, ProgressDeadlineExceeded) or a
// ReplicaSet could not create pods (ReplicaFailure=True). owner is
// "deployment/NAME" (as ambient.PodInfo.Owner); StatefulSets and DaemonSets
// carry no such conditions, so they give nothing. A read, never a write.
func (w *Writer) RolloutWhy(ctx context.Context, namespace, owner string) ([]string, error) {
	if w.kube == nil {
		return nil, &Error{Kind: KindOther, Line: "not connected to a cluster"}
	}
	kind, name, _ := strings.Cut(owner, "/")
	if kind != "deployment" || name == "" {
		return nil, nil
	}
	d, err := w.kube.AppsV1().Deployments(namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	return deploymentWhy(d), nil
}

// deploymentWhy words the conditions that stop a rollout.
func deploymentWhy(d *appsv1.Deployment) []string {
	var out []string
	for _, c := range d.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded":
			out = append(out, "Progressing=False ProgressDeadlineExceeded: "+c.Message)
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			out = append(out, "ReplicaFailure "+c.Reason+": "+c.Message)
		}
	}
	if d.Spec.Paused {
		out = append(out, "the Deployment is paused: nothing rolls out until it is resumed")
	}
	return out
}
