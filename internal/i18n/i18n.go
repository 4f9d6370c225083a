// Package i18n is how Kizuna speaks Japanese and English: the message
// catalogs, choosing a language for a request (the user's setting, then
// Accept-Language) and formatting dates, numbers and money per locale.
//
// The catalogs are flat JSON files embedded in the binary: messages/en.json
// and messages/ja.json, plus one pair per capability
// (messages/<area>.en.json, messages/<area>.ja.json) so that each area
// keeps its own strings. A key may be defined once per locale; a test
// proves both locales hold exactly the same keys, so no screen can show one
// language's key in the other.
package i18n

import (
	"embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Locales Kizuna speaks. English comes first: it is the fallback when
// nothing in Accept-Language matches.
const (
	English  = "en"
	Japanese = "ja"
)

// Locales lists the supported locales in the order the language switch
// shows them.
var Locales = []string{Japanese, English}

var supported = []language.Tag{language.English, language.Japanese}

var matcher = language.NewMatcher(supported)

//go:embed messages/*.json
var messageFiles embed.FS

// catalogs maps locale → key → message. Loaded once; read-only afterwards.
var catalogs = mustLoad()

func mustLoad() map[string]map[string]string {
	out := map[string]map[string]string{}
	entries, err := messageFiles.ReadDir("messages")
	if err != nil {
		panic("i18n: " + err.Error()) // the files are embedded; this is a build mistake
	}
	for _, loc := range []string{English, Japanese} {
		out[loc] = map[string]string{}
		for _, e := range entries {
			name := e.Name()
			if name != loc+".json" && !strings.HasSuffix(name, "."+loc+".json") {
				continue
			}
			b, err := messageFiles.ReadFile("messages/" + name)
			if err != nil {
				panic("i18n: " + err.Error())
			}
			m := map[string]string{}
			if err := json.Unmarshal(b, &m); err != nil {
				panic("i18n: messages/" + name + ": " + err.Error())
			}
			for k, v := range m {
				if _, dup := out[loc][k]; dup {
					panic("i18n: messages/" + name + ": key " + k + " is defined twice")
				}
				out[loc][k] = v
			}
		}
	}
	return out
}

// Keys returns every key of locale's catalog, sorted.
func Keys(locale string) []string {
	m := catalogs[locale]
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Has reports whether locale's catalog holds key.
func Has(locale, key string) bool {
	_, ok := catalogs[locale][key]
	return ok
}

// Supported reports whether s names a locale Kizuna speaks.
func Supported(s string) bool { return s == English || s == Japanese }

// Negotiate picks the locale for a request: an explicit choice (the user's
// setting or the language switch) if supported, else the best match for
// the Accept-Language header, else English.
func Negotiate(choice, acceptLanguage string) string {
	if c := normalize(choice); c != "" {
		return c
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 {
		return English
	}
	_, idx, conf := matcher.Match(tags...)
	if conf == language.No {
		return English
	}
	if supported[idx] == language.Japanese {
		return Japanese
	}
	return English
}

// normalize maps "ja", "ja-JP", "en-GB" … to a supported locale, or "".
func normalize(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	tag, err := language.Parse(s)
	if err != nil {
		return ""
	}
	base, _ := tag.Base()
	switch base.String() {
	case Japanese:
		return Japanese
	case English:
		return English
	}
	return ""
}

// Printer formats messages, dates and amounts for one locale and time zone.
type Printer struct {
	Locale string
	loc    *time.Location
	p      *message.Printer
}

// NewPrinter returns a printer for locale (English if unsupported) showing
// times in tz (UTC if nil).
func NewPrinter(locale string, tz *time.Location) *Printer {
	if !Supported(locale) {
		locale = English
	}
	if tz == nil {
		tz = time.UTC
	}
	tag := language.English
	if locale == Japanese {
		tag = language.Japanese
	}
	return &Printer{Locale: locale, loc: tz, p: message.NewPrinter(tag)}
}

// T returns the message for key, formatted with args (fmt verbs) when
// given. A missing key returns the key itself, so the gap is visible on
// screen, and the catalog test catches it before that.
func (p *Printer) T(key string, args ...any) string {
	s, ok := catalogs[p.Locale][key]
	if !ok {
		s, ok = catalogs[English][key]
	}
	if !ok {
		return key
	}
	if len(args) > 0 {
		return fmt.Sprintf(s, args...)
	}
	return s
}

// TOr is T for keys built from data (an audit action, a status): the
// message if the catalog has one, else fallback as it is.
func (p *Printer) TOr(key, fallback string) string {
	if s, ok := catalogs[p.Locale][key]; ok {
		return s
	}
	if s, ok := catalogs[English][key]; ok {
		return s
	}
	return fallback
}

var enMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// Date formats t as a calendar date: "2026年11月23日" or "23 Nov 2026".
func (p *Printer) Date(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	t = t.In(p.loc)
	if p.Locale == Japanese {
		return fmt.Sprintf("%d年%d月%d日", t.Year(), int(t.Month()), t.Day())
	}
	return fmt.Sprintf("%d %s %d", t.Day(), enMonths[t.Month()-1], t.Year())
}

// DateTime formats t with the time of day (24-hour clock in both locales).
func (p *Printer) DateTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return p.Date(t) + " " + t.In(p.loc).Format("15:04")
}

// ShortDate is the compact form used on chart axes: "11/23" or "23 Nov".
func (p *Printer) ShortDate(t time.Time) string {
	t = t.In(p.loc)
	if p.Locale == Japanese {
		return fmt.Sprintf("%d/%d", int(t.Month()), t.Day())
	}
	return fmt.Sprintf("%d %s", t.Day(), enMonths[t.Month()-1])
}

// Number formats an integer with the locale's digit grouping: 1,234,567.
func (p *Printer) Number(n int64) string { return p.p.Sprintf("%d", n) }

// Money formats an amount in minor units of the ISO 4217 currency code,
// with the currency's own number of decimals: ¥123,456 (JPY has none),
// £1,234.50, -$3.20. An unknown code is shown after the number; no code,
// just the number.
func (p *Printer) Money(minor int64, code string) string {
	if code == "" {
		return p.Number(minor) // nothing sold yet: no currency to speak of
	}
	unit, err := currency.ParseISO(code)
	if err != nil {
		return p.Number(minor) + " " + code
	}
	scale, _ := currency.Standard.Rounding(unit)
	sign := ""
	if minor < 0 {
		sign = "-"
		minor = -minor
	}
	pow := int64(1)
	for i := 0; i < scale; i++ {
		pow *= 10
	}
	s := p.Number(minor / pow)
	if scale > 0 {
		s += fmt.Sprintf(".%0*d", scale, minor%pow)
	}
	return sign + p.symbol(unit) + s
}

// symbol takes the currency's narrow symbol from CLDR (via x/text), which
// formats it followed by a space and an amount; we keep only the symbol so
// amounts read "£1,234.50" as people write them.
func (p *Printer) symbol(unit currency.Unit) string {
	s := p.p.Sprint(currency.NarrowSymbol(unit.Amount(0)))
	if i := strings.IndexFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsDigit(r) }); i >= 0 {
		s = s[:i]
	}
	if s == "" {
		return unit.String() + " "
	}
	if len(s) == 3 && strings.ToUpper(s) == s && s == unit.String() {
		return s + " " // no symbol in CLDR: "CHF 12.00"
	}
	return s
}
