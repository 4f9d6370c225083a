package stats

import (
	"testing"
	"time"
)

func TestNPSTrend(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	pts, err := NPSTrend([]NPSBucket{
		{Label: "11-01", Start: day(1), Counts: NPSCounts{Promoters: 45, Passives: 30, Detractors: 25}},
		{Label: "11-02", Start: day(2)}, // nobody answered
		{Label: "11-03", Start: day(3), Counts: NPSCounts{Promoters: 3, Detractors: 1}},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 || pts[0].Label != "11-01" || !pts[2].Start.Equal(day(3)) {
		t.Fatalf("points %+v", pts)
	}
	// Bucket 1 is the pinned 45/30/25 sample.
	near(t, "value", pts[0].Value, 20, 1e-12)
	near(t, "low", pts[0].Low, 3.647787, 1e-5)
	if pts[0].LowSample || pts[0].N != 100 {
		t.Errorf("bucket 1: %+v", pts[0])
	}
	// The empty day stays in the series as a gap, not a fall to 0.
	missing(t, "empty value", pts[1].Value)
	if !pts[1].LowSample || pts[1].Reason != ReasonNoData {
		t.Errorf("bucket 2: %+v", pts[1])
	}
	// Four answers: a value (+50) with a warning.
	near(t, "small value", pts[2].Value, 50, 1e-12)
	if !pts[2].LowSample || pts[2].Reason != ReasonBelowMinimum || pts[2].N != 4 {
		t.Errorf("bucket 3: %+v", pts[2])
	}

	if _, err := NPSTrend([]NPSBucket{{Counts: NPSCounts{Passives: -2}}}, Options{}); err == nil {
		t.Error("negative count accepted")
	}

	props, err := ProportionTrend([]ProportionBucket{{Label: "w1", Successes: 8, N: 10}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "Wilson point", props[0].Low, 0.490162, 1e-6)
	means, err := MeanTrend([]MeanBucket{{Label: "m1", Summary: Summary{N: 5, Mean: 4, Variance: 0.5}}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "t point", means[0].High, 4.877989, 1e-6)
}

func TestCompareTopBoxAndCES(t *testing.T) {
	// 1–5 answers: from has 48 of 80 in 4–5, to has 56 of 70: Newcombe's
	// example again (see TestCompareProportionsPinned).
	from, _ := DistributionFromCounts(CSATScale, []int{10, 10, 12, 28, 20})
	to, _ := DistributionFromCounts(CSATScale, []int{4, 4, 6, 26, 30})
	c, err := CompareTopBox(from, to, 2, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "difference", c.Difference.Value, 0.2, 1e-12)
	near(t, "low", c.Difference.Low, 0.052431, 1e-6)
	if !c.Significant || c.Test != MethodTwoProportion || c.Difference.Method != MethodNewcombe {
		t.Errorf("%+v", c)
	}

	// CES 1–7: 2, 4, 6, 6, 7 → mean 5, s² = (9 + 1 + 1 + 1 + 4)/4 = 4,
	// SE = 2/√5 = 0.894427, t(0.975; 4) = 2.776445 → 5 ± 2.483328.
	d, _ := NewDistribution(CESScale, []int{2, 4, 6, 6, 7})
	r, err := CES(d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	near(t, "CES mean", r.Mean.Value, 5, 1e-12)
	near(t, "CES low", r.Mean.Low, 5-2.483328, 1e-5)
	if r.N != 5 || len(r.Distribution) != 7 || r.Distribution[5].Count != 2 {
		t.Errorf("CES %+v", r)
	}
}
