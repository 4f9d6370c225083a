// Package results reads survey responses as figures people can trust: NPS,
// CSAT, CES, score distributions and expectation-vs-perception gaps, each
// with its interval, n and small-sample warning (all computed by
// internal/feedback/stats); trends by day, week or month; tests of change
// between two periods; breakdowns by touchpoint, journey stage, channel,
// customer segment or attribute; key-driver analysis; verbatims; CSV and
// JSON exports; and imports of feedback collected elsewhere.
//
// # Rollups
//
// A dashboard over a million responses must answer in milliseconds, so
// answers are also counted in survey_rollups (migration 00007): one row per
// survey, question, attribute, UTC day or month, touchpoint, channel,
// journey stage and value, holding how many answers share them, and in
// survey_rollups_total, the same without touchpoint, channel and journey
// stage for unfiltered views. A date range reads month rows for its whole
// months and day rows for its ragged ends; weeks are sums of days. The
// rollups are maintained by OnComplete, which the feedback service calls
// inside the transaction that completes a response, and can be recomputed
// from the answers with Rebuild. Both derive the counts of an answer
// through the same function (cellsOf), so a rebuild equals what the hook
// built incrementally. BENCH.md has the figures over a million responses.
//
// Wiring the hook (the feedback service's completing transaction):
//
//	err := d.WriteTx(ctx, func(tx *db.Tx) error {
//		// … store the answers, set status = completed, completed_at …
//		return results.OnComplete(ctx, tx, resp) // resp with its Answers,
//		// and the Touchpoint, Channel, JourneyStage and CompletedAt stored
//	})
//
// What is counted: completed responses only (partial and abandoned ones
// never), and by default only those without quality flags (honeypot,
// too_fast). Filter.IncludeFlagged counts flagged responses too; that, and
// breakdowns by customer segment or attribute, read the answers themselves
// (the same cells, grouped by SQL over survey_answers) rather than the
// rollups, and are slower on very large surveys.
//
// Days are UTC days: a date range is whole UTC days (From is rounded down to
// its day, To up). Bucketing in the viewer's time zone would need a rollup
// per zone; Japan is UTC+9, so a Japanese team's "day" starts at 09:00 in
// these figures, which the UI should say.
//
// # Permissions
//
// Reading figures and verbatims needs auth.PermSurveysRead, exporting
// auth.PermResponsesExport (the survey permissions on main; the brief's
// PermDashboardRead and PermDataExport map to the same roles), importing
// auth.PermDataImport. OnComplete and Rebuild
// run inside the feedback service's own transaction or as maintenance and
// check nothing themselves (Rebuild requires PermDataImport).
package results
