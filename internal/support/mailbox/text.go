package mailbox

import (
	"regexp"
	"strings"

	"golang.org/x/net/html"
)

// HTMLToText turns an HTML mail body into plain text: the text of the
// document with line breaks where blocks end, entities decoded, and
// nothing of scripts, styles or the head. The result is stored and always
// shown escaped, so no markup of the sender's ever reaches a page.
func HTMLToText(src string) string {
	z := html.NewTokenizer(strings.NewReader(src))
	var b strings.Builder
	skip := 0 // depth inside script, style, head, title
	newline := func() {
		if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") {
			b.WriteByte('\n')
		}
	}
	for {
		switch z.Next() {
		case html.ErrorToken:
			return collapseBlankLines(b.String())
		case html.TextToken:
			if skip == 0 {
				t := strings.Join(strings.Fields(string(z.Text())), " ")
				if t != "" {
					if b.Len() > 0 && !strings.HasSuffix(b.String(), "\n") && !strings.HasSuffix(b.String(), " ") {
						b.WriteByte(' ')
					}
					b.WriteString(t)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title", "template", "noscript":
				skip++
			case "br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "hr", "table", "pre":
				newline()
				if string(name) == "li" {
					b.WriteString("- ")
				}
			}
		case html.EndTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "head", "title", "template", "noscript":
				if skip > 0 {
					skip--
				}
			case "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "pre":
				newline()
			}
		}
	}
}

func collapseBlankLines(s string) string {
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank++; blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

// Lines at which the quoted history of a reply begins: everything from
// such a line on is what the customer is answering, already on the ticket.
var quoteHeaders = []*regexp.Regexp{
	// Gmail, Thunderbird, Apple Mail (English): "On Mon, 16 Nov 2026 at 9:00, Kizuna <s@x> wrote:"
	regexp.MustCompile(`(?i)^\s*on\b.{0,300}\bwrote:\s*$`),
	// Japanese clients: "2026年11月16日(月) 9:00 Kizuna <s@x>:" (Gmail),
	// "2026/11/16 9:00、Kizuna <s@x>のメール:" (Apple Mail), "…さんは書きました:"
	regexp.MustCompile(`^.{0,300}(のメール|は書きました|wrote)\s*[:：]\s*$`),
	regexp.MustCompile(`^\s*\d{4}年\d{1,2}月\d{1,2}日.{0,200}<[^>\s]+@[^>\s]+>\s*[:：]?\s*$`),
	// Outlook: "-----Original Message-----" / "-----元のメッセージ-----" and the From: block under a rule.
	regexp.MustCompile(`(?i)^\s*-{2,}\s*(original message|元のメッセージ|転送されたメッセージ|forwarded message)\s*-{2,}\s*$`),
	regexp.MustCompile(`^\s*_{10,}\s*$`),
	regexp.MustCompile(`(?i)^\s*(from|差出人|送信者)\s*[:：].+@`),
}

// signature delimiters: RFC 3676 "-- " and the common Japanese rule lines
// that open a signature block.
var signatureLine = regexp.MustCompile(`^(-- ?|--|[-=─━＝]{8,}|[*＊]{8,})$`)

// wroteContinuation catches an "On …" line wrapped before "wrote:".
var onLine = regexp.MustCompile(`(?i)^\s*on\b.{0,300}$`)

// TrimQuoted returns the new part of a reply: it cuts at the first line
// that opens the quoted history ("On … wrote:", 「…のメール:」, an Outlook
// original-message rule), drops trailing "> " quoted lines and the
// signature after a "-- " delimiter. When trimming would leave nothing,
// the text is returned whole — a reply that is all quote still says
// something.
func TrimQuoted(s string) string {
	lines := strings.Split(s, "\n")
	cut := len(lines)
	for i, l := range lines {
		t := strings.TrimRight(l, " \t")
		if matchesAny(quoteHeaders, t) {
			cut = i
			break
		}
		// "On Mon, 16 Nov 2026, Kizuna <s@x>\nwrote:" (a wrapped header line).
		if i+1 < len(lines) && onLine.MatchString(t) && strings.TrimSpace(lines[i+1]) == "wrote:" {
			cut = i
			break
		}
		if signatureLine.MatchString(strings.TrimRight(l, "\t")) && i > 0 {
			cut = i
			break
		}
	}
	kept := lines[:cut]
	// Trailing quoted lines (bottom-posting clients without a header).
	for len(kept) > 0 {
		t := strings.TrimSpace(kept[len(kept)-1])
		if t == "" || strings.HasPrefix(t, ">") || strings.HasPrefix(t, "＞") {
			kept = kept[:len(kept)-1]
			continue
		}
		break
	}
	out := strings.TrimSpace(strings.Join(kept, "\n"))
	if out == "" {
		return strings.TrimSpace(s)
	}
	return out
}

func matchesAny(res []*regexp.Regexp, s string) bool {
	for _, re := range res {
		if re.MatchString(s) {
			return true
		}
	}
	return false
}
