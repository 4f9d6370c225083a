package sla

import (
	"slices"
	"time"

	"github.com/kizuna-oss/kizuna/internal/calendar"
)

// Status is a ticket's status.
type Status string

const (
	New     Status = "new"
	Open    Status = "open"
	Pending Status = "pending" // waiting for the customer: clocks pause
	OnHold  Status = "on-hold" // waiting for a third party: clocks pause if the policy says so
	Solved  Status = "solved"
	Closed  Status = "closed"
)

// EventKind is the kind of a timeline event.
type EventKind string

const (
	StatusChanged   EventKind = "status"         // Event.Status is the new status
	AgentReplied    EventKind = "agent_reply"    // a public reply by an agent (internal notes are not replies)
	CustomerReplied EventKind = "customer_reply" // a message from the customer
)

// Event is one thing that happened to a ticket.
type Event struct {
	At     time.Time `json:"at"`
	Kind   EventKind `json:"kind"`
	Status Status    `json:"status,omitempty"`
}

// Timeline is what the clock needs to know about a ticket. The ticket is
// New at CreatedAt. Events may come in any order; events at the same
// instant keep their order.
type Timeline struct {
	CreatedAt time.Time `json:"created_at"`
	Priority  string    `json:"priority"`
	Category  string    `json:"category"`
	Events    []Event   `json:"events"`
}

// State is where a target's clock stands.
type State string

const (
	Running State = "running"
	Paused  State = "paused"
	Stopped State = "stopped" // replied to, or solved; a reopen resumes resolution
)

// TargetStatus is one target's clock for one ticket at one instant.
//
// Durations are measured on the target's measure: business time on the
// policy's calendar, or plain elapsed time for calendar targets. Instants
// are in the calendar's time zone.
type TargetStatus struct {
	Target Target `json:"target"`
	// Cycle numbers the next-response waits of a ticket from 1; it is 1 for
	// the other metrics.
	Cycle     int       `json:"cycle"`
	State     State     `json:"state"`
	StartedAt time.Time `json:"started_at"`
	// StoppedAt is when the clock last stopped (the reply, the solve); zero
	// while it can still run.
	StoppedAt time.Time     `json:"stopped_at,omitzero"`
	Elapsed   time.Duration `json:"elapsed"`
	// Remaining is the target minus Elapsed: negative once breached.
	Remaining time.Duration `json:"remaining"`
	// PausedFor is the measured time the clock spent paused; DueAt has
	// moved later by exactly this much measured time.
	PausedFor time.Duration `json:"paused_for"`
	// DueAt is the last instant at which the target is still met. While the
	// clock runs it is a forecast; while it is paused, the forecast if it
	// resumed now; after it stopped within target, where it would have run
	// out.
	DueAt time.Time `json:"due_at"`
	// WarnAt is when the warning threshold is (or would be) crossed; zero
	// when the policy has no warning.
	WarnAt time.Time `json:"warn_at,omitzero"`
	// WarnedAt and BreachedAt are set once the clock has run past WarnAt
	// and DueAt: this is the warning and the breach record.
	WarnedAt   time.Time `json:"warned_at,omitzero"`
	BreachedAt time.Time `json:"breached_at,omitzero"`
}

// Breached reports whether the target was missed.
func (s TargetStatus) Breached() bool { return !s.BreachedAt.IsZero() }

// Warned reports whether the warning threshold was crossed.
func (s TargetStatus) Warned() bool { return !s.WarnedAt.IsZero() }

// Met reports whether the clock stopped within the target.
func (s TargetStatus) Met() bool { return s.State == Stopped && !s.Breached() }

// Evaluate runs every target of p that applies to the ticket over its
// timeline up to now, and returns their states in the order first response,
// next-response cycles (oldest first), resolution. Events after now are
// ignored, events before CreatedAt count as at CreatedAt. A timeline
// without CreatedAt has no clocks.
//
// Cost: O(E log E) to order E events, then for each clock O(E + D·S) where
// D is the number of calendar days it spans and S the shifts per day — the
// calendar arithmetic steps over open intervals, never over minutes.
func Evaluate(p *Policy, tl Timeline, now time.Time) []TargetStatus {
	targets := p.TargetsFor(tl.Priority, tl.Category)
	if len(targets) == 0 || tl.CreatedAt.IsZero() {
		return nil
	}
	e := newEvaluation(p, tl, now)
	var out []TargetStatus
	for _, t := range targets {
		switch t.Metric {
		case FirstResponse:
			start, stop := e.created, e.firstResponseStop()
			out = append(out, e.run(t, 1, start, stop, e.respondingRuns))
		case NextResponse:
			for i, c := range e.nextResponseCycles() {
				out = append(out, e.run(t, i+1, c[0], c[1], e.respondingRuns))
			}
		case Resolution:
			out = append(out, e.run(t, 1, e.created, time.Time{}, e.resolvingRuns))
		}
	}
	return out
}

type segment struct {
	from   time.Time
	status Status
}

type evaluation struct {
	p       *Policy
	cal     *calendar.Calendar
	created time.Time
	now     time.Time
	events  []Event
	// segments[i] holds from segments[i].from to segments[i+1].from (the
	// last one to now), in time order.
	segments []segment
}

func newEvaluation(p *Policy, tl Timeline, now time.Time) *evaluation {
	cal := p.calendar()
	loc := cal.Location()
	e := &evaluation{p: p, cal: cal, created: tl.CreatedAt.In(loc), now: now.In(loc)}
	if e.now.Before(e.created) {
		e.now = e.created
	}
	for _, ev := range tl.Events {
		ev.At = ev.At.In(loc)
		if ev.At.Before(e.created) {
			ev.At = e.created
		}
		if ev.At.After(e.now) {
			continue
		}
		e.events = append(e.events, ev)
	}
	slices.SortStableFunc(e.events, func(a, b Event) int { return a.At.Compare(b.At) })
	e.segments = []segment{{e.created, New}}
	for _, ev := range e.events {
		if ev.Kind != StatusChanged || ev.Status == "" {
			continue
		}
		if last := &e.segments[len(e.segments)-1]; last.from.Equal(ev.At) {
			last.status = ev.Status // two changes at once: the later one holds
		} else if last.status != ev.Status {
			e.segments = append(e.segments, segment{ev.At, ev.Status})
		}
	}
	return e
}

func isDone(s Status) bool { return s == Solved || s == Closed }

func (e *evaluation) pauses(s Status) bool {
	return s == Pending || (s == OnHold && e.p.PauseOnHold)
}

// runMode says what a status does to a clock.
type runMode int

const (
	runs runMode = iota
	pauses
	idle // stopped, not paused: resolution while solved
)

// respondingRuns: a response clock runs until its stop event, pausing while
// pending (or on-hold). It never sees solved except in the moment between a
// customer reopening a solved ticket and the status change, when the
// customer is indeed waiting.
func (e *evaluation) respondingRuns(s Status) runMode {
	if e.pauses(s) {
		return pauses
	}
	return runs
}

func (e *evaluation) resolvingRuns(s Status) runMode {
	switch {
	case isDone(s):
		return idle
	case e.pauses(s):
		return pauses
	}
	return runs
}

func (e *evaluation) firstResponseStop() time.Time {
	for _, ev := range e.events {
		if ev.Kind == AgentReplied || (ev.Kind == StatusChanged && isDone(ev.Status)) {
			return ev.At
		}
	}
	return time.Time{}
}

// nextResponseCycles returns [start, stop) of each wait for an answer after
// the first response; stop is zero for a wait still open. A wait starts at
// the oldest unanswered customer message and ends at the next agent reply
// or when the ticket is solved (nothing is owed on a solved ticket).
func (e *evaluation) nextResponseCycles() [][2]time.Time {
	var cycles [][2]time.Time
	first := false
	open := -1
	for _, ev := range e.events {
		stops := ev.Kind == AgentReplied || (ev.Kind == StatusChanged && isDone(ev.Status))
		switch {
		case !first:
			first = stops
		case stops && open >= 0:
			cycles[open][1] = ev.At
			open = -1
		case ev.Kind == CustomerReplied && open < 0:
			cycles = append(cycles, [2]time.Time{ev.At, {}})
			open = len(cycles) - 1
		}
	}
	return cycles
}

// measure adapts the two kinds of time to one interface.
func (e *evaluation) between(m Measure, a, b time.Time) time.Duration {
	if m == CalendarTime {
		return b.Sub(a)
	}
	return e.cal.BusinessBetween(a, b)
}

func (e *evaluation) add(m Measure, t time.Time, d time.Duration) time.Time {
	if m == CalendarTime {
		return t.Add(max(d, 0))
	}
	return e.cal.AddBusiness(t, d)
}

func (e *evaluation) warnThreshold(t Target) (time.Duration, bool) {
	w := e.p.Warning
	target := t.Duration()
	thr, ok := target, false
	if w.Percent > 0 {
		thr, ok = min(thr, target*time.Duration(w.Percent)/100), true
	}
	if w.MinutesBefore > 0 {
		thr, ok = min(thr, target-time.Duration(w.MinutesBefore)*time.Minute), true
	}
	return max(thr, 0), ok
}

// run measures one clock from start to stop (zero: still running at now).
func (e *evaluation) run(t Target, cycle int, start, stop time.Time, mode func(Status) runMode) TargetStatus {
	st := TargetStatus{Target: t, Cycle: cycle, StartedAt: start, StoppedAt: stop}
	end := e.now
	if !stop.IsZero() {
		end = stop
	}
	target := t.Duration()
	warnThr, warns := e.warnThreshold(t)
	var dueFound, warnFound bool
	var lastMode runMode
	var idleSince time.Time // when the current idle (solved/closed) run began
	for i, seg := range e.segments {
		a, b := seg.from, end
		if i+1 < len(e.segments) {
			b = e.segments[i+1].from
		}
		if a.Before(start) {
			a = start
		}
		if b.After(end) {
			b = end
		}
		if !seg.from.After(end) {
			m := mode(seg.status)
			if m == idle && lastMode != idle {
				idleSince = seg.from
			}
			lastMode = m
		}
		if !a.Before(b) {
			continue
		}
		switch lastMode {
		case pauses:
			st.PausedFor += e.between(t.Measure, a, b)
		case runs:
			d := e.between(t.Measure, a, b)
			if !warnFound && warns && st.Elapsed+d > warnThr {
				st.WarnAt, warnFound = e.add(t.Measure, a, warnThr-st.Elapsed), true
			}
			if !dueFound && st.Elapsed+d > target {
				st.DueAt, dueFound = e.add(t.Measure, a, target-st.Elapsed), true
			}
			st.Elapsed += d
		}
	}
	// Forecasts: the clock would run on from where it stands — now, or the
	// moment a solved ticket stopped it.
	from := end
	if stop.IsZero() && lastMode == idle {
		from = idleSince
	}
	if !dueFound {
		st.DueAt = e.add(t.Measure, from, target-st.Elapsed)
	} else {
		st.BreachedAt = st.DueAt
	}
	if warns {
		if !warnFound {
			st.WarnAt = e.add(t.Measure, from, warnThr-st.Elapsed)
		} else {
			st.WarnedAt = st.WarnAt
		}
	}
	st.Remaining = target - st.Elapsed
	switch {
	case !stop.IsZero():
		st.State = Stopped
	case lastMode == idle:
		st.State, st.StoppedAt = Stopped, idleSince
	case lastMode == pauses:
		st.State = Paused
	default:
		st.State = Running
	}
	return st
}
