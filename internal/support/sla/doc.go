// Package sla is the SLA clock of the support desk: given a policy and a
// ticket's history, it says for each service-level target when it is due,
// how much of it is used, whether it is paused, and whether it was warned
// about or breached. It is pure code — no database, no wall clock — so the
// same answer comes out in the ticket view, in the breach job and in the
// reports, and it is tested across every awkward case we know of.
//
// # Targets
//
// A policy promises, per ticket priority and category, up to three things:
//
//   - First response (初回応答): an agent's first public reply, counted from
//     the moment the ticket arrives.
//   - Next response (次回応答): after that, every time the customer writes
//     and is waiting for us, the next public agent reply. Several customer
//     messages in a row are one wait, counted from the oldest. Each wait is
//     measured and reported on its own (cycle 1, 2, …).
//   - Resolution (解決): the ticket being solved, counted from arrival.
//
// Internal notes are not replies. Solving a ticket also fulfils any reply
// that was still owed. When several rules match a ticket, the most specific
// one sets each target: priority and category, then category alone (so a
// complaint (クレーム) rule beats a generic priority rule), then priority
// alone, then the catch-all rule.
//
// # Business time and calendar time
//
// Each target is in business minutes or calendar minutes. Calendar minutes
// run day and night ("reply to urgent complaints within 15 minutes, any
// time"). Business minutes only run while the desk is open according to the
// policy's calendar: the weekly hours (a lunch break is simply time between
// two shifts), in the calendar's time zone, minus Japanese public holidays
// (振替休日 and 国民の休日 included, unless the desk works that holiday),
// minus company closures such as 年末年始 or お盆, with special hours for
// single days. A 4-business-hour target on a ticket that arrives on Friday
// at 17:00 on a 9:00–18:00 desk is due on Monday at 12:00 — or Tuesday, if
// Monday is a holiday.
//
// Due times are wall-clock times in the calendar's zone. Where daylight
// saving time changes, business time is real elapsed time: a night shift
// from 00:00 to 06:00 is five hours long on the night the clocks go forward.
// Japan has no daylight saving time; this matters for desks abroad.
//
// If a target runs out exactly at closing time, the due time shown is the
// next opening: no business time passes overnight, so the ticket breaches
// only in the first moment the desk is open again and the target is still
// unmet.
//
// # Pauses
//
// While a ticket is pending (保留中 — waiting for the customer), its clocks
// stop. If the policy says so, they also stop while it is on-hold (waiting
// for a third party, such as a carrier or the manufacturer). When the
// ticket comes back, the clocks continue from where they stopped, so every
// pause pushes the due time later by exactly the business time it lasted.
// While paused, the due time shown is when the target would run out if the
// ticket were picked up right now.
//
// A solved ticket stops the resolution clock. If the customer writes back
// and the ticket is reopened, the clock resumes with the time already used;
// the days it spent solved do not count against the team.
//
// # Warnings and breaches
//
// A warning is raised when a clock has used a set share of its target (for
// example 75%) or comes within a set number of minutes of it, whichever is
// earlier; it gives the team time to act. A breach is recorded when the
// clock has run past the target before the reply or the solve. Both are
// stamped with the instant they happened (WarnedAt, BreachedAt), so reports
// can count them and the ticket view can show them. A reply exactly at the
// due time is on time.
//
// # For developers
//
// Evaluate(policy, timeline, now) returns one TargetStatus per target (per
// next-response cycle). It steps over the calendar's open intervals, never
// minute by minute: the cost is linear in the number of events and in the
// number of calendar days the clocks span. The business-time arithmetic
// lives in package calendar (AddBusiness, BusinessBetween, IsOpen,
// NextOpen).
package sla
