package ambient

// Well-known labels and annotations (ambient-reference.md 1.1).
const (
	LabelDataplaneMode        = "istio.io/dataplane-mode"
	AnnotationRedirection     = "ambient.istio.io/redirection"
	LabelInjection            = "istio-injection"
	LabelRev                  = "istio.io/rev"
	LabelUseWaypoint          = "istio.io/use-waypoint"
	LabelUseWaypointNS        = "istio.io/use-waypoint-namespace"
	LabelWaypointFor          = "istio.io/waypoint-for"
	LabelIngressUseWaypoint   = "istio.io/ingress-use-waypoint"
	LabelGatewayName          = "gateway.networking.k8s.io/gateway-name"
	LabelGatewayManaged       = "gateway.istio.io/managed"
	LabelTunnel               = "networking.istio.io/tunnel"
	AnnotationSidecarState    = "sidecar.istio.io/status"
	AnnotationDryRun          = "istio.io/dry-run"
	managedMeshController     = "istio.io-mesh-controller"
	managedEastWestController = "istio.io-eastwest-controller"
	managedIngressController  = "istio.io-gateway-controller"
	eastWestGatewayClass      = "istio-east-west"
)

// ConditionWaypointBound is the condition istiod writes on Services that ask
// for a waypoint.
const ConditionWaypointBound = "istio.io/WaypointBound"

// WaypointGatewayClass and MeshController name the GatewayClass of waypoints
// and its controller.
const (
	WaypointGatewayClass = "istio-waypoint"
	MeshController       = "istio.io/mesh-controller"
)

// Values of istio.io/dataplane-mode and ambient.istio.io/redirection.
const (
	modeAmbient        = "ambient"
	modeNone           = "none"
	redirectionEnabled = "enabled"
	redirectionPending = "pending"
)

// Traffic types of istio.io/waypoint-for.
const (
	TrafficService  = "service"
	TrafficWorkload = "workload"
	TrafficAll      = "all"
	TrafficNone     = "none"
)

// Istio's reasons for a failed waypoint binding (pilot ambient status.go).
const (
	ReasonWaypointNotReady       = "WaypointIsNotReady"
	ReasonAttachmentDenied       = "AttachmentDenied"
	ReasonUnsupportedTrafficType = "UnsupportedTrafficType"
	// ReasonCrossNamespaceForbidden: a ServiceEntry of NAMESPACE
	// visibility names a waypoint in another namespace (1.31+).
	ReasonCrossNamespaceForbidden = "CrossNamespaceWaypointForbidden"
)

// Kinds of the other objects a waypoint binds.
const (
	KindServiceEntry  = "ServiceEntry"
	KindWorkloadEntry = "WorkloadEntry"
)

// Data-plane pods whose readiness gates ambient on a node.
const (
	ztunnelNamespace = "istio-system"
	ztunnelAppLabel  = "app"
	ztunnelAppValue  = "ztunnel"
	cniLabel         = "k8s-app"
	cniValue         = "istio-cni-node"
)
