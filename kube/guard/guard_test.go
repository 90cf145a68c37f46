package guard

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	AdmitPortForward("istio-system", "ztunnel-admitted")
	for _, tc := range []struct {
		method, path string
		want         bool
	}{
		{"GET", "/api/v1/pods", true},
		{"GET", "/api/v1/namespaces/x/pods/y/log", true},
		{"HEAD", "/api", true},
		{"OPTIONS", "/api", true},
		{"POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", true},
		{"POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", true},
		{"POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", false},
		{"POST", "/api/v1/namespaces", false},
		{"POST", "/api/v1/namespaces/x/pods/y/eviction", false},
		{"POST", "/apis/evil/v1/selfsubjectaccessreviews", false},
		{"PATCH", "/api/v1/namespaces/x", false},
		{"PUT", "/api/v1/namespaces/x", false},
		{"DELETE", "/api/v1/namespaces/x/pods/y", false},
		// Over WebSocket, exec, attach and port-forward are GETs.
		{"GET", "/api/v1/namespaces/x/pods/y/exec", false},
		{"GET", "/api/v1/namespaces/x/pods/y/attach", false},
		{"POST", "/api/v1/namespaces/x/pods/y/exec", false},
		{"GET", "/api/v1/namespaces/x/pods/y/portforward", false},
		{"POST", "/api/v1/namespaces/x/pods/y/portforward", false},
		{"GET", "/api/v1/namespaces/istio-system/pods/ztunnel-admitted/portforward", true},
		{"POST", "/api/v1/namespaces/istio-system/pods/ztunnel-admitted/portforward", true},
		{"DELETE", "/api/v1/namespaces/istio-system/pods/ztunnel-admitted/portforward", false},
		{"GET", "/api/v1/namespaces/istio-system/pods/ztunnel-other/portforward", false},
		{"GET", "/api/v1/namespaces/x/pods/y/log", true},
		{"GET", "/api/v1/namespaces/x/pods/y:15020/proxy/metrics", true},
		{"CONNECT", "/api/v1/namespaces/x/pods/y/exec", false},
	} {
		if got := Allowed(tc.method, tc.path); got != tc.want {
			t.Errorf("Allowed(%s %s) = %v, want %v", tc.method, tc.path, got, tc.want)
		}
	}
}

// TestTransportRefusesBeforeTheServer checks that a refused request never
// reaches the server, and an allowed one does.
func TestTransportRefusesBeforeTheServer(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		w.WriteHeader(200)
	}))
	defer srv.Close()
	tr := &Transport{Next: http.DefaultTransport}
	c := &http.Client{Transport: tr}

	req, _ := http.NewRequest("PATCH", srv.URL+"/api/v1/namespaces/x", strings.NewReader(`{}`))
	_, err := c.Do(req)
	var ro *ErrReadOnly
	if !errors.As(err, &ro) {
		t.Fatalf("PATCH: got %v, want ErrReadOnly", err)
	}
	resp, err := c.Get(srv.URL + "/api/v1/pods")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(seen) != 1 || seen[0] != "GET /api/v1/pods" {
		t.Fatalf("server saw %v, want only the GET", seen)
	}
	if tr.Refused() != 1 {
		t.Fatalf("Refused() = %d, want 1", tr.Refused())
	}
}
