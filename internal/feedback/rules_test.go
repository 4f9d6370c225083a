package feedback

import (
	"encoding/json"
	"testing"
	"time"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestQuietUntil(t *testing.T) {
	tokyo := mustZone(t, "Asia/Tokyo")
	ny := mustZone(t, "America/New_York")
	berlin := mustZone(t, "Europe/Berlin")
	r := DefaultContactRules() // 21:00–09:00, default zone Asia/Tokyo
	cases := []struct {
		name  string
		rules ContactRules
		tz    string
		now   time.Time
		quiet bool
		until time.Time
	}{
		{"tokyo afternoon", r, "Asia/Tokyo", time.Date(2026, 3, 2, 14, 0, 0, 0, tokyo), false, time.Time{}},
		{"tokyo 21:00 sharp", r, "Asia/Tokyo", time.Date(2026, 3, 2, 21, 0, 0, 0, tokyo), true, time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo)},
		{"tokyo 23:30", r, "Asia/Tokyo", time.Date(2026, 3, 2, 23, 30, 0, 0, tokyo), true, time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo)},
		{"tokyo 03:00", r, "Asia/Tokyo", time.Date(2026, 3, 3, 3, 0, 0, 0, tokyo), true, time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo)},
		{"tokyo 09:00 sharp", r, "Asia/Tokyo", time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo), false, time.Time{}},
		{"month end", r, "Asia/Tokyo", time.Date(2026, 1, 31, 22, 0, 0, 0, tokyo), true, time.Date(2026, 2, 1, 9, 0, 0, 0, tokyo)},
		// 16:00 UTC is 01:00 in Tokyo (quiet) and 11:00 in New York (not).
		{"customer zone wins", r, "America/New_York", time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC), false, time.Time{}},
		{"default zone when unknown", r, "Mars/Base", time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo)},
		{"default zone when empty", r, "", time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC), true, time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo)},
		// US spring forward 2026-03-08 02:00 → 03:00: 22:00 EST to 09:00 EDT is 10 hours.
		{"new york spring forward", r, "America/New_York", time.Date(2026, 3, 7, 22, 0, 0, 0, ny), true, time.Date(2026, 3, 8, 9, 0, 0, 0, ny)},
		// US fall back 2026-11-01: 22:00 EDT to 09:00 EST is 12 hours.
		{"new york fall back", r, "America/New_York", time.Date(2026, 10, 31, 22, 0, 0, 0, ny), true, time.Date(2026, 11, 1, 9, 0, 0, 0, ny)},
		// Quiet hours ending inside the skipped hour (02:30 does not exist
		// on 2026-03-29 in Berlin) end at the first instant after it.
		{"end in skipped hour", ContactRules{QuietStart: "22:00", QuietEnd: "02:30", TimeZone: "Europe/Berlin"}, "Europe/Berlin",
			time.Date(2026, 3, 28, 23, 0, 0, 0, berlin), true, time.Date(2026, 3, 29, 3, 30, 0, 0, berlin)},
		{"same-day window", ContactRules{QuietStart: "12:00", QuietEnd: "13:00", TimeZone: "UTC"}, "Asia/Tokyo",
			time.Date(2026, 3, 2, 12, 30, 0, 0, tokyo), true, time.Date(2026, 3, 2, 13, 0, 0, 0, tokyo)},
		{"same-day window outside", ContactRules{QuietStart: "12:00", QuietEnd: "13:00", TimeZone: "UTC"}, "Asia/Tokyo",
			time.Date(2026, 3, 2, 13, 0, 0, 0, tokyo), false, time.Time{}},
		{"no quiet hours", ContactRules{TimeZone: "UTC"}, "Asia/Tokyo", time.Date(2026, 3, 2, 23, 0, 0, 0, tokyo), false, time.Time{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			until, quiet := QuietUntil(c.rules, c.tz, c.now)
			if quiet != c.quiet || !until.Equal(c.until) {
				t.Fatalf("got %v %v, want %v %v", quiet, until, c.quiet, c.until)
			}
		})
	}
	// The DST cases really cross the change: the waits differ from 11 h.
	if d := time.Date(2026, 3, 8, 9, 0, 0, 0, ny).Sub(time.Date(2026, 3, 7, 22, 0, 0, 0, ny)); d != 10*time.Hour {
		t.Fatalf("spring forward wait %v", d)
	}
	if d := time.Date(2026, 11, 1, 9, 0, 0, 0, ny).Sub(time.Date(2026, 10, 31, 22, 0, 0, 0, ny)); d != 12*time.Hour {
		t.Fatalf("fall back wait %v", d)
	}
}

func TestDecide(t *testing.T) {
	tokyo := mustZone(t, "Asia/Tokyo")
	noon := time.Date(2026, 3, 2, 12, 0, 0, 0, tokyo)
	r := DefaultContactRules()
	ago := func(d time.Duration) *time.Time { x := noon.Add(-d); return &x }
	base := func() ContactState {
		return ContactState{Now: noon, SurveyID: 1, CustomerID: 1, Channel: ChannelEmail, SurveyLive: true,
			CustomerFound: true, Email: "a@example.com", TimeZone: "Asia/Tokyo"}
	}
	day := 24 * time.Hour
	cases := []struct {
		name  string
		rules ContactRules
		edit  func(*ContactState)
		want  Decision
	}{
		{"send", r, func(*ContactState) {}, Decision{Send: true}},
		{"survey closed", r, func(s *ContactState) { s.SurveyLive = false; s.Unsubscribed = true }, Decision{Skip: SkipSurveyClosed}},
		{"unsubscribed", r, func(s *ContactState) { s.Unsubscribed = true }, Decision{Skip: SkipUnsubscribed}},
		{"no email", r, func(s *ContactState) { s.Email = "" }, Decision{Skip: SkipNoEmail}},
		{"no email is fine for a link", r, func(s *ContactState) { s.Email = ""; s.Channel = ChannelLink }, Decision{Send: true}},
		{"open complaint", r, func(s *ContactState) { s.OpenComplaint = true }, Decision{Skip: SkipOpenComplaint}},
		{"cooldown", r, func(s *ContactState) { s.LastInvitedAt = ago(29 * day) }, Decision{Skip: SkipCooldown}},
		{"cooldown over", r, func(s *ContactState) { s.LastInvitedAt = ago(30 * day) }, Decision{Send: true}},
		{"cooldown off", ContactRules{NoCooldown: true, SamplePercent: 100, TimeZone: "UTC"},
			func(s *ContactState) { s.LastInvitedAt = ago(time.Hour) }, Decision{Send: true}},
		{"max per period", r, func(s *ContactState) { s.InvitedInPeriod = 3; s.LastInvitedAt = ago(40 * day) }, Decision{Skip: SkipMaxPerPeriod}},
		{"under max", r, func(s *ContactState) { s.InvitedInPeriod = 2; s.LastInvitedAt = ago(40 * day) }, Decision{Send: true}},
		{"quiet hours defer", r, func(s *ContactState) { s.Now = noon.Add(10 * time.Hour) },
			Decision{DeferUntil: time.Date(2026, 3, 3, 9, 0, 0, 0, tokyo)}},
		{"skip beats quiet hours", r, func(s *ContactState) { s.Now = noon.Add(10 * time.Hour); s.OpenComplaint = true },
			Decision{Skip: SkipOpenComplaint}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := base()
			c.edit(&st)
			got := Decide(c.rules, st)
			if got.Send != c.want.Send || got.Skip != c.want.Skip || !got.DeferUntil.Equal(c.want.DeferUntil) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestInSample(t *testing.T) {
	in := 0
	for c := int64(1); c <= 20000; c++ {
		a := InSample(7, c, 25)
		if a != InSample(7, c, 25) {
			t.Fatal("sampling is not stable")
		}
		if a {
			in++
		}
	}
	// 25% of 20,000 = 5,000; binomial sd ≈ 61, so ±300 is ~5 sd.
	if in < 4700 || in > 5300 {
		t.Fatalf("25%% sample took %d of 20000", in)
	}
	// A customer in a 10% sample is in every larger sample of the survey.
	for c := int64(1); c <= 2000; c++ {
		if InSample(3, c, 10) && !InSample(3, c, 50) {
			t.Fatalf("customer %d in the 10%% sample but not the 50%%", c)
		}
	}
	if !InSample(1, 1, 100) || InSample(1, 1, 0) {
		t.Fatal("bounds")
	}
}

func TestContactRulesCheck(t *testing.T) {
	ok := DefaultContactRules()
	if err := ok.Check(); err != nil {
		t.Fatal(err)
	}
	for field, edit := range map[string]func(*ContactRules){
		"cooldown_days":  func(r *ContactRules) { r.CooldownDays = -1 },
		"sample_percent": func(r *ContactRules) { r.SamplePercent = 0 },
		"quiet_start":    func(r *ContactRules) { r.QuietStart = "25:00" },
		"quiet_end":      func(r *ContactRules) { r.QuietEnd = "" },
		"time_zone":      func(r *ContactRules) { r.TimeZone = "Tokyo" },
		"period_days":    func(r *ContactRules) { r.PeriodDays = 0 },
	} {
		r := DefaultContactRules()
		edit(&r)
		if err := r.Check(); err == nil || errField(err) != field {
			t.Errorf("%s: got %v", field, err)
		}
	}
}

func TestMatches(t *testing.T) {
	var props map[string]any
	if err := json.Unmarshal([]byte(`{"revenue": 120.5, "currency": "JPY", "shipping": {"method": "express"}, "coupon": null}`), &props); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		conds []PropertyCondition
		want  bool
	}{
		{nil, true},
		{[]PropertyCondition{{Property: "currency", Op: "eq", Value: "JPY"}}, true},
		{[]PropertyCondition{{Property: "currency", Op: "eq", Value: "USD"}}, false},
		{[]PropertyCondition{{Property: "currency", Op: "ne", Value: "USD"}}, true},
		{[]PropertyCondition{{Property: "missing", Op: "ne", Value: "USD"}}, true},
		{[]PropertyCondition{{Property: "revenue", Op: "gte", Value: 100.0}}, true},
		{[]PropertyCondition{{Property: "revenue", Op: "lt", Value: 100.0}}, false},
		{[]PropertyCondition{{Property: "currency", Op: "gt", Value: 1.0}}, false},
		{[]PropertyCondition{{Property: "shipping.method", Op: "in", Values: []any{"express", "next_day"}}}, true},
		{[]PropertyCondition{{Property: "shipping.method.x", Op: "exists"}}, false},
		{[]PropertyCondition{{Property: "coupon", Op: "exists"}}, false},
		{[]PropertyCondition{{Property: "revenue", Op: "eq", Value: 120.5}, {Property: "currency", Op: "eq", Value: "USD"}}, false},
	}
	for i, c := range cases {
		if got := Matches(c.conds, props); got != c.want {
			t.Errorf("case %d %+v: got %v", i, c.conds, got)
		}
	}
}
