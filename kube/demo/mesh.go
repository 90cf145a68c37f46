package demo

import (
	"time"

	"google.golang.org/protobuf/types/known/timestamppb"
	metaapi "istio.io/api/meta/v1alpha1"
	secapi "istio.io/api/security/v1beta1"
	typeapi "istio.io/api/type/v1beta1"
	secv1 "istio.io/client-go/pkg/apis/security/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
)

func gatewayClasses(now time.Time) []*gwv1.GatewayClass {
	created := metav1.NewTime(at(now, 96*day)) // istiod creates them at install
	class := func(name, controller, description string) *gwv1.GatewayClass {
		return &gwv1.GatewayClass{
			ObjectMeta: metav1.ObjectMeta{Name: name, UID: uid("GatewayClass", "", name), Generation: 1, CreationTimestamp: created},
			Spec:       gwv1.GatewayClassSpec{ControllerName: gwv1.GatewayController(controller), Description: ptr.To(description)},
			Status: gwv1.GatewayClassStatus{Conditions: []metav1.Condition{{Type: "Accepted", Status: metav1.ConditionTrue,
				Reason: "Accepted", Message: "Handled by Istio controller", ObservedGeneration: 1, LastTransitionTime: created}}},
		}
	}
	return []*gwv1.GatewayClass{
		class("istio", "istio.io/gateway-controller", "The default Istio GatewayClass"),
		class("istio-remote", "istio.io/unmanaged-gateway", "Remote to this cluster. Does not deploy or affect configuration."),
		class("istio-waypoint", "istio.io/mesh-controller", "The default Istio waypoint GatewayClass"),
	}
}

// gateways are the two waypoints and the ingress gateway, all healthy: istiod accepted and
// programmed them and reports their Service's address.
func gateways(now time.Time, services []*corev1.Service) []*gwv1.Gateway {
	ipOf := func(ns, name string) string {
		for _, s := range services {
			if s.Namespace == ns && s.Name == name {
				return s.Spec.ClusterIP
			}
		}
		panic("demo: waypoint " + ns + "/" + name + " has no Service") // caught by the tests
	}
	waypoint := func(ns, name string, age time.Duration) *gwv1.Gateway {
		created := metav1.NewTime(at(now, age))
		ready := metav1.NewTime(at(now, age-20*time.Second))
		cond := func(t, reason, msg string) metav1.Condition {
			return metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: 1, LastTransitionTime: ready}
		}
		host := name + "." + ns + ".svc.cluster.local"
		return &gwv1.Gateway{
			ObjectMeta: metav1.ObjectMeta{
				Name: name, Namespace: ns, UID: uid("Gateway", ns, name), Generation: 1, CreationTimestamp: created,
				Labels:      map[string]string{labelWaypointFor: "service"},
				Annotations: map[string]string{"gateway.istio.io/controller-version": "5"},
			},
			Spec: gwv1.GatewaySpec{
				GatewayClassName: "istio-waypoint",
				Listeners:        []gwv1.Listener{{Name: "mesh", Port: 15008, Protocol: "HBONE"}},
			},
			Status: gwv1.GatewayStatus{
				Addresses: []gwv1.GatewayStatusAddress{
					{Type: ptr.To(gwv1.IPAddressType), Value: ipOf(ns, name)},
					{Type: ptr.To(gwv1.HostnameAddressType), Value: host},
				},
				Conditions: []metav1.Condition{
					cond("Accepted", "Accepted", "Resource accepted"),
					cond("Programmed", "Programmed", "Resource programmed, assigned to service(s) "+host+":15008"),
					cond("ResolvedRefs", "ResolvedRefs", "All references resolved"),
				},
				Listeners: []gwv1.ListenerStatus{{
					Name: "mesh", AttachedRoutes: 0, SupportedKinds: []gwv1.RouteGroupKind{},
					Conditions: []metav1.Condition{
						cond("Accepted", "Accepted", "No errors found"),
						{Type: "Conflicted", Status: metav1.ConditionFalse, Reason: "NoConflicts", Message: "No errors found", ObservedGeneration: 1, LastTransitionTime: ready},
						cond("Programmed", "Programmed", "No errors found"),
						cond("ResolvedRefs", "ResolvedRefs", "No errors found"),
					},
				}},
			},
		}
	}
	return []*gwv1.Gateway{
		waypoint("ambient-apps", "waypoint", 2*day),
		waypoint("example-api", "example-api-waypoint", 7*day),
		ingress(now, "istio-ingress", ingressGateway, ingressAddress, 90*day),
	}
}

// ingress is the homelab's Gateway API ingress gateway, healthy: istiod
// deployed <name>-istio, the LAN load balancer gave its Service an address,
// and one HTTPRoute (grafana's) is attached.
func ingress(now time.Time, ns, name, address string, age time.Duration) *gwv1.Gateway {
	created := metav1.NewTime(at(now, age))
	ready := metav1.NewTime(at(now, age-40*time.Second))
	cond := func(t, reason, msg string) metav1.Condition {
		return metav1.Condition{Type: t, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: 1, LastTransitionTime: ready}
	}
	all := gwv1.NamespacesFromAll
	return &gwv1.Gateway{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, UID: uid("Gateway", ns, name), Generation: 1, CreationTimestamp: created,
			Annotations: map[string]string{"gateway.istio.io/controller-version": "5"},
		},
		Spec: gwv1.GatewaySpec{
			GatewayClassName: "istio",
			Listeners: []gwv1.Listener{{Name: "http", Port: 80, Protocol: gwv1.HTTPProtocolType,
				AllowedRoutes: &gwv1.AllowedRoutes{Namespaces: &gwv1.RouteNamespaces{From: &all}}}},
		},
		Status: gwv1.GatewayStatus{
			Addresses: []gwv1.GatewayStatusAddress{{Type: ptr.To(gwv1.IPAddressType), Value: address}},
			Conditions: []metav1.Condition{
				cond("Accepted", "Accepted", "Resource accepted"),
				cond("Programmed", "Programmed", "Resource programmed, assigned to service(s) "+name+"-istio."+ns+".svc.cluster.local:80"),
			},
			Listeners: []gwv1.ListenerStatus{{
				Name: "http", AttachedRoutes: 1,
				SupportedKinds: []gwv1.RouteGroupKind{{Group: ptr.To(gwv1.Group(gwv1.GroupName)), Kind: "HTTPRoute"}, {Group: ptr.To(gwv1.Group(gwv1.GroupName)), Kind: "GRPCRoute"}},
				Conditions: []metav1.Condition{
					cond("Accepted", "Accepted", "No errors found"),
					{Type: "Conflicted", Status: metav1.ConditionFalse, Reason: "NoConflicts", Message: "No errors found", ObservedGeneration: 1, LastTransitionTime: ready},
					cond("Programmed", "Programmed", "No errors found"),
					cond("ResolvedRefs", "ResolvedRefs", "No errors found"),
				},
			}},
		},
	}
}

func principal(ns, sa string) string { return trustDomain + "/ns/" + ns + "/sa/" + sa }

// condition is an istiod status condition, as it appears on Istio policies.
func condition(now time.Time, age time.Duration, typ, status, reason, msg string) *metaapi.IstioCondition {
	return &metaapi.IstioCondition{Type: typ, Status: status, Reason: reason, Message: msg, ObservedGeneration: 1,
		LastTransitionTime: timestamppb.New(at(now, age-3*time.Second))}
}

func authorizationPolicies(now time.Time) []*secv1.AuthorizationPolicy {
	meta := func(ns, name string, age time.Duration) metav1.ObjectMeta {
		return metav1.ObjectMeta{Namespace: ns, Name: name, UID: uid("AuthorizationPolicy", ns, name), Generation: 1,
			CreationTimestamp: metav1.NewTime(at(now, age))}
	}
	l4 := &secv1.AuthorizationPolicy{ObjectMeta: meta("ambient-apps", "httpbin-allow-sleep", 2*day)}
	// The L4 half of the usual ambient pair: the destination ztunnel sees
	// sleep when it calls a pod directly and the waypoint when it calls the
	// Service, so both identities are allowed (ambient-reference.md 2.2).
	l4.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app": "httpbin"}}
	l4.Spec.Action = secapi.AuthorizationPolicy_ALLOW
	l4.Spec.Rules = []*secapi.Rule{{From: []*secapi.Rule_From{{Source: &secapi.Source{
		Principals: []string{principal("ambient-apps", "sleep"), principal("ambient-apps", "waypoint")}}}}}}
	l4.Status.Conditions = []*metaapi.IstioCondition{condition(now, 2*day, "ZtunnelAccepted", "True", "Accepted", "attached to ztunnel")}

	l7 := &secv1.AuthorizationPolicy{ObjectMeta: meta("ambient-apps", "httpbin-l7", 2*day)}
	l7.Spec.TargetRefs = []*typeapi.PolicyTargetReference{{Kind: "Service", Group: "", Name: "httpbin"}}
	l7.Spec.Action = secapi.AuthorizationPolicy_ALLOW
	l7.Spec.Rules = []*secapi.Rule{{
		From: []*secapi.Rule_From{{Source: &secapi.Source{Principals: []string{principal("ambient-apps", "sleep")}}}},
		To:   []*secapi.Rule_To{{Operation: &secapi.Operation{Methods: []string{"GET"}, Paths: []string{"/get", "/headers"}}}},
		When: []*secapi.Condition{{Key: "request.auth.claims[groups]", Values: []string{"httpbin-readers"}}},
	}}
	l7.Status.Conditions = []*metaapi.IstioCondition{condition(now, 2*day, "WaypointAccepted", "True", "Accepted", "bound to ambient-apps/waypoint")}

	// Planted mistake 3: HTTP rules attached by selector go to ztunnel,
	// which drops the rules it cannot read, so the ALLOW now admits nobody.
	argo := &secv1.AuthorizationPolicy{ObjectMeta: meta("argo-workflows", "argo-server-api", 5*day)}
	argo.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "argo-workflows-server"}}
	argo.Spec.Action = secapi.AuthorizationPolicy_ALLOW
	argo.Spec.Rules = []*secapi.Rule{{To: []*secapi.Rule_To{{Operation: &secapi.Operation{
		Methods: []string{"GET"}, Paths: []string{"/api/*"}}}}}}
	argo.Status.Conditions = []*metaapi.IstioCondition{condition(now, 5*day, "ZtunnelAccepted", "True", "UnsupportedValue",
		"ztunnel does not support HTTP attributes (found: methods, paths). In ambient mode you must use a waypoint proxy to enforce HTTP rules. "+
			"Within an ALLOW policy, rules matching HTTP attributes are omitted. This will be more restrictive than requested.")}

	// Planted mistake 6: a DENY meant to stop anyone deleting blobs from
	// the Trivy server's cache, attached by selector, so ztunnel enforces
	// it. It cannot read HTTP, so the deletion rule never fires and only
	// the namespace rule still denies: the policy denies less than written
	// (istiod's message says "more").
	deny := &secv1.AuthorizationPolicy{ObjectMeta: meta("trivy-system", "trivy-server-deny-cache-deletes", 12*day)}
	deny.Spec.Selector = &typeapi.WorkloadSelector{MatchLabels: map[string]string{"app.kubernetes.io/name": "trivy-server"}}
	deny.Spec.Action = secapi.AuthorizationPolicy_DENY
	deny.Spec.Rules = []*secapi.Rule{
		{To: []*secapi.Rule_To{{Operation: &secapi.Operation{Methods: []string{"POST"}, Paths: []string{"/twirp/trivy.cache.v1.Cache/DeleteBlobs"}}}}},
		{From: []*secapi.Rule_From{{Source: &secapi.Source{Namespaces: []string{"example-admin"}}}}},
	}
	deny.Status.Conditions = []*metaapi.IstioCondition{condition(now, 12*day, "ZtunnelAccepted", "True", "UnsupportedValue",
		"ztunnel does not support HTTP attributes (found: methods, paths). In ambient mode you must use a waypoint proxy to enforce HTTP rules. "+
			"DENY policy with HTTP attributes is enforced without the HTTP rules. This will be more restrictive than requested.")}

	return []*secv1.AuthorizationPolicy{l4, l7, argo, deny}
}

func peerAuthentications(now time.Time) []*secv1.PeerAuthentication {
	pa := &secv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "default",
		UID: uid("PeerAuthentication", "istio-system", "default"), Generation: 1, CreationTimestamp: metav1.NewTime(at(now, 90*day))}}
	pa.Spec.Mtls = &secapi.PeerAuthentication_MutualTLS{Mode: secapi.PeerAuthentication_MutualTLS_STRICT}
	// Planted mistake 7: written for the sidecar days so the scanners'
	// plaintext callers get through; in ambient DISABLE acts as PERMISSIVE
	// and lifts the mesh-wide STRICT for the whole namespace.
	trivy := &secv1.PeerAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: "trivy-system", Name: "trivy-plaintext",
		UID: uid("PeerAuthentication", "trivy-system", "trivy-plaintext"), Generation: 1, CreationTimestamp: metav1.NewTime(at(now, 60*day))}}
	trivy.Spec.Mtls = &secapi.PeerAuthentication_MutualTLS{Mode: secapi.PeerAuthentication_MutualTLS_DISABLE}
	return []*secv1.PeerAuthentication{pa, trivy}
}

func requestAuthentications(now time.Time) []*secv1.RequestAuthentication {
	ra := &secv1.RequestAuthentication{ObjectMeta: metav1.ObjectMeta{Namespace: "ambient-apps", Name: "httpbin-jwt",
		UID: uid("RequestAuthentication", "ambient-apps", "httpbin-jwt"), Generation: 1, CreationTimestamp: metav1.NewTime(at(now, 2*day))}}
	ra.Spec.TargetRefs = []*typeapi.PolicyTargetReference{{Kind: "Service", Group: "", Name: "httpbin"}}
	ra.Spec.JwtRules = []*secapi.JWTRule{{
		Issuer:               "testing@secure.istio.io",
		JwksUri:              "https://raw.githubusercontent.com/istio/istio/release-1.31/security/tools/jwt/samples/jwks.json",
		ForwardOriginalToken: true,
	}}
	return []*secv1.RequestAuthentication{ra}
}
