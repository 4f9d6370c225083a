// Package textsearch turns Japanese and English text into search terms that
// both storage engines can index: SQLite's FTS5 and Postgres's tsvector.
//
// Japanese has no spaces between words, and a dictionary-based analyser
// misses product names and new words, so Japanese (and Chinese) text is
// indexed as overlapping character bigrams: 「返品・交換について」 holds the
// terms 返品, 交換, 換に, につ, つい, いて, and the query 返品 finds it. The
// last character of each run is indexed on its own as well, so that a
// one-character query (傘) finds every occurrence as a prefix search. Latin
// text is split into words, lower-cased and stemmed (Snowball English:
// "returns" and "returned" both find "return"). Before either, the text is
// normalised with NFKC (full-width ＡＢＣ and half-width ｶﾀｶﾅ become ABC and
// カタカナ) and katakana is folded to hiragana, so ヘンピン finds へんぴん.
//
// The terms are stored as one space-separated string (Document) in an FTS5
// column on SQLite and as a tsvector built with array_to_tsvector on
// Postgres — never through a database's own parser, whose idea of a word
// differs between engines and locales. Queries are built the same way
// (FTS5Match, TSQuery) from Parse, so both engines answer alike.
package textsearch

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kljensen/snowball/english"
	"golang.org/x/text/unicode/norm"
)

// MaxQueryTerms bounds a query: a pasted paragraph becomes its first terms,
// not a query of hundreds of conjunctions.
const MaxQueryTerms = 32

// Document returns the terms of the given texts as one space-separated
// string, to be stored in the search column.
func Document(texts ...string) string {
	var b strings.Builder
	for _, t := range texts {
		each(t, false, func(term string, _ bool) {
			if b.Len() > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(term)
		})
	}
	return b.String()
}

// Terms returns the distinct terms of a document, in order of first
// appearance (for Postgres's array_to_tsvector).
func Terms(texts ...string) []string {
	seen := map[string]bool{}
	var out []string
	for _, t := range texts {
		each(t, false, func(term string, _ bool) {
			if !seen[term] {
				seen[term] = true
				out = append(out, term)
			}
		})
	}
	return out
}

// Term is one term of a query. Prefix terms match any indexed term that
// starts with Text (a single Japanese character, or the word being typed).
type Term struct {
	Text   string
	Prefix bool
}

// MaxAnyTerms bounds a ParseAny query: enough for a ticket's first
// paragraphs in Japanese, where every character pair is a term.
const MaxAnyTerms = 96

// Query is a parsed search: a document matches when it holds every term,
// or, when Any is set, when it holds at least one (ranked by how many and
// how rare).
type Query struct {
	Terms []Term
	// Any renders the terms joined by OR instead of AND (see ParseAny).
	Any bool
}

// Empty reports whether the query has nothing to search for (only
// punctuation, say); callers then list instead of searching.
func (q Query) Empty() bool { return len(q.Terms) == 0 }

// Parse turns what a person typed into a query. With asYouType the last
// Latin word is a prefix ("retu" finds "return"), for suggestions while
// typing.
func Parse(s string, asYouType bool) Query {
	var q Query
	seen := map[Term]bool{}
	each(s, true, func(term string, prefix bool) {
		t := Term{Text: term, Prefix: prefix}
		if !seen[t] && len(q.Terms) < MaxQueryTerms {
			seen[t] = true
			q.Terms = append(q.Terms, t)
		}
	})
	if asYouType && len(q.Terms) > 0 && !strings.HasSuffix(s, " ") {
		last := &q.Terms[len(q.Terms)-1]
		if r, _ := utf8.DecodeRuneInString(last.Text); !isCJK(r) {
			// The unstemmed word: "retu" must stay "retu" to prefix-match.
			words := strings.FieldsFunc(strings.ToLower(normalize(s)), func(r rune) bool { return !isWordRune(r) })
			if len(words) > 0 {
				last.Text, last.Prefix = words[len(words)-1], true
			}
		}
	}
	return q
}

// ParseAny turns long text — a ticket being answered, a message typed
// into a contact form — into an "any term" query: its distinct terms (up to
// MaxAnyTerms, in order of appearance) joined by OR, for suggestions. A
// ticket's words will never all be in one article; the engines' ranking
// (bm25, ts_rank) puts the article sharing the most, and the rarest, first.
// English stop words ("the", "how", "my") are left out: in an OR query
// they would match everything. Callers may drop further terms too common
// in their documents to tell them apart (Without).
func ParseAny(s string) Query {
	q := Query{Any: true}
	seen := map[string]bool{}
	each(s, true, func(term string, prefix bool) {
		if english.IsStopWord(term) {
			return
		}
		if !seen[term] && len(q.Terms) < MaxAnyTerms {
			seen[term] = true
			q.Terms = append(q.Terms, Term{Text: term, Prefix: prefix})
		}
	})
	return q
}

// Without returns q without the terms for which drop reports true.
func (q Query) Without(drop func(Term) bool) Query {
	out := Query{Any: q.Any}
	for _, t := range q.Terms {
		if !drop(t) {
			out.Terms = append(out.Terms, t)
		}
	}
	return out
}

// FTS5Match renders q for SQLite: `MATCH ?` with this argument. Every term
// is a quoted string (FTS5 syntax in the input is never interpreted);
// terms separated by spaces must all match, or with Any, terms separated
// by OR any one.
func (q Query) FTS5Match() string {
	var b strings.Builder
	for i, t := range q.Terms {
		if i > 0 && q.Any {
			b.WriteString(" OR ")
		} else if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteByte('"')
		b.WriteString(strings.ReplaceAll(t.Text, `"`, `""`))
		b.WriteByte('"')
		if t.Prefix {
			b.WriteByte('*')
		}
	}
	return b.String()
}

// TSQuery renders q for Postgres: `@@ $1::tsquery` with this argument.
// Every term is a quoted lexeme, so tsquery operators in the input are
// never interpreted. Terms are joined by & (all), or with Any by | (any).
func (q Query) TSQuery() string {
	var b strings.Builder
	for i, t := range q.Terms {
		if i > 0 && q.Any {
			b.WriteString(" | ")
		} else if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('\'')
		r := strings.NewReplacer(`\`, `\\`, `'`, `''`)
		b.WriteString(r.Replace(t.Text))
		b.WriteByte('\'')
		if t.Prefix {
			b.WriteString(":*")
		}
	}
	return b.String()
}

// normalize applies NFKC, lower case and the katakana → hiragana fold.
func normalize(s string) string {
	s = norm.NFKC.String(s)
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'ァ' && r <= 'ヶ':
			return r - 0x60
		case r == 'ヽ' || r == 'ヾ':
			return r - 0x60
		}
		return unicode.ToLower(r)
	}, s)
}

// isCJK reports whether r is written without spaces between words.
func isCJK(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		r == 'ー' || r == '々' || r == '〆' || r == 'ヵ' || r == 'ヶ'
}

func isWordRune(r rune) bool {
	return !isCJK(r) && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))
}

// each calls emit for every term of s in order. For queries, a CJK run of
// one character becomes a prefix term; for documents, the last character
// of every CJK run is emitted alone too.
func each(s string, query bool, emit func(term string, prefix bool)) {
	s = normalize(s)
	var run []rune
	flushCJK := func() {
		switch {
		case len(run) == 1:
			emit(string(run), query)
		case len(run) > 1:
			for i := 0; i+1 < len(run); i++ {
				emit(string(run[i:i+2]), false)
			}
			if !query {
				emit(string(run[len(run)-1:]), false)
			}
		}
		run = run[:0]
	}
	word := strings.Builder{}
	flushWord := func() {
		if word.Len() > 0 {
			w := word.String()
			if st := english.Stem(w, false); st != "" {
				w = st
			}
			emit(w, false)
			word.Reset()
		}
	}
	for _, r := range s {
		switch {
		case isCJK(r):
			flushWord()
			run = append(run, r)
		case isWordRune(r):
			flushCJK()
			word.WriteRune(r)
		default:
			flushCJK()
			flushWord()
		}
	}
	flushCJK()
	flushWord()
}
