package calendar

import (
	"math"
	"sort"
	"sync"
	"time"
)

// Holiday is a Japanese public holiday: a 国民の祝日 named by the Act on
// National Holidays (国民の祝日に関する法律), a 振替休日 (substitute
// holiday) or a 国民の休日 (citizens' holiday, a day sandwiched between two
// national holidays).
type Holiday struct {
	Date   Date   `json:"date"`
	NameJA string `json:"name_ja"`
	NameEN string `json:"name_en"`
	// Kind tells a national holiday from a substitute or citizens' holiday.
	Kind HolidayKind `json:"kind"`
}

// HolidayKind is the legal category of a Japanese public holiday.
type HolidayKind string

const (
	NationalHoliday   HolidayKind = "national"   // 国民の祝日
	SubstituteHoliday HolidayKind = "substitute" // 振替休日 (Article 3(2))
	CitizensHoliday   HolidayKind = "citizens"   // 国民の休日 (Article 3(3))
)

// The years JapaneseHolidays knows. The equinox days are fixed each February
// by the National Astronomical Observatory for the following year; the
// approximation formula below matches those announcements from 1980 to 2099
// and is not valid outside that range, so we do not guess there.
const (
	FirstHolidayYear = 1980
	LastHolidayYear  = 2099
)

// holidayRule is one line of the Act as it stood in a range of years. The
// Act has been amended many times (Happy Monday system from 2000 and 2003,
// Showa Day in 2007, Mountain Day in 2016, the Emperor's birthday moving in
// 1989 and 2020), so every rule carries the years it applies to. Exactly one
// of day, nthMonday and equinox is set.
type holidayRule struct {
	from, to  int // inclusive
	month     time.Month
	day       int // a fixed date
	nthMonday int // "Happy Monday": the n-th Monday of month
	equinox   int // 1: vernal (March), 2: autumnal (September)
	ja, en    string
}

const (
	vernal   = 1
	autumnal = 2
)

var holidayRules = []holidayRule{
	{from: 1949, to: 9999, month: time.January, day: 1, ja: "元日", en: "New Year's Day"},
	{from: 1949, to: 1999, month: time.January, day: 15, ja: "成人の日", en: "Coming of Age Day"},
	{from: 2000, to: 9999, month: time.January, nthMonday: 2, ja: "成人の日", en: "Coming of Age Day"},
	{from: 1967, to: 9999, month: time.February, day: 11, ja: "建国記念の日", en: "National Foundation Day"},
	{from: 2020, to: 9999, month: time.February, day: 23, ja: "天皇誕生日", en: "The Emperor's Birthday"},
	{from: 1949, to: 9999, month: time.March, equinox: vernal, ja: "春分の日", en: "Vernal Equinox Day"},
	{from: 1949, to: 1988, month: time.April, day: 29, ja: "天皇誕生日", en: "The Emperor's Birthday"},
	{from: 1989, to: 2006, month: time.April, day: 29, ja: "みどりの日", en: "Greenery Day"},
	{from: 2007, to: 9999, month: time.April, day: 29, ja: "昭和の日", en: "Showa Day"},
	{from: 1949, to: 9999, month: time.May, day: 3, ja: "憲法記念日", en: "Constitution Memorial Day"},
	{from: 2007, to: 9999, month: time.May, day: 4, ja: "みどりの日", en: "Greenery Day"},
	{from: 1949, to: 9999, month: time.May, day: 5, ja: "こどもの日", en: "Children's Day"},
	// Marine, Mountain and Sports Day moved for the Tokyo Olympics in 2020
	// and, postponed, in 2021 (special measures act); see holidayOneOffs.
	{from: 1996, to: 2002, month: time.July, day: 20, ja: "海の日", en: "Marine Day"},
	{from: 2003, to: 2019, month: time.July, nthMonday: 3, ja: "海の日", en: "Marine Day"},
	{from: 2022, to: 9999, month: time.July, nthMonday: 3, ja: "海の日", en: "Marine Day"},
	{from: 2016, to: 2019, month: time.August, day: 11, ja: "山の日", en: "Mountain Day"},
	{from: 2022, to: 9999, month: time.August, day: 11, ja: "山の日", en: "Mountain Day"},
	{from: 1966, to: 2002, month: time.September, day: 15, ja: "敬老の日", en: "Respect for the Aged Day"},
	{from: 2003, to: 9999, month: time.September, nthMonday: 3, ja: "敬老の日", en: "Respect for the Aged Day"},
	{from: 1948, to: 9999, month: time.September, equinox: autumnal, ja: "秋分の日", en: "Autumnal Equinox Day"},
	{from: 1966, to: 1999, month: time.October, day: 10, ja: "体育の日", en: "Health and Sports Day"},
	{from: 2000, to: 2019, month: time.October, nthMonday: 2, ja: "体育の日", en: "Health and Sports Day"},
	{from: 2022, to: 9999, month: time.October, nthMonday: 2, ja: "スポーツの日", en: "Sports Day"},
	{from: 1948, to: 9999, month: time.November, day: 3, ja: "文化の日", en: "Culture Day"},
	{from: 1948, to: 9999, month: time.November, day: 23, ja: "勤労感謝の日", en: "Labour Thanksgiving Day"},
	{from: 1989, to: 2018, month: time.December, day: 23, ja: "天皇誕生日", en: "The Emperor's Birthday"},
}

// holidayOneOffs are national holidays created by special acts for a single
// year: imperial ceremonies and the Olympic moves.
var holidayOneOffs = []Holiday{
	{Date: Date{1989, time.February, 24}, NameJA: "昭和天皇の大喪の礼", NameEN: "The Funeral Ceremony of Emperor Showa"},
	{Date: Date{1990, time.November, 12}, NameJA: "即位礼正殿の儀", NameEN: "The Ceremony of the Enthronement"},
	{Date: Date{1993, time.June, 9}, NameJA: "皇太子徳仁親王の結婚の儀", NameEN: "The Wedding Ceremony of Crown Prince Naruhito"},
	{Date: Date{2019, time.May, 1}, NameJA: "天皇の即位の日", NameEN: "The Day of the Emperor's Enthronement"},
	{Date: Date{2019, time.October, 22}, NameJA: "即位礼正殿の儀の行われる日", NameEN: "The Day of the Enthronement Ceremony"},
	{Date: Date{2020, time.July, 23}, NameJA: "海の日", NameEN: "Marine Day"},
	{Date: Date{2020, time.July, 24}, NameJA: "スポーツの日", NameEN: "Sports Day"},
	{Date: Date{2020, time.August, 10}, NameJA: "山の日", NameEN: "Mountain Day"},
	{Date: Date{2021, time.July, 22}, NameJA: "海の日", NameEN: "Marine Day"},
	{Date: Date{2021, time.July, 23}, NameJA: "スポーツの日", NameEN: "Sports Day"},
	{Date: Date{2021, time.August, 8}, NameJA: "山の日", NameEN: "Mountain Day"},
}

// equinoxDay is the standard approximation used for Japanese holiday
// calendars, valid for 1980–2099: the mean tropical year (0.242194 days of
// drift per year) against the leap-year correction.
func equinoxDay(year, which int) int {
	base := 20.8431
	if which == autumnal {
		base = 23.2488
	}
	n := float64(year - 1980)
	return int(math.Floor(base + 0.242194*n - math.Floor(n/4)))
}

func nthMonday(year int, month time.Month, n int) int {
	first := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC).Weekday()
	offset := (int(time.Monday) - int(first) + 7) % 7
	return 1 + offset + 7*(n-1)
}

// Article 3(2) and 3(3) took their current wording on 2007-01-01. Before
// that a substitute holiday was only ever the Monday after a Sunday holiday,
// and a sandwiched day did not become a citizens' holiday if it was a Sunday
// or already a substitute holiday.
const (
	substituteSince   = 1973 // amended 1973-04-12; no Sunday holiday fell between
	citizensSince     = 1986 // amended 1985-12-27
	currentArticle3At = 2007
)

func computeJapaneseHolidays(year int) []Holiday {
	national := make(map[Date]Holiday)
	for _, r := range holidayRules {
		if year < r.from || year > r.to {
			continue
		}
		var day int
		switch {
		case r.day != 0:
			day = r.day
		case r.nthMonday != 0:
			day = nthMonday(year, r.month, r.nthMonday)
		default:
			day = equinoxDay(year, r.equinox)
		}
		d := Date{year, r.month, day}
		national[d] = Holiday{Date: d, NameJA: r.ja, NameEN: r.en, Kind: NationalHoliday}
	}
	for _, h := range holidayOneOffs {
		if h.Date.Year == year {
			h.Kind = NationalHoliday
			national[h.Date] = h
		}
	}

	all := make(map[Date]Holiday, len(national)+4)
	for d, h := range national {
		all[d] = h
	}
	if year >= substituteSince {
		for d := range national {
			if d.Weekday() != time.Sunday {
				continue
			}
			sub := d.AddDays(1)
			if year >= currentArticle3At {
				for _, ok := national[sub]; ok; _, ok = national[sub] {
					sub = sub.AddDays(1)
				}
			} else if _, ok := national[sub]; ok {
				continue
			}
			all[sub] = Holiday{Date: sub, NameJA: "振替休日", NameEN: "Substitute Holiday", Kind: SubstituteHoliday}
		}
	}
	if year >= citizensSince {
		for d := range national {
			mid, next := d.AddDays(1), d.AddDays(2)
			if _, ok := national[next]; !ok {
				continue
			}
			if _, ok := all[mid]; ok {
				continue // already a holiday (national, or a substitute before 2007)
			}
			if year < currentArticle3At && mid.Weekday() == time.Sunday {
				continue
			}
			all[mid] = Holiday{Date: mid, NameJA: "国民の休日", NameEN: "Citizens' Holiday", Kind: CitizensHoliday}
		}
	}

	out := make([]Holiday, 0, len(all))
	for _, h := range all {
		if h.Date.Year == year { // a substitute for 12/31 would belong to next year; none exists, but stay exact
			out = append(out, h)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

type holidayTable struct {
	byYear map[int][]Holiday
	byDate map[Date]Holiday
}

// japaneseHolidayTable computes every holiday of the supported range once
// (about 2,000 entries), so lookups on the hot path of business-time
// arithmetic are a single map read.
var japaneseHolidayTable = sync.OnceValue(func() holidayTable {
	t := holidayTable{byYear: make(map[int][]Holiday), byDate: make(map[Date]Holiday)}
	for y := FirstHolidayYear; y <= LastHolidayYear; y++ {
		hs := computeJapaneseHolidays(y)
		t.byYear[y] = hs
		for _, h := range hs {
			t.byDate[h.Date] = h
		}
	}
	return t
})

// JapaneseHolidays returns the public holidays of year in date order, or
// nil for a year outside FirstHolidayYear..LastHolidayYear. The caller may
// modify the returned slice.
func JapaneseHolidays(year int) []Holiday {
	hs := japaneseHolidayTable().byYear[year]
	if hs == nil {
		return nil
	}
	return append([]Holiday(nil), hs...)
}

// JapaneseHoliday returns the public holiday on d, if d is one.
func JapaneseHoliday(d Date) (Holiday, bool) {
	h, ok := japaneseHolidayTable().byDate[d]
	return h, ok
}
