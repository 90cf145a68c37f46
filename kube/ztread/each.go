package ztread

import (
	"context"
	"sync"
	"time"
)

// Each calls read for every pod, at most parallel at a time, each call under
// its own timeout, and returns once all have returned. A cluster of many
// nodes is read a few pods at a time so that ambx never opens hundreds of
// port-forwards at once, and one stuck pod costs only its own timeout.
func Each(ctx context.Context, pods []Pod, parallel int, timeout time.Duration, read func(ctx context.Context, i int, p Pod)) {
	EachUntil(ctx, pods, parallel, timeout, func(ctx context.Context, i int, p Pod) bool {
		read(ctx, i, p)
		return false
	})
}

// EachUntil is Each for reads that may end the run: once a read returns
// true, no read that has not begun begins (those under way finish). It
// returns how many pods, from the first, a read began for.
func EachUntil(ctx context.Context, pods []Pod, parallel int, timeout time.Duration, read func(ctx context.Context, i int, p Pod) (stop bool)) int {
	sem := make(chan struct{}, max(parallel, 1))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		stopped bool
	)
	begun := 0
	for i, p := range pods {
		sem <- struct{}{}
		mu.Lock()
		halt := stopped
		mu.Unlock()
		if halt {
			<-sem
			break
		}
		begun++
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			if read(c, i, p) {
				mu.Lock()
				stopped = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return begun
}
