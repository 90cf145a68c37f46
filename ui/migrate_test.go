package ui

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/kube/writer"
)

// waitFor polls the demo cluster until cond holds on a fresh snapshot.
func waitFor(t *testing.T, c *kube.Clients, what string, cond func(*kube.Snapshot) bool) *kube.Snapshot {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, err := kube.SnapshotOnce(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMigrateLegacyApps walks the migration of the demo's legacy-apps as a
// user would: M opens a dialog with the exact patches and the what-if,
// enter (No) changes nothing, y drops the injection label, enrolls the
// namespace and restarts its two sidecar workloads; the progress view
// follows the demo's rollouts until both come back captured.
func TestMigrateLegacyApps(t *testing.T) {
	old := demo.RolloutStep
	demo.RolloutStep = 50 * time.Millisecond
	t.Cleanup(func() { demo.RolloutStep = old })
	m, c := demoModel(t, false)
	m = selectNamespace(t, m, "legacy-apps")
	m = keys(t, m, "M")
	if !isTop[confirmOverlay](m) {
		t.Fatalf("M opened no dialog:\n%s", m.Render())
	}
	screen := m.Render()
	// The dialog scrolls; its end holds the what-if: the NetworkPolicy
	// written for sidecars drops HBONE once billing is ambient, with its
	// patch.
	for i := 0; i < 6; i++ {
		m = keys(t, m, "j", "j", "j")
		screen += m.Render()
	}
	for _, want := range []string{
		"Migrate namespace legacy-apps from sidecars to ambient",
		`"op":"remove","path":"/metadata/labels/istio-injection"`,
		"deployment/legacy-billing, deployment/legacy-web",
		"What-if: 2 pods captured; it breaks:",
		"legacy-apps/legacy-billing opens 5678/TCP but not HBONE port 15008",
		"kubectl patch networkpolicy legacy-billing -n legacy-apps",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the dialog lacks %q:\n%s", want, screen)
		}
	}
	m = keys(t, m, "enter")
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "legacy-apps", metav1.GetOptions{})
	if ns.Labels[ambient.LabelInjection] != "enabled" {
		t.Fatal("No changed the namespace")
	}

	m = keys(t, m, "M", "y")
	ns, _ = c.Kube.CoreV1().Namespaces().Get(context.Background(), "legacy-apps", metav1.GetOptions{})
	if _, has := ns.Labels[ambient.LabelInjection]; has || ns.Labels[ambient.LabelDataplaneMode] != "ambient" {
		t.Fatalf("after y the namespace labels are %v", ns.Labels)
	}
	if !isTop[migrationOverlay](m) {
		t.Fatalf("no progress view after the migration was applied:\n%s", m.Render())
	}
	if screen := m.Render(); !strings.Contains(screen, "Migration of legacy-apps") || !strings.Contains(screen, "0/1") {
		t.Errorf("the progress view does not start at 0 of 1 replaced:\n%s", screen)
	}

	s := waitFor(t, c, "both legacy workloads replaced and captured", func(s *kube.Snapshot) bool {
		info := s.Mesh.Namespaces["legacy-apps"]
		return info.Counts[ambient.PodCaptured] == 2 && info.Pods == 2
	})
	m = drive(t, m, SnapshotMsg{s})
	screen = m.Render()
	for _, want := range []string{"migrated to ambient", "deployment/legacy-web", "1/1", "done", "state      ● ambient"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the progress view lacks %q once the rollouts finished:\n%s", want, screen)
		}
	}
	// What the what-if predicted is now a finding of the cluster.
	found := false
	for _, f := range s.Findings {
		found = found || f.Code == "hbone-ingress-blocked" && f.Object.Namespace == "legacy-apps" && f.Object.Name == "legacy-billing"
	}
	if !found {
		t.Errorf("after the migration no finding on legacy-billing's NetworkPolicy: %v", s.Findings)
	}
	mm, cmd := m.Update(TickMsg(demo.Epoch.Add(time.Minute)))
	m = mm.(Model)
	for _, msg := range run(cmd) {
		m = drive(t, m, msg)
	}
	if bar := m.statusBar(); !strings.Contains(bar, "migrated to ambient") {
		t.Errorf("the status bar does not say the migration finished: %q", bar)
	}
}

// TestMigrationStalls: a rollout that replaces nothing is called stalled
// after the stall time, naming the workload and how far it got.
func TestMigrationStalls(t *testing.T) {
	m, _ := demoModel(t, false)
	s := demo.Homelab()
	m = selectNamespace(t, m, "legacy-apps")
	// What a confirmed migration plan of legacy-apps targets.
	plan := writer.Plan{ID: "migrate Namespace legacy-apps@1", Target: finding.Ref{Kind: "Namespace", Name: "legacy-apps"},
		Targets: []finding.Ref{{Kind: "Namespace", Name: "legacy-apps"}, {Kind: "Deployment", Namespace: "legacy-apps", Name: "legacy-web"}}}
	m, _ = m.followMigration(plan, m.migrationWorkloads(plan), "migrating")
	m = drive(t, m, SnapshotMsg{s})
	mm, cmd := m.Update(TickMsg(demo.Epoch.Add(2 * time.Minute)))
	m = mm.(Model)
	for _, msg := range run(cmd) {
		m = drive(t, m, msg)
	}
	screen := m.Render()
	if !strings.Contains(screen, "stalled: nothing moved for 2m0s; deployment/legacy-web has 0 of 1 replaced") {
		t.Errorf("no stall message:\n%s", screen)
	}
	if bar := m.statusBar(); !strings.Contains(bar, "stalled") {
		t.Errorf("the status bar does not say the rollout stalled: %q", bar)
	}
	m = keys(t, m, "esc")
	if isTop[migrationOverlay](m) {
		t.Error("esc did not close the progress view")
	}
}

// TestRestartPointsAtMigrate: R on legacy-apps used to answer only that
// nothing needs a restart; it now says what M does.
func TestRestartPointsAtMigrate(t *testing.T) {
	m, _ := demoModel(t, false)
	m = selectNamespace(t, m, "legacy-apps")
	m = keys(t, m, "R")
	if bar := m.statusBar(); !strings.Contains(bar, "M migrates it to ambient") {
		t.Errorf("R on legacy-apps: %q", bar)
	}
}

// TestEnrollShowsWhatIf: the enrolment dialog of example-admin says what
// the write would break, with the NetworkPolicy's patch.
func TestEnrollShowsWhatIf(t *testing.T) {
	m, _ := demoModel(t, false)
	m = selectNamespace(t, m, "example-admin")
	m = keys(t, m, "a")
	screen := m.Render()
	for _, want := range []string{"What-if: 1 pod captured; it breaks:", "example-admin/admin drops kubelet probes", "patch networkpolicy admin -n example-admin"} {
		if !strings.Contains(screen, want) {
			t.Errorf("the enrolment dialog lacks %q:\n%s", want, screen)
		}
	}
}

// TestEnrollOnePod: a on a pod of a namespace that is not enrolled labels
// the pod itself; a again on the labelled pod takes the label off.
func TestEnrollOnePod(t *testing.T) {
	m, c := demoModel(t, false)
	m = keys(t, m, "2", "/")
	m = typeLine(t, m, "example-admin")
	m = keys(t, m, "enter", "a")
	if !isTop[confirmOverlay](m) || !strings.Contains(m.Render(), "Enroll pod example-admin/") {
		t.Fatalf("a on a pod of example-admin did not offer its enrolment:\n%s", m.Render())
	}
	if !strings.Contains(m.Render(), "istio-cni captures the pod now") {
		t.Errorf("the dialog does not say istio-cni takes the pod:\n%s", m.Render())
	}
	m = keys(t, m, "y")
	pods, _ := c.Kube.CoreV1().Pods("example-admin").List(context.Background(), metav1.ListOptions{})
	labelled := 0
	for _, p := range pods.Items {
		if p.Labels[ambient.LabelDataplaneMode] == "ambient" {
			labelled++
		}
	}
	if labelled != 1 {
		t.Fatalf("%d pods labelled, want 1", labelled)
	}
	s, err := kube.SnapshotOnce(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	m = drive(t, m, SnapshotMsg{s})
	m = keys(t, m, "a")
	if !strings.Contains(m.Render(), "Take pod example-admin/") {
		t.Fatalf("a on the labelled pod does not offer to take the label off:\n%s", m.Render())
	}
}

func TestReadOnlyRefusesMigrate(t *testing.T) {
	m, c := demoModel(t, true)
	m = selectNamespace(t, m, "legacy-apps")
	m = keys(t, m, "M")
	if !strings.Contains(m.statusBar(), "read-only") || isTop[confirmOverlay](m) {
		t.Fatalf("read-only M: %q", m.statusBar())
	}
	ns, _ := c.Kube.CoreV1().Namespaces().Get(context.Background(), "legacy-apps", metav1.GetOptions{})
	if ns.Labels[ambient.LabelInjection] != "enabled" {
		t.Fatal("read-only mode changed the namespace")
	}
}

// TestMigrationStallSaysWhy: once a rollout stalls, the progress view reads
// the Deployment's conditions and shows why its controller is stuck.
func TestMigrationStallSaysWhy(t *testing.T) {
	m, c := demoModel(t, false)
	ctx := context.Background()
	d, err := c.Kube.AppsV1().Deployments("legacy-apps").Get(ctx, "legacy-web", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d = d.DeepCopy()
	d.Status.Conditions = append(d.Status.Conditions,
		appsv1.DeploymentCondition{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "legacy-web-5f" has timed out progressing.`},
		appsv1.DeploymentCondition{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Reason: "FailedCreate", Message: "exceeded quota: legacy-quota"})
	if _, err := c.Kube.AppsV1().Deployments("legacy-apps").UpdateStatus(ctx, d, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	m = selectNamespace(t, m, "legacy-apps")
	plan := writer.Plan{ID: "migrate Namespace legacy-apps@1", Target: finding.Ref{Kind: "Namespace", Name: "legacy-apps"},
		Targets: []finding.Ref{{Kind: "Namespace", Name: "legacy-apps"}, {Kind: "Deployment", Namespace: "legacy-apps", Name: "legacy-web"}}}
	m, _ = m.followMigration(plan, m.migrationWorkloads(plan), "migrating")
	if strings.Contains(m.Render(), "ProgressDeadlineExceeded") {
		t.Fatal("the conditions were shown before the rollout stalled")
	}
	mm, cmd := m.Update(TickMsg(demo.Epoch.Add(2 * time.Minute)))
	m = mm.(Model)
	for _, msg := range run(cmd) {
		m = drive(t, m, msg)
	}
	screen := m.Render()
	for _, want := range []string{
		`Progressing=False ProgressDeadlineExceeded: ReplicaSet "legacy-web-5f" has timed out progressing.`,
		"ReplicaFailure FailedCreate: exceeded quota: legacy-quota",
	} {
		if !strings.Contains(screen, want) {
			t.Errorf("the stalled view lacks %q:\n%s", want, screen)
		}
	}
}

// TestWarningsAbout: the Warning events of a workload's own objects, newest
// first and at most three; Normal events and other workloads' are left out.
func TestWarningsAbout(t *testing.T) {
	evs := kube.Events{Items: []kube.Event{
		{Type: "Warning", Reason: "FailedScheduling", Object: "Pod/web-5f-abc", Message: "0/5 nodes are available"},
		{Type: "Normal", Reason: "Scheduled", Object: "Pod/web-5f-abd", Message: "assigned"},
		{Type: "Warning", Reason: "FailedCreate", Object: "ReplicaSet/web-5f", Message: "exceeded quota"},
		{Type: "Warning", Reason: "BackOff", Object: "Pod/webhook-1", Message: "not ours"},
		{Type: "Warning", Reason: "ProgressDeadlineExceeded", Object: "Deployment/web", Message: "timed out"},
		{Type: "Warning", Reason: "Older", Object: "Pod/web-5f-zzz", Message: "a fourth"},
	}}
	got := warningsAbout(evs, "deployment/web")
	want := []string{"Warning FailedScheduling on Pod/web-5f-abc: 0/5 nodes are available",
		"Warning FailedCreate on ReplicaSet/web-5f: exceeded quota",
		"Warning ProgressDeadlineExceeded on Deployment/web: timed out"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q, want %q", got, want)
	}
}
