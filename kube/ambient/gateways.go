package ambient

import corev1 "k8s.io/api/core/v1"

// GatewayKind is which kind of Istio gateway a pod runs, which decides how
// it reaches ambient pods (ambient-reference.md section 3).
type GatewayKind int

// Gateway kinds. The zero value is a pod that runs no gateway.
const (
	NotAGateway GatewayKind = iota
	// IngressGateway is an istiod-deployed Gateway API gateway (class istio).
	IngressGateway
	// EastWestGateway is a multi-network gateway (class istio-east-west):
	// proxy type waypoint.
	EastWestGateway
	// ClassicGateway is a gateway installed without Gateway API (the
	// istio/gateway Helm chart or the older istio-ingressgateway): an Envoy
	// run as `proxy router`, injected with the gateway template or not.
	ClassicGateway
)

// GatewayKindOf tells the gateway a pod runs. Waypoints are not gateways
// here: they are handled as waypoints. Istio's endpoint builder treats
// every router alike (findServiceWaypoint checks the node type), so a
// router pod without istiod's managed label is a classic gateway.
func GatewayKindOf(p *corev1.Pod) GatewayKind {
	switch p.Labels[LabelGatewayManaged] {
	case managedEastWestController:
		return EastWestGateway
	case managedIngressController:
		return IngressGateway
	case managedMeshController:
		return NotAGateway
	}
	if !runsRouter(p) {
		return NotAGateway
	}
	if p.Labels[LabelGatewayName] != "" {
		return IngressGateway // a Gateway API gateway deployed by hand
	}
	return ClassicGateway
}

// HasVIP reports a Service with a cluster IP, or one the API server will
// give it (a manifest leaves spec.clusterIP empty unless headless):
// gateways send only VIP traffic to waypoints (findServiceWaypoint).
func HasVIP(svc *corev1.Service) bool {
	return svc.Spec.ClusterIP != corev1.ClusterIPNone && svc.Spec.Type != corev1.ServiceTypeExternalName
}

// runsRouter reports an istio-proxy container started as `pilot-agent proxy
// router`: a gateway, where sidecars run `proxy sidecar` and waypoints
// `proxy waypoint`.
func runsRouter(p *corev1.Pod) bool {
	for _, c := range p.Spec.Containers {
		if c.Name != "istio-proxy" {
			continue
		}
		for i := 0; i+1 < len(c.Args); i++ {
			if c.Args[i] == "proxy" {
				return c.Args[i+1] == "router"
			}
		}
	}
	return false
}
