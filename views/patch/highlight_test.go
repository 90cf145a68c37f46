package patch

import (
	"strings"
	"testing"
)

// roles renders spans as "text=role" for compact comparison.
func roles(sp []span) string {
	names := map[role]string{rolePlain: "plain", roleKey: "key", roleString: "str", roleNumber: "num", roleComment: "comment", rolePunct: "punct"}
	var parts []string
	for _, s := range sp {
		if strings.TrimSpace(s.text) == "" {
			continue
		}
		parts = append(parts, s.text+"="+names[s.role])
	}
	return strings.Join(parts, " ")
}

func TestYAMLLine(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"apiVersion: networking.k8s.io/v1", "apiVersion=key :=punct networking.k8s.io/v1=str"},
		{"    - port: 15008", "- =punct port=key :=punct 15008=num"},
		{"  podSelector: {}", "podSelector=key :=punct {}=punct"},
		{"  - Ingress", "- =punct Ingress=str"},
		{"# allow HBONE from the same peers", "# allow HBONE from the same peers=comment"},
		{`    cidr: "169.254.7.127/32" # kubelet probes`, `cidr=key :=punct "169.254.7.127/32"=str # kubelet probes=comment`},
		{"  - from:", "- =punct from=key :=punct"},
		{"  app.kubernetes.io/name: loki", "app.kubernetes.io/name=key :=punct loki=str"},
		{"  url: http://x:80/a", "url=key :=punct http://x:80/a=str"},
		{"  enabled: true", "enabled=key :=punct true=num"},
	} {
		if got := roles(yamlLine(tc.line)); got != tc.want {
			t.Errorf("yamlLine(%q) = %s, want %s", tc.line, got, tc.want)
		}
		if got := spansText(yamlLine(tc.line)); got != tc.line {
			t.Errorf("yamlLine(%q) changed the text to %q", tc.line, got)
		}
	}
}

func TestCommandLine(t *testing.T) {
	line := `kubectl patch networkpolicy loki -n loki --type=json -p '[{"op":"add","value":{"port":15008}}]'`
	want := `kubectl=plain patch=plain networkpolicy=plain loki=plain -n=key loki=plain --type=json=key -p=key '=punct [=punct {=punct "op"=key :=punct "add"=str ,=punct "value"=key :=punct {=punct "port"=key :=punct 15008=num }=punct }=punct ]=punct '=punct`
	if got := roles(commandLine(line)); got != want {
		t.Errorf("commandLine =\n%s\nwant\n%s", got, want)
	}
	if got := spansText(commandLine(line)); got != line {
		t.Errorf("commandLine changed the text to %q", got)
	}
}

func TestWrapKeepsText(t *testing.T) {
	line := `kubectl patch networkpolicy loki -n loki --type=json -p '[{"op":"add","value":{"port":15008}}]' ünïcode 漢字漢字`
	for w := 1; w < 40; w++ {
		var b strings.Builder
		for _, row := range wrapSpans(commandLine(line), w) {
			b.WriteString(spansText(row))
		}
		if b.String() != line {
			t.Fatalf("width %d: rows join to %q", w, b.String())
		}
	}
}
