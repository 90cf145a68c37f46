package ambient_test

import (
	"strings"
	"time"

	metav1alpha1 "istio.io/api/meta/v1alpha1"
	secv1beta1 "istio.io/api/security/v1beta1"
	typev1beta1 "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
)

// kv turns "k=v" pairs into a map; "k" alone means an empty value.
func kv(pairs ...string) map[string]string {
	if len(pairs) == 0 {
		return nil
	}
	m := map[string]string{}
	for _, p := range pairs {
		k, v, _ := strings.Cut(p, "=")
		m[k] = v
	}
	return m
}

func namespace(name string, labels ...string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: kv(labels...)}}
}

type podOpt func(*corev1.Pod)

func labels(l ...string) podOpt {
	return func(p *corev1.Pod) {
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		for k, v := range kv(l...) {
			p.Labels[k] = v
		}
	}
}

func annotations(a ...string) podOpt {
	return func(p *corev1.Pod) {
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		for k, v := range kv(a...) {
			p.Annotations[k] = v
		}
	}
}

var (
	captured     = annotations("ambient.istio.io/redirection=enabled")
	pendingRedir = annotations("ambient.istio.io/redirection=pending")
	injected     = func(p *corev1.Pod) {
		annotations(`sidecar.istio.io/status={"containers":["istio-proxy"]}`)(p)
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
	}
	hostNetwork = func(p *corev1.Pod) { p.Spec.HostNetwork = true }
	notReady    = func(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
	unscheduled = func(p *corev1.Pod) { p.Spec.NodeName = ""; p.Status.Phase = corev1.PodPending }
)

func phase(ph corev1.PodPhase) podOpt { return func(p *corev1.Pod) { p.Status.Phase = ph } }
func node(n string) podOpt            { return func(p *corev1.Pod) { p.Spec.NodeName = n } }

// ownedBy makes the pod one replica of a Deployment's ReplicaSet.
func ownedBy(deployment string) podOpt {
	return func(p *corev1.Pod) {
		yes := true
		labels("pod-template-hash=7d4f9")(p)
		p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicaSet", Name: deployment + "-7d4f9", Controller: &yes}}
	}
}

// pod is a running, ready pod with one app container on node-1.
func pod(ns, name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app"}}},
		Status: corev1.PodStatus{
			Phase:      corev1.PodRunning,
			PodIP:      "10.0.0.9",
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// dataplane is a ready ztunnel and istio-cni on each node.
func dataplane(nodes ...string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, n := range nodes {
		out = append(out,
			pod("istio-system", "ztunnel-"+n, node(n), labels("app=ztunnel", "istio.io/dataplane-mode=none"), func(p *corev1.Pod) { p.Spec.Containers[0].Name = "istio-proxy" }),
			pod("istio-system", "istio-cni-node-"+n, node(n), labels("k8s-app=istio-cni-node"), hostNetwork))
	}
	return out
}

func service(ns, name string, labels ...string) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: kv(labels...)}}
}

type gwOpt func(*gwv1.Gateway)

func gwLabels(l ...string) gwOpt {
	return func(g *gwv1.Gateway) { g.Labels = kv(l...) }
}

// unaddressed is a Gateway istiod has not programmed yet.
func unaddressed(reason, msg string) gwOpt {
	return func(g *gwv1.Gateway) {
		g.Status.Addresses = nil
		g.Status.Conditions = []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionFalse, Reason: reason, Message: msg}}
	}
}

func allowFrom(from gwv1.FromNamespaces, selector ...string) gwOpt {
	return func(g *gwv1.Gateway) {
		rn := &gwv1.RouteNamespaces{From: &from}
		if len(selector) > 0 {
			rn.Selector = &metav1.LabelSelector{MatchLabels: kv(selector...)}
		}
		g.Spec.Listeners[0].AllowedRoutes = &gwv1.AllowedRoutes{Namespaces: rn}
	}
}

func class(name string) gwOpt {
	return func(g *gwv1.Gateway) { g.Spec.GatewayClassName = gwv1.ObjectName(name) }
}

// waypointGW is what `istioctl waypoint apply` creates, once programmed.
func waypointGW(ns, name string, opts ...gwOpt) *gwv1.Gateway {
	ip := gwv1.HostnameAddressType
	g := &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: "istio-waypoint",
			Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
		},
		Status: gwv1.GatewayStatus{
			Addresses:  []gwv1.GatewayStatusAddress{{Type: &ip, Value: name + "." + ns + ".svc.cluster.local"}},
			Conditions: []metav1.Condition{{Type: "Programmed", Status: metav1.ConditionTrue, Reason: "Programmed"}},
		},
	}
	for _, o := range opts {
		o(g)
	}
	return g
}

// waypointPods are the ready pods istiod deploys for a waypoint.
func waypointPods(ns, name string, n int) []*corev1.Pod {
	var out []*corev1.Pod
	for i := range n {
		out = append(out, pod(ns, name+"-"+string(rune('a'+i)),
			labels("gateway.networking.k8s.io/gateway-name="+name, "istio.io/dataplane-mode=none"),
			func(p *corev1.Pod) { p.Spec.Containers[0].Name = "istio-proxy" }))
	}
	return out
}

func waypointClass(labels ...string) *gwv1.GatewayClass {
	return &gwv1.GatewayClass{
		ObjectMeta: metav1.ObjectMeta{Name: "istio-waypoint", Labels: kv(labels...)},
		Spec:       gwv1.GatewayClassSpec{ControllerName: "istio.io/mesh-controller"},
	}
}

type apOpt func(*secv1.AuthorizationPolicy)

func selector(l ...string) apOpt {
	return func(p *secv1.AuthorizationPolicy) {
		p.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: kv(l...)}
	}
}

func targetRef(kind, name string) apOpt {
	return func(p *secv1.AuthorizationPolicy) {
		group := "gateway.networking.k8s.io"
		if kind == "Service" {
			group = ""
		}
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, &typev1beta1.PolicyTargetReference{Group: group, Kind: kind, Name: name})
	}
}

func action(a secv1beta1.AuthorizationPolicy_Action) apOpt {
	return func(p *secv1.AuthorizationPolicy) { p.Spec.Action = a }
}

func rules(r ...*secv1beta1.Rule) apOpt {
	return func(p *secv1.AuthorizationPolicy) { p.Spec.Rules = append(p.Spec.Rules, r...) }
}

func apAnnotations(a ...string) apOpt {
	return func(p *secv1.AuthorizationPolicy) { p.Annotations = kv(a...) }
}

func apCondition(typ, status, reason, msg string) apOpt {
	return func(p *secv1.AuthorizationPolicy) {
		p.Status.Conditions = append(p.Status.Conditions, &metav1alpha1.IstioCondition{Type: typ, Status: status, Reason: reason, Message: msg})
	}
}

func authz(ns, name string, opts ...apOpt) *secv1.AuthorizationPolicy {
	p := &secv1.AuthorizationPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func from(s *secv1beta1.Source) *secv1beta1.Rule_From { return &secv1beta1.Rule_From{Source: s} }
func to(o *secv1beta1.Operation) *secv1beta1.Rule_To  { return &secv1beta1.Rule_To{Operation: o} }
func when(key string, values ...string) *secv1beta1.Condition {
	return &secv1beta1.Condition{Key: key, Values: values}
}

func peerAuthn(ns, name string, mode secv1beta1.PeerAuthentication_MutualTLS_Mode, age time.Duration, sel ...string) *secv1.PeerAuthentication {
	p := &secv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(-age))}}
	p.Spec.Mtls = &secv1beta1.PeerAuthentication_MutualTLS{Mode: mode}
	if len(sel) > 0 {
		p.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: kv(sel...)}
	}
	return p
}

func requestAuthn(ns, name string, sel []string, refs ...string) *secv1.RequestAuthentication {
	p := &secv1.RequestAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	p.Spec.JwtRules = []*secv1beta1.JWTRule{{Issuer: "https://issuer.example"}}
	if len(sel) > 0 {
		p.Spec.Selector = &typev1beta1.WorkloadSelector{MatchLabels: kv(sel...)}
	}
	for _, r := range refs {
		kind, name, _ := strings.Cut(r, "/")
		group := "gateway.networking.k8s.io"
		if kind == "Service" {
			group = ""
		}
		p.Spec.TargetRefs = append(p.Spec.TargetRefs, &typev1beta1.PolicyTargetReference{Group: group, Kind: kind, Name: name})
	}
	return p
}

// codes lists findings as "severity code Kind ns/name", the part a user
// scans in the findings list.
func codes(fs []finding.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Severity.String()+" "+f.Code+" "+f.Object.String())
	}
	return out
}

func findingsFor(a *ambient.Analysis, code string) []finding.Finding {
	var out []finding.Finding
	for _, f := range a.Findings {
		if f.Code == code {
			out = append(out, f)
		}
	}
	return out
}

func metaCondition(typ, status, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: metav1.ConditionStatus(status), Reason: reason, Message: msg}
}
