package ui

import (
	"errors"
	"strings"
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/writer"
)

// second is the session a switch to "second" connects to: one snapshot
// of another cluster, then the channel ends (so drive never blocks).
func second(readOnly bool) Options {
	snaps := make(chan *kube.Snapshot, 1)
	s := testSnapshot()
	s.Context = "second"
	snaps <- s
	close(snaps)
	return Options{Context: "second", Snapshots: snaps, ReadOnly: readOnly, Writer: writer.New(demo.Clients(demo.Epoch), readOnly)}
}

func ctxModel(t *testing.T, readOnly bool, switched *[]string) Model {
	m, _ := demoModel(t, readOnly)
	m.opt.Contexts = func() ([]kube.KubeContext, error) {
		return []kube.KubeContext{{Name: "homelab", Cluster: "homelab", Current: true}, {Name: "second", Cluster: "lab-2", Namespace: "apps"}}, nil
	}
	m.opt.Switch = func(name string) (Options, error) {
		*switched = append(*switched, name)
		if name != "second" {
			return Options{}, errors.New(`context "` + name + `" does not exist`)
		}
		// The new session's options claim writes are allowed: the root
		// must keep the session read-only anyway.
		return second(false), nil
	}
	return m
}

// :ctx lists the contexts, enter switches: the old cluster's rows go, the
// new one's come, the status bar names it, and a read-only session stays
// read-only: a write key asks nothing and the hint is not offered.
func TestContextSwitch(t *testing.T) {
	var switched []string
	m := ctxModel(t, true, &switched)
	m = keys(t, typeLine(t, keys(t, m, ":"), "ctx"), "enter")
	s := m.Render()
	if !strings.Contains(s, "Switch to context") || !strings.Contains(s, "second") || !strings.Contains(s, "cluster lab-2, namespace apps") {
		t.Fatalf(":ctx should list the contexts:\n%s", s)
	}
	m = keys(t, m, "j", "enter")
	if strings.Join(switched, ",") != "second" {
		t.Fatalf("switched to %v", switched)
	}
	s = m.Render()
	for _, want := range []string{" second ", "READ-ONLY", "apps", "plain"} {
		if !strings.Contains(s, want) {
			t.Errorf("after the switch the screen lacks %q:\n%s", want, s)
		}
	}
	for _, gone := range []string{"homelab", "argo-workflows", "legacy-apps"} {
		if strings.Contains(s, gone) {
			t.Errorf("the old cluster's %q is still on screen:\n%s", gone, s)
		}
	}
	if !m.opt.ReadOnly || m.canWrite() {
		t.Fatal("the session is no longer read-only after the switch")
	}
	m = keys(t, m, "1", "a")
	if len(m.stack) != 0 || m.write.step != "" {
		t.Fatalf("a write key did something in a read-only session after the switch:\n%s", m.Render())
	}

	// A message of the first session (its source's last snapshot) arriving
	// late is dropped.
	m = drive(t, m, SnapshotMsg{demo.Homelab()})
	if s := m.Render(); strings.Contains(s, "argo-workflows") {
		t.Errorf("a snapshot of the old session replaced the new one:\n%s", s)
	}
}

// :ctx NAME switches at once; a context that does not connect says why and
// the session in use keeps running.
func TestContextSwitchByNameAndFailure(t *testing.T) {
	var switched []string
	m := ctxModel(t, false, &switched)
	m = keys(t, typeLine(t, keys(t, m, ":"), "ctx nowhere"), "enter")
	s := m.Render()
	if !strings.Contains(s, `cannot switch to nowhere: context "nowhere" does not exist`) || !strings.Contains(s, "argo-workflows") {
		t.Fatalf("a failed switch should say why and keep the cluster:\n%s", s)
	}
	m = keys(t, typeLine(t, keys(t, m, ":"), "ctx second"), "enter")
	if s := m.Render(); !strings.Contains(s, " second ") || strings.Contains(s, "argo-workflows") {
		t.Fatalf(":ctx second did not switch:\n%s", s)
	}
	if !m.canWrite() {
		t.Errorf("a session that could write should still be able to after the switch")
	}
	// Keys still work in the new session: the filter, then help.
	m = keys(t, typeLine(t, keys(t, m, "1", "/"), "loki"), "enter")
	if s := m.Render(); !strings.Contains(s, "Namespaces (1/3) /loki") {
		t.Errorf("the filter does not work after the switch:\n%s", s)
	}
}

// The demo has one cluster: :ctx says so.
func TestContextSwitchDemo(t *testing.T) {
	m, _ := demoModel(t, false)
	m = keys(t, typeLine(t, keys(t, m, ":"), "ctx"), "enter")
	if s := m.Render(); !strings.Contains(s, "cannot switch contexts") {
		t.Errorf(":ctx in the demo should say it cannot switch:\n%s", s)
	}
}

// :ctx completes the kubeconfig's context names, read when : opens, not
// the cluster's namespaces; :ns still completes namespaces; the demo,
// which cannot switch, offers no context (and no namespace) after :ctx.
func TestContextCompletion(t *testing.T) {
	var switched []string
	m := ctxModel(t, false, &switched)
	m = typeLine(t, m, ":ctx ")
	if bar := m.statusBar(); !strings.Contains(bar, ":ctx ▏homelab") {
		t.Fatalf(":ctx  does not offer the first context: %q", bar)
	}
	m = keys(t, m, "s")
	if bar := m.statusBar(); !strings.Contains(bar, ":ctx s▏econd") {
		t.Fatalf(":ctx s does not offer second: %q", bar)
	}
	m = keys(t, m, "tab")
	if bar := m.statusBar(); !strings.Contains(bar, ":ctx second▏") {
		t.Fatalf("tab did not complete :ctx second: %q", bar)
	}
	m = keys(t, m, "enter")
	if strings.Join(switched, ",") != "second" || !strings.Contains(m.Render(), " second ") {
		t.Fatalf("the completed line switched to %v:\n%s", switched, m.Render())
	}
	// A namespace is no context: :ctx l offers nothing (the first cluster
	// has loki and legacy-apps; the second's contexts do not start with l).
	m = typeLine(t, keys(t, m, "esc"), ":ctx l")
	if bar := m.statusBar(); !strings.Contains(bar, ":ctx l▏ ") {
		t.Fatalf(":ctx l offers something: %q", bar)
	}

	n := ctxModel(t, false, &switched)
	n = keys(t, typeLine(t, n, ":ns lo"), "tab")
	if bar := n.statusBar(); !strings.Contains(bar, ":ns lo") || !strings.Contains(bar, "ki▏") && !strings.Contains(bar, "calstack▏") {
		t.Fatalf(":ns lo<tab> does not complete a namespace: %q", bar)
	}
	d, _ := demoModel(t, false)
	d = keys(t, typeLine(t, d, ":ctx l"), "tab")
	if bar := d.statusBar(); !strings.Contains(bar, ":ctx l▏ ") {
		t.Fatalf("the demo completes :ctx l with %q", bar)
	}
}

// With the API server unreachable its long error fills the status bar;
// the : line still shows what is typed (the left is cut, not the line),
// since switching away is what the user then wants.
func TestPromptShowsOverALongProblem(t *testing.T) {
	var switched []string
	m := ctxModel(t, false, &switched)
	m = drive(t, m, SnapshotMsg{&kube.Snapshot{Context: "homelab", Problem: "cannot reach API server: Get \"https://127.0.0.1:40755/version\": dial tcp 127.0.0.1:40755: connect: connection refused"}})
	if bar := m.statusBar(); !strings.Contains(bar, "cannot reach API server") {
		t.Fatalf("the status bar does not show the problem: %q", bar)
	}
	m = typeLine(t, m, ":ctx s")
	bar := m.statusBar()
	if !strings.Contains(bar, ":ctx s▏econd") || !strings.Contains(bar, "homelab") {
		t.Fatalf("the : line is cut off by the problem: %q", bar)
	}
	if w := len([]rune(bar)); w > 120 {
		t.Fatalf("the status bar is %d cells wide", w)
	}
}
