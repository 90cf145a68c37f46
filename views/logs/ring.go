package logs

import "github.com/ambx/ambx/kube/logstream"

// item is one entry in the ring with what the pane precomputes about it.
type item struct {
	e     logstream.Entry
	about bool // concerns the pane's target (for the f filter)
}

// ring keeps the newest cap entries. Each has a sequence number that never
// changes, so the filtered view can refer to entries across evictions.
type ring struct {
	items []item
	start int    // index of the oldest item
	n     int    // items held
	next  uint64 // sequence number of the next push
}

func newRing(capacity int) *ring {
	return &ring{items: make([]item, capacity)}
}

// push appends an item, evicting the oldest when full.
func (r *ring) push(it item) {
	i := (r.start + r.n) % len(r.items)
	r.items[i] = it
	if r.n < len(r.items) {
		r.n++
	} else {
		r.start = (r.start + 1) % len(r.items)
	}
	r.next++
}

// first is the sequence number of the oldest item held.
func (r *ring) first() uint64 { return r.next - uint64(r.n) }

// at returns the item with sequence number seq, which must be held.
func (r *ring) at(seq uint64) *item {
	return &r.items[(r.start+int(seq-r.first()))%len(r.items)]
}

// holds reports whether seq is still in the ring.
func (r *ring) holds(seq uint64) bool { return seq >= r.first() && seq < r.next }
