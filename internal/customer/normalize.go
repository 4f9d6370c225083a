package customer

import (
	"math"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // time zones validate on hosts without a zoneinfo database
	"unicode"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/nyaruka/phonenumbers"
	"golang.org/x/text/currency"
	"golang.org/x/text/language"
	"golang.org/x/text/language/display"
	"golang.org/x/text/unicode/norm"
)

// DefaultRegion is the region a phone number without a country code is read
// in when the service is not told otherwise: most Kizuna users are in Japan.
const DefaultRegion = "JP"

// maxKeyLen bounds user and anonymous ids: Segment sends UUIDs and database
// ids; anything longer is garbage we should not index.
const maxKeyLen = 255

// NormalizeEmail trims, NFKC-folds (full-width ＠ and letters become ASCII)
// and lower-cases an email address and checks that it is one plain address
// with a dotted domain. Lower-casing the local part is deliberate: every
// mail system a CX team meets treats it case-insensitively, and two
// profiles for Taro@ and taro@ would be worse than the rare exception.
func NormalizeEmail(s string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(norm.NFKC.String(s)))
	if s == "" {
		return "", kizuna.FieldError("email", "email is empty")
	}
	if len(s) > 254 {
		return "", kizuna.FieldError("email", "email is longer than 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || a.Name != "" {
		return "", kizuna.FieldError("email", "%q is not an email address", s)
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	if at <= 0 || !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return "", kizuna.FieldError("email", "%q is not an email address", s)
	}
	return s, nil
}

// NormalizePhone parses a phone number written the way people write them
// ("090-1234-5678", "+81 90 1234 5678", full-width digits) and returns it in
// E.164 ("+819012345678"). A number without a country code is read in
// region (ISO 3166 alpha-2; "" means DefaultRegion).
func NormalizePhone(s, region string) (string, error) {
	s = strings.TrimSpace(norm.NFKC.String(s))
	if s == "" {
		return "", kizuna.FieldError("phone", "phone is empty")
	}
	if region == "" {
		region = DefaultRegion
	}
	n, err := phonenumbers.Parse(s, strings.ToUpper(region))
	if err != nil || !phonenumbers.IsValidNumber(n) {
		return "", kizuna.FieldError("phone", "%q is not a valid phone number", s)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// phoneSearchDigits returns the digits a person may type to find a number:
// the E.164 digits and the national format digits ("09012345678").
func phoneSearchDigits(e164 string) []string {
	out := []string{digitsOnly(e164)}
	n, err := phonenumbers.Parse(e164, "")
	if err == nil {
		if d := digitsOnly(phonenumbers.Format(n, phonenumbers.NATIONAL)); d != "" && d != out[0] {
			out = append(out, d)
		}
	}
	return out
}

func digitsOnly(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// NormalizeLINEUserID checks a LINE Messaging API user id: "U" followed by
// 32 hexadecimal digits (LINE issues them lower-case).
func NormalizeLINEUserID(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) != 33 || (s[0] != 'U' && s[0] != 'u') {
		return "", kizuna.FieldError("line_user_id", "%q is not a LINE user id (U followed by 32 hex digits)", s)
	}
	hex := strings.ToLower(s[1:])
	for i := 0; i < len(hex); i++ {
		c := hex[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", kizuna.FieldError("line_user_id", "%q is not a LINE user id (U followed by 32 hex digits)", s)
		}
	}
	return "U" + hex, nil
}

// normalizeOpaqueID trims a user or anonymous id and bounds its length.
func normalizeOpaqueID(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", kizuna.FieldError(field, "%s is empty", field)
	}
	if len(s) > maxKeyLen {
		return "", kizuna.FieldError(field, "%s is longer than %d bytes", field, maxKeyLen)
	}
	if !utf8.ValidString(s) {
		return "", kizuna.FieldError(field, "%s is not valid UTF-8", field)
	}
	return s, nil
}

// NormalizeName prepares a personal name for storage: NFKC (half-width
// katakana become full-width, full-width Latin letters and digits become
// ASCII), trimmed, inner runs of spaces (including the ideographic space)
// collapsed to one ASCII space.
func NormalizeName(s string) string {
	return strings.Join(strings.Fields(norm.NFKC.String(s)), " ")
}

// ToHiragana folds katakana to hiragana, leaving everything else alone;
// search compares kana in this form so "ヤマダ", "ﾔﾏﾀﾞ" and "やまだ" meet.
func ToHiragana(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'ァ' && r <= 'ヶ', r == 'ヽ', r == 'ヾ':
			return r - 0x60
		}
		return r
	}, s)
}

// ToKatakana folds hiragana to katakana.
func ToKatakana(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'ぁ' && r <= 'ゖ', r == 'ゝ', r == 'ゞ':
			return r + 0x60
		}
		return r
	}, s)
}

// foldForSearch is the one transformation both stored search text and
// queries go through: NFKC, lower case, katakana to hiragana, spaces
// collapsed.
func foldForSearch(s string) string {
	return ToHiragana(strings.ToLower(NormalizeName(s)))
}

// searchSeparator keeps two fields from reading as one word; a query never
// contains it after folding.
const searchSeparator = "\n"

// SearchText builds what List's query matches: the names in both orders,
// with and without a space, the kana reading in hiragana and katakana, the
// email, and the phone as E.164 digits and national digits.
func SearchText(c *Customer) string {
	var parts []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s == "" {
			return
		}
		for _, p := range parts {
			if p == s {
				return
			}
		}
		parts = append(parts, s)
	}
	names := func(family, given string) {
		family, given = foldForSearch(family), foldForSearch(given)
		switch {
		case family != "" && given != "":
			add(family + " " + given)
			add(family + given)
			add(given + " " + family)
		default:
			add(family + given)
		}
	}
	names(c.FamilyName, c.GivenName)
	names(c.FamilyNameKana, c.GivenNameKana)
	if kana := strings.TrimSpace(foldForSearch(c.FamilyNameKana) + " " + foldForSearch(c.GivenNameKana)); kana != "" {
		add(ToKatakana(kana))
		add(ToKatakana(strings.ReplaceAll(kana, " ", "")))
	}
	add(strings.ToLower(c.Email))
	if c.Phone != "" {
		add(c.Phone)
		for _, d := range phoneSearchDigits(c.Phone) {
			add(d)
		}
	}
	return strings.Join(parts, searchSeparator)
}

// searchPattern turns a user's query into the LIKE pattern matched against
// search_text: folded like the stored text, LIKE's wildcards escaped (the
// statement says ESCAPE '\'), and a query that looks like a phone number
// reduced to its digits. ok is false for an empty query.
func searchPattern(q string) (pattern string, ok bool) {
	q = foldForSearch(q)
	if q == "" {
		return "", false
	}
	if looksLikePhone(q) {
		q = digitsOnly(q)
	}
	var b strings.Builder
	b.WriteByte('%')
	for _, r := range q {
		if r == '%' || r == '_' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('%')
	return b.String(), true
}

func looksLikePhone(q string) bool {
	digits := 0
	for _, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' || r == '-' || r == ' ' || r == '(' || r == ')' || r == '.':
		default:
			return false
		}
	}
	return digits >= 3
}

// sortName is the key of the "name" sort: the kana reading when there is one
// (Japanese lists are in gojūon order, which kanji cannot give), otherwise
// the name, folded like search text.
func sortName(c *Customer) string {
	if k := strings.TrimSpace(foldForSearch(c.FamilyNameKana) + " " + foldForSearch(c.GivenNameKana)); k != "" {
		return k
	}
	if n := strings.TrimSpace(foldForSearch(c.FamilyName) + " " + foldForSearch(c.GivenName)); n != "" {
		return n
	}
	return "\uffff" // nameless profiles sort last
}

// normalizeCountry returns an ISO 3166 alpha-2 code for a code (alpha-2,
// alpha-3 or numeric) or a country's English or Japanese name ("United
// Kingdom", "イギリス", as imports and forms write them), and ok=false
// with the trimmed input for anything else.
func normalizeCountry(s string) (string, bool) {
	s = strings.TrimSpace(norm.NFKC.String(s))
	if s == "" {
		return "", false
	}
	if r, err := language.ParseRegion(s); err == nil && r.IsCountry() {
		return r.Canonicalize().String(), true // UK → GB
	}
	if code, ok := countryNames()[strings.ToLower(s)]; ok {
		return code, true
	}
	return s, false
}

// countryNames maps the lower-cased English and Japanese CLDR names of every
// country, plus a few names data sets use that CLDR does not, to its code.
var countryNames = sync.OnceValue(func() map[string]string {
	m := map[string]string{}
	en, ja := display.English.Regions(), display.Japanese.Regions()
	for a := 'A'; a <= 'Z'; a++ {
		for b := 'A'; b <= 'Z'; b++ {
			r, err := language.ParseRegion(string([]rune{a, b}))
			if err != nil || !r.IsCountry() || r.Canonicalize().String() != string([]rune{a, b}) {
				continue
			}
			for _, n := range []string{en.Name(r), ja.Name(r)} {
				if n != "" {
					m[strings.ToLower(n)] = r.String()
				}
			}
		}
	}
	// Spellings of the Online Retail data set and common English usage.
	for name, code := range map[string]string{
		"usa": "US", "eire": "IE", "rsa": "ZA", "czech republic": "CZ",
		"korea": "KR", "south korea": "KR", "russia": "RU", "holland": "NL",
	} {
		m[name] = code
	}
	return m
})

// normalizeLocale returns the BCP 47 form of a locale ("ja_JP" → "ja-JP").
func normalizeLocale(s string) (string, bool) {
	s = strings.TrimSpace(strings.ReplaceAll(s, "_", "-"))
	if s == "" {
		return "", false
	}
	t, err := language.Parse(s)
	if err != nil {
		return s, false
	}
	return t.String(), true
}

func validTimeZone(s string) bool {
	if s == "" || s == "Local" {
		return false
	}
	_, err := time.LoadLocation(s)
	return err == nil
}

func validLifecycle(s string) bool {
	for _, l := range LifecycleStages {
		if l == s {
			return true
		}
	}
	return false
}

// ToMinor converts an amount in a currency's major unit (12.34 GBP) to its
// minor unit (1234 pence), with the currency's number of decimals from
// CLDR (JPY has none: 1200 yen is 1200), rounding half away from zero.
func ToMinor(amount float64, cur string) (int64, error) {
	digits, err := MinorDigits(cur)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(amount) || math.IsInf(amount, 0) {
		return 0, kizuna.FieldError("amount", "amount is not a number")
	}
	if math.Abs(amount)*math.Pow10(digits) > 1<<53 {
		return 0, kizuna.FieldError("amount", "amount %v is out of range", amount)
	}
	// Round the decimal the source wrote, not its binary approximation:
	// 1.005 is stored as 1.00499…, but whoever wrote 1.005 GBP meant a
	// half penny, which rounds up. The shortest representation that
	// round-trips is that decimal.
	dec := strconv.FormatFloat(math.Abs(amount), 'f', -1, 64)
	whole, frac, _ := strings.Cut(dec, ".")
	frac += strings.Repeat("0", digits+1)
	v, err := strconv.ParseInt(whole+frac[:digits], 10, 64)
	if err != nil {
		return 0, kizuna.FieldError("amount", "amount %v is out of range", amount)
	}
	if frac[digits] >= '5' {
		v++
	}
	if amount < 0 {
		v = -v
	}
	return v, nil
}

// MinorDigits returns how many decimals a currency's minor unit has
// (JPY 0, GBP 2, BHD 3).
func MinorDigits(cur string) (int, error) {
	u, err := parseCurrency(cur)
	if err != nil {
		return 0, err
	}
	scale, _ := currency.Standard.Rounding(u)
	return scale, nil
}

func parseCurrency(cur string) (currency.Unit, error) {
	u, err := currency.ParseISO(strings.ToUpper(strings.TrimSpace(cur)))
	if err != nil {
		return currency.Unit{}, kizuna.FieldError("currency", "%q is not an ISO 4217 currency code", cur)
	}
	return u, nil
}

// isBlank reports whether a name-like string has no visible content.
func isBlank(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return !unicode.IsSpace(r) }) < 0
}
