package services_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/lookup"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/pane/panetest"
	"github.com/ambx/ambx/views/services"
)

// TestGoldens renders the pane over the demo cluster (see panetest).
func TestGoldens(t *testing.T) { panetest.Goldens(t, services.New(theme.Plain)) }

// TestScreens renders it full-screen at 120x35 and 80x24.
func TestScreens(t *testing.T) { panetest.Screens(t, services.New(theme.Plain)) }

// Rows kept between snapshots show what a pane built from scratch shows:
// a pod's labels change (so does the count of pods its Service selects),
// a pod goes, a Service is replaced, and a drill into one namespace.
func TestRowsKeptBetweenSnapshotsAreCurrent(t *testing.T) {
	c := demo.Homelab().Cluster
	const w, h = 200, 60
	kept := services.New(theme.Plain).SetSize(w, h)
	ns := ""
	check := func(what string, c ambient.Cluster) string {
		t.Helper()
		s := kube.Build(c, demo.Epoch)
		kept = kept.SetSnapshot(s)
		// The kept pane's cursor stays on its row; only the rows count.
		got := strings.ReplaceAll(kept.View(w, h, true), "▸", " ")
		want := strings.ReplaceAll(services.New(theme.Plain).SetSize(w, h).SetNamespace(ns).SetSnapshot(s).View(w, h, true), "▸", " ")
		if got != want {
			t.Fatalf("%s: the kept pane shows\n%s\nwant\n%s", what, got, want)
		}
		return got
	}
	first := check("first", c)
	// The Service selecting the most pods, and one of them.
	var svc *corev1.Service
	most := 0
	for _, s := range c.Services {
		if n := len(lookup.PodsSelectedBy(&c, s)); n > most {
			svc, most = s, n
		}
	}
	if svc == nil {
		t.Fatal("no Service of the demo selects a pod")
	}
	i := slices.Index(c.Pods, lookup.PodsSelectedBy(&c, svc)[0])
	c.Pods = slices.Clone(c.Pods)
	p := c.Pods[i].DeepCopy()
	p.Labels = map[string]string{"relabelled": "yes"}
	c.Pods[i] = p
	relabelled := check("a pod relabelled", c)
	if relabelled == first {
		t.Fatal("the count did not change with a selected pod's labels")
	}
	c.Pods = slices.Delete(slices.Clone(c.Pods), i, i+1)
	check("a pod gone", c)
	c.Services = slices.Clone(c.Services)
	j := slices.Index(c.Services, svc)
	s := svc.DeepCopy()
	s.Spec.Selector = nil
	c.Services[j] = s
	if check("a Service replaced", c) == relabelled {
		t.Fatal("the Service without a selector looks the same")
	}
	ns = svc.Namespace
	kept = kept.SetNamespace(ns)
	check("drilled into "+ns, c)
	ns = ""
	kept = kept.SetNamespace(ns)
	check("all again", c)
}
