package stats

import (
	"math"
	"math/bits"
	"sort"

	"github.com/kizuna-oss/kizuna"
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
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
//  1. Ordinary least squares of the outcome on all gaps (QR factorisation
//     via gonum/mat): the effect of one attribute with the others held
//     fixed, with SE = √(σ̂²·[(XᵀX)⁻¹]ⱼⱼ), σ̂² = RSS/(n − p − 1), and a
//     Student t interval. When gaps are correlated (a late delivery also
//     sours the view of staff) these coefficients are individually
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
func KeyDrivers(in DriverInput, opt Options) (DriverResult, error) {
	o, err := opt.resolve()
	if err != nil {
		return DriverResult{}, err
	}
	p := len(in.Attributes)
	if p == 0 || p > MaxDriverAttributes {
		return DriverResult{}, kizuna.FieldError("attributes", "a key-driver analysis needs 1 to %d attributes, got %d", MaxDriverAttributes, p)
	}
	for i, a := range in.Attributes {
		if a == "" {
			return DriverResult{}, kizuna.FieldError(indexField("attributes", i), "attribute name must not be empty")
		}
	}
	var xs [][]float64 // complete rows, p gaps each
	var ys []float64
	incomplete := 0
	for i, r := range in.Rows {
		if math.IsNaN(r.Outcome) || math.IsInf(r.Outcome, 0) {
			return DriverResult{}, kizuna.FieldError(indexField("rows", i)+".outcome", "outcome must be a finite number, got %v", r.Outcome)
		}
		if len(r.Gaps) != p {
			return DriverResult{}, kizuna.FieldError(indexField("rows", i)+".gaps", "want %d gaps (one per attribute), got %d", p, len(r.Gaps))
		}
		row := make([]float64, p)
		complete := true
		for j, g := range r.Gaps {
			v, ok := g.Get()
			if !ok {
				complete = false
				break
			}
			row[j] = v
		}
		if !complete {
			incomplete++
			continue
		}
		xs = append(xs, row)
		ys = append(ys, r.Outcome)
	}
	n := len(ys)
	res := DriverResult{N: n, Incomplete: incomplete, Level: o.Level, MinN: o.MinN, Drivers: make([]Driver, p)}
	for j, a := range in.Attributes {
		res.Drivers[j] = Driver{Attribute: a, Coefficient: newEstimate(n, o, MethodOLS)}
	}
	switch {
	case n == 0:
		res.LowSample, res.Reason = true, ReasonNoData
	case n < o.MinN:
		res.LowSample, res.Reason = true, ReasonBelowMinimum
	case n < MinRowsPerDriver*p:
		res.LowSample, res.Reason = true, ReasonTooFewPerDriver
	}
	for j := range res.Drivers {
		if res.LowSample {
			res.Drivers[j].Coefficient.LowSample, res.Drivers[j].Coefficient.Reason = true, res.Reason
		}
	}

	// Columns that vary; a constant gap carries no information.
	var cols []int
	col := make([]float64, n)
	for j := range p {
		for i := range n {
			col[i] = xs[i][j]
		}
		if n > 1 && stat.Variance(col, nil) > 0 {
			cols = append(cols, j)
		} else {
			res.Drivers[j].Coefficient.LowSample, res.Drivers[j].Coefficient.Reason = true, ReasonNoVariation
		}
	}
	k := len(cols)
	if k == 0 || n <= k+1 {
		// Nothing to fit, or no residual degrees of freedom.
		if !res.LowSample {
			res.flag(ReasonTooFewPerDriver, cols)
		}
		return res, nil
	}
	if stat.Variance(ys, nil) == 0 {
		// Every respondent gave the same score: nothing to explain.
		res.flag(ReasonNoVariation, cols)
		return res, nil
	}

	// Design matrix: intercept and the varying gaps, centred so that the
	// intercept column is orthogonal to the rest (better conditioned).
	means := make([]float64, k)
	for c, j := range cols {
		for i := range n {
			col[i] = xs[i][j]
		}
		means[c] = stat.Mean(col, nil)
	}
	X := mat.NewDense(n, k+1, nil)
	for i := range n {
		X.Set(i, 0, 1)
		for c, j := range cols {
			X.Set(i, c+1, xs[i][j]-means[c])
		}
	}
	y := mat.NewVecDense(n, append([]float64(nil), ys...))
	var qr mat.QR
	qr.Factorize(X)
	// A condition number this large means some gap is (almost) a linear
	// combination of others: the coefficients would be noise.
	if qr.Cond() > 1e10 {
		res.flag(ReasonCollinear, cols)
		return res, nil
	}
	var beta mat.VecDense
	if err := qr.SolveVecTo(&beta, false, y); err != nil {
		return DriverResult{}, kizuna.Errorf(kizuna.EINTERNAL, "key drivers: least squares: %v", err)
	}
	var fitted mat.VecDense
	fitted.MulVec(X, &beta)
	rss := 0.0
	for i := range n {
		r := ys[i] - fitted.AtVec(i)
		rss += r * r
	}
	df := float64(n - k - 1)
	sigma2 := rss / df

	// (XᵀX)⁻¹ = R⁻¹R⁻ᵀ from the QR factor, never forming XᵀX.
	var r mat.Dense
	qr.RTo(&r)
	rt := mat.NewTriDense(k+1, mat.Upper, nil)
	for a := range k + 1 {
		for b := a; b < k+1; b++ {
			rt.SetTri(a, b, r.At(a, b))
		}
	}
	var rinv mat.TriDense
	if err := rinv.InverseTri(rt); err != nil {
		return DriverResult{}, kizuna.Errorf(kizuna.EINTERNAL, "key drivers: inverting R: %v", err)
	}
	var xtxInv mat.Dense
	xtxInv.Mul(&rinv, rinv.T())

	tcrit := tQuantile(o.Level, df)
	sdY := stat.StdDev(ys, nil)
	for c, j := range cols {
		for i := range n {
			col[i] = xs[i][j]
		}
		b := beta.AtVec(c + 1)
		se := math.Sqrt(sigma2 * xtxInv.At(c+1, c+1))
		d := &res.Drivers[j]
		d.Coefficient.Value = Known(b)
		d.Coefficient.SE = Known(se)
		d.Coefficient.Low, d.Coefficient.High = Known(b-tcrit*se), Known(b+tcrit*se)
		if se > 0 {
			d.PValue = Known(twoSidedTP(b/se, df))
		}
		d.Standardized = Known(b * stat.StdDev(col, nil) / sdY)
	}

	// Correlation matrix of the gaps and (last) the outcome.
	data := mat.NewDense(n, k+1, nil)
	for i := range n {
		for c, j := range cols {
			data.Set(i, c, xs[i][j])
		}
		data.Set(i, k, ys[i])
	}
	corr := mat.NewSymDense(k+1, nil)
	stat.CorrelationMatrix(corr, data, nil)
	phi, r2 := shapleyR2(corr)
	res.R2 = Known(r2)
	for c, j := range cols {
		res.Drivers[j].R2Contribution = Known(phi[c])
		if r2 > 0 {
			res.Drivers[j].Importance = Known(phi[c] / r2)
		}
	}
	rankDrivers(res.Drivers)
	return res, nil
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
