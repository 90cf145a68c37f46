package kube_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/ambx/ambx/kube/kubeenv"
)

// twoContexts writes a kubeconfig whose contexts "first" and "second"
// reach the two API servers, "first" current.
func twoContexts(t *testing.T, a, b *kubeenv.Env) string {
	t.Helper()
	out := clientcmdapi.NewConfig()
	for _, e := range []struct {
		name string
		env  *kubeenv.Env
	}{{"first", a}, {"second", b}} {
		cfg, err := clientcmd.LoadFromFile(e.env.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		ctx := cfg.Contexts[cfg.CurrentContext]
		if ctx == nil {
			t.Fatalf("%s has no current context", e.env.Kubeconfig)
		}
		out.Clusters[e.name] = cfg.Clusters[ctx.Cluster]
		out.AuthInfos[e.name] = cfg.AuthInfos[ctx.AuthInfo]
		out.Contexts[e.name] = &clientcmdapi.Context{Cluster: e.name, AuthInfo: e.name}
	}
	out.CurrentContext = "first"
	path := filepath.Join(t.TempDir(), "two.kubeconfig")
	if err := clientcmd.WriteToFile(*out, path); err != nil {
		t.Fatal(err)
	}
	return path
}

// The real binary, read-only, on a kubeconfig with two contexts: :ctx
// lists both, enter switches, the second cluster's namespaces and pods
// replace the first's, the status bar names "second" and still says
// READ-ONLY, and a write key on the second cluster sends it nothing.
func TestClusterBinaryContextSwitch(t *testing.T) {
	one := kubeenv.Start(t, kubeenv.Options{})
	two := kubeenv.Start(t, kubeenv.Options{Audit: true})
	n1, n2 := one.CreateNode(t, "node-one", nil), two.CreateNode(t, "node-two", nil)
	one.CreateNamespace(t, "only-in-one", nil)
	one.CreatePod(t, pod("only-in-one", "pod-of-one", n1.Name, nil))
	two.CreateNamespace(t, "only-in-two", nil)
	two.CreatePod(t, pod("only-in-two", "pod-of-two", n2.Name, nil))

	x := startAmbx(t, twoContexts(t, one, two), "--read-only")
	x.waitScreen(30*time.Second, " first ", "READ-ONLY", "connected", "only-in-one", "pod-of-one")

	x.keys(":")
	x.keys("-l", "ctx")
	x.keys("Enter")
	x.waitScreen(10*time.Second, "Switch to context", "first", "second")
	x.keys("j")
	x.keys("Enter")
	s := x.waitScreen(30*time.Second, " second ", "only-in-two", "pod-of-two", "READ-ONLY", "connected")
	if strings.Contains(s, "only-in-one") || strings.Contains(s, "pod-of-one") {
		t.Fatalf("the first cluster's objects are still on screen:\n%s", s)
	}

	// a on the namespace, y in case a dialog opened, then esc: nothing
	// may reach the second cluster.
	x.keys("1")
	x.keys("/")
	x.keys("-l", "only-in-two")
	x.keys("Enter")
	x.waitScreen(10*time.Second, "Namespaces (1/")
	x.keys("a")
	time.Sleep(300 * time.Millisecond)
	x.keys("y")
	time.Sleep(300 * time.Millisecond)
	x.keys("Escape")
	time.Sleep(300 * time.Millisecond)
	if s := x.screen(); !strings.Contains(s, "READ-ONLY") {
		t.Fatalf("read-only is gone after the switch:\n%s", s)
	}
	// The harness set the cluster up as the same user; ambx's requests
	// carry its user agent. It did read the second cluster, so a filter
	// that matched nothing would show here.
	var reads, writes []kubeenv.AuditEvent
	for _, ev := range two.AuditEvents(t) {
		if !strings.HasPrefix(ev.UserAgent, "ambx") {
			continue
		}
		switch ev.Verb {
		case "get", "list", "watch":
			reads = append(reads, ev)
		default:
			writes = append(writes, ev)
		}
	}
	if len(reads) == 0 {
		t.Fatal("the audit log of the second cluster holds no request of ambx")
	}
	if len(writes) != 0 {
		t.Fatalf("a read-only session sent writes to the second cluster after the switch:\n%v", writes)
	}
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}
