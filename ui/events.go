package ui

import (
	"context"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/views/events"
)

// eventsEvery is how often an open events view reads again: events are
// read on demand with a field selector, not watched cluster-wide.
const eventsEvery = 5 * time.Second

// EventReader reads the events of one object.
type EventReader func(ctx context.Context, r kube.Ref, now time.Time) (kube.Events, error)

// EventsFrom reads events through clients.
func EventsFrom(c *kube.Clients) EventReader {
	return func(ctx context.Context, r kube.Ref, now time.Time) (kube.Events, error) {
		return kube.ReadEvents(ctx, c.Kube, r, now)
	}
}

// eventsOverlay is the events view (e) of one object; it reads again on
// the clock while open.
type eventsOverlay struct {
	m    events.Model
	read func() tea.Cmd
}

func (o eventsOverlay) Update(msg tea.Msg) (overlay, tea.Cmd) {
	if k, ok := msg.(tea.KeyPressMsg); ok && closes(k) {
		return nil, nil
	}
	var cmd tea.Cmd
	o.m, cmd = o.m.Update(msg)
	return o, cmd
}
func (o eventsOverlay) View(w, h int) string               { return o.m.View(w, h) }
func (o eventsOverlay) SetSize(w, h int) overlay           { o.m = o.m.SetSize(w, h); return o }
func (o eventsOverlay) SetSnapshot(*kube.Snapshot) overlay { return o }
func (o eventsOverlay) Close()                             {}

// Tick ages the rows and starts the next read when one is due and none is
// under way.
func (o eventsOverlay) Tick(now time.Time) (overlay, tea.Cmd) {
	o.m = o.m.SetNow(now)
	if o.m.Reading() || now.Sub(o.m.LastRead()) < eventsEvery {
		return o, nil
	}
	o.m = o.m.Reread()
	return o, o.read()
}

// openEvents shows the selected object's events, read in a command.
func (m Model) openEvents() (Model, tea.Cmd) {
	r, ok := m.selected()
	if !ok {
		return m, status("no row selected", false)
	}
	if m.opt.Events == nil {
		return m, status("events cannot be read from this cluster", true)
	}
	m.eventsGen++
	gen, reader, ctx, now := m.eventsGen, m.opt.Events, m.opt.Ctx, m.opt.Now
	read := func() tea.Cmd {
		return func() tea.Msg {
			c, cancel := context.WithTimeout(ctx, readTimeout)
			defer cancel()
			ev, err := reader(c, r, now())
			return events.Loaded{Gen: gen, Events: ev, Err: err}
		}
	}
	o := eventsOverlay{m: events.New(m.theme, r, gen).SetNow(now()), read: read}
	return m.push(o), read()
}
