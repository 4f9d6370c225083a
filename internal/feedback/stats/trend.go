package stats

import (
	"time"
)

// TrendPoint is one bucket (day, week, month …) of a trend chart: the value
// and its interval for the CI band, n, and the low-sample warning that
// tells the chart to grey the point out rather than draw it as solid.
type TrendPoint struct {
	Label     string    `json:"label"`
	Start     time.Time `json:"start"`
	Value     Number    `json:"value"`
	Low       Number    `json:"low"`
	High      Number    `json:"high"`
	N         int       `json:"n"`
	LowSample bool      `json:"low_sample"`
	Reason    Reason    `json:"reason,omitempty"`
}

// PointOf turns an estimate into a trend point. Buckets are made by the
// store (GROUP BY the bucket start in the customer's time zone); this
// package only judges them.
func PointOf(label string, start time.Time, e Estimate) TrendPoint {
	return TrendPoint{
		Label: label, Start: start,
		Value: e.Value, Low: e.Low, High: e.High,
		N: e.N, LowSample: e.LowSample, Reason: e.Reason,
	}
}

// NPSBucket is the NPS sample of one trend bucket.
type NPSBucket struct {
	Label  string    `json:"label"`
	Start  time.Time `json:"start"`
	Counts NPSCounts `json:"counts"`
}

// NPSTrend computes one point per bucket, in the given order. Empty buckets
// stay in the series with a missing value, so the chart shows a gap rather
// than a fall to 0.
func NPSTrend(buckets []NPSBucket, opt Options) ([]TrendPoint, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	out := make([]TrendPoint, len(buckets))
	for i, b := range buckets {
		if err := b.Counts.validate(indexField("buckets", i) + ".counts."); err != nil {
			return nil, err
		}
		out[i] = PointOf(b.Label, b.Start, npsEstimate(b.Counts, o))
	}
	return out, nil
}

// ProportionBucket is a proportion sample (e.g. CSAT top-2-box) of one
// trend bucket.
type ProportionBucket struct {
	Label     string    `json:"label"`
	Start     time.Time `json:"start"`
	Successes int       `json:"successes"`
	N         int       `json:"n"`
}

// ProportionTrend computes one Wilson point per bucket.
func ProportionTrend(buckets []ProportionBucket, opt Options) ([]TrendPoint, error) {
	out := make([]TrendPoint, len(buckets))
	for i, b := range buckets {
		e, err := Wilson(b.Successes, b.N, opt)
		if err != nil {
			return nil, err
		}
		out[i] = PointOf(b.Label, b.Start, e)
	}
	return out, nil
}

// MeanBucket is a sample of numeric answers (CSAT mean, CES) of one trend
// bucket.
type MeanBucket struct {
	Label   string    `json:"label"`
	Start   time.Time `json:"start"`
	Summary Summary   `json:"summary"`
}

// MeanTrend computes one t-interval point per bucket.
func MeanTrend(buckets []MeanBucket, opt Options) ([]TrendPoint, error) {
	out := make([]TrendPoint, len(buckets))
	for i, b := range buckets {
		e, err := Mean(b.Summary, opt)
		if err != nil {
			return nil, err
		}
		out[i] = PointOf(b.Label, b.Start, e)
	}
	return out, nil
}
