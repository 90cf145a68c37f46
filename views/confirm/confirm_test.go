package confirm

import (
	"context"
	"strings"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/kube/ambient"
	"github.com/ambx/ambx/kube/writer"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/golden"
)

var enroll = Content{
	ID:          "ambient Namespace shop@41",
	Title:       "Enroll namespace shop in ambient",
	Description: "Labels namespace shop istio.io/dataplane-mode=ambient.",
	PatchLabel:  "JSON patch",
	Patch: `[
  {"op":"test","path":"/metadata/resourceVersion","value":"41"},
  {"op":"add","path":"/metadata/labels/istio.io~1dataplane-mode","value":"ambient"}
]`,
	Consequences: []string{
		"2 running pods are captured by istio-cni now, without a restart: ztunnel carries their traffic with mTLS and enforces L4 policy; new pods start in ambient.",
		"Namespace also has istio-injection=enabled: sidecar pods stay on sidecars and new pods still get sidecars (the sidecar wins).",
		"2 NetworkPolicies restrict ingress here: each must admit TCP 15008 (HBONE) and 169.254.7.127 (kubelet probes), or captured pods lose traffic.",
	},
}

func press(s string) tea.KeyPressMsg {
	switch s {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	}
	r := []rune(s)[0]
	return tea.KeyPressMsg{Code: r, Text: s}
}

// answer runs keys through the dialog and returns the Result it sent, if any.
func answer(t *testing.T, m Model, keys ...string) (Model, *Result) {
	t.Helper()
	m, _ = m.Update(Armed{ID: m.ID()})
	return answerUnarmed(t, m, keys...)
}

// answerUnarmed is answer before the guard time has passed.
func answerUnarmed(t *testing.T, m Model, keys ...string) (Model, *Result) {
	t.Helper()
	for i, k := range keys {
		var cmd tea.Cmd
		m, cmd = m.Update(press(k))
		if cmd == nil {
			continue
		}
		if i != len(keys)-1 {
			t.Fatalf("answered at %q before the last key", k)
		}
		r, ok := cmd().(Result)
		if !ok {
			t.Fatalf("command returned %T, want Result", cmd())
		}
		return m, &r
	}
	return m, nil
}

func TestKeys(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want *Result // nil: no answer yet
	}{
		{[]string{"enter"}, &Result{Confirmed: false, ID: enroll.ID}}, // the default is No
		{[]string{"y"}, &Result{Confirmed: true, ID: enroll.ID}},
		{[]string{"n"}, &Result{Confirmed: false, ID: enroll.ID}},
		{[]string{"esc"}, &Result{Confirmed: false, ID: enroll.ID}},
		// Only y applies: enter on Yes does not.
		{[]string{"right", "enter"}, nil},
		{[]string{"l", "enter"}, nil},
		{[]string{"tab", "enter"}, nil},
		{[]string{"left", "enter"}, nil},
		{[]string{"tab", "enter", "y"}, &Result{Confirmed: true, ID: enroll.ID}},
		{[]string{"right", "left", "enter"}, &Result{Confirmed: false, ID: enroll.ID}},
		{[]string{"h", "shift+tab", "enter"}, &Result{Confirmed: false, ID: enroll.ID}},
		{[]string{"right", "n"}, &Result{Confirmed: false, ID: enroll.ID}}, // n wins over focus
		{[]string{"right", "esc"}, &Result{Confirmed: false, ID: enroll.ID}},
		{[]string{"x", "q", "a"}, nil}, // other keys do nothing, and never answer
		{[]string{"down", "up"}, nil},
	} {
		t.Run(strings.Join(tc.keys, ","), func(t *testing.T) {
			_, got := answer(t, New(theme.Plain, enroll), tc.keys...)
			switch {
			case tc.want == nil && got != nil:
				t.Errorf("answered %+v, want no answer", *got)
			case tc.want != nil && got == nil:
				t.Errorf("no answer, want %+v", *tc.want)
			case tc.want != nil && *got != *tc.want:
				t.Errorf("answered %+v, want %+v", *got, *tc.want)
			}
		})
	}
}

// TestTypeAheadIsIgnored: keys that arrive before the guard time has passed
// (typed before the dialog was drawn) neither answer yes nor move the
// focus; cancelling still works, and so does y once armed.
func TestTypeAheadIsIgnored(t *testing.T) {
	m := New(theme.Plain, enroll)
	for _, keys := range [][]string{{"y"}, {"tab", "enter"}, {"right", "y", "enter"}} {
		mm, got := answerUnarmed(t, m, keys...)
		if got != nil {
			t.Errorf("%v before the guard answered %+v", keys, *got)
		}
		if mm.Focused() {
			t.Errorf("%v before the guard moved the focus to Yes", keys)
		}
	}
	if _, got := answerUnarmed(t, m, "esc"); got == nil || got.Confirmed {
		t.Errorf("esc before the guard: %+v, want a No", got)
	}
	// Armed only by its own Armed: another dialog's does not count.
	other, _ := m.Update(Armed{ID: "another"})
	if _, got := answerUnarmed(t, other, "y"); got != nil {
		t.Errorf("another dialog's Armed armed this one: %+v", *got)
	}
	cmd := m.Init()
	if cmd == nil {
		t.Fatal("Init starts no guard")
	}
	start := time.Now()
	msg := cmd()
	if a, ok := msg.(Armed); !ok || a.ID != enroll.ID {
		t.Fatalf("Init sent %#v, want Armed for %q", msg, enroll.ID)
	}
	if waited := time.Since(start); waited < Guard/2 {
		t.Errorf("Armed after %v, want about %v", waited, Guard)
	}
	armed, _ := m.Update(msg)
	if _, got := answerUnarmed(t, armed, "y"); got == nil || !got.Confirmed {
		t.Errorf("y after the guard: %+v, want yes", got)
	}
}

// TestEnterOnYesSaysPressY: enter on Yes does not apply; the dialog says
// which key does.
func TestEnterOnYesSaysPressY(t *testing.T) {
	m, got := answer(t, New(theme.Plain, enroll), "tab", "enter")
	if got != nil {
		t.Fatalf("enter on Yes answered %+v", *got)
	}
	if v := m.View(100, 30); !strings.Contains(v, "press y to apply") {
		t.Errorf("no hint that y applies:\n%s", v)
	}
}

func TestFocusShows(t *testing.T) {
	m := New(theme.Plain, enroll)
	m, _ = m.Update(Armed{ID: enroll.ID})
	if !strings.Contains(m.View(100, 30), " ▸[No]  [Yes] ") {
		t.Errorf("No is not shown focused:\n%s", m.View(100, 30))
	}
	m, _ = m.Update(press("right"))
	if !strings.Contains(m.View(100, 30), " [No]  ▸[Yes] ") {
		t.Errorf("Yes is not shown focused after right:\n%s", m.View(100, 30))
	}
}

func TestView(t *testing.T) {
	for _, tc := range []struct {
		name          string
		width, height int
		keys          []string
	}{
		{"wide", 120, 30, nil},
		{"narrow", 50, 30, nil},
		{"short", 80, 12, nil},
		{"short_scrolled", 80, 12, []string{"down", "down", "down"}},
		{"short_scrolled_to_end", 80, 12, []string{"down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down", "down"}},
		{"tiny", 16, 4, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(theme.Plain, enroll)
			m, _ = m.Update(tea.WindowSizeMsg{Width: tc.width, Height: tc.height})
			for _, k := range tc.keys {
				m, _ = m.Update(press(k))
			}
			golden.RequireEqual(t, m.View(tc.width, tc.height))
		})
	}
}

// The patch is shown as sent: every character of it appears, in order,
// when the dialog is wide enough not to wrap it.
func TestPatchShownVerbatim(t *testing.T) {
	v := New(theme.Plain, enroll).View(120, 40)
	var b strings.Builder
	for _, l := range strings.Split(v, "\n") {
		l = strings.TrimSuffix(strings.TrimPrefix(l, "│ "), "│")
		b.WriteString(strings.TrimRight(l, " ") + "\n")
	}
	if !strings.Contains(b.String(), enroll.Patch) {
		t.Errorf("patch not shown verbatim:\n%s", v)
	}
}

func TestFitsEverySize(t *testing.T) {
	for _, th := range []*theme.Theme{theme.Plain, theme.Dark} {
		for w := 1; w <= 130; w += 3 {
			for h := 1; h <= 40; h += 2 {
				v := New(th, enroll).View(w, h)
				lines := strings.Split(v, "\n")
				if len(lines) > h {
					t.Fatalf("%s %dx%d: %d lines", th.Name, w, h, len(lines))
				}
				for _, l := range lines {
					if lw := ansi.StringWidth(l); lw > w {
						t.Fatalf("%s %dx%d: line %q is %d wide", th.Name, w, h, l, lw)
					}
				}
				if !strings.Contains(ansi.Strip(v), "No") && w >= 6 {
					t.Fatalf("%s %dx%d: the No button is not shown:\n%s", th.Name, w, h, v)
				}
			}
		}
	}
	if v := New(theme.Plain, enroll).View(0, 10); v != "" {
		t.Errorf("zero width rendered %q", v)
	}
}

// Scrolling stops at the end: one up after scrolling past the end shows
// an earlier line at once.
func TestScrollIsBounded(t *testing.T) {
	m := New(theme.Plain, enroll)
	m, _ = m.Update(tea.WindowSizeMsg{Width: 80, Height: 12})
	for i := 0; i < 100; i++ {
		m, _ = m.Update(press("down"))
	}
	end := m.View(80, 12)
	m, _ = m.Update(press("up"))
	if m.View(80, 12) == end {
		t.Errorf("up after scrolling to the end changed nothing:\n%s", end)
	}
	if !strings.Contains(end, "more lines") || strings.Contains(end, "↓") {
		t.Errorf("at the end the indicator should only point up:\n%s", end)
	}
}

func TestEmptyContent(t *testing.T) {
	v := New(theme.Plain, Content{ID: "x"}).View(40, 10)
	if !strings.Contains(v, "[No]") || len(strings.Split(v, "\n")) > 10 {
		t.Errorf("empty dialog:\n%s", v)
	}
}

// A dialog opened from a real plan shows the plan's own patch bytes and
// answers with its ID.
func TestFromPlan(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop", ResourceVersion: "41", Labels: map[string]string{"istio.io/dataplane-mode": "ambient"}}}
	w := writer.New(&kube.Clients{Kube: fake.NewSimpleClientset(ns)}, false)
	s := &kube.Snapshot{}
	s.Namespaces = []*corev1.Namespace{ns}
	s.Mesh = ambient.Analyze(&s.Cluster)
	plan, err := w.ToggleNamespaceAmbient(ns, s)
	if err != nil {
		t.Fatal(err)
	}
	m := FromPlan(theme.Plain, plan)
	golden.RequireEqual(t, m.View(90, 30))
	// Until the what-if is in, y waits and the dialog says why.
	m, r := answer(t, m, "y")
	if r != nil || !strings.Contains(m.View(90, 30), "wait: "+CheckingLine) {
		t.Fatalf("y while the what-if runs answered %+v:\n%s", r, m.View(90, 30))
	}
	m = m.WhatIf(plan.WhatIf())
	v := m.View(90, 30)
	if strings.Contains(v, CheckingLine) || !strings.Contains(v, "What-if: no pod changes its dataplane") {
		t.Errorf("the dialog with its what-if:\n%s", v)
	}
	_, r = answer(t, m, "y")
	if r == nil || !r.Confirmed || r.ID != plan.ID {
		t.Errorf("answer %+v, want confirmed with ID %q", r, plan.ID)
	}
}

// A restart sends one body to several workloads; the dialog says so.
func TestFromRestartPlan(t *testing.T) {
	dep := func(name string) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}}
	}
	w := writer.New(&kube.Clients{Kube: fake.NewSimpleClientset(dep("api"), dep("web"))}, false)
	plan, err := w.RestartPlan(context.Background(), "shop", nil, writer.RestartAll)
	if err != nil {
		t.Fatal(err)
	}
	v := FromPlan(theme.Plain, plan).View(120, 30)
	for _, want := range []string{
		"Restart workloads in shop",
		"Strategic merge patch, sent to each of the 2 workloads:",
		`"kubectl.kubernetes.io/restartedAt": "`,
		"deployment/api,",
		"deployment/web, as kubectl rollout restart does.",
	} {
		if !strings.Contains(v, want) {
			t.Errorf("dialog lacks %q:\n%s", want, v)
		}
	}
}
