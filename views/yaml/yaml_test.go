package yaml_test

import (
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ambx/ambx/kube"
	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/ui/clipboard"
	"github.com/ambx/ambx/views/golden"
	"github.com/ambx/ambx/views/yaml"
)

var ref = kube.Ref{Kind: kube.KindPod, Namespace: "shop", Name: "web-1"}

func pod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-1",
			Labels: map[string]string{"app": "web"},
			Annotations: map[string]string{
				kube.LastAppliedAnnotation:     `{"apiVersion":"v1","kind":"Pod"}`,
				"ambient.istio.io/redirection": "enabled",
				"evil":                         "\x1b]52;c;aGk=\x07\r\nrow",
			},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply}},
		},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "web", Image: "example/web:1"}}},
	}
}

func key(m yaml.Model, ks ...string) yaml.Model {
	for _, k := range ks {
		msg := tea.KeyPressMsg{Code: rune(k[0]), Text: k}
		switch k {
		case "enter":
			msg = tea.KeyPressMsg{Code: tea.KeyEnter}
		case "esc":
			msg = tea.KeyPressMsg{Code: tea.KeyEscape}
		}
		m, _ = m.Update(msg)
	}
	return m
}

func loaded(t *testing.T) yaml.Model {
	t.Helper()
	m := yaml.New(theme.Plain, ref).SetSize(100, 30)
	m, _ = m.Update(yaml.Loaded{Ref: ref, Obj: pod()})
	return m
}

// The object as stored, managedFields and last-applied hidden until m;
// a hostile annotation shows as escapes, never as a raw control sequence.
func TestYAMLView(t *testing.T) {
	m := loaded(t)
	v := m.View(100, 30)
	for _, want := range []string{"kind: Pod", "name: web-1", "ambient.istio.io/redirection: enabled"} {
		if !strings.Contains(v, want) {
			t.Errorf("YAML lacks %q:\n%s", want, v)
		}
	}
	if text := m.Text(); strings.Contains(text, "managedFields") || strings.Contains(text, "last-applied") {
		t.Errorf("managedFields or last-applied shown by default:\n%s", text)
	}
	if strings.ContainsAny(v, "\x1b\x07\r") {
		t.Errorf("a control character reached the view: %q", v)
	}
	golden.RequireEqual(t, v)
	full := key(m, "m").Text()
	if !strings.Contains(full, "managedFields") || !strings.Contains(full, "last-applied-configuration") {
		t.Errorf("m does not show managedFields and last-applied:\n%s", full)
	}
}

// / searches, n moves between matches, and the footer counts them.
func TestYAMLSearch(t *testing.T) {
	m := key(loaded(t), "/", "w", "e", "b", "enter")
	if v := m.View(100, 30); !strings.Contains(v, "/web · 4 matches") {
		t.Fatalf("search footer:\n%s", v)
	}
	m = key(m, "esc")
	if m.Typing() {
		t.Fatal("esc after enter should not be typing")
	}
}

// c copies exactly the YAML shown.
func TestYAMLCopy(t *testing.T) {
	var got string
	m := loaded(t).SetCopier(func(text string, done func(clipboard.Result) tea.Msg) tea.Cmd {
		got = text
		return func() tea.Msg { return done(clipboard.Result{Bytes: len(text)}) }
	})
	_, cmd := m.Update(tea.KeyPressMsg{Code: 'c', Text: "c"})
	if cmd == nil {
		t.Fatal("c gave no copy command")
	}
	if _, ok := cmd().(yaml.Copied); !ok || got != m.Text() || !strings.Contains(got, "kind: Pod") {
		t.Fatalf("copied %q, want the YAML shown", got)
	}
}

// A failed read says why instead of an empty view.
func TestYAMLReadError(t *testing.T) {
	m := yaml.New(theme.Plain, ref).SetSize(80, 10)
	m, _ = m.Update(yaml.Loaded{Ref: ref, Err: errForbidden{}})
	if v := m.View(80, 10); !strings.Contains(v, "forbidden") {
		t.Fatalf("read error not shown:\n%s", v)
	}
}

type errForbidden struct{}

func (errForbidden) Error() string {
	return `pods "web-1" is forbidden: User "u" cannot get resource "pods"`
}
