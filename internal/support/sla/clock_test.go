package sla

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/calendar"
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

func at(loc *time.Location, s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		panic(err)
	}
	return t
}

func jst(s string) time.Time { return at(tokyo, s) }
func nyc(s string) time.Time { return at(newYork, s) }

func status(at time.Time, s Status) Event { return Event{At: at, Kind: StatusChanged, Status: s} }
func agent(at time.Time) Event            { return Event{At: at, Kind: AgentReplied} }
func customer(at time.Time) Event         { return Event{At: at, Kind: CustomerReplied} }

func biz(m Metric, minutes int) Target {
	return Target{Metric: m, Minutes: minutes, Measure: BusinessTime}
}
func wall(m Metric, minutes int) Target {
	return Target{Metric: m, Minutes: minutes, Measure: CalendarTime}
}

// rules: normal tickets get 4h first response, 8h next response, 3 business
// days (27h) resolution; urgent 1h and 8 calendar hours; complaints 30
// minutes; urgent complaints 15 calendar minutes.
var rules = []Rule{
	{Targets: []Target{biz(FirstResponse, 240), biz(NextResponse, 480), biz(Resolution, 1620)}},
	{Priority: "urgent", Targets: []Target{biz(FirstResponse, 60), wall(Resolution, 480)}},
	{Category: "complaint", Targets: []Target{biz(FirstResponse, 30)}},
	{Priority: "urgent", Category: "complaint", Targets: []Target{wall(FirstResponse, 15)}},
}

var (
	officeJP  = calendar.MustNew(calendar.DefaultConfig())
	basePol   = &Policy{Name: "標準", Calendar: officeJP, Warning: Warning{Percent: 75}, Rules: rules}
	holdPol   = &Policy{Name: "保留も停止", Calendar: officeJP, PauseOnHold: true, Warning: Warning{Percent: 75}, Rules: rules}
	nilCalPol = &Policy{Name: "既定カレンダー", Warning: Warning{Percent: 75}, Rules: rules}
	yearEnd   = func() *calendar.Calendar {
		cfg := calendar.DefaultConfig()
		cfg.AnnualClosures = []calendar.AnnualClosure{{From: calendar.MonthDay{Month: 12, Day: 29}, To: calendar.MonthDay{Month: 1, Day: 3}, Name: "年末年始"}}
		return calendar.MustNew(cfg)
	}()
	yearEndPol = &Policy{Calendar: yearEnd, Warning: Warning{Percent: 75}, Rules: rules}
	officeNY   = func() *calendar.Calendar {
		cfg := calendar.Config{TimeZone: "America/New_York"}
		for wd := time.Monday; wd <= time.Friday; wd++ {
			cfg.Weekly[wd] = []calendar.Shift{{Start: calendar.Clock(9, 0), End: calendar.Clock(17, 0)}}
		}
		return calendar.MustNew(cfg)
	}()
	nyPol = &Policy{Calendar: officeNY, Warning: Warning{Percent: 75}, Rules: []Rule{
		{Targets: []Target{biz(FirstResponse, 240), biz(Resolution, 1620)}},
		{Priority: "urgent", Targets: []Target{biz(FirstResponse, 60), wall(Resolution, 1440)}},
	}}
)

func fmtT(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	if t.Second() != 0 {
		return t.Format("2006-01-02 15:04:05")
	}
	return t.Format("2006-01-02 15:04")
}

// summary is one line per target, easy to check by hand against a calendar.
func summary(st []TargetStatus) string {
	var b strings.Builder
	for _, s := range st {
		fmt.Fprintf(&b, "%s#%d %s elapsed=%s paused=%s due=%s warned=%s breached=%s\n",
			s.Target.Metric, s.Cycle, s.State, s.Elapsed, s.PausedFor, fmtT(s.DueAt), fmtT(s.WarnedAt), fmtT(s.BreachedAt))
	}
	return b.String()
}

func TestEvaluate(t *testing.T) {
	tests := []struct {
		name   string
		policy *Policy
		tl     Timeline
		now    time.Time
		want   string
	}{
		{
			name: "fresh ticket, Tuesday morning",
			tl:   Timeline{CreatedAt: jst("2026-11-24 10:00")},
			now:  jst("2026-11-24 11:00"),
			want: `
first_response#1 running elapsed=1h0m0s paused=0s due=2026-11-24 14:00 warned=- breached=-
resolution#1 running elapsed=1h0m0s paused=0s due=2026-11-27 10:00 warned=- breached=-`,
		},
		{
			name: "Friday evening over a weekend and Labour Thanksgiving Monday, warned",
			tl:   Timeline{CreatedAt: jst("2026-11-20 17:00")},
			now:  jst("2026-11-24 11:30"),
			want: `
first_response#1 running elapsed=3h30m0s paused=0s due=2026-11-24 12:00 warned=2026-11-24 11:00 breached=-
resolution#1 running elapsed=3h30m0s paused=0s due=2026-11-26 17:00 warned=- breached=-`,
		},
		{
			name: "replied after the warning, before the breach",
			tl:   Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{agent(jst("2026-11-24 13:30"))}},
			now:  jst("2026-11-24 15:00"),
			want: `
first_response#1 stopped elapsed=3h30m0s paused=0s due=2026-11-24 14:00 warned=2026-11-24 13:00 breached=-
resolution#1 running elapsed=5h0m0s paused=0s due=2026-11-27 10:00 warned=- breached=-`,
		},
		{
			name: "replied the next morning: breached",
			tl:   Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{agent(jst("2026-11-25 09:30"))}},
			now:  jst("2026-11-25 10:00"),
			want: `
first_response#1 stopped elapsed=8h30m0s paused=0s due=2026-11-24 14:00 warned=2026-11-24 13:00 breached=2026-11-24 14:00
resolution#1 running elapsed=9h0m0s paused=0s due=2026-11-27 10:00 warned=- breached=-`,
		},
		{
			name: "pending for three hours shifts the due times by three hours",
			tl: Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{
				status(jst("2026-11-24 11:00"), Pending), status(jst("2026-11-24 14:00"), Open)}},
			now: jst("2026-11-24 16:30"),
			want: `
first_response#1 running elapsed=3h30m0s paused=3h0m0s due=2026-11-24 17:00 warned=2026-11-24 16:00 breached=-
resolution#1 running elapsed=3h30m0s paused=3h0m0s due=2026-11-27 13:00 warned=- breached=-`,
		},
		{
			name: "pending now: paused, due if resumed now",
			tl:   Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{status(jst("2026-11-24 11:00"), Pending)}},
			now:  jst("2026-11-24 16:00"),
			want: `
first_response#1 paused elapsed=1h0m0s paused=5h0m0s due=2026-11-25 10:00 warned=- breached=-
resolution#1 paused elapsed=1h0m0s paused=5h0m0s due=2026-11-27 15:00 warned=- breached=-`,
		},
		{
			name: "on-hold keeps the clock running by default",
			tl:   Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{status(jst("2026-11-24 11:00"), OnHold)}},
			now:  jst("2026-11-24 16:00"),
			want: `
first_response#1 running elapsed=6h0m0s paused=0s due=2026-11-24 14:00 warned=2026-11-24 13:00 breached=2026-11-24 14:00
resolution#1 running elapsed=6h0m0s paused=0s due=2026-11-27 10:00 warned=- breached=-`,
		},
		{
			name:   "on-hold pauses when the policy says so",
			policy: holdPol,
			tl:     Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{status(jst("2026-11-24 11:00"), OnHold)}},
			now:    jst("2026-11-24 16:00"),
			want: `
first_response#1 paused elapsed=1h0m0s paused=5h0m0s due=2026-11-25 10:00 warned=- breached=-
resolution#1 paused elapsed=1h0m0s paused=5h0m0s due=2026-11-27 15:00 warned=- breached=-`,
		},
		{
			name: "reopened by the customer: resolution resumes, a next-response cycle runs",
			tl: Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{
				agent(jst("2026-11-24 10:30")), status(jst("2026-11-24 12:00"), Solved),
				customer(jst("2026-11-26 10:00")), status(jst("2026-11-26 10:00"), Open),
				agent(jst("2026-11-26 11:00"))}},
			now: jst("2026-11-26 11:30"),
			want: `
first_response#1 stopped elapsed=30m0s paused=0s due=2026-11-24 14:00 warned=- breached=-
next_response#1 stopped elapsed=1h0m0s paused=0s due=2026-11-27 09:00 warned=- breached=-
resolution#1 running elapsed=3h30m0s paused=0s due=2026-11-30 17:00 warned=- breached=-`,
		},
		{
			name: "solved again: resolution stopped, time while solved not counted",
			tl: Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{
				agent(jst("2026-11-24 10:30")), status(jst("2026-11-24 12:00"), Solved),
				customer(jst("2026-11-26 10:00")), status(jst("2026-11-26 10:00"), Open),
				agent(jst("2026-11-26 11:00")), status(jst("2026-11-26 12:00"), Solved),
				status(jst("2026-11-27 09:00"), Closed)}},
			now: jst("2026-11-27 10:00"),
			want: `
first_response#1 stopped elapsed=30m0s paused=0s due=2026-11-24 14:00 warned=- breached=-
next_response#1 stopped elapsed=1h0m0s paused=0s due=2026-11-27 09:00 warned=- breached=-
resolution#1 stopped elapsed=4h0m0s paused=0s due=2026-11-30 17:00 warned=- breached=-`,
		},
		{
			name: "Golden Week: 5/2–5/6 do not count",
			tl:   Timeline{CreatedAt: jst("2026-05-01 16:00")},
			now:  jst("2026-05-07 10:30"),
			want: `
first_response#1 running elapsed=3h30m0s paused=0s due=2026-05-07 11:00 warned=2026-05-07 10:00 breached=-
resolution#1 running elapsed=3h30m0s paused=0s due=2026-05-11 16:00 warned=- breached=-`,
		},
		{
			name:   "year-end closure",
			policy: yearEndPol,
			tl:     Timeline{CreatedAt: jst("2026-12-28 17:00")},
			now:    jst("2027-01-04 10:00"),
			want: `
first_response#1 running elapsed=2h0m0s paused=0s due=2027-01-04 12:00 warned=- breached=-
resolution#1 running elapsed=2h0m0s paused=0s due=2027-01-06 17:00 warned=- breached=-`,
		},
		{
			name: "urgent complaint at night: calendar minutes, breached before anyone is in",
			tl:   Timeline{CreatedAt: jst("2026-11-21 23:50"), Priority: "urgent", Category: "complaint"},
			now:  jst("2026-11-22 00:10"),
			want: `
first_response#1 running elapsed=20m0s paused=0s due=2026-11-22 00:05 warned=2026-11-22 00:01:15 breached=2026-11-22 00:05
resolution#1 running elapsed=20m0s paused=0s due=2026-11-22 07:50 warned=- breached=-`,
		},
		{
			name: "complaint on normal priority: 30 business minutes",
			tl:   Timeline{CreatedAt: jst("2026-11-24 17:50"), Category: "complaint"},
			now:  jst("2026-11-25 09:05"),
			want: `
first_response#1 running elapsed=15m0s paused=0s due=2026-11-25 09:20 warned=- breached=-
resolution#1 running elapsed=15m0s paused=0s due=2026-11-27 17:50 warned=- breached=-`,
		},
		{
			name:   "New York, over the spring-forward weekend",
			policy: nyPol,
			tl:     Timeline{CreatedAt: nyc("2026-03-06 16:00")},
			now:    nyc("2026-03-09 10:00"),
			want: `
first_response#1 running elapsed=2h0m0s paused=0s due=2026-03-09 12:00 warned=- breached=-
resolution#1 running elapsed=2h0m0s paused=0s due=2026-03-12 11:00 warned=- breached=-`,
		},
		{
			name:   "New York, 24 calendar hours across spring forward are 24 real hours",
			policy: nyPol,
			tl:     Timeline{CreatedAt: nyc("2026-03-07 12:00"), Priority: "urgent"},
			now:    nyc("2026-03-08 12:00"),
			want: `
first_response#1 running elapsed=0s paused=0s due=2026-03-09 10:00 warned=- breached=-
resolution#1 running elapsed=23h0m0s paused=0s due=2026-03-08 13:00 warned=2026-03-08 07:00 breached=-`, // 18 real hours after 12:00 EST is 07:00 EDT
		},
		{
			name: "next-response cycles start at the oldest unanswered message",
			tl: Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{
				customer(jst("2026-11-24 10:10")), // before the first response: part of it
				agent(jst("2026-11-24 10:30")),
				customer(jst("2026-11-24 11:00")), customer(jst("2026-11-24 11:20")),
				agent(jst("2026-11-24 12:00")),
				customer(jst("2026-11-25 17:00"))}},
			now: jst("2026-11-26 10:00"),
			want: `
first_response#1 stopped elapsed=30m0s paused=0s due=2026-11-24 14:00 warned=- breached=-
next_response#1 stopped elapsed=1h0m0s paused=0s due=2026-11-25 10:00 warned=- breached=-
next_response#2 running elapsed=2h0m0s paused=0s due=2026-11-26 16:00 warned=- breached=-
resolution#1 running elapsed=18h0m0s paused=0s due=2026-11-27 10:00 warned=- breached=-`,
		},
		{
			name:   "events out of order and in the future; nil calendar is the JP office default",
			policy: nilCalPol,
			tl: Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{
				status(jst("2026-11-24 16:00"), Solved), // after now: not yet happened
				agent(jst("2026-11-24 13:30")),
				status(jst("2026-11-24 13:00"), Open),
				status(jst("2026-11-24 12:00"), Pending)}},
			now: jst("2026-11-24 15:00"),
			want: `
first_response#1 stopped elapsed=2h30m0s paused=1h0m0s due=2026-11-24 15:00 warned=- breached=-
resolution#1 running elapsed=4h0m0s paused=1h0m0s due=2026-11-27 11:00 warned=- breached=-`,
		},
		{
			name: "solved without a reply fulfils the first response",
			tl:   Timeline{CreatedAt: jst("2026-11-24 10:00"), Events: []Event{status(jst("2026-11-24 10:20"), Solved)}},
			now:  jst("2026-11-25 10:00"),
			want: `
first_response#1 stopped elapsed=20m0s paused=0s due=2026-11-24 14:00 warned=- breached=-
resolution#1 stopped elapsed=20m0s paused=0s due=2026-11-27 10:00 warned=- breached=-`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.policy
			if p == nil {
				p = basePol
			}
			if err := p.Validate(); err != nil {
				t.Fatal(err)
			}
			got := strings.TrimSpace(summary(Evaluate(p, tt.tl, tt.now)))
			if want := strings.TrimSpace(tt.want); got != want {
				t.Errorf("got:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
