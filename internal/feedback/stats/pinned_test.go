package stats

import (
	"math"
	"testing"
)

// near fails unless n is present and within tol of want.
func near(t *testing.T, what string, n Number, want, tol float64) {
	t.Helper()
	v, ok := n.Get()
	if !ok {
		t.Errorf("%s: missing, want %.6f", what, want)
		return
	}
	if math.Abs(v-want) > tol {
		t.Errorf("%s = %.6f, want %.6f (±%g)", what, v, want, tol)
	}
}

// missing fails unless n is missing.
func missing(t *testing.T, what string, n Number) {
	t.Helper()
	if n.Valid() {
		t.Errorf("%s = %v, want missing", what, n)
	}
}

// z = Φ⁻¹(0.975) = 1.959964 throughout.

func TestNPSPinned(t *testing.T) {
	c := NPSCounts{Promoters: 45, Passives: 30, Detractors: 25}

	// NPS = 45% − 25% = 20.
	// Var(p̂P − p̂D) = [0.45 + 0.25 − 0.20²]/100 = 0.66/100 = 0.0066
	// SE = 100·√0.0066 = 8.124038
	// Wald: 20 ± 1.959964·8.124038 = 20 ± 15.922823 → [4.077177, 35.922823]
	r, err := NPS(c, Options{NPSMethod: MethodWald})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "NPS", r.NPS.Value, 20, 1e-12)
	near(t, "SE", r.NPS.SE, 8.124038, 1e-6)
	near(t, "Wald low", r.NPS.Low, 4.077177, 1e-6)
	near(t, "Wald high", r.NPS.High, 35.922823, 1e-6)
	if r.NPS.N != 100 || r.NPS.LowSample || r.NPS.Reason != ReasonNone {
		t.Errorf("n=%d low=%v reason=%q, want 100, false, none", r.NPS.N, r.NPS.LowSample, r.NPS.Reason)
	}

	// Adjusted Wald (n + 3, +¾ promoter, +¾ detractor):
	// p̃P = 45.75/103 = 0.444175, p̃D = 25.75/103 = 0.250000, d̃ = 0.194175
	// Var = (0.444175 + 0.25 − 0.194175²)/103 = 0.656471/103; SE = 0.079834
	// 0.194175 ± 1.959964·0.079834 → [3.770254, 35.064697]
	r, err = NPS(c, Options{NPSMethod: MethodAdjustedWald})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "adjusted low", r.NPS.Low, 3.770254, 1e-5)
	near(t, "adjusted high", r.NPS.High, 35.064697, 1e-5)
	near(t, "adjusted keeps the observed NPS", r.NPS.Value, 20, 1e-12)

	// Score (Tango): at the lower bound δ = 0.036478 the constrained MLE of
	// the detractor share is q̃ = [B + √(B² + 8·100·25·δ(1−δ))]/400 with
	// B = 70(1−δ) − 2δ·55 = 63.432, so q̃ = 0.330465, Ṽ = 2q̃ + δ − δ² =
	// 0.696076 and (0.2 − 0.036478)/√(Ṽ/100) = 1.959964 = z. Likewise at the
	// upper bound 0.351904 (q̃ = 0.186306). The q̃ formula was checked against
	// a brute-force maximisation of the likelihood.
	r, err = NPS(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.NPS.Method != MethodScore {
		t.Errorf("default method = %q, want score", r.NPS.Method)
	}
	near(t, "score low", r.NPS.Low, 3.647787, 1e-5)
	near(t, "score high", r.NPS.High, 35.190409, 1e-5)

	// Shares with Goodman simultaneous intervals (see TestGoodmanPinned for
	// the formula); the promoter share is 45/100.
	near(t, "promoter share", r.Promoters.Value, 0.45, 1e-12)
	near(t, "detractor share", r.Detractors.Value, 0.25, 1e-12)
	if r.Promoters.Method != MethodGoodman {
		t.Errorf("share method = %q", r.Promoters.Method)
	}
}

func TestNPSOfDistribution(t *testing.T) {
	// Scores 0–10 with counts 5 at each of 0…6 (35 detractors), 10 at 7 and
	// 8 (20 passives), 20 at 9 and 25 at 10 (45 promoters): NPS = 45 − 35 = 10.
	d, err := DistributionFromCounts(NPSScale, []int{5, 5, 5, 5, 5, 5, 5, 10, 10, 20, 25})
	if err != nil {
		t.Fatal(err)
	}
	r, err := NPSOfDistribution(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "NPS", r.NPS.Value, 10, 1e-12)
	if r.Counts != (NPSCounts{Promoters: 45, Passives: 20, Detractors: 35}) || len(r.Distribution) != 11 || r.Distribution[10].Count != 25 {
		t.Errorf("counts %+v, distribution %+v", r.Counts, r.Distribution)
	}
	// Scores straight from answers.
	c, err := CountNPS([]int{10, 9, 8, 7, 6, 0})
	if err != nil {
		t.Fatal(err)
	}
	if c != (NPSCounts{Promoters: 2, Passives: 2, Detractors: 2}) {
		t.Errorf("CountNPS = %+v", c)
	}
}

func TestWilsonPinned(t *testing.T) {
	// 8 of 10, z² = 3.841459:
	// centre = (8 + 1.920729)/(13.841459) = 0.716740
	// half   = 1.959964/13.841459 · √(8·2/10 + 0.960365) = 0.141600 · 1.600114 = 0.226578
	// → [0.490162, 0.943318]  (Brown, Cai & DasGupta 2001 give 0.49–0.94)
	e, err := Wilson(8, 10, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "p", e.Value, 0.8, 1e-12)
	near(t, "low", e.Low, 0.490162, 1e-6)
	near(t, "high", e.High, 0.943318, 1e-6)
	near(t, "SE", e.SE, math.Sqrt(0.8*0.2/10), 1e-12)
	if !e.LowSample || e.Reason != ReasonBelowMinimum {
		t.Errorf("n = 10 must be flagged below the minimum of 30: %+v", e)
	}
	// 0 of 10 and 10 of 10: Wilson stays inside [0, 1] and keeps width,
	// unlike Wald's [0, 0] and [1, 1].
	e, _ = Wilson(0, 10, Options{})
	near(t, "0/10 low", e.Low, 0, 1e-12)
	near(t, "0/10 high", e.High, 3.841459/13.841459, 1e-6) // z²/(n + z²) = 0.277533
	e, _ = Wilson(10, 10, Options{})
	near(t, "10/10 low", e.Low, 10/13.841459, 1e-6)
	near(t, "10/10 high", e.High, 1, 1e-12)
}

func TestGoodmanPinned(t *testing.T) {
	// counts 20/50/30, k = 3: A = χ²₁(1 − 0.05/3) = 2.393980² = 5.731139
	// share 20: [A + 40 ∓ √(A(A + 4·20·80/100))]/(2·105.731139)
	//         = [45.731139 ∓ √(5.731139·69.731139)]/211.462278
	//         = [45.731139 ∓ 19.991...]/211.462278 → [0.121725, 0.310798]
	es, err := Goodman([]int{20, 50, 30}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := [][2]float64{{0.121725, 0.310798}, {0.383590, 0.616410}, {0.203600, 0.418082}}
	for i, w := range want {
		near(t, "goodman low", es[i].Low, w[0], 1e-6)
		near(t, "goodman high", es[i].High, w[1], 1e-6)
	}
	// Simultaneous intervals are wider than per-category Wilson.
	wil, _ := Wilson(20, 100, Options{})
	if !(es[0].Low.Or(0) < wil.Low.Or(0) && es[0].High.Or(0) > wil.High.Or(0)) {
		t.Errorf("Goodman %v–%v should contain Wilson %v–%v", es[0].Low, es[0].High, wil.Low, wil.High)
	}
}

func TestMeanPinned(t *testing.T) {
	// 3, 4, 5, 4, 4: mean 4, deviations −1, 0, 1, 0, 0, SS = 2,
	// s² = 2/4 = 0.5, SE = √(0.5/5) = 0.316228, t(0.975; 4) = 2.776445,
	// half = 0.877989 → [3.122011, 4.877989]
	s, err := Summarize([]float64{3, 4, 5, 4, 4})
	if err != nil {
		t.Fatal(err)
	}
	e, err := Mean(s, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "mean", e.Value, 4, 1e-12)
	near(t, "SE", e.SE, 0.316228, 1e-6)
	near(t, "low", e.Low, 3.122011, 1e-6)
	near(t, "high", e.High, 4.877989, 1e-6)

	// The same from a distribution: 1–5 counts 0,0,1,3,1.
	d, err := DistributionFromCounts(CSATScale, []int{0, 0, 1, 3, 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := CSAT(d, 0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "CSAT mean low", c.Mean.Low, 3.122011, 1e-6)
	// Top-2-box = 4/5 = 0.8.
	near(t, "top box", c.TopBox.Value, 0.8, 1e-12)
	if c.TopK != 2 || c.N != 5 || len(c.Distribution) != 5 || c.Distribution[3].Score != 4 || c.Distribution[3].Count != 3 {
		t.Errorf("CSAT bookkeeping: %+v", c)
	}
}

func TestWelchPinned(t *testing.T) {
	// Student's sleep data (Cushny & Peebles 1905), as in R's
	// t.test(extra ~ group, data = sleep): Welch t = −1.8608,
	// df = 17.776, p = 0.07939, 95% CI of group1 − group2
	// [−3.3654832, 0.2054832]. Here From = group 1, To = group 2, so the
	// signs flip.
	g1, _ := Summarize([]float64{0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0})
	g2, _ := Summarize([]float64{1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4})
	c, err := CompareMeans(g1, g2, Options{MinN: 5})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "difference", c.Difference.Value, 1.58, 1e-12)
	near(t, "t", c.Statistic, 1.860813, 1e-5)
	near(t, "df", c.DF, 17.77647, 1e-4)
	near(t, "p", c.PValue, 0.07939, 1e-5)
	near(t, "low", c.Difference.Low, -0.2054832, 1e-6)
	near(t, "high", c.Difference.High, 3.3654832, 1e-6)
	if c.Significant {
		t.Error("p = 0.079 is not significant at α = 0.05")
	}
	if c.Test != MethodWelch {
		t.Errorf("test = %q", c.Test)
	}
}

func TestCompareProportionsPinned(t *testing.T) {
	// Newcombe (1998) example: 56/70 vs 48/80, hybrid score interval of the
	// difference 0.2 is [0.0524, 0.3339] (his Table II, method 10).
	c, err := CompareProportions(48, 80, 56, 70, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "difference", c.Difference.Value, 0.2, 1e-12)
	near(t, "Newcombe low", c.Difference.Low, 0.052431, 1e-6)
	near(t, "Newcombe high", c.Difference.High, 0.333873, 1e-6)

	// 80/100 → 90/100: p̄ = 0.85, SE₀ = √(0.85·0.15·(1/100 + 1/100)) =
	// 0.0504975, z = 0.1/0.0504975 = 1.980295, p = 2Φ(−1.980295) = 0.047670.
	c, err = CompareProportions(80, 100, 90, 100, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "z", c.Statistic, 1.980295, 1e-6)
	near(t, "p", c.PValue, 0.047670, 1e-6)
	if !c.Significant {
		t.Error("p = 0.0477 is significant at α = 0.05")
	}
}

func TestCompareNPSPinned(t *testing.T) {
	// 45/30/25 → 55/25/20 (n = 100 each): NPS 20 → 35, difference 15.
	// SE = 100·√(0.66/100 + (0.75 − 0.35²)/100) = 100·√0.012875 = 11.346806
	// Pooled under H0: p̄P = 100/200 = 0.5, p̄D = 45/200 = 0.225,
	// v̄ = 0.725 − 0.275² = 0.649375, SE₀ = √(0.649375·0.02) = 0.113963,
	// z = 0.15/0.113963 = 1.316220, p = 0.188100.
	from := NPSCounts{Promoters: 45, Passives: 30, Detractors: 25}
	to := NPSCounts{Promoters: 55, Passives: 25, Detractors: 20}
	c, err := CompareNPS(from, to, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "difference", c.Difference.Value, 15, 1e-9)
	near(t, "SE", c.Difference.SE, 11.346806, 1e-6)
	near(t, "z", c.Statistic, 1.316220, 1e-6)
	near(t, "p", c.PValue, 0.188100, 1e-6)
	if c.Significant {
		t.Error("p = 0.19 is not significant")
	}
	// With Wald intervals MOVER is exactly 15 ± z·SE = [−7.239331, 37.239331].
	c, err = CompareNPS(from, to, Options{NPSMethod: MethodWald})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Wald low", c.Difference.Low, -7.239331, 1e-5)
	near(t, "Wald high", c.Difference.High, 37.239331, 1e-5)
}
