package kube_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/kube/rbac"
)

// installIstio creates what the Istio charts install, istiod in istio-system
// and ztunnel and istio-cni in dataplaneNS, with the status their
// controllers would write (no controller runs here).
func installIstio(t *testing.T, env *kubeenv.Env, dataplaneNS, tag string, nodes ...string) {
	t.Helper()
	ctx := context.Background()
	env.CreateNamespace(t, "istio-system", nil)
	if dataplaneNS != "kube-system" && dataplaneNS != "istio-system" {
		env.CreateNamespace(t, dataplaneNS, nil)
	}
	one := int32(1)
	istiod := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istiod",
			Labels: map[string]string{"app": "istiod", "istio": "pilot", "istio.io/rev": "default"}},
		Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "istiod"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "istiod"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "discovery", Image: "docker.io/istio/pilot:" + tag,
					Env: []corev1.EnvVar{{Name: "PILOT_ENABLE_AMBIENT", Value: "true"}}}}}}},
	}
	d, err := env.Client.AppsV1().Deployments("istio-system").Create(ctx, istiod, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d.Status = appsv1.DeploymentStatus{Replicas: 1, ReadyReplicas: 1, AvailableReplicas: 1}
	if _, err := env.Client.AppsV1().Deployments("istio-system").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	n := int32(len(nodes))
	for _, ds := range []struct {
		name, image, container string
		dsLabels, podLabels    map[string]string
	}{
		{"ztunnel", "ztunnel", "istio-proxy", map[string]string{"app.kubernetes.io/name": "ztunnel"}, map[string]string{"app": "ztunnel"}},
		{"istio-cni-node", "install-cni", "install-cni", map[string]string{"app.kubernetes.io/name": "istio-cni", "k8s-app": "istio-cni-node"}, map[string]string{"k8s-app": "istio-cni-node"}},
	} {
		obj := &appsv1.DaemonSet{
			ObjectMeta: metav1.ObjectMeta{Namespace: dataplaneNS, Name: ds.name, Labels: ds.dsLabels},
			Spec: appsv1.DaemonSetSpec{
				Selector: &metav1.LabelSelector{MatchLabels: ds.podLabels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: ds.podLabels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: ds.container, Image: "docker.io/istio/" + ds.image + ":" + tag}}}}},
		}
		got, err := env.Client.AppsV1().DaemonSets(dataplaneNS).Create(ctx, obj, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got.Status = appsv1.DaemonSetStatus{DesiredNumberScheduled: n, CurrentNumberScheduled: n, NumberReady: n, NumberAvailable: n}
		if _, err := env.Client.AppsV1().DaemonSets(dataplaneNS).UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, node := range nodes {
			p := pod(dataplaneNS, ds.name+"-"+node, node, ds.podLabels)
			p.Spec.Containers[0].Name = ds.container
			env.CreatePod(t, p)
		}
	}
	for _, cm := range []*corev1.ConfigMap{
		{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "istio", Labels: map[string]string{"istio.io/rev": "default"}},
			Data: map[string]string{"mesh": "rootNamespace: istio-system\ntrustDomain: cluster.local\n"}},
		{ObjectMeta: metav1.ObjectMeta{Namespace: dataplaneNS, Name: "istio-cni-config", Labels: map[string]string{"istio.io/rev": "default"}},
			Data: map[string]string{"AMBIENT_ENABLED": "true", "EXCLUDE_NAMESPACES": "kube-system"}},
		// Not Istio's: the Source must not list it.
		{ObjectMeta: metav1.ObjectMeta{Namespace: "istio-system", Name: "unrelated"}, Data: map[string]string{"big": strings.Repeat("x", 1<<10)}},
	} {
		if _, err := env.Client.CoreV1().ConfigMaps(cm.Namespace).Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestClusterInstallInKubeSystem: with ztunnel and istio-cni in kube-system,
// as on GKE and OpenShift, ambx finds them by label, reads the versions,
// and reports no node as lacking ztunnel.
func TestClusterInstallInKubeSystem(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Audit: true})
	a := env.CreateNode(t, "node-a", nil)
	b := env.CreateNode(t, "node-b", nil)
	installIstio(t, env, "kube-system", "1.29.2-distroless", a.Name, b.Name)
	env.CreateNamespace(t, "shop", map[string]string{"istio.io/dataplane-mode": "ambient"})
	for _, n := range []string{a.Name, b.Name} {
		p := pod("shop", "web-"+n, n, map[string]string{"app": "web"})
		p.Annotations = map[string]string{"ambient.istio.io/redirection": "enabled"}
		env.CreatePod(t, p)
	}
	w := watch(t, env.Kubeconfig)
	s := w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if why := availability(s, nil); why != "" {
			return why
		}
		if why := missing("pods", names(s.Pods), "shop/web-node-a", "shop/web-node-b", "kube-system/ztunnel-node-a", "kube-system/istio-cni-node-node-b"); why != "" {
			return why
		}
		if h := s.Install.Headline(); h != "Istio 1.29.2" {
			return "headline " + h
		}
		if len(s.Install.Components) != 3 {
			return "components not all read yet"
		}
		return ""
	})
	in := s.Install
	if in.ZtunnelNamespace != "kube-system" || in.Ztunnel.String() != "1.29.2" || in.CNI.String() != "1.29.2" ||
		!in.CNIConfig.Read || in.CNIConfig.Source != "ConfigMap kube-system/istio-cni-config" || in.RootNamespace != "istio-system" {
		t.Errorf("install: %+v", in)
	}
	for _, f := range s.Findings {
		if f.Code == "dataplane-not-ready" || strings.HasPrefix(f.Code, "install-") {
			t.Errorf("false finding %s on %s: %s (%s)", f.Code, f.Object, f.Title, f.Why)
		}
	}
	// Only labelled objects were asked for: never every ConfigMap,
	// Deployment or DaemonSet of the cluster. The audit log is written in
	// batches, so wait for the Source's requests to show.
	deadline := time.Now().Add(15 * time.Second)
	for {
		seen := map[string]bool{}
		var bad []string
		for _, e := range startedRequests(t, env) {
			if e.ObjectRef == nil || (e.Verb != "list" && e.Verb != "watch") || e.UserAgent != "ambx" {
				continue
			}
			switch e.ObjectRef.Resource {
			case "configmaps", "deployments", "daemonsets", "mutatingwebhookconfigurations":
				seen[e.ObjectRef.Resource] = true
				if u, err := url.Parse(e.RequestURI); err != nil || u.Query().Get("labelSelector") == "" {
					bad = append(bad, e.Verb+" "+e.RequestURI)
				}
			}
		}
		if len(bad) > 0 {
			t.Fatalf("listed without a label selector: %v", bad)
		}
		if len(seen) == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the audit log shows the Source reading only %v", seen)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestClusterInstallForbidden: a user who may not list Deployments gets
// the version the verdicts assume, said as such, not a silent default.
func TestClusterInstallForbidden(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	node := env.CreateNode(t, "node-a", nil)
	installIstio(t, env, "istio-system", "1.28.1", node.Name)
	kubeconfig := bindLimitedUser(t, env, shippedRoleWithout(t, env, rbac.AuditorYAML, "ambx-auditor-no-apps", "deployments", "daemonsets"))
	w := watch(t, kubeconfig)
	s := w.await(t, 30*time.Second, func(s *kube.Snapshot) string {
		if why := availability(s, map[kube.Resource]kube.Availability{
			kube.ResIstiodDeployments: kube.Forbidden, kube.ResDataplaneDaemonSets: kube.Forbidden}); why != "" {
			return why
		}
		return ""
	})
	in := s.Install
	if in.Headline() != "Istio unreadable, assuming "+install.AssumedVersion.MinorString() || !in.Assumed() {
		t.Errorf("headline %q", in.Headline())
	}
	var found bool
	for _, f := range s.Findings {
		found = found || f.Code == "install-unreadable" && strings.Contains(f.Why, "assume Istio "+install.AssumedVersion.MinorString())
		if f.Code == "dataplane-not-ready" || f.Code == "install-dataplane-missing" {
			t.Errorf("unreadable DaemonSets read as missing: %s: %s", f.Code, f.Why)
		}
	}
	if !found {
		t.Errorf("no install-unreadable finding naming the assumed version")
	}
}

// startedRequests reads the audit log including requests still running:
// watches are logged at ResponseStarted and complete only when closed.
func startedRequests(t *testing.T, env *kubeenv.Env) []kubeenv.AuditEvent {
	t.Helper()
	env.AuditEvents(t) // fails the test unless auditing is on
	b, err := os.ReadFile(filepath.Join(env.Dir, "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []kubeenv.AuditEvent
	for _, line := range bytes.Split(b, []byte("\n")) {
		var e kubeenv.AuditEvent
		if json.Unmarshal(line, &e) == nil {
			out = append(out, e)
		}
	}
	return out
}
