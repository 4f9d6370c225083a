package stats

import (
	"math"
	"sync"

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
	cacheable := df == math.Trunc(df) && df <= maxCachedDF
	if cacheable {
		if v, ok := tCache.Load(tKey{level, df}); ok {
			return v.(float64)
		}
	}
	v := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(1 - (1-level)/2)
	if cacheable {
		tCache.Store(tKey{level, df}, v)
	}
	return v
}

// The t quantile inverts the incomplete beta function, which costs ~10 µs;
// a trend or breakdown computes one per bucket, mostly for the same few
// integer degrees of freedom. Caching them (at most maxCachedDF per level,
// a few kilobytes) keeps dashboards and the coverage tests fast; Welch's
// fractional df are computed afresh.
const maxCachedDF = 2000

type tKey struct{ level, df float64 }

var tCache sync.Map // tKey → float64

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
// diverge, and 36 halvings of an interval of width ≤ 2 leave an error
// below 3e-11 (3e-9 NPS points), far under any displayed digit.
func bisect(f func(float64) float64, lo, hi float64) float64 {
	flo := f(lo)
	for range 36 {
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
