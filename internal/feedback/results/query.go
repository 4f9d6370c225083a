package results

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

var errNoRows = sql.ErrNoRows

// Service reads results. Every method checks the caller's permission
// first.
type Service struct {
	db *db.DB
}

// New returns the results service over d.
func New(d *db.DB) *Service { return &Service{db: d} }

// Filter selects the responses a figure is computed from.
type Filter struct {
	SurveyID int64 `json:"survey_id"`
	// Question is the question key; "" picks the survey's first question of
	// the type the figure needs (its first NPS question for NPS …).
	Question string `json:"question,omitempty"`
	// From and To bound completed_at to [From, To) in whole UTC days: From
	// is rounded down to its day, To up. Zero values leave a side open.
	From time.Time `json:"from,omitzero"`
	To   time.Time `json:"to,omitzero"`
	// Touchpoint, Channel and JourneyStage keep responses with exactly that
	// value; "" keeps all.
	Touchpoint   string `json:"touchpoint,omitempty"`
	Channel      string `json:"channel,omitempty"`
	JourneyStage string `json:"journey_stage,omitempty"`
	// IncludeFlagged counts responses flagged honeypot or too_fast too.
	// They are left out by default; including them reads the answers, not
	// the rollups.
	IncludeFlagged bool `json:"include_flagged,omitempty"`
}

// maxDays bounds a trend's length: ten years of days.
const maxDays = 3660

func (f Filter) validate() (Filter, error) {
	if f.SurveyID <= 0 {
		return f, kizuna.FieldError("survey_id", "a survey id is required")
	}
	if !f.From.IsZero() {
		f.From = time.UnixMilli(dayOf(f.From.UnixMilli())).UTC()
	}
	if !f.To.IsZero() {
		ms := f.To.UnixMilli()
		if d := dayOf(ms); d != ms {
			ms = d + dayMS
		}
		f.To = time.UnixMilli(ms).UTC()
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, kizuna.FieldError("to", "the end of the range (%s) must be after its start (%s)", f.To.Format(time.DateOnly), f.From.Format(time.DateOnly))
	}
	for i, v := range []string{f.Touchpoint, f.Channel, f.JourneyStage} {
		if len(v) > 100 {
			name := []string{"touchpoint", "channel", "journey_stage"}[i]
			return f, kizuna.FieldError(name, "%s is longer than 100 bytes", name)
		}
	}
	return f, nil
}

// Dimension is what a breakdown groups responses by: one of the Dim
// constants, "customer:<key>" for a customer's custom attribute, or
// "response:<key>" for a response attribute (what an import carried in
// extra columns).
type Dimension string

const (
	DimTouchpoint   Dimension = "touchpoint"
	DimJourneyStage Dimension = "journey_stage"
	DimChannel      Dimension = "channel"
	// DimLifecycle and DimCountry are the customer's segment when the
	// response completed (anonymous responses fall in the group "").
	DimLifecycle Dimension = "lifecycle_stage"
	DimCountry   Dimension = "country"
)

// attributeKey is the whitelist of attribute keys a dimension may name.
// The key reaches SQL only as a bound parameter, but a JSON path built from
// it is parsed by the engine, so it must not contain path syntax.
var attributeKey = feedback.AttributeKey

// dimension is a parsed Dimension.
type dimension struct {
	kind string // "", touchpoint, channel, journey_stage, lifecycle_stage, country, customer, response
	key  string
}

func parseDimension(d Dimension) (dimension, error) {
	s := string(d)
	switch d {
	case "", DimTouchpoint, DimJourneyStage, DimChannel, DimLifecycle, DimCountry:
		return dimension{kind: s}, nil
	}
	for _, p := range []string{"customer", "response"} {
		if k, ok := strings.CutPrefix(s, p+":"); ok {
			if !attributeKey.MatchString(k) {
				return dimension{}, kizuna.FieldError("dimension", "attribute key %q must be letters, digits and _ (at most 64, not starting with a digit)", k)
			}
			return dimension{kind: p, key: k}, nil
		}
	}
	return dimension{}, kizuna.FieldError("dimension", "unknown dimension %q (want touchpoint, journey_stage, channel, lifecycle_stage, country, customer:<key> or response:<key>)", s)
}

// fromRollups reports whether the rollups can answer a query.
func (dm dimension) fromRollups() bool {
	switch dm.kind {
	case "", "touchpoint", "channel", "journey_stage":
		return true
	}
	return false
}

// cell is one counted value of a query result.
type cell struct {
	Group string
	Day   int64 // 0 unless grouped by day
	cellValue
	N int64
}

// args builds a parameter list and hands back each placeholder: values
// never enter the SQL text.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// split says whether counts are kept apart by time bucket.
type split int

const (
	splitNone  split = iota // one count per value over the whole range
	splitDay                // per UTC day (Cell.Day is the day start)
	splitWeek               // per ISO week, Monday to Sunday UTC (Cell.Day is the Monday)
	splitMonth              // per UTC month, or day at the range's ragged ends (Cell.Day is the bucket start)
)

// counts returns the counts of question q's values under filter f,
// grouped by dm (not a customer attribute: Breakdown, which knows its
// tracking, calls sourceOf and countsFrom itself) and split by time. It
// reads the rollups when they can answer, the answers otherwise; both
// produce the same cells.
func (s *Service) counts(ctx context.Context, f Filter, q feedback.Question, dm dimension, sp split) ([]cell, error) {
	src, err := s.sourceOf(ctx, f, dm, nil)
	if err != nil {
		return nil, err
	}
	return s.countsFrom(ctx, src, f, q, dm, sp)
}

// countsFrom is counts read from src.
func (s *Service) countsFrom(ctx context.Context, src source, f Filter, q feedback.Question, dm dimension, sp split) ([]cell, error) {
	switch src {
	case fromRollups:
		return s.countsFromRollups(ctx, f, q, dm, sp)
	case fromSegments:
		return s.countsFromSegments(ctx, f, q, dm, sp)
	}
	return s.countsFromAnswers(ctx, f, q, dm, sp)
}

// source is what a query's counts are read from.
type source int

const (
	fromRollups source = iota
	fromSegments
	fromAnswers
)

// sourceOf picks the source of f grouped by dm: the rollups, the segment
// rollups (for a customer attribute only once the survey keeps it rolled
// up and ready: t, its tracking, says so), else the answers.
func (s *Service) sourceOf(ctx context.Context, f Filter, dm dimension, t *AttributeTracking) (source, error) {
	switch {
	case f.IncludeFlagged:
		return fromAnswers, nil
	case dm.fromRollups():
		return fromRollups, nil
	case !dm.fromSegmentRollups(f):
		return fromAnswers, nil
	case dm.kind == "customer" && (t == nil || t.State != DimReady):
		return fromAnswers, nil
	}
	if pend, err := s.pending(ctx, f.SurveyID); err != nil || pend {
		return fromAnswers, err
	}
	return fromSegments, nil
}

// grainRange is one range scan of the rollups.
type grainRange struct {
	grain  int
	lo, hi int64 // [lo, hi) bucket starts
}

// rangesOf covers [lo, hi) with month rows where whole months fit and day
// rows at the ends: a year reads ~12 month buckets instead of 365 days.
func rangesOf(lo, hi int64, sp split) []grainRange {
	if sp == splitDay || sp == splitWeek {
		return []grainRange{{grainDay, lo, hi}}
	}
	m1 := lo
	if lo != math.MinInt64 && monthOf(lo) != lo {
		m1 = time.UnixMilli(monthOf(lo)).UTC().AddDate(0, 1, 0).UnixMilli()
	}
	m2 := hi
	if hi != math.MaxInt64 {
		m2 = monthOf(hi)
	}
	if m1 >= m2 {
		return []grainRange{{grainDay, lo, hi}}
	}
	out := []grainRange{{grainMonth, m1, m2}}
	if lo < m1 {
		out = append(out, grainRange{grainDay, lo, m1})
	}
	if m2 < hi {
		out = append(out, grainRange{grainDay, m2, hi})
	}
	return out
}

// ranges covers f's date range with the grain ranges of rangesOf.
func (f Filter) ranges(sp split) []grainRange {
	lo, hi := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.From.IsZero() {
		lo = f.From.UnixMilli()
	}
	if !f.To.IsZero() {
		hi = f.To.UnixMilli()
	}
	return rangesOf(lo, hi, sp)
}

// where is the SQL (from " AND") selecting r's rows of a rollup table by
// grain and bucket.
func (r grainRange) where(a *args) string {
	w := ` AND grain = ` + a.add(r.grain)
	if r.lo != math.MinInt64 {
		w += ` AND bucket >= ` + a.add(r.lo)
	}
	if r.hi != math.MaxInt64 {
		w += ` AND bucket < ` + a.add(r.hi)
	}
	return w
}

// bucketSQL is the SQL of a rollup row's time group under sp: its bucket,
// the Monday of its week, or 0.
func bucketSQL(sp split) string {
	switch sp {
	case splitDay, splitMonth:
		return "bucket"
	case splitWeek:
		return weekOf("bucket")
	}
	return "0"
}

func (s *Service) countsFromRollups(ctx context.Context, f Filter, q feedback.Question, dm dimension, sp split) ([]cell, error) {
	merged := make(map[cell]int64)
	for _, r := range f.ranges(sp) {
		if err := s.scanRollups(ctx, f, q, dm, sp, r, merged); err != nil {
			return nil, err
		}
	}
	out := make([]cell, 0, len(merged))
	for c, n := range merged {
		c.N = n
		out = append(out, c)
	}
	return out, nil
}

// weekOf is the SQL of the Monday (UTC) of the week holding the day start
// in column col: the epoch (1970-01-01) was a Thursday, three days after a
// Monday. Grouping weeks in SQL returns 7 times fewer rows than days.
func weekOf(col string) string {
	return "(((" + col + " + 259200000) / 604800000) * 604800000 - 259200000)"
}

func (s *Service) scanRollups(ctx context.Context, f Filter, q feedback.Question, dm dimension, sp split, r grainRange, into map[cell]int64) error {
	var a args
	group := "''"
	if dm.kind != "" {
		group = dm.kind // one of three fixed column names, checked by parseDimension
	}
	bucket := bucketSQL(sp)
	table := "survey_rollups"
	if dm.kind == "" && f.Touchpoint == "" && f.Channel == "" && f.JourneyStage == "" {
		table = "survey_rollups_total"
	}
	where := `survey_id = ` + a.add(f.SurveyID) + ` AND question_key = ` + a.add(q.Key) + r.where(&a)
	if f.Touchpoint != "" {
		where += ` AND touchpoint = ` + a.add(f.Touchpoint)
	}
	if f.Channel != "" {
		where += ` AND channel = ` + a.add(f.Channel)
	}
	if f.JourneyStage != "" {
		where += ` AND journey_stage = ` + a.add(f.JourneyStage)
	}
	query := `SELECT ` + group + `, ` + bucket + `, attribute_key, value, value2, option_key, CAST(SUM(n) AS BIGINT)
		FROM ` + table + ` WHERE ` + where + ` GROUP BY 1, 2, 3, 4, 5, 6`
	rows, err := s.db.Reader().QueryContext(ctx, query, a...)
	if err != nil {
		return fmt.Errorf("results: read rollups: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var c cell
		var n int64
		if err := rows.Scan(&c.Group, &c.Day, &c.Attribute, &c.Value, &c.Value2, &c.Option, &n); err != nil {
			return fmt.Errorf("results: read rollups: %w", err)
		}
		into[c] += n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results: read rollups: %w", err)
	}
	return nil
}

// groupExpr is the SQL of a raw-path group and the joins it needs.
func (s *Service) groupExpr(dm dimension, a *args) (expr, joins string) {
	const customerJoin = ` LEFT JOIN customers c0 ON c0.id = r.customer_id LEFT JOIN customers c ON c.id = COALESCE(c0.merged_into, c0.id)`
	switch dm.kind {
	case "":
		return "''", ""
	case "touchpoint", "channel", "journey_stage":
		return "r." + dm.kind, ""
	case "lifecycle_stage", "country":
		// The segment at completion (the hook's snapshot) as the segment
		// rollups count it; the current one for responses without a
		// snapshot (completed before migration 00019).
		return "COALESCE(sg." + dm.kind + ", c." + dm.kind + ", '')", customerJoin + ` LEFT JOIN survey_response_segments sg ON sg.response_id = r.id`
	case "customer":
		// The value recorded when the response completed (the snapshot of
		// a listed breakdown attribute), else the customer's current JSON
		// attribute as customerValue renders it: json_extract on SQLite,
		// ->> on Postgres; the key (whitelisted) is a bound parameter
		// either way.
		joins := customerJoin + ` LEFT JOIN survey_response_segments sg ON sg.response_id = r.id`
		if s.db.Dialect == db.Postgres {
			k := a.add(dm.key)
			return "COALESCE(sg.customer_attributes::jsonb ->> " + k + ", c.attributes::jsonb ->> " + k + ", '')", joins
		}
		p := a.add("$." + dm.key)
		return "COALESCE(json_extract(sg.customer_attributes, " + p + "), CASE json_type(c.attributes, " + p + ") WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' " +
			"ELSE CAST(json_extract(c.attributes, " + p + ") AS TEXT) END, '')", joins
	case "response":
		return "COALESCE(ra.value, '')", ` LEFT JOIN survey_response_attributes ra ON ra.response_id = r.id AND ra.key = ` + a.add(dm.key)
	}
	panic("results: unchecked dimension " + dm.kind)
}

// responseWhere is the WHERE clause selecting a filter's responses (alias
// r).
func responseWhere(f Filter, a *args) string {
	w := `r.survey_id = ` + a.add(f.SurveyID) + ` AND r.status = 'completed'`
	if !f.IncludeFlagged {
		w += ` AND r.flags = ''`
	}
	if !f.From.IsZero() {
		w += ` AND r.completed_at >= ` + a.add(f.From.UnixMilli())
	}
	if !f.To.IsZero() {
		w += ` AND r.completed_at < ` + a.add(f.To.UnixMilli())
	}
	if f.Touchpoint != "" {
		w += ` AND r.touchpoint = ` + a.add(f.Touchpoint)
	}
	if f.Channel != "" {
		w += ` AND r.channel = ` + a.add(f.Channel)
	}
	if f.JourneyStage != "" {
		w += ` AND r.journey_stage = ` + a.add(f.JourneyStage)
	}
	return w
}

func (s *Service) countsFromAnswers(ctx context.Context, f Filter, q feedback.Question, dm dimension, sp split) ([]cell, error) {
	var a args
	group, joins := s.groupExpr(dm, &a)
	// completed_at is positive, so integer division truncates to the UTC
	// day on both engines.
	const dayExpr = "((r.completed_at / 86400000) * 86400000)"
	day := "0"
	switch sp {
	case splitDay, splitMonth:
		day = dayExpr
	case splitWeek:
		day = weekOf(dayExpr)
	}
	text := "''"
	if q.Type == feedback.QSingle || q.Type == feedback.QMulti {
		text = "a.text"
	}
	where := responseWhere(f, &a) + ` AND a.question_key = ` + a.add(q.Key)
	query := `SELECT ` + group + `, ` + day + `, a.attribute_key, a.num, a.num2, ` + text + `, COUNT(*)
		FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id` + joins + `
		WHERE ` + where + ` GROUP BY 1, 2, 3, 4, 5, 6`
	rows, err := s.db.Reader().QueryContext(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("results: read answers: %w", err)
	}
	defer rows.Close()
	merged := make(map[cell]int64)
	for rows.Next() {
		var g string
		var d, n int64
		var ans feedback.Answer
		if err := rows.Scan(&g, &d, &ans.Attribute, &ans.Num, &ans.Num2, &ans.Text, &n); err != nil {
			return nil, fmt.Errorf("results: read answers: %w", err)
		}
		ans.Question = q.Key
		for _, cv := range cellsOf(q, ans) {
			merged[cell{Group: g, Day: d, cellValue: cv}] += n
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("results: read answers: %w", err)
	}
	out := make([]cell, 0, len(merged))
	for c, n := range merged {
		c.N = n
		out = append(out, c)
	}
	return out, nil
}

// Rebuild recomputes a survey's rollups from its answers (see the
// package-level Rebuild). Needs auth.PermDataImport.
func (s *Service) Rebuild(ctx context.Context, surveyID int64) error {
	return Rebuild(ctx, s.db, surveyID)
}

// ImportCSV imports past feedback (see the package-level ImportCSV).
// Needs auth.PermDataImport.
func (s *Service) ImportCSV(ctx context.Context, customers Customers, r io.Reader, m Mapping) (*ImportSummary, error) {
	return ImportCSV(ctx, s.db, customers, r, m)
}

// prepare checks permission and the filter and loads the survey.
func (s *Service) prepare(ctx context.Context, perm auth.Permission, f Filter) (Filter, *surveyInfo, error) {
	if err := auth.Require(ctx, perm); err != nil {
		return f, nil, err
	}
	f, err := f.validate()
	if err != nil {
		return f, nil, err
	}
	info, err := loadSurvey(ctx, s.db.Reader(), f.SurveyID)
	return f, info, err
}
