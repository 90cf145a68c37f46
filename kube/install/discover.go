package install

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Kind names an Istio component.
type Kind string

// The components discovery looks for.
const (
	Istiod  Kind = "istiod"
	Ztunnel Kind = "ztunnel"
	CNI     Kind = "istio-cni"
)

// Labels discovery selects on, in every namespace (reference 0.1). The
// Source lists only objects that carry them.
const (
	// IstiodSelector selects istiod Deployments.
	IstiodSelector = "app=istiod"
	// DataplaneSelector selects the ztunnel and istio-cni DaemonSets: both
	// charts label the DaemonSet itself with app.kubernetes.io/name.
	DataplaneSelector = "app.kubernetes.io/name in (ztunnel,istio-cni)"
	// RevisionSelector selects the ConfigMaps (mesh config, istio-cni-config,
	// injector) and webhooks (revisions and tags) that every Istio chart
	// labels with its revision.
	RevisionSelector = "istio.io/rev"
)

const (
	revLabel  = "istio.io/rev"
	tagLabel  = "istio.io/tag"
	cniConfig = "istio-cni-config"
)

// Component is one installed Istio workload.
type Component struct {
	Kind      Kind
	Namespace string
	Name      string // Deployment or DaemonSet name
	Revision  string // "default" when not revisioned
	Image     string
	Version   Version
	// VersionFrom says where Version was read: the image tag, or the chart
	// label when the image has none (a digest, "latest").
	VersionFrom string
	// Desired and Ready count replicas (istiod) or scheduled pods (DaemonSets).
	Desired, Ready int32
}

// Tag is a revision tag: a name namespaces can use in istio.io/rev that
// points at a revision.
type Tag struct {
	Name, Revision string
}

// Loading, as an Unread reason, means the kind is still being listed: the
// Info says so instead of reporting anything missing.
const Loading = "loading"

// Objects are the API objects discovery reads. The Source lists them by the
// selectors above; Discover still checks each object, so a wider list is
// harmless.
type Objects struct {
	Deployments []*appsv1.Deployment
	DaemonSets  []*appsv1.DaemonSet
	ConfigMaps  []*corev1.ConfigMap
	Webhooks    []*admissionv1.MutatingWebhookConfiguration
	// Unread says, per kind ("deployments", "daemonsets", "configmaps",
	// "mutatingwebhookconfigurations"), why it could not be listed; a kind
	// listed here is not taken for absent.
	Unread map[string]string
}

// Discover reads the installation from its API objects.
func Discover(o Objects) Info {
	info := Info{Discovered: true}
	for _, kind := range []string{"deployments", "daemonsets", "configmaps", "mutatingwebhookconfigurations"} {
		switch why := o.Unread[kind]; why {
		case "":
		case Loading:
			info.Loading = true
		default:
			info.Problems = append(info.Problems, fmt.Sprintf("cannot list %s: %s", kind, why))
		}
	}
	info.DeploymentsUnread = o.Unread["deployments"] != ""
	info.DaemonSetsUnread = o.Unread["daemonsets"] != ""

	var istiods []*appsv1.Deployment
	for _, d := range o.Deployments {
		if d != nil && d.Labels["app"] == "istiod" {
			istiods = append(istiods, d)
		}
	}
	slices.SortFunc(istiods, func(a, b *appsv1.Deployment) int {
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for _, d := range istiods {
		info.Components = append(info.Components, istiodComponent(d))
	}
	info.Tags = tags(o.Webhooks)

	primary := -1
	if len(istiods) > 0 {
		primary = pickPrimary(info.Components, info.Tags)
		c := info.Components[primary]
		info.Istiod = c.Version
		info.Revision = c.Revision
		info.IstiodNamespace = c.Namespace
		info.Env, info.EnvUnread = containerEnv(container(&istiods[primary].Spec.Template.Spec, "discovery"))
		if len(istiods) > 1 {
			info.Problems = append(info.Problems, fmt.Sprintf("%d istiod revisions run; verdicts follow %s (revision %s)", len(istiods), c.Namespace+"/"+c.Name, c.Revision))
		}
	}

	var cniDS *appsv1.DaemonSet
	var dss []*appsv1.DaemonSet
	for _, d := range o.DaemonSets {
		if d != nil && dataplaneKind(d) != "" {
			dss = append(dss, d)
		}
	}
	// ztunnel before istio-cni, then by namespace and name.
	slices.SortFunc(dss, func(a, b *appsv1.DaemonSet) int {
		if ka, kb := dataplaneKind(a), dataplaneKind(b); ka != kb {
			return -strings.Compare(string(ka), string(kb))
		}
		return strings.Compare(a.Namespace+"/"+a.Name, b.Namespace+"/"+b.Name)
	})
	for _, d := range dss {
		c := daemonSetComponent(d)
		info.Components = append(info.Components, c)
		switch c.Kind {
		case Ztunnel:
			if !info.Ztunnel.Known() || c.Version.Compare(info.Ztunnel) < 0 {
				info.Ztunnel = c.Version // the oldest running governs data-plane rules
			}
			if info.ZtunnelNamespace == "" {
				info.ZtunnelNamespace = c.Namespace
			}
		case CNI:
			if !info.CNI.Known() || c.Version.Compare(info.CNI) < 0 {
				info.CNI = c.Version
			}
			if cniDS == nil {
				cniDS = d
			}
		}
	}

	var mesh *meshv1alpha1.MeshConfig
	info.RootNamespace, info.RootSource, mesh = rootNamespace(o.ConfigMaps, info, o.Unread["configmaps"] != "")
	info.ServiceEntryVisibility = mesh.GetServiceEntryVisibility()
	info.CNIConfig = readCNIConfig(o.ConfigMaps, cniDS, &info)
	return info
}

// pickPrimary chooses the istiod verdicts follow: the revision the default
// tag points at, else the one named default, else the first.
func pickPrimary(cs []Component, tags []Tag) int {
	want := "default"
	for _, t := range tags {
		if t.Name == "default" {
			want = t.Revision
		}
	}
	for i, c := range cs {
		if c.Revision == want {
			return i
		}
	}
	return 0
}

func istiodComponent(d *appsv1.Deployment) Component {
	c := Component{Kind: Istiod, Namespace: d.Namespace, Name: d.Name, Revision: revision(d.Labels[revLabel])}
	ct := container(&d.Spec.Template.Spec, "discovery")
	if ct != nil {
		c.Image = ct.Image
		for _, e := range ct.Env {
			if e.Name == "REVISION" && e.Value != "" && d.Labels[revLabel] == "" {
				c.Revision = e.Value
			}
		}
	}
	c.Version, c.VersionFrom = version(c.Image, d.Labels)
	c.Desired = 1
	if d.Spec.Replicas != nil {
		c.Desired = *d.Spec.Replicas
	}
	c.Ready = d.Status.ReadyReplicas
	return c
}

func dataplaneKind(d *appsv1.DaemonSet) Kind {
	l, pl := d.Labels, d.Spec.Template.Labels
	switch {
	case l["app.kubernetes.io/name"] == "ztunnel" || pl["app"] == "ztunnel":
		return Ztunnel
	case l["app.kubernetes.io/name"] == "istio-cni" || l["k8s-app"] == "istio-cni-node" || pl["k8s-app"] == "istio-cni-node":
		return CNI
	}
	return ""
}

func daemonSetComponent(d *appsv1.DaemonSet) Component {
	kind := dataplaneKind(d)
	c := Component{Kind: kind, Namespace: d.Namespace, Name: d.Name}
	// ztunnel carries its revision as an annotation, istio-cni as a label.
	rev := d.Annotations[revLabel]
	if rev == "" {
		rev = d.Labels[revLabel]
	}
	c.Revision = revision(rev)
	name := "istio-proxy"
	if kind == CNI {
		name = "install-cni"
	}
	if ct := container(&d.Spec.Template.Spec, name); ct != nil {
		c.Image = ct.Image
	}
	c.Version, c.VersionFrom = version(c.Image, d.Labels)
	c.Desired, c.Ready = d.Status.DesiredNumberScheduled, d.Status.NumberReady
	return c
}

func revision(r string) string {
	if r == "" {
		return "default"
	}
	return r
}

// container is the named container, else the first one.
func container(s *corev1.PodSpec, name string) *corev1.Container {
	for i := range s.Containers {
		if s.Containers[i].Name == name {
			return &s.Containers[i]
		}
	}
	if len(s.Containers) > 0 {
		return &s.Containers[0]
	}
	return nil
}

// version reads the image tag, else the chart's version label.
func version(image string, labels map[string]string) (Version, string) {
	if v, ok := ParseVersion(ImageTag(image)); ok {
		return v, "image tag"
	}
	if v, ok := ParseVersion(labels["app.kubernetes.io/version"]); ok {
		return v, "label app.kubernetes.io/version"
	}
	return Version{}, ""
}

// ImageTag is the tag of an image reference ("hub/pilot:1.29.2@sha256:…"
// gives "1.29.2"), or "" when it has none.
func ImageTag(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	slash := strings.LastIndexByte(image, '/')
	colon := strings.LastIndexByte(image, ':')
	if colon <= slash {
		return "" // no tag, or the colon is a registry port
	}
	return image[colon+1:]
}

// containerEnv splits a container's env into values read and names set
// from elsewhere (valueFrom), which ambx does not follow.
func containerEnv(c *corev1.Container) (map[string]string, map[string]string) {
	env := map[string]string{}
	var unread map[string]string
	if c == nil {
		return env, nil
	}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			if unread == nil {
				unread = map[string]string{}
			}
			unread[e.Name] = valueFromString(e.ValueFrom)
			delete(env, e.Name)
			continue
		}
		env[e.Name] = e.Value
		delete(unread, e.Name)
	}
	return env, unread
}

func valueFromString(v *corev1.EnvVarSource) string {
	switch {
	case v.ConfigMapKeyRef != nil:
		return "ConfigMap " + v.ConfigMapKeyRef.Name + " key " + v.ConfigMapKeyRef.Key
	case v.SecretKeyRef != nil:
		return "Secret " + v.SecretKeyRef.Name + " key " + v.SecretKeyRef.Key
	case v.FieldRef != nil:
		return "field " + v.FieldRef.FieldPath
	}
	return "another source"
}

// tags reads revision tags from the injector webhooks: a tag's webhook
// carries istio.io/tag and the revision it points at in istio.io/rev.
func tags(whs []*admissionv1.MutatingWebhookConfiguration) []Tag {
	var out []Tag
	for _, w := range whs {
		if w == nil {
			continue
		}
		if t := w.Labels[tagLabel]; t != "" {
			out = append(out, Tag{Name: t, Revision: revision(w.Labels[revLabel])})
		}
	}
	slices.SortFunc(out, func(a, b Tag) int { return strings.Compare(a.Name, b.Name) })
	return slices.Compact(out)
}

// rootNamespace reads meshConfig.rootNamespace from the primary revision's
// mesh ConfigMap (istio or istio-<rev> in istiod's namespace), and returns
// the mesh config it read (nil when none).
func rootNamespace(cms []*corev1.ConfigMap, info Info, unread bool) (string, string, *meshv1alpha1.MeshConfig) {
	const fallback = "istio-system"
	if info.IstiodNamespace == "" {
		return fallback, "Istio's default (no istiod found)", nil
	}
	name := "istio"
	if info.Revision != "default" {
		name += "-" + info.Revision
	}
	for _, cm := range cms {
		if cm == nil || cm.Namespace != info.IstiodNamespace || cm.Name != name {
			continue
		}
		where := "ConfigMap " + cm.Namespace + "/" + cm.Name
		mesh, ok := cm.Data["mesh"]
		if !ok {
			return fallback, where + " has no mesh key: Istio's default", nil
		}
		js, err := yaml.YAMLToJSON([]byte(mesh))
		if err != nil {
			return fallback, where + ": mesh is not YAML: Istio's default", nil
		}
		var mc meshv1alpha1.MeshConfig
		if string(js) != "null" {
			if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(js, &mc); err != nil {
				return fallback, where + ": mesh unreadable (" + firstLine(err.Error()) + "): Istio's default", nil
			}
		}
		if mc.GetRootNamespace() == "" {
			return fallback, where + " leaves it unset: Istio's default", &mc
		}
		return mc.GetRootNamespace(), where + " meshConfig.rootNamespace", &mc
	}
	if unread {
		return fallback, "ConfigMaps unreadable: Istio's default", nil
	}
	return fallback, "no ConfigMap " + info.IstiodNamespace + "/" + name + ": Istio's default", nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

// readCNIConfig reads istio-cni-config in istio-cni's namespace, with the
// install-cni container's plain env over it (envFrom loses to env).
func readCNIConfig(cms []*corev1.ConfigMap, ds *appsv1.DaemonSet, info *Info) CNIConfig {
	var cfg CNIConfig
	var cm *corev1.ConfigMap
	for _, c := range cms {
		if c == nil || c.Name != cniConfig {
			continue
		}
		if ds == nil || c.Namespace == ds.Namespace {
			cm = c
			break
		}
	}
	data := map[string]string{}
	if cm != nil {
		cfg.Source = "ConfigMap " + cm.Namespace + "/" + cm.Name
		for k, v := range cm.Data {
			data[k] = v
		}
	}
	if ds != nil {
		if ct := container(&ds.Spec.Template.Spec, "install-cni"); ct != nil {
			for _, e := range ct.Env {
				if _, known := cniKeys[e.Name]; known && e.ValueFrom == nil {
					data[e.Name] = e.Value
					cfg.EnvOverrides = append(cfg.EnvOverrides, e.Name)
				}
			}
		}
	}
	if cm == nil && len(cfg.EnvOverrides) == 0 {
		return cfg
	}
	cfg.Read = true
	cfg.Values = data
	cfg.AmbientEnabled, _ = strconv.ParseBool(strings.TrimSpace(data["AMBIENT_ENABLED"]))
	for _, ns := range strings.Split(data["EXCLUDE_NAMESPACES"], ",") {
		if ns = strings.TrimSpace(ns); ns != "" {
			cfg.ExcludeNamespaces = append(cfg.ExcludeNamespaces, ns)
		}
	}
	if raw := strings.TrimSpace(data["AMBIENT_ENABLEMENT_SELECTOR"]); raw != "" && raw != "null" {
		sel, err := parseSelectors(raw)
		if err != nil {
			info.Problems = append(info.Problems, "istio-cni AMBIENT_ENABLEMENT_SELECTOR unreadable ("+firstLine(err.Error())+"): the defaults are assumed")
		} else {
			cfg.EnablementSelectors = sel
		}
	}
	if v, ok := data["AMBIENT_DNS_CAPTURE"]; ok {
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			cfg.DNSCapture = &b
		}
	}
	return cfg
}

// cniKeys are the istio-cni settings ambx reads.
var cniKeys = map[string]struct{}{
	"AMBIENT_ENABLED": {}, "AMBIENT_ENABLEMENT_SELECTOR": {}, "EXCLUDE_NAMESPACES": {},
	"AMBIENT_DNS_CAPTURE": {}, "AMBIENT_IPV6": {}, "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": {},
	"ENABLE_AMBIENT_DETECTION_RETRY": {}, "CURRENT_AGENT_VERSION": {},
}

// parseSelectors reads AMBIENT_ENABLEMENT_SELECTOR as istio-cni does: a
// YAML list of pod and namespace label selectors, an empty one matching
// everything.
func parseSelectors(raw string) ([]EnablementSelector, error) {
	var in []struct {
		PodSelector       metav1.LabelSelector `json:"podSelector"`
		NamespaceSelector metav1.LabelSelector `json:"namespaceSelector"`
	}
	if err := yaml.UnmarshalStrict([]byte(raw), &in); err != nil {
		return nil, err
	}
	out := make([]EnablementSelector, 0, len(in))
	for _, s := range in {
		var e EnablementSelector
		if len(s.PodSelector.MatchLabels)+len(s.PodSelector.MatchExpressions) > 0 {
			ps := s.PodSelector
			if _, err := metav1.LabelSelectorAsSelector(&ps); err != nil {
				return nil, err
			}
			e.PodSelector = &ps
		}
		if len(s.NamespaceSelector.MatchLabels)+len(s.NamespaceSelector.MatchExpressions) > 0 {
			ns := s.NamespaceSelector
			if _, err := metav1.LabelSelectorAsSelector(&ns); err != nil {
				return nil, err
			}
			e.NamespaceSelector = &ns
		}
		out = append(out, e)
	}
	return out, nil
}
