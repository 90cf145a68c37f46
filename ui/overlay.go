package ui

import (
	"context"

	"charm.land/bubbles/v2/key"
	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/keymap"
	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/usage"
	"github.com/ambx/ambx/views/confirm"
	"github.com/ambx/ambx/views/detail"
	"github.com/ambx/ambx/views/findings"
	"github.com/ambx/ambx/views/install"
	"github.com/ambx/ambx/views/logs"
	"github.com/ambx/ambx/views/overhead"
	"github.com/ambx/ambx/views/patch"
	"github.com/ambx/ambx/views/picker"
)

// overlay is a view over the panes that takes the keyboard. Overlays stack
// (findings → patch; esc returns to findings) and each one sees every
// snapshot, so what it shows follows the cluster.
type overlay interface {
	// Update handles a message; a nil overlay means "close me".
	Update(tea.Msg) (overlay, tea.Cmd)
	// View renders the overlay in exactly width x height cells (dialogs:
	// at most that, centred over what is beneath).
	View(width, height int) string
	SetSize(width, height int) overlay
	SetSnapshot(*kube.Snapshot) overlay
	// Close releases what the overlay holds (log streams); it is called
	// once, when the overlay leaves the stack.
	Close()
}

// dialog is an overlay drawn as a box over the overlay (or panes) beneath.
type dialog interface {
	overlay
	isDialog()
}

// usageOverlay is an overlay that shows metrics.
type usageOverlay interface {
	SetUsage(*usage.Usage) overlay
}

// closes reports whether k closes an overlay: esc, or q (which quits only
// from the top level).
func closes(k tea.KeyPressMsg) bool {
	return key.Matches(k, keymap.Global.Back) || key.Matches(k, keymap.Overlay.Close)
}

// detailOverlay is the detail view (d) of one object.
type detailOverlay struct{ m detail.Model }

func (o detailOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o detailOverlay) View(w, h int) string                 { return o.m.View(w, h) }
func (o detailOverlay) SetSize(w, h int) overlay             { o.m = o.m.SetSize(w, h); return o }
func (o detailOverlay) SetSnapshot(s *kube.Snapshot) overlay { o.m = o.m.SetSnapshot(s); return o }
func (o detailOverlay) Close()                               {}

// findingsOverlay is the findings list (!).
type findingsOverlay struct{ m findings.Model }

func (o findingsOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o findingsOverlay) View(w, h int) string                 { return o.m.View(w, h) }
func (o findingsOverlay) SetSize(w, h int) overlay             { o.m = o.m.SetSize(w, h); return o }
func (o findingsOverlay) SetSnapshot(s *kube.Snapshot) overlay { o.m = o.m.SetSnapshot(s); return o }
func (o findingsOverlay) Close()                               {}

// patchOverlay shows NetworkPolicy patches for HBONE (n). The patches were
// computed when it opened: they stay a valid suggestion as the cluster
// moves, and the user may be copying one.
type patchOverlay struct{ m patch.Model }

func (o patchOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o patchOverlay) View(w, h int) string               { return o.m.View(w, h) }
func (o patchOverlay) SetSize(w, h int) overlay           { o.m = o.m.SetSize(w, h); return o }
func (o patchOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o patchOverlay) Close()                             {}

// logsOverlay follows ztunnel logs (l); closing it stops the stream.
type logsOverlay struct {
	m      logs.Model
	cancel context.CancelFunc
}

func (o logsOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && !o.m.Searching() && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o logsOverlay) View(w, h int) string               { return o.m.View(w, h) }
func (o logsOverlay) SetSize(w, h int) overlay           { o.m = o.m.SetSize(w, h); return o }
func (o logsOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o logsOverlay) Close() {
	o.m.Close()
	if o.cancel != nil {
		o.cancel()
	}
}

// overheadOverlay is the mesh overhead box (o).
type overheadOverlay struct {
	m    overhead.Model
	snap *kube.Snapshot
	use  *usage.Usage
}

func (o overheadOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && (closes(k) || key.Matches(k, keymap.Global.Overhead)) {
		return nil, nil
	}
	return o, nil
}
func (o overheadOverlay) View(w, h int) string     { return o.m.View(w, h, true) }
func (o overheadOverlay) SetSize(_, _ int) overlay { return o }
func (o overheadOverlay) SetSnapshot(s *kube.Snapshot) overlay {
	o.snap = s
	o.m = o.m.Set(s, o.use)
	return o
}
func (o overheadOverlay) SetUsage(u *usage.Usage) overlay {
	o.use = u
	o.m = o.m.Set(o.snap, u)
	return o
}
func (o overheadOverlay) Close() {}

// installOverlay is the Istio installation view (i).
type installOverlay struct{ m install.Model }

func (o installOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && (closes(k) || key.Matches(k, keymap.Global.Install)) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o installOverlay) View(w, h int) string                 { return o.m.View(w, h) }
func (o installOverlay) SetSize(w, h int) overlay             { o.m = o.m.SetSize(w, h); return o }
func (o installOverlay) SetSnapshot(s *kube.Snapshot) overlay { o.m = o.m.SetSnapshot(s); return o }
func (o installOverlay) Close()                               {}

// pickerOverlay is a small list to choose from (W); choosing sends the
// message choose makes and closes it.
type pickerOverlay struct {
	m      picker.Model
	id     string
	choose func(i int) tea.Msg
	width  int
	height int
}

func (o pickerOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.KeyPressMsg:
		if closes(msg) {
			return nil, nil
		}
		var cmd tea.Cmd
		o.m, cmd = o.m.Update(msg)
		return o, cmd
	case picker.Chosen:
		if msg.ID != o.id {
			return o, nil
		}
		next := o.choose(msg.Index)
		return nil, func() tea.Msg { return next }
	}
	return o, nil
}
func (o pickerOverlay) View(w, h int) string               { return o.m.View(w, h) }
func (o pickerOverlay) SetSize(w, h int) overlay           { o.width, o.height = w, h; return o }
func (o pickerOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o pickerOverlay) Close()                             {}
func (o pickerOverlay) isDialog()                          {}

// confirmOverlay asks before a write; the answer comes back as a
// confirm.Result that the root matches against the plan it holds.
type confirmOverlay struct {
	m confirm.Model
}

func (o confirmOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o confirmOverlay) View(w, h int) string               { return o.m.View(min(w, 90), max(1, h-2)) }
func (o confirmOverlay) SetSize(int, int) overlay           { return o }
func (o confirmOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o confirmOverlay) Close()                             {}
func (o confirmOverlay) isDialog()                          {}
