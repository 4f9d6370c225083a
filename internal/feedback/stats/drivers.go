package stats

import (
	"math"
	"math/bits"
	"sort"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// Limits of the key-driver analysis.
const (
	// MaxDriverAttributes bounds the attributes of one analysis: the
	// Shapley decomposition fits all 2^p subsets (4,096 small solves at
	// 12), and a survey asking expectation and perception of more than a
	// dozen attributes is not answered with care anyway.
	MaxDriverAttributes = 12
	// MinRowsPerDriver is the complete responses per attribute below which
	// the result is flagged: the usual "10 events per variable" rule for
	// linear models (Harrell, Regression Modeling Strategies, 2nd ed.,
	// §4.4), under which coefficients are too unstable to rank.
	MinRowsPerDriver = 10
)

// DriverRow is one respondent: the outcome and the gap of each attribute.
type DriverRow struct {
	// Outcome is the NPS answer (0–10) or a promoter indicator (1/0, which
	// makes the regression a linear probability model).
	Outcome float64 `json:"outcome"`
	// Gaps are perceived − expected per attribute, in the order of
	// DriverInput.Attributes; Missing where the respondent skipped it.
	Gaps []Number `json:"gaps"`
}

// DriverInput is the data of a key-driver analysis.
type DriverInput struct {
	Attributes []string    `json:"attributes"`
	Rows       []DriverRow `json:"rows"`
}

// Driver is the result for one attribute.
type Driver struct {
	Attribute string `json:"attribute"`
	// Coefficient is the change in the outcome per one-point rise of the
	// attribute's gap, the other gaps held fixed (OLS), with a t interval
	// on n − p − 1 degrees of freedom.
	Coefficient Estimate `json:"coefficient"`
	// PValue tests Coefficient = 0.
	PValue Number `json:"p_value"`
	// Standardized is the coefficient in standard deviations of the
	// outcome per standard deviation of the gap (β·s_x/s_y), comparable
	// across attributes whose gaps vary differently.
	Standardized Number `json:"standardized"`
	// R2Contribution is the attribute's Shapley share of R² (in R² units);
	// the contributions add up to R².
	R2Contribution Number `json:"r2_contribution"`
	// Importance is R2Contribution/R², a fraction; importances add up to 1.
	Importance Number `json:"importance"`
	// Rank is 1 for the attribute with the largest importance; 0 when the
	// importance is missing.
	Rank int `json:"rank"`
}

// DriverResult is a key-driver analysis.
type DriverResult struct {
	// Drivers are in the order of DriverInput.Attributes.
	Drivers []Driver `json:"drivers"`
	// R2 is the share of the outcome's variance the gaps explain together.
	R2 Number `json:"r2"`
	// N is the number of complete rows used; Incomplete the rows left out
	// because a gap was missing (listwise deletion: every coefficient rests
	// on the same respondents, so they can be compared).
	N          int     `json:"n"`
	Incomplete int     `json:"incomplete"`
	Level      float64 `json:"level"`
	MinN       int     `json:"min_n"`
	LowSample  bool    `json:"low_sample"`
	Reason     Reason  `json:"reason,omitempty"`
}

// KeyDrivers estimates which attribute's expectation gap moves the outcome
// most, two ways that answer different questions:
//
//  1. Ordinary least squares of the outcome on all gaps: the effect of one
//     attribute with the others held fixed, with SE = √(σ̂²·[(XᵀX)⁻¹]ⱼⱼ),
//     σ̂² = RSS/(n − p − 1), and a Student t interval. When gaps are
//     correlated (a late delivery also sours the view of staff) these
//     coefficients are individually
//     uncertain and can even flip sign, which is why ranking by them
//     misleads.
//
//  2. The Shapley decomposition of R² (Lindeman, Merenda & Gold 1980; the
//     "LMG" measure of Grömping 2006, "Relative Importance for Linear
//     Regression in R: The Package relaimpo", Journal of Statistical
//     Software 17(1)): each attribute's contribution to R², averaged over
//     every order in which attributes could enter the model,
//
//     φⱼ = Σ_{S ⊆ P∖{j}} |S|!(p − |S| − 1)!/p! · [R²(S ∪ {j}) − R²(S)]
//
//     with R²(S) = r_Sᵀ C_SS⁻¹ r_S from the correlation matrix C of the
//     gaps and their correlations r with the outcome. The φⱼ are
//     non-negative for R², add up to the full R², and share credit
//     between collinear drivers instead of handing it to one at random;
//     the ranking (Rank) is by φ. Exact for p ≤ MaxDriverAttributes.
//
// Rows with a missing gap are left out (N and Incomplete say how many).
// An attribute whose gap never varies among complete rows gets missing
// figures and the others are fitted without it; gaps so collinear that
// they cannot be separated make the whole result missing (ReasonCollinear).
//
// Both measures depend on the rows only through the sums of DriverMoments:
// KeyDrivers is MomentsOf followed by KeyDriversFromMoments, which is where
// the arithmetic is described.
func KeyDrivers(in DriverInput, opt Options) (DriverResult, error) {
	// Options first, as ever: a bad option is reported before bad rows.
	if _, err := opt.resolve(); err != nil {
		return DriverResult{}, err
	}
	m, err := MomentsOf(in)
	if err != nil {
		return DriverResult{}, err
	}
	return KeyDriversFromMoments(m, opt)
}

// flag marks the result and the coefficients of the fitted columns with a
// reason to distrust them.
func (res *DriverResult) flag(reason Reason, cols []int) {
	res.LowSample, res.Reason = true, reason
	for _, j := range cols {
		res.Drivers[j].Coefficient.LowSample, res.Drivers[j].Coefficient.Reason = true, reason
	}
}

// shapleyR2 returns the Shapley contribution of each gap to the R² of the
// outcome on all of them, and that full R², from the correlation matrix of
// the k gaps with the outcome as row and column k (positive definite on
// the gaps).
func shapleyR2(corr mat.Symmetric) (phi []float64, full float64) {
	k := corr.SymmetricDim() - 1
	// One workspace for the 2^k small solves, calling LAPACK directly:
	// mat.Cholesky would allocate and estimate a condition number for each,
	// which is most of the cost at k = 12.
	a := make([]float64, k*k)
	rs := make([]float64, k)
	w := make([]float64, k)
	idx := make([]int, 0, k)

	r2 := make([]float64, 1<<k) // R² of every subset, by bit mask
	for mask := 1; mask < 1<<k; mask++ {
		idx = idx[:0]
		for c := range k {
			if mask&(1<<c) != 0 {
				idx = append(idx, c)
			}
		}
		m := len(idx)
		for i, ci := range idx {
			rs[i] = corr.At(ci, k)
			for j := i; j < m; j++ {
				a[i*m+j] = corr.At(ci, idx[j])
			}
		}
		copy(w, rs[:m])
		t, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: m, Stride: m, Data: a[:m*m]})
		if !ok {
			// Unreachable after the condition check on the full set: a
			// principal submatrix is no worse conditioned (interlacing).
			r2[mask] = math.NaN()
			continue
		}
		lapack64.Potrs(t, blas64.General{Rows: m, Cols: 1, Stride: 1, Data: w[:m]})
		r2[mask] = floats.Dot(rs[:m], w[:m])
	}
	// Shapley weights |S|!(k − |S| − 1)!/k!.
	fact := make([]float64, k+1)
	fact[0] = 1
	for i := 1; i <= k; i++ {
		fact[i] = fact[i-1] * float64(i)
	}
	phi = make([]float64, k)
	for c := range k {
		bit := 1 << c
		for mask := 0; mask < 1<<k; mask++ {
			if mask&bit != 0 {
				continue
			}
			s := bits.OnesCount(uint(mask))
			w := fact[s] * fact[k-s-1] / fact[k]
			phi[c] += w * (r2[mask|bit] - r2[mask])
		}
	}
	return phi, r2[1<<k-1]
}

// rankDrivers sets Rank by descending importance; ties keep input order.
func rankDrivers(ds []Driver) {
	order := make([]int, 0, len(ds))
	for i, d := range ds {
		if d.Importance.Valid() {
			order = append(order, i)
		}
	}
	sort.SliceStable(order, func(a, b int) bool {
		return ds[order[a]].Importance.Or(0) > ds[order[b]].Importance.Or(0)
	})
	for rank, i := range order {
		ds[i].Rank = rank + 1
	}
}
