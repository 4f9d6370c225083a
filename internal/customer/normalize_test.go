package customer

import (
	"testing"

	"github.com/kizuna-oss/kizuna"
)

func TestNormalizeEmail(t *testing.T) {
	cases := []struct{ in, want string }{
		{"taro@example.jp", "taro@example.jp"},
		{"  Taro.Yamada@Example.JP ", "taro.yamada@example.jp"},
		{"ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ", "taro@example.jp"}, // full-width input from a Japanese IME
		{"a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"},
		{"", ""},
		{"taro", ""},
		{"taro@localhost", ""},
		{"Taro <taro@example.jp>", ""},
		{"taro@@example.jp", ""},
		{"taro@example.", ""},
		{"two words@example.jp", ""},
	}
	for _, c := range cases {
		got, err := NormalizeEmail(c.in)
		if c.want == "" {
			if err == nil || kizuna.ErrorField(err) != "email" {
				t.Errorf("NormalizeEmail(%q) = %q, %v; want an email field error", c.in, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	cases := []struct{ in, region, want string }{
		{"090-1234-5678", "", "+819012345678"},
		{"090-1234-5678", "JP", "+819012345678"},
		{"０９０－１２３４－５６７８", "", "+819012345678"}, // full-width
		{"+81 90 1234 5678", "", "+819012345678"},
		{"03-1234-5678", "JP", "+81312345678"},
		{"+44 20 7946 0958", "", "+442079460958"},
		{"020 7946 0958", "GB", "+442079460958"},
		{"(415) 555-2671", "US", "+14155552671"},
		{"", "", ""},
		{"12", "", ""},
		{"not a phone", "", ""},
		{"090-1234-567", "", ""}, // a digit short
	}
	for _, c := range cases {
		got, err := NormalizePhone(c.in, c.region)
		if c.want == "" {
			if err == nil || kizuna.ErrorField(err) != "phone" {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want a phone field error", c.in, c.region, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", c.in, c.region, got, err, c.want)
		}
	}
}

func TestNormalizeLINEUserID(t *testing.T) {
	ok := "U4af4980629d1a2b3c4d5e6f7a8b9c0d1"
	if got, err := NormalizeLINEUserID(" " + ok + " "); err != nil || got != ok {
		t.Errorf("valid id: %q, %v", got, err)
	}
	if got, err := NormalizeLINEUserID("U4AF4980629D1A2B3C4D5E6F7A8B9C0D1"); err != nil || got != ok {
		t.Errorf("upper-case hex: %q, %v", got, err)
	}
	for _, bad := range []string{"", "U123", "X4af4980629d1a2b3c4d5e6f7a8b9c0d1", "U4af4980629d1a2b3c4d5e6f7a8b9c0dz", ok + "0"} {
		if _, err := NormalizeLINEUserID(bad); kizuna.ErrorField(err) != "line_user_id" {
			t.Errorf("NormalizeLINEUserID(%q) err = %v", bad, err)
		}
	}
}

func TestNames(t *testing.T) {
	cases := []struct{ fn, in, want string }{
		{"name", "  山田　 太郎 ", "山田 太郎"},  // ideographic space collapsed
		{"name", "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダ タロウ"}, // half-width kana with a voiced mark
		{"name", "Ｊｏｈｎ", "John"},
		{"hira", "ヤマダ タロウ", "やまだ たろう"},
		{"hira", "ヴァイオリン・ヱ", "ゔぁいおりん・ゑ"},
		{"hira", "山田ヤマダabc", "山田やまだabc"},
		{"kata", "やまだ たろう", "ヤマダ タロウ"},
		{"kata", "ゝゞ", "ヽヾ"},
		{"fold", "ﾔﾏﾀﾞ", "やまだ"},
		{"fold", "YAMADA Taro", "yamada taro"},
	}
	for _, c := range cases {
		var got string
		switch c.fn {
		case "name":
			got = NormalizeName(c.in)
		case "hira":
			got = ToHiragana(c.in)
		case "kata":
			got = ToKatakana(c.in)
		case "fold":
			got = foldForSearch(c.in)
		}
		if got != c.want {
			t.Errorf("%s(%q) = %q, want %q", c.fn, c.in, got, c.want)
		}
	}
}

func TestSearchTextAndPattern(t *testing.T) {
	c := &Customer{FamilyName: "山田", GivenName: "太郎", FamilyNameKana: "ヤマダ", GivenNameKana: "タロウ",
		Email: "taro@example.jp", Phone: "+819012345678"}
	text := SearchText(c)
	queries := map[string]bool{
		"山田": true, "山田太郎": true, "山田 太郎": true, "太郎 山田": true,
		"やまだ": true, "ヤマダ": true, "ﾔﾏﾀﾞ": true, "やまだたろう": true, "ヤマダ　タロウ": true,
		"TARO@example": true, "090-1234-5678": true, "09012345678": true, "+81 90-1234-5678": true, "1234": true,
		"佐藤": false, "さとう": false, "hanako": false, "0801234": false,
	}
	for q, want := range queries {
		pat, ok := searchPattern(q)
		if !ok {
			t.Fatalf("searchPattern(%q) empty", q)
		}
		if got := likeMatch(text, pat); got != want {
			t.Errorf("query %q (pattern %q) matched = %v, want %v; search text %q", q, pat, got, want, text)
		}
	}
	for in, want := range map[string]string{"100%": `%100\%%`, "a_b": `%a\_b%`, `x\y`: `%x\\y%`} {
		if got, _ := searchPattern(in); got != want {
			t.Errorf("searchPattern(%q) = %q, want %q", in, got, want)
		}
	}
	if _, ok := searchPattern("  　"); ok {
		t.Error("a blank query must not filter")
	}
}

// likeMatch evaluates a LIKE pattern with ESCAPE '\' the way the databases
// do, so the folding can be tested without one.
func likeMatch(s, pat string) bool {
	var toks []struct {
		any bool
		r   rune
	}
	rs := []rune(pat)
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == '\\' && i+1 < len(rs):
			i++
			toks = append(toks, struct {
				any bool
				r   rune
			}{false, rs[i]})
		case rs[i] == '%':
			toks = append(toks, struct {
				any bool
				r   rune
			}{true, 0})
		default:
			toks = append(toks, struct {
				any bool
				r   rune
			}{false, rs[i]})
		}
	}
	str := []rune(s)
	var match func(i, j int) bool
	match = func(i, j int) bool {
		if j == len(toks) {
			return i == len(str)
		}
		if toks[j].any {
			for k := i; k <= len(str); k++ {
				if match(k, j+1) {
					return true
				}
			}
			return false
		}
		return i < len(str) && str[i] == toks[j].r && match(i+1, j+1)
	}
	return match(0, 0)
}

func TestNormalizeCountry(t *testing.T) {
	cases := []struct {
		in, want string
		ok       bool
	}{
		{"jp", "JP", true}, {"JPN", "JP", true}, {"392", "JP", true}, {"ＪＰ", "JP", true},
		{"United Kingdom", "GB", true}, {"united kingdom", "GB", true}, {"EIRE", "IE", true}, {"USA", "US", true},
		{"RSA", "ZA", true}, {"UK", "GB", true}, {"日本", "JP", true}, {"イギリス", "GB", true}, {"Germany", "DE", true},
		{"Channel Islands", "Channel Islands", false}, {"Unspecified", "Unspecified", false}, {"", "", false},
	}
	for _, c := range cases {
		got, ok := normalizeCountry(c.in)
		if got != c.want || ok != c.ok {
			t.Errorf("normalizeCountry(%q) = %q, %v; want %q, %v", c.in, got, ok, c.want, c.ok)
		}
	}
}
