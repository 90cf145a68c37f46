package kube

import (
	"context"
)

// Settled reports whether every watched resource has been read or has
// failed for a reason the snapshot states: none is still syncing.
func (s *Snapshot) Settled() bool {
	if s == nil || len(s.Resources) == 0 {
		return false
	}
	for _, st := range s.Resources {
		if st.Availability == Syncing {
			return false
		}
	}
	return true
}

// SnapshotOnce reads the cluster once through a Source, for commands that
// report and exit (`ambx audit`, `ambx reach`): it returns the first
// snapshot in which every resource is settled. When ctx ends first it
// returns the last snapshot it had (nil when none), whose Resources say
// what was not read, together with ctx's error.
func SnapshotOnce(ctx context.Context, c *Clients) (*Snapshot, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	snaps := make(chan *Snapshot, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		NewSource(c).Run(ctx, func(s *Snapshot) {
			select {
			case <-snaps:
			default:
			}
			snaps <- s
		})
	}()
	var last *Snapshot
	for {
		select {
		case s := <-snaps:
			last = s
			if s.Settled() {
				cancel()
				<-done
				return s, nil
			}
		case <-ctx.Done():
			err := ctx.Err()
			<-done
			select {
			case s := <-snaps:
				last = s
			default:
			}
			return last, err
		}
	}
}
