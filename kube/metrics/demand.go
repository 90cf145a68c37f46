package metrics

import (
	"sync"

	"github.com/ambx/ambx/kube/usage"
)

// Demand is what the screen currently shows of the metrics API, set by the
// UI and read by the Poller, which polls only that and wakes when it
// changes. It is safe for concurrent use.
type Demand struct {
	mu      sync.Mutex
	need    usage.Need
	changed chan struct{} // closed and replaced on every change
}

// NewDemand returns a Demand that starts at need.
func NewDemand(need usage.Need) *Demand {
	return &Demand{need: need, changed: make(chan struct{})}
}

// Set records what the screen needs now; an unchanged need costs nothing.
func (d *Demand) Set(need usage.Need) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if need == d.need {
		return
	}
	d.need = need
	close(d.changed)
	d.changed = make(chan struct{})
}

// Need returns what the screen needs now.
func (d *Demand) Need() usage.Need {
	n, _ := d.get()
	return n
}

// get returns the need and a channel closed at its next change.
func (d *Demand) get() (usage.Need, <-chan struct{}) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.need, d.changed
}
