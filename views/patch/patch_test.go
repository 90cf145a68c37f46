package patch

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/finding"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui/clipboard"
	"github.com/ambx/ambx/views/golden"
)

var now = time.Date(2026, time.August, 24, 9, 30, 0, 0, time.UTC)

const lokiManifest = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: loki-hbone
  namespace: loki
spec:
  ingress:
  - from:
    - podSelector:
        matchLabels:
          app: promtail
    ports:
    - port: 15008
      protocol: TCP
  podSelector:
    matchLabels:
      app: loki
  policyTypes:
  - Ingress
`

const probeManifest = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: loki-probes
  namespace: loki
spec:
  ingress:
  - from:
    - ipBlock:
        cidr: 169.254.7.127/32
  podSelector:
    matchLabels:
      app: loki
  policyTypes:
  - Ingress
`

func pod(ns, name string, lbl map[string]string) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbl,
		Annotations: map[string]string{ambient.AnnotationRedirection: "enabled"}}}
}

// fixture is a namespace whose NetworkPolicy blocks HBONE to loki, with
// the findings the NetworkPolicy check reports for it. The view reads only
// s.Findings, so they are set literally.
func fixture() *kube.Snapshot {
	ambientNS := func(n string) *corev1.Namespace {
		return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n, Labels: map[string]string{ambient.LabelDataplaneMode: "ambient"}}}
	}
	s := kube.Build(ambient.Cluster{
		Namespaces: []*corev1.Namespace{ambientNS("loki"), ambientNS("shop")},
		Pods: []*corev1.Pod{
			pod("loki", "loki-0", map[string]string{"app": "loki"}),
			pod("loki", "promtail-x2k9v", map[string]string{"app": "promtail"}),
			pod("shop", "cart-7d9f-abcde", map[string]string{"app": "cart"}),
		},
		NetworkPolicies: []*networkingv1.NetworkPolicy{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "loki", Name: "loki"},
			Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "loki"}}},
		}},
	}, now)
	npRef := finding.Ref{Kind: "NetworkPolicy", Namespace: "loki", Name: "loki"}
	s.Findings = []finding.Finding{
		{Severity: finding.Error, Code: "hbone-ingress-blocked", Object: npRef,
			Title: "blocks HBONE (15008) from promtail to loki", Why: "ambient delivers on 15008.",
			Patch: &finding.Patch{
				Title:     "Add TCP 15008 to rule ingress[0] of loki/loki",
				Command:   `kubectl patch networkpolicy loki -n loki --type=json -p '[{"op":"add","path":"/spec/ingress/0/ports/-","value":{"port":15008,"protocol":"TCP"}}]'`,
				JSONPatch: `[{"op":"add","path":"/spec/ingress/0/ports/-","value":{"port":15008,"protocol":"TCP"}}]`,
				Manifest:  lokiManifest, Target: npRef}},
		{Severity: finding.Warning, Code: "probe-source-blocked", Object: npRef,
			Title: "blocks kubelet probes from 169.254.7.127",
			Patch: &finding.Patch{
				Title:    "Append an ingress rule to loki/loki",
				Command:  `kubectl patch networkpolicy loki -n loki --type=json -p '[{"op":"add","path":"/spec/ingress/-","value":{"from":[{"ipBlock":{"cidr":"169.254.7.127/32"}}]}}]'`,
				Manifest: probeManifest, Target: npRef}},
		{Severity: finding.Warning, Code: "pod-needs-restart", Object: finding.Ref{Kind: "Namespace", Name: "shop"},
			Title: "1 pod not captured by ambient"},
	}
	return s
}

func press(m Model, keys ...string) (Model, []tea.Cmd) {
	var cmds []tea.Cmd
	for _, k := range keys {
		var msg tea.KeyPressMsg
		switch k {
		case "tab":
			msg = tea.KeyPressMsg{Code: tea.KeyTab}
		case "pgdown":
			msg = tea.KeyPressMsg{Code: tea.KeyPgDown}
		case "pgup":
			msg = tea.KeyPressMsg{Code: tea.KeyPgUp}
		default:
			msg = tea.KeyPressMsg{Code: rune(k[0]), Text: k}
		}
		var cmd tea.Cmd
		m, cmd = m.Update(msg)
		cmds = append(cmds, cmd)
	}
	return m, cmds
}

func checkSize(t *testing.T, got string, width, height int) {
	t.Helper()
	lines := strings.Split(got, "\n")
	if len(lines) != height {
		t.Fatalf("%d lines, want %d", len(lines), height)
	}
	for i, l := range lines {
		if w := ansi.StringWidth(l); w != width {
			t.Errorf("line %d is %d cells wide, want %d: %q", i, w, width, l)
		}
	}
}

func TestView(t *testing.T) {
	s := fixture()
	for _, tc := range []struct {
		name          string
		m             Model
		keys          []string
		width, height int
	}{
		{"namespace_command", ForNamespace(theme.Plain, s, "loki"), nil, 100, 16},
		{"namespace_manifest", ForNamespace(theme.Plain, s, "loki"), []string{"tab"}, 100, 16},
		{"second_patch", ForNamespace(theme.Plain, s, "loki"), []string{"]", "tab"}, 100, 16},
		{"scrolled", ForNamespace(theme.Plain, s, "loki"), []string{"tab", "j", "j", "j"}, 60, 10},
		{"narrow_command_wraps", ForPod(theme.Plain, s, ambient.Key{Namespace: "loki", Name: "loki-0"}), nil, 40, 10},
		// As the terminal receives it: chroma's colours, each row closing
		// its style and the next opening it again (cat the file to see it).
		{"narrow_command_wraps_dark", ForPod(theme.Dark, s, ambient.Key{Namespace: "loki", Name: "loki-0"}), nil, 40, 10},
		{"narrow_manifest_dark", ForPod(theme.Dark, s, ambient.Key{Namespace: "loki", Name: "loki-0"}), []string{"tab"}, 40, 10},
		{"tiny", ForNamespace(theme.Plain, s, "loki"), []string{"tab"}, 20, 5},
		{"none", ForNamespace(theme.Plain, s, "shop"), nil, 60, 6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, _ := press(tc.m.SetSize(tc.width, tc.height), tc.keys...)
			got := m.View(tc.width, tc.height)
			checkSize(t, got, tc.width, tc.height)
			golden.RequireEqual(t, got)
		})
	}
}

func TestViewAnySize(t *testing.T) {
	m := ForNamespace(theme.Dark, fixture(), "loki")
	for _, form := range []int{0, 1} {
		for w := 1; w <= 50; w += 7 {
			for h := 1; h <= 12; h++ {
				m2 := m.SetSize(w, h)
				if form == 1 {
					m2, _ = press(m2, "tab", "G")
				}
				checkSize(t, m2.View(w, h), w, h)
			}
		}
	}
	if got := m.View(0, 5); got != "" {
		t.Errorf("View(0, 5) = %q, want nothing", got)
	}
}

func TestWhichPatches(t *testing.T) {
	s := fixture()
	for _, tc := range []struct {
		name string
		m    Model
		want []string // codes, in order
	}{
		{"namespace with a blocking policy", ForNamespace(theme.Plain, s, "loki"), []string{"hbone-ingress-blocked", "probe-source-blocked"}},
		{"pod the policy selects", ForPod(theme.Plain, s, ambient.Key{Namespace: "loki", Name: "loki-0"}), []string{"hbone-ingress-blocked", "probe-source-blocked"}},
		{"pod the policy does not select", ForPod(theme.Plain, s, ambient.Key{Namespace: "loki", Name: "promtail-x2k9v"}), nil},
		{"namespace whose finding has no patch", ForNamespace(theme.Plain, s, "shop"), nil},
		{"one finding", ForFinding(theme.Plain, s.Findings[1]), []string{"probe-source-blocked"}},
		{"no snapshot yet", ForNamespace(theme.Plain, nil, "loki"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			m := tc.m
			for range m.Len() {
				f, _ := m.Selected()
				got = append(got, f.Code)
				m, _ = press(m, "]")
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("patches = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestKeys(t *testing.T) {
	s := fixture()
	m := ForNamespace(theme.Plain, s, "loki").SetSize(60, 10)
	if m.Form() != FormCommand || !strings.HasPrefix(m.Text(), "kubectl patch networkpolicy loki -n loki --type=json") {
		t.Fatalf("opens on %v showing %q, want the kubectl patch command", m.Form(), m.Text())
	}
	m, _ = press(m, "tab")
	if m.Form() != FormManifest || m.Text() != lokiManifest {
		t.Fatalf("tab shows %q, want the NetworkPolicy manifest", m.Text())
	}
	m, _ = press(m, "tab")
	if m.Form() != FormCommand {
		t.Fatalf("second tab: form %v, want the command again", m.Form())
	}
	m, _ = press(m, "[")
	if f, _ := m.Selected(); f.Code != "probe-source-blocked" {
		t.Fatalf("[ from the first patch selects %s, want the last one", f.Code)
	}
	m, _ = press(m, "]")
	if f, _ := m.Selected(); f.Code != "hbone-ingress-blocked" {
		t.Fatalf("] from the last patch selects %s, want the first one", f.Code)
	}

	// Scrolling moves the manifest under a fixed header, and stops at the end.
	m, _ = press(m, "tab")
	firstBody := func(m Model) string { return strings.TrimSpace(strings.Split(m.View(60, 10), "\n")[3]) }
	if got := firstBody(m); got != "apiVersion: networking.k8s.io/v1" {
		t.Fatalf("first body line %q", got)
	}
	m, _ = press(m, "j", "j")
	if got := firstBody(m); got != "metadata:" {
		t.Fatalf("after j j the first body line is %q, want metadata:", got)
	}
	m, _ = press(m, "k")
	if got := firstBody(m); got != "kind: NetworkPolicy" {
		t.Fatalf("after k the first body line is %q", got)
	}
	m, _ = press(m, "pgdown", "pgdown", "pgdown", "pgdown")
	last := strings.Split(m.View(60, 10), "\n")[8]
	if strings.TrimSpace(last) != "- Ingress" {
		t.Fatalf("after paging down the last body line is %q, want the manifest's last line", last)
	}
	m, _ = press(m, "g")
	if got := firstBody(m); got != "apiVersion: networking.k8s.io/v1" {
		t.Fatalf("g goes to %q, want the top", got)
	}
}

func TestCopy(t *testing.T) {
	var copied []string
	fake := func(text string, done func(clipboard.Result) tea.Msg) tea.Cmd {
		copied = append(copied, text)
		return func() tea.Msg { return done(clipboard.Result{Bytes: len(text), Method: clipboard.OSC52}) }
	}
	m := ForNamespace(theme.Plain, fixture(), "loki").SetCopier(fake)
	m, cmds := press(m, "tab", "y")
	msg := cmds[1]()
	c, ok := msg.(Copied)
	if !ok {
		t.Fatalf("y gave %T, want patch.Copied", msg)
	}
	if c.Text != lokiManifest || len(copied) != 1 || copied[0] != lokiManifest {
		t.Fatalf("copied %q, want the shown manifest", copied)
	}
	if want := "copied 315 bytes to the clipboard (OSC 52)"; c.Status() != want || len(lokiManifest) != 315 {
		t.Fatalf("status %q, want %q", c.Status(), want)
	}

	_, cmds = press(ForNamespace(theme.Plain, fixture(), "shop").SetCopier(fake), "y")
	if c := cmds[0]().(Copied); c.Err == nil || c.Status() != "copy failed: no patch to copy" {
		t.Fatalf("y with no patch: %q", c.Status())
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	m := ForNamespace(theme.Plain, fixture(), "loki").SetDir(dir)
	write := func(m Model) Saved {
		t.Helper()
		_, cmds := press(m, "w")
		s, ok := cmds[0]().(Saved)
		if !ok || s.Err != nil {
			t.Fatalf("w: %+v", s)
		}
		return s
	}
	s := write(m)
	if want := filepath.Join(dir, "ambx-patch-loki-loki.sh"); s.Path != want || s.Status() != "wrote "+want {
		t.Fatalf("wrote %q (%q), want %q", s.Path, s.Status(), want)
	}
	b, _ := os.ReadFile(s.Path)
	if string(b) != m.Text()+"\n" {
		t.Fatalf("file holds %q, want the command", b)
	}
	m, _ = press(m, "tab")
	s = write(m)
	if b, _ := os.ReadFile(s.Path); filepath.Base(s.Path) != "ambx-patch-loki-loki.yaml" || string(b) != lokiManifest {
		t.Fatalf("wrote %s holding %q, want the manifest in ambx-patch-loki-loki.yaml", s.Path, b)
	}
	s = write(m)
	if filepath.Base(s.Path) != "ambx-patch-loki-loki-2.yaml" {
		t.Fatalf("second write went to %s, want a new file beside the first", s.Path)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "ambx-patch-loki-loki.yaml")); string(b) != lokiManifest {
		t.Fatal("the first file was overwritten")
	}

	_, cmds := press(m.SetDir(filepath.Join(dir, "missing")), "w")
	if s := cmds[0]().(Saved); s.Err == nil || !strings.HasPrefix(s.Status(), "write failed: ") {
		t.Fatalf("write into a missing folder: %q", s.Status())
	}
}
