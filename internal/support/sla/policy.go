package sla

import (
	"fmt"
	"sync"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/calendar"
)

// Metric is what a target measures.
type Metric string

const (
	// FirstResponse runs from the ticket's creation to the first public
	// agent reply.
	FirstResponse Metric = "first_response"
	// NextResponse runs from a customer message that waits for an answer
	// (after the first response) to the next public agent reply. Each such
	// wait is its own cycle with its own due time.
	NextResponse Metric = "next_response"
	// Resolution runs from creation until the ticket is solved; reopening
	// resumes it where it stopped.
	Resolution Metric = "resolution"
)

var metricOrder = []Metric{FirstResponse, NextResponse, Resolution}

// Measure says whether a target counts business time (the policy's
// calendar) or calendar time (every minute, day and night).
type Measure string

const (
	BusinessTime Measure = "business"
	CalendarTime Measure = "calendar"
)

// Target is one commitment: e.g. first response within 60 business minutes.
type Target struct {
	Metric  Metric  `json:"metric"`
	Minutes int     `json:"minutes"`
	Measure Measure `json:"measure"`
}

// Duration returns the target as a time.Duration.
func (t Target) Duration() time.Duration { return time.Duration(t.Minutes) * time.Minute }

// Warning says when a running target turns amber. With both fields set the
// earlier of the two applies; with neither, targets never warn.
type Warning struct {
	// Percent warns once this share of the target has elapsed (1–99).
	Percent int `json:"percent"`
	// MinutesBefore warns this many measured minutes before the breach.
	MinutesBefore int `json:"minutes_before"`
}

// Rule gives the targets for tickets of one priority and category; an
// empty Priority or Category matches every value.
type Rule struct {
	Priority string   `json:"priority"`
	Category string   `json:"category"`
	Targets  []Target `json:"targets"`
}

// Policy is a set of SLA targets with the calendar they are measured on.
type Policy struct {
	Name string `json:"name"`
	// Calendar defines business time. Nil means the default Japanese office
	// calendar (Mon–Fri 09:00–18:00 Asia/Tokyo, public holidays closed).
	Calendar *calendar.Calendar `json:"-"`
	// PauseOnHold also stops the clocks while a ticket is on-hold (waiting
	// for a third party). Pending (waiting for the customer) always pauses.
	PauseOnHold bool    `json:"pause_on_hold"`
	Warning     Warning `json:"warning"`
	Rules       []Rule  `json:"rules"`
}

var defaultCalendar = sync.OnceValue(func() *calendar.Calendar { return calendar.MustNew(calendar.DefaultConfig()) })

func (p *Policy) calendar() *calendar.Calendar {
	if p.Calendar != nil {
		return p.Calendar
	}
	return defaultCalendar()
}

// Validate reports the first problem with p as an EINVALID error naming
// the field (e.g. "rules[1].targets[0].minutes").
func (p *Policy) Validate() error {
	if p.Warning.Percent < 0 || p.Warning.Percent > 99 {
		return kizuna.FieldError("warning.percent", "warning percent must be between 1 and 99, or 0 for none")
	}
	if p.Warning.MinutesBefore < 0 {
		return kizuna.FieldError("warning.minutes_before", "minutes before breach cannot be negative")
	}
	if len(p.Rules) == 0 {
		return kizuna.FieldError("rules", "a policy needs at least one rule")
	}
	seen := map[[2]string]int{}
	for i, r := range p.Rules {
		field := fmt.Sprintf("rules[%d]", i)
		key := [2]string{r.Priority, r.Category}
		if j, dup := seen[key]; dup {
			return kizuna.FieldError(field, "rule for priority %q and category %q repeats rules[%d]", r.Priority, r.Category, j)
		}
		seen[key] = i
		if len(r.Targets) == 0 {
			return kizuna.FieldError(field+".targets", "a rule needs at least one target")
		}
		metrics := map[Metric]bool{}
		for k, t := range r.Targets {
			tf := fmt.Sprintf("%s.targets[%d]", field, k)
			switch t.Metric {
			case FirstResponse, NextResponse, Resolution:
			default:
				return kizuna.FieldError(tf+".metric", "unknown metric %q (first_response, next_response or resolution)", t.Metric)
			}
			if metrics[t.Metric] {
				return kizuna.FieldError(tf+".metric", "%s is set twice in this rule", t.Metric)
			}
			metrics[t.Metric] = true
			if t.Minutes <= 0 {
				return kizuna.FieldError(tf+".minutes", "a target must be at least one minute")
			}
			if t.Minutes > 366*24*60 {
				return kizuna.FieldError(tf+".minutes", "a target longer than a year is not a service level")
			}
			if t.Measure != BusinessTime && t.Measure != CalendarTime {
				return kizuna.FieldError(tf+".measure", "measure must be business or calendar, not %q", t.Measure)
			}
		}
	}
	return nil
}

// TargetsFor returns the targets that apply to a ticket, one per metric, in
// the order first response, next response, resolution. For each metric the
// most specific rule that sets it wins: priority and category, then
// category alone (a complaint category beats a generic priority), then
// priority alone, then the catch-all rule.
func (p *Policy) TargetsFor(priority, category string) []Target {
	best := map[Metric]Target{}
	score := map[Metric]int{}
	for _, r := range p.Rules {
		if (r.Priority != "" && r.Priority != priority) || (r.Category != "" && r.Category != category) {
			continue
		}
		s := 0
		if r.Category != "" {
			s += 2
		}
		if r.Priority != "" {
			s++
		}
		for _, t := range r.Targets {
			if prev, ok := score[t.Metric]; !ok || s > prev {
				best[t.Metric], score[t.Metric] = t, s
			}
		}
	}
	var out []Target
	for _, m := range metricOrder {
		if t, ok := best[m]; ok {
			out = append(out, t)
		}
	}
	return out
}
