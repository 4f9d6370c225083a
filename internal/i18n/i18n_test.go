package i18n

import (
	"regexp"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // Asia/Tokyo without a zoneinfo database on the host
)

func TestCatalogsHoldTheSameKeys(t *testing.T) {
	en, ja := Keys(English), Keys(Japanese)
	if len(en) < 100 {
		t.Fatalf("English catalog has only %d keys", len(en))
	}
	for _, k := range en {
		if !Has(Japanese, k) {
			t.Errorf("key %q is in en.json but not ja.json", k)
		}
	}
	for _, k := range ja {
		if !Has(English, k) {
			t.Errorf("key %q is in ja.json but not en.json", k)
		}
	}
}

var verb = regexp.MustCompile(`%[-+# 0-9.]*[a-zA-Z%]`)

// TestCatalogsAgreeOnPlaceholders: a translation takes the same arguments
// as the English text, so formatting never shows %!d(MISSING).
func TestCatalogsAgreeOnPlaceholders(t *testing.T) {
	pen, pja := NewPrinter(English, nil), NewPrinter(Japanese, nil)
	for _, k := range Keys(English) {
		a := verb.FindAllString(pen.T(k), -1)
		b := verb.FindAllString(pja.T(k), -1)
		if strings.Join(a, ",") != strings.Join(b, ",") {
			t.Errorf("%s: en has %v, ja has %v", k, a, b)
		}
		if pja.T(k) == "" || pen.T(k) == "" {
			t.Errorf("%s: empty message", k)
		}
	}
}

func TestJapaneseIsTranslated(t *testing.T) {
	p := NewPrinter(Japanese, nil)
	if got := p.T("nav.customers"); got != "顧客" {
		t.Fatalf("nav.customers = %q", got)
	}
	if got := p.T("no.such.key"); got != "no.such.key" {
		t.Fatalf("missing key shows %q, want the key", got)
	}
	if got := p.T("summary.days", 3); got != "3 日前" {
		t.Fatalf("summary.days = %q", got)
	}
}

func TestNegotiate(t *testing.T) {
	cases := []struct{ choice, accept, want string }{
		{"", "ja-JP,ja;q=0.9,en;q=0.8", Japanese},
		{"", "en-GB,en;q=0.9", English},
		{"", "fr-FR,ja;q=0.5", Japanese},
		{"", "de", English},
		{"", "", English},
		{"", "garbage;;q=x", English},
		{"ja", "en-US", Japanese},
		{"en", "ja", English},
		{"ja-JP", "", Japanese},
		{"xx", "ja", Japanese},
	}
	for _, c := range cases {
		if got := Negotiate(c.choice, c.accept); got != c.want {
			t.Errorf("Negotiate(%q, %q) = %q, want %q", c.choice, c.accept, got, c.want)
		}
	}
}

func TestMoney(t *testing.T) {
	en, ja := NewPrinter(English, nil), NewPrinter(Japanese, nil)
	cases := []struct {
		p     *Printer
		minor int64
		code  string
		want  string
	}{
		{en, 123450, "GBP", "£1,234.50"},
		{en, 5, "GBP", "£0.05"},
		{en, -320, "USD", "-$3.20"},
		{en, 123456, "JPY", "¥123,456"},
		{ja, 123456, "JPY", "￥123,456"},
		{ja, 123450, "GBP", "£1,234.50"},
		{en, 0, "EUR", "€0.00"},
		{en, 1200, "XYZ", "1,200 XYZ"},
		{en, 0, "", "0"},
		{ja, 1500, "CHF", "CHF 15.00"},
	}
	for _, c := range cases {
		if got := c.p.Money(c.minor, c.code); got != c.want {
			t.Errorf("%s Money(%d, %s) = %q, want %q", c.p.Locale, c.minor, c.code, got, c.want)
		}
	}
}

func TestDates(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 1, 5, 0, 0, time.UTC) // 10:05 in Tokyo
	ja, en := NewPrinter(Japanese, tokyo), NewPrinter(English, time.UTC)
	if got := ja.Date(at); got != "2026年11月23日" {
		t.Errorf("ja date %q", got)
	}
	if got := ja.DateTime(at); got != "2026年11月23日 10:05" {
		t.Errorf("ja datetime %q", got)
	}
	if got := en.Date(at); got != "23 Nov 2026" {
		t.Errorf("en date %q", got)
	}
	if got := en.DateTime(at); got != "23 Nov 2026 01:05" {
		t.Errorf("en datetime %q", got)
	}
	if got := ja.ShortDate(at); got != "11/23" {
		t.Errorf("ja short %q", got)
	}
	if got := en.Date(time.Time{}); got != "—" {
		t.Errorf("zero date %q", got)
	}
	if got := en.Number(1234567); got != "1,234,567" {
		t.Errorf("number %q", got)
	}
}
