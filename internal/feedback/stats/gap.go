package stats

import (
	"errors"
	"strings"

	"github.com/kizuna-oss/kizuna"
)

// GapClass is how an answer's perception compares with its expectation.
type GapClass string

// Expectation-vs-perception classes (the expectation-disconfirmation model,
// Oliver 1980, "A Cognitive Model of the Antecedents and Consequences of
// Satisfaction Decisions", Journal of Marketing Research 17(4):460–469).
const (
	// Dissatisfied: perceived < expected (negative disconfirmation).
	Dissatisfied GapClass = "dissatisfied"
	// Satisfied: perceived equals expected or exceeds it by less than the
	// delight threshold (confirmation).
	Satisfied GapClass = "satisfied"
	// Delighted: perceived − expected ≥ the delight threshold (strong
	// positive disconfirmation).
	Delighted GapClass = "delighted"
)

// ClassifyGap classifies one answer pair with delight threshold t ≥ 1.
//
// Why the default threshold is 2 points (DefaultDelightThreshold): on a 5-
// or 7-point scale a one-point rise is within what the same respondent
// gives on a re-test of the same item (test–retest differences of ±1 point
// are common on Likert items), so "one better than expected" is
// confirmation, not delight. Delight is surprise — expectations clearly
// exceeded (Oliver, Rust & Varki 1997, "Customer Delight: Foundations,
// Findings, and Managerial Insight", Journal of Retailing 73(3):311–336) —
// and 2 points is the smallest gap beyond that noise. Teams with an 11-
// point scale should raise it (e.g. 3).
func ClassifyGap(expected, perceived, threshold int) GapClass {
	gap := perceived - expected
	switch {
	case gap < 0:
		return Dissatisfied
	case gap >= threshold:
		return Delighted
	default:
		return Satisfied
	}
}

// GapPair is one respondent's answers for one attribute.
type GapPair struct {
	Expected  int `json:"expected"`
	Perceived int `json:"perceived"`
}

// GapSummary is the expectation-vs-perception result for one attribute.
type GapSummary struct {
	Attribute string `json:"attribute"`
	Scale     Scale  `json:"scale"`
	Threshold int    `json:"threshold"`
	N         int    `json:"n"`
	// Counts per class.
	DissatisfiedCount int `json:"dissatisfied_count"`
	SatisfiedCount    int `json:"satisfied_count"`
	DelightedCount    int `json:"delighted_count"`
	// Shares (fractions 0–1) with Goodman simultaneous intervals: the three
	// hold at once with probability ≥ Level, so bars can be compared.
	Dissatisfied Estimate `json:"dissatisfied"`
	Satisfied    Estimate `json:"satisfied"`
	Delighted    Estimate `json:"delighted"`
	// MeanGap is the average perceived − expected, in scale points, with a
	// Student t interval (the gaps are paired differences of one respondent,
	// so this is the paired t interval).
	MeanGap Estimate `json:"mean_gap"`
}

// ExpectationGap classifies every answer pair for one attribute and
// summarises the classes and the mean gap. Both answers must be on scale;
// the threshold comes from Options.DelightThreshold and must fit the scale.
func ExpectationGap(attribute string, scale Scale, pairs []GapPair, opt Options) (GapSummary, error) {
	o, err := opt.resolve()
	if err != nil {
		return GapSummary{}, err
	}
	if err := scale.validate(); err != nil {
		return GapSummary{}, err
	}
	if o.DelightThreshold > scale.Max-scale.Min {
		return GapSummary{}, kizuna.FieldError("delight_threshold",
			"a delight threshold of %d points cannot be reached on the scale %d–%d", o.DelightThreshold, scale.Min, scale.Max)
	}
	s := GapSummary{Attribute: attribute, Scale: scale, Threshold: o.DelightThreshold, N: len(pairs)}
	gaps := make([]float64, len(pairs))
	for i, p := range pairs {
		if !scale.Contains(p.Expected) {
			return GapSummary{}, kizuna.FieldError(indexField("pairs", i)+".expected",
				"expected score %d is outside the scale %d–%d", p.Expected, scale.Min, scale.Max)
		}
		if !scale.Contains(p.Perceived) {
			return GapSummary{}, kizuna.FieldError(indexField("pairs", i)+".perceived",
				"perceived score %d is outside the scale %d–%d", p.Perceived, scale.Min, scale.Max)
		}
		switch ClassifyGap(p.Expected, p.Perceived, o.DelightThreshold) {
		case Dissatisfied:
			s.DissatisfiedCount++
		case Delighted:
			s.DelightedCount++
		default:
			s.SatisfiedCount++
		}
		gaps[i] = float64(p.Perceived - p.Expected)
	}
	shares, err := Goodman([]int{s.DissatisfiedCount, s.SatisfiedCount, s.DelightedCount}, o)
	if err != nil {
		return GapSummary{}, err
	}
	s.Dissatisfied, s.Satisfied, s.Delighted = shares[0], shares[1], shares[2]
	sum, err := Summarize(gaps)
	if err != nil {
		return GapSummary{}, err
	}
	s.MeanGap = meanEstimate(sum, o)
	return s, nil
}

// AttributeGaps are the answer pairs of one attribute.
type AttributeGaps struct {
	Attribute string    `json:"attribute"`
	Pairs     []GapPair `json:"pairs"`
}

// ExpectationGaps runs ExpectationGap for each attribute of a question, in
// order. Errors name the attribute's position, e.g. attributes[2].pairs[7].
func ExpectationGaps(scale Scale, attrs []AttributeGaps, opt Options) ([]GapSummary, error) {
	out := make([]GapSummary, len(attrs))
	for i, a := range attrs {
		s, err := ExpectationGap(a.Attribute, scale, a.Pairs, opt)
		if err != nil {
			var e *kizuna.Error
			if errors.As(err, &e) && strings.HasPrefix(e.Field, "pairs") {
				e.Field = indexField("attributes", i) + "." + e.Field
			}
			return nil, err
		}
		out[i] = s
	}
	return out, nil
}
