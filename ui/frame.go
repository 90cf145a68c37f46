package ui

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/ambx/ambx/kube/safe"
)

// Bubble Tea draws after every message, and the clock ticks every second
// to refresh ages: at 10,000 pods a frame of the main screen costs a few
// milliseconds to render and as much again for the renderer to diff, for a
// screen that, idle, did not change. View hands back the frame it drew
// last while nothing that frame was drawn from changed: the model (every
// message but an idle tick gives it a new generation), the terminal's size
// and the text the main screen reads from the clock (clockText). The
// renderer skips a frame equal to the last one, so an idle tick costs
// neither.

// generations numbers model states across every copy of every model, so
// two states never share one even when a test updates one model twice.
var generations atomic.Uint64

func nextGeneration() uint64 { return generations.Add(1) }

// frameKey is what a frame of the main screen was drawn from.
type frameKey struct {
	gen           uint64
	width, height int
	clock         string
}

// frameCache holds the last frame View drew; the copies of a model share
// it, and the generation tells their states apart.
type frameCache struct {
	mu    sync.Mutex
	ok    bool
	key   frameKey
	frame string
}

// changed gives m a new generation: the next frame is drawn afresh.
func (m Model) changed() Model {
	m.gen = nextGeneration()
	return m
}

// idleTick reports whether msg is a clock tick that changes nothing on
// screen but the text clockText covers: only overlays that tick (the
// ztunnel and traffic views polling, events, a rollout's or a new
// waypoint's progress) act on it otherwise. The others (help, findings,
// detail, logs, dialogs…) read no clock; new log lines and answers come
// as messages of their own.
func (m Model) idleTick(msg tea.Msg) bool {
	if _, tick := msg.(TickMsg); !tick {
		return false
	}
	for _, o := range m.stack {
		if _, ok := o.(ticker); ok {
			return false
		}
	}
	return true
}

// clockText is all that the screen outside ticking overlays reads from
// the clock: the status bar's age of the last change, and whether a
// status message is still shown. Ages move in steps (changeAge), so this
// changes a few times a minute at most.
func (m Model) clockText() string {
	s := strconv.FormatBool(m.showingStatus())
	if m.snap != nil {
		s += m.lastEvent()
	}
	return s
}

// frame is the screen View draws, made safe for the terminal: the last
// frame again while its key holds.
func (m Model) frame() string {
	draw := func() string {
		// Frame is the last guard: views make cluster text safe where it
		// enters them, and whatever slipped past still cannot drive the
		// terminal.
		return safe.Frame(m.Render())
	}
	c := m.frames
	if c == nil || m.gen == 0 {
		return draw()
	}
	k := frameKey{gen: m.gen, width: m.width, height: m.height, clock: m.clockText()}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok && c.key == k {
		return c.frame
	}
	c.frame, c.key, c.ok = draw(), k, true
	return c.frame
}

// changeAge says how long ago d was in the steps a person reads an age
// in: tens of seconds in the first minute ("0s" up to 10 s), then
// minutes, hours and minutes, days and hours. The text is d rounded down
// to its step, as kubectl's and k9s's ages are, so it never says a change
// is older than it is, and the screen needs drawing again only when a
// step is crossed.
func changeAge(d time.Duration) string {
	switch {
	case d < 0:
		return "0s" // a clock behind the event's
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d/(10*time.Second))*10)
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh%dm", int(d/time.Hour), int(d%time.Hour/time.Minute))
	}
	return fmt.Sprintf("%dd%dh", int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour))
}
