package stats

import (
	"math"

	"github.com/kizuna-oss/kizuna"
	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// keyDriversQR is KeyDrivers as it was before DriverMoments: least squares
// by a QR factorisation of the design matrix built from every row, with
// collinearity judged by the condition number of that design. It is kept,
// unchanged but for the shared Shapley step, as an independent reference
// for KeyDriversFromMoments (see TestKeyDriversMatchQR).
func keyDriversQR(in DriverInput, opt Options) (DriverResult, error) {
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

	phi, r2 := shapleyR2(dataCorrelation(xs, ys, cols))
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

// dataCorrelation is the correlation matrix of the gaps cols and the outcome
// (last), computed from the rows by gonum's two-pass formulas.
func dataCorrelation(xs [][]float64, ys []float64, cols []int) *mat.SymDense {
	k := len(cols)
	n := len(ys)
	data := mat.NewDense(n, k+1, nil)
	for i := range n {
		for c, j := range cols {
			data.Set(i, c, xs[i][j])
		}
		data.Set(i, k, ys[i])
	}
	corr := mat.NewSymDense(k+1, nil)
	stat.CorrelationMatrix(corr, data, nil)
	return corr
}
