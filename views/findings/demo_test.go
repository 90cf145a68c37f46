package findings

import (
	"strings"
	"testing"

	"github.com/ambx/ambx/kube/demo"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

// TestDemo renders the findings of the demo cluster, whose planted
// mistakes must all be listed.
func TestDemo(t *testing.T) {
	s := demo.Homelab()
	m := New(theme.Plain).SetSnapshot(s).SetSize(120, 24)
	got := m.View(120, 24)
	var objects []string
	for range m.Table.Len() {
		f, _ := m.Selected()
		objects = append(objects, f.Object.String())
		m, _ = m.Update(press("j"))
	}
	listed := strings.Join(objects, ", ")
	for _, want := range []string{"Namespace unipoller", "Service example-worker/worker", "AuthorizationPolicy argo-workflows/argo-server-api",
		"NetworkPolicy loki/loki", "NetworkPolicy localstack/localstack"} {
		if !strings.Contains(listed, want) {
			t.Errorf("the demo's planted mistake %q is not listed: %s", want, listed)
		}
	}
	golden.RequireEqual(t, got)
}
