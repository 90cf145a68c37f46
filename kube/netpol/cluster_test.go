package netpol

import (
	"context"
	"slices"
	"testing"

	"github.com/ambx/ambx/kube/kubeenv"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// TestPatchesOnAPIServer sends every suggested fix to a real API server as
// a server-side dry run with strict field validation: the JSON patch
// against the stored policy (where empty lists are omitted, which is what
// decides between "/spec/ingress" and "/spec/ingress/-") and the
// standalone manifest. The object the server returns must let the blocked
// connections through. It skips unless KUBEENV_BIN is set.
func TestPatchesOnAPIServer(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{NoIstioCRDs: true, NoGatewayAPICRDs: true})
	ctx := context.Background()
	dry := []string{metav1.DryRunAll}
	scenes := fixScenes(t, func(c *corev1.Container) { c.ReadinessProbe = probeOn(8080) })

	for name, s := range scenes {
		t.Run(name, func(t *testing.T) {
			for _, ns := range s.in.Namespaces {
				_, err := env.Client.CoreV1().Namespaces().Create(ctx, ns.DeepCopy(), metav1.CreateOptions{})
				if err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatal(err)
				}
			}
			// The policies as the server stores them, not as the test wrote them.
			var stored []*networkingv1.NetworkPolicy
			for _, np := range s.in.NetworkPolicies {
				got, err := env.Client.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np.DeepCopy(), metav1.CreateOptions{FieldValidation: "Strict"})
				if err != nil {
					t.Fatalf("create %s/%s: %v", np.Namespace, np.Name, err)
				}
				stored = append(stored, got)
				t.Cleanup(func() {
					_ = env.Client.NetworkingV1().NetworkPolicies(np.Namespace).Delete(ctx, np.Name, metav1.DeleteOptions{})
				})
			}
			problems := CheckHBONEProblems(withPolicies(s.in, stored))
			if len(problems) == 0 {
				t.Fatal("the stored policies show no problems")
			}
			for _, p := range problems {
				target := p.Patch.Target
				got, err := env.Client.NetworkingV1().NetworkPolicies(target.Namespace).Patch(ctx, target.Name, types.JSONPatchType,
					[]byte(p.Patch.JSONPatch), metav1.PatchOptions{DryRun: dry, FieldValidation: "Strict"})
				if err != nil {
					t.Errorf("%s: the server refuses %s: %v", p.Code, p.Patch.Command, err)
					continue
				}
				var alt networkingv1.NetworkPolicy
				if err := yaml.UnmarshalStrict([]byte(p.Patch.Manifest), &alt); err != nil {
					t.Fatal(err)
				}
				created, err := env.Client.NetworkingV1().NetworkPolicies(alt.Namespace).Create(ctx, &alt, metav1.CreateOptions{DryRun: dry, FieldValidation: "Strict"})
				if err != nil {
					t.Errorf("%s: the server refuses the manifest: %v\n%s", p.Code, err, p.Patch.Manifest)
					continue
				}
				patched := slices.Clone(stored)
				for i, np := range patched {
					if np.Namespace == target.Namespace && np.Name == target.Name {
						patched[i] = got
					}
				}
				for form, pols := range map[string][]*networkingv1.NetworkPolicy{"json patch": patched, "manifest": append(slices.Clone(stored), created)} {
					c, err := NewCluster(s.in.Namespaces, s.in.Pods, pols)
					if err != nil {
						t.Fatal(err)
					}
					for _, ex := range p.Examples {
						v, _ := c.Evaluate(ex.From, ex.To, ex.Port, ex.Protocol)
						if deniedBy(v, p.Object) {
							t.Errorf("%s %s from the server: %s still denied: %s", p.Code, form, ex, v.Reason)
						}
					}
				}
			}
		})
	}
}
