// Package guard makes read-only mode a property of the HTTP transport, not
// of the key bindings: every request that could change the cluster is
// refused before it leaves the process, whichever code path built it.
package guard

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
)

// ErrReadOnly is the error a refused request returns.
type ErrReadOnly struct {
	Method, Path string
}

func (e *ErrReadOnly) Error() string {
	return fmt.Sprintf("read-only mode: refused %s %s", e.Method, e.Path)
}

// Transport refuses mutating requests and counts them.
type Transport struct {
	Next    http.RoundTripper
	refused atomic.Int64
}

// Wrap returns rt guarded.
func Wrap(rt http.RoundTripper) http.RoundTripper {
	return &Transport{Next: rt}
}

// Refused returns how many requests were refused.
func (t *Transport) Refused() int64 { return t.refused.Load() }

// Allowed reports whether a request may leave the process in read-only
// mode: reads, and the two POSTs that only ask what the user may do.
func Allowed(method, path string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	case http.MethodPost:
		// /apis/authorization.k8s.io/v1/selfsubjectaccessreviews and
		// .../selfsubjectrulesreviews create nothing: the server answers
		// and stores no object.
		p := strings.TrimSuffix(path, "/")
		return strings.HasPrefix(p, "/apis/authorization.k8s.io/") &&
			(strings.HasSuffix(p, "/selfsubjectaccessreviews") || strings.HasSuffix(p, "/selfsubjectrulesreviews"))
	}
	return false
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !Allowed(req.Method, req.URL.Path) {
		t.refused.Add(1)
		if req.Body != nil {
			_, _ = io.Copy(io.Discard, req.Body)
			_ = req.Body.Close()
		}
		return nil, &ErrReadOnly{Method: req.Method, Path: req.URL.Path}
	}
	return t.Next.RoundTrip(req)
}
