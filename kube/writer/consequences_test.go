package writer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/ambient"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestNamespaceToggleConsequences(t *testing.T) {
	amb := map[string]string{ambient.LabelDataplaneMode: "ambient"}
	for _, tc := range []struct {
		name      string
		ns        *corev1.Namespace
		objs      []runtime.Object
		netpols   int
		wantTitle string
		want      []string
	}{
		{
			name: "enrolling captures running pods without a restart",
			ns:   namespace("shop", "3", nil),
			objs: []runtime.Object{
				pod("shop", "cart-1"), pod("shop", "cart-2"),
				pod("shop", "done", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
				pod("other", "x"),
			},
			wantTitle: "Enroll namespace shop in ambient",
			want: []string{
				"2 running pods are captured by istio-cni now, without a restart: ztunnel carries their traffic with mTLS and enforces L4 policy; new pods start in ambient.",
			},
		},
		{
			name: "enrolling a sidecar namespace keeps sidecars",
			ns:   namespace("legacy", "3", map[string]string{ambient.LabelInjection: "enabled"}),
			objs: []runtime.Object{
				pod("legacy", "api-1", withSidecar), pod("legacy", "api-2", withSidecar),
				pod("legacy", "batch", withLabel(ambient.LabelDataplaneMode, "none")),
				pod("legacy", "agent", hostNetwork),
			},
			netpols:   2,
			wantTitle: "Enroll namespace legacy in ambient",
			want: []string{
				"No running pod here is waiting to be captured; new pods start in ambient.",
				"Namespace also has istio-injection=enabled: sidecar pods stay on sidecars and new pods still get sidecars (the sidecar wins).",
				"2 pods with sidecars stay on their sidecars; press M to migrate them: it drops the injection label and restarts their workloads.",
				"1 pod is labelled istio.io/dataplane-mode=none and stays out.",
				"1 pod uses the host network and can never be captured.",
				"2 NetworkPolicies restrict ingress here: each must admit TCP 15008 (HBONE) and 169.254.7.127 (kubelet probes), or captured pods lose traffic.",
			},
		},
		{
			name:      "kube-system is excluded by istio-cni",
			ns:        namespace("kube-system", "3", nil),
			objs:      []runtime.Object{pod("kube-system", "coredns")},
			wantTitle: "Enroll namespace kube-system in ambient",
			want:      []string{"istio-cni excludes kube-system: the label has no effect, no pod here is ever captured."},
		},
		{
			name: "removing takes captured pods out at once",
			ns:   namespace("shop", "3", amb),
			objs: []runtime.Object{
				pod("shop", "cart-1", captured), pod("shop", "cart-2", captured),
				pod("shop", "pinned", captured, withLabel(ambient.LabelDataplaneMode, "ambient")),
				pod("shop", "off", withLabel(ambient.LabelDataplaneMode, "none")),
			},
			wantTitle: "Remove namespace shop from ambient",
			want: []string{
				"2 captured pods leave the mesh immediately: their traffic is no longer mTLS and ztunnel stops enforcing their L4 policies.",
				"1 pod is labelled istio.io/dataplane-mode=ambient itself and stays captured.",
				"New pods start outside the mesh.",
			},
		},
		{
			name:      "removing from an empty namespace",
			ns:        namespace("empty", "3", amb),
			wantTitle: "Remove namespace empty from ambient",
			want: []string{
				"No captured pod here depends on the namespace label.",
				"New pods start outside the mesh.",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := append([]runtime.Object{tc.ns}, tc.objs...)
			s := snapshot(objs...)
			for i := 0; i < tc.netpols; i++ {
				s.NetworkPolicies = append(s.NetworkPolicies, &networkingv1.NetworkPolicy{
					ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns.Name, Name: "np-" + string(rune('a'+i))},
				})
			}
			// An egress-only policy restricts no ingress.
			s.NetworkPolicies = append(s.NetworkPolicies, &networkingv1.NetworkPolicy{
				ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns.Name, Name: "egress"},
				Spec:       networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}},
			})
			w, _ := newFake(t, false)
			plan, err := w.ToggleNamespaceAmbient(tc.ns, s)
			if err != nil {
				t.Fatal(err)
			}
			if plan.Title != tc.wantTitle {
				t.Errorf("title %q, want %q", plan.Title, tc.wantTitle)
			}
			if !reflect.DeepEqual(plan.Consequences, tc.want) {
				t.Errorf("consequences\n%s\nwant\n%s", strings.Join(plan.Consequences, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestPodOptOutConsequences(t *testing.T) {
	enrolled := namespace("shop", "3", map[string]string{ambient.LabelDataplaneMode: "ambient"})
	plain := namespace("plain", "3", nil)
	for _, tc := range []struct {
		name      string
		ns        *corev1.Namespace
		pod       *corev1.Pod
		wantTitle string
		want      []string
	}{
		{
			name:      "captured pod leaves",
			ns:        enrolled,
			pod:       pod("shop", "cart-1", captured, ownedByDeployment("cart")),
			wantTitle: "Opt pod shop/cart-1 out of ambient",
			want: []string{
				"The pod leaves the mesh immediately: its traffic is no longer mTLS and ztunnel stops enforcing its L4 policies.",
				"The label is on this pod only: pods deployment/cart creates later follow its template; set it there to keep it.",
			},
		},
		{
			name:      "own ambient label is replaced",
			ns:        plain,
			pod:       pod("plain", "solo", captured, withLabel(ambient.LabelDataplaneMode, "ambient")),
			wantTitle: "Opt pod plain/solo out of ambient",
			want: []string{
				"The pod leaves the mesh immediately: its traffic is no longer mTLS and ztunnel stops enforcing its L4 policies.",
				"It replaces the pod's own istio.io/dataplane-mode=ambient label.",
				"The label is on this pod only.",
			},
		},
		{
			name:      "namespace not enrolled",
			ns:        plain,
			pod:       pod("plain", "web"),
			wantTitle: "Opt pod plain/web out of ambient",
			want: []string{
				"Namespace plain is not enrolled: the opt-out only matters if it is enrolled later.",
				"The label is on this pod only.",
			},
		},
		{
			name:      "sidecar pod",
			ns:        enrolled,
			pod:       pod("shop", "side", withSidecar),
			wantTitle: "Opt pod shop/side out of ambient",
			want: []string{
				"The pod has a sidecar, which handles its traffic whatever this label says.",
				"The label is on this pod only.",
			},
		},
		{
			name:      "opting back in to an enrolled namespace",
			ns:        enrolled,
			pod:       pod("shop", "batch", withLabel(ambient.LabelDataplaneMode, "none"), ownedBy("StatefulSet", "db")),
			wantTitle: "Let pod shop/batch back into ambient",
			want: []string{
				"Namespace shop is enrolled: istio-cni captures the pod now, without a restart, and ztunnel enforces its L4 policies.",
				"The label is on this pod only: pods statefulset/db creates later follow its template; set it there to keep it.",
			},
		},
		{
			name:      "opting back in elsewhere",
			ns:        plain,
			pod:       pod("plain", "batch", withLabel(ambient.LabelDataplaneMode, "none")),
			wantTitle: "Let pod plain/batch back into ambient",
			want: []string{
				"Namespace plain is not enrolled: the pod stays out of the mesh.",
				"The label is on this pod only.",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, _ := newFake(t, false)
			plan, err := w.TogglePodOptOut(tc.pod, snapshot(tc.ns, tc.pod))
			if err != nil {
				t.Fatal(err)
			}
			if plan.Title != tc.wantTitle {
				t.Errorf("title %q, want %q", plan.Title, tc.wantTitle)
			}
			if !reflect.DeepEqual(plan.Consequences, tc.want) {
				t.Errorf("consequences\n%s\nwant\n%s", strings.Join(plan.Consequences, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

// A nil or empty snapshot still gives a plan; the dialog then says less.
func TestPlansWithoutSnapshot(t *testing.T) {
	w, _ := newFake(t, false)
	plan, err := w.ToggleNamespaceAmbient(namespace("shop", "3", nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Consequences) == 0 || plan.Patch == "" {
		t.Errorf("plan without snapshot: %+v", plan)
	}
}
