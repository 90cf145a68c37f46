package ui

import (
	"context"

	tea "charm.land/bubbletea/v2"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/views/yaml"
)

// yamlOverlay is the YAML view (y) of one object.
type yamlOverlay struct{ m yaml.Model }

func (o yamlOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && !o.m.Typing() && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o yamlOverlay) View(w, h int) string               { return o.m.View(w, h) }
func (o yamlOverlay) SetSize(w, h int) overlay           { o.m = o.m.SetSize(w, h); return o }
func (o yamlOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o yamlOverlay) Close()                             {}

// openYAML shows the selected object as the API server stores it, read
// fresh: the Source's cache holds only what the analysis reads.
func (m Model) openYAML() (Model, tea.Cmd) {
	r, ok := m.selected()
	if !ok {
		return m, status("no row selected", false)
	}
	if m.opt.Fetch == nil {
		return m, status("objects cannot be read from this cluster", true)
	}
	fetch, ctx := m.opt.Fetch, m.opt.Ctx
	ym := yaml.New(m.theme, r)
	return m.push(yamlOverlay{ym}), func() tea.Msg {
		c, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		obj, err := fetch(c, r)
		return yaml.Loaded{Ref: r, Obj: obj, Err: err}
	}
}

// FetchFrom reads objects for the YAML view through clients.
func FetchFrom(c *kube.Clients) func(context.Context, kube.Ref) (runtime.Object, error) {
	return func(ctx context.Context, r kube.Ref) (runtime.Object, error) { return kube.Fetch(ctx, c, r) }
}
