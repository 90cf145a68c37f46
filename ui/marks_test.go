package ui

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/kube/finding"
)

var markOf = map[finding.Severity]string{finding.Error: "✖", finding.Warning: "⚠", finding.Info: "ℹ"}

// Every mistake planted in the demo is on the main screen without opening
// a view: its namespace's row carries the mark of the namespace's worst
// finding, and the object's own row, in the pane that lists its kind,
// carries the mark of its own worst finding.
func TestEveryDemoFindingIsMarkedOnItsRow(t *testing.T) {
	m, _ := demoModel(t, true)
	snap := demo.Homelab()
	if len(snap.Findings) == 0 {
		t.Fatal("the demo has no findings to mark")
	}
	worstNS := map[string]finding.Severity{}
	worstObj := map[finding.Ref]finding.Severity{}
	raise := func(ns string, s finding.Severity) {
		if cur, ok := worstNS[ns]; !ok || s > cur {
			worstNS[ns] = s
		}
	}
	for _, f := range snap.Findings {
		for _, r := range append([]finding.Ref{f.Object}, f.Affects...) {
			ns := r.Namespace
			if r.Kind == "Namespace" {
				ns = r.Name
			}
			if ns != "" {
				raise(ns, f.Severity)
			}
			if cur, ok := worstObj[r]; !ok || f.Severity > cur {
				worstObj[r] = f.Severity
			}
		}
	}
	render := func(k kube.Kind) (string, bool) {
		i, ok := m.paneFor(k)
		if !ok {
			return "", false
		}
		p := m.panes[i].pane.SetSize(240, 400)
		return p.View(240, 400, false), true
	}
	markedRow := func(view, name, ns string) (string, bool) {
		for _, line := range strings.Split(view, "\n") {
			fields := strings.Fields(line)
			if !containsField(fields, name) || (ns != "" && !containsField(fields, ns) && !strings.Contains(line, "‹"+ns+"›")) {
				continue
			}
			for _, mark := range markOf {
				if len(fields) > 0 && (fields[0] == mark || fields[0] == "▸"+mark) {
					return mark, true
				}
			}
			return "", true
		}
		return "", false
	}
	nsView, _ := render(kube.KindNamespace)
	for ns, s := range worstNS {
		got, found := markedRow(nsView, ns, "")
		if !found {
			t.Errorf("namespace %s has findings but no row in the Namespaces pane:\n%s", ns, nsView)
			continue
		}
		if got != markOf[s] {
			t.Errorf("namespace %s: row marked %q, its worst finding is %s (%s)", ns, got, s, markOf[s])
		}
	}
	for r, s := range worstObj {
		if r.Kind == "Namespace" {
			continue
		}
		view, ok := render(kube.Kind(r.Kind))
		if !ok {
			continue // a kind no pane lists: its namespace's mark carries it
		}
		got, found := markedRow(view, r.Name, r.Namespace)
		if !found {
			t.Errorf("%s has a finding but no row in the pane listing %ss:\n%s", r, r.Kind, view)
			continue
		}
		if got != markOf[s] {
			t.Errorf("%s: row marked %q, its worst finding is %s (%s)", r, got, s, markOf[s])
		}
	}
}

func containsField(fields []string, s string) bool {
	for _, f := range fields {
		if f == s || strings.HasPrefix(f, "▸") && f[len("▸"):] == s {
			return true
		}
	}
	return false
}
