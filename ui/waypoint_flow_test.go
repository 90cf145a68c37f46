package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
)

// wkey is a key press as the terminal sends it, for the keys keyMsg does
// not spell.
func wkey(k string) tea.KeyPressMsg {
	switch k {
	case "ctrl+d":
		return tea.KeyPressMsg{Code: 'd', Mod: tea.ModCtrl}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	}
	return keyMsg(k)
}

func wkeys(t *testing.T, m Model, ks ...string) Model {
	for _, k := range ks {
		m = drive(t, m, wkey(k))
	}
	return m
}

func typed(t *testing.T, m Model, s string) Model {
	for _, r := range s {
		m = drive(t, m, tea.KeyPressMsg{Code: r, Text: string(r)})
	}
	return m
}

// fresh reads the demo cluster again, as the Source would deliver it.
func fresh(t *testing.T, m Model, c *kube.Clients) Model {
	t.Helper()
	s, err := kube.SnapshotOnce(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	return drive(t, m, SnapshotMsg{s})
}

// slowDemoWaypoints makes the demo's istiod slow enough that a snapshot
// taken right after the create shows the wait.
func slowDemoWaypoints(t *testing.T) {
	a, p := demo.AcceptDelay, demo.ProgramDelay
	demo.AcceptDelay, demo.ProgramDelay = time.Second, time.Second
	t.Cleanup(func() { demo.AcceptDelay, demo.ProgramDelay = a, p })
}

// TestCreateWaypointFromANamespace: C on a namespace opens the form for it
// with enrolment on; enter shows the Gateway and the namespace patch, No
// by default; y creates both and the progress view follows the Gateway to
// Programmed.
func TestCreateWaypointFromANamespace(t *testing.T) {
	slowDemoWaypoints(t)
	m, c := demoModel(t, false)
	m = selectNamespace(t, m, "default")
	m = keys(t, m, "C")
	if !isTop[waypointFormOverlay](m) || !strings.Contains(m.Render(), "Create a waypoint in default") {
		t.Fatalf("C did not open the form:\n%s", m.Render())
	}
	// The default name is istioctl's; make it l7.
	m = wkeys(t, m, "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace")
	m = typed(t, m, "l7")
	m = wkeys(t, m, "tab", "right") // traffic: service
	m = keys(t, m, "enter")
	screen := m.Render()
	for _, want := range []string{"Create waypoint default/l7", "gatewayClassName: istio-waypoint", "protocol: HBONE", "port: 15008",
		"istio.io/waypoint-for: service", "istio.io~1use-waypoint", "Gateway to create, then the namespace's patch"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("confirm dialog lacks %q:\n%s", want, screen)
		}
	}
	if cons := strings.Join(m.write.pending.Consequences, "\n"); !strings.Contains(cons, "Services in default start going through the waypoint") {
		t.Errorf("consequences of the plan shown:\n%s", cons)
	}
	m = keys(t, m, "enter") // No
	ctx := context.Background()
	if _, err := c.Gateway.GatewayV1().Gateways("default").Get(ctx, "l7", metav1.GetOptions{}); err == nil {
		t.Fatal("enter on the default answer created the Gateway")
	}
	m = keys(t, m, "C")
	m = wkeys(t, m, "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace", "backspace")
	m = typed(t, m, "l7")
	m = keys(t, m, "enter", "y")
	gw, err := c.Gateway.GatewayV1().Gateways("default").Get(ctx, "l7", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("y did not create the Gateway: %v\n%s", err, m.Render())
	}
	if gw.Spec.GatewayClassName != "istio-waypoint" || len(gw.Spec.Listeners) != 1 || gw.Spec.Listeners[0].Port != 15008 {
		t.Errorf("created %+v", gw.Spec)
	}
	ns, _ := c.Kube.CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	if ns.Labels["istio.io/use-waypoint"] != "l7" {
		t.Errorf("namespace labels %v", ns.Labels)
	}
	if !isTop[waypointProgressOverlay](m) {
		t.Fatalf("no progress view after the create:\n%s", m.Render())
	}
	m = fresh(t, m, c)
	if s := m.Render(); !strings.Contains(s, "Waypoint default/l7") || !strings.Contains(s, "waiting:") {
		t.Fatalf("progress does not show the wait:\n%s", s)
	}
	for deadline := time.Now().Add(15 * time.Second); !strings.Contains(m.Render(), "✔ programmed after"); {
		if time.Now().After(deadline) {
			t.Fatalf("progress does not reach Programmed:\n%s", m.Render())
		}
		time.Sleep(200 * time.Millisecond)
		m = fresh(t, m, c)
	}
	if s := m.Render(); !strings.Contains(s, "✔ waypoint pods ready 1/1") || !strings.Contains(s, "✔ address assigned") {
		t.Fatalf("programmed without its pod or address:\n%s", s)
	}
	m = keys(t, m, "esc")
	if len(m.stack) != 0 {
		t.Fatal("esc did not close the progress view")
	}
}

// TestCreateWaypointFormKeepsAProblem: a name the writer refuses stays in
// the form with the reason, and nothing is asked or sent.
func TestCreateWaypointFormKeepsAProblem(t *testing.T) {
	m, c := demoModel(t, false)
	m = keys(t, m, "3", "C")
	m = typed(t, m, "_X")
	m = keys(t, m, "enter")
	if !isTop[waypointFormOverlay](m) || !strings.Contains(m.Render(), `waypoint name "waypoint_X" is not valid`) {
		t.Fatalf("the refusal is not shown in the form:\n%s", m.Render())
	}
	m = keys(t, m, "q") // a letter of a name, not a way out
	if !isTop[waypointFormOverlay](m) {
		t.Fatal("q closed the form")
	}
	m = keys(t, m, "esc")
	if len(m.stack) != 0 || !strings.Contains(m.statusBar(), "nothing created") {
		t.Fatalf("esc: stack %d, bar %q", len(m.stack), m.statusBar())
	}
	gws, _ := c.Gateway.GatewayV1().Gateways("").List(context.Background(), metav1.ListOptions{})
	if len(gws.Items) != 3 {
		t.Fatalf("%d Gateways, want the demo's 3", len(gws.Items))
	}
}

// TestDeleteWaypointListsWhatItServes: ctrl+d on a waypoint shows what
// is bound to it and which policy loses its enforcement, then deletes it.
func TestDeleteWaypointListsWhatItServes(t *testing.T) {
	m, c := demoModel(t, false)
	m = keys(t, m, "3", "g")
	if r, _ := m.focused().Selected(); r.Name != "waypoint" || r.Namespace != "ambient-apps" {
		t.Fatalf("selected %v", r)
	}
	m = wkeys(t, m, "ctrl+d")
	if !isTop[confirmOverlay](m) {
		t.Fatalf("ctrl+d did not ask:\n%s", m.Render())
	}
	screen := m.Render()
	for _, want := range []string{"Delete waypoint ambient-apps/waypoint", "DELETE /apis/gateway.networking.k8s.io/v1/namespaces/ambient-apps/gateways/waypoint",
		"Labelled to use it: 1 namespace: ambient-apps", "Bound to it now", "httpbin-l7"} {
		if !strings.Contains(screen, want) {
			t.Errorf("delete dialog lacks %q", want)
		}
	}
	if t.Failed() {
		t.Fatalf("dialog:\n%s", screen)
	}
	m = keys(t, m, "n")
	ctx := context.Background()
	if _, err := c.Gateway.GatewayV1().Gateways("ambient-apps").Get(ctx, "waypoint", metav1.GetOptions{}); err != nil {
		t.Fatal("n deleted the waypoint")
	}
	m = wkeys(t, m, "ctrl+d")
	m = keys(t, m, "y")
	if _, err := c.Gateway.GatewayV1().Gateways("ambient-apps").Get(ctx, "waypoint", metav1.GetOptions{}); err == nil {
		t.Fatalf("y did not delete the waypoint: %s", m.statusBar())
	}
	if !strings.Contains(m.statusBar(), "waypoint ambient-apps/waypoint deleted") {
		t.Errorf("status bar %q", m.statusBar())
	}
}

// TestBindNamespaceAndPodToAWaypoint: W on a namespace and on a pod itself
// label them istio.io/use-waypoint after the confirmation, and clear
// removes a namespace's label.
func TestBindNamespaceAndPodToAWaypoint(t *testing.T) {
	m, c := demoModel(t, false)
	ctx := context.Background()
	m = selectNamespace(t, m, "example-api")
	m = keys(t, m, "W")
	if !strings.Contains(m.Render(), "Waypoint for namespace example-api") || !strings.Contains(m.Render(), "new…") {
		t.Fatalf("no namespace waypoint picker:\n%s", m.Render())
	}
	m = keys(t, m, "j") // none
	m = keys(t, m, "enter", "y")
	ns, _ := c.Kube.CoreV1().Namespaces().Get(ctx, "example-api", metav1.GetOptions{})
	if ns.Labels["istio.io/use-waypoint"] != "none" {
		t.Fatalf("namespace labels %v: %s", ns.Labels, m.statusBar())
	}

	// Unbind: ambient-apps asks for its waypoint; clear removes the label.
	m = selectNamespace(t, m, "ambient-apps")
	m = keys(t, m, "W", "k", "k", "k", "k", "k", "k", "enter")
	if s := m.Render(); !strings.Contains(s, "Clear the waypoint of namespace ambient-apps") || !strings.Contains(s, `"op":"remove","path":"/metadata/labels/istio.io~1use-waypoint"`) {
		t.Fatalf("clear dialog:\n%s", s)
	}
	m = keys(t, m, "y")
	ns, _ = c.Kube.CoreV1().Namespaces().Get(ctx, "ambient-apps", metav1.GetOptions{})
	if _, still := ns.Labels["istio.io/use-waypoint"]; still {
		t.Fatalf("namespace labels after clear %v: %s", ns.Labels, m.statusBar())
	}

	m = keys(t, m, "2", "/", "w", "o", "r", "k", "e", "r", "enter", "W")
	m = wkeys(t, m, "up", "enter") // the pod itself
	if !strings.Contains(m.Render(), "Waypoint for pod example-worker/worker") {
		t.Fatalf("no pod waypoint picker:\n%s", m.Render())
	}
	m = keys(t, m, "j", "enter") // none
	if s := m.Render(); !strings.Contains(s, "Opt pod example-worker/worker") || !strings.Contains(s, "on this pod only") {
		t.Fatalf("pod dialog:\n%s", s)
	}
	m = keys(t, m, "y")
	pods, _ := c.Kube.CoreV1().Pods("example-worker").List(ctx, metav1.ListOptions{LabelSelector: "istio.io/use-waypoint=none"})
	if len(pods.Items) != 1 {
		t.Fatalf("%d pods labelled: %s", len(pods.Items), m.statusBar())
	}
}

// TestWaypointWritesReadOnly: C and ctrl+d say read-only and open nothing.
func TestWaypointWritesReadOnly(t *testing.T) {
	m, c := demoModel(t, true)
	m = keys(t, m, "3", "g")
	for _, k := range []string{"C", "ctrl+d"} {
		m = wkeys(t, m, k)
		if len(m.stack) != 0 || !strings.Contains(m.statusBar(), "read-only") {
			t.Fatalf("%s in read-only mode: stack %d, bar %q", k, len(m.stack), m.statusBar())
		}
	}
	gws, _ := c.Gateway.GatewayV1().Gateways("").List(context.Background(), metav1.ListOptions{})
	if len(gws.Items) != 3 {
		t.Fatalf("%d Gateways, want the demo's 3", len(gws.Items))
	}
}

// TestCreateWaypointWithARevision: the form offers the installation's
// revisions; the one chosen is the Gateway's istio.io/rev in the dialog's
// manifest and on the created Gateway.
func TestCreateWaypointWithARevision(t *testing.T) {
	m, c := demoModel(t, false)
	m = selectNamespace(t, m, "example-admin")
	m = keys(t, m, "C")
	if s := m.Render(); !strings.Contains(s, "revision") || !strings.Contains(s, "default") {
		t.Fatalf("the form offers no revision:\n%s", s)
	}
	m = wkeys(t, m, "tab", "tab", "tab", "right") // revision: default
	m = keys(t, m, "enter")
	// The dialog scrolls: the manifest on screen, the rest in the plan it
	// shows.
	screen := m.Render() + m.write.pending.Description + strings.Join(m.write.pending.Consequences, "\n")
	for _, want := range []string{"istio.io/rev: default", "--revision default", "The Gateway is labelled istio.io/rev=default: tag default points at revision default, whose istiod programs it."} {
		if !strings.Contains(screen, want) {
			t.Errorf("the dialog lacks %q:\n%s", want, screen)
		}
	}
	m = keys(t, m, "y")
	gw, err := c.Gateway.GatewayV1().Gateways("example-admin").Get(context.Background(), "waypoint", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("y did not create the Gateway: %v\n%s", err, m.Render())
	}
	if gw.Labels["istio.io/rev"] != "default" {
		t.Errorf("created Gateway labels %v", gw.Labels)
	}
}
