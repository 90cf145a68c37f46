package install

import (
	"slices"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func istiodDep(ns, name, rev, image string, env ...corev1.EnvVar) *appsv1.Deployment {
	labels := map[string]string{"app": "istiod", "istio": "pilot"}
	if rev != "" {
		labels["istio.io/rev"] = rev
	}
	one := int32(1)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: &one, Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "discovery", Image: image, Env: env}}}}},
		Status: appsv1.DeploymentStatus{ReadyReplicas: 1},
	}
}

func env(kv ...string) []corev1.EnvVar {
	var out []corev1.EnvVar
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
	}
	return out
}

func ztunnelDS(ns, image string, ready, desired int32) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "ztunnel", Labels: map[string]string{"app.kubernetes.io/name": "ztunnel"}},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "ztunnel"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "istio-proxy", Image: image}}}}},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: desired, NumberReady: ready},
	}
}

func cniDS(ns, image string, ready, desired int32, env ...corev1.EnvVar) *appsv1.DaemonSet {
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "istio-cni-node", Labels: map[string]string{"k8s-app": "istio-cni-node", "app.kubernetes.io/name": "istio-cni"}},
		Spec: appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"k8s-app": "istio-cni-node"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "install-cni", Image: image, Env: env}}}}},
		Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: desired, NumberReady: ready},
	}
}

func cm(ns, name string, data ...string) *corev1.ConfigMap {
	c := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"istio.io/rev": "default"}}, Data: map[string]string{}}
	for i := 0; i+1 < len(data); i += 2 {
		c.Data[data[i]] = data[i+1]
	}
	return c
}

func tagWebhook(tag, rev string) *admissionv1.MutatingWebhookConfiguration {
	return &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{
		Name: "istio-revision-tag-" + tag, Labels: map[string]string{"istio.io/tag": tag, "istio.io/rev": rev}}}
}

func TestDiscover(t *testing.T) {
	ambient := env("PILOT_ENABLE_AMBIENT", "true")
	for _, tc := range []struct {
		name  string
		in    Objects
		check func(t *testing.T, i Info)
	}{
		{
			name: "GKE placement: ztunnel and istio-cni in kube-system, istiod in istio-system",
			in: Objects{
				Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "docker.io/istio/pilot:1.29.2-distroless", ambient...)},
				DaemonSets: []*appsv1.DaemonSet{
					ztunnelDS("kube-system", "docker.io/istio/ztunnel:1.29.2-distroless", 3, 3),
					cniDS("kube-system", "docker.io/istio/install-cni:1.29.2-distroless", 3, 3),
				},
				ConfigMaps: []*corev1.ConfigMap{
					cm("istio-system", "istio", "mesh", "defaultConfig:\n  discoveryAddress: istiod.istio-system.svc:15012\nrootNamespace: istio-system\n"),
					cm("kube-system", "istio-cni-config", "AMBIENT_ENABLED", "true", "EXCLUDE_NAMESPACES", "kube-system, gke-managed-system", "AMBIENT_DNS_CAPTURE", "false"),
				},
			},
			check: func(t *testing.T, i Info) {
				want(t, "istiod", i.Istiod.String(), "1.29.2")
				want(t, "ztunnel", i.Ztunnel.String(), "1.29.2")
				want(t, "cni", i.CNI.String(), "1.29.2")
				want(t, "ztunnel namespace", i.ZtunnelNamespace, "kube-system")
				want(t, "root", i.RootNamespace, "istio-system")
				want(t, "root source", i.RootSource, "ConfigMap istio-system/istio meshConfig.rootNamespace")
				want(t, "headline", i.Headline(), "Istio 1.29.2")
				want(t, "cni source", i.CNIConfig.Source, "ConfigMap kube-system/istio-cni-config")
				want(t, "excluded", strings.Join(i.ExcludedNamespaces(), ","), "kube-system,gke-managed-system")
				if !i.CNIAmbientEnabled() || i.CNIDNSCapture() || len(i.Problems) != 0 {
					t.Errorf("cni ambient %v dns %v problems %v", i.CNIAmbientEnabled(), i.CNIDNSCapture(), i.Problems)
				}
				if f := i.Findings(); len(f) != 0 {
					t.Errorf("a healthy install has findings: %v", titles(f))
				}
			},
		},
		{
			name: "revisions and a default tag: verdicts follow the tagged revision and its mesh config",
			in: Objects{
				Deployments: []*appsv1.Deployment{
					istiodDep("istio-system", "istiod-1-28", "1-28", "gcr.io/istio-release/pilot:1.28.4", ambient...),
					istiodDep("istio-system", "istiod-1-29", "1-29", "gcr.io/istio-release/pilot:1.29.1", ambient...),
				},
				Webhooks: []*admissionv1.MutatingWebhookConfiguration{tagWebhook("default", "1-29"), tagWebhook("canary", "1-28"),
					{ObjectMeta: metav1.ObjectMeta{Name: "istio-sidecar-injector-1-29", Labels: map[string]string{"istio.io/rev": "1-29"}}}},
				ConfigMaps: []*corev1.ConfigMap{
					cm("istio-system", "istio-1-28", "mesh", "rootNamespace: old-root\n"),
					cm("istio-system", "istio-1-29", "mesh", "rootNamespace: mesh-root\n"),
				},
			},
			check: func(t *testing.T, i Info) {
				want(t, "istiod", i.Istiod.String(), "1.29.1")
				want(t, "revision", i.Revision, "1-29")
				want(t, "headline", i.Headline(), "Istio 1.29.1 rev 1-29")
				want(t, "root", i.RootNamespace, "mesh-root")
				if !slices.Equal(i.Tags, []Tag{{"canary", "1-28"}, {"default", "1-29"}}) {
					t.Errorf("tags %v", i.Tags)
				}
				if len(i.Problems) != 1 || !strings.Contains(i.Problems[0], "2 istiod revisions") {
					t.Errorf("problems %v, want the two revisions named", i.Problems)
				}
			},
		},
		{
			name: "image by digest: version from the chart label",
			in: Objects{Deployments: []*appsv1.Deployment{func() *appsv1.Deployment {
				d := istiodDep("istio-system", "istiod", "", "registry.local:5000/istio/pilot@sha256:0123abcd", ambient...)
				d.Labels["app.kubernetes.io/version"] = "1.27.3"
				return d
			}()}},
			check: func(t *testing.T, i Info) {
				want(t, "istiod", i.Istiod.String(), "1.27.3")
				c, _ := i.Found(Istiod)
				want(t, "from", c.VersionFrom, "label app.kubernetes.io/version")
				want(t, "root source", i.RootSource, "no ConfigMap istio-system/istio: Istio's default")
			},
		},
		{
			name: "a registry port is not a tag",
			in:   Objects{Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "registry.local:5000/istio/pilot", ambient...)}},
			check: func(t *testing.T, i Info) {
				if !i.Assumed() {
					t.Fatalf("version %v from an untagged image", i.Istiod)
				}
				want(t, "headline", i.Headline(), "Istio version unreadable, assuming 1.30")
				if !hasCode(i.Findings(), "install-version-unknown") {
					t.Errorf("findings %v, want install-version-unknown", titles(i.Findings()))
				}
			},
		},
		{
			name: "Deployments forbidden: the version is assumed, and said so",
			in:   Objects{Unread: map[string]string{"deployments": "forbidden: user cannot list deployments"}},
			check: func(t *testing.T, i Info) {
				want(t, "headline", i.Headline(), "Istio unreadable, assuming 1.30")
				if !i.Assumed() || !i.DeploymentsUnread || len(i.Problems) != 1 {
					t.Errorf("assumed %v unread %v problems %v", i.Assumed(), i.DeploymentsUnread, i.Problems)
				}
				f := i.Findings()
				if len(f) != 1 || f[0].Code != "install-unreadable" || !strings.Contains(f[0].Why, "assume Istio 1.30") {
					t.Errorf("findings %v, want one install-unreadable naming the assumed version", titles(f))
				}
			},
		},
		{
			name: "nothing installed",
			in:   Objects{},
			check: func(t *testing.T, i Info) {
				want(t, "headline", i.Headline(), "Istio not found, assuming 1.30")
				want(t, "root", i.RootNamespace, "istio-system")
				if !hasCode(i.Findings(), "install-istiod-missing") {
					t.Errorf("findings %v", titles(i.Findings()))
				}
			},
		},
		{
			name: "istio-cni env overrides its ConfigMap; selectors parsed",
			in: Objects{
				Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "istio/pilot:1.27.0", ambient...)},
				DaemonSets: []*appsv1.DaemonSet{ztunnelDS("istio-system", "istio/ztunnel:1.27.0", 1, 1),
					cniDS("istio-system", "istio/install-cni:1.27.0", 1, 1, env("AMBIENT_ENABLED", "true")...)},
				ConfigMaps: []*corev1.ConfigMap{cm("istio-system", "istio-cni-config", "AMBIENT_ENABLED", "false",
					"AMBIENT_ENABLEMENT_SELECTOR", "- podSelector:\n    matchLabels: {mesh: ambient}\n- namespaceSelector:\n    matchExpressions:\n    - {key: team, operator: In, values: [a, b]}\n")},
			},
			check: func(t *testing.T, i Info) {
				if !i.CNIAmbientEnabled() || !slices.Equal(i.CNIConfig.EnvOverrides, []string{"AMBIENT_ENABLED"}) {
					t.Errorf("ambient %v overrides %v", i.CNIAmbientEnabled(), i.CNIConfig.EnvOverrides)
				}
				s := i.Selectors()
				if len(s) != 2 || s[0].PodSelector.MatchLabels["mesh"] != "ambient" || s[0].NamespaceSelector != nil ||
					s[1].PodSelector != nil || s[1].NamespaceSelector.MatchExpressions[0].Values[1] != "b" {
					t.Errorf("selectors %+v", s)
				}
				if !i.CNIDNSCapture() {
					t.Error("DNS capture unset on 1.27 should be on")
				}
			},
		},
		{
			name: "hostile config: mesh not YAML, selectors invalid, control bytes in names",
			in: Objects{
				Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", "istio/pilot:1.24.2", ambient...)},
				DaemonSets:  []*appsv1.DaemonSet{cniDS("istio-system", "istio/install-cni:1.24.2", 1, 1)},
				ConfigMaps: []*corev1.ConfigMap{cm("istio-system", "istio", "mesh", "rootNamespace: [unclosed"),
					cm("istio-system", "istio-cni-config", "AMBIENT_ENABLED", "true", "AMBIENT_ENABLEMENT_SELECTOR", "- podSelector: {matchExpressions: [{key: a, operator: Bogus}]}")},
			},
			check: func(t *testing.T, i Info) {
				want(t, "root", i.RootNamespace, "istio-system")
				want(t, "root source", i.RootSource, "ConfigMap istio-system/istio: mesh is not YAML: Istio's default")
				if len(i.Problems) != 1 || !strings.Contains(i.Problems[0], "AMBIENT_ENABLEMENT_SELECTOR unreadable") {
					t.Errorf("problems %v", i.Problems)
				}
				if i.CNIDNSCapture() {
					t.Error("DNS capture unset on 1.24 should be off")
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.check(t, Discover(tc.in)) })
	}
}

func TestSwitchesSayWhereEachValueCame(t *testing.T) {
	for _, tc := range []struct {
		name    string
		image   string
		env     []corev1.EnvVar
		switch_ string
		on      bool
		source  string
		ignored bool
	}{
		{"default for the version", "pilot:1.29.0", env("PILOT_ENABLE_AMBIENT", "true"), EnvAutoAllowWaypointPolicy, false, "default in 1.29", false},
		{"set in the env", "pilot:1.29.0", env("PILOT_ENABLE_AMBIENT", "true", EnvAutoAllowWaypointPolicy, "true"), EnvAutoAllowWaypointPolicy, true, "istiod env", false},
		{"dry-run predates 1.29", "pilot:1.28.2", env("PILOT_ENABLE_AMBIENT", "true", EnvDryRunAuthorizationPolicy, "true"), EnvDryRunAuthorizationPolicy, false, "not in 1.28 (added in 1.29)", true},
		{"dry-run on 1.29", "pilot:1.29.0", env("PILOT_ENABLE_AMBIENT", "true", EnvDryRunAuthorizationPolicy, "true"), EnvDryRunAuthorizationPolicy, true, "istiod env", false},
		{"ambient-gated without ambient", "pilot:1.29.0", env(EnvIngressWaypointRouting, "true"), EnvIngressWaypointRouting, false, "forced off: needs PILOT_ENABLE_AMBIENT=true", true},
		{"not gated without ambient", "pilot:1.29.0", env(EnvSelectorGatewayPolicy, "false"), EnvSelectorGatewayPolicy, false, "istiod env", false},
		{"unparsable", "pilot:1.29.0", env("PILOT_ENABLE_AMBIENT", "true", EnvSelectorGatewayPolicy, "nope"), EnvSelectorGatewayPolicy, true, `unparsable "nope": istiod uses its default`, true},
		{"ambient unset", "pilot:1.29.0", nil, EnvEnableAmbient, false, "unset: istiod's default", false},
		{"layered policies predate 1.25", "pilot:1.24.3", env("PILOT_ENABLE_AMBIENT", "true"), EnvLayeredWaypointPolicies, false, "not in 1.24 (added in 1.25)", false},
		{"from a ConfigMap", "pilot:1.29.0", append(env("PILOT_ENABLE_AMBIENT", "true"), corev1.EnvVar{Name: EnvAutoAllowWaypointPolicy,
			ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "flags"}, Key: "auto"}}}),
			EnvAutoAllowWaypointPolicy, false, "set from ConfigMap flags key auto, not read: default in 1.29 assumed", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			i := Discover(Objects{Deployments: []*appsv1.Deployment{istiodDep("istio-system", "istiod", "", tc.image, tc.env...)}})
			for _, s := range i.Switches() {
				if s.Name != tc.switch_ {
					continue
				}
				if s.On != tc.on || s.Source != tc.source || s.Ignored != tc.ignored {
					t.Errorf("%s: on %v source %q ignored %v; want %v %q %v", s.Name, s.On, s.Source, s.Ignored, tc.on, tc.source, tc.ignored)
				}
				return
			}
			t.Fatalf("%s not listed", tc.switch_)
		})
	}
	// Nothing read: the assumed version and ambient.
	for _, s := range (Info{}).Switches() {
		if s.Name == EnvEnableAmbient && (!s.On || s.Source != "istiod not read: ambient assumed") {
			t.Errorf("unread ambient: %+v", s)
		}
		if s.Name == EnvAutoAllowWaypointPolicy && s.Source != "default in 1.30 (assumed)" {
			t.Errorf("unread switch source %q", s.Source)
		}
	}
}

func TestImageTag(t *testing.T) {
	for in, wantTag := range map[string]string{
		"docker.io/istio/pilot:1.29.2-distroless":    "1.29.2-distroless",
		"pilot:1.29.2@sha256:abc":                    "1.29.2",
		"registry:5000/istio/pilot":                  "",
		"registry:5000/istio/pilot:1.28.0":           "1.28.0",
		"gcr.io/gke-release/asm/pilot@sha256:0a1b2c": "",
		"": "",
	} {
		if got := ImageTag(in); got != wantTag {
			t.Errorf("ImageTag(%q) = %q, want %q", in, got, wantTag)
		}
	}
}

func want(t *testing.T, what, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("%s = %q, want %q", what, got, want)
	}
}
