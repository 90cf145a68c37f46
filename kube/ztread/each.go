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
	sem := make(chan struct{}, max(parallel, 1))
	var wg sync.WaitGroup
	for i, p := range pods {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			c, cancel := context.WithTimeout(ctx, timeout)
			defer cancel()
			read(c, i, p)
		}()
	}
	wg.Wait()
}
