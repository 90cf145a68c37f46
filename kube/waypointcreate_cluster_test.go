package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/kubeenv"
	"github.com/ambx/ambx/views/confirm"
)

// The real binary in tmux, on a cluster where istiod runs: C on an
// enrolled namespace opens the create form (name istioctl's default,
// enrolment on), enter shows the Gateway to create and the namespace's
// patch, y sends them, and the progress view follows the Gateway until
// istiod programs it and the controllers run its pod. The cluster then
// holds the Gateway of class istio-waypoint and the namespace's
// use-waypoint label, and istiod binds the namespace's Service to it.
func TestClusterBinaryCreateWaypoint(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Istiod: true})
	env.CreateNode(t, "node-a", nil)
	ctx := context.Background()
	const ns = "wp-tui"
	env.CreateNamespace(t, ns, map[string]string{ambient.LabelDataplaneMode: "ambient"})
	if _, err := env.Client.CoreV1().Services(ns).Create(ctx, clusterIPService(ns, "shop", nil), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	x := startAmbx(t, env.Kubeconfig)
	x.waitScreen(60*time.Second, "connected", ns)
	x.keys("1", "/")
	x.keys("-l", ns)
	x.keys("Enter")
	x.waitScreen(10*time.Second, ns)
	x.keys("C")
	x.waitScreen(10*time.Second, "Create a waypoint in "+ns, "[x] yes: label the namespace istio.io/use-waypoint=")
	x.keys("Enter")
	x.waitScreen(20*time.Second, "Create waypoint "+ns+"/waypoint", "gatewayClassName: istio-waypoint", "port: 15008")
	// The dialog takes no answer until its what-if has arrived, and drops
	// one typed within its guard time, as a person's typing ahead.
	x.waitScreen(30*time.Second, "What-if:")
	time.Sleep(confirm.Guard + 300*time.Millisecond)
	x.keys("y")
	started := time.Now()
	progress := x.waitScreen(2*time.Minute, "Waypoint "+ns+"/waypoint", "✔ programmed after", "✔ waypoint pods ready 1/1")
	t.Logf("the progress view said programmed %s after y", time.Since(started).Round(time.Second))
	if strings.Contains(progress, "✖") {
		t.Errorf("the progress view shows a failure:\n%s", progress)
	}

	clients, err := kube.Connect(kube.ConnectOptions{Kubeconfig: env.Kubeconfig})
	if err != nil {
		t.Fatal(err)
	}
	gw, err := clients.Gateway.GatewayV1().Gateways(ns).Get(ctx, "waypoint", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("y created no Gateway: %v", err)
	}
	if gw.Spec.GatewayClassName != ambient.WaypointGatewayClass || len(gw.Spec.Listeners) != 1 || gw.Spec.Listeners[0].Port != 15008 {
		t.Errorf("created %+v", gw.Spec)
	}
	got, err := env.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Labels[ambient.LabelUseWaypoint] != "waypoint" || got.Labels[ambient.LabelDataplaneMode] != "ambient" {
		t.Errorf("namespace labels after the create: %v", got.Labels)
	}
	env.WaitIstioStatus(t, istiodTimeout, boundService(ns, "shop", ns+"/waypoint"))

	// ESC closes the progress view; q then quits.
	x.keys("Escape")
	deadline := time.Now().Add(10 * time.Second)
	for strings.Contains(x.screen(), "✔ programmed after") {
		if time.Now().After(deadline) {
			t.Fatalf("ESC did not close the progress view:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}
