package stats

import (
	"math"

	"github.com/kizuna-oss/kizuna"
)

// Scale is an integer rating scale from Min to Max inclusive.
type Scale struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// The scales of the standard questions.
var (
	NPSScale  = Scale{Min: 0, Max: 10} // likelihood to recommend
	CSATScale = Scale{Min: 1, Max: 5}  // very dissatisfied … very satisfied
	CESScale  = Scale{Min: 1, Max: 7}  // "the company made it easy": strongly disagree … strongly agree
)

// Points is the number of answer options.
func (s Scale) Points() int { return s.Max - s.Min + 1 }

// Contains reports whether score is an answer on the scale.
func (s Scale) Contains(score int) bool { return score >= s.Min && score <= s.Max }

func (s Scale) validate() error {
	if s.Max <= s.Min {
		return kizuna.FieldError("scale", "scale maximum (%d) must be above its minimum (%d)", s.Max, s.Min)
	}
	if s.Points() > 101 {
		return kizuna.FieldError("scale", "a scale of %d points is not a rating scale (at most 101)", s.Points())
	}
	return nil
}

// Distribution is the count of answers per point of a scale: Counts[i] is
// the number of answers Scale.Min + i. Dashboards receive counts from the
// store (GROUP BY score), so every statistic here works from counts and
// costs O(points), not O(responses).
type Distribution struct {
	Scale  Scale `json:"scale"`
	Counts []int `json:"counts"`
}

// NewDistribution tallies scores. A score off the scale is an error naming
// its position, never silently dropped or clipped.
func NewDistribution(scale Scale, scores []int) (Distribution, error) {
	if err := scale.validate(); err != nil {
		return Distribution{}, err
	}
	d := Distribution{Scale: scale, Counts: make([]int, scale.Points())}
	for i, s := range scores {
		if !scale.Contains(s) {
			return Distribution{}, kizuna.FieldError(indexField("scores", i),
				"score %d is outside the scale %d–%d", s, scale.Min, scale.Max)
		}
		d.Counts[s-scale.Min]++
	}
	return d, nil
}

// DistributionFromCounts checks and wraps per-point counts (as from a GROUP
// BY), counts[i] being the number of answers scale.Min + i.
func DistributionFromCounts(scale Scale, counts []int) (Distribution, error) {
	if err := scale.validate(); err != nil {
		return Distribution{}, err
	}
	if len(counts) != scale.Points() {
		return Distribution{}, kizuna.FieldError("counts", "want %d counts for the scale %d–%d, got %d",
			scale.Points(), scale.Min, scale.Max, len(counts))
	}
	for i, c := range counts {
		if c < 0 {
			return Distribution{}, kizuna.FieldError(indexField("counts", i), "count for score %d must not be negative, got %d", scale.Min+i, c)
		}
	}
	return Distribution{Scale: scale, Counts: append([]int(nil), counts...)}, nil
}

func (d Distribution) validate() error {
	_, err := DistributionFromCounts(d.Scale, d.Counts)
	return err
}

// N is the number of answers.
func (d Distribution) N() int {
	n := 0
	for _, c := range d.Counts {
		n += c
	}
	return n
}

// Summary returns n, mean and sample variance of the answers.
func (d Distribution) Summary() Summary {
	n := d.N()
	if n == 0 {
		return Summary{}
	}
	sum := 0.0
	for i, c := range d.Counts {
		sum += float64(c) * float64(d.Scale.Min+i)
	}
	mean := sum / float64(n)
	ss := 0.0 // two-pass: Σc(x − mean)² does not cancel catastrophically
	for i, c := range d.Counts {
		dev := float64(d.Scale.Min+i) - mean
		ss += float64(c) * dev * dev
	}
	s := Summary{N: n, Mean: mean}
	if n > 1 {
		s.Variance = ss / float64(n-1)
	}
	return s
}

// RatingShare is one bar of a score distribution chart.
type RatingShare struct {
	Score int `json:"score"`
	Count int `json:"count"`
	// Share is Count/N with a Goodman simultaneous interval over all bars.
	Share Estimate `json:"share"`
}

// Ratings returns one bar per scale point, with simultaneous intervals so
// that comparing any two bars is honest (see Goodman).
func Ratings(d Distribution, opt Options) ([]RatingShare, error) {
	if err := d.validate(); err != nil {
		return nil, err
	}
	shares, err := Goodman(d.Counts, opt)
	if err != nil {
		return nil, err
	}
	out := make([]RatingShare, len(d.Counts))
	for i, c := range d.Counts {
		out[i] = RatingShare{Score: d.Scale.Min + i, Count: c, Share: shares[i]}
	}
	return out, nil
}

// Summary is the n, mean and sample variance (n − 1 denominator) of a
// sample. Variance is 0 when N < 2, where it is undefined; functions that
// need it check N.
type Summary struct {
	N        int     `json:"n"`
	Mean     float64 `json:"mean"`
	Variance float64 `json:"variance"`
}

// Summarize computes a Summary of values with Welford's one-pass update
// (Welford 1962), which stays accurate for long series. NaN or ±Inf is an
// error: a missing answer must be left out by the caller, not averaged in.
func Summarize(values []float64) (Summary, error) {
	var s Summary
	m2 := 0.0
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return Summary{}, kizuna.FieldError(indexField("values", i), "value must be a finite number, got %v", v)
		}
		s.N++
		delta := v - s.Mean
		s.Mean += delta / float64(s.N)
		m2 += delta * (v - s.Mean)
	}
	if s.N > 1 {
		s.Variance = m2 / float64(s.N-1)
	}
	return s, nil
}

func (s Summary) validate(field string) error {
	if s.N < 0 {
		return kizuna.FieldError(field+".n", "sample size must not be negative, got %d", s.N)
	}
	if math.IsNaN(s.Mean) || math.IsInf(s.Mean, 0) {
		return kizuna.FieldError(field+".mean", "mean must be a finite number, got %v", s.Mean)
	}
	if !(s.Variance >= 0) || math.IsInf(s.Variance, 0) {
		return kizuna.FieldError(field+".variance", "variance must be a finite number ≥ 0, got %v", s.Variance)
	}
	return nil
}
