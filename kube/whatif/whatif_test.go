package whatif

import (
	"slices"
	"strings"
	"testing"
	"time"

	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

var now = time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)

func ns(name string, labels ...string) *corev1.Namespace {
	l := map[string]string{"kubernetes.io/metadata.name": name}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

// pod is a running, ready pod of deployment owner on node n1, started an
// hour ago; sidecar adds an injected istio-proxy.
func pod(namespace, name, owner string, sidecar bool, labels ...string) *corev1.Pod {
	l := map[string]string{"app": owner}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	yes := true
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: l, Annotations: map[string]string{},
			CreationTimestamp: metav1.NewTime(now.Add(-time.Hour))},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080, Protocol: corev1.ProtocolTCP}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", StartTime: &metav1.Time{Time: now.Add(-time.Hour)},
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
	}
	if owner != "" {
		l["pod-template-hash"] = "abc"
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: owner + "-abc", Controller: &yes}}
	}
	if sidecar {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
		p.Spec.InitContainers = []corev1.Container{{Name: "istio-init"}}
		p.Annotations["sidecar.istio.io/status"] = `{"containers":["istio-proxy"]}`
		l["security.istio.io/tlsMode"] = "istio"
	}
	return p
}

func captured(p *corev1.Pod) *corev1.Pod {
	p.Annotations[ambient.AnnotationRedirection] = "enabled"
	return p
}

// dataplane is istio-cni and ztunnel, ready on node n1.
func dataplanePods() []*corev1.Pod {
	cni := pod("istio-system", "istio-cni-node-x", "", false, "k8s-app", "istio-cni-node")
	zt := pod("istio-system", "ztunnel-x", "", false, "app", "ztunnel")
	return []*corev1.Pod{cni, zt}
}

// snap builds a snapshot as the Source would, sorting the objects.
func snap(c ambient.Cluster) *kube.Snapshot {
	c.Pods = append(c.Pods, dataplanePods()...)
	c.Namespaces = append(c.Namespaces, ns("istio-system"))
	slices.SortFunc(c.Namespaces, func(a, b *corev1.Namespace) int { return strings.Compare(a.Name, b.Name) })
	slices.SortFunc(c.Pods, func(a, b *corev1.Pod) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	c.Now = now
	return kube.Build(c, now)
}

func ingressOnly(namespace, name string, port int32) *networkingv1.NetworkPolicy {
	p := intstr.FromInt32(port)
	tcp := corev1.ProtocolTCP
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: networkingv1.NetworkPolicySpec{
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{}}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &p}},
			}},
		},
	}
}

func l7Allow(namespace, name, app string) *secv1.AuthorizationPolicy {
	return &secv1.AuthorizationPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: secv1beta1.AuthorizationPolicy{
			Selector: &typev1beta1.WorkloadSelector{MatchLabels: map[string]string{"app": app}},
			Action:   secv1beta1.AuthorizationPolicy_ALLOW,
			Rules:    []*secv1beta1.Rule{{To: []*secv1beta1.Rule_To{{Operation: &secv1beta1.Operation{Methods: []string{"GET"}}}}}},
		},
	}
}

func strictMesh() *secv1.PeerAuthentication {
	return &secv1.PeerAuthentication{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "default"},
		Spec:       secv1beta1.PeerAuthentication{Mtls: &secv1beta1.PeerAuthentication_MutualTLS{Mode: secv1beta1.PeerAuthentication_MutualTLS_STRICT}},
	}
}

func keys(ks []ambient.Key) []string {
	out := []string{}
	for _, k := range ks {
		out = append(out, k.String())
	}
	return out
}

func codes(fs []finding.Finding) []string {
	out := []string{}
	for _, f := range fs {
		out = append(out, f.Code+" "+f.Object.String())
	}
	return out
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cluster ambient.Cluster
		changes func(*kube.Snapshot) []Change
		// what the report must hold
		captured, released []string
		netpols, authz     []string
		strict             []string
		sidecars           []string // pod: why contains
		breaks             bool
		line               string // a substring of Lines()
	}{
		{
			name:     "enrolling a plain namespace captures its running pods and breaks nothing",
			cluster:  ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop")}, Pods: []*corev1.Pod{pod("shop", "web-1", "web", false)}},
			changes:  func(*kube.Snapshot) []Change { return EnrollNamespace("shop") },
			captured: []string{"shop/web-1"},
		},
		{
			name: "a NetworkPolicy that opens only the app port blocks HBONE once the namespace is enrolled",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop")}, Pods: []*corev1.Pod{pod("shop", "web-1", "web", false), pod("shop", "client-1", "client", false)},
				NetworkPolicies: []*networkingv1.NetworkPolicy{ingressOnly("shop", "web-in", 8080)}},
			changes:  func(*kube.Snapshot) []Change { return EnrollNamespace("shop") },
			captured: []string{"shop/client-1", "shop/web-1"},
			netpols:  []string{"hbone-ingress-blocked NetworkPolicy shop/web-in"},
			breaks:   true,
			line:     "kubectl patch networkpolicy web-in -n shop --type=json",
		},
		{
			name: "a selector ALLOW policy with only L7 rules denies all at ztunnel once its pods are captured",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop")}, Pods: []*corev1.Pod{pod("shop", "web-1", "web", false)},
				AuthorizationPolicies: []*secv1.AuthorizationPolicy{l7Allow("shop", "get-only", "web")}},
			changes:  func(*kube.Snapshot) []Change { return EnrollNamespace("shop") },
			captured: []string{"shop/web-1"},
			authz:    []string{"policy-l7-on-ztunnel AuthorizationPolicy shop/get-only"},
			breaks:   true,
			line:     "shop/get-only",
		},
		{
			name: "mesh-wide STRICT turns away callers outside the mesh once the pods are captured",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop"), ns("batch")},
				Pods:                []*corev1.Pod{pod("shop", "web-1", "web", false), pod("batch", "job-1", "job", false)},
				PeerAuthentications: []*secv1.PeerAuthentication{strictMesh()}},
			changes:  func(*kube.Snapshot) []Change { return EnrollNamespace("shop") },
			captured: []string{"shop/web-1"},
			strict:   []string{"shop/web-1"},
			breaks:   true,
			line:     "1 pod outside the mesh (in batch)",
		},
		{
			name: "STRICT over pods that had sidecars changes nothing for callers: the sidecar enforced it already",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("legacy", "istio-injection", "enabled"), ns("batch")},
				Pods:                []*corev1.Pod{pod("legacy", "web-1", "web", true), pod("batch", "job-1", "job", false)},
				PeerAuthentications: []*secv1.PeerAuthentication{strictMesh()}},
			changes:  func(s *kube.Snapshot) []Change { return MigrateNamespace(s, "legacy") },
			captured: []string{"legacy/web-1"},
		},
		{
			name:     "enrolling a namespace that still injects leaves its sidecars",
			cluster:  ambient.Cluster{Namespaces: []*corev1.Namespace{ns("legacy", "istio-injection", "enabled")}, Pods: []*corev1.Pod{pod("legacy", "web-1", "web", true)}},
			changes:  func(*kube.Snapshot) []Change { return EnrollNamespace("legacy") },
			sidecars: []string{"legacy/web-1: keeps istio-injection=enabled"},
			breaks:   true,
		},
		{
			name: "migrating drops the injection labels and restarts only the sidecar workloads",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("legacy", "istio.io/rev", "canary")},
				Pods: []*corev1.Pod{pod("legacy", "web-1", "web", true), pod("legacy", "web-2", "web", true), pod("legacy", "plain-1", "plain", false)}},
			changes:  func(s *kube.Snapshot) []Change { return MigrateNamespace(s, "legacy") },
			captured: []string{"legacy/plain-1", "legacy/web-1", "legacy/web-2"},
		},
		{
			name: "a template that asks for a sidecar itself keeps it through the migration",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("legacy", "istio-injection", "enabled")},
				Pods: []*corev1.Pod{pod("legacy", "web-1", "web", true, "sidecar.istio.io/inject", "true"), pod("legacy", "api-1", "api", true)}},
			changes:  func(s *kube.Snapshot) []Change { return MigrateNamespace(s, "legacy") },
			captured: []string{"legacy/api-1"},
			sidecars: []string{"legacy/web-1: template asks for a sidecar"},
			breaks:   true,
		},
		{
			name: "a bare sidecar pod cannot be restarted by a rollout",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("legacy", "istio-injection", "enabled")},
				Pods: []*corev1.Pod{pod("legacy", "debug", "", true)}},
			changes:  func(s *kube.Snapshot) []Change { return MigrateNamespace(s, "legacy") },
			sidecars: []string{"legacy/debug: rollout restart cannot replace"},
			breaks:   true,
		},
		{
			name: "removing the namespace label releases the pods that do not carry their own",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop", ambient.LabelDataplaneMode, "ambient")},
				Pods: []*corev1.Pod{captured(pod("shop", "web-1", "web", false)), captured(pod("shop", "own-1", "own", false, ambient.LabelDataplaneMode, "ambient"))}},
			changes:  func(*kube.Snapshot) []Change { return LeaveNamespace("shop") },
			released: []string{"shop/web-1"},
		},
		{
			name:    "a pod label enrols one pod of a namespace that is not enrolled",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop")}, Pods: []*corev1.Pod{pod("shop", "web-1", "web", false), pod("shop", "web-2", "web", false)}},
			changes: func(*kube.Snapshot) []Change {
				return []Change{Labels(finding.Ref{Kind: KindPod, Namespace: "shop", Name: "web-2"}, map[string]string{ambient.LabelDataplaneMode: "ambient"})}
			},
			captured: []string{"shop/web-2"},
		},
		{
			name: "a pod whose capture failed for good stays uncaptured when its namespace is relabelled",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop", ambient.LabelDataplaneMode, "ambient")},
				Pods: []*corev1.Pod{pod("shop", "web-1", "web", false)}},
			changes: func(*kube.Snapshot) []Change {
				return []Change{Labels(finding.Ref{Kind: KindNamespace, Name: "shop"}, map[string]string{"team": "a"})}
			},
		},
		{
			name: "deleting a waypoint leaves the Services bound to it without one",
			cluster: ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop", ambient.LabelDataplaneMode, "ambient", ambient.LabelUseWaypoint, "waypoint")},
				Pods:     []*corev1.Pod{captured(pod("shop", "web-1", "web", false)), pod("shop", "waypoint-1", "waypoint", false, ambient.LabelGatewayName, "waypoint", ambient.LabelDataplaneMode, "none")},
				Gateways: []*gwv1.Gateway{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "waypoint"}, Spec: gwv1.GatewaySpec{GatewayClassName: "istio-waypoint"}}}},
			changes: func(*kube.Snapshot) []Change { return []Change{RemoveGateway("shop", "waypoint")} },
			breaks:  true,
			line:    "waypoint",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(tc.cluster)
			keep := s.Cluster
			pods := make([]*corev1.Pod, len(s.Pods))
			for i, p := range s.Pods {
				pods[i] = p.DeepCopy()
			}
			r := Run(s, tc.changes(s)...)

			if got := keys(r.Captured); !slices.Equal(got, orEmpty(tc.captured)) {
				t.Errorf("captured = %v, want %v", got, tc.captured)
			}
			if got := keys(r.Released); !slices.Equal(got, orEmpty(tc.released)) {
				t.Errorf("released = %v, want %v", got, tc.released)
			}
			if got := codes(r.NetworkPolicies); !slices.Equal(got, orEmpty(tc.netpols)) {
				t.Errorf("network policies = %v, want %v", got, tc.netpols)
			}
			for _, f := range r.NetworkPolicies {
				if f.Patch == nil {
					t.Errorf("%s has no patch", f.Code)
				}
			}
			if got := codes(r.AuthorizationPolicies); !slices.Equal(got, orEmpty(tc.authz)) {
				t.Errorf("authorization policies = %v, want %v", got, tc.authz)
			}
			var strict []string
			for _, p := range r.Strict {
				strict = append(strict, p.Pod.String())
			}
			if !slices.Equal(orEmpty(strict), orEmpty(tc.strict)) {
				t.Errorf("strict = %v, want %v", strict, tc.strict)
			}
			if len(r.Sidecars) != len(tc.sidecars) {
				t.Errorf("sidecars = %+v, want %v", r.Sidecars, tc.sidecars)
			}
			for i, want := range tc.sidecars {
				if i >= len(r.Sidecars) {
					break
				}
				pod, why, _ := strings.Cut(want, ": ")
				if r.Sidecars[i].Pod.String() != pod || !strings.Contains(r.Sidecars[i].Why, why) {
					t.Errorf("sidecar %d = %+v, want %s", i, r.Sidecars[i], want)
				}
			}
			if r.Breaks() != tc.breaks {
				t.Errorf("Breaks() = %v, want %v; lines:\n%s", r.Breaks(), tc.breaks, strings.Join(r.Lines(), "\n"))
			}
			if tc.line != "" && !strings.Contains(strings.Join(r.Lines(), "\n"), tc.line) {
				t.Errorf("lines do not mention %q:\n%s", tc.line, strings.Join(r.Lines(), "\n"))
			}
			if !tc.breaks && len(r.Lines()) != 0 {
				t.Errorf("nothing breaks, yet lines:\n%s", strings.Join(r.Lines(), "\n"))
			}
			// The snapshot is shared with the views: Run must not touch it.
			if !slices.Equal(s.Namespaces, keep.Namespaces) || !slices.Equal(s.Pods, keep.Pods) {
				t.Error("Run replaced objects of the snapshot")
			}
			for i, p := range s.Pods {
				if !equality.Semantic.DeepEqual(p, pods[i]) {
					t.Errorf("Run modified pod %s/%s", p.Namespace, p.Name)
				}
			}
		})
	}
}

func TestRunWithoutSnapshot(t *testing.T) {
	r := Run(nil, EnrollNamespace("shop")...)
	if len(r.Unread) == 0 || r.Breaks() {
		t.Errorf("a nil snapshot must say nothing was read and claim no verdict: %+v", r)
	}
	if !strings.Contains(r.Summary(), "not a clean bill") {
		t.Errorf("summary = %q", r.Summary())
	}
}

func TestRunUnknownObject(t *testing.T) {
	s := snap(ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop")}})
	r := Run(s, EnrollNamespace("nope")...)
	if len(r.Unknown) != 1 || !strings.Contains(r.Unknown[0], "namespace nope is not in the snapshot") {
		t.Errorf("unknown = %v", r.Unknown)
	}
	if !strings.Contains(strings.Join(r.Lines(), "\n"), "Not simulated") {
		t.Errorf("lines = %v", r.Lines())
	}
}

func TestUnreadIsNotClean(t *testing.T) {
	s := snap(ambient.Cluster{Namespaces: []*corev1.Namespace{ns("shop")}, Pods: []*corev1.Pod{pod("shop", "web-1", "web", false)}})
	s.Resources[kube.ResNetworkPolicies] = kube.ResourceState{Availability: kube.Forbidden}
	r := Run(s, EnrollNamespace("shop")...)
	if r.Breaks() || !strings.Contains(r.Summary(), "NetworkPolicies forbidden") {
		t.Errorf("summary = %q", r.Summary())
	}
}

func TestParse(t *testing.T) {
	s := snap(ambient.Cluster{Namespaces: []*corev1.Namespace{ns("legacy", "istio-injection", "enabled")},
		Pods: []*corev1.Pod{pod("legacy", "web-1", "web", true)}})
	for _, tc := range []struct{ expr, want, err string }{
		{expr: "enroll shop", want: "label namespace shop istio.io/dataplane-mode=ambient"},
		{expr: "  unenroll   shop ", want: "label namespace shop istio.io/dataplane-mode-"},
		{expr: "migrate legacy", want: "label namespace legacy istio.io/dataplane-mode=ambient istio-injection- istio.io/rev-; restart deployment/web in legacy"},
		{expr: "enroll-pod shop/web-1", want: "label pod shop/web-1 istio.io/dataplane-mode=ambient"},
		{expr: "unenroll-pod shop/web-1", want: "label pod shop/web-1 istio.io/dataplane-mode-"},
		{expr: "opt-out shop/web-1", want: "label pod shop/web-1 istio.io/dataplane-mode=none"},
		{expr: "restart shop Deployment/web", want: "restart deployment/web in shop"},
		{expr: "restart shop", want: "restart every workload in shop"},
		{expr: "delete-waypoint shop/waypoint", want: "delete gateway shop/waypoint"},
		{expr: "", err: "empty write"},
		{expr: "enroll", err: `"enroll" takes one argument, not 0`},
		{expr: "enroll a b", err: `"enroll" takes one argument, not 2`},
		{expr: "enroll-pod shop", err: `takes NAMESPACE/NAME, not "shop"`},
		{expr: "restart shop job/x", err: `"job/x" is not deployment/NAME`},
		{expr: "drop shop", err: `unknown write "drop"`},
	} {
		cs, err := Parse(s, tc.expr)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("Parse(%q) = %v, want error %q", tc.expr, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.expr, err)
			continue
		}
		var got []string
		for _, c := range cs {
			got = append(got, c.String())
		}
		if strings.Join(got, "; ") != tc.want {
			t.Errorf("Parse(%q) = %q, want %q", tc.expr, strings.Join(got, "; "), tc.want)
		}
	}
}

func TestMigrationOf(t *testing.T) {
	for _, tc := range []struct {
		name    string
		ns      *corev1.Namespace
		pods    []*corev1.Pod
		want    Migration
		started bool
	}{
		{name: "sidecars under injection: none moves on a restart",
			ns:   ns("legacy", "istio-injection", "enabled"),
			pods: []*corev1.Pod{pod("legacy", "web-1", "web", true), pod("legacy", "web-2", "web", true)},
			want: Migration{Sidecars: 2, Injects: "istio-injection=enabled"}, started: true},
		{name: "enrolled, labels dropped: the sidecars move on a restart, the bare pod cannot",
			ns:   ns("legacy", ambient.LabelDataplaneMode, "ambient"),
			pods: []*corev1.Pod{pod("legacy", "web-1", "web", true), captured(pod("legacy", "api-1", "api", false)), pod("legacy", "debug", "", true)},
			want: Migration{Sidecars: 2, Moved: 1, OnRestart: 1, Enrolled: true}, started: true},
		{name: "a template that asks for its sidecar keeps it",
			ns:   ns("legacy", ambient.LabelDataplaneMode, "ambient"),
			pods: []*corev1.Pod{pod("legacy", "web-1", "web", true, "sidecar.istio.io/inject", "true")},
			want: Migration{Sidecars: 1, Enrolled: true}, started: true},
		{name: "done",
			ns:   ns("legacy", ambient.LabelDataplaneMode, "ambient"),
			pods: []*corev1.Pod{captured(pod("legacy", "web-1", "web", false))},
			want: Migration{Moved: 1, Enrolled: true}},
		{name: "revision label counts as injection",
			ns:   ns("legacy", "istio.io/rev", "canary", ambient.LabelDataplaneMode, "ambient"),
			pods: []*corev1.Pod{pod("legacy", "web-1", "web", true)},
			want: Migration{Sidecars: 1, Injects: "istio.io/rev=canary", Enrolled: true}, started: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := snap(ambient.Cluster{Namespaces: []*corev1.Namespace{tc.ns}, Pods: tc.pods})
			got := MigrationOf(s, "legacy")
			if got != tc.want || got.Started() != tc.started {
				t.Errorf("got %+v (started %v), want %+v (started %v)", got, got.Started(), tc.want, tc.started)
			}
		})
	}
	if got := MigrationOf(nil, "x"); got != (Migration{}) {
		t.Errorf("nil snapshot: %+v", got)
	}
}
