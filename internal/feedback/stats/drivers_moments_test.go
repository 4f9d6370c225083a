package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"gonum.org/v1/gonum/stat"
)

// answerDrivers draws n respondents of a survey with p attributes, answered
// the way real ones are: each gap is perceived − expected on a 1–5 scale, an
// integer in −4…4, and the outcome an NPS answer 0…10 (or, when promoter, 1
// for 9–10 and 0 otherwise). The gaps share a common factor with loadings
// that differ per attribute, so they correlate to different degrees (some
// negatively), and their means differ. missing is the chance that any one
// gap is unanswered.
func answerDrivers(r *rand.Rand, n, p int, promoter bool, missing float64) DriverInput {
	in := DriverInput{}
	load := make([]float64, p)
	shift := make([]float64, p)
	weight := make([]float64, p)
	for j := range p {
		in.Attributes = append(in.Attributes, fmt.Sprintf("attr%d", j))
		load[j] = 1.8 * (r.Float64() - 0.3)
		shift[j] = 2 * (r.Float64() - 0.5)
		weight[j] = r.Float64() - 0.2
	}
	for range n {
		f := r.NormFloat64()
		gaps := make([]Number, p)
		y := 6.0
		for j := range p {
			g := math.Round(clamp(shift[j]+load[j]*f+1.2*r.NormFloat64(), -4, 4))
			y += weight[j] * g
			gaps[j] = Known(g)
			if r.Float64() < missing {
				gaps[j] = Missing
			}
		}
		y = math.Round(clamp(y+2*r.NormFloat64(), 0, 10))
		if promoter {
			y = map[bool]float64{false: 0, true: 1}[y >= 9]
		}
		in.Rows = append(in.Rows, DriverRow{Outcome: y, Gaps: gaps})
	}
	return in
}

// driverTolerance bounds the disagreement allowed between two computations
// of the same key-driver result: relative, with an absolute floor for
// figures near 0 given by their natural scale.
type driverTolerance struct {
	rel float64
	// abs is the floor for unit-free figures (p-values, R², standardized
	// coefficients); coefficients and their bounds get abs·SE instead.
	abs float64
}

// worst records the largest relative disagreement seen, for the log; a
// figure smaller than its floor/rel counts as that large.
type worst struct {
	rel  float64
	what string
}

func (w *worst) see(rel float64, what string) {
	if rel > w.rel {
		w.rel, w.what = rel, what
	}
}

// compareDrivers fails unless got and want, two analyses of in, agree on
// every figure and flag.
//
// An exact fit (R² = 1, which tiny samples of integer answers produce) has
// no residual to estimate an error from: the QR residuals are rounding
// noise, so its SE is 1e-15 and its p-values anything, where the normal
// equations give SE 0 and no p-value. There the coefficients, SEs and
// bounds are compared with a floor of abs·s_y/s_x, the natural scale of a
// coefficient, and the p-values not at all.
func compareDrivers(t *testing.T, name string, in DriverInput, got, want DriverResult, tol driverTolerance, w *worst) {
	t.Helper()
	if got.N != want.N || got.Incomplete != want.Incomplete || got.Level != want.Level || got.MinN != want.MinN ||
		got.LowSample != want.LowSample || got.Reason != want.Reason || len(got.Drivers) != len(want.Drivers) {
		t.Errorf("%s: n %d/%d incomplete %d/%d low %v/%v reason %q/%q, want the second of each",
			name, got.N, want.N, got.Incomplete, want.Incomplete, got.LowSample, want.LowSample, got.Reason, want.Reason)
		return
	}
	num := func(what string, g, x Number, abs float64) {
		t.Helper()
		gv, gok := g.Get()
		xv, xok := x.Get()
		if gok != xok {
			t.Errorf("%s: %s = %v, want %v", name, what, g, x)
			return
		}
		if !gok {
			return
		}
		diff := math.Abs(gv - xv)
		scale := math.Max(math.Abs(gv), math.Abs(xv))
		if diff > tol.rel*scale+abs {
			t.Errorf("%s: %s = %.17g, want %.17g (relative difference %.2g)", name, what, gv, xv, diff/scale)
		}
		if s := math.Max(scale, abs/tol.rel); s > 0 {
			w.see(diff/s, name+" "+what)
		}
	}
	num("R²", got.R2, want.R2, tol.abs)
	exact := want.R2.Or(0) > 1-1e-9
	for j, g := range got.Drivers {
		x := want.Drivers[j]
		gc, xc := g.Coefficient, x.Coefficient
		if g.Attribute != x.Attribute || g.Rank != x.Rank || gc.Method != xc.Method || gc.N != xc.N || gc.MinN != xc.MinN ||
			gc.Level != xc.Level || gc.LowSample != xc.LowSample || gc.Reason != xc.Reason {
			t.Errorf("%s: driver %d %+v\nwant %+v", name, j, g, x)
			continue
		}
		floor, seFloor := tol.abs*math.Max(gc.SE.Or(0), xc.SE.Or(0)), 0.0
		if exact {
			floor = tol.abs * coefficientScale(in, j)
			seFloor = floor
		}
		num(g.Attribute+" coefficient", gc.Value, xc.Value, floor)
		num(g.Attribute+" SE", gc.SE, xc.SE, seFloor)
		num(g.Attribute+" low", gc.Low, xc.Low, floor)
		num(g.Attribute+" high", gc.High, xc.High, floor)
		if !exact {
			num(g.Attribute+" p-value", g.PValue, x.PValue, tol.abs)
		}
		num(g.Attribute+" standardized", g.Standardized, x.Standardized, tol.abs)
		num(g.Attribute+" R² contribution", g.R2Contribution, x.R2Contribution, tol.abs)
		num(g.Attribute+" importance", g.Importance, x.Importance, tol.abs)
	}
}

// coefficientScale is s_y/s_x of attribute j over the complete rows: the
// size of a coefficient that moves the outcome one SD per SD of the gap.
func coefficientScale(in DriverInput, j int) float64 {
	var xs, ys []float64
	for _, row := range in.Rows {
		if !slices.ContainsFunc(row.Gaps, func(g Number) bool { return !g.Valid() }) {
			xs, ys = append(xs, row.Gaps[j].Or(0)), append(ys, row.Outcome)
		}
	}
	return stat.StdDev(ys, nil) / stat.StdDev(xs, nil)
}

// TestKeyDriversMatchQR checks the moments implementation against the QR
// one it replaced (keyDriversQR), on 1,440 data sets of integer answers:
// 1 to 12 attributes, n from 0 to 3,000, NPS and promoter (0/1) outcomes,
// with and without missing gaps, and with the degenerate shapes (a constant
// gap, a constant outcome, a gap duplicated or the sum of two others).
func TestKeyDriversMatchQR(t *testing.T) {
	r := rand.New(newSource("drivers/match-qr"))
	tol := driverTolerance{rel: 1e-8, abs: 1e-12}
	var w worst
	reasons := map[Reason]int{}
	fitted := 0
	for p := 1; p <= MaxDriverAttributes; p++ {
		sizes := []int{0, 1, 2, p + 1, p + 2, p + 3, 10*p - 1, 10 * p, 45, 150, 600, 3000}
		if testing.Short() {
			sizes = sizes[:9]
		}
		for _, n := range sizes {
			for _, promoter := range []bool{false, true} {
				for shape := range 5 {
					in := answerDrivers(r, n, p, promoter, []float64{0, 0.04}[shape%2])
					name := fmt.Sprintf("p=%d n=%d promoter=%v shape=%d", p, n, promoter, shape)
					degenerate(in, shape, r)
					got, want := bothWays(t, in)
					compareDrivers(t, name, in, got, want, tol, &w)
					reasons[want.Reason]++
					if want.R2.Valid() {
						fitted++
					}
				}
			}
		}
	}
	t.Logf("reasons %v; %d fitted; largest relative difference %.2g (%s)", reasons, fitted, w.rel, w.what)
	if reasons[ReasonCollinear] == 0 || reasons[ReasonNoVariation] == 0 || fitted < 500 {
		t.Errorf("the data sets do not exercise every branch: %v, %d fitted", reasons, fitted)
	}
}

// degenerate bends a data set into one of the shapes real surveys produce
// by accident: 0 leaves it alone, 1 as well (with missing gaps), 2 makes the
// last gap constant, 3 makes it a copy of the first (or, with three or more
// attributes, the sum of the first two), 4 gives everyone the same outcome
// when the data set is small (and is left alone otherwise, as 0).
func degenerate(in DriverInput, shape int, r *rand.Rand) {
	p := len(in.Attributes)
	switch shape {
	case 2:
		c := float64(r.IntN(9) - 4)
		for _, row := range in.Rows {
			row.Gaps[p-1] = Known(c)
		}
	case 3:
		if p < 2 {
			return
		}
		for _, row := range in.Rows {
			a, aok := row.Gaps[0].Get()
			b, bok := row.Gaps[1].Get()
			switch {
			case p == 2 && aok:
				row.Gaps[1] = Known(a)
			case p > 2 && aok && bok:
				row.Gaps[p-1] = Known(a + b)
			}
		}
	case 4:
		if len(in.Rows) <= 200 {
			for i := range in.Rows {
				in.Rows[i].Outcome = 10
			}
		}
	}
}

// TestKeyDriversMatchQRContinuous compares the two implementations on
// non-integer data, where the raw sums are rounded: gaps drawn from normal
// distributions 30 SDs away from 0 (so centring the sums cancels three
// digits, which two-pass centring of the rows does not) and correlated up
// to ρ = 0.9999. Coefficients then agree to 1e-8 of their SE, and to 1e-7
// and 1e-5 at ρ = 0.99 and 0.9999, whose condition numbers (up to 10³ and
// 10⁵) amplify the rounding. Survey answers are integers, whose sums are exact: see
// TestKeyDriversMatchQR.
func TestKeyDriversMatchQRContinuous(t *testing.T) {
	r := rand.New(newSource("drivers/match-qr-continuous"))
	for _, tt := range []struct{ rho, tol float64 }{{0, 1e-8}, {0.6, 1e-8}, {0.99, 1e-7}, {0.9999, 1e-5}} {
		rho, tol := tt.rho, driverTolerance{rel: tt.tol, abs: tt.tol}
		var w worst
		for _, p := range []int{1, 2, 3, 5, 8, 12} {
			for _, n := range []int{30, 200, 2000, 20000} {
				in := DriverInput{}
				for j := range p {
					in.Attributes = append(in.Attributes, fmt.Sprintf("attr%d", j))
				}
				for range n {
					f := r.NormFloat64()
					gaps := make([]Number, p)
					y := 6.0
					for j := range p {
						g := 30 + float64(j) + rho*f + math.Sqrt(1-rho*rho)*r.NormFloat64()
						gaps[j] = Known(g)
						y += 0.3 * float64(j%3) * g
					}
					in.Rows = append(in.Rows, DriverRow{Outcome: y + r.NormFloat64(), Gaps: gaps})
				}
				got, want := bothWays(t, in)
				compareDrivers(t, fmt.Sprintf("p=%d n=%d ρ=%v", p, n, rho), in, got, want, tol, &w)
			}
		}
		t.Logf("ρ = %v: largest relative difference %.2g (%s)", rho, w.rel, w.what)
	}
}

// TestKeyDriversConstantFromRoundedSums checks that a constant column is
// recognised as one when its sums are rounded (non-integer values, many
// rows), and that an integer column with a single different answer among
// 100,000 still counts as varying.
func TestKeyDriversConstantFromRoundedSums(t *testing.T) {
	r := rand.New(newSource("drivers/constant-rounded"))
	for _, c := range []float64{0.1, 1.0 / 3, 2.7} {
		in := DriverInput{Attributes: []string{"a", "constant"}}
		for range 300_000 {
			a := r.NormFloat64()
			in.Rows = append(in.Rows, DriverRow{Outcome: 5 + a + r.NormFloat64(), Gaps: []Number{Known(a), Known(c)}})
		}
		res, err := KeyDrivers(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != ReasonNone || res.Drivers[1].Coefficient.Reason != ReasonNoVariation {
			t.Errorf("constant gap %v: reason %q, constant's %q", c, res.Reason, res.Drivers[1].Coefficient.Reason)
		}
		near(t, fmt.Sprintf("constant %v: a importance", c), res.Drivers[0].Importance, 1, 1e-12)
		missing(t, "constant coefficient", res.Drivers[1].Coefficient.Value)

		for i := range in.Rows {
			in.Rows[i].Outcome = 6 + c
		}
		res, err = KeyDrivers(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != ReasonNoVariation || res.R2.Valid() {
			t.Errorf("constant outcome %v: reason %q, R² %v", 6+c, res.Reason, res.R2)
		}
	}

	in := DriverInput{Attributes: []string{"a", "rare"}}
	for i := range 100_000 {
		a := float64(r.IntN(9) - 4)
		rare := 4.0
		if i == 500 {
			rare = 3
		}
		in.Rows = append(in.Rows, DriverRow{Outcome: math.Round(clamp(6+a+r.NormFloat64(), 0, 10)), Gaps: []Number{Known(a), Known(rare)}})
	}
	got, want := bothWays(t, in)
	if !got.Drivers[1].Coefficient.Value.Valid() {
		t.Errorf("one different answer in 100,000: %+v", got.Drivers[1])
	}
	var w worst
	compareDrivers(t, "one different answer", in, got, want, driverTolerance{rel: 1e-8, abs: 1e-12}, &w)
}

// TestDriverMomentsMerge checks that the moments of two halves, merged, are
// the moments of the whole: exactly, since integer sums are exact.
func TestDriverMomentsMerge(t *testing.T) {
	r := rand.New(newSource("drivers/merge"))
	for _, p := range []int{1, 4, 12} {
		in := answerDrivers(r, 1001, p, false, 0.05)
		whole, err := MomentsOf(in)
		if err != nil {
			t.Fatal(err)
		}
		var merged DriverMoments // the zero value takes the first part's attributes
		for _, part := range [][]DriverRow{in.Rows[:400], in.Rows[400:401], in.Rows[401:401], in.Rows[401:]} {
			m, err := MomentsOf(DriverInput{Attributes: in.Attributes, Rows: part})
			if err != nil {
				t.Fatal(err)
			}
			if err := merged.Merge(m); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(merged, whole) {
			t.Errorf("p=%d: merged %+v\nwant %+v", p, merged, whole)
		}
		// Adding rows one at a time is the same again.
		added, err := NewDriverMoments(in.Attributes)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range in.Rows {
			if err := added.Add(row); err != nil {
				t.Fatal(err)
			}
		}
		if !reflect.DeepEqual(added, whole) {
			t.Errorf("p=%d: added row by row %+v\nwant %+v", p, added, whole)
		}
	}
	t.Run("merging does not alias", func(t *testing.T) {
		in := answerDrivers(r, 50, 2, false, 0)
		m, _ := MomentsOf(in)
		before := slices.Clone(m.S)
		var total DriverMoments
		if err := total.Merge(m); err != nil {
			t.Fatal(err)
		}
		if err := total.Merge(m); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(m.S, before) || total.S[0] != 100 || total.N != 100 {
			t.Errorf("merge changed its argument or did not add: %v, total n %d", m.S[:3], total.N)
		}
	})
	t.Run("different attributes", func(t *testing.T) {
		a, _ := MomentsOf(answerDrivers(r, 50, 2, false, 0))
		b, _ := a.Select([]string{"attr1", "attr0"})
		err := a.Merge(b)
		if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != "attributes" {
			t.Errorf("merge of reordered attributes: %v", err)
		}
		if a.N != 50 {
			t.Errorf("failed merge changed n to %d", a.N)
		}
	})
}

// TestDriverMomentsSelect checks that the moments restricted to some
// attributes give the analysis of those attributes alone.
func TestDriverMomentsSelect(t *testing.T) {
	r := rand.New(newSource("drivers/select"))
	for _, tt := range []struct {
		p   int
		sel []string
	}{
		{4, []string{"attr0", "attr1", "attr2"}},
		{4, []string{"attr3", "attr1"}},
		{4, []string{"attr2"}},
		{4, []string{"attr3", "attr2", "attr1", "attr0"}},
		{12, []string{"attr11", "attr0", "attr5", "attr7", "attr6"}},
	} {
		name := fmt.Sprintf("%d→%v", tt.p, tt.sel)
		// Without missing gaps the selected moments are exactly the
		// moments of the selected columns, so the results are identical.
		in := answerDrivers(r, 800, tt.p, false, 0)
		m, err := MomentsOf(in)
		if err != nil {
			t.Fatal(err)
		}
		sel, err := m.Select(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		sub := selectColumns(in, tt.sel, false)
		direct, err := MomentsOf(sub)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(sel, direct) {
			t.Errorf("%s: selected %+v\nwant %+v", name, sel, direct)
		}
		got, err := KeyDriversFromMoments(sel, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want, err := KeyDrivers(sub, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: from selected moments %+v\nwant %+v", name, got, want)
		}

		// With missing gaps the rows stay those complete on every
		// attribute of the moments: the same as analysing the selected
		// columns of those rows, with the others counted incomplete.
		in = answerDrivers(r, 800, tt.p, false, 0.03)
		m, _ = MomentsOf(in)
		sel, err = m.Select(tt.sel)
		if err != nil {
			t.Fatal(err)
		}
		got, _ = KeyDriversFromMoments(sel, Options{})
		sub = selectColumns(in, tt.sel, true)
		want, _ = KeyDrivers(sub, Options{})
		want.Incomplete = int(m.Incomplete)
		if got.Incomplete == 0 || !reflect.DeepEqual(got, want) {
			t.Errorf("%s with missing gaps: from selected moments %+v\nwant %+v", name, got, want)
		}
	}
	m, _ := MomentsOf(answerDrivers(r, 10, 3, false, 0))
	for _, tt := range []struct {
		sel   []string
		field string
	}{
		{nil, "attributes"},
		{[]string{"attr0", "nope"}, "attributes[1]"},
		{[]string{"attr0", "attr0"}, "attributes[1]"},
		{[]string{""}, "attributes[0]"},
	} {
		_, err := m.Select(tt.sel)
		if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != tt.field {
			t.Errorf("Select(%q): %v (field %q), want invalid %q", tt.sel, err, kizuna.ErrorField(err), tt.field)
		}
	}
}

// selectColumns keeps the named gaps of every row, in the order named;
// completeOnly drops the rows with any gap missing, kept or not.
func selectColumns(in DriverInput, attrs []string, completeOnly bool) DriverInput {
	out := DriverInput{Attributes: attrs}
	for _, row := range in.Rows {
		if completeOnly && slices.ContainsFunc(row.Gaps, func(g Number) bool { return !g.Valid() }) {
			continue
		}
		gaps := make([]Number, len(attrs))
		for i, a := range attrs {
			gaps[i] = row.Gaps[slices.Index(in.Attributes, a)]
		}
		out.Rows = append(out.Rows, DriverRow{Outcome: row.Outcome, Gaps: gaps})
	}
	return out
}

// TestDriverMomentsJSON checks that moments survive a JSON round trip
// unchanged, so a store may keep them as a document.
func TestDriverMomentsJSON(t *testing.T) {
	in := syntheticDrivers(rand.New(newSource("drivers/json")), 500, 0.1)
	m, err := MomentsOf(in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var back DriverMoments
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, m) {
		t.Errorf("round trip %+v\nwant %+v", back, m)
	}
}

// TestDriverMomentsInvalid checks that moments from outside (a store, an
// API) are rejected with the field at fault, and that Add and MomentsOf
// reject rows as KeyDrivers does.
func TestDriverMomentsInvalid(t *testing.T) {
	good, err := MomentsOf(answerDrivers(rand.New(newSource("drivers/invalid")), 40, 2, false, 0))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(m *DriverMoments)) DriverMoments {
		m := good
		m.Attributes = slices.Clone(good.Attributes)
		m.S = slices.Clone(good.S)
		f(&m)
		return m
	}
	for _, tt := range []struct {
		name  string
		m     DriverMoments
		field string
	}{
		{"zero value", DriverMoments{}, "attributes"},
		{"too many attributes", edit(func(m *DriverMoments) { m.Attributes = make([]string, 13) }), "attributes"},
		{"empty name", edit(func(m *DriverMoments) { m.Attributes[1] = "" }), "attributes[1]"},
		{"negative n", edit(func(m *DriverMoments) { m.N = -1 }), "n"},
		{"negative incomplete", edit(func(m *DriverMoments) { m.Incomplete = -1 }), "incomplete"},
		{"short sums", edit(func(m *DriverMoments) { m.S = m.S[:15] }), "s"},
		{"count differs from n", edit(func(m *DriverMoments) { m.N++ }), "s"},
		{"NaN", edit(func(m *DriverMoments) { m.S[5] = math.NaN() }), "s[5]"},
		{"infinite", edit(func(m *DriverMoments) { m.S[5] = math.Inf(1) }), "s[5]"},
		{"asymmetric", edit(func(m *DriverMoments) { m.S[6]++ }), "s[9]"},
		{"negative square", edit(func(m *DriverMoments) { m.S[10] = -1 }), "s[10]"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := KeyDriversFromMoments(tt.m, Options{})
			if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != tt.field || kizuna.ErrorMessage(err) == "" {
				t.Errorf("error %v: field %q, want invalid %q", err, kizuna.ErrorField(err), tt.field)
			}
			var m DriverMoments
			if err := m.Merge(tt.m); kizuna.ErrorField(err) != tt.field {
				t.Errorf("merge: %v, want invalid %q", err, tt.field)
			}
			if _, err := tt.m.Select([]string{"attr0"}); err == nil {
				t.Error("select of invalid moments succeeded")
			}
		})
	}
	if _, err := KeyDriversFromMoments(good, Options{Level: 2}); kizuna.ErrorField(err) != "level" {
		t.Errorf("bad options: %v", err)
	}

	rows := []struct {
		name  string
		row   DriverRow
		field string
	}{
		{"NaN outcome", DriverRow{Outcome: math.NaN(), Gaps: []Number{Known(1), Known(2)}}, "outcome"},
		{"infinite outcome", DriverRow{Outcome: math.Inf(-1), Gaps: []Number{Known(1), Known(2)}}, "outcome"},
		{"outcome too large to square", DriverRow{Outcome: 1e200, Gaps: []Number{Known(1), Known(2)}}, "outcome"},
		{"too few gaps", DriverRow{Outcome: 9, Gaps: []Number{Known(1)}}, "gaps"},
		{"gap too large to square", DriverRow{Outcome: 9, Gaps: []Number{Known(1), Known(-1e160)}}, "gaps[1]"},
	}
	for _, tt := range rows {
		t.Run(tt.name, func(t *testing.T) {
			m := edit(func(*DriverMoments) {})
			if err := m.Add(tt.row); kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != tt.field {
				t.Errorf("Add: %v (field %q), want invalid %q", err, kizuna.ErrorField(err), tt.field)
			}
			if !reflect.DeepEqual(m, good) {
				t.Error("a rejected row changed the moments")
			}
			in := DriverInput{Attributes: []string{"a", "b"}, Rows: []DriverRow{{Outcome: 1, Gaps: []Number{Known(1), Known(1)}}, tt.row}}
			_, err := MomentsOf(in)
			if want := "rows[1]." + tt.field; kizuna.ErrorField(err) != want {
				t.Errorf("MomentsOf: %v (field %q), want %q", err, kizuna.ErrorField(err), want)
			}
		})
	}
	var zero DriverMoments
	if err := zero.Add(DriverRow{Outcome: 1, Gaps: []Number{Known(1)}}); kizuna.ErrorCode(err) != kizuna.EINVALID {
		t.Errorf("Add to the zero value: %v", err)
	}
	// A row with a missing gap is not checked further: it is not summed.
	m := edit(func(*DriverMoments) {})
	if err := m.Add(DriverRow{Outcome: 9, Gaps: []Number{Missing, Known(1e200)}}); err != nil || m.Incomplete != good.Incomplete+1 || m.N != good.N {
		t.Errorf("incomplete row: %v, n %d incomplete %d", err, m.N, m.Incomplete)
	}
}

// TestShapleyR2Definition checks the subset arithmetic of shapleyR2 against
// the definition: every order in which the gaps can enter, each R² fitted
// by least squares on the rows (QR), independent of the correlation matrix.
func TestShapleyR2Definition(t *testing.T) {
	r := rand.New(newSource("drivers/shapley-definition"))
	for _, p := range []int{1, 2, 3, 4, 5} {
		in := answerDrivers(r, 200, p, false, 0)
		cols := make([]int, p)
		var xs [][]float64
		var ys []float64
		for j := range cols {
			cols[j] = j
		}
		for _, row := range in.Rows {
			x := make([]float64, p)
			for j, g := range row.Gaps {
				x[j] = g.Or(math.NaN())
			}
			xs, ys = append(xs, x), append(ys, row.Outcome)
		}
		phi, full := shapleyR2(dataCorrelation(xs, ys, cols))

		r2 := func(set []int) float64 { // R² of y on the gaps in set, by QR
			if len(set) == 0 {
				return 0
			}
			sub := DriverInput{}
			for _, j := range set {
				sub.Attributes = append(sub.Attributes, in.Attributes[j])
			}
			for i, row := range in.Rows {
				gaps := make([]Number, len(set))
				for c, j := range set {
					gaps[c] = Known(xs[i][j])
				}
				sub.Rows = append(sub.Rows, DriverRow{Outcome: row.Outcome, Gaps: gaps})
			}
			res, err := keyDriversQR(sub, Options{})
			if err != nil {
				t.Fatal(err)
			}
			return res.R2.Or(math.NaN())
		}
		// Average the marginal gains over all p! orders.
		want := make([]float64, p)
		orders := 0
		var permute func(order []int, k int)
		permute = func(order []int, k int) {
			if k == len(order) {
				orders++
				for i, j := range order {
					want[j] += r2(order[:i+1]) - r2(order[:i])
				}
				return
			}
			for i := k; i < len(order); i++ {
				order[k], order[i] = order[i], order[k]
				permute(order, k+1)
				order[k], order[i] = order[i], order[k]
			}
		}
		permute(slices.Clone(cols), 0)
		for j := range want {
			want[j] /= float64(orders)
			near(t, fmt.Sprintf("p=%d φ%d", p, j), Known(phi[j]), want[j], 1e-12)
		}
		near(t, fmt.Sprintf("p=%d R²", p), Known(full), r2(cols), 1e-12)
	}
}

func BenchmarkKeyDriversFromMoments(b *testing.B) {
	for _, p := range []int{4, 12} {
		b.Run(fmt.Sprintf("p=%d", p), func(b *testing.B) {
			m, err := MomentsOf(answerDrivers(rand.New(newSource("drivers/bench")), 5000, p, false, 0.02))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := KeyDriversFromMoments(m, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMomentsOf is the cost of summing a million answers in memory,
// which a rollup pays once per period instead of per dashboard view.
func BenchmarkMomentsOf(b *testing.B) {
	in := answerDrivers(rand.New(newSource("drivers/bench")), 1_000_000, 4, false, 0.02)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MomentsOf(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkKeyDrivers is the analysis of a million answers held in memory,
// by the moments and by the QR reference it replaced.
func BenchmarkKeyDrivers(b *testing.B) {
	in := answerDrivers(rand.New(newSource("drivers/bench")), 1_000_000, 4, false, 0.02)
	for _, impl := range []struct {
		name string
		f    func(DriverInput, Options) (DriverResult, error)
	}{{"moments", KeyDrivers}, {"qr-reference", keyDriversQR}} {
		b.Run(impl.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl.f(in, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// bothWays analyses in with KeyDrivers (through the moments) and with the
// QR reference.
func bothWays(t *testing.T, in DriverInput) (got, want DriverResult) {
	t.Helper()
	want, err := keyDriversQR(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err = KeyDrivers(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return got, want
}
