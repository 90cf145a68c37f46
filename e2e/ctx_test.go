package e2e

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// The real binary on a kubeconfig of two contexts (servers that are not
// there: completion reads the kubeconfig, not a cluster): :ctx b offers
// the context beta-lab, tab completes it, enter switches and the status
// bar names it.
func TestContextCompletionFromKubeconfig(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: one
  cluster: {server: "https://`+closedPort(t)+`"}
- name: two
  cluster: {server: "https://`+closedPort(t)+`"}
contexts:
- name: alpha-lab
  context: {cluster: one, user: nobody}
- name: beta-lab
  context: {cluster: two, user: nobody}
current-context: alpha-lab
users:
- name: nobody
  user: {token: not-used}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	x := startTerm(t, 120, 35, "--kubeconfig", kubeconfig)
	x.waitFor(" alpha-lab ", "cannot reach API server")
	x.press(":")
	x.typeText("ctx b")
	x.waitFor(":ctx b▏eta-lab")
	x.press("Tab")
	x.waitFor(":ctx beta-lab▏")
	x.press("Enter")
	rows := x.waitFor(" beta-lab ")
	if strings.Contains(join(rows), " alpha-lab ") {
		t.Fatalf("the status bar still names alpha-lab:\n%s", join(rows))
	}
	x.press(":")
	x.typeText("ctx a")
	x.waitFor(":ctx a▏lpha-lab")
	x.press("Escape")
	x.quit("beta-lab")
}
