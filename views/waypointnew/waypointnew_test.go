package waypointnew

import (
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/install"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

func press(f Form, keys ...tea.KeyPressMsg) Form {
	for _, k := range keys {
		f, _ = f.Update(k)
	}
	return f
}

var (
	tab   = tea.KeyPressMsg{Code: tea.KeyTab}
	right = tea.KeyPressMsg{Code: tea.KeyRight}
	space = tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
)

func TestFormView(t *testing.T) {
	f := NewForm(theme.Plain, "shop", true, "")
	golden.RequireEqual(t, f.View(90, 20))
}

func TestFormChoices(t *testing.T) {
	f := NewForm(theme.Plain, "shop", false, "workload")
	f = press(f, tea.KeyPressMsg{Code: '2', Text: "2"}, tab, right, right, tab, space)
	golden.RequireEqual(t, f.View(90, 20))
	want := writer.NewWaypoint{Namespace: "shop", Name: "waypoint2", For: ambient.TrafficWorkload, EnrollNamespace: true}
	if got := f.Spec(); got != want {
		t.Errorf("spec %+v, want %+v", got, want)
	}
	_, cmd := f.Update(tea.KeyPressMsg{Code: tea.KeyEnter})
	if cmd == nil || cmd().(Submit).Spec != want {
		t.Error("enter does not submit the spec")
	}
}

func TestFormWithoutNamespaceStartsThere(t *testing.T) {
	f := NewForm(theme.Plain, "", false, "")
	f = press(f, tea.KeyPressMsg{Code: 'a', Text: "a"}, tea.KeyPressMsg{Code: 'b', Text: "b"})
	if f.Spec().Namespace != "ab" || f.Spec().Name != "waypoint" {
		t.Errorf("spec %+v", f.Spec())
	}
	f = f.SetProblem("namespace ab does not exist\x1b[2J")
	v := f.View(60, 20)
	if strings.Contains(v, "\x1b[2J") || !strings.Contains(v, "namespace ab does not exist") {
		t.Errorf("problem not shown safely:\n%q", v)
	}
}

var started = time.Date(2026, 8, 24, 9, 30, 0, 0, time.UTC)

// snap is a cluster holding the new Gateway in the given state.
func snap(gw *gwv1.Gateway, pods int, ready bool, classes bool, istiod bool) *kube.Snapshot {
	s := &kube.Snapshot{Resources: map[kube.Resource]kube.ResourceState{kube.ResGatewayClasses: {Availability: kube.Available}}}
	s.Namespaces = []*corev1.Namespace{{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}}
	if classes {
		s.GatewayClasses = []*gwv1.GatewayClass{{ObjectMeta: metav1.ObjectMeta{Name: ambient.WaypointGatewayClass}, Spec: gwv1.GatewayClassSpec{ControllerName: ambient.MeshController}}}
	}
	if gw != nil {
		s.Gateways = []*gwv1.Gateway{gw}
	}
	for i := 0; i < pods; i++ {
		st := corev1.ConditionFalse
		if ready {
			st = corev1.ConditionTrue
		}
		s.Pods = append(s.Pods, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "l7-abc", Labels: map[string]string{ambient.LabelGatewayName: "l7"}},
			Spec:       corev1.PodSpec{NodeName: "n1"},
			Status:     corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}},
		})
	}
	s.Install = install.Info{Discovered: true}
	if istiod {
		s.Install.Components = []install.Component{{Kind: install.Istiod}}
	}
	s.Mesh = ambient.Analyze(&s.Cluster)
	return s
}

func newGateway(conds ...metav1.Condition) *gwv1.Gateway {
	gw := writer.WaypointGateway(writer.NewWaypoint{Namespace: "shop", Name: "l7"})
	gw.Status.Conditions = conds
	return gw
}

func cond(typ string, st metav1.ConditionStatus, reason, msg string) metav1.Condition {
	return metav1.Condition{Type: typ, Status: st, Reason: reason, Message: msg}
}

func TestProgress(t *testing.T) {
	key := ambient.Key{Namespace: "shop", Name: "l7"}
	programmed := newGateway(cond("Accepted", "True", "Accepted", "Resource accepted"),
		cond("Programmed", "True", "Programmed", "Resource programmed, assigned to service(s) l7.shop.svc.cluster.local:15008"))
	programmed.Status.Addresses = []gwv1.GatewayStatusAddress{{Value: "10.96.0.9"}}
	for _, tc := range []struct {
		name    string
		s       *kube.Snapshot
		after   time.Duration
		want    Phase
		wantWhy string
	}{
		{"not seen yet", snap(nil, 0, false, true, true), 2 * time.Second, Waiting, "the watch has not shown the new Gateway yet"},
		{"pending controller", snap(newGateway(cond("Accepted", "Unknown", "Pending", "Waiting for controller")), 0, false, true, false), 10 * time.Second, Waiting,
			"no controller has taken the Gateway (Accepted=Unknown Pending: Waiting for controller): no istiod was found in the cluster"},
		{"no class, timed out", snap(newGateway(), 0, false, false, true), Timeout, Failed,
			"no GatewayClass istio-waypoint exists: istiod creates it when ambient waypoints are on (PILOT_ENABLE_AMBIENT_WAYPOINTS); no istiod serves waypoints here"},
		{"no pods", snap(newGateway(cond("Accepted", "True", "Accepted", "Resource accepted"),
			cond("Programmed", "False", "AddressNotAssigned", "Failed to assign to any requested addresses: no instances found for hostname \"l7.shop.svc.cluster.local\"\x1b]0;pwned\x07")), 0, false, true, true), Timeout, Failed,
			`istiod accepted it, but no waypoint pod exists: nothing has made pods from its Deployment l7 (a deployment controller, quota, admission); istiod says Programmed=False AddressNotAssigned: Failed to assign to any requested addresses: no instances found for hostname "l7.shop.svc.cluster.local"` + "\x1b]0;pwned\x07"},
		{"pods not ready", snap(newGateway(cond("Accepted", "True", "Accepted", "Resource accepted")), 1, false, true, true), 20 * time.Second, Waiting, "1 waypoint pod, none ready yet"},
		{"programmed", snap(programmed, 1, true, true, true), 7 * time.Second, Programmed, "waiting for istiod to set Programmed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := NewProgress(theme.Plain, key, started).SetSnapshot(tc.s).Tick(started.Add(tc.after))
			if p.Phase() != tc.want {
				t.Errorf("phase %d, want %d", p.Phase(), tc.want)
			}
			if why := p.Why(); tc.want != Programmed && why != tc.wantWhy {
				t.Errorf("why\n%q\nwant\n%q", why, tc.wantWhy)
			}
			v := p.View(100, 20)
			if strings.ContainsAny(v, "\x1b\x07") {
				t.Errorf("raw control characters on screen: %q", v)
			}
			golden.RequireEqual(t, v)
		})
	}
}

func TestProgressGatewayDeleted(t *testing.T) {
	key := ambient.Key{Namespace: "shop", Name: "l7"}
	p := NewProgress(theme.Plain, key, started).SetSnapshot(snap(newGateway(), 0, false, true, true))
	p = p.SetSnapshot(snap(nil, 0, false, true, true))
	if p.Phase() != Failed || p.Why() != "the Gateway was deleted" {
		t.Errorf("phase %d why %q", p.Phase(), p.Why())
	}
}

// TestFormRevision: the revisions and tags the installation has are
// offered for the Gateway's istio.io/rev; the default leaves it off.
func TestFormRevision(t *testing.T) {
	f := NewForm(theme.Plain, "shop", false, "").WithRevisions([]string{"canary", "stable"})
	if f.Spec().Revision != "" {
		t.Errorf("default revision %q, want none", f.Spec().Revision)
	}
	f = press(f, tab, tab, tab, right)
	golden.RequireEqual(t, f.View(90, 20))
	if got := f.Spec().Revision; got != "canary" {
		t.Errorf("revision %q, want canary", got)
	}
	f = press(f, right, right)
	if got := f.Spec().Revision; got != "" {
		t.Errorf("revision after wrapping %q, want none", got)
	}
}
