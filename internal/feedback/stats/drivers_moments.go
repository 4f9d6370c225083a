package stats

import (
	"math"
	"slices"

	"github.com/kizuna-oss/kizuna"
	"gonum.org/v1/gonum/mat"
)

// DriverMoments are the sums a key-driver analysis needs, and all it needs:
// the cross products Σ z_a·z_b over the complete rows, with
// z = (1, gap_1, …, gap_p, outcome). The sums of two sets of rows are the sum
// of their sums (Merge), so a store can keep them per day or month and a
// dashboard can add a dozen of them instead of reading every answer.
//
// With integer answers (gaps −10…10, outcomes 0…10) every sum is an integer,
// exact in float64 while it stays below 2⁵³ (for 10¹³ rows), so moments kept
// this way lose nothing to rounding however they are split and added up.
// Non-integer data lose digits in proportion to (mean/SD)² when the sums
// are centred; TestKeyDriversMatchQRContinuous measures how many.
type DriverMoments struct {
	// Attributes name the gaps, in the order of z.
	Attributes []string `json:"attributes"`
	// N is the number of complete rows summed; Incomplete the rows left
	// out because a gap was missing.
	N          int64 `json:"n"`
	Incomplete int64 `json:"incomplete"`
	// S is the (p+2)×(p+2) symmetric matrix Σ z zᵀ, row-major:
	// S[a·(p+2)+b] = Σ z_a·z_b. Row 0 holds the plain sums (S[0] = N),
	// index p+1 is the outcome.
	S []float64 `json:"s"`
}

// NewDriverMoments returns empty moments for the attributes, to Add rows to.
func NewDriverMoments(attributes []string) (DriverMoments, error) {
	if err := validateAttributes(attributes); err != nil {
		return DriverMoments{}, err
	}
	d := len(attributes) + 2
	return DriverMoments{Attributes: slices.Clone(attributes), S: make([]float64, d*d)}, nil
}

// MomentsOf sums the rows of in. It rejects the input exactly as KeyDrivers
// does (same error fields and messages).
func MomentsOf(in DriverInput) (DriverMoments, error) {
	m, err := NewDriverMoments(in.Attributes)
	if err != nil {
		return DriverMoments{}, err
	}
	for i, r := range in.Rows {
		if err := m.add(r, i); err != nil {
			return DriverMoments{}, err
		}
	}
	return m, nil
}

// Add adds one respondent: to the sums when every gap is present, to
// Incomplete otherwise. The error names the field "outcome" or "gaps".
func (m *DriverMoments) Add(r DriverRow) error {
	p := len(m.Attributes)
	if p == 0 || p > MaxDriverAttributes || len(m.S) != (p+2)*(p+2) {
		return kizuna.Errorf(kizuna.EINVALID, "moments of %d attributes with %d sums: start them with NewDriverMoments", p, len(m.S))
	}
	return m.add(r, -1)
}

// add validates r like KeyDrivers always has, naming fields as those of
// rows[i] (or plainly, for i < 0).
func (m *DriverMoments) add(r DriverRow, i int) error {
	p := len(m.Attributes)
	field := func(name string) string { // only on failure: it allocates
		if i < 0 {
			return name
		}
		return indexField("rows", i) + "." + name
	}
	if math.IsNaN(r.Outcome) || math.IsInf(r.Outcome, 0) {
		return kizuna.FieldError(field("outcome"), "outcome must be a finite number, got %v", r.Outcome)
	}
	if len(r.Gaps) != p {
		return kizuna.FieldError(field("gaps"), "want %d gaps (one per attribute), got %d", p, len(r.Gaps))
	}
	var buf [MaxDriverAttributes + 2]float64
	z := buf[:p+2]
	z[0] = 1
	for j, g := range r.Gaps {
		v, ok := g.Get()
		if !ok {
			m.Incomplete++
			return nil
		}
		if math.IsInf(v*v, 0) {
			return kizuna.FieldError(field(indexField("gaps", j)), "gap %v is too large to square", v)
		}
		z[j+1] = v
	}
	if math.IsInf(r.Outcome*r.Outcome, 0) {
		return kizuna.FieldError(field("outcome"), "outcome %v is too large to square", r.Outcome)
	}
	z[p+1] = r.Outcome
	// Both triangles get the same addends in the same order, so S stays
	// exactly symmetric (validate insists on it).
	d := p + 2
	for a := range d {
		for b := a; b < d; b++ {
			v := z[a] * z[b]
			m.S[a*d+b] += v
			if a != b {
				m.S[b*d+a] += v
			}
		}
	}
	m.N++
	return nil
}

// Merge adds the moments o (of other rows) to m. Both must have the same
// attributes in the same order (Select aligns them); zero-valued m takes o's.
func (m *DriverMoments) Merge(o DriverMoments) error {
	if err := o.validate(); err != nil {
		return err
	}
	if len(m.Attributes) == 0 && len(m.S) == 0 && m.N == 0 && m.Incomplete == 0 {
		*m = DriverMoments{Attributes: slices.Clone(o.Attributes), N: o.N, Incomplete: o.Incomplete, S: slices.Clone(o.S)}
		return nil
	}
	if err := m.validate(); err != nil {
		return err
	}
	if !slices.Equal(m.Attributes, o.Attributes) {
		return kizuna.FieldError("attributes", "cannot add moments of %q to moments of %q: Select the same attributes in the same order first", o.Attributes, m.Attributes)
	}
	m.N += o.N
	m.Incomplete += o.Incomplete
	for i, v := range o.S {
		m.S[i] += v
	}
	return nil
}

// Select returns the moments of some of the attributes, in the order given:
// the sub-block of S. The rows stay those complete on all of m's attributes,
// so N and Incomplete do not change; a row that lacked only a dropped
// attribute is not recovered (sums cannot be unsummed).
func (m DriverMoments) Select(attributes []string) (DriverMoments, error) {
	if err := m.validate(); err != nil {
		return DriverMoments{}, err
	}
	if err := validateAttributes(attributes); err != nil {
		return DriverMoments{}, err
	}
	p := len(m.Attributes)
	// z index of each selected attribute, then the outcome.
	idx := make([]int, 0, len(attributes)+2)
	idx = append(idx, 0)
	for i, a := range attributes {
		if slices.Contains(attributes[:i], a) {
			return DriverMoments{}, kizuna.FieldError(indexField("attributes", i), "attribute %q is selected twice", a)
		}
		j := slices.Index(m.Attributes, a)
		switch {
		case j < 0:
			return DriverMoments{}, kizuna.FieldError(indexField("attributes", i), "no moments for attribute %q (have %q)", a, m.Attributes)
		case slices.Contains(m.Attributes[j+1:], a):
			return DriverMoments{}, kizuna.FieldError(indexField("attributes", i), "attribute %q appears twice in the moments: ambiguous", a)
		}
		idx = append(idx, j+1)
	}
	idx = append(idx, p+1)
	d, e := p+2, len(idx)
	s := make([]float64, e*e)
	for a, ia := range idx {
		for b, ib := range idx {
			s[a*e+b] = m.S[ia*d+ib]
		}
	}
	return DriverMoments{Attributes: slices.Clone(attributes), N: m.N, Incomplete: m.Incomplete, S: s}, nil
}

// validate checks moments that may come from storage: their shape, S[0] = N,
// finite sums, exact symmetry and non-negative sums of squares.
func (m DriverMoments) validate() error {
	if err := validateAttributes(m.Attributes); err != nil {
		return err
	}
	p := len(m.Attributes)
	d := p + 2
	switch {
	case m.N < 0:
		return kizuna.FieldError("n", "the number of complete rows must not be negative, got %d", m.N)
	case m.Incomplete < 0:
		return kizuna.FieldError("incomplete", "the number of incomplete rows must not be negative, got %d", m.Incomplete)
	case len(m.S) != d*d:
		return kizuna.FieldError("s", "want %d sums ((p+2)² for %d attributes), got %d", d*d, p, len(m.S))
	case m.S[0] != float64(m.N):
		return kizuna.FieldError("s", "s[0] counts the rows and must equal n = %d, got %v", m.N, m.S[0])
	}
	for a := range d {
		for b := a; b < d; b++ {
			v := m.S[a*d+b]
			switch {
			case math.IsNaN(v) || math.IsInf(v, 0):
				return kizuna.FieldError(indexField("s", a*d+b), "sums must be finite numbers, got %v", v)
			case v != m.S[b*d+a]:
				return kizuna.FieldError(indexField("s", b*d+a), "sums must be symmetric: s[%d] = %v but s[%d] = %v", a*d+b, v, b*d+a, m.S[b*d+a])
			case a == b && v < 0:
				return kizuna.FieldError(indexField("s", a*d+b), "a sum of squares must not be negative, got %v", v)
			}
		}
	}
	return nil
}

// validateAttributes checks the attribute list of an analysis.
func validateAttributes(attributes []string) error {
	p := len(attributes)
	if p == 0 || p > MaxDriverAttributes {
		return kizuna.FieldError("attributes", "a key-driver analysis needs 1 to %d attributes, got %d", MaxDriverAttributes, p)
	}
	for i, a := range attributes {
		if a == "" {
			return kizuna.FieldError(indexField("attributes", i), "attribute name must not be empty")
		}
	}
	return nil
}

const (
	// maxDriverCondition is the condition number of the gaps' correlation
	// matrix beyond which they count as collinear. The normal equations
	// lose about log₁₀ of it in significant digits, so 1e10 still leaves
	// five or six; and a variance inflation factor above 1e10 means a gap
	// is a linear function of the others up to one part in 10¹⁰, whose
	// separate effect no survey could estimate.
	maxDriverCondition = 1e10
	// epsilon is the spacing of float64 at 1. A column counts as constant
	// when Σ(x − x̄)² ≤ n·epsilon·Σx². Integer answers give exactly 0 for
	// a constant column, and at least Σx²/(2n·max x²) otherwise, above
	// the floor until some five million rows all but one alike. The floor
	// is there for non-integer sums, where a constant column's
	// Σx² − (Σx)²/n is the rounding of n additions rather than 0: up to
	// 0.15·n·epsilon·Σx² in trials (0.1, 1/3, 2.7, 31.4 at n = 10²…10⁷).
	epsilon = 0x1p-52
)

// KeyDriversFromMoments is KeyDrivers computed from the sums of the rows
// instead of the rows (see DriverMoments): the same result, in time that
// depends on the number of attributes only.
//
// The centred cross products C_ab = (N·S_ab − S_a·S_b)/N are formed with a
// fused multiply-add so that, for exact (integer) sums, each is the exactly
// rounded difference; the correlation matrix R of the varying gaps follows.
// OLS solves the normal equations R·β* = r (r the gaps' correlations with
// the outcome) by Cholesky; β = β*·s_y/s_x, RSS = C_yy·(1 − R²) and
// SE_j = √(σ̂²·[R⁻¹]_jj/C_jj). Gaps whose correlation matrix has a condition
// number above 1e10 are reported as collinear.
func KeyDriversFromMoments(m DriverMoments, opt Options) (DriverResult, error) {
	o, err := opt.resolve()
	if err != nil {
		return DriverResult{}, err
	}
	if err := m.validate(); err != nil {
		return DriverResult{}, err
	}
	p := len(m.Attributes)
	n := int(m.N)
	res := DriverResult{N: n, Incomplete: int(m.Incomplete), Level: o.Level, MinN: o.MinN, Drivers: make([]Driver, p)}
	for j, a := range m.Attributes {
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

	d := p + 2
	cross := func(a, b int) float64 { return centredCross(float64(m.N), m.S[a*d+b], m.S[a], m.S[b]) }
	varies := func(a int) bool { return n > 1 && cross(a, a) > float64(n)*epsilon*m.S[a*d+a] }

	// Columns that vary; a constant gap carries no information.
	var cols []int
	for j := range p {
		if varies(j + 1) {
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
	if !varies(p + 1) {
		// Every respondent gave the same score: nothing to explain.
		res.flag(ReasonNoVariation, cols)
		return res, nil
	}

	// Correlation matrix of the varying gaps and (last) the outcome.
	zi := make([]int, k+1) // index in z of each row of corr
	for c, j := range cols {
		zi[c] = j + 1
	}
	zi[k] = p + 1
	sd := make([]float64, k+1) // √C_aa: root sums of squared deviations
	for c, a := range zi {
		sd[c] = math.Sqrt(cross(a, a))
	}
	corr := mat.NewSymDense(k+1, nil)
	for c, a := range zi {
		corr.SetSym(c, c, 1)
		for e := c + 1; e <= k; e++ {
			corr.SetSym(c, e, cross(a, zi[e])/(sd[c]*sd[e]))
		}
	}
	gaps := corr.SliceSym(0, k)
	// Some gap (almost) a linear combination of others: the coefficients
	// would be noise.
	var eig mat.EigenSym
	if !eig.Factorize(gaps, false) {
		res.flag(ReasonCollinear, cols)
		return res, nil
	}
	ev := eig.Values(nil) // ascending
	if !(ev[0] > 0 && ev[k-1] <= maxDriverCondition*ev[0]) {
		res.flag(ReasonCollinear, cols)
		return res, nil
	}
	var chol mat.Cholesky
	if !chol.Factorize(gaps) {
		res.flag(ReasonCollinear, cols)
		return res, nil
	}
	r := mat.NewVecDense(k, nil)
	for c := range k {
		r.SetVec(c, corr.At(c, k))
	}
	var bstd mat.VecDense // standardized coefficients β*
	if err := chol.SolveVecTo(&bstd, r); err != nil {
		return DriverResult{}, kizuna.Errorf(kizuna.EINTERNAL, "key drivers: normal equations: %v", err)
	}
	var rinv mat.SymDense
	if err := chol.InverseTo(&rinv); err != nil {
		return DriverResult{}, kizuna.Errorf(kizuna.EINTERNAL, "key drivers: inverting the correlation matrix: %v", err)
	}
	df := float64(n - k - 1)
	r2 := mat.Dot(r, &bstd)
	rss := math.Max(0, sd[k]*sd[k]*(1-r2)) // an exact fit can round below 0
	sigma2 := rss / df

	tcrit := tQuantile(o.Level, df)
	for c, j := range cols {
		b := bstd.AtVec(c) * sd[k] / sd[c]
		se := math.Sqrt(sigma2*rinv.At(c, c)) / sd[c]
		dr := &res.Drivers[j]
		dr.Coefficient.Value = Known(b)
		dr.Coefficient.SE = Known(se)
		dr.Coefficient.Low, dr.Coefficient.High = Known(b-tcrit*se), Known(b+tcrit*se)
		if se > 0 {
			dr.PValue = Known(twoSidedTP(b/se, df))
		}
		dr.Standardized = Known(bstd.AtVec(c))
	}

	phi, full := shapleyR2(corr)
	res.R2 = Known(full)
	for c, j := range cols {
		res.Drivers[j].R2Contribution = Known(phi[c])
		if full > 0 {
			res.Drivers[j].Importance = Known(phi[c] / full)
		}
	}
	rankDrivers(res.Drivers)
	return res, nil
}

// centredCross returns (n·sab − sa·sb)/n, the sum of products of deviations
// from the means. The difference is formed as Kahan's 2×2 determinant: the
// rounding error of sa·sb, recovered with a fused multiply-add, is added
// back, so the difference is within two ulps of the exact difference of the
// stored sums however much the two products cancel (Jeannerod, Louvet &
// Muller 2013, "Further analysis of Kahan's algorithm for the accurate
// computation of 2×2 determinants", Math. Comp. 82). They cancel when the
// means are large against the spread, and the naive products stop being
// exact for integer sums once n·sab passes 2⁵³.
func centredCross(n, sab, sa, sb float64) float64 {
	w := sa * sb
	e := math.FMA(-sa, sb, w) // w − sa·sb, exactly
	f := math.FMA(n, sab, -w)
	return (f + e) / n
}
