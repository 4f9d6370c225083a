package stats

import (
	"math"

	"github.com/kizuna-oss/kizuna"
)

// Change answers "is the difference between two periods (or two segments)
// real?" for independent samples From and To.
type Change struct {
	// From and To are the two estimates, each with its own interval.
	From Estimate `json:"from"`
	To   Estimate `json:"to"`
	// Difference is To − From with the interval of the difference at Level.
	// Its LowSample is set when either side is low.
	Difference Estimate `json:"difference"`
	// Test names the significance test; Statistic is its z or t value, DF
	// the degrees of freedom of a t test (missing for z tests).
	Test      Method `json:"test"`
	Statistic Number `json:"statistic"`
	DF        Number `json:"df"`
	// PValue is the two-sided p-value; missing when either side is empty.
	PValue Number  `json:"p_value"`
	Alpha  float64 `json:"alpha"`
	// Significant is PValue < Alpha: the change is unlikely (probability
	// < α) to be sampling noise alone. With a low sample it is still the
	// test's verdict; the UI shows the warning beside it.
	Significant bool `json:"significant"`
}

// newChange fills in what every comparison carries.
func newChange(from, to Estimate, o Options, test Method, diffMethod Method) Change {
	d := newEstimate(from.N+to.N, o, diffMethod)
	switch {
	case from.N == 0 || to.N == 0:
		d.LowSample, d.Reason = true, ReasonNoData
	case from.LowSample:
		d.LowSample, d.Reason = true, from.Reason
	case to.LowSample:
		d.LowSample, d.Reason = true, to.Reason
	}
	return Change{From: from, To: to, Difference: d, Test: test, Alpha: o.alpha()}
}

// setTest stores a test result.
func (c *Change) setTest(stat, p float64) {
	c.Statistic, c.PValue = Known(stat), Known(p)
	c.Significant = c.PValue.Valid() && p < c.Alpha
}

// CompareNPS tests whether NPS changed between two independent samples.
//
// The difference is NPS_to − NPS_from (points). Its standard error adds the
// two trinomial variances (independent samples):
//
//	SE = 100·√(v_from/n_from + v_to/n_to),   v = pP + pD − (pP − pD)²
//
// The test is a z test whose variance is computed under H0 (both periods
// share one distribution), from the pooled shares p̄P, p̄D of both samples:
//
//	z = (d̂_to − d̂_from) / √(v̄·(1/n_from + 1/n_to)),   v̄ = p̄P + p̄D − (p̄P − p̄D)²
//
// Pooling is what the classic two-proportion test does and is what keeps
// the false-positive rate at α for the sample sizes dashboards see; the
// unpooled SE overstates significance when one period is small
// (TestNPSChangeCalibration measures both). The interval of the difference
// is MOVER (Zou & Donner 2008, "Construction of confidence limits about
// effect measures: a general approach", Statistics in Medicine 27:1693–1702):
// it recovers the variance of each side from its own interval (the
// configured NPS interval, the score interval by default),
//
//	L = d̂ − √((d̂_to − l_to)² + (u_from − d̂_from)²)
//	U = d̂ + √((u_to − d̂_to)² + (d̂_from − l_from)²)
//
// so it inherits their good behaviour near ±100 and at small n, where
// d̂ ± z·SE is too narrow. With MethodWald it is exactly d̂ ± z·SE.
func CompareNPS(from, to NPSCounts, opt Options) (Change, error) {
	o, err := opt.resolve()
	if err != nil {
		return Change{}, err
	}
	if err := from.validate("from."); err != nil {
		return Change{}, err
	}
	if err := to.validate("to."); err != nil {
		return Change{}, err
	}
	ef, et := npsEstimate(from, o), npsEstimate(to, o)
	diffMethod := MethodWald
	if o.NPSMethod != MethodWald {
		diffMethod = Method("mover_" + string(o.NPSMethod))
	}
	c := newChange(ef, et, o, MethodPooledZ, diffMethod)
	nf, nt := from.N(), to.N()
	if nf == 0 || nt == 0 {
		return c, nil
	}
	df, dt := npsDiff(from), npsDiff(to)
	diff := dt - df
	se := math.Sqrt(npsVariance(from)/float64(nf) + npsVariance(to)/float64(nt))
	c.Difference.Value = Known(100 * diff)
	c.Difference.SE = Known(100 * se)
	lo, hi := mover(100*df, ef.Low.Or(0), ef.High.Or(0), 100*dt, et.Low.Or(0), et.High.Or(0))
	c.Difference.Low, c.Difference.High = Known(math.Max(lo, -200)), Known(math.Min(hi, 200))

	pooled := NPSCounts{
		Promoters:  from.Promoters + to.Promoters,
		Passives:   from.Passives + to.Passives,
		Detractors: from.Detractors + to.Detractors,
	}
	se0 := math.Sqrt(npsVariance(pooled) * (1/float64(nf) + 1/float64(nt)))
	c.setTest(zStatistic(diff, se0))
	return c, nil
}

// zStatistic returns z = diff/se and its two-sided p-value. A zero standard
// error means both samples sit entirely in one category: with no
// difference there is no evidence of change (p = 1).
func zStatistic(diff, se float64) (z, p float64) {
	if se == 0 {
		if diff == 0 {
			return 0, 1
		}
		return math.Copysign(math.Inf(1), diff), 0
	}
	z = diff / se
	return z, twoSidedNormalP(z)
}

// mover combines two independent estimates with intervals into the interval
// of their difference θ_to − θ_from (Zou & Donner 2008; with Wilson
// intervals it is Newcombe's 1998 hybrid score interval).
func mover(from, fromLo, fromHi, to, toLo, toHi float64) (lo, hi float64) {
	d := to - from
	lo = d - math.Hypot(to-toLo, fromHi-from)
	hi = d + math.Hypot(toHi-to, from-fromLo)
	return lo, hi
}

// CompareProportions tests whether a proportion (e.g. CSAT top-2-box)
// changed between two independent samples: xFrom of nFrom, xTo of nTo.
//
// The test is the classic pooled two-proportion z test (equivalent to
// Pearson's χ² on the 2×2 table):
//
//	z = (p̂_to − p̂_from) / √(p̄(1 − p̄)(1/n_from + 1/n_to)),  p̄ = (x_from + x_to)/(n_from + n_to)
//
// The interval of the difference is Newcombe's (1998) hybrid score
// interval ("Interval estimation for the difference between independent
// proportions: comparison of eleven methods", Statistics in Medicine
// 17:873–890, method 10), which combines the two Wilson intervals by MOVER;
// it is the one recommended there for its coverage at small n and near 0
// or 1, where the Wald difference interval fails. Values are fractions.
func CompareProportions(xFrom, nFrom, xTo, nTo int, opt Options) (Change, error) {
	o, err := opt.resolve()
	if err != nil {
		return Change{}, err
	}
	ef, err := Wilson(xFrom, nFrom, o)
	if err != nil {
		return Change{}, err
	}
	et, err := Wilson(xTo, nTo, o)
	if err != nil {
		return Change{}, err
	}
	c := newChange(ef, et, o, MethodTwoProportion, MethodNewcombe)
	if nFrom == 0 || nTo == 0 {
		return c, nil
	}
	pf, pt := float64(xFrom)/float64(nFrom), float64(xTo)/float64(nTo)
	c.Difference.Value = Known(pt - pf)
	c.Difference.SE = Known(math.Sqrt(pf*(1-pf)/float64(nFrom) + pt*(1-pt)/float64(nTo)))
	lo, hi := mover(pf, ef.Low.Or(0), ef.High.Or(0), pt, et.Low.Or(0), et.High.Or(0))
	c.Difference.Low, c.Difference.High = Known(math.Max(lo, -1)), Known(math.Min(hi, 1))
	pbar := float64(xFrom+xTo) / float64(nFrom+nTo)
	c.setTest(zStatistic(pt-pf, math.Sqrt(pbar*(1-pbar)*(1/float64(nFrom)+1/float64(nTo)))))
	return c, nil
}

// CompareTopBox is CompareProportions for the top-k-box of two
// distributions on the same scale.
func CompareTopBox(from, to Distribution, k int, opt Options) (Change, error) {
	if from.Scale != to.Scale {
		return Change{}, kizuna.FieldError("scale", "cannot compare answers on the scale %d–%d with answers on %d–%d",
			from.Scale.Min, from.Scale.Max, to.Scale.Min, to.Scale.Max)
	}
	xFrom, err := topCount(from, k)
	if err != nil {
		return Change{}, err
	}
	xTo, err := topCount(to, k)
	if err != nil {
		return Change{}, err
	}
	return CompareProportions(xFrom, from.N(), xTo, to.N(), opt)
}

// CompareMeans tests whether a mean (CSAT mean, CES, a gap) changed
// between two independent samples with Welch's t test, which does not
// assume equal variances (Welch 1947, "The generalization of 'Student's'
// problem when several different population variances are involved",
// Biometrika 34:28–35):
//
//	t  = (m_to − m_from) / √(s²_from/n_from + s²_to/n_to)
//	df = (a + b)² / (a²/(n_from − 1) + b²/(n_to − 1)),  a = s²_from/n_from, b = s²_to/n_to
//
// and the interval of the difference is (m_to − m_from) ± t(1 − α/2; df)·SE.
// Why Welch and not Student's pooled test: periods differ in size and in
// spread (a bad week polarises answers), and pooled t is then miscalibrated;
// Welch loses almost nothing when the variances happen to be equal (Ruxton
// 2006, Behavioral Ecology 17:688–690). Each side needs n ≥ 2.
func CompareMeans(from, to Summary, opt Options) (Change, error) {
	o, err := opt.resolve()
	if err != nil {
		return Change{}, err
	}
	if err := from.validate("from"); err != nil {
		return Change{}, err
	}
	if err := to.validate("to"); err != nil {
		return Change{}, err
	}
	c := newChange(meanEstimate(from, o), meanEstimate(to, o), o, MethodWelch, MethodWelch)
	if from.N == 0 || to.N == 0 {
		return c, nil
	}
	diff := to.Mean - from.Mean
	c.Difference.Value = Known(diff)
	if from.N < 2 || to.N < 2 {
		// No variance on one side: no SE, no interval, no test.
		if !c.Difference.LowSample {
			c.Difference.LowSample, c.Difference.Reason = true, ReasonBelowMinimum
		}
		return c, nil
	}
	a, b := from.Variance/float64(from.N), to.Variance/float64(to.N)
	se := math.Sqrt(a + b)
	c.Difference.SE = Known(se)
	if se == 0 {
		// Both samples constant: identical means are no change; different
		// constant means are certainly different.
		c.Difference.Low, c.Difference.High = Known(diff), Known(diff)
		c.setTest(zStatistic(diff, 0))
		if !c.Difference.LowSample {
			c.Difference.LowSample, c.Difference.Reason = true, ReasonNoVariation
		}
		return c, nil
	}
	df := (a + b) * (a + b) / (a*a/float64(from.N-1) + b*b/float64(to.N-1))
	half := tQuantile(o.Level, df) * se
	c.Difference.Low, c.Difference.High = Known(diff-half), Known(diff+half)
	c.DF = Known(df)
	t := diff / se
	c.setTest(t, twoSidedTP(t, df))
	return c, nil
}
