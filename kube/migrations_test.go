package kube

import (
	"reflect"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/migration"
	"github.com/ambx/ambx/kube/synth"
)

// Every snapshot of a series carries the migration state migration.Of
// counts from that snapshot's own objects, whether the builder counted
// again or kept the last count; it keeps it (the same map, so panes skip
// the snapshot) only when nothing it counts from changed.
func TestBuilderMigrations(t *testing.T) {
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	c := *synth.Cluster(400, 20, 60, 10)
	var b Builder
	last := b.Build(c, now)
	check := func(step string, s *Snapshot, kept bool) {
		t.Helper()
		want := migration.Of(&s.Cluster, s.Mesh)
		if !reflect.DeepEqual(s.Migrations, want) {
			t.Errorf("%s: migrations %v, want %v", step, s.Migrations, want)
		}
		if same := reflect.ValueOf(s.Migrations).Pointer() == reflect.ValueOf(last.Migrations).Pointer(); same != kept {
			t.Errorf("%s: kept the last count %v, want %v", step, same, kept)
		}
		last = s
	}
	if started := 0; true {
		for _, m := range last.Migrations {
			if m.Started() {
				started++
			}
		}
		if started == 0 {
			t.Fatal("the synthetic cluster has no namespace on sidecars")
		}
	}
	check("the same cluster", b.Build(c, now), true)

	// A sidecar pod's status changes, its verdict state does not (a pod
	// of a namespace that injects, whose labels change below).
	injects := map[string]bool{}
	for _, n := range c.Namespaces {
		_, injects[n.Name] = n.Labels[ambient.LabelInjection]
	}
	i := slices.IndexFunc(c.Pods, func(p *corev1.Pod) bool {
		return injects[p.Namespace] && last.Mesh.Pods[ambient.Key{Namespace: p.Namespace, Name: p.Name}].State == ambient.PodSidecar
	})
	c.Pods = slices.Clone(c.Pods)
	p := c.Pods[i].DeepCopy()
	p.Status.Message = "probed"
	c.Pods[i] = p
	check("a sidecar pod's status", b.Build(c, now), true)

	// The same pod opts out of ambient by its own label.
	c.Pods = slices.Clone(c.Pods)
	p = p.DeepCopy()
	p.Labels[ambient.LabelDataplaneMode] = "none"
	c.Pods[i] = p
	check("a pod's label", b.Build(c, now), false)

	// Its namespace drops the injection label and enrolls.
	c.Namespaces = slices.Clone(c.Namespaces)
	j := slices.IndexFunc(c.Namespaces, func(n *corev1.Namespace) bool { return n.Name == p.Namespace })
	n := c.Namespaces[j].DeepCopy()
	delete(n.Labels, ambient.LabelInjection)
	n.Labels[ambient.LabelDataplaneMode] = "ambient"
	c.Namespaces[j] = n
	check("a namespace's labels", b.Build(c, now), false)

	// A sidecar pod is replaced by one ambient captures.
	c.Pods = slices.Clone(c.Pods)
	p = p.DeepCopy()
	p.Annotations = map[string]string{ambient.AnnotationRedirection: "enabled"}
	delete(p.Labels, ambient.LabelDataplaneMode)
	c.Pods[i] = p
	check("a pod's verdict", b.Build(c, now), false)

	// A pod deleted.
	c.Pods = slices.Delete(slices.Clone(c.Pods), i, i+1)
	check("a pod deleted", b.Build(c, now), false)
}
