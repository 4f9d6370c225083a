package calendar

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/kizuna-oss/kizuna"
)

// DefaultTimeZone is the zone of a Config that names none.
const DefaultTimeZone = "Asia/Tokyo"

// Shift is one stretch of business hours within a day, [Start, End). A day
// with a lunch break has two shifts (09:00–12:00, 13:00–18:00). A night
// shift that crosses midnight is written as two shifts on two weekdays
// (22:00–24:00 and 00:00–06:00); the arithmetic joins them seamlessly.
type Shift struct {
	Start TimeOfDay `json:"start"`
	End   TimeOfDay `json:"end"`
}

// WeeklyHours holds the shifts of each weekday, indexed by time.Weekday
// (Sunday = 0).
type WeeklyHours [7][]Shift

// Closure closes the desk on every day from From to To inclusive (a company
// holiday, a move, a system outage).
type Closure struct {
	From Date   `json:"from"`
	To   Date   `json:"to"`
	Name string `json:"name"`
}

// MonthDay is a day of the year without the year, e.g. 12-29.
type MonthDay struct {
	Month time.Month
	Day   int
}

func (md MonthDay) String() string { return fmt.Sprintf("%02d-%02d", md.Month, md.Day) }

// MarshalText encodes md as "MM-DD".
func (md MonthDay) MarshalText() ([]byte, error) { return []byte(md.String()), nil }

// UnmarshalText decodes "MM-DD".
func (md *MonthDay) UnmarshalText(b []byte) error {
	t, err := time.Parse("01-02", string(b))
	if err != nil {
		return fmt.Errorf("day %q is not MM-DD", b)
	}
	*md = MonthDay{t.Month(), t.Day()}
	return nil
}

func (md MonthDay) key() int { return int(md.Month)*100 + md.Day }

// AnnualClosure closes the desk every year from From to To inclusive, such
// as 年末年始 (12-29 to 01-03; a range may wrap over New Year) or お盆
// (08-13 to 08-16).
type AnnualClosure struct {
	From MonthDay `json:"from"`
	To   MonthDay `json:"to"`
	Name string   `json:"name"`
}

func (a AnnualClosure) covers(d Date) bool {
	k, from, to := MonthDay{d.Month, d.Day}.key(), a.From.key(), a.To.key()
	if from <= to {
		return from <= k && k <= to
	}
	return k >= from || k <= to
}

// SpecialDay replaces the hours of one date: a Saturday campaign, a short
// day before a holiday. No shifts means closed that day.
type SpecialDay struct {
	Date   Date    `json:"date"`
	Shifts []Shift `json:"shifts"`
	Name   string  `json:"name"`
}

// Config is the editable description of a business calendar, as an admin
// enters it and the store saves it. New validates it and compiles it into a
// Calendar.
//
// For a given date the most specific entry decides: SpecialHours, then
// Closures and AnnualClosures, then a Japanese public holiday (unless the
// date is in WorkingHolidays), then Weekly.
type Config struct {
	// TimeZone is an IANA zone name; "" means Asia/Tokyo. Business hours
	// are wall-clock hours in this zone.
	TimeZone         string          `json:"time_zone"`
	Weekly           WeeklyHours     `json:"weekly"`
	JapaneseHolidays bool            `json:"japanese_holidays"`
	Closures         []Closure       `json:"closures"`
	AnnualClosures   []AnnualClosure `json:"annual_closures"`
	// WorkingHolidays are public holidays on which the desk keeps its
	// normal weekly hours.
	WorkingHolidays []Date       `json:"working_holidays"`
	SpecialHours    []SpecialDay `json:"special_hours"`
}

// DefaultConfig is the common Japanese office calendar: Monday to Friday
// 09:00–18:00 in Asia/Tokyo, closed on public holidays.
func DefaultConfig() Config {
	var c Config
	c.TimeZone = DefaultTimeZone
	for wd := time.Monday; wd <= time.Friday; wd++ {
		c.Weekly[wd] = []Shift{{Clock(9, 0), Clock(18, 0)}}
	}
	c.JapaneseHolidays = true
	return c
}

// AlwaysOpenConfig is a 24/7 calendar in zone tz: business time equals
// elapsed time.
func AlwaysOpenConfig(tz string) Config {
	c := Config{TimeZone: tz}
	for wd := range c.Weekly {
		c.Weekly[wd] = []Shift{{0, Clock(24, 0)}}
	}
	return c
}

// Calendar is a validated, compiled Config. It is immutable and safe for
// concurrent use; to change it, edit its Config and call New again.
type Calendar struct {
	cfg      Config
	loc      *time.Location
	week     WeeklyHours
	closures []Closure // sorted by From
	working  map[Date]bool
	special  map[Date]SpecialDay
}

// maxClosureDays bounds one closure (after merging overlapping ones). A
// longer closure is almost surely a typo in a year, and the bound keeps
// every search for the next open instant finite.
const maxClosureDays = 366

// New validates cfg and returns its Calendar. Errors are EINVALID with the
// field at fault (e.g. "weekly.monday[1]", "closures[0].to").
func New(cfg Config) (*Calendar, error) {
	tz := cfg.TimeZone
	if tz == "" {
		tz = DefaultTimeZone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, kizuna.FieldError("time_zone", "unknown time zone %q", cfg.TimeZone)
	}
	c := &Calendar{cfg: cfg.clone(), loc: loc, working: map[Date]bool{}, special: map[Date]SpecialDay{}}
	c.cfg.TimeZone = tz
	anyHours := false
	for wd := range cfg.Weekly {
		field := "weekly." + lower(time.Weekday(wd).String())
		shifts, err := normaliseShifts(field, cfg.Weekly[wd])
		if err != nil {
			return nil, err
		}
		c.week[wd] = shifts
		anyHours = anyHours || len(shifts) > 0
	}
	if !anyHours {
		return nil, kizuna.FieldError("weekly", "at least one weekday needs business hours")
	}
	for i, cl := range cfg.Closures {
		field := fmt.Sprintf("closures[%d]", i)
		if cl.From.IsZero() || cl.To.IsZero() {
			return nil, kizuna.FieldError(field, "a closure needs a first and a last day")
		}
		if cl.To.Before(cl.From) {
			return nil, kizuna.FieldError(field+".to", "closure ends (%s) before it starts (%s)", cl.To, cl.From)
		}
		c.closures = append(c.closures, cl)
	}
	sort.Slice(c.closures, func(i, j int) bool { return c.closures[i].From.Before(c.closures[j].From) })
	if err := checkClosureLength(c.closures); err != nil {
		return nil, err
	}
	for i, a := range cfg.AnnualClosures {
		field := fmt.Sprintf("annual_closures[%d]", i)
		for _, md := range []MonthDay{a.From, a.To} {
			if md.Month < time.January || md.Month > time.December || md.Day < 1 || md.Day > daysIn(md.Month) {
				return nil, kizuna.FieldError(field, "%s is not a day of the year", md)
			}
		}
		// A wrapped range longer than a year is impossible by construction;
		// still, an annual closure covering nearly every day is a mistake.
		if n := annualLength(a); n > 60 {
			return nil, kizuna.FieldError(field, "an annual closure of %d days is too long (at most 60)", n)
		}
	}
	for i, d := range cfg.WorkingHolidays {
		if d.IsZero() {
			return nil, kizuna.FieldError(fmt.Sprintf("working_holidays[%d]", i), "date is missing")
		}
		c.working[d] = true
	}
	for i, sd := range cfg.SpecialHours {
		field := fmt.Sprintf("special_hours[%d]", i)
		if sd.Date.IsZero() {
			return nil, kizuna.FieldError(field+".date", "date is missing")
		}
		if _, dup := c.special[sd.Date]; dup {
			return nil, kizuna.FieldError(field+".date", "%s already has special hours", sd.Date)
		}
		shifts, err := normaliseShifts(field+".shifts", sd.Shifts)
		if err != nil {
			return nil, err
		}
		sd.Shifts = shifts
		c.special[sd.Date] = sd
	}
	return c, nil
}

// MustNew is New for configurations fixed in code (tests, defaults).
func MustNew(cfg Config) *Calendar {
	c, err := New(cfg)
	if err != nil {
		panic(err)
	}
	return c
}

// Config returns a copy of the configuration c was built from, for editing.
func (c *Calendar) Config() Config { return c.cfg.clone() }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

func (cfg Config) clone() Config {
	out := cfg
	for wd := range cfg.Weekly {
		out.Weekly[wd] = slices.Clone(cfg.Weekly[wd])
	}
	out.Closures = slices.Clone(cfg.Closures)
	out.AnnualClosures = slices.Clone(cfg.AnnualClosures)
	out.WorkingHolidays = slices.Clone(cfg.WorkingHolidays)
	out.SpecialHours = slices.Clone(cfg.SpecialHours)
	for i := range out.SpecialHours {
		out.SpecialHours[i].Shifts = slices.Clone(out.SpecialHours[i].Shifts)
	}
	return out
}

func normaliseShifts(field string, in []Shift) ([]Shift, error) {
	shifts := slices.Clone(in)
	for i, s := range shifts {
		if s.Start < 0 || s.End > Clock(24, 0) || s.Start >= s.End {
			return nil, kizuna.FieldError(fmt.Sprintf("%s[%d]", field, i), "shift %s–%s must start before it ends, within 00:00–24:00", s.Start, s.End)
		}
	}
	sort.Slice(shifts, func(i, j int) bool { return shifts[i].Start < shifts[j].Start })
	var out []Shift
	for _, s := range shifts {
		if n := len(out); n > 0 && s.Start < out[n-1].End {
			return nil, kizuna.FieldError(field, "shifts %s–%s and %s–%s overlap", out[n-1].Start, out[n-1].End, s.Start, s.End)
		} else if n > 0 && s.Start == out[n-1].End {
			out[n-1].End = s.End // touching shifts are one stretch
			continue
		}
		out = append(out, s)
	}
	return out, nil
}

func checkClosureLength(sorted []Closure) error {
	for i := 0; i < len(sorted); {
		from, to := sorted[i].From, sorted[i].To
		j := i + 1
		for ; j < len(sorted) && !sorted[j].From.After(to.AddDays(1)); j++ {
			if sorted[j].To.After(to) {
				to = sorted[j].To
			}
		}
		if n := int(to.utc().Sub(from.utc()).Hours()/24) + 1; n > maxClosureDays {
			return kizuna.FieldError("closures", "closures from %s to %s close the desk for %d days in a row (at most %d)", from, to, n, maxClosureDays)
		}
		i = j
	}
	return nil
}

func daysIn(m time.Month) int {
	return time.Date(2024, m+1, 0, 0, 0, 0, 0, time.UTC).Day() // 2024: leap year, so 02-29 is allowed
}

func annualLength(a AnnualClosure) int {
	n := 0
	for d := (Date{2024, a.From.Month, a.From.Day}); n < 367; d = d.AddDays(1) {
		n++
		if d.Month == a.To.Month && d.Day == a.To.Day {
			break
		}
	}
	return n
}

func lower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if 'A' <= ch && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

// DayHours explains one date of a calendar: its shifts and, when the normal
// weekly hours do not apply, why.
type DayHours struct {
	Date    Date     `json:"date"`
	Shifts  []Shift  `json:"shifts"`
	Holiday *Holiday `json:"holiday,omitempty"` // the public holiday on this date, worked or not
	// Reason is "special", "closure", "holiday", "working_holiday" or
	// "weekly"; Name is the special day's, closure's or holiday's name.
	Reason string `json:"reason"`
	Name   string `json:"name,omitempty"`
}

// Hours returns the business hours of date d and why.
func (c *Calendar) Hours(d Date) DayHours {
	out := DayHours{Date: d}
	if c.cfg.JapaneseHolidays {
		if h, ok := JapaneseHoliday(d); ok {
			out.Holiday = &h
		}
	}
	if sd, ok := c.special[d]; ok {
		out.Shifts, out.Reason, out.Name = sd.Shifts, "special", sd.Name
		return out
	}
	if cl, ok := c.closureOn(d); ok {
		out.Reason, out.Name = "closure", cl
		return out
	}
	if out.Holiday != nil {
		if !c.working[d] {
			out.Reason, out.Name = "holiday", out.Holiday.NameJA
			return out
		}
		out.Reason, out.Name = "working_holiday", out.Holiday.NameJA
	} else {
		out.Reason = "weekly"
	}
	out.Shifts = c.week[d.Weekday()]
	return out
}

// shifts is Hours without the explanation, for the arithmetic's hot path.
func (c *Calendar) shifts(d Date) []Shift {
	if sd, ok := c.special[d]; ok {
		return sd.Shifts
	}
	if _, ok := c.closureOn(d); ok {
		return nil
	}
	if c.cfg.JapaneseHolidays && !c.working[d] {
		if _, ok := JapaneseHoliday(d); ok {
			return nil
		}
	}
	return c.week[d.Weekday()]
}

func (c *Calendar) closureOn(d Date) (string, bool) {
	// Closures are sorted by From; only those starting on or before d can
	// cover it. Few closures overlap, so the backward scan is short.
	i := sort.Search(len(c.closures), func(i int) bool { return c.closures[i].From.After(d) })
	for j := i - 1; j >= 0; j-- {
		if !c.closures[j].To.Before(d) {
			return c.closures[j].Name, true
		}
		if c.closures[j].From.AddDays(maxClosureDays).Before(d) {
			break
		}
	}
	for _, a := range c.cfg.AnnualClosures {
		if a.covers(d) {
			return a.Name, true
		}
	}
	return "", false
}
