package kube_test

import (
	"context"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube/kubeenv"
)

// The real binary, with every right, and a user who types "a Tab Enter" in
// one burst on the shop namespace: the confirm dialog opens, but the keys
// that came before it could be read cannot answer it, so the namespace keeps
// its label and the API server sees no patch. Then y, typed after the
// dialog has been on screen, does apply: the same path can write, so the
// first half could have failed.
func TestClusterBinaryTypeAheadCannotConfirm(t *testing.T) {
	env := kubeenv.Start(t, kubeenv.Options{Audit: true})
	ctx := context.Background()
	kubeconfig := limitedUserAs(t, env, "cluster-admin")
	x := startAmbx(t, kubeconfig)
	x.waitScreen(30*time.Second, "connected", "shop", "web-1")

	x.keys("1", "/")
	x.keys("-l", "shop")
	x.keys("Enter")
	x.waitScreen(10*time.Second, "Namespaces (1/")
	// One send-keys: the three keys reach ambx together (the Tab may well
	// reach the panes, before the access review has opened the dialog).
	x.keys("a", "Tab", "Enter")
	x.waitScreen(10*time.Second, "Remove namespace shop from ambient")
	time.Sleep(time.Second) // long past the dialog's guard time
	if s := x.screen(); !strings.Contains(s, "Remove namespace shop from ambient") {
		t.Fatalf("the dialog went away by itself:\n%s", s)
	}
	patches := func() []kubeenv.AuditEvent {
		var out []kubeenv.AuditEvent
		for _, ev := range env.MutatingRequests(t, kubeenv.LimitedUser) {
			if ev.Verb == "patch" || ev.Verb == "update" {
				out = append(out, ev)
			}
		}
		return out
	}
	label := func() string {
		ns, err := env.Client.CoreV1().Namespaces().Get(ctx, "shop", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return ns.Labels["istio.io/dataplane-mode"]
	}
	if got := label(); got != "ambient" {
		t.Fatalf("typed-ahead a Tab Enter changed shop's dataplane-mode to %q", got)
	}
	if p := patches(); len(p) != 0 {
		t.Fatalf("typed-ahead a Tab Enter sent %d writes:\n%v", len(p), p)
	}

	// Again, the keys now arriving the moment the dialog is on screen,
	// before a person could have read it; y among them.
	x.keys("Escape")
	x.waitScreen(10*time.Second, "cancelled: nothing changed")
	x.keys("1") // the burst's Tab may have moved the focus before the dialog opened
	x.keys("a")
	for open := time.Now(); !strings.Contains(x.screen(), "Remove namespace shop from ambient"); {
		if time.Since(open) > 10*time.Second {
			t.Fatalf("a did not open the dialog again:\n%s", x.screen())
		}
		time.Sleep(10 * time.Millisecond)
	}
	x.keys("Tab", "Enter", "y")
	time.Sleep(time.Second)
	if got := label(); got != "ambient" {
		t.Fatalf("a, then Tab Enter y just after the dialog opened, changed shop's dataplane-mode to %q", got)
	}
	if p := patches(); len(p) != 0 {
		t.Fatalf("keys typed within the guard time sent %d writes:\n%v", len(p), p)
	}

	x.keys("y")
	deadline := time.Now().Add(10 * time.Second)
	for label() == "ambient" {
		if time.Now().After(deadline) {
			t.Fatalf("y in the dialog did not remove the label:\n%s", x.screen())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p := patches(); len(p) != 1 {
		t.Errorf("y sent %d writes, want the one patch:\n%v", len(p), p)
	}
	x.keys("q")
	x.waitScreen(10*time.Second, "ambx exited 0")
}
