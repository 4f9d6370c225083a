package calendar

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
)

var (
	tokyo   = mustLoc("Asia/Tokyo")
	newYork = mustLoc("America/New_York")
)

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

// at parses "2006-01-02 15:04" in loc.
func at(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func jst(s string) time.Time { return at(tokyo, s) }
func nyc(s string) time.Time { return at(newYork, s) }

func weekdays(shifts ...Shift) WeeklyHours {
	var w WeeklyHours
	for wd := time.Monday; wd <= time.Friday; wd++ {
		w[wd] = shifts
	}
	return w
}

// The calendars the tables use.
var (
	// Mon–Fri 09:00–18:00, Japanese holidays.
	officeJP = MustNew(DefaultConfig())
	// Mon–Fri 09:00–12:00 and 13:00–18:00 with a lunch break, Japanese
	// holidays, 年末年始 and お盆 closures, one worked holiday and one
	// Saturday with special hours.
	splitJP = MustNew(Config{
		Weekly:           weekdays(Shift{Clock(9, 0), Clock(12, 0)}, Shift{Clock(13, 0), Clock(18, 0)}),
		JapaneseHolidays: true,
		AnnualClosures: []AnnualClosure{
			{From: MonthDay{12, 29}, To: MonthDay{1, 3}, Name: "年末年始"},
			{From: MonthDay{8, 13}, To: MonthDay{8, 16}, Name: "お盆"},
		},
		Closures:        []Closure{{From: Date{2026, 6, 15}, To: Date{2026, 6, 16}, Name: "オフィス移転"}},
		WorkingHolidays: []Date{{2026, 11, 23}},
		SpecialHours: []SpecialDay{
			{Date: Date{2026, 12, 26}, Shifts: []Shift{{Clock(10, 0), Clock(15, 0)}}, Name: "年末セール"},
			{Date: Date{2026, 12, 28}, Name: "大掃除"}, // closed
		},
	})
	// Mon–Fri 09:00–17:00 in New York, no Japanese holidays.
	officeNY = MustNew(Config{TimeZone: "America/New_York", Weekly: weekdays(Shift{Clock(9, 0), Clock(17, 0)})})
	// A Sunday night shift 00:00–06:00 in New York: DST changes happen inside it.
	nightNY = MustNew(Config{TimeZone: "America/New_York", Weekly: WeeklyHours{time.Sunday: {{0, Clock(6, 0)}}, time.Saturday: {{Clock(22, 0), Clock(24, 0)}}}})
	// A shift that starts inside the spring-forward gap.
	gapNY  = MustNew(Config{TimeZone: "America/New_York", Weekly: WeeklyHours{time.Sunday: {{Clock(2, 30), Clock(4, 0)}}}})
	allNY  = MustNew(AlwaysOpenConfig("America/New_York"))
	always = MustNew(AlwaysOpenConfig(""))
)

func TestAddBusiness(t *testing.T) {
	tests := []struct {
		name string
		cal  *Calendar
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{"within the day", officeJP, jst("2026-11-24 10:00"), 3 * time.Hour, jst("2026-11-24 13:00")},
		{"over the night", officeJP, jst("2026-11-24 17:30"), time.Hour, jst("2026-11-25 09:30")},
		{"over the weekend", officeJP, jst("2026-11-27 17:00"), 2 * time.Hour, jst("2026-11-30 10:00")},
		{"weekend and Labour Thanksgiving Day", officeJP, jst("2026-11-20 17:00"), 2 * time.Hour, jst("2026-11-24 10:00")},
		{"start on a Saturday", officeJP, jst("2026-11-21 10:00"), 30 * time.Minute, jst("2026-11-24 09:30")},
		{"start before opening", officeJP, jst("2026-11-24 06:00"), 30 * time.Minute, jst("2026-11-24 09:30")},
		{"runs out at closing: due at next opening", officeJP, jst("2026-11-24 17:00"), time.Hour, jst("2026-11-25 09:00")},
		{"zero on closed time is the next opening", officeJP, jst("2026-11-21 10:00"), 0, jst("2026-11-24 09:00")},
		{"zero on open time is now", officeJP, jst("2026-11-24 10:00"), 0, jst("2026-11-24 10:00")},
		{"negative counts as zero", officeJP, jst("2026-11-24 10:00"), -time.Hour, jst("2026-11-24 10:00")},
		{"Golden Week eve: 5/1 is a working Friday", officeJP, jst("2026-04-30 17:00"), 2 * time.Hour, jst("2026-05-01 10:00")},
		{"Golden Week: 5/2–5/6 closed", officeJP, jst("2026-05-01 17:00"), 2 * time.Hour, jst("2026-05-07 10:00")},
		{"Golden Week 2019: ten days closed", officeJP, jst("2019-04-26 17:00"), 2 * time.Hour, jst("2019-05-07 10:00")},
		{"Silver Week 2026 citizens' holiday", officeJP, jst("2026-09-18 17:30"), time.Hour, jst("2026-09-24 09:30")},
		{"substitute holiday 2024-02-12", officeJP, jst("2024-02-09 17:00"), 2 * time.Hour, jst("2024-02-13 10:00")},
		{"two business days", officeJP, jst("2026-11-24 09:00"), 18 * time.Hour, jst("2026-11-26 09:00")},
		{"a business week", officeJP, jst("2026-11-24 12:00"), 45 * time.Hour, jst("2026-12-01 12:00")},
		{"split shift: lunch does not count", splitJP, jst("2026-11-24 11:00"), 2 * time.Hour, jst("2026-11-24 14:00")},
		{"split shift: runs out at lunch", splitJP, jst("2026-11-24 11:00"), time.Hour, jst("2026-11-24 13:00")},
		{"split shift: from lunch", splitJP, jst("2026-11-24 12:30"), 30 * time.Minute, jst("2026-11-24 13:30")},
		{"worked holiday", splitJP, jst("2026-11-20 17:00"), 2 * time.Hour, jst("2026-11-23 10:00")},
		{"special Saturday hours", splitJP, jst("2026-12-25 17:00"), 2 * time.Hour, jst("2026-12-26 11:00")},
		{"year-end: special closed day then 年末年始", splitJP, jst("2026-12-26 14:00"), 2 * time.Hour, jst("2027-01-04 10:00")},
		{"お盆", splitJP, jst("2026-08-12 17:30"), time.Hour, jst("2026-08-17 09:30")},
		{"dated closure", splitJP, jst("2026-06-12 17:30"), time.Hour, jst("2026-06-17 09:30")},
		{"24/7 is wall time", always, jst("2026-05-03 10:00"), 26 * time.Hour, jst("2026-05-04 12:00")},
		{"NY over the spring-forward weekend", officeNY, nyc("2026-03-06 16:00"), 2 * time.Hour, nyc("2026-03-09 10:00")},
		{"NY over the fall-back weekend", officeNY, nyc("2026-10-30 16:00"), 2 * time.Hour, nyc("2026-11-02 10:00")},
		{"NY 24/7 on spring forward: the lost hour is not time", allNY, nyc("2026-03-08 00:00"), 4 * time.Hour, nyc("2026-03-08 05:00")},
		{"NY 24/7 on fall back: the repeated hour counts", allNY, nyc("2026-11-01 00:00"), 4 * time.Hour, nyc("2026-11-01 03:00")},
		{"NY night shift on spring forward", nightNY, nyc("2026-03-08 00:00"), 5 * time.Hour, nyc("2026-03-14 22:00")},
		{"NY night shift on fall back", nightNY, nyc("2026-11-01 00:00"), 6*time.Hour + 30*time.Minute, nyc("2026-11-01 05:30")},
		{"NY night shift crosses midnight", nightNY, nyc("2026-03-14 23:00"), 2 * time.Hour, nyc("2026-03-15 01:00")},
		{"NY shift starting in the DST gap", gapNY, nyc("2026-03-07 12:00"), 30 * time.Minute, nyc("2026-03-08 03:30")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.cal.AddBusiness(tt.from, tt.d)
			if !got.Equal(tt.want) {
				t.Errorf("AddBusiness(%s, %s) = %s, want %s", tt.from, tt.d, got, tt.want)
			}
			if got.Location() != tt.cal.Location() {
				t.Errorf("result in %s, want the calendar's zone", got.Location())
			}
			if tt.d > 0 {
				if back := tt.cal.BusinessBetween(tt.from, got); back != tt.d {
					t.Errorf("BusinessBetween(from, result) = %s, want %s", back, tt.d)
				}
			}
		})
	}
}

func TestBusinessBetween(t *testing.T) {
	tests := []struct {
		name string
		cal  *Calendar
		a, b time.Time
		want time.Duration
	}{
		{"same day", officeJP, jst("2026-11-24 10:00"), jst("2026-11-24 11:30"), 90 * time.Minute},
		{"empty", officeJP, jst("2026-11-24 10:00"), jst("2026-11-24 10:00"), 0},
		{"reversed is negative", officeJP, jst("2026-11-24 11:30"), jst("2026-11-24 10:00"), -90 * time.Minute},
		{"all closed", officeJP, jst("2026-11-21 00:00"), jst("2026-11-24 09:00"), 0},
		{"Golden Week 2026 Thu–Thu", officeJP, jst("2026-04-30 09:00"), jst("2026-05-07 09:00"), 18 * time.Hour},
		{"split shift day", splitJP, jst("2026-11-24 00:00"), jst("2026-11-25 00:00"), 8 * time.Hour},
		{"year-end fortnight", splitJP, jst("2026-12-21 00:00"), jst("2027-01-05 00:00"), 5*8*time.Hour + 5*time.Hour + 8*time.Hour},
		{"NY night shift spring forward is 5h", nightNY, nyc("2026-03-08 00:00"), nyc("2026-03-08 12:00"), 5 * time.Hour},
		{"NY night shift fall back is 7h", nightNY, nyc("2026-11-01 00:00"), nyc("2026-11-01 12:00"), 7 * time.Hour},
		{"NY gap shift is 1h", gapNY, nyc("2026-03-08 00:00"), nyc("2026-03-09 00:00"), time.Hour},
		{"NY gap shift normal week 1h30", gapNY, nyc("2026-03-15 00:00"), nyc("2026-03-16 00:00"), 90 * time.Minute},
		{"instants in other zones", officeJP, time.Date(2026, 11, 24, 1, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC), time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.BusinessBetween(tt.a, tt.b); got != tt.want {
				t.Errorf("BusinessBetween(%s, %s) = %s, want %s", tt.a, tt.b, got, tt.want)
			}
		})
	}
}

func TestIsOpenAndNextOpen(t *testing.T) {
	tests := []struct {
		cal  *Calendar
		t    time.Time
		open bool
		next time.Time
	}{
		{officeJP, jst("2026-11-24 09:00"), true, jst("2026-11-24 09:00")},
		{officeJP, jst("2026-11-24 17:59"), true, jst("2026-11-24 17:59")},
		{officeJP, jst("2026-11-24 18:00"), false, jst("2026-11-25 09:00")},
		{officeJP, jst("2026-11-23 10:00"), false, jst("2026-11-24 09:00")},
		{splitJP, jst("2026-11-23 10:00"), true, jst("2026-11-23 10:00")},
		{splitJP, jst("2026-11-24 12:00"), false, jst("2026-11-24 13:00")},
		{splitJP, jst("2026-12-26 14:59"), true, jst("2026-12-26 14:59")},
		{splitJP, jst("2026-12-28 10:00"), false, jst("2027-01-04 09:00")},
		{nightNY, nyc("2026-03-14 23:30"), true, nyc("2026-03-14 23:30")},
		{nightNY, nyc("2026-03-15 00:00"), true, nyc("2026-03-15 00:00")},
		{gapNY, nyc("2026-03-08 01:00"), false, nyc("2026-03-08 03:00")},
	}
	for _, tt := range tests {
		if got := tt.cal.IsOpen(tt.t); got != tt.open {
			t.Errorf("IsOpen(%s) = %v, want %v", tt.t, got, tt.open)
		}
		if got := tt.cal.NextOpen(tt.t); !got.Equal(tt.next) {
			t.Errorf("NextOpen(%s) = %s, want %s", tt.t, got, tt.next)
		}
	}
}

func TestHoursExplainsTheDay(t *testing.T) {
	tests := []struct {
		d      Date
		reason string
		name   string
		open   bool
	}{
		{Date{2026, 11, 24}, "weekly", "", true},
		{Date{2026, 11, 21}, "weekly", "", false},
		{Date{2026, 11, 23}, "working_holiday", "勤労感謝の日", true},
		{Date{2026, 5, 4}, "holiday", "みどりの日", false},
		{Date{2026, 12, 26}, "special", "年末セール", true},
		{Date{2026, 12, 28}, "special", "大掃除", false},
		{Date{2027, 1, 1}, "closure", "年末年始", false},
		{Date{2026, 6, 16}, "closure", "オフィス移転", false},
	}
	for _, tt := range tests {
		h := splitJP.Hours(tt.d)
		if h.Reason != tt.reason || h.Name != tt.name || (len(h.Shifts) > 0) != tt.open {
			t.Errorf("Hours(%s) = %+v, want %s %q open=%v", tt.d, h, tt.reason, tt.name, tt.open)
		}
	}
	if h := splitJP.Hours(Date{2027, 1, 1}); h.Holiday == nil || h.Holiday.NameEN != "New Year's Day" {
		t.Errorf("a closure day still reports its holiday: %+v", h)
	}
}

func TestNewValidates(t *testing.T) {
	base := DefaultConfig
	tests := []struct {
		name  string
		edit  func(*Config)
		field string
	}{
		{"unknown zone", func(c *Config) { c.TimeZone = "Mars/Olympus" }, "time_zone"},
		{"no hours at all", func(c *Config) { c.Weekly = WeeklyHours{} }, "weekly"},
		{"shift ends before it starts", func(c *Config) { c.Weekly[time.Monday] = []Shift{{Clock(18, 0), Clock(9, 0)}} }, "weekly.monday[0]"},
		{"shift past midnight", func(c *Config) { c.Weekly[time.Tuesday] = []Shift{{Clock(9, 0), Clock(24, 30)}} }, "weekly.tuesday[0]"},
		{"overlapping shifts", func(c *Config) {
			c.Weekly[time.Friday] = []Shift{{Clock(9, 0), Clock(13, 0)}, {Clock(12, 0), Clock(18, 0)}}
		}, "weekly.friday"},
		{"closure backwards", func(c *Config) { c.Closures = []Closure{{From: Date{2026, 5, 2}, To: Date{2026, 5, 1}}} }, "closures[0].to"},
		{"closure without dates", func(c *Config) { c.Closures = []Closure{{Name: "x"}} }, "closures[0]"},
		{"closures chained over a year", func(c *Config) {
			c.Closures = []Closure{{From: Date{2026, 1, 1}, To: Date{2026, 8, 1}}, {From: Date{2026, 8, 2}, To: Date{2027, 3, 1}}}
		}, "closures"},
		{"annual closure impossible day", func(c *Config) { c.AnnualClosures = []AnnualClosure{{From: MonthDay{2, 30}, To: MonthDay{3, 1}}} }, "annual_closures[0]"},
		{"annual closure too long", func(c *Config) { c.AnnualClosures = []AnnualClosure{{From: MonthDay{1, 2}, To: MonthDay{1, 1}}} }, "annual_closures[0]"},
		{"duplicate special day", func(c *Config) {
			c.SpecialHours = []SpecialDay{{Date: Date{2026, 1, 5}}, {Date: Date{2026, 1, 5}}}
		}, "special_hours[1].date"},
		{"bad special shift", func(c *Config) {
			c.SpecialHours = []SpecialDay{{Date: Date{2026, 1, 5}, Shifts: []Shift{{Clock(10, 0), Clock(10, 0)}}}}
		}, "special_hours[0].shifts[0]"},
	}
	for _, tt := range tests {
		cfg := base()
		tt.edit(&cfg)
		_, err := New(cfg)
		if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != tt.field {
			t.Errorf("%s: New = %v (field %q), want EINVALID on %q", tt.name, err, kizuna.ErrorField(err), tt.field)
		}
	}
}

func TestNewNormalisesShifts(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Weekly[time.Monday] = []Shift{{Clock(13, 0), Clock(18, 0)}, {Clock(9, 0), Clock(12, 0)}, {Clock(12, 0), Clock(12, 30)}}
	c := MustNew(cfg)
	got := c.Hours(Date{2026, 11, 30}).Shifts
	want := []Shift{{Clock(9, 0), Clock(12, 30)}, {Clock(13, 0), Clock(18, 0)}}
	if len(got) != 2 || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("shifts = %v, want sorted and touching ones joined %v", got, want)
	}
	// The Config keeps what the admin typed; editing the copy changes nothing.
	cc := c.Config()
	cc.Weekly[time.Monday][0].Start = 0
	if c.Config().Weekly[time.Monday][0].Start != Clock(13, 0) {
		t.Error("Config() must return a copy")
	}
}

func TestConfigJSONRoundTrip(t *testing.T) {
	cfg := splitJP.Config()
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	c := MustNew(back)
	for _, d := range []time.Time{jst("2026-12-26 11:00"), jst("2026-12-30 11:00"), jst("2026-11-23 11:00"), jst("2026-11-24 12:30")} {
		if c.IsOpen(d) != splitJP.IsOpen(d) {
			t.Errorf("round-tripped calendar differs at %s; json %s", d, b)
		}
	}
	var tod TimeOfDay
	if err := json.Unmarshal([]byte(`"25:00"`), &tod); err == nil {
		t.Error(`"25:00" must not parse`)
	}
}
