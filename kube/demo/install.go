package demo

import (
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/install"
)

// The demo's Istio is 1.31.1, installed with Helm and the ambient profile:
// its Deployment and DaemonSets carry the charts' labels and istiod's env,
// and its ConfigMaps and injector webhook are what the charts render.

// istiodEnv is the discovery container's env as the istiod chart renders it
// with profile=ambient (a subset: the switches and their neighbours).
var istiodEnv = []corev1.EnvVar{
	{Name: "REVISION", Value: "default"},
	{Name: "PILOT_CERT_PROVIDER", Value: "istiod"},
	{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"}}},
	{Name: "POD_NAMESPACE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"}}},
	{Name: "KUBECONFIG", Value: "/var/run/secrets/remote/config"},
	{Name: "CA_TRUSTED_NODE_ACCOUNTS", Value: "istio-system/ztunnel"},
	{Name: "PILOT_TRACE_SAMPLING", Value: "1"},
	{Name: "PILOT_ENABLE_ANALYSIS", Value: "false"},
	{Name: "CLUSTER_ID", Value: "Kubernetes"},
	{Name: "PLATFORM", Value: ""},
	{Name: "PILOT_ENABLE_AMBIENT", Value: "true"},
}

// cniConfigData is istio-cni-config as the istio-cni chart renders it with
// profile=ambient.
var cniConfigData = map[string]string{
	"CURRENT_AGENT_VERSION":                  istioVersion,
	"AMBIENT_ENABLED":                        "true",
	"AMBIENT_ENABLEMENT_SELECTOR":            "- podSelector:\n    matchLabels:\n      istio.io/dataplane-mode: ambient\n- namespaceSelector:\n    matchLabels:\n      istio.io/dataplane-mode: ambient\n  podSelector:\n    matchExpressions:\n    - key: istio.io/dataplane-mode\n      operator: NotIn\n      values:\n      - none\n",
	"AMBIENT_DNS_CAPTURE":                    "true",
	"AMBIENT_IPV6":                           "true",
	"AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "true",
	"ENABLE_AMBIENT_DETECTION_RETRY":         "false",
	"CHAINED_CNI_PLUGIN":                     "true",
	"EXCLUDE_NAMESPACES":                     "kube-system",
	"REPAIR_ENABLED":                         "true",
	"NATIVE_NFTABLES":                        "false",
}

const meshConfig = `accessLogFile: /dev/stdout
defaultConfig:
  discoveryAddress: istiod.istio-system.svc:15012
defaultProviders:
  metrics:
  - prometheus
enablePrometheusMerge: true
rootNamespace: istio-system
trustDomain: cluster.local
`

// install gives the istio-system workloads the charts' labels and env and
// adds the ConfigMaps and webhooks, then reads the installation from them
// as a real cluster's would be read.
func (w *world) install(now time.Time) {
	created := metav1.NewTime(at(now, 96*day))
	chart := func(name string) map[string]string {
		return map[string]string{"app.kubernetes.io/name": name, "app.kubernetes.io/version": istioVersion,
			"app.kubernetes.io/part-of": "istio", "app.kubernetes.io/managed-by": "Helm", "istio.io/rev": "default"}
	}
	var o install.Objects
	for _, obj := range w.workloads {
		switch x := obj.(type) {
		case *appsv1.Deployment:
			if x.Namespace == "istio-system" && x.Name == "istiod" {
				for k, v := range chart("istiod") {
					x.Labels[k] = v
				}
				x.Spec.Template.Spec.Containers[0].Env = istiodEnv
				o.Deployments = append(o.Deployments, x)
			}
		case *appsv1.DaemonSet:
			if x.Namespace != "istio-system" {
				continue
			}
			switch x.Name {
			case "ztunnel":
				for k, v := range chart("ztunnel") {
					x.Labels[k] = v
				}
				delete(x.Labels, "istio.io/rev") // ztunnel's chart puts it in an annotation
				x.Annotations["istio.io/rev"] = "default"
			case "istio-cni-node":
				for k, v := range chart("istio-cni") {
					x.Labels[k] = v
				}
			default:
				continue
			}
			o.DaemonSets = append(o.DaemonSets, x)
		}
	}
	meta := func(name, component string) metav1.ObjectMeta {
		l := chart(component)
		l["release"] = component
		return metav1.ObjectMeta{Namespace: "istio-system", Name: name, Labels: l, CreationTimestamp: created,
			UID: uid("ConfigMap", "istio-system", name)}
	}
	w.configMaps = []*corev1.ConfigMap{
		{ObjectMeta: meta("istio", "istiod"), Data: map[string]string{"mesh": meshConfig, "meshNetworks": "networks: {}"}},
		{ObjectMeta: meta("istio-cni-config", "istio-cni"), Data: cniConfigData},
	}
	inj := meta("istio-sidecar-injector", "istiod")
	inj.Namespace = ""
	tag := meta("istio-revision-tag-default", "istiod")
	tag.Namespace = ""
	tag.Labels["istio.io/tag"] = "default"
	w.webhooks = []*admissionv1.MutatingWebhookConfiguration{{ObjectMeta: inj}, {ObjectMeta: tag}}
	o.ConfigMaps, o.Webhooks = w.configMaps, w.webhooks

	c := &w.cluster
	c.Install = install.Discover(o)
	c.RootNamespace = c.Install.RootNamespace
}

// InstallObjects returns the objects ambx reads the demo's installation
// from: the istiod Deployment, the ztunnel and istio-cni DaemonSets, the
// `istio` and `istio-cni-config` ConfigMaps and the injector webhooks
// (which hold no webhooks, so a real API server calls nothing for them).
// Tests apply them to a real API server beside Objects.
func InstallObjects(now time.Time) []runtime.Object {
	w := build(now)
	var out []runtime.Object
	for _, obj := range w.workloads {
		switch x := obj.(type) {
		case *appsv1.Deployment:
			if x.Namespace == "istio-system" && x.Name == "istiod" {
				out = append(out, x)
			}
		case *appsv1.DaemonSet:
			if x.Namespace == "istio-system" && (x.Name == "ztunnel" || x.Name == "istio-cni-node") {
				out = append(out, x)
			}
		}
	}
	for _, cm := range w.configMaps {
		out = append(out, cm)
	}
	for _, wh := range w.webhooks {
		out = append(out, wh)
	}
	return out
}
