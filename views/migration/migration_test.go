package migration

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

// legacy returns the demo snapshot and the rollouts a migration of
// legacy-apps starts, with their sidecar pods.
func legacy(t *testing.T) (*kube.Snapshot, []Workload) {
	s := demo.Homelab()
	var wls []Workload
	for _, owner := range []string{"deployment/legacy-billing", "deployment/legacy-web"} {
		wl := Workload{Owner: owner}
		for _, p := range s.Pods {
			if s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Owner == owner {
				wl.Old = append(wl.Old, p.Name)
			}
		}
		if len(wl.Old) != 1 {
			t.Fatalf("%s has %d pods in the demo, want 1", owner, len(wl.Old))
		}
		wls = append(wls, wl)
	}
	return s, wls
}

// replaced is s with the pods of legacy-apps' owner replaced by a new pod
// without a sidecar, in the given capture state ("" for none).
func replaced(s *kube.Snapshot, owner, redirection string, sidecar bool) *kube.Snapshot {
	c := s.Cluster
	c.Pods = nil
	for _, p := range s.Pods {
		if p.Namespace == "legacy-apps" && s.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].Owner == owner {
			np := p.DeepCopy()
			np.Name += "-new"
			if !sidecar {
				delete(np.Annotations, ambient.AnnotationSidecarState)
				var cs []corev1.Container
				for _, ct := range np.Spec.Containers {
					if ct.Name != "istio-proxy" {
						cs = append(cs, ct)
					}
				}
				np.Spec.Containers, np.Spec.InitContainers = cs, nil
			}
			if redirection != "" {
				np.Annotations[ambient.AnnotationRedirection] = redirection
			}
			c.Pods = append(c.Pods, np)
			continue
		}
		c.Pods = append(c.Pods, p)
	}
	ns := c.Namespaces
	c.Namespaces = nil
	for _, n := range ns {
		if n.Name == "legacy-apps" {
			n = n.DeepCopy()
			delete(n.Labels, ambient.LabelInjection)
			n.Labels[ambient.LabelDataplaneMode] = "ambient"
		}
		c.Namespaces = append(c.Namespaces, n)
	}
	return kube.Build(c, s.Taken)
}

func TestStart(t *testing.T) {
	s, wls := legacy(t)
	got := New(theme.Plain, "legacy-apps", wls, s, demo.Epoch).View(100, 14)
	golden.RequireEqual(t, got)
}

func TestProgress(t *testing.T) {
	s, wls := legacy(t)
	start := demo.Epoch
	m := New(theme.Plain, "legacy-apps", wls, s, start).WithLimits(time.Minute, 3*time.Minute)

	// One rollout done, captured; the other not started.
	half := replaced(s, "deployment/legacy-web", "enabled", false)
	m = m.Tick(start.Add(20 * time.Second)).SetSnapshot(half)
	rows := m.Rows()
	if rows[1].Replaced != 1 || rows[1].Captured != 1 || !rows[1].Done || rows[0].Done || m.Done() {
		t.Fatalf("after legacy-web rolled: %+v", rows)
	}
	// Nothing moves for a minute: stalled, and it says which and how far.
	m = m.Tick(start.Add(80 * time.Second))
	if !m.Stalled() {
		t.Fatal("no stall after a minute without progress")
	}
	if st, _ := m.Status(); !strings.Contains(st, "deployment/legacy-billing has 0 of 1 replaced") || strings.Contains(st, "legacy-web has") {
		t.Errorf("stall status = %q", st)
	}
	// Past the timeout it gives up, in words.
	m = m.Tick(start.Add(4 * time.Minute))
	if st, _ := m.Status(); !m.TimedOut() || !strings.Contains(st, "timed out after 3m0s") {
		t.Errorf("timeout status = %q", st)
	}

	// A replacement that came back with a sidecar is not done and says so.
	again := replaced(s, "deployment/legacy-billing", "", true)
	m = New(theme.Plain, "legacy-apps", wls, s, start).SetSnapshot(again).Tick(start.Add(2 * time.Minute))
	if r := m.Rows()[0]; r.Sidecar != 1 || r.Done {
		t.Errorf("a sidecar replacement: %+v", r)
	}
	if st, _ := m.Status(); !strings.Contains(st, "1 came back with a sidecar") {
		t.Errorf("status = %q", st)
	}
	if !strings.Contains(m.View(110, 14), "sidecar again") {
		t.Errorf("the view does not mark the sidecar replacement:\n%s", m.View(110, 14))
	}

	// Both rolled and captured: done, and the namespace shows ambient.
	both := replaced(replaced(s, "deployment/legacy-web", "enabled", false), "deployment/legacy-billing", "enabled", false)
	m = New(theme.Plain, "legacy-apps", wls, s, start).SetSnapshot(both)
	if !m.Done() {
		t.Fatalf("not done: %+v", m.Rows())
	}
	view := m.View(110, 14)
	for _, want := range []string{"migrated to ambient", "● ambient", "done: no sidecar pods, 2 pods moved"} {
		if !strings.Contains(view, want) {
			t.Errorf("done view lacks %q:\n%s", want, view)
		}
	}
}

func TestTinyAndHostile(t *testing.T) {
	s, wls := legacy(t)
	wls[0].Owner = "deployment/\x1b[31mevil"
	m := New(theme.Plain, "legacy\x1b]0;x\x07", wls, s, demo.Epoch)
	for _, size := range [][2]int{{0, 0}, {1, 1}, {10, 3}, {100, 14}} {
		v := m.View(size[0], size[1])
		if strings.ContainsAny(v, "\x1b\x07") {
			t.Errorf("%v: raw control characters on screen: %q", size, v)
		}
	}
}
