package calendar

import (
	"testing"
	"time"
)

// FuzzBusinessArithmetic checks the laws the SLA clock relies on, for any
// three instants t ≤ u ≤ v on any of the test calendars. The seed corpus
// runs in every `go test`; `go test -fuzz=FuzzBusinessArithmetic` explores.
func FuzzBusinessArithmetic(f *testing.F) {
	seeds := []struct {
		cal        uint8
		startMin   int64
		off1, off2 uint32
	}{
		{0, 0, 60, 60},
		{0, 3_500_000, 600, 6000},  // around Golden Week 2026
		{1, 3_600_000, 20_000, 17}, // year-end 2026 on the split calendar
		{2, 3_560_000, 1440, 2880}, // NY spring forward 2026
		{3, 3_900_000, 9000, 30},   // NY night shifts
		{4, 1, 0, 0},
		{5, 3_700_000, 90, 45_000},
		{1, 3_550_123, 777, 12_345},
	}
	for _, s := range seeds {
		f.Add(s.cal, s.startMin, s.off1, s.off2)
	}
	cals := []*Calendar{officeJP, splitJP, officeNY, nightNY, always, gapNY}
	base := time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, ci uint8, startMin int64, off1, off2 uint32) {
		c := cals[int(ci)%len(cals)]
		const span = 9 * 366 * 24 * 60 // 2019–2027, the years the holiday table is checked for
		m := startMin % span
		if m < 0 {
			m += span
		}
		// Seconds too, so nothing depends on minute alignment.
		tt := base.Add(time.Duration(m)*time.Minute + time.Duration(off2%60)*time.Second)
		u := tt.Add(time.Duration(off1%(60*24*60)) * time.Minute)
		v := u.Add(time.Duration(off2%(60*24*60)) * time.Minute)

		tu, uv, tv := c.BusinessBetween(tt, u), c.BusinessBetween(u, v), c.BusinessBetween(tt, v)
		if tu+uv != tv {
			t.Fatalf("not additive: B(t,u)=%s + B(u,v)=%s != B(t,v)=%s (t=%s u=%s v=%s)", tu, uv, tv, tt, u, v)
		}
		if tu < 0 || tu > u.Sub(tt) || tv < tu {
			t.Fatalf("not monotone/bounded: B(t,u)=%s B(t,v)=%s wall=%s", tu, tv, u.Sub(tt))
		}
		if back := c.BusinessBetween(u, tt); back != -tu {
			t.Fatalf("B(u,t)=%s, want %s", back, -tu)
		}
		next := c.NextOpen(u)
		if got := c.AddBusiness(tt, tu); !got.Equal(next) {
			t.Fatalf("AddBusiness(t, B(t,u)) = %s, want NextOpen(u) = %s (t=%s u=%s)", got, next, tt, u)
		}
		if c.IsOpen(u) && !next.Equal(u) {
			t.Fatalf("u=%s is open but NextOpen(u)=%s", u, next)
		}
		if !c.IsOpen(next) || next.Before(u) || c.BusinessBetween(u, next) != 0 {
			t.Fatalf("NextOpen(%s)=%s is not the first open instant", u, next)
		}
		d := time.Duration(off1%(3*24*60)) * time.Minute
		due := c.AddBusiness(tt, d)
		if got := c.BusinessBetween(tt, due); got != d {
			t.Fatalf("B(t, AddBusiness(t, %s)) = %s", d, got)
		}
		if d > 0 && !c.IsOpen(due) {
			t.Fatalf("AddBusiness(t, %s) = %s is not an open instant", d, due)
		}
		// Latest such instant: one second later, more business time has passed.
		if c.BusinessBetween(tt, due.Add(time.Second)) != d+time.Second {
			t.Fatalf("AddBusiness(t, %s) = %s is not the last instant with that much business time", d, due)
		}
	})
}
