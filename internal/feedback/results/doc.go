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
// too_fast). Filter.IncludeFlagged counts flagged responses too; that reads
// the answers themselves (the same cells, grouped by SQL over
// survey_answers) rather than the rollups, and is slower on very large
// surveys.
//
// # Segment rollups
//
// Breakdowns by lifecycle stage, country and response attribute
// ("response:<key>") read survey_segment_rollups (migration 00019): the
// same counts per dimension and value, day and month grains, written by the
// same hook, import and Rebuild. The segment counted is the one the
// response had WHEN IT COMPLETED, as Qualtrics treats embedded data: the
// hook reads the customer's lifecycle stage and country (following a
// merge) in the completing transaction and records them in
// survey_response_segments, so a customer who answers as "new" and later
// becomes "loyal" keeps that earlier answer under "new", in the rollups,
// after a Rebuild, and on the answers path (which reads the same snapshot).
// Before migration 00019 breakdowns used the customer's current segment;
// responses completed before it have no snapshot and keep using the
// current one. Anonymous responses fall in the group "". Per response at
// most 20 response attributes are rolled up (the first by key, keys a
// dimension can name), values of at most 200 bytes; a longer value, or a
// key beyond the twentieth, counts in the group "" of the rollups. The
// group "" of a response attribute (responses without it) is the total
// less the responses with it.
//
// # Breakdowns by customer attribute
//
// A customer's custom attributes (identify traits: plan, industry …) are an
// open set, and some have a value per customer (an e-mail address), so
// they are not all rolled up. A survey lists in Settings.BreakdownAttributes
// (at most 10) the ones to keep: for those keys the hook records the
// customer's value at completion in survey_response_segments (a JSON object
// of strings; "" when the customer has none) and counts the response under
// dim "customer:<key>" of the segment rollups, every counted response with
// a value ("" for an anonymous one). Migration 00020 has the model.
//
// Listing a key on a survey that already has responses starts a backfill,
// run by the job of Service.Jobs (BackfillDims): it walks the survey's
// counted responses in id order, backfillChunk per transaction, recording
// the value it counts each under (the customer's value then: responses
// completed before the key was listed have no snapshot of it), and keeps
// its mark in survey_segment_dims.backfilled_to. Meanwhile the hook counts
// a completing response only when its id is at or below the mark, so a
// response is counted exactly once whether it completes before, during or
// after the backfill, and whatever its id. Both take the survey's row lock
// on Postgres (SQLite has one writer). When a chunk comes back short the
// dim is ready and breakdowns read it; until then (Tracking, and
// BreakdownResult.FromAnswers, say so) they read the answers. A key with
// more than MaxDimValues distinct values is refused and its rollups
// dropped; a key no longer listed loses them too.
//
// # Driver rollups
//
// The key-driver analysis (KeyDrivers: OLS of an outcome on the
// expectation gaps, and the Shapley shares of R²) depends on the answers
// only through the sums Σ z zᵀ, z = (1, gap_1 … gap_p, outcome), so the
// same hook, imports and Rebuild keep those sums per day and month,
// touchpoint, expectation question, outcome question and set of
// attributes answered (survey_driver_rollups, migration 00021), and the
// analysis of a year reads a few thousand integers
// (stats.KeyDriversFromMoments) and uses every response rather than the
// newest MaxDriverResponses. Listwise deletion carries over: the sums of
// responses that skipped one of the analysed attributes count as
// incomplete. A filter by channel or journey stage, or flagged responses
// included, reads the answers. Surveys with responses from before 00021 are listed in
// survey_rollup_pending and read the answers until the results job
// (RebuildPending) rebuilds them.
//
// The segment and driver rollups keep the response's touchpoint apart
// (migration 00021) but not its channel or journey stage: a segment
// breakdown or driver analysis filtered by one of those, and a breakdown
// by a customer attribute the survey does not list, still read the answers
// joined to the customers (and their snapshots), and take seconds over a
// year of a million responses (BENCH.md).
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
