// Package highlight colours YAML, JSON and shell text with chroma's
// lexers, in the theme's palette, so every view that shows a manifest or a
// command colours it the same way. Text is sanitized first: what comes
// from the cluster cannot smuggle a control sequence through the colours.
package highlight

import (
	"embed"
	"strings"
	"sync"

	"charm.land/lipgloss/v2"
	"github.com/alecthomas/chroma/v2"

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
// never changes the text. In shell text a single-quoted argument that is
// JSON (kubectl patch's -p) is coloured by chroma's JSON lexer inside its
// quotes.
func Lines(t *theme.Theme, lang, src string) []string {
	src = safe.Text(strings.TrimRight(src, "\n"))
	toks, ok := tokens(lang, src)
	if !ok {
		return strings.Split(src, "\n")
	}
	var lines []string
	var cur strings.Builder
	for _, tok := range toks {
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

// definitions are chroma's own lexers for the three languages, copied
// (lexers/SOURCE.md): chroma's lexers package parses all of its several
// hundred at init, megabytes of resident memory for three.
//
//go:embed lexers/*.xml
var definitions embed.FS

// known parses the definitions once, on first use.
var known = sync.OnceValue(func() map[string]chroma.Lexer {
	reg := chroma.NewLexerRegistry()
	out := map[string]chroma.Lexer{}
	for lang, file := range map[string]string{YAML: "yaml.xml", JSON: "json.xml", Shell: "bash.xml"} {
		if l, err := chroma.NewXMLLexer(definitions, "lexers/"+file); err == nil {
			out[lang] = reg.Register(l)
		}
	}
	return out
})

// tokens lexes src; false when chroma has no lexer for lang or fails.
func tokens(lang, src string) ([]chroma.Token, bool) {
	lexer := known()[lang]
	if lexer == nil {
		return nil, false
	}
	it, err := chroma.Coalesce(lexer).Tokenise(nil, src)
	if err != nil {
		return nil, false
	}
	var out []chroma.Token
	for tok := it(); tok != chroma.EOF; tok = it() {
		if lang == Shell && tok.Type == chroma.LiteralStringSingle {
			out = append(out, quotedJSON(tok)...)
			continue
		}
		out = append(out, tok)
	}
	return out, true
}

// quotedJSON splits a single-quoted shell word holding a JSON array or
// object into its quotes and chroma's JSON tokens; any other word stays
// one string token.
func quotedJSON(tok chroma.Token) []chroma.Token {
	v := tok.Value
	if len(v) < 4 || v[0] != '\'' || v[len(v)-1] != '\'' || !strings.ContainsAny(v[1:2], "[{") {
		return []chroma.Token{tok}
	}
	inner, ok := tokens(JSON, v[1:len(v)-1])
	if !ok {
		return []chroma.Token{tok}
	}
	quote := chroma.Token{Type: chroma.Punctuation, Value: "'"}
	return append(append([]chroma.Token{quote}, inner...), quote)
}

// styleOf maps chroma's token categories onto the theme's roles. Numbers
// are tested before other literals: chroma's categories are thousands
// (every literal is InCategory(LiteralString)), its subcategories hundreds.
func styleOf(t *theme.Theme, tt chroma.TokenType) lipgloss.Style {
	switch {
	case tt == chroma.NameTag || tt == chroma.NameAttribute || tt == chroma.KeywordType || tt.InCategory(chroma.Keyword) && tt != chroma.KeywordConstant:
		return t.YAMLKey
	case tt.InCategory(chroma.Comment):
		return t.YAMLComment
	case tt.InSubCategory(chroma.LiteralNumber) || tt == chroma.KeywordConstant:
		return t.YAMLNumber
	case tt.InCategory(chroma.Literal): // strings, and YAML's plain scalars (Literal itself)
		return t.YAMLString
	case tt.InCategory(chroma.Punctuation) || tt.InCategory(chroma.Operator):
		return t.YAMLPunct
	}
	return t.Tone(theme.ToneNormal)
}
