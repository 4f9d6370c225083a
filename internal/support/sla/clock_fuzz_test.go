package sla

import (
	"testing"
	"time"
)

// timelineFrom decodes fuzz bytes into a ticket history: each pair of bytes
// is (what happened, minutes since the previous event × 7).
func timelineFrom(created time.Time, data []byte) Timeline {
	tl := Timeline{CreatedAt: created}
	at := created
	statuses := []Status{Open, Pending, OnHold, Solved, Closed, New}
	for i := 0; i+1 < len(data) && len(tl.Events) < 40; i += 2 {
		at = at.Add(time.Duration(data[i+1]) * 7 * time.Minute)
		switch k := data[i] % 8; {
		case k < 6:
			tl.Events = append(tl.Events, status(at, statuses[k]))
		case k == 6:
			tl.Events = append(tl.Events, agent(at))
		default:
			tl.Events = append(tl.Events, customer(at))
		}
	}
	return tl
}

// FuzzEvaluate checks the bookkeeping of every clock against the calendar
// for arbitrary histories: elapsed and paused time never exceed the time
// that passed, a running clock's remaining time is exactly the business
// time from now to its due time, pauses move the due time by exactly their
// length, breaches and warnings are consistent, and time only moves
// forward (a later now never shows less elapsed time).
func FuzzEvaluate(f *testing.F) {
	f.Add(uint8(0), uint32(0), []byte{1, 10, 6, 20, 7, 30, 3, 50, 7, 200, 0, 1})
	f.Add(uint8(1), uint32(5000), []byte{2, 100, 0, 100, 6, 3, 7, 255, 6, 255, 3, 1, 4, 9})
	f.Add(uint8(2), uint32(120000), []byte{7, 1, 7, 1, 6, 1, 1, 90, 1, 90})
	f.Add(uint8(3), uint32(77777), []byte{})
	policies := []*Policy{basePol, holdPol, yearEndPol, nyPol}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, pi uint8, startMin uint32, data []byte) {
		p := policies[int(pi)%len(policies)]
		created := base.Add(time.Duration(startMin%(2*366*24*60)) * time.Minute)
		tl := timelineFrom(created, data)
		tl.Priority = []string{"", "urgent"}[int(pi/4)%2]
		var last []TargetStatus
		for _, hours := range []int{1, 30, 200, 2000} {
			now := created.Add(time.Duration(hours) * time.Hour)
			sts := Evaluate(p, tl, now)
			for i, s := range sts {
				between := func(a, b time.Time) time.Duration {
					if s.Target.Measure == CalendarTime {
						return b.Sub(a)
					}
					return p.calendar().BusinessBetween(a, b)
				}
				target := s.Target.Duration()
				if s.Elapsed < 0 || s.PausedFor < 0 || s.Elapsed+s.PausedFor > between(s.StartedAt, now) {
					t.Fatalf("%+v: elapsed+paused exceed the time that passed", s)
				}
				if s.Remaining != target-s.Elapsed {
					t.Fatalf("%+v: remaining != target − elapsed", s)
				}
				if s.Breached() != (s.Elapsed > target) || (s.Breached() && !s.BreachedAt.Equal(s.DueAt)) {
					t.Fatalf("%+v: breach inconsistent", s)
				}
				if !s.WarnAt.IsZero() && s.WarnAt.After(s.DueAt) {
					t.Fatalf("%+v: warning after due", s)
				}
				if !s.Breached() && s.State != Stopped {
					// Forecast from now: exactly the remaining time.
					if got := between(now, s.DueAt); got != s.Remaining {
						t.Fatalf("%+v: business time to due = %s, remaining = %s", s, got, s.Remaining)
					}
				}
				if s.Target.Metric != Resolution && !s.Breached() && s.State != Stopped {
					// Response clocks only run or pause: the due time is the
					// target pushed out by exactly the pauses.
					if got := between(s.StartedAt, s.DueAt); got != target+s.PausedFor {
						t.Fatalf("%+v: due is %s after start, want target %s + paused %s", s, got, target, s.PausedFor)
					}
				}
				if last != nil && len(last) <= len(sts) && i < len(last) && last[i].Target == s.Target && last[i].Cycle == s.Cycle {
					if s.Elapsed < last[i].Elapsed || (last[i].Breached() && !s.BreachedAt.Equal(last[i].BreachedAt)) {
						t.Fatalf("time went backwards: %+v then %+v", last[i], s)
					}
				}
			}
			last = sts
		}
	})
}
