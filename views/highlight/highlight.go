// Package highlight colours YAML, JSON and shell text with chroma's
// lexers, in the theme's palette, so every view that shows a manifest or a
// command colours it the same way. Text is sanitized first: what comes
// from the cluster cannot smuggle a control sequence through the colours.
package highlight

import (
	"strings"

	"charm.land/lipgloss/v2"
	"github.com/alecthomas/chroma/v2"
	"github.com/alecthomas/chroma/v2/lexers"

	"github.com/ambx/ambx/kube/safe"
	"github.com/ambx/ambx/theme"
)

// Languages chroma knows by these names.
const (
	YAML  = "yaml"
	JSON  = "json"
	Shell = "bash"
)

// Lines returns src coloured, one string per line. A language chroma does
// not know, or a lexing error, gives plain (sanitized) lines: colouring
// never changes the text.
func Lines(t *theme.Theme, lang, src string) []string {
	src = safe.Text(strings.TrimRight(src, "\n"))
	lexer := lexers.Get(lang)
	if lexer == nil {
		return strings.Split(src, "\n")
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, src)
	if err != nil {
		return strings.Split(src, "\n")
	}
	var lines []string
	var cur strings.Builder
	for tok := it(); tok != chroma.EOF; tok = it() {
		style := styleOf(t, tok.Type)
		parts := strings.Split(tok.Value, "\n")
		for i, p := range parts {
			if i > 0 {
				lines = append(lines, cur.String())
				cur.Reset()
			}
			if p != "" {
				cur.WriteString(style.Render(p))
			}
		}
	}
	lines = append(lines, cur.String())
	return lines
}

// styleOf maps chroma's token categories onto the theme's roles.
func styleOf(t *theme.Theme, tt chroma.TokenType) lipgloss.Style {
	switch {
	case tt == chroma.NameTag || tt == chroma.NameAttribute || tt == chroma.KeywordType || tt.InCategory(chroma.Keyword) && tt != chroma.KeywordConstant:
		return t.YAMLKey
	case tt.InCategory(chroma.Comment):
		return t.YAMLComment
	case tt.InCategory(chroma.LiteralString):
		return t.YAMLString
	case tt.InCategory(chroma.LiteralNumber) || tt == chroma.KeywordConstant:
		return t.YAMLNumber
	case tt.InCategory(chroma.Punctuation) || tt.InCategory(chroma.Operator):
		return t.YAMLPunct
	}
	return t.Tone(theme.ToneNormal)
}
