package install

import (
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Names of the istiod environment switches that change verdicts
// (ambient-reference.md 0.5).
const (
	EnvEnableAmbient             = "PILOT_ENABLE_AMBIENT"
	EnvAutoAllowWaypointPolicy   = "PILOT_AUTO_ALLOW_WAYPOINT_POLICY"
	EnvDryRunAuthorizationPolicy = "AMBIENT_ENABLE_DRY_RUN_AUTHORIZATION_POLICY"
	EnvIngressWaypointRouting    = "ENABLE_INGRESS_WAYPOINT_ROUTING"
	EnvSelectorGatewayPolicy     = "ENABLE_SELECTOR_BASED_K8S_GATEWAY_POLICY"
	EnvAmbientStatus             = "AMBIENT_ENABLE_STATUS"
)

// switchDefault is a switch's value when istiod's env does not set it, and
// whether the switch needs PILOT_ENABLE_AMBIENT (registerAmbient forces it
// to its "without ambient" value, false, otherwise).
type switchDefault struct {
	value   bool
	ambient bool
	since   [2]int // first istiod minor with the switch; before it, value applies
}

var switchDefaults = map[string]switchDefault{
	EnvEnableAmbient:             {value: true}, // the ambient profile sets it; ambx is for ambient meshes
	EnvAutoAllowWaypointPolicy:   {value: false, ambient: true},
	EnvDryRunAuthorizationPolicy: {value: false, ambient: true, since: [2]int{1, 29}},
	EnvIngressWaypointRouting:    {value: true, ambient: true},
	EnvSelectorGatewayPolicy:     {value: true},
	EnvAmbientStatus:             {value: true, ambient: true},
}

// Switch is the effective value of an istiod boolean switch: the value set
// in Env when it parses as istiod parses it (strconv.ParseBool), else the
// default for the effective version. A switch that needs ambient reads
// false while PILOT_ENABLE_AMBIENT is false, and a switch the version
// predates reads its default. Unknown names read false.
func (i Info) Switch(name string) bool {
	d, known := switchDefaults[name]
	if !known {
		b, _ := strconv.ParseBool(strings.TrimSpace(i.Env[name]))
		return b
	}
	if d.since != [2]int{} && !i.Effective().AtLeast(d.since[0], d.since[1]) {
		return false
	}
	if d.ambient && name != EnvEnableAmbient && !i.Switch(EnvEnableAmbient) {
		return false
	}
	if v, ok := i.Env[name]; ok {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b
		}
	}
	return d.value
}

// CNIConfig is istio-cni's configuration (ConfigMap istio-cni-config, with
// the install-cni container's env over it; reference 0.4).
type CNIConfig struct {
	// Read reports whether the configuration was found; when false every
	// accessor below returns the chart default.
	Read bool
	// AmbientEnabled is AMBIENT_ENABLED.
	AmbientEnabled bool
	// ExcludeNamespaces is EXCLUDE_NAMESPACES, split on commas.
	ExcludeNamespaces []string
	// EnablementSelectors is AMBIENT_ENABLEMENT_SELECTOR (1.27+); nil means
	// the defaults.
	EnablementSelectors []EnablementSelector
}

// EnablementSelector is one entry of istio-cni's ambient enablement
// selectors: a pod is enrolled when both selectors match (a nil selector
// matches everything).
type EnablementSelector struct {
	PodSelector       *metav1.LabelSelector
	NamespaceSelector *metav1.LabelSelector
}

// DefaultEnablementSelectors are istio-cni's defaults, hard-coded before
// 1.27: the pod label alone, or the namespace label unless the pod opts out.
func DefaultEnablementSelectors() []EnablementSelector {
	return []EnablementSelector{
		{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"istio.io/dataplane-mode": "ambient"}}},
		{
			PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: "istio.io/dataplane-mode", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"none"}}}},
			NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"istio.io/dataplane-mode": "ambient"}},
		},
	}
}

// CNIAmbientEnabled reports whether istio-cni redirects anything; true when
// its configuration was not read.
func (i Info) CNIAmbientEnabled() bool {
	return !i.CNIConfig.Read || i.CNIConfig.AmbientEnabled
}

// ExcludedNamespaces is istio-cni's excludeNamespaces; kube-system when its
// configuration was not read.
func (i Info) ExcludedNamespaces() []string {
	if !i.CNIConfig.Read {
		return []string{"kube-system"}
	}
	return i.CNIConfig.ExcludeNamespaces
}

// Selectors are the enablement selectors istio-cni applies: the configured
// ones from 1.27, the defaults otherwise.
func (i Info) Selectors() []EnablementSelector {
	if i.CNIConfig.Read && i.CNIConfig.EnablementSelectors != nil && i.CNIEffective().AtLeast(1, 27) {
		return i.CNIConfig.EnablementSelectors
	}
	return DefaultEnablementSelectors()
}

// AgentHonoursExclusions reports whether istio-cni's node agent, not only
// its CNI plugin, skips excluded namespaces (1.30+): before, running pods
// there that match a selector are still enrolled.
func (i Info) AgentHonoursExclusions() bool { return i.CNIEffective().AtLeast(1, 30) }
