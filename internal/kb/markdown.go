package kb

import (
	"bytes"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/text"
)

// markdown renders CommonMark with GitHub's tables, strikethrough, task
// lists and autolinks. goldmark's default renderer is the safe one: raw
// HTML in the source (a <script>, an <img onerror>) is dropped, and link
// and image URLs with a dangerous scheme (javascript:, vbscript:, data:
// except images) lose their href. Never add html.WithUnsafe here.
var markdown = goldmark.New(goldmark.WithExtensions(extension.GFM))

// Render turns an article body (Markdown) into HTML that is safe to embed
// in a page as is.
func Render(body string) (string, error) {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(body), &buf); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// Excerpt is the first n characters of a body's text, without Markdown
// syntax, for search results.
func Excerpt(body string, n int) string {
	src := []byte(body)
	doc := markdown.Parser().Parse(text.NewReader(src))
	var b strings.Builder
	_ = ast.Walk(doc, func(node ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			if node.Type() == ast.TypeBlock && b.Len() > 0 && !strings.HasSuffix(b.String(), " ") {
				b.WriteByte(' ')
			}
			return ast.WalkContinue, nil
		}
		switch t := node.(type) {
		case *ast.Text:
			b.Write(t.Segment.Value(src))
			if t.SoftLineBreak() || t.HardLineBreak() {
				b.WriteByte(' ')
			}
		case *ast.String:
			b.Write(t.Value)
		case *ast.CodeSpan:
			// Its text children follow.
		case *ast.RawHTML, *ast.HTMLBlock:
			return ast.WalkSkipChildren, nil
		}
		return ast.WalkContinue, nil
	})
	out := []rune(strings.Join(strings.Fields(b.String()), " "))
	if len(out) > n {
		return string(out[:n]) + "…"
	}
	return string(out)
}
