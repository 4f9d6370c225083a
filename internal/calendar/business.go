package calendar

import (
	"iter"
	"time"
)

// Business-time arithmetic steps from one open interval to the next, never
// minute by minute. Building the intervals of a day costs O(S) for S shifts
// plus O(log C) for C closures and an O(1) holiday lookup, so every
// operation below is O(D·(S + log C)) where D is the number of calendar
// days the operation spans — a few microseconds for typical SLA targets of
// hours to days, and linear (not quadratic) for years.

// maxClosedDays stops a search for the next open interval. New guarantees
// business hours on some weekday and closures of at most a year, so a
// valid Calendar always opens well within this bound; it only guards
// against a bug looping forever.
const maxClosedDays = 3 * 366

// wallTime returns the instant the calendar's clock reads tod on day d.
// Where DST skips that reading (02:30 on a spring-forward night) it returns
// the transition instant, the first moment the clock reads tod or later, so
// shift boundaries stay in order. Where DST repeats it (01:30 on a
// fall-back night) it returns the first occurrence, which is what time.Date
// does.
func (c *Calendar) wallTime(d Date, tod TimeOfDay) time.Time {
	t := time.Date(d.Year, d.Month, d.Day, int(tod)/60, int(tod)%60, 0, 0, c.loc)
	want := NewDate(d.Year, d.Month, d.Day+int(tod)/1440)
	h, m := (int(tod)%1440)/60, int(tod)%60
	if DateOf(t) == want && t.Hour() == h && t.Minute() == m {
		return t
	}
	// In a gap: time.Date normalised with one of the two offsets. The
	// transition is the zone boundary next to t.
	start, end := t.ZoneBounds()
	if wallBefore(t, want, h, m) {
		return end
	}
	return start
}

func wallBefore(t time.Time, d Date, h, m int) bool {
	if td := DateOf(t); td != d {
		return td.Before(d)
	}
	return t.Hour()*60+t.Minute() < h*60+m
}

// dayIntervals returns the open intervals of day d as instants, in order,
// non-empty and non-overlapping.
func (c *Calendar) dayIntervals(d Date, buf [][2]time.Time) [][2]time.Time {
	buf = buf[:0]
	for _, s := range c.shifts(d) {
		a, b := c.wallTime(d, s.Start), c.wallTime(d, s.End)
		if n := len(buf); n > 0 && a.Before(buf[n-1][1]) {
			a = buf[n-1][1] // DST squeezed two shifts together
		}
		if a.Before(b) {
			buf = append(buf, [2]time.Time{a, b})
		}
	}
	return buf
}

// intervals yields the open intervals [start, end) that end after from, in
// order, the first one clipped to begin no earlier than from. Adjacent
// intervals (a shift to 24:00 followed by one from 00:00) are yielded
// separately; callers never need them merged.
func (c *Calendar) intervals(from time.Time) iter.Seq2[time.Time, time.Time] {
	return func(yield func(time.Time, time.Time) bool) {
		from = from.In(c.loc) // also drops the monotonic reading
		// Start a day early: on a night when DST falls back across midnight
		// the local date of from can lag the day whose shifts contain it.
		d := DateOf(from).AddDays(-1)
		var buf [][2]time.Time
		closed := 0
		for closed < maxClosedDays {
			buf = c.dayIntervals(d, buf)
			found := false
			for _, iv := range buf {
				if !iv[1].After(from) {
					continue
				}
				found = true
				a := iv[0]
				if a.Before(from) {
					a = from
				}
				if !yield(a, iv[1]) {
					return
				}
			}
			if found {
				closed = 0
			} else {
				closed++
			}
			d = d.AddDays(1)
		}
	}
}

// IsOpen reports whether the desk is open at instant t.
func (c *Calendar) IsOpen(t time.Time) bool {
	for a := range c.intervals(t) {
		return !a.After(t)
	}
	return false
}

// NextOpen returns t if the desk is open at t, otherwise the instant it
// next opens.
func (c *Calendar) NextOpen(t time.Time) time.Time {
	for a := range c.intervals(t) {
		return a
	}
	return time.Time{}
}

// BusinessBetween returns the open time between a and b. It is negative
// when b is before a, so that it is additive for any three instants:
// BusinessBetween(a, c) == BusinessBetween(a, b) + BusinessBetween(b, c).
func (c *Calendar) BusinessBetween(a, b time.Time) time.Duration {
	if b.Before(a) {
		return -c.BusinessBetween(b, a)
	}
	var sum time.Duration
	for s, e := range c.intervals(a) {
		if !s.Before(b) {
			break
		}
		if e.After(b) {
			e = b
		}
		sum += e.Sub(s)
	}
	return sum
}

// AddBusiness returns the instant at which d of business time has passed
// since t. Precisely: the latest instant u with BusinessBetween(t, u) == d.
// When d runs out exactly at closing time that is the next opening, not the
// closing time itself: no business time passes in between, and the moment
// after it is the first at which more than d has passed. Hence
// AddBusiness(t, BusinessBetween(t, u)) == NextOpen(u) for every u after t,
// and AddBusiness(t, 0) == NextOpen(t). A negative d counts as 0.
func (c *Calendar) AddBusiness(t time.Time, d time.Duration) time.Time {
	if d < 0 {
		d = 0
	}
	for s, e := range c.intervals(t) {
		if avail := e.Sub(s); avail > d {
			return s.Add(d)
		} else {
			d -= avail
		}
	}
	return time.Time{}
}
