package textsearch

import (
	"slices"
	"strings"
	"testing"
)

func TestDocumentTerms(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"返品・交換について", []string{"返品", "品", "交換", "換に", "につ", "つい", "いて", "て"}},
		{"ＡＢＣ　Returns", []string{"abc", "return"}},
		{"ｶﾀｶﾅ", []string{"かた", "たか", "かな", "な"}},
		{"iPhone15の電池", []string{"iphone15", "の電", "電池", "池"}},
		{"<script>alert(1)</script>", []string{"script", "alert", "1", "script"}},
		{"", nil},
	}
	for _, c := range cases {
		got := strings.Fields(Document(c.in))
		if !slices.Equal(got, c.want) {
			t.Errorf("Document(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// matches is the semantics both engines implement: every query term is a
// document term (or, for a prefix term, the prefix of one).
func matches(doc string, q Query) bool {
	terms := strings.Fields(Document(doc))
	for _, qt := range q.Terms {
		ok := slices.ContainsFunc(terms, func(d string) bool {
			if qt.Prefix {
				return strings.HasPrefix(d, qt.Text)
			}
			return d == qt.Text
		})
		if !ok {
			return false
		}
	}
	return !q.Empty()
}

func TestQueriesFindWhatPeopleMean(t *testing.T) {
	cases := []struct {
		doc, query string
		asYouType  bool
		want       bool
	}{
		{"返品・交換について", "返品", false, true},
		{"返品・交換について", "交換", false, true},
		{"返品・交換について", "へんぴん", false, false}, // reading is not indexed
		{"ヘンピン受付", "へんぴん", false, true},     // katakana folds to hiragana
		{"日傘のお手入れ", "傘", false, true},       // one character: prefix of a bigram
		{"雨傘", "傘", false, true},            // …or the run's last character
		{"返品・交換について", "配送", false, false},
		{"How to return an item", "returns", false, true},
		{"How to return an item", "retu", true, true},
		{"How to return an item", "retu", false, false},
		{"Ｗｉ－Ｆｉ設定", "wi-fi 設定", false, true},
		{"Password reset", "パスワード", false, false},
		{"", "x", false, false},
		{"anything", "・・・", false, false},
	}
	for _, c := range cases {
		q := Parse(c.query, c.asYouType)
		if got := matches(c.doc, q); got != c.want {
			t.Errorf("doc %q query %q (as you type %v): match %v, want %v (terms %+v)", c.doc, c.query, c.asYouType, got, c.want, q.Terms)
		}
	}
}

func TestQueryRenderingQuotesInput(t *testing.T) {
	q := Parse(`a"b OR c' & d:* 返品`, false)
	fts := q.FTS5Match()
	if strings.Count(fts, `"`)%2 != 0 {
		t.Errorf("FTS5 match %q has unbalanced quotes", fts)
	}
	ts := q.TSQuery()
	if !strings.Contains(ts, "'返品'") || strings.Contains(ts, "d:*") {
		t.Errorf("tsquery %q", ts)
	}
	long := Parse(strings.Repeat("word", 1)+strings.Repeat(" more", 0)+" "+strings.Repeat("あいうえおかきくけこ", 10), false)
	if len(long.Terms) > MaxQueryTerms {
		t.Errorf("%d terms, want at most %d", len(long.Terms), MaxQueryTerms)
	}
}

func TestParseAnyRendersOr(t *testing.T) {
	q := ParseAny(`The returns & "返品" of my returns`)
	if got, want := q.FTS5Match(), `"return" OR "返品"`; got != want {
		t.Errorf("FTS5Match = %s, want %s", got, want)
	}
	if got, want := q.TSQuery(), `'return' | '返品'`; got != want {
		t.Errorf("TSQuery = %s, want %s", got, want)
	}
	if got := q.Without(func(t Term) bool { return t.Text == "return" }).FTS5Match(); got != `"返品"` {
		t.Errorf("Without: %s", got)
	}
	if all := Parse("returns 返品", false); all.Any || all.FTS5Match() != `"return" "返品"` {
		t.Errorf("Parse must stay AND: %+v", all)
	}
	long := ParseAny(strings.Repeat("あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをん", 3))
	if len(long.Terms) > MaxAnyTerms {
		t.Errorf("ParseAny kept %d terms", len(long.Terms))
	}
}
