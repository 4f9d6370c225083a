package stats

import (
	"math"

	"github.com/kizuna-oss/kizuna"
	"gonum.org/v1/gonum/stat/distuv"
)

// Wilson estimates a proportion successes/n with the Wilson (1927) score
// interval:
//
//	centre    = (x + z²/2) / (n + z²)
//	halfwidth = z / (n + z²) · √(x(n − x)/n + z²/4)
//
// Why Wilson and not p̂ ± z√(p̂(1−p̂)/n): the Wald interval collapses to a
// point at 0/n and n/n and covers far less than its nominal level for the
// small n and extreme shares a CSAT of 90%+ produces; Wilson inverts the
// score test, stays inside [0, 1], and keeps coverage close to nominal down
// to n ≈ 10 (Brown, Cai & DasGupta 2001, "Interval Estimation for a Binomial
// Proportion", Statistical Science 16(2):101–133, which recommends it for
// exactly this use). Value and bounds are fractions in [0, 1].
func Wilson(successes, n int, opt Options) (Estimate, error) {
	o, err := opt.resolve()
	if err != nil {
		return Estimate{}, err
	}
	if err := checkCount(successes, n, "successes"); err != nil {
		return Estimate{}, err
	}
	e := newEstimate(n, o, MethodWilson)
	if n == 0 {
		return e, nil
	}
	z := zQuantile(o.Level)
	lo, hi := wilsonBounds(float64(successes), float64(n), z*z)
	p := float64(successes) / float64(n)
	e.Value = Known(p)
	e.SE = Known(math.Sqrt(p * (1 - p) / float64(n)))
	e.Low, e.High = Known(lo), Known(hi)
	return e, nil
}

// wilsonBounds is the Wilson interval for x of n with critical value² z2,
// written as in Goodman (1965) so that the same code serves both.
func wilsonBounds(x, n, z2 float64) (lo, hi float64) {
	centre := z2 + 2*x
	half := math.Sqrt(z2 * (z2 + 4*x*(n-x)/n))
	den := 2 * (n + z2)
	// At x = 0 or x = n the formula gives exactly 0 or 1 in exact
	// arithmetic; clamp away rounding.
	return clamp((centre-half)/den, 0, 1), clamp((centre+half)/den, 0, 1)
}

// checkCount validates 0 ≤ x ≤ n.
func checkCount(x, n int, field string) error {
	if n < 0 {
		return kizuna.FieldError("n", "sample size must not be negative, got %d", n)
	}
	if x < 0 || x > n {
		return kizuna.FieldError(field, "count must be between 0 and n = %d, got %d", n, x)
	}
	return nil
}

// Goodman estimates the shares of k categories of one multinomial sample
// with Goodman's (1965) simultaneous intervals: each share gets a Wilson
// interval whose critical value is A = χ²₁ quantile at 1 − α/k (a Bonferroni
// split of α over the k categories):
//
//	bounds_i = [A + 2nᵢ ∓ √(A(A + 4nᵢ(N − nᵢ)/N))] / [2(N + A)]
//
// Why simultaneous: a dashboard shows the k shares side by side and readers
// compare them; with per-category 95% intervals the chance that at least one
// of three bars misses its true value is up to ~14%. Goodman's intervals hold
// all k at once with probability ≥ Level (Goodman 1965, "On Simultaneous
// Confidence Intervals for Multinomial Proportions", Technometrics
// 7(2):247–254; recommended for small k by May & Johnson 1997, Journal of
// Statistical Computation and Simulation 57:57–65). The price is intervals a
// little wider than per-category Wilson.
func Goodman(counts []int, opt Options) ([]Estimate, error) {
	o, err := opt.resolve()
	if err != nil {
		return nil, err
	}
	n := 0
	for i, c := range counts {
		if c < 0 {
			return nil, kizuna.FieldError("counts", "count %d must not be negative, got %d", i, c)
		}
		n += c
	}
	out := make([]Estimate, len(counts))
	k := len(counts)
	if k == 0 {
		return out, nil
	}
	// χ²₁ at 1 − α/k is z²(1 − α/2k); for k = 1 this is plain Wilson.
	A := distuv.ChiSquared{K: 1}.Quantile(1 - o.alpha()/float64(k))
	for i, c := range counts {
		e := newEstimate(n, o, MethodGoodman)
		if n > 0 {
			p := float64(c) / float64(n)
			lo, hi := wilsonBounds(float64(c), float64(n), A)
			e.Value = Known(p)
			e.SE = Known(math.Sqrt(p * (1 - p) / float64(n)))
			e.Low, e.High = Known(lo), Known(hi)
		}
		out[i] = e
	}
	return out, nil
}
