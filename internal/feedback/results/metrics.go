package results

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// Header says what a figure was computed from, for headings and exports.
type Header struct {
	Question QuestionRef `json:"question"`
	Filter   Filter      `json:"filter"`
}

// NPSResult is a survey's Net Promoter Score.
type NPSResult struct {
	Header
	stats.NPSResult
}

// CSATResult is a CSAT question's top-box share and mean.
type CSATResult struct {
	Header
	stats.CSATResult
}

// CESResult is a CES question's mean effort.
type CESResult struct {
	Header
	stats.CESResult
}

// DistributionResult is the chart of a question's answers: one bar per
// scale point (scale questions, with the mean) or per option (choice
// questions). Every bar has a simultaneous interval.
type DistributionResult struct {
	Header
	N       int                 `json:"n"`
	Ratings []stats.RatingShare `json:"ratings,omitempty"`
	Mean    *stats.Estimate     `json:"mean,omitempty"`
	Options []OptionShare       `json:"options,omitempty"`
}

// OptionShare is one option of a choice question.
type OptionShare struct {
	Key   string         `json:"key"`
	Text  feedback.Text  `json:"text"`
	Count int            `json:"count"`
	Share stats.Estimate `json:"share"`
}

// GapsResult is the expectation-vs-perception result of a question, one
// summary per attribute.
type GapsResult struct {
	Header
	Attributes []AttributeGap `json:"attributes"`
}

// AttributeGap is one attribute's classes and mean gap, with its label.
type AttributeGap struct {
	Text feedback.Text `json:"text"`
	stats.GapSummary
}

// NPS computes the Net Promoter Score of f.Question (default: the survey's
// first NPS question). Errors: EUNAUTHORIZED, EFORBIDDEN, EINVALID (filter),
// ENOTFOUND (survey or question).
func (s *Service) NPS(ctx context.Context, f Filter) (NPSResult, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return NPSResult{}, err
	}
	q, err := info.question(f.Question, feedback.QNPS)
	if err != nil {
		return NPSResult{}, err
	}
	dist, err := s.distribution(ctx, f, q)
	if err != nil {
		return NPSResult{}, err
	}
	r, err := stats.NPSOfDistribution(dist, info.options())
	return NPSResult{Header: Header{Question: refOf(q), Filter: f}, NPSResult: r}, err
}

// CSAT computes the top-box share (Wilson interval) and mean of a CSAT
// question (default: the first one). Errors as NPS.
func (s *Service) CSAT(ctx context.Context, f Filter) (CSATResult, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return CSATResult{}, err
	}
	q, err := info.question(f.Question, feedback.QCSAT)
	if err != nil {
		return CSATResult{}, err
	}
	dist, err := s.distribution(ctx, f, q)
	if err != nil {
		return CSATResult{}, err
	}
	r, err := stats.CSAT(dist, topK(q), info.options())
	return CSATResult{Header: Header{Question: refOf(q), Filter: f}, CSATResult: r}, err
}

// CES computes the mean effort of a CES question (default: the first one).
// Errors as NPS.
func (s *Service) CES(ctx context.Context, f Filter) (CESResult, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return CESResult{}, err
	}
	q, err := info.question(f.Question, feedback.QCES)
	if err != nil {
		return CESResult{}, err
	}
	dist, err := s.distribution(ctx, f, q)
	if err != nil {
		return CESResult{}, err
	}
	r, err := stats.CES(dist, info.options())
	return CESResult{Header: Header{Question: refOf(q), Filter: f}, CESResult: r}, err
}

// Distribution is the answer chart of any scale or choice question
// (default: the survey's first one). Errors as NPS.
func (s *Service) Distribution(ctx context.Context, f Filter) (DistributionResult, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return DistributionResult{}, err
	}
	q, err := info.question(f.Question, feedback.QNPS, feedback.QCSAT, feedback.QCES, feedback.QRating, feedback.QSingle, feedback.QMulti)
	if err != nil {
		return DistributionResult{}, err
	}
	out := DistributionResult{Header: Header{Question: refOf(q), Filter: f}}
	o := info.options()
	if q.Type == feedback.QSingle || q.Type == feedback.QMulti {
		cells, err := s.counts(ctx, f, q, dimension{}, splitNone)
		if err != nil {
			return out, err
		}
		byKey := make(map[string]int)
		for _, c := range cells {
			byKey[c.Option] += int(c.N)
		}
		// Defined options first, in their order; then keys answered under
		// an older version.
		for _, opt := range q.Options {
			out.Options = append(out.Options, OptionShare{Key: opt.Key, Text: opt.Text, Count: byKey[opt.Key]})
			delete(byKey, opt.Key)
		}
		rest := make([]string, 0, len(byKey))
		for k := range byKey {
			rest = append(rest, k)
		}
		slices.Sort(rest)
		for _, k := range rest {
			out.Options = append(out.Options, OptionShare{Key: k, Text: feedback.Text{EN: k, JA: k}, Count: byKey[k]})
		}
		counts := make([]int, len(out.Options))
		for i, op := range out.Options {
			counts[i] = op.Count
			if q.Type == feedback.QSingle {
				out.N += op.Count
			}
		}
		if q.Type == feedback.QMulti {
			// Shares of a multiple choice are of respondents, and one
			// respondent picks several: each option is its own proportion.
			n, err := s.respondents(ctx, f, q)
			if err != nil {
				return out, err
			}
			out.N = n
			for i := range out.Options {
				if out.Options[i].Share, err = stats.Wilson(min(out.Options[i].Count, n), n, o); err != nil {
					return out, err
				}
			}
			return out, nil
		}
		if len(counts) >= 2 {
			shares, err := stats.Goodman(counts, o)
			if err != nil {
				return out, err
			}
			for i := range out.Options {
				out.Options[i].Share = shares[i]
			}
		}
		return out, nil
	}
	dist, err := s.distribution(ctx, f, q)
	if err != nil {
		return out, err
	}
	out.N = dist.N()
	if out.Ratings, err = stats.Ratings(dist, o); err != nil {
		return out, err
	}
	m, err := stats.Mean(dist.Summary(), o)
	out.Mean = &m
	return out, err
}

// respondents counts the responses that answered q (multiple choice
// shares are of respondents).
func (s *Service) respondents(ctx context.Context, f Filter, q feedback.Question) (int, error) {
	var a args
	var n int
	err := s.db.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_responses r JOIN survey_answers a ON a.response_id = r.id WHERE `+
		responseWhere(f, &a)+` AND a.question_key = `+a.add(q.Key)+` AND a.text <> '[]' AND a.text <> ''`, a...).Scan(&n)
	return n, err
}

// Gaps computes expectation vs. perception per attribute of an expectation
// question (default: the first one): the dissatisfied, satisfied and
// delighted shares with simultaneous intervals and the mean gap with its t
// interval. The delight threshold is the survey's setting (default 2).
func (s *Service) Gaps(ctx context.Context, f Filter) (GapsResult, error) {
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return GapsResult{}, err
	}
	q, err := info.question(f.Question, feedback.QExpectation)
	if err != nil {
		return GapsResult{}, err
	}
	cells, err := s.counts(ctx, f, q, dimension{}, splitNone)
	if err != nil {
		return GapsResult{}, err
	}
	out := GapsResult{Header: Header{Question: refOf(q), Filter: f}}
	sc, _ := ScaleOf(q)
	byAttr := make(map[string][]cell)
	for _, c := range cells {
		byAttr[c.Attribute] = append(byAttr[c.Attribute], c)
	}
	attrs := make([]feedback.Option, 0, len(q.Attributes))
	for _, a := range q.Attributes {
		attrs = append(attrs, a)
		delete(byAttr, a.Key)
	}
	var rest []string
	for k := range byAttr {
		rest = append(rest, k)
	}
	slices.Sort(rest)
	for _, k := range rest {
		attrs = append(attrs, feedback.Option{Key: k, Text: feedback.Text{EN: k, JA: k}})
	}
	for _, a := range attrs {
		var mine []cell
		for _, c := range cells {
			if c.Attribute == a.Key {
				mine = append(mine, c)
			}
		}
		g, err := gapSummary(a.Key, sc, mine, info.options())
		if err != nil {
			return out, err
		}
		out.Attributes = append(out.Attributes, AttributeGap{Text: a.Text, GapSummary: g})
	}
	return out, nil
}

// gapSummary is stats.ExpectationGap computed from counted pairs instead
// of one element per answer (a million answers would be a million pairs in
// memory): the same classes (stats.ClassifyGap), the same simultaneous
// intervals (stats.Goodman) and the same t interval of the mean gap
// (stats.Mean of the gaps' distribution). TestGapSummaryMatchesStats checks
// it against stats.ExpectationGap.
func gapSummary(attr string, sc stats.Scale, cells []cell, opt stats.Options) (stats.GapSummary, error) {
	t := opt.DelightThreshold
	if t == 0 {
		t = stats.DefaultDelightThreshold
	}
	if t > sc.Max-sc.Min {
		return stats.GapSummary{}, kizuna.FieldError("delight_threshold",
			"a delight threshold of %d points cannot be reached on the scale %d–%d", t, sc.Min, sc.Max)
	}
	width := sc.Max - sc.Min
	gapScale := stats.Scale{Min: -width, Max: width}
	gapCounts := make([]int, gapScale.Points())
	g := stats.GapSummary{Attribute: attr, Scale: sc, Threshold: t}
	for _, c := range cells {
		n := int(c.N)
		g.N += n
		switch stats.ClassifyGap(c.Value, c.Value2, t) {
		case stats.Dissatisfied:
			g.DissatisfiedCount += n
		case stats.Delighted:
			g.DelightedCount += n
		default:
			g.SatisfiedCount += n
		}
		gapCounts[c.Value2-c.Value+width] += n
	}
	shares, err := stats.Goodman([]int{g.DissatisfiedCount, g.SatisfiedCount, g.DelightedCount}, opt)
	if err != nil {
		return g, err
	}
	g.Dissatisfied, g.Satisfied, g.Delighted = shares[0], shares[1], shares[2]
	dist, err := stats.DistributionFromCounts(gapScale, gapCounts)
	if err != nil {
		return g, err
	}
	g.MeanGap, err = stats.Mean(dist.Summary(), opt)
	return g, err
}

// distribution is the count per scale point of a scale question.
func (s *Service) distribution(ctx context.Context, f Filter, q feedback.Question) (stats.Distribution, error) {
	cells, err := s.counts(ctx, f, q, dimension{}, splitNone)
	if err != nil {
		return stats.Distribution{}, err
	}
	sc, _ := ScaleOf(q)
	return distributionOf(sc, cells)
}

func distributionOf(sc stats.Scale, cells []cell) (stats.Distribution, error) {
	counts := make([]int, sc.Points())
	for _, c := range cells {
		if sc.Contains(c.Value) {
			counts[c.Value-sc.Min] += int(c.N)
		}
	}
	return stats.DistributionFromCounts(sc, counts)
}

// Metric is the headline figure of a question that trends, comparisons and
// breakdowns follow: NPS for NPS questions, the top-box share for CSAT, the
// mean for CES and rating questions.
type Metric string

const (
	MetricNPS    Metric = "nps"
	MetricTopBox Metric = "top_box"
	MetricMean   Metric = "mean"
)

func metricOf(q feedback.Question) (Metric, error) {
	switch q.Type {
	case feedback.QNPS:
		return MetricNPS, nil
	case feedback.QCSAT:
		return MetricTopBox, nil
	case feedback.QCES, feedback.QRating:
		return MetricMean, nil
	}
	return "", kizuna.FieldError("question", "question %q is a %s question, which has no headline figure to follow (use an nps, csat, ces or rating question)", q.Key, q.Type)
}

// headline picks f.Question, or the survey's first NPS, then CSAT, CES or
// rating question.
func headline(info *surveyInfo, key string) (feedback.Question, Metric, error) {
	var q feedback.Question
	var err error
	if key != "" {
		q, err = info.question(key)
	} else {
		q, err = info.question("", feedback.QNPS)
		for _, t := range []feedback.QuestionType{feedback.QCSAT, feedback.QCES, feedback.QRating} {
			if err == nil {
				break
			}
			q, err = info.question("", t)
		}
	}
	if err != nil {
		return q, "", err
	}
	m, err := metricOf(q)
	return q, m, err
}

func estimateOf(m Metric, q feedback.Question, cells []cell, o stats.Options) (stats.Estimate, stats.Distribution, error) {
	sc, _ := ScaleOf(q)
	dist, err := distributionOf(sc, cells)
	if err != nil {
		return stats.Estimate{}, dist, err
	}
	switch m {
	case MetricNPS:
		c, err := stats.NPSCountsOf(dist)
		if err != nil {
			return stats.Estimate{}, dist, err
		}
		r, err := stats.NPS(c, o)
		return r.NPS, dist, err
	case MetricTopBox:
		e, err := stats.TopBox(dist, topK(q), o)
		return e, dist, err
	default:
		e, err := stats.Mean(dist.Summary(), o)
		return e, dist, err
	}
}

// Interval is a trend's bucket width.
type Interval string

const (
	Day   Interval = "day"
	Week  Interval = "week" // ISO weeks, Monday to Sunday (UTC)
	Month Interval = "month"
)

// bucketOf is the start of the bucket containing UTC day d.
func bucketOf(iv Interval, d time.Time) time.Time {
	switch iv {
	case Week:
		back := (int(d.Weekday()) + 6) % 7 // days since Monday
		return d.AddDate(0, 0, -back)
	case Month:
		return time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
	}
	return d
}

func nextBucket(iv Interval, b time.Time) time.Time {
	switch iv {
	case Week:
		return b.AddDate(0, 0, 7)
	case Month:
		return b.AddDate(0, 1, 0)
	}
	return b.AddDate(0, 0, 1)
}

func labelOf(iv Interval, b time.Time) string {
	switch iv {
	case Week:
		y, w := b.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	case Month:
		return b.Format("2006-01")
	}
	return b.Format(time.DateOnly)
}

// TrendResult is a headline figure per day, week or month: each point has
// its interval (the chart's band), n and low-sample flag. Buckets without
// answers are kept with a missing value, so the chart shows a gap.
type TrendResult struct {
	Header
	Metric   Metric             `json:"metric"`
	Interval Interval           `json:"interval"`
	Points   []stats.TrendPoint `json:"points"`
}

// Trend follows the headline figure of f.Question (default: the first NPS,
// else CSAT, CES or rating question) by interval over f's range (the range
// of the answers when f leaves it open). Errors as NPS; EINVALID for an
// unknown interval or a range of more than 3,660 buckets.
func (s *Service) Trend(ctx context.Context, f Filter, iv Interval) (TrendResult, error) {
	switch iv {
	case Day, Week, Month:
	case "":
		iv = Week
	default:
		return TrendResult{}, kizuna.FieldError("interval", "unknown interval %q (want day, week or month)", iv)
	}
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return TrendResult{}, err
	}
	q, m, err := headline(info, f.Question)
	if err != nil {
		return TrendResult{}, err
	}
	out := TrendResult{Header: Header{Question: refOf(q), Filter: f}, Metric: m, Interval: iv}
	sp := map[Interval]split{Day: splitDay, Week: splitWeek, Month: splitMonth}[iv] // whole months read month rollups
	cells, err := s.counts(ctx, f, q, dimension{}, sp)
	if err != nil {
		return out, err
	}
	byBucket := make(map[time.Time][]cell)
	var first, last time.Time
	for _, c := range cells {
		b := bucketOf(iv, time.UnixMilli(c.Day).UTC())
		byBucket[b] = append(byBucket[b], c)
		if first.IsZero() || b.Before(first) {
			first = b
		}
		if b.After(last) {
			last = b
		}
	}
	if !f.From.IsZero() {
		first = bucketOf(iv, f.From)
	}
	if !f.To.IsZero() {
		last = bucketOf(iv, f.To.Add(-time.Millisecond).Truncate(24*time.Hour))
	}
	if first.IsZero() || last.IsZero() {
		out.Points = []stats.TrendPoint{}
		return out, nil
	}
	if last.Sub(first) > maxDays*24*time.Hour {
		return out, kizuna.FieldError("from", "a trend covers at most %d days; narrow the range", maxDays)
	}
	sc, _ := ScaleOf(q)
	o := info.options()
	for b := first; !b.After(last); b = nextBucket(iv, b) {
		dist, err := distributionOf(sc, byBucket[b])
		if err != nil {
			return out, err
		}
		var pts []stats.TrendPoint
		label := labelOf(iv, b)
		switch m {
		case MetricNPS:
			c, err := stats.NPSCountsOf(dist)
			if err != nil {
				return out, err
			}
			pts, err = stats.NPSTrend([]stats.NPSBucket{{Label: label, Start: b, Counts: c}}, o)
			if err != nil {
				return out, err
			}
		case MetricTopBox:
			top := 0
			for i := max(0, len(dist.Counts)-topK(q)); i < len(dist.Counts); i++ {
				top += dist.Counts[i]
			}
			pts, err = stats.ProportionTrend([]stats.ProportionBucket{{Label: label, Start: b, Successes: top, N: dist.N()}}, o)
		default:
			pts, err = stats.MeanTrend([]stats.MeanBucket{{Label: label, Start: b, Summary: dist.Summary()}}, o)
		}
		if err != nil {
			return out, err
		}
		out.Points = append(out.Points, pts...)
	}
	return out, nil
}

// Period is a date range [From, To) of whole UTC days.
type Period struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Comparison is the change of a headline figure between two periods.
type Comparison struct {
	Header
	Metric Metric `json:"metric"`
	From   Period `json:"from"`
	To     Period `json:"to"`
	// Change has both estimates, the difference with its interval, the
	// p-value and Significant: whether the change is real rather than
	// sampling noise (at α = 1 − level, 5% by default).
	Change stats.Change `json:"change"`
}

// Compare tests whether the headline figure of f.Question changed from
// period a to period b (f's own range is replaced by each period):
// stats.CompareNPS for NPS, stats.CompareTopBox for CSAT, and Welch's
// stats.CompareMeans for means. Errors as Trend; EINVALID when a period is
// empty or reversed.
func (s *Service) Compare(ctx context.Context, f Filter, a, b Period) (Comparison, error) {
	for i, p := range []Period{a, b} {
		if p.From.IsZero() || p.To.IsZero() || !p.To.After(p.From) {
			return Comparison{}, kizuna.FieldError([]string{"from", "to"}[i], "a period needs a start before its end")
		}
	}
	fa, fb := f, f
	fa.From, fa.To = a.From, a.To
	fb.From, fb.To = b.From, b.To
	fa, info, err := s.prepare(ctx, auth.PermSurveysRead, fa)
	if err != nil {
		return Comparison{}, err
	}
	if fb, err = fb.validate(); err != nil {
		return Comparison{}, err
	}
	q, m, err := headline(info, f.Question)
	if err != nil {
		return Comparison{}, err
	}
	out := Comparison{Header: Header{Question: refOf(q), Filter: f}, Metric: m,
		From: Period{From: fa.From, To: fa.To}, To: Period{From: fb.From, To: fb.To}}
	ca, err := s.distribution(ctx, fa, q)
	if err != nil {
		return out, err
	}
	cb, err := s.distribution(ctx, fb, q)
	if err != nil {
		return out, err
	}
	o := info.options()
	switch m {
	case MetricNPS:
		na, err := stats.NPSCountsOf(ca)
		if err != nil {
			return out, err
		}
		nb, err := stats.NPSCountsOf(cb)
		if err != nil {
			return out, err
		}
		out.Change, err = stats.CompareNPS(na, nb, o)
		return out, err
	case MetricTopBox:
		out.Change, err = stats.CompareTopBox(ca, cb, topK(q), o)
		return out, err
	default:
		out.Change, err = stats.CompareMeans(ca.Summary(), cb.Summary(), o)
		return out, err
	}
}

// BreakdownResult is a headline figure per group.
type BreakdownResult struct {
	Header
	Metric    Metric    `json:"metric"`
	Dimension Dimension `json:"dimension"`
	// Groups, largest first, each with its own interval. Key "" is the
	// group without a value (anonymous responses for customer dimensions).
	Groups []Group `json:"groups"`
	// Omitted counts the smallest groups left out beyond MaxGroups.
	Omitted int `json:"omitted"`
	// FamilywiseError is the chance that at least one of the groups'
	// intervals misses its true value, 1 − level^k for k groups (about 23%
	// for 5 groups, 64% for 20): the more groups are compared, the likelier
	// one of them looks different by chance alone.
	FamilywiseError float64 `json:"familywise_error"`
	// ManyGroups is set from ManyGroups groups on: the UI warns that
	// differences between some groups are expected by chance (multiple
	// comparisons) and that a group standing out needs confirming, e.g.
	// with Compare on fresh data.
	ManyGroups bool `json:"many_groups"`
	// FromAnswers is set when the figures were read from every answer in
	// the range, not from rollups (a customer attribute the survey does
	// not keep rolled up, a segment breakdown filtered by channel or
	// journey stage, flagged responses included, a survey whose rollups
	// are being rebuilt): slow over a large survey.
	FromAnswers bool `json:"from_answers"`
	// Tracking is, for a breakdown by customer attribute, whether the
	// survey keeps that attribute rolled up (Settings.BreakdownAttributes).
	Tracking *AttributeTracking `json:"tracking,omitempty"`
}

// Group is one group of a breakdown.
type Group struct {
	Key      string         `json:"key"`
	Estimate stats.Estimate `json:"estimate"`
}

// Breakdown limits.
const (
	MaxGroups  = 50
	ManyGroups = 5
)

// Breakdown computes the headline figure of f.Question per group of dim.
// Touchpoint, journey stage and channel read the rollups; lifecycle stage,
// country and response:<key> read the segment rollups, grouping each
// response by its segment when it completed (see the package doc), unless
// f filters by channel or journey stage or includes flagged responses; customer:<key> reads them too once the survey lists the key
// in its breakdown attributes and the backfill has made it ready
// (Tracking says which), the answers otherwise (FromAnswers), which is
// slow over a large survey. Errors as Trend; EINVALID for a bad dimension
// or attribute key.
func (s *Service) Breakdown(ctx context.Context, f Filter, dim Dimension) (BreakdownResult, error) {
	dm, err := parseDimension(dim)
	if err != nil {
		return BreakdownResult{}, err
	}
	if dm.kind == "" {
		return BreakdownResult{}, kizuna.FieldError("dimension", "a breakdown needs a dimension")
	}
	f, info, err := s.prepare(ctx, auth.PermSurveysRead, f)
	if err != nil {
		return BreakdownResult{}, err
	}
	q, m, err := headline(info, f.Question)
	if err != nil {
		return BreakdownResult{}, err
	}
	out := BreakdownResult{Header: Header{Question: refOf(q), Filter: f}, Metric: m, Dimension: dim}
	if dm.kind == "customer" {
		t, err := s.tracking(ctx, info, dm.key)
		if err != nil {
			return out, err
		}
		out.Tracking = &t
	}
	src, err := s.sourceOf(ctx, f, dm, out.Tracking)
	if err != nil {
		return out, err
	}
	out.FromAnswers = src == fromAnswers
	cells, err := s.countsFrom(ctx, src, f, q, dm, splitNone)
	if err != nil {
		return out, err
	}
	byGroup := make(map[string][]cell)
	for _, c := range cells {
		byGroup[c.Group] = append(byGroup[c.Group], c)
	}
	o := info.options()
	for k, cs := range byGroup {
		e, _, err := estimateOf(m, q, cs, o)
		if err != nil {
			return out, err
		}
		out.Groups = append(out.Groups, Group{Key: k, Estimate: e})
	}
	slices.SortFunc(out.Groups, func(a, b Group) int {
		return cmp.Or(cmp.Compare(b.Estimate.N, a.Estimate.N), cmp.Compare(a.Key, b.Key))
	})
	if len(out.Groups) > MaxGroups {
		out.Omitted = len(out.Groups) - MaxGroups
		out.Groups = out.Groups[:MaxGroups]
	}
	level := stats.DefaultLevel
	if o.Level > 0 {
		level = o.Level
	}
	out.FamilywiseError = 1 - math.Pow(level, float64(len(out.Groups)))
	out.ManyGroups = len(out.Groups) >= ManyGroups
	if out.Groups == nil {
		out.Groups = []Group{}
	}
	return out, nil
}
