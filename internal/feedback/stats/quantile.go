package stats

import (
	"math"

	"gonum.org/v1/gonum/stat/distuv"
)

// zQuantile is the two-sided standard normal critical value for level,
// e.g. 1.959964 for 0.95.
func zQuantile(level float64) float64 {
	return distuv.UnitNormal.Quantile(1 - (1-level)/2)
}

// tQuantile is the two-sided Student t critical value with df degrees of
// freedom (df may be fractional, as Welch's is).
func tQuantile(level, df float64) float64 {
	return distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-level)/2)
}

// twoSidedNormalP is P(|Z| ≥ |z|) for a standard normal Z.
func twoSidedNormalP(z float64) float64 {
	return 2 * distuv.UnitNormal.CDF(-math.Abs(z))
}

// twoSidedTP is P(|T| ≥ |t|) for Student's t with df degrees of freedom.
func twoSidedTP(t, df float64) float64 {
	return 2 * distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.CDF(-math.Abs(t))
}

// clamp limits v to [lo, hi].
func clamp(v, lo, hi float64) float64 {
	return math.Max(lo, math.Min(hi, v))
}

// bisect finds x in [lo, hi] with f(x) = 0, given f(lo) and f(hi) of opposite
// signs. gonum has no scalar root finder (optimize minimises); bisection is
// the one routine written here by hand because it is ten lines, cannot
// diverge, and 60 halvings reach float64 resolution on an interval of
// width ≤ 2.
func bisect(f func(float64) float64, lo, hi float64) float64 {
	flo := f(lo)
	for range 60 {
		mid := (lo + hi) / 2
		fm := f(mid)
		if fm == 0 {
			return mid
		}
		if (fm < 0) == (flo < 0) {
			lo, flo = mid, fm
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}
