package writer

import (
	"context"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
)

func TestMigratePlan(t *testing.T) {
	ctx := context.Background()
	legacy := namespace("legacy", "3", map[string]string{ambient.LabelInjection: "enabled", ambient.LabelRev: "canary", "team": "a"})
	objs := []runtime.Object{legacy, cniAgent(),
		pod("legacy", "web-1", withSidecar, ownedByDeployment("web")),
		pod("legacy", "db-0", withSidecar, ownedBy("StatefulSet", "db")),
		pod("legacy", "plain-1", ownedByDeployment("plain")),
		pod("legacy", "debug", withSidecar),
	}
	w, cs := newFake(t, false, legacy, deployment("legacy", "web", false), statefulSet("legacy", "db"), deployment("legacy", "plain", false))
	s := snapshot(objs...)
	p, err := w.MigratePlan(ctx, legacy, s)
	if err != nil {
		t.Fatal(err)
	}
	var targets []string
	for _, r := range p.Targets {
		targets = append(targets, r.String())
	}
	if got, want := strings.Join(targets, ", "), "Namespace legacy, Deployment legacy/web, StatefulSet legacy/db"; got != want {
		t.Errorf("targets = %s, want %s (only the workloads with sidecar pods)", got, want)
	}
	for _, want := range []string{
		`{"op":"test","path":"/metadata/resourceVersion","value":"3"}`,
		`{"op":"remove","path":"/metadata/labels/istio-injection"}`,
		`{"op":"remove","path":"/metadata/labels/istio.io~1rev"}`,
		`{"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}`,
		`on each of deployment/web, statefulset/db`,
		`"kubectl.kubernetes.io/restartedAt": "2026-08-24T09:30:00Z"`,
	} {
		if !strings.Contains(p.Patch, want) {
			t.Errorf("patch lacks %s:\n%s", want, p.Patch)
		}
	}
	cons := strings.Join(p.AllConsequences(), "\n")
	for _, want := range []string{
		"istio.io/rev=canary also picks the control plane of this namespace's waypoints",
		"Restarts 2 of the 3 workloads in legacy",
		"What-if: 3 pods captured",
		"Stays on its sidecar: legacy/debug",
	} {
		if !strings.Contains(cons, want) {
			t.Errorf("consequences lack %q:\n%s", want, cons)
		}
	}
	if _, err := w.Apply(ctx, p); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().Namespaces().Get(ctx, "legacy", metav1.GetOptions{})
	if got.Labels[ambient.LabelDataplaneMode] != "ambient" || got.Labels["team"] != "a" {
		t.Errorf("namespace labels = %v", got.Labels)
	}
	if _, ok := got.Labels[ambient.LabelInjection]; ok {
		t.Errorf("istio-injection kept: %v", got.Labels)
	}
	d, _ := cs.AppsV1().Deployments("legacy").Get(ctx, "web", metav1.GetOptions{})
	if d.Spec.Template.Annotations[AnnotationRestartedAt] == "" {
		t.Error("deployment/web not restarted")
	}
	plain, _ := cs.AppsV1().Deployments("legacy").Get(ctx, "plain", metav1.GetOptions{})
	if plain.Spec.Template.Annotations[AnnotationRestartedAt] != "" {
		t.Error("deployment/plain restarted although its pod has no sidecar")
	}
}

func TestMigratePlanConflictAndReadOnly(t *testing.T) {
	ctx := context.Background()
	legacy := namespace("legacy", "3", map[string]string{ambient.LabelInjection: "enabled"})
	s := snapshot(legacy, cniAgent(), pod("legacy", "web-1", withSidecar, ownedByDeployment("web")))

	ro, _ := newFake(t, true, legacy)
	if _, err := ro.MigratePlan(ctx, legacy, s); KindOf(err) != KindReadOnly {
		t.Errorf("read-only: %v", err)
	}

	// The namespace moved on after the user looked: nothing is sent past it.
	newer := legacy.DeepCopy()
	newer.ResourceVersion = "4"
	w, cs := newFake(t, false, newer, deployment("legacy", "web", false))
	p, err := w.MigratePlan(ctx, legacy, s)
	if err != nil {
		t.Fatal(err)
	}
	serverPatchErrors(cs)
	if _, err := w.Apply(ctx, p); KindOf(err) != KindConflict {
		t.Fatalf("apply over a newer namespace: %v, want a conflict", err)
	}
	d, _ := cs.AppsV1().Deployments("legacy").Get(ctx, "web", metav1.GetOptions{})
	if d.Spec.Template.Annotations[AnnotationRestartedAt] != "" {
		t.Error("restarted workloads after the namespace patch failed")
	}
}

func TestMigratePlanNothing(t *testing.T) {
	ns := namespace("shop", "3", map[string]string{ambient.LabelDataplaneMode: "ambient"})
	w, _ := newFake(t, false, ns, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}})
	s := snapshot(ns, cniAgent(), pod("shop", "web-1", captured, ownedByDeployment("web")))
	_, err := w.MigratePlan(context.Background(), ns, s)
	if KindOf(err) != KindNothing || !strings.Contains(err.Error(), "nothing to migrate in shop") {
		t.Errorf("got %v", err)
	}
}

// TestMigratePlanWaitsForThePods: planned from a snapshot whose pods are
// still loading, a migration would relabel the namespace and restart
// nothing; it is refused, saying what is not read.
func TestMigratePlanWaitsForThePods(t *testing.T) {
	legacy := namespace("legacy", "3", map[string]string{ambient.LabelInjection: "enabled"})
	w, _ := newFake(t, false, legacy, deployment("legacy", "web", false))
	s := snapshot(legacy, cniAgent(), pod("legacy", "web-1", withSidecar, ownedByDeployment("web")))
	s.Resources[kube.ResPods] = kube.ResourceState{Availability: kube.Syncing}
	p, err := w.MigratePlan(context.Background(), legacy, s)
	if err == nil || !strings.Contains(err.Error(), "Pods") || len(p.Targets) != 0 {
		t.Fatalf("plan from loading pods: %+v, %v", p.Targets, err)
	}
}

func TestTogglePodAmbient(t *testing.T) {
	plain := namespace("shop", "3", nil)
	web := pod("shop", "web-1", ownedByDeployment("web"))
	s := snapshot(plain, cniAgent(), web)
	w, cs := newFake(t, false, plain, web)
	p, err := w.TogglePodAmbient(web, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Patch, `{"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}`) {
		t.Errorf("patch = %s", p.Patch)
	}
	if p.Title != "Enroll pod shop/web-1 in ambient" || !strings.Contains(p.WhatIf()[0], "istio-cni captures the pod now") {
		t.Errorf("plan = %q %q", p.Title, p.Consequences)
	}
	if !strings.Contains(strings.Join(p.Consequences, "\n"), "pods deployment/web creates later follow its template") {
		t.Errorf("no word that the label dies with the pod: %q", p.Consequences)
	}
	if _, err := w.Apply(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	got, _ := cs.CoreV1().Pods("shop").Get(context.Background(), "web-1", metav1.GetOptions{})
	if got.Labels[ambient.LabelDataplaneMode] != "ambient" {
		t.Errorf("labels = %v", got.Labels)
	}

	// The reverse, on the labelled pod.
	s = snapshot(plain, cniAgent(), pod("shop", "web-1", ownedByDeployment("web"), captured, withLabel(ambient.LabelDataplaneMode, "ambient")))
	p, err = w.TogglePodAmbient(s.Pods[1], s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.Patch, `"op":"remove"`) || !strings.Contains(p.WhatIf()[0], "leaves the mesh immediately") {
		t.Errorf("reverse plan = %s %q", p.Patch, p.Consequences)
	}

	// A sidecar pod is not taken, and the dialog says why.
	sc := pod("shop", "old-1", withSidecar)
	s = snapshot(plain, cniAgent(), sc)
	p, err = w.TogglePodAmbient(sc, s)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(p.WhatIf()[0], "would not capture it") || !strings.Contains(p.WhatIf()[0], "sidecar") {
		t.Errorf("sidecar pod consequences = %q", p.Consequences)
	}
}
