package kube_test

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	istioclient "istio.io/client-go/pkg/clientset/versioned"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	gwclient "sigs.k8s.io/gateway-api/pkg/client/clientset/versioned"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/kubeenv"
)

// The demo cluster's objects, created on a real API server and read back
// through kube.Source, must give the same analysis as the same objects
// handed to kube.Build directly. The fakes behind the demo and the unit
// tests store whatever they are given; a real server defaults fields,
// drops status on create, serves status only through its subresource and
// returns CRDs through their typed clients. If the Source or the analysis
// read anything the real server holds differently, this test says what.
//
// What the real server necessarily holds differently, and why it does not
// matter here:
//   - UIDs, resourceVersions, creation timestamps and managedFields are the
//     server's own; the analysis orders PeerAuthentications by age, but the
//     demo has one per namespace.
//   - Pod status (phase, conditions, IPs) is written by kwok, not copied
//     from the demo: every demo pod is Running and Ready, which is what
//     kwok reports, so waypoint readiness agrees. Pod and host IPs differ
//     (kwok hands out 10.244.0.0/16 and node IP 127.0.0.1); the demo's only
//     ipBlock is istio-cni's probe address, which no pod has either way.
//   - Service clusterIPs are allocated by the server from its own range,
//     so Gateway status addresses are rewritten to the real Service IPs;
//     the analysis only asks whether a Gateway has an address.
func TestClusterAnalysisMatchesDemo(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{})
	createDemo(t, env, demo.Objects(demo.Epoch))
	createInstall(t, env, demo.Epoch)
	want := kube.Build(*demo.Objects(demo.Epoch), demo.Epoch)
	w := watch(t, env.Kubeconfig)

	started := time.Now()
	// Two minutes: the server's pods have just started, and ambient gives
	// istio-cni a minute's grace before it calls an uncaptured pod one that
	// needs a restart, as the demo's (long-running) unpoller is.
	got := w.await(t, 2*time.Minute, func(s *kube.Snapshot) string {
		if why := availability(s, nil); why != "" {
			return why
		}
		if why := sameObjects(s, want); why != "" {
			return why
		}
		if why := podsRunning(s, want); why != "" {
			return why
		}
		return analysisDiff(s, want)
	})
	t.Logf("the snapshot agreed with the demo after %s: %d pods, %d findings",
		time.Since(started).Round(time.Millisecond), len(got.Pods), len(got.Findings))

	// The comparison above must have had something to compare: the
	// planted mistakes are all in the findings.
	for _, code := range []string{"pod-needs-restart", "waypoint-missing", "policy-l7-on-ztunnel", "hbone-ingress-blocked"} {
		if !slices.ContainsFunc(got.Findings, func(f finding.Finding) bool { return f.Code == code }) {
			t.Errorf("no %s finding on the real server; codes found: %v", code, findingKeys(got))
		}
	}
	if pi, ok := got.Mesh.Policy("AuthorizationPolicy", ambient.Key{Namespace: "argo-workflows", Name: "argo-server-api"}); !ok || len(pi.Conditions) == 0 {
		t.Errorf("argo-server-api on the real server: %+v; want its ZtunnelAccepted condition read through the status subresource", pi)
	}
}

// sameObjects says which objects of the demo the snapshot lacks or which
// it has beyond them.
func sameObjects(s, want *kube.Snapshot) string {
	for _, c := range []struct {
		kind      string
		got, want []string
	}{
		{"namespaces", names(s.Namespaces), names(want.Namespaces)},
		{"nodes", names(s.Nodes), names(want.Nodes)},
		{"pods", names(s.Pods), names(want.Pods)},
		{"services", names(s.Services), names(want.Services)},
		{"networkpolicies", names(s.NetworkPolicies), names(want.NetworkPolicies)},
		{"gateways", names(s.Gateways), names(want.Gateways)},
		{"gatewayclasses", names(s.GatewayClasses), names(want.GatewayClasses)},
		{"authorizationpolicies", names(s.AuthorizationPolicies), names(want.AuthorizationPolicies)},
		{"peerauthentications", names(s.PeerAuthentications), names(want.PeerAuthentications)},
		{"requestauthentications", names(s.RequestAuthentications), names(want.RequestAuthentications)},
	} {
		if !slices.Equal(c.got, c.want) {
			return fmt.Sprintf("%s: snapshot has %v, the demo %v", c.kind, c.got, c.want)
		}
	}
	return ""
}

// podsRunning waits for kwok to have run every pod, so a comparison
// failure is about the analysis and not about pods still starting.
func podsRunning(s, want *kube.Snapshot) string {
	var waiting []string
	for _, p := range s.Pods {
		if p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" || !podReadyCondition(p) {
			waiting = append(waiting, p.Namespace+"/"+p.Name)
		}
	}
	if len(waiting) > 0 {
		return fmt.Sprintf("%d of %d pods not Running and Ready yet: %v", len(waiting), len(want.Pods), waiting)
	}
	return ""
}

func podReadyCondition(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// analysisDiff lists where the analysis of the snapshot differs from the
// analysis of the demo's objects, or returns "".
func analysisDiff(s, want *kube.Snapshot) string {
	var d []string
	differ := func(what string, got, want any) {
		d = append(d, fmt.Sprintf("%s:\n\treal server: %+v\n\tdemo:        %+v", what, got, want))
	}
	for name, wi := range want.Mesh.Namespaces {
		if gi, ok := s.Mesh.Namespaces[name]; !ok || !reflect.DeepEqual(gi, wi) {
			differ("namespace "+name, gi, wi)
		}
	}
	for k, wi := range want.Mesh.Pods {
		if gi, ok := s.Mesh.Pods[k]; !ok || !reflect.DeepEqual(gi, wi) {
			differ("pod "+k.String(), gi, wi)
		}
	}
	for k, wi := range want.Mesh.Services {
		if gi, ok := s.Mesh.Services[k]; !ok || !reflect.DeepEqual(gi, wi) {
			differ("service "+k.String(), gi, wi)
		}
	}
	if len(s.Mesh.Waypoints) != len(want.Mesh.Waypoints) {
		differ("waypoints", waypointKeys(s.Mesh.Waypoints), waypointKeys(want.Mesh.Waypoints))
	}
	for _, wi := range want.Mesh.Waypoints {
		if gi, ok := s.Mesh.Waypoint(wi.Key); !ok || !reflect.DeepEqual(gi, wi) {
			differ("waypoint "+wi.Key.String(), gi, wi)
		}
	}
	if len(s.Mesh.Policies) != len(want.Mesh.Policies) {
		differ("policy count", len(s.Mesh.Policies), len(want.Mesh.Policies))
	}
	for _, wi := range want.Mesh.Policies {
		if gi, ok := s.Mesh.Policy(wi.Kind, wi.Key); !ok || !reflect.DeepEqual(gi, wi) {
			differ(wi.Kind+" "+wi.Key.String(), gi, wi)
		}
	}
	// Findings are compared by what they are about, not by wording, which
	// may mention ages.
	if g, w := findingKeys(s), findingKeys(want); !slices.Equal(g, w) {
		differ("findings", strings.Join(g, "\n\t\t"), strings.Join(w, "\n\t\t"))
	}
	slices.Sort(d)
	return strings.Join(d, "\n")
}

func waypointKeys(ws []ambient.WaypointInfo) []string {
	out := make([]string, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.Key.String())
	}
	return out
}

// findingKeys are a snapshot's findings as "severity code object", sorted.
func findingKeys(s *kube.Snapshot) []string {
	out := make([]string, 0, len(s.Findings))
	for _, f := range s.Findings {
		out = append(out, fmt.Sprintf("%s %s %s", f.Severity, f.Code, f.Object))
	}
	slices.Sort(out)
	return out
}

// createDemo creates every object of c on the env's API server, status
// included, the way the controllers of a real cluster would have left it.
// createInstall creates the objects the demo's installation is read from
// (istiod's Deployment, the data plane's DaemonSets, Istio's ConfigMaps and
// webhooks), so the Source discovers the same Istio as the demo names.
func createInstall(t *testing.T, env *kubeenv.Env, now time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, obj := range demo.InstallObjects(now) {
		var err error
		switch o := obj.(type) {
		// No controller runs here: the status the demo's controllers would
		// have written is written as theirs.
		case *appsv1.Deployment:
			fresh(o)
			status := o.Status
			var made *appsv1.Deployment
			if made, err = env.Client.AppsV1().Deployments(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); err == nil {
				made.Status = status
				_, err = env.Client.AppsV1().Deployments(o.Namespace).UpdateStatus(ctx, made, metav1.UpdateOptions{})
			}
		case *appsv1.DaemonSet:
			fresh(o)
			status := o.Status
			var made *appsv1.DaemonSet
			if made, err = env.Client.AppsV1().DaemonSets(o.Namespace).Create(ctx, o, metav1.CreateOptions{}); err == nil {
				made.Status = status
				_, err = env.Client.AppsV1().DaemonSets(o.Namespace).UpdateStatus(ctx, made, metav1.UpdateOptions{})
			}
		case *corev1.ConfigMap:
			fresh(o)
			_, err = env.Client.CoreV1().ConfigMaps(o.Namespace).Create(ctx, o, metav1.CreateOptions{})
		case *admissionregv1.MutatingWebhookConfiguration:
			fresh(o)
			_, err = env.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, o, metav1.CreateOptions{})
		default:
			t.Fatalf("demo install object %T not created", obj)
		}
		if err != nil {
			t.Fatalf("create demo install object %T: %v", obj, err)
		}
	}
}

func createDemo(t *testing.T, env *kubeenv.Env, c *ambient.Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	fail := func(what string, o metav1.Object, err error) {
		t.Helper()
		t.Fatalf("%s %s: %v", what, strings.TrimPrefix(o.GetNamespace()+"/"+o.GetName(), "/"), err)
	}
	for _, n := range c.Nodes {
		env.CreateNode(t, n.Name, n.Labels)
	}
	for _, ns := range c.Namespaces {
		existing, err := env.Client.CoreV1().Namespaces().Get(ctx, ns.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			fresh(ns)
			ns.Status = corev1.NamespaceStatus{}
			if _, err := env.Client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
				fail("create namespace", ns, err)
			}
		case err != nil:
			fail("get namespace", ns, err)
		default:
			// The server made default and kube-system itself; the demo
			// only adds labels to them.
			if existing.Labels == nil {
				existing.Labels = map[string]string{}
			}
			maps.Copy(existing.Labels, ns.Labels)
			if _, err := env.Client.CoreV1().Namespaces().Update(ctx, existing, metav1.UpdateOptions{}); err != nil {
				fail("label namespace", ns, err)
			}
		}
	}
	for _, p := range c.Pods {
		fresh(p)
		// kwok plays the kubelet and writes the status.
		p.Status = corev1.PodStatus{}
		if _, err := env.Client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			fail("create pod", p, err)
		}
	}
	serviceIPs := map[string]string{}
	for _, s := range c.Services {
		if existing, err := env.Client.CoreV1().Services(s.Namespace).Get(ctx, s.Name, metav1.GetOptions{}); err == nil {
			serviceIPs[s.Namespace+"/"+s.Name] = existing.Spec.ClusterIP
			continue // default/kubernetes, which the API server keeps itself
		}
		fresh(s)
		if s.Spec.ClusterIP != corev1.ClusterIPNone {
			// The demo's addresses are outside this server's range.
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "", nil
		}
		status := s.Status
		s.Status = corev1.ServiceStatus{}
		created, err := env.Client.CoreV1().Services(s.Namespace).Create(ctx, s, metav1.CreateOptions{})
		if err != nil {
			fail("create service", s, err)
		}
		serviceIPs[s.Namespace+"/"+s.Name] = created.Spec.ClusterIP
		if len(status.Conditions) > 0 {
			created.Status = status
			if _, err := env.Client.CoreV1().Services(s.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				fail("write status of service", s, err)
			}
		}
	}
	for _, np := range c.NetworkPolicies {
		fresh(np)
		if _, err := env.Client.NetworkingV1().NetworkPolicies(np.Namespace).Create(ctx, np, metav1.CreateOptions{}); err != nil {
			fail("create networkpolicy", np, err)
		}
	}

	gw := gwclient.NewForConfigOrDie(env.Config).GatewayV1()
	for _, gc := range c.GatewayClasses {
		fresh(gc)
		status := gc.Status
		created, err := gw.GatewayClasses().Create(ctx, gc, metav1.CreateOptions{})
		if err != nil {
			fail("create gatewayclass", gc, err)
		}
		created.Status = status
		if _, err := gw.GatewayClasses().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			fail("write status of gatewayclass", gc, err)
		}
	}
	for _, g := range c.Gateways {
		fresh(g)
		status := g.Status
		for i, a := range status.Addresses {
			// A waypoint's address is its Service's; an ingress
			// gateway's is the load balancer's, which stays.
			if a.Type != nil && *a.Type == gwv1.IPAddressType && g.Spec.GatewayClassName == "istio-waypoint" {
				ip, ok := serviceIPs[g.Namespace+"/"+g.Name]
				if !ok {
					t.Fatalf("gateway %s/%s has no Service of its name in the demo", g.Namespace, g.Name)
				}
				status.Addresses[i].Value = ip
			}
		}
		created, err := gw.Gateways(g.Namespace).Create(ctx, g, metav1.CreateOptions{})
		if err != nil {
			fail("create gateway", g, err)
		}
		created.Status = status
		if _, err := gw.Gateways(g.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			fail("write status of gateway", g, err)
		}
	}

	sec := istioclient.NewForConfigOrDie(env.Config).SecurityV1()
	for _, p := range c.AuthorizationPolicies {
		fresh(p)
		conds := p.Status.Conditions // the only status istiod writes on them
		created, err := sec.AuthorizationPolicies(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			fail("create authorizationpolicy", p, err)
		}
		if len(conds) > 0 {
			created.Status.Conditions = conds
			if _, err := sec.AuthorizationPolicies(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				fail("write status of authorizationpolicy", p, err)
			}
		}
	}
	for _, p := range c.PeerAuthentications {
		fresh(p)
		conds := p.Status.Conditions // the only status istiod writes on them
		created, err := sec.PeerAuthentications(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			fail("create peerauthentication", p, err)
		}
		if len(conds) > 0 {
			created.Status.Conditions = conds
			if _, err := sec.PeerAuthentications(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				fail("write status of peerauthentication", p, err)
			}
		}
	}
	for _, p := range c.RequestAuthentications {
		fresh(p)
		conds := p.Status.Conditions // the only status istiod writes on them
		created, err := sec.RequestAuthentications(p.Namespace).Create(ctx, p, metav1.CreateOptions{})
		if err != nil {
			fail("create requestauthentication", p, err)
		}
		if len(conds) > 0 {
			created.Status.Conditions = conds
			if _, err := sec.RequestAuthentications(p.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				fail("write status of requestauthentication", p, err)
			}
		}
	}
}

// fresh clears what the API server assigns on create and refuses to be
// given.
func fresh(o metav1.Object) {
	o.SetUID("")
	o.SetResourceVersion("")
	o.SetGeneration(0)
	o.SetCreationTimestamp(metav1.Time{})
	o.SetManagedFields(nil)
}
