package kubeenv

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

// podNet stands in for the pod network, on loopback alone. The API server
// sends every connection it makes into the cluster (pod and service proxy,
// the kubelet API) through it as an HTTP CONNECT over a Unix socket,
// configured with an egress selector. Connections to loopback pass through (kwok's kubelet
// API); a pod address a test registered with ServePodPort is connected to
// the test's server on loopback instead; anything else is refused, so no
// packet ever goes to a pod IP, which here is no host at all.
//
// It exists because the API server proxies only to global unicast pod IPs
// (pods/proxy refuses loopback), so a fake listener "in" a pod cannot be
// reached any other way without a real network.
type podNet struct {
	ln  net.Listener
	srv *http.Server
	mu  sync.Mutex
	to  map[string]string // pod ip:port → loopback host:port
}

func startPodNet(dir string) (*podNet, error) {
	// A Unix socket: the API server's TCP egress transport insists on TLS.
	ln, err := net.Listen("unix", filepath.Join(dir, "podnet.sock"))
	if err != nil {
		return nil, err
	}
	p := &podNet{ln: ln, to: map[string]string{}}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.connect), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

func (p *podNet) close() {
	if p != nil {
		_ = p.srv.Close()
	}
}

func (p *podNet) route(hostport string) (string, bool) {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return "", false
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return hostport, true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	to, ok := p.to[hostport]
	return to, ok
}

func (p *podNet) connect(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	to, ok := p.route(r.Host)
	if !ok {
		http.Error(w, "kubeenv pod network: nothing serves "+r.Host, http.StatusBadGateway)
		return
	}
	upstream, err := net.DialTimeout("tcp", to, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = upstream.Close()
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	conn, buf, err := hj.Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	_, _ = conn.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	go func() {
		if buf.Reader.Buffered() > 0 {
			_, _ = io.CopyN(upstream, buf, int64(buf.Reader.Buffered()))
		}
		_, _ = io.Copy(upstream, conn)
		_ = upstream.Close()
	}()
	go func() {
		_, _ = io.Copy(conn, upstream)
		_ = conn.Close()
	}()
}

// egressConfig writes the API server's egress selector configuration that
// sends cluster traffic through the pod network.
func (p *podNet) egressConfig(dir string) (string, error) {
	cfg := fmt.Sprintf(`apiVersion: apiserver.k8s.io/v1beta1
kind: EgressSelectorConfiguration
egressSelections:
- name: cluster
  connection:
    proxyProtocol: HTTPConnect
    transport:
      uds:
        udsName: %s
`, p.ln.Addr().String())
	path := filepath.Join(dir, "egress-selector.yaml")
	return path, os.WriteFile(path, []byte(cfg), 0o644)
}

// ServePodPort makes connections the API server opens to podIP:port (pod
// proxy, service proxy) reach target, a server of the test's on loopback.
// The env must have been started with Options.PodNetwork.
func (e *Env) ServePodPort(t testing.TB, podIP string, port int, target string) {
	t.Helper()
	if e.podNet == nil {
		t.Fatal("kubeenv: ServePodPort needs Options{PodNetwork: true}")
	}
	if host, _, err := net.SplitHostPort(target); err != nil || !net.ParseIP(host).IsLoopback() {
		t.Fatalf("kubeenv: ServePodPort target %q must be a loopback host:port", target)
	}
	e.podNet.mu.Lock()
	e.podNet.to[net.JoinHostPort(podIP, strconv.Itoa(port))] = target
	e.podNet.mu.Unlock()
}
