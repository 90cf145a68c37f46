package kube

import (
	"net/http"
	"sync"
)

// Health hears every transport failure of the clients built with it. The
// reflector retries a refused watch quietly, without calling the watch
// error handler, so the Source learns of an outage here, at the transport,
// within a second of the server going away — and at no cost while the
// server is healthy.
type Health struct {
	mu   sync.Mutex
	subs []func(error)
}

// Wrap returns rt reporting its connection failures to h.
func (h *Health) Wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := rt.RoundTrip(req)
		if err != nil && req.Context().Err() == nil && isUnreachable(err) {
			h.report(err)
		}
		return resp, err
	})
}

// Subscribe calls f (from the failing request's goroutine) on each failure.
func (h *Health) Subscribe(f func(error)) {
	h.mu.Lock()
	h.subs = append(h.subs, f)
	h.mu.Unlock()
}

func (h *Health) report(err error) {
	h.mu.Lock()
	subs := h.subs
	h.mu.Unlock()
	for _, f := range subs {
		f(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
