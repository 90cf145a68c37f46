package highlight_test

import (
	"regexp"
	"strings"
	"testing"

	"charm.land/lipgloss/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/ambx/ambx/theme"
	"github.com/ambx/ambx/views/highlight"
)

// roles is a theme whose syntax styles are told apart by one colour each.
var roles = func() *theme.Theme {
	t := *theme.Plain
	c := func(n string) lipgloss.Style { return lipgloss.NewStyle().Foreground(lipgloss.Color(n)) }
	t.YAMLKey, t.YAMLString, t.YAMLNumber, t.YAMLComment, t.YAMLPunct = c("1"), c("2"), c("3"), c("4"), c("5")
	return &t
}()

var names = map[string]string{"31": "key", "32": "str", "33": "num", "34": "comment", "35": "punct"}

var token = regexp.MustCompile("\x1b\\[([0-9;]*)m([^\x1b]*)\x1b\\[m")

// spans renders a coloured line as "text=role" pairs, spaces left out.
func spans(line string) string {
	var out []string
	for _, m := range token.FindAllStringSubmatch(line, -1) {
		if strings.TrimSpace(m[2]) == "" {
			continue
		}
		role := names[m[1]]
		if role == "" {
			role = "plain"
		}
		out = append(out, m[2]+"="+role)
	}
	return strings.Join(out, " ")
}

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		lang, src string
		want      []string
	}{
		{highlight.YAML, "apiVersion: networking.k8s.io/v1\n    - port: 15008\n  enabled: true\n# allow HBONE\n    cidr: \"169.254.7.127/32\" # probes", []string{
			"apiVersion=key :=punct networking.k8s.io/v1=str",
			"port=key :=punct 15008=num",
			"enabled=key :=punct true=num",
			"# allow HBONE=comment",
			`cidr=key :=punct "169.254.7.127/32"=str # probes=comment`,
		}},
		// kubectl patch's JSON is coloured inside its single quotes.
		{highlight.Shell, `kubectl patch np loki -n loki --type=json -p '[{"op":"add","value":{"port":15008}}]'`, []string{
			`=punct '=punct [{=punct "op"=key :=punct "add"=str ,=punct "value"=key :{=punct "port"=key :=punct 15008=num }}]=punct '=punct`,
		}},
		{highlight.Shell, `echo 'not json' # note`, []string{`'not json'=str # note=comment`}},
	} {
		got := highlight.Lines(roles, tc.lang, tc.src)
		if len(got) != len(tc.want) {
			t.Fatalf("%s: %d lines, want %d: %q", tc.lang, len(got), len(tc.want), got)
		}
		for i, l := range got {
			// The shell case checks only what follows the command's words.
			s := spans(l)
			if tc.lang == highlight.Shell && strings.HasPrefix(tc.want[i], "=punct") {
				s = s[strings.Index(s, "=punct"):]
			}
			if s != tc.want[i] {
				t.Errorf("%s line %d = %s\nwant %s", tc.lang, i, s, tc.want[i])
			}
		}
		if plain := ansi.Strip(strings.Join(got, "\n")); plain != tc.src {
			t.Errorf("%s: colouring changed the text to %q", tc.lang, plain)
		}
	}
}

// What the cluster wrote cannot reach the terminal through the colours,
// and a language chroma does not know is shown plain.
func TestLinesHostileAndUnknown(t *testing.T) {
	got := strings.Join(highlight.Lines(theme.Dark, highlight.YAML, "a: \"\x1b]52;c;aGk=\x07\"\nb: \x1b[2J"), "\n")
	if strings.Contains(got, "\x1b]") || strings.Contains(got, "\x07") || strings.Contains(got, "\x1b[2J") {
		t.Fatalf("a control sequence from the text reached the output: %q", got)
	}
	if got := highlight.Lines(theme.Dark, "no-such-language", "x: 1\ny"); strings.Join(got, "\n") != "x: 1\ny" {
		t.Fatalf("unknown language = %q, want the text unchanged", got)
	}
}
