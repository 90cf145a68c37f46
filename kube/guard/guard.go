// Package guard makes read-only mode a property of the HTTP transport, not
// of the key bindings: every request that could change the cluster is
// refused before it leaves the process, whichever code path built it.
package guard

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
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
// mode: reads, the two POSTs that only ask what the user may do, and
// port-forwards to the pods admitted with AdmitPortForward. Exec, attach and
// port-forward are refused whatever the method: over WebSocket they are GETs
// that run commands in a pod or open its ports.
func Allowed(method, path string) bool {
	p := strings.TrimSuffix(path, "/")
	if sub := podSubresource(p); sub != "" {
		switch sub {
		case "exec", "attach":
			return false
		case "portforward":
			return (method == http.MethodGet || method == http.MethodPost) && admitted(p)
		}
	}
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return true
	case http.MethodPost:
		// /apis/authorization.k8s.io/v1/selfsubjectaccessreviews and
		// .../selfsubjectrulesreviews create nothing: the server answers
		// and stores no object.
		return strings.HasPrefix(p, "/apis/authorization.k8s.io/") &&
			(strings.HasSuffix(p, "/selfsubjectaccessreviews") || strings.HasSuffix(p, "/selfsubjectrulesreviews"))
	}
	return false
}

// podSubresource returns the subresource of /api/v1/namespaces/NS/pods/NAME/SUB,
// or "".
func podSubresource(p string) string {
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	if len(parts) == 7 && parts[0] == "api" && parts[1] == "v1" && parts[2] == "namespaces" && parts[4] == "pods" {
		return parts[6]
	}
	return ""
}

// portForwards holds the paths of admitted port-forwards. It is global
// because the guard sits inside client-go's transport chain, built from a
// rest.Config, where nothing of ambx's can reach a Transport value.
var portForwards sync.Map

// AdmitPortForward lets a port-forward to one pod through the read-only
// guard. Only ambx's ztunnel reader calls it, for pods it found by their
// ztunnel labels, and it forwards only ztunnel's admin port (15000) for a
// GET of config_dump and its metrics port (15020) for a GET of metrics,
// both read-only; the port travels inside the tunnel, where the transport
// cannot see it, so that is the reader's promise (kube/ztread's targets).
func AdmitPortForward(namespace, pod string) {
	portForwards.Store("/api/v1/namespaces/"+namespace+"/pods/"+pod+"/portforward", true)
}

func admitted(p string) bool {
	_, ok := portForwards.Load(p)
	return ok
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
