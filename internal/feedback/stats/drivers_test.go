package stats

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/stat"
)

// syntheticDrivers builds n respondents whose NPS answer depends on three
// gaps with known weights: delivery 1.5, price 0.5 (a third of delivery),
// quality 0. Delivery and price gaps are correlated (ρ = 0.6: a late
// parcel also makes the price feel worse), which is what confuses naive
// rankings. missing is the chance that any one gap is unanswered.
func syntheticDrivers(r *rand.Rand, n int, missing float64) DriverInput {
	in := DriverInput{Attributes: []string{"delivery", "price", "quality"}}
	for range n {
		delivery := r.NormFloat64()
		price := 0.6*delivery + 0.8*r.NormFloat64()
		quality := r.NormFloat64()
		y := 6 + 1.5*delivery + 0.5*price + 0*quality + 1.5*r.NormFloat64()
		gaps := []Number{Known(delivery), Known(price), Known(quality)}
		for j := range gaps {
			if r.Float64() < missing {
				gaps[j] = Missing
			}
		}
		in.Rows = append(in.Rows, DriverRow{Outcome: y, Gaps: gaps})
	}
	return in
}

// TestKeyDriversRecoverTruth fits 1,000 independent synthetic surveys of 300
// respondents (10% of gaps missing) and checks that the analysis (a) ranks
// delivery first in nearly every survey, (b) ranks delivery > price >
// quality in most, and (c) the 95% coefficient intervals cover the true
// weights about 95% of the time (with 1,000 surveys the Monte Carlo SE of
// a coverage is 0.7%, so the band is [93%, 97%]).
func TestKeyDriversRecoverTruth(t *testing.T) {
	const surveys = 1000
	truth := []float64{1.5, 0.5, 0}
	r := rand.New(newSource("drivers/truth"))
	covered := make([]int, 3)
	deliveryFirst, fullOrder := 0, 0
	var meanImportance [3]float64
	for range surveys {
		in := syntheticDrivers(r, 300, 0.10)
		res, err := KeyDrivers(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.N+res.Incomplete != 300 || res.Incomplete < 40 || res.Incomplete > 120 {
			t.Fatalf("n used %d + incomplete %d; with 10%% missing per gap ≈ 27%% of rows are incomplete", res.N, res.Incomplete)
		}
		if res.LowSample {
			t.Fatalf("n = %d flagged: %s", res.N, res.Reason)
		}
		for j, d := range res.Drivers {
			if contains(d.Coefficient, truth[j]) {
				covered[j]++
			}
			meanImportance[j] += d.Importance.Or(0) / surveys
		}
		if res.Drivers[0].Rank == 1 {
			deliveryFirst++
		}
		if res.Drivers[0].Rank == 1 && res.Drivers[1].Rank == 2 && res.Drivers[2].Rank == 3 {
			fullOrder++
		}
	}
	t.Logf("delivery ranked first in %d/%d surveys; full order right in %d/%d", deliveryFirst, surveys, fullOrder, surveys)
	t.Logf("mean importance: delivery %.3f price %.3f quality %.3f", meanImportance[0], meanImportance[1], meanImportance[2])
	for j, a := range []string{"delivery", "price", "quality"} {
		cov := float64(covered[j]) / surveys
		t.Logf("coefficient CI coverage for %s: %.3f", a, cov)
		if cov < 0.93 || cov > 0.97 {
			t.Errorf("%s: coefficient interval covers the true weight in %.3f of surveys, want ≈ 0.95", a, cov)
		}
	}
	if deliveryFirst < surveys*99/100 {
		t.Errorf("delivery ranked first in only %d/%d surveys", deliveryFirst, surveys)
	}
	if fullOrder < surveys*90/100 {
		t.Errorf("full order right in only %d/%d surveys", fullOrder, surveys)
	}
}

// TestKeyDriversOneLargeSurvey checks one big survey closely: coefficients
// near the truth, Shapley contributions adding up to R², R² equal to
// 1 − RSS/TSS.
func TestKeyDriversOneLargeSurvey(t *testing.T) {
	in := syntheticDrivers(rand.New(newSource("drivers/large")), 5000, 0)
	res, err := KeyDrivers(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{1.5, 0.5, 0}
	sum := 0.0
	for j, d := range res.Drivers {
		near(t, d.Attribute+" coefficient", d.Coefficient.Value, want[j], 0.08)
		if d.Coefficient.Method != MethodOLS || d.Coefficient.N != 5000 {
			t.Errorf("%s: %+v", d.Attribute, d.Coefficient)
		}
		sum += d.R2Contribution.Or(math.NaN())
	}
	near(t, "Σ Shapley = R²", Known(sum), res.R2.Or(0), 1e-9)
	// True R² = Var(signal)/Var(y): Var(1.5d + 0.5p) = 2.25 + 0.25 + 2·0.75·0.6 = 3.4; 3.4/(3.4 + 2.25) = 0.602.
	near(t, "R²", res.R2, 0.602, 0.02)
	// Shapley of two correlated drivers: delivery still dominates.
	if !(res.Drivers[0].Importance.Or(0) > 2*res.Drivers[1].Importance.Or(0)) {
		t.Errorf("delivery importance %v not well above price %v", res.Drivers[0].Importance, res.Drivers[1].Importance)
	}
	// Standardised coefficient of delivery: 1.5·sd(d)/sd(y) ≈ 1.5/√5.65 = 0.631.
	near(t, "standardized delivery", res.Drivers[0].Standardized, 0.631, 0.03)
	near(t, "p-value of delivery", res.Drivers[0].PValue, 0, 1e-6)
}

// TestShapleyOrthogonal pins the decomposition where it is known exactly:
// with uncorrelated drivers each Shapley value is the squared correlation
// of that driver with the outcome.
func TestShapleyOrthogonal(t *testing.T) {
	// x1 and x2 form a balanced 2×2 design repeated: exactly uncorrelated.
	x1 := []float64{1, -1, 1, -1}
	x2 := []float64{1, 1, -1, -1}
	noise := []float64{0.3, -0.2, 0.1, -0.4, 0.5, 0.2, -0.3, 0.1, -0.1, 0.4, -0.5, 0.2}
	in := DriverInput{Attributes: []string{"x1", "x2"}}
	var xs1, xs2, ys []float64
	for i := range 48 {
		a, b := x1[i%4], x2[i%4]
		y := 7 + 2*a + 1*b + noise[i%12]
		in.Rows = append(in.Rows, DriverRow{Outcome: y, Gaps: []Number{Known(a), Known(b)}})
		xs1, xs2, ys = append(xs1, a), append(xs2, b), append(ys, y)
	}
	res, err := KeyDrivers(in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r1, r2 := stat.Correlation(xs1, ys, nil), stat.Correlation(xs2, ys, nil)
	near(t, "φ₁ = r₁²", res.Drivers[0].R2Contribution, r1*r1, 1e-9)
	near(t, "φ₂ = r₂²", res.Drivers[1].R2Contribution, r2*r2, 1e-9)
	if res.Drivers[0].Rank != 1 || res.Drivers[1].Rank != 2 {
		t.Errorf("ranks %d, %d", res.Drivers[0].Rank, res.Drivers[1].Rank)
	}
}

func TestKeyDriversDegenerate(t *testing.T) {
	r := rand.New(newSource("drivers/degenerate"))
	row := func(y float64, gaps ...float64) DriverRow {
		ns := make([]Number, len(gaps))
		for i, g := range gaps {
			ns[i] = Known(g)
		}
		return DriverRow{Outcome: y, Gaps: ns}
	}
	t.Run("collinear", func(t *testing.T) {
		in := DriverInput{Attributes: []string{"a", "b"}}
		for range 100 {
			a := r.NormFloat64()
			in.Rows = append(in.Rows, row(5+a+r.NormFloat64(), a, 2*a))
		}
		res, err := KeyDrivers(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != ReasonCollinear || !res.LowSample {
			t.Fatalf("reason %q", res.Reason)
		}
		missing(t, "coefficient", res.Drivers[0].Coefficient.Value)
		missing(t, "importance", res.Drivers[1].Importance)
	})
	t.Run("everyone gave the same score", func(t *testing.T) {
		in := DriverInput{Attributes: []string{"a"}}
		for range 50 {
			in.Rows = append(in.Rows, row(10, r.NormFloat64()))
		}
		res, err := KeyDrivers(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Reason != ReasonNoVariation || res.Drivers[0].Coefficient.Reason != ReasonNoVariation {
			t.Errorf("reason %q / %q", res.Reason, res.Drivers[0].Coefficient.Reason)
		}
		missing(t, "R²", res.R2)
	})
	t.Run("constant attribute is left out", func(t *testing.T) {
		in := DriverInput{Attributes: []string{"a", "constant"}}
		for range 100 {
			a := r.NormFloat64()
			in.Rows = append(in.Rows, row(5+a+0.5*r.NormFloat64(), a, 1))
		}
		res, err := KeyDrivers(in, Options{})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "a coefficient", res.Drivers[0].Coefficient.Value, 1, 0.2)
		near(t, "a importance", res.Drivers[0].Importance, 1, 1e-12)
		missing(t, "constant coefficient", res.Drivers[1].Coefficient.Value)
		if res.Drivers[1].Coefficient.Reason != ReasonNoVariation || res.Drivers[1].Rank != 0 {
			t.Errorf("constant attribute: %+v", res.Drivers[1])
		}
	})
	for _, tt := range []struct {
		rows, attrs int
		reason      Reason
		fitted      bool
	}{
		{0, 2, ReasonNoData, false},
		{3, 2, ReasonBelowMinimum, false}, // n ≤ p + 1: nothing to estimate an error from
		{25, 2, ReasonBelowMinimum, true},
		{40, 5, ReasonTooFewPerDriver, true}, // 40 < 10·5
		{60, 5, ReasonNone, true},
	} {
		t.Run(fmt.Sprintf("n=%d p=%d", tt.rows, tt.attrs), func(t *testing.T) {
			in := DriverInput{}
			for j := range tt.attrs {
				in.Attributes = append(in.Attributes, fmt.Sprintf("attr%d", j))
			}
			for range tt.rows {
				gaps := make([]float64, tt.attrs)
				y := 5.0
				for j := range gaps {
					gaps[j] = r.NormFloat64()
					y += gaps[j]
				}
				in.Rows = append(in.Rows, row(y+r.NormFloat64(), gaps...))
			}
			res, err := KeyDrivers(in, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Reason != tt.reason || res.LowSample != (tt.reason != ReasonNone) || res.N != tt.rows {
				t.Errorf("n=%d reason %q low %v", res.N, res.Reason, res.LowSample)
			}
			if res.Drivers[0].Coefficient.Value.Valid() != tt.fitted {
				t.Errorf("fitted = %v, want %v", res.Drivers[0].Coefficient.Value.Valid(), tt.fitted)
			}
			if res.Drivers[0].Coefficient.LowSample != res.LowSample {
				t.Errorf("coefficient flag %v differs from result flag %v", res.Drivers[0].Coefficient.LowSample, res.LowSample)
			}
		})
	}
}
