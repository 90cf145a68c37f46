package install

import (
	"fmt"
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
	EnvAmbientWaypoints          = "PILOT_ENABLE_AMBIENT_WAYPOINTS"
	EnvSendingHBONE              = "PILOT_ENABLE_SENDING_HBONE"
	EnvPreferSendingHBONE        = "PILOT_PREFER_SENDING_HBONE"
	EnvAmbientMultiNetwork       = "AMBIENT_ENABLE_MULTI_NETWORK"
	EnvLayeredWaypointPolicies   = "ENABLE_LAYERED_WAYPOINT_AUTHORIZATION_POLICIES"
)

// switchDefault is a switch's value when istiod's env does not set it, and
// whether the switch needs PILOT_ENABLE_AMBIENT (registerAmbient forces it
// to its "without ambient" value, false, otherwise).
type switchDefault struct {
	value   bool
	ambient bool
	since   [2]int // first istiod minor with the switch; before it, value applies
	effect  string // what it changes, for the install view
}

var switchDefaults = map[string]switchDefault{
	// istiod's own default is false; the ambient profile sets it. Unread,
	// ambx assumes the ambient mesh it is for (see Switch).
	EnvEnableAmbient:             {value: true, effect: "master switch: every ambient switch below needs it"},
	EnvAutoAllowWaypointPolicy:   {value: false, ambient: true, effect: "synthetic ALLOW for the waypoint's identity on bound workloads"},
	EnvDryRunAuthorizationPolicy: {value: false, ambient: true, since: [2]int{1, 29}, effect: "dry-run AuthorizationPolicies are sent to ztunnel as dry-run"},
	EnvIngressWaypointRouting:    {value: true, ambient: true, effect: "gateways honour istio.io/ingress-use-waypoint"},
	EnvSelectorGatewayPolicy:     {value: true, effect: "Gateway API gateways apply selector policies"},
	EnvAmbientStatus:             {value: true, ambient: true, effect: "istiod writes ambient status conditions"},
	EnvAmbientWaypoints:          {value: true, ambient: true, effect: "waypoint GatewayClass and deployments"},
	EnvSendingHBONE:              {value: true, ambient: true, effect: "sidecars and gateways send HBONE to ambient endpoints"},
	EnvPreferSendingHBONE:        {value: false, ambient: true, effect: "sidecars and gateways send HBONE, not Istio mTLS, to sidecars that take both"},
	EnvAmbientMultiNetwork:       {value: false, ambient: true, since: [2]int{1, 25}, effect: "multi-network (east-west gateways)"},
	EnvLayeredWaypointPolicies:   {value: false, since: [2]int{1, 25}, effect: "waypoints enforce selector policies on their own pods at HBONE termination"},
}

// switchOrder is the order the install view lists switches in.
var switchOrder = []string{EnvEnableAmbient, EnvAutoAllowWaypointPolicy, EnvDryRunAuthorizationPolicy,
	EnvIngressWaypointRouting, EnvSelectorGatewayPolicy, EnvAmbientStatus, EnvAmbientWaypoints,
	EnvSendingHBONE, EnvPreferSendingHBONE, EnvAmbientMultiNetwork, EnvLayeredWaypointPolicies}

// SwitchState is one switch as the install view shows it.
type SwitchState struct {
	Name string
	On   bool // the effective value
	// Raw is the value set in istiod's env; Set reports whether it is set.
	Raw string
	Set bool
	// Source says where On came from: istiod's env, the default for the
	// version, or why a set value is ignored.
	Source string
	// Ignored reports that a set value has no effect (unparsable, needs
	// PILOT_ENABLE_AMBIENT, or the version predates the switch).
	Ignored bool
	Effect  string
}

// Switches lists every switch ambx reads, with its effective value and
// where that value came from.
func (i Info) Switches() []SwitchState {
	ver := "default in " + i.Effective().MinorString()
	if i.Assumed() {
		ver = "default in " + AssumedVersion.MinorString() + " (assumed)"
	}
	out := make([]SwitchState, 0, len(switchOrder))
	for _, name := range switchOrder {
		d := switchDefaults[name]
		st := SwitchState{Name: name, On: i.Switch(name), Effect: d.effect}
		st.Raw, st.Set = i.Env[name]
		_, parseErr := strconv.ParseBool(strings.TrimSpace(st.Raw))
		switch {
		case d.since != [2]int{} && !i.Effective().AtLeast(d.since[0], d.since[1]):
			st.Source = fmt.Sprintf("not in %s (added in %d.%d)", i.Effective().MinorString(), d.since[0], d.since[1])
			st.Ignored = st.Set
		case d.ambient && !i.Switch(EnvEnableAmbient):
			st.Source = "forced off: needs " + EnvEnableAmbient + "=true"
			st.Ignored = st.Set
		case st.Set && parseErr != nil:
			st.Source = fmt.Sprintf("unparsable %q: istiod uses its default", st.Raw)
			st.Ignored = true
		case st.Set:
			st.Source = "istiod env"
		case i.EnvUnread[name] != "":
			st.Source = "set from " + i.EnvUnread[name] + ", not read: " + ver + " assumed"
		case name == EnvEnableAmbient && i.Env == nil:
			st.Source = "istiod not read: ambient assumed"
		case name == EnvEnableAmbient:
			st.Source = "unset: istiod's default"
		default:
			st.Source = ver
		}
		out = append(out, st)
	}
	return out
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
	if name == EnvEnableAmbient && i.Env != nil && i.EnvUnread[name] == "" {
		return false // istiod was read and does not set it: its own default
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
	// DNSCapture is AMBIENT_DNS_CAPTURE when set; nil means the version's
	// default (see CNIDNSCapture).
	DNSCapture *bool
	// Source names the ConfigMap read; EnvOverrides the keys the
	// install-cni container's env sets over it; Values every key as read.
	Source       string
	EnvOverrides []string
	Values       map[string]string
}

// CNIDNSCapture reports whether istio-cni redirects pods' DNS to ztunnel:
// as configured, else the default (off in 1.24, on from 1.25).
func (i Info) CNIDNSCapture() bool {
	if i.CNIConfig.DNSCapture != nil {
		return *i.CNIConfig.DNSCapture
	}
	return i.CNIEffective().AtLeast(1, 25)
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
