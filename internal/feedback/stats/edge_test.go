package stats

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna"
)

func TestNPSEdgeCases(t *testing.T) {
	tests := []struct {
		name        string
		counts      NPSCounts
		value       float64 // NaN: missing
		lowSample   bool
		reason      Reason
		lowAt, hiAt float64 // bounds of the default (score) interval; NaN: missing
		lowLE, hiGE bool    // compare bounds with ≤ / ≥ instead of equality
	}{
		{name: "n = 0", counts: NPSCounts{}, value: math.NaN(), lowSample: true, reason: ReasonNoData, lowAt: math.NaN(), hiAt: math.NaN()},
		// All promoters: the score interval keeps a lower bound well below
		// 100 (Wald would give [100, 100]); with n = 40 it is about 83.
		{name: "all promoters", counts: NPSCounts{Promoters: 40}, value: 100, lowAt: 83, hiAt: 100, lowLE: true},
		{name: "all detractors", counts: NPSCounts{Detractors: 40}, value: -100, lowAt: -100, hiAt: -83, hiGE: true},
		// All passives: with a = b = 0 the constrained MLE puts the other
		// share at 0, so Z(δ) = δ/√((δ − δ²)/n) = z gives |δ| = z²/(n + z²)
		// = 3.841459/43.841459 = 8.762 points.
		{name: "all passives", counts: NPSCounts{Passives: 40}, value: 0, lowAt: -100 * 3.841459 / 43.841459, hiAt: 100 * 3.841459 / 43.841459},
		// n = 1: a value, flagged, and an interval nearly as wide as the scale.
		{name: "n = 1 promoter", counts: NPSCounts{Promoters: 1}, value: 100, lowSample: true, reason: ReasonBelowMinimum, lowAt: 0, hiAt: 100, lowLE: true},
		{name: "n = 29 is below 30", counts: NPSCounts{Promoters: 10, Passives: 10, Detractors: 9}, value: 100.0 / 29, lowSample: true, reason: ReasonBelowMinimum, lowAt: -20, hiAt: 25, lowLE: true, hiGE: true},
		{name: "n = 30 is enough", counts: NPSCounts{Promoters: 10, Passives: 10, Detractors: 10}, value: 0, lowAt: -20, hiAt: 20, lowLE: true, hiGE: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NPS(tt.counts, Options{})
			if err != nil {
				t.Fatal(err)
			}
			e := r.NPS
			if math.IsNaN(tt.value) {
				missing(t, "value", e.Value)
				missing(t, "SE", e.SE)
			} else {
				near(t, "value", e.Value, tt.value, 1e-9)
			}
			if e.LowSample != tt.lowSample || e.Reason != tt.reason {
				t.Errorf("low sample %v %q, want %v %q", e.LowSample, e.Reason, tt.lowSample, tt.reason)
			}
			if e.N != tt.counts.N() {
				t.Errorf("n = %d, want %d", e.N, tt.counts.N())
			}
			if math.IsNaN(tt.lowAt) {
				missing(t, "low", e.Low)
				missing(t, "high", e.High)
				return
			}
			lo, okl := e.Low.Get()
			hi, okh := e.High.Get()
			if !okl || !okh {
				t.Fatalf("interval missing: %v %v", e.Low, e.High)
			}
			if lo < -100 || hi > 100 || lo > e.Value.Or(0) || hi < e.Value.Or(0) {
				t.Errorf("interval [%v, %v] must hold the value %v inside [−100, 100]", lo, hi, e.Value)
			}
			if (tt.lowLE && lo > tt.lowAt) || (!tt.lowLE && math.Abs(lo-tt.lowAt) > 1e-5) {
				t.Errorf("low = %v, want %s %v", lo, map[bool]string{true: "≤", false: "="}[tt.lowLE], tt.lowAt)
			}
			if (tt.hiGE && hi < tt.hiAt) || (!tt.hiGE && math.Abs(hi-tt.hiAt) > 1e-5) {
				t.Errorf("high = %v, want %s %v", hi, map[bool]string{true: "≥", false: "="}[tt.hiGE], tt.hiAt)
			}
		})
	}
}

// TestNPSWaldDegenerates documents why Wald is not the default: it claims
// certainty from 40 answers.
func TestNPSWaldDegenerates(t *testing.T) {
	r, _ := NPS(NPSCounts{Promoters: 40}, Options{NPSMethod: MethodWald})
	near(t, "Wald low", r.NPS.Low, 100, 0)
	for _, m := range []Method{MethodAdjustedWald, MethodScore} {
		r, _ := NPS(NPSCounts{Promoters: 40}, Options{NPSMethod: m})
		if r.NPS.Low.Or(100) > 95 {
			t.Errorf("%s: lower bound %v for 40/40 promoters is overconfident", m, r.NPS.Low)
		}
	}
}

// TestScoreIntervalInvertsTheTest checks the defining property of the score
// interval on many samples: at each bound the score statistic equals z, and
// it is below z strictly inside (sampled at 50 points).
func TestScoreIntervalInvertsTheTest(t *testing.T) {
	z := zQuantile(0.95)
	for _, c := range []NPSCounts{{1, 0, 0}, {3, 2, 1}, {45, 30, 25}, {0, 7, 93}, {12, 0, 11}, {300, 90, 10}, {0, 40, 0}, {0, 0, 40}} {
		lo, hi := npsScore(c, z)
		n := float64(c.N())
		d := npsDiff(c)
		a, b, m := float64(c.Promoters), float64(c.Detractors), float64(c.Passives)
		stat := func(delta float64) float64 { // written out again on purpose
			B := (a+b)*(1-delta) - 2*delta*(b+m)
			q := (B + math.Sqrt(math.Max(0, B*B+8*n*b*delta*(1-delta)))) / (4 * n)
			q = clamp(q, math.Max(0, -delta), (1-delta)/2)
			return math.Abs(d-delta) / math.Sqrt((2*q+delta-delta*delta)/n)
		}
		for _, bound := range []float64{lo, hi} {
			if math.Abs(bound) < 1-1e-9 && math.Abs(stat(bound)-z) > 1e-6 {
				t.Errorf("%+v: statistic at bound %v is %v, want z = %v", c, bound, stat(bound), z)
			}
		}
		for i := 1; i < 50; i++ {
			delta := lo + (hi-lo)*float64(i)/50
			if s := stat(delta); s > z+1e-9 {
				t.Errorf("%+v: statistic %v > z inside the interval at %v", c, s, delta)
			}
		}
	}
}

func TestInvalidInput(t *testing.T) {
	tests := []struct {
		name  string
		call  func() error
		field string
	}{
		{"NPS score 11", func() error { _, err := CountNPS([]int{9, 10, 11}); return err }, "scores[2]"},
		{"NPS score −1", func() error { _, err := CountNPS([]int{-1}); return err }, "scores[0]"},
		{"classify 12", func() error { _, err := ClassifyNPS(12); return err }, "score"},
		{"negative count", func() error { _, err := NPS(NPSCounts{Promoters: -1}, Options{}); return err }, "promoters"},
		{"histogram of 10", func() error {
			_, err := DistributionFromCounts(NPSScale, make([]int, 10))
			return err
		}, "counts"},
		{"CSAT score 6", func() error { _, err := NewDistribution(CSATScale, []int{5, 6}); return err }, "scores[1]"},
		{"CSAT score 0", func() error { _, err := NewDistribution(CSATScale, []int{0}); return err }, "scores[0]"},
		{"bad scale", func() error { _, err := NewDistribution(Scale{Min: 5, Max: 1}, nil); return err }, "scale"},
		{"top box 5 of 5", func() error {
			d, _ := NewDistribution(CSATScale, []int{5})
			_, err := TopBox(d, 5, Options{})
			return err
		}, "top_k"},
		{"Wilson 11 of 10", func() error { _, err := Wilson(11, 10, Options{}); return err }, "successes"},
		{"level 1", func() error { _, err := Wilson(1, 10, Options{Level: 1}); return err }, "level"},
		{"level −0.5", func() error { _, err := Wilson(1, 10, Options{Level: -0.5}); return err }, "level"},
		{"negative min n", func() error { _, err := Wilson(1, 10, Options{MinN: -1}); return err }, "min_n"},
		{"unknown method", func() error { _, err := NPS(NPSCounts{}, Options{NPSMethod: "bootstrap"}); return err }, "nps_method"},
		{"NaN value", func() error { _, err := Summarize([]float64{1, math.NaN()}); return err }, "values[1]"},
		{"perceived off scale", func() error {
			_, err := ExpectationGap("price", CSATScale, []GapPair{{3, 3}, {3, 9}}, Options{})
			return err
		}, "pairs[1].perceived"},
		{"threshold beyond scale", func() error {
			_, err := ExpectationGap("price", CSATScale, nil, Options{DelightThreshold: 5})
			return err
		}, "delight_threshold"},
		{"compare different scales", func() error {
			a, _ := NewDistribution(CSATScale, []int{5})
			b, _ := NewDistribution(CESScale, []int{7})
			_, err := CompareTopBox(a, b, 2, Options{})
			return err
		}, "scale"},
		{"second attribute off scale", func() error {
			_, err := ExpectationGaps(CSATScale, []AttributeGaps{
				{Attribute: "price", Pairs: []GapPair{{3, 3}}},
				{Attribute: "staff", Pairs: []GapPair{{3, 3}, {0, 3}}},
			}, Options{})
			return err
		}, "attributes[1].pairs[1].expected"},
		{"NPS of a 1–5 distribution", func() error {
			d, _ := NewDistribution(CSATScale, []int{5})
			_, err := NPSOfDistribution(d, Options{})
			return err
		}, "scale"},
		{"drivers without attributes", func() error { _, err := KeyDrivers(DriverInput{}, Options{}); return err }, "attributes"},
		{"drivers row too short", func() error {
			_, err := KeyDrivers(DriverInput{Attributes: []string{"a", "b"}, Rows: []DriverRow{{Outcome: 9, Gaps: []Number{Known(1)}}}}, Options{})
			return err
		}, "rows[0].gaps"},
		{"drivers NaN outcome", func() error {
			_, err := KeyDrivers(DriverInput{Attributes: []string{"a"}, Rows: []DriverRow{{Outcome: math.NaN(), Gaps: []Number{Known(1)}}}}, Options{})
			return err
		}, "rows[0].outcome"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			if kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != tt.field {
				t.Errorf("error %q: code %q field %q, want invalid %q", err, kizuna.ErrorCode(err), kizuna.ErrorField(err), tt.field)
			}
			if kizuna.ErrorMessage(err) == "" {
				t.Error("empty message")
			}
		})
	}
}

func TestMeanEdgeCases(t *testing.T) {
	e, _ := Mean(Summary{}, Options{})
	missing(t, "n=0 value", e.Value)
	if e.Reason != ReasonNoData {
		t.Errorf("reason %q", e.Reason)
	}
	e, _ = Mean(Summary{N: 1, Mean: 4}, Options{})
	near(t, "n=1 value", e.Value, 4, 0)
	missing(t, "n=1 SE", e.SE)
	missing(t, "n=1 low", e.Low)
	// 40 identical answers: zero-width interval, flagged.
	d, _ := DistributionFromCounts(CSATScale, []int{0, 0, 0, 0, 40})
	c, _ := CSAT(d, 0, Options{})
	if !c.Mean.LowSample || c.Mean.Reason != ReasonNoVariation {
		t.Errorf("identical answers not flagged: %+v", c.Mean)
	}
	// …while the top box, by Wilson, stays honest: 40/40 → [0.912, 1].
	near(t, "top box low", c.TopBox.Low, 40/(40+3.841459), 1e-6)
	if c.TopBox.LowSample {
		t.Errorf("top box of 40 flagged: %+v", c.TopBox)
	}
}

func TestCompareEdgeCases(t *testing.T) {
	c, err := CompareNPS(NPSCounts{}, NPSCounts{Promoters: 50}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	missing(t, "difference", c.Difference.Value)
	missing(t, "p", c.PValue)
	if c.Significant || !c.Difference.LowSample || c.Difference.Reason != ReasonNoData {
		t.Errorf("empty period: %+v", c)
	}
	// Both periods all promoters: no change, p = 1.
	c, _ = CompareNPS(NPSCounts{Promoters: 50}, NPSCounts{Promoters: 60}, Options{})
	near(t, "p", c.PValue, 1, 0)
	if c.Significant {
		t.Error("no change is not significant")
	}
	// A small side flags the difference.
	c, _ = CompareNPS(NPSCounts{Promoters: 5, Detractors: 5}, NPSCounts{Promoters: 60, Detractors: 40}, Options{})
	if !c.Difference.LowSample || c.Difference.Reason != ReasonBelowMinimum {
		t.Errorf("small period not flagged: %+v", c.Difference)
	}
	// Means with n = 1 on one side: a difference but no test.
	m, _ := CompareMeans(Summary{N: 1, Mean: 3}, Summary{N: 40, Mean: 4, Variance: 1}, Options{})
	near(t, "difference", m.Difference.Value, 1, 1e-12)
	missing(t, "p", m.PValue)
}

func TestGapClassification(t *testing.T) {
	tests := []struct {
		expected, perceived, threshold int
		want                           GapClass
	}{
		{5, 4, 2, Dissatisfied},
		{1, 7, 2, Delighted},
		{3, 3, 2, Satisfied},
		{3, 4, 2, Satisfied}, // one above: confirmation
		{3, 5, 2, Delighted}, // exactly the threshold
		{3, 5, 3, Satisfied},
		{4, 5, 1, Delighted},
	}
	for _, tt := range tests {
		if got := ClassifyGap(tt.expected, tt.perceived, tt.threshold); got != tt.want {
			t.Errorf("ClassifyGap(%d, %d, %d) = %q, want %q", tt.expected, tt.perceived, tt.threshold, got, tt.want)
		}
	}
}

func TestExpectationGapPinned(t *testing.T) {
	// Delivery on 1–5, threshold 2: gaps −2, −1, 0, 1, 2, 3 →
	// dissatisfied 2, satisfied 2, delighted 2; mean gap 0.5,
	// s² = Σ(g − 0.5)²/5 = (6.25 + 2.25 + 0.25 + 0.25 + 2.25 + 6.25)/5 = 3.5,
	// SE = √(3.5/6) = 0.763763, t(0.975; 5) = 2.570582 →
	// 0.5 ± 1.963311 = [−1.463311, 2.463311].
	pairs := []GapPair{{5, 3}, {4, 3}, {3, 3}, {3, 4}, {3, 5}, {2, 5}}
	s, err := ExpectationGap("delivery", CSATScale, pairs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.DissatisfiedCount != 2 || s.SatisfiedCount != 2 || s.DelightedCount != 2 || s.N != 6 || s.Threshold != 2 {
		t.Fatalf("counts %+v", s)
	}
	near(t, "dissatisfied share", s.Dissatisfied.Value, 1.0/3, 1e-12)
	near(t, "mean gap", s.MeanGap.Value, 0.5, 1e-12)
	near(t, "mean gap low", s.MeanGap.Low, -1.463311, 1e-5)
	near(t, "mean gap high", s.MeanGap.High, 2.463311, 1e-5)
	if !s.MeanGap.LowSample || !s.Delighted.LowSample {
		t.Error("n = 6 must be flagged")
	}
	if s.Delighted.Method != MethodGoodman {
		t.Errorf("share method %q", s.Delighted.Method)
	}
	// Empty attribute: no values at all.
	s, err = ExpectationGap("staff", CESScale, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	missing(t, "empty share", s.Delighted.Value)
	missing(t, "empty gap", s.MeanGap.Value)
}

func TestJSONHasNoNaN(t *testing.T) {
	r, _ := NPS(NPSCounts{}, Options{})
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	if !strings.Contains(s, `"value":null`) || strings.Contains(s, "NaN") {
		t.Errorf("empty NPS JSON: %s", s)
	}
	if !strings.Contains(s, `"reason":"no_data"`) || !strings.Contains(s, `"low_sample":true`) {
		t.Errorf("empty NPS JSON lacks the warning: %s", s)
	}
	r, _ = NPS(NPSCounts{Promoters: 45, Passives: 30, Detractors: 25}, Options{})
	b, _ = json.Marshal(r)
	var back NPSResult
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.NPS.Value != r.NPS.Value || back.NPS.Low != r.NPS.Low {
		t.Errorf("round trip %+v != %+v", back.NPS, r.NPS)
	}
	if Known(math.NaN()).Valid() || Known(math.Inf(1)).Valid() {
		t.Error("NaN and Inf must be missing")
	}
}
