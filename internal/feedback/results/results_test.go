package results

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// sample is the small survey every pinned figure below is computed from
// by hand:
//
//	i  day         touchpoint nps csat ces quality(e,p) price(e,p) again topics        comment    customer
//	0  2026-03-02  purchase    10   5   7   3,5          4,4        yes  [fit,price]   Great fit  A (JP, loyal, plan gold)
//	1  2026-03-02  purchase    10   5   6   3,3          4,3        yes  [fit]                    A
//	2  2026-03-03  purchase     9   4   6   4,3          3,3        yes  []            Nice       B (GB, customer, plan silver)
//	3  2026-03-04  delivery     9   4   5   2,5          2,4        yes
//	4  2026-03-05  delivery     9   5   5   4,4          5,2        no
//	5  2026-03-09  purchase     8   3   4                           yes
//	6  2026-03-10  purchase     7   4   3
//	7  2026-03-11  delivery     6   2   2                                              Late
//	8  2026-04-01  delivery     3   1   1                                              Broken
//	9  2026-04-02  purchase     0   5   7
//
// plus a flagged response (too_fast; nps 0, csat 1), a partial one and an
// abandoned one (nps 0 each), none of which the default figures count.
func loadSample(t *testing.T, d *db.DB) testSurvey {
	t.Helper()
	s := createSurvey(t, d, "sample", testDef, feedback.Settings{})
	a := createCustomer(t, d, "JP", "loyal", map[string]any{"plan": "gold"})
	b := createCustomer(t, d, "GB", "customer", map[string]any{"plan": "silver"})
	type row struct {
		day      string
		tp       string
		nps      float64
		csat     float64
		ces      float64
		exp      [4]float64 // quality e,p, price e,p; zero = not asked
		again    string
		topics   string
		comment  string
		customer *int64
	}
	rows := []row{
		{"2026-03-02", "purchase", 10, 5, 7, [4]float64{3, 5, 4, 4}, "yes", `["fit","price"]`, "Great fit", &a},
		{"2026-03-02", "purchase", 10, 5, 6, [4]float64{3, 3, 4, 3}, "yes", `["fit"]`, "", &a},
		{"2026-03-03", "purchase", 9, 4, 6, [4]float64{4, 3, 3, 3}, "yes", `[]`, "Nice", &b},
		{"2026-03-04", "delivery", 9, 4, 5, [4]float64{2, 5, 2, 4}, "yes", "", "", nil},
		{"2026-03-05", "delivery", 9, 5, 5, [4]float64{4, 4, 5, 2}, "no", "", "", nil},
		{"2026-03-09", "purchase", 8, 3, 4, [4]float64{}, "yes", "", "", nil},
		{"2026-03-10", "purchase", 7, 4, 3, [4]float64{}, "", "", "", nil},
		{"2026-03-11", "delivery", 6, 2, 2, [4]float64{}, "", "", "Late", nil},
		{"2026-04-01", "delivery", 3, 1, 1, [4]float64{}, "", "", "Broken", nil},
		{"2026-04-02", "purchase", 0, 5, 7, [4]float64{}, "", "", "", nil},
	}
	for i, r := range rows {
		done := at(r.day, 10+i%3)
		resp := &feedback.Response{Touchpoint: r.tp, JourneyStage: "purchase", StartedAt: done.Add(-time.Minute), CompletedAt: done, CustomerID: r.customer,
			Answers: []feedback.Answer{
				{Question: "nps", Num: num(r.nps)}, {Question: "csat", Num: num(r.csat)}, {Question: "ces", Num: num(r.ces)},
			}}
		if r.exp[0] != 0 {
			resp.Answers = append(resp.Answers,
				feedback.Answer{Question: "exp", Attribute: "quality", Num: num(r.exp[0]), Num2: num(r.exp[1])},
				feedback.Answer{Question: "exp", Attribute: "price", Num: num(r.exp[2]), Num2: num(r.exp[3])})
		}
		if r.again != "" {
			resp.Answers = append(resp.Answers, feedback.Answer{Question: "again", Text: r.again})
		}
		if r.topics != "" {
			resp.Answers = append(resp.Answers, feedback.Answer{Question: "topics", Text: r.topics})
		}
		if r.comment != "" {
			resp.Answers = append(resp.Answers, feedback.Answer{Question: "comment", Text: r.comment})
		}
		complete(t, d, s, resp)
	}
	flaggedAt := at("2026-04-02", 12)
	complete(t, d, s, &feedback.Response{Touchpoint: "purchase", StartedAt: flaggedAt.Add(-time.Second), CompletedAt: flaggedAt, Flags: []string{"too_fast"},
		Answers: []feedback.Answer{{Question: "nps", Num: num(0)}, {Question: "csat", Num: num(1)}, {Question: "comment", Text: "spam"}}})
	for _, st := range []string{feedback.ResponsePartial, feedback.ResponseAbandoned} {
		complete(t, d, s, &feedback.Response{Status: st, Touchpoint: "purchase", StartedAt: *flaggedAt,
			Answers: []feedback.Answer{{Question: "nps", Num: num(0)}}})
	}
	return s
}

func near(t *testing.T, what string, got stats.Number, want float64) {
	t.Helper()
	v, ok := got.Get()
	if !ok || math.Abs(v-want) > 1e-3 {
		t.Errorf("%s = %v, want %.4f", what, got, want)
	}
}

func TestPinnedFigures(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := loadSample(t, d)
		svc := New(d)
		ctx := viewer()
		f := Filter{SurveyID: s.ID}

		// NPS: promoters 10,10,9,9,9 = 5; passives 8,7 = 2; detractors
		// 6,3,0 = 3; n = 10. NPS = 100·(5 − 3)/10 = 20. The plug-in SE is
		// 100·√((pP + pD − (pP − pD)²)/n) = 100·√((0.5 + 0.3 − 0.04)/10)
		// = 27.568. n < 30, so the figure is flagged.
		nps, err := svc.NPS(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if nps.Counts != (stats.NPSCounts{Promoters: 5, Passives: 2, Detractors: 3}) {
			t.Errorf("NPS counts = %+v", nps.Counts)
		}
		near(t, "NPS", nps.NPS.Value, 20)
		near(t, "NPS SE", nps.NPS.SE, 27.568)
		if !nps.NPS.LowSample || nps.NPS.Reason != stats.ReasonBelowMinimum || nps.NPS.N != 10 {
			t.Errorf("NPS flags: n %d low %v reason %q", nps.NPS.N, nps.NPS.LowSample, nps.NPS.Reason)
		}
		want, _ := stats.NPS(stats.NPSCounts{Promoters: 5, Passives: 2, Detractors: 3}, stats.Options{})
		if nps.NPS.Low != want.NPS.Low || nps.NPS.High != want.NPS.High {
			t.Errorf("NPS interval %v–%v, want %v–%v", nps.NPS.Low, nps.NPS.High, want.NPS.Low, want.NPS.High)
		}
		if len(nps.Distribution) != 11 || nps.Distribution[10].Count != 2 || nps.Distribution[0].Count != 1 {
			t.Errorf("NPS distribution = %+v", nps.Distribution)
		}

		// CSAT: 5 ×4, 4 ×3, 3, 2, 1 → top-2-box 7/10 = 0.7; mean
		// (20 + 12 + 3 + 2 + 1)/10 = 3.8. Wilson, z = 1.95996:
		// centre (7 + z²/2)/(10 + z²) = 0.64449, half-width
		// z/(10 + z²)·√(7·3/10 + z²/4) = 0.24771 → 0.39678–0.89221.
		csat, err := svc.CSAT(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "CSAT top box", csat.TopBox.Value, 0.7)
		near(t, "CSAT low", csat.TopBox.Low, 0.39678)
		near(t, "CSAT high", csat.TopBox.High, 0.89221)
		near(t, "CSAT mean", csat.Mean.Value, 3.8)

		// CES: 7,6,6,5,5,4,3,2,1,7 → mean 4.6; squared deviations sum to
		// 38.4, s² = 38.4/9 = 4.2667, SE = √(4.2667/10) = 0.65320;
		// t(0.975; 9) = 2.26216 → 4.6 ± 1.47764 = 3.12236–6.07764.
		ces, err := svc.CES(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		near(t, "CES mean", ces.Mean.Value, 4.6)
		near(t, "CES SE", ces.Mean.SE, 0.65320)
		near(t, "CES low", ces.Mean.Low, 3.12236)
		near(t, "CES high", ces.Mean.High, 6.07764)

		// Expectation vs perception, delight from 2 points:
		// quality gaps 2, 0, −1, 3, 0 → dissatisfied 1, satisfied 2,
		// delighted 2, mean gap 4/5 = 0.8;
		// price gaps 0, −1, 0, 2, −3 → 2, 2, 1, mean −2/5 = −0.4.
		gaps, err := svc.Gaps(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(gaps.Attributes) != 2 || gaps.Attributes[0].Attribute != "quality" || gaps.Attributes[0].Text.JA != "品質" {
			t.Fatalf("gaps = %+v", gaps.Attributes)
		}
		q, p := gaps.Attributes[0], gaps.Attributes[1]
		if q.DissatisfiedCount != 1 || q.SatisfiedCount != 2 || q.DelightedCount != 2 || p.DissatisfiedCount != 2 || p.SatisfiedCount != 2 || p.DelightedCount != 1 {
			t.Errorf("gap classes: quality %d/%d/%d price %d/%d/%d", q.DissatisfiedCount, q.SatisfiedCount, q.DelightedCount, p.DissatisfiedCount, p.SatisfiedCount, p.DelightedCount)
		}
		near(t, "quality mean gap", q.MeanGap.Value, 0.8)
		near(t, "price mean gap", p.MeanGap.Value, -0.4)
		near(t, "quality delighted share", q.Delighted.Value, 0.4)

		// Single choice: yes 5 (i0–3, i5), no 1 (i4).
		dist, err := svc.Distribution(ctx, Filter{SurveyID: s.ID, Question: "again"})
		if err != nil {
			t.Fatal(err)
		}
		if dist.N != 6 || dist.Options[0].Key != "yes" || dist.Options[0].Count != 5 || dist.Options[1].Count != 1 {
			t.Errorf("again = n %d %+v", dist.N, dist.Options)
		}
		near(t, "yes share", dist.Options[0].Share.Value, 5.0/6)
		// Multiple choice: fit 2, price 1 of the 2 who picked anything.
		multi, err := svc.Distribution(ctx, Filter{SurveyID: s.ID, Question: "topics"})
		if err != nil {
			t.Fatal(err)
		}
		if multi.N != 2 || multi.Options[0].Count != 2 || multi.Options[1].Count != 1 || multi.Options[2].Count != 0 {
			t.Errorf("topics = n %d %+v", multi.N, multi.Options)
		}
		near(t, "fit share", multi.Options[0].Share.Value, 1)

		// A date range of March only drops i8 and i9 (0 promoters, 2
		// detractors): P 5, Pa 2, D 1 → NPS 100·4/8 = 50.
		march, err := svc.NPS(ctx, Filter{SurveyID: s.ID, From: *at("2026-03-01", 0), To: *at("2026-03-31", 23)})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "March NPS", march.NPS.Value, 50)
		// Touchpoint delivery: 9, 9, 6, 3 → P 2, D 2 → NPS 0.
		del, err := svc.NPS(ctx, Filter{SurveyID: s.ID, Touchpoint: "delivery"})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "delivery NPS", del.NPS.Value, 0)

		// Including the flagged response adds one detractor: P 5, Pa 2,
		// D 4, n 11 → NPS 100/11 = 9.091. Partial and abandoned responses
		// are never counted.
		all, err := svc.NPS(ctx, Filter{SurveyID: s.ID, IncludeFlagged: true})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "NPS with flagged", all.NPS.Value, 100.0/11)
	})
}

func TestTrendAndCompare(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := loadSample(t, d)
		svc := New(d)
		ctx := viewer()
		// ISO weeks from Monday 2 March 2026: W10 = i0–4 (10,10,9,9,9 →
		// NPS 100), W11 = i5–7 (8,7,6 → 100·(0 − 1)/3 = −33.3), W12 and W13
		// empty (kept, missing), W14 = i8, i9 (3, 0 → −100).
		tr, err := svc.Trend(ctx, Filter{SurveyID: s.ID}, Week)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Metric != MetricNPS || len(tr.Points) != 5 {
			t.Fatalf("trend = %s %d points %+v", tr.Metric, len(tr.Points), tr.Points)
		}
		labels := []string{"2026-W10", "2026-W11", "2026-W12", "2026-W13", "2026-W14"}
		ns := []int{5, 3, 0, 0, 2}
		for i, p := range tr.Points {
			if p.Label != labels[i] || p.N != ns[i] || !p.LowSample {
				t.Errorf("point %d = %s n %d low %v", i, p.Label, p.N, p.LowSample)
			}
		}
		near(t, "W10", tr.Points[0].Value, 100)
		near(t, "W11", tr.Points[1].Value, -100.0/3)
		if tr.Points[2].Value.Valid() || tr.Points[2].Reason != stats.ReasonNoData {
			t.Errorf("empty week = %+v", tr.Points[2])
		}
		near(t, "W14", tr.Points[4].Value, -100)
		if !tr.Points[0].Low.Valid() || !tr.Points[0].High.Valid() {
			t.Errorf("W10 has no band: %+v", tr.Points[0])
		}

		months, err := svc.Trend(ctx, Filter{SurveyID: s.ID, Question: "csat"}, Month)
		if err != nil {
			t.Fatal(err)
		}
		// March: csat 5,5,4,4,5,3,4,2 → top box 6/8; April: 1, 5 → 1/2.
		if months.Metric != MetricTopBox || len(months.Points) != 2 || months.Points[0].Label != "2026-03" || months.Points[0].N != 8 {
			t.Fatalf("months = %+v", months)
		}
		near(t, "March CSAT", months.Points[0].Value, 0.75)
		near(t, "April CSAT", months.Points[1].Value, 0.5)

		days, err := svc.Trend(ctx, Filter{SurveyID: s.ID, Question: "ces", From: *at("2026-03-02", 0), To: *at("2026-03-05", 0)}, Day)
		if err != nil {
			t.Fatal(err)
		}
		// 2, 3, 4 March: CES 7,6 | 6 | 5 → means 6.5, 6, 5.
		if days.Metric != MetricMean || len(days.Points) != 3 {
			t.Fatalf("days = %+v", days.Points)
		}
		near(t, "2 March CES", days.Points[0].Value, 6.5)
		near(t, "4 March CES", days.Points[2].Value, 5)

		// March (P 5, Pa 2, D 1 of 8 → 50) against April (D 2 of 2 → −100):
		// a change of −150 points.
		cmp, err := svc.Compare(ctx, Filter{SurveyID: s.ID},
			Period{From: *at("2026-03-01", 0), To: *at("2026-04-01", 0)}, Period{From: *at("2026-04-01", 0), To: *at("2026-05-01", 0)})
		if err != nil {
			t.Fatal(err)
		}
		near(t, "change", cmp.Change.Difference.Value, -150)
		near(t, "from", cmp.Change.From.Value, 50)
		if !cmp.Change.PValue.Valid() || !cmp.Change.Difference.LowSample {
			t.Errorf("change = %+v", cmp.Change)
		}
		if _, err := svc.Compare(ctx, Filter{SurveyID: s.ID}, Period{}, Period{From: *at("2026-04-01", 0), To: *at("2026-05-01", 0)}); kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Errorf("empty period: %v", err)
		}
		if _, err := svc.Trend(ctx, Filter{SurveyID: s.ID}, "year"); kizuna.ErrorField(err) != "interval" {
			t.Errorf("bad interval: %v", err)
		}
	})
}

func TestBreakdown(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := loadSample(t, d)
		svc := New(d)
		ctx := viewer()
		f := Filter{SurveyID: s.ID}
		groups := func(dim Dimension) map[string]stats.Estimate {
			t.Helper()
			b, err := svc.Breakdown(ctx, f, dim)
			if err != nil {
				t.Fatalf("%s: %v", dim, err)
			}
			m := make(map[string]stats.Estimate)
			for _, g := range b.Groups {
				m[g.Key] = g.Estimate
			}
			return m
		}
		// purchase: 10,10,9,8,7,0 → (3 − 1)/6 = 33.3; delivery: 9,9,6,3 → 0.
		tp := groups(DimTouchpoint)
		near(t, "purchase", tp["purchase"].Value, 200.0/6)
		near(t, "delivery", tp["delivery"].Value, 0)
		if tp["purchase"].N != 6 {
			t.Errorf("purchase n = %d", tp["purchase"].N)
		}
		// Countries: JP (A: 10, 10) 100; GB (B: 9) 100; anonymous "":
		// 9,9,8,7,6,3,0 → (2 − 3)/7 = −14.29.
		for _, dim := range []Dimension{DimCountry, "customer:plan"} {
			g := groups(dim)
			jp, gb := "JP", "GB"
			if dim != DimCountry {
				jp, gb = "gold", "silver"
			}
			near(t, string(dim)+" "+jp, g[jp].Value, 100)
			if g[jp].N != 2 || g[gb].N != 1 || g[""].N != 7 {
				t.Errorf("%s groups = %+v", dim, g)
			}
			near(t, string(dim)+" none", g[""].Value, -100.0/7)
		}
		st := groups(DimLifecycle)
		if st["loyal"].N != 2 || st["customer"].N != 1 {
			t.Errorf("lifecycle = %+v", st)
		}
		if g := groups(DimJourneyStage); g["purchase"].N != 10 {
			t.Errorf("journey = %+v", g)
		}
		b, err := svc.Breakdown(ctx, f, DimChannel)
		if err != nil || len(b.Groups) != 1 || b.ManyGroups || math.Abs(b.FamilywiseError-0.05) > 1e-9 {
			t.Errorf("channel breakdown = %+v, %v", b, err)
		}
		for _, bad := range []Dimension{"customer:a.b", "customer:$.x", "customer:", "response:x y", "colour", "customer:'; DROP TABLE customers; --"} {
			if _, err := svc.Breakdown(ctx, f, bad); kizuna.ErrorCode(err) != kizuna.EINVALID || kizuna.ErrorField(err) != "dimension" {
				t.Errorf("dimension %q: %v", bad, err)
			}
		}
	})
}

func TestRangesOf(t *testing.T) {
	ms := func(s string) int64 { return at(s, 0).UnixMilli() }
	for _, c := range []struct {
		lo, hi int64
		sp     split
		want   []grainRange
	}{
		// 15 Jan – 10 Apr: days 15–31 Jan, months Feb–Mar, days 1–9 Apr.
		{ms("2026-01-15"), ms("2026-04-10"), splitNone, []grainRange{{grainMonth, ms("2026-02-01"), ms("2026-04-01")}, {grainDay, ms("2026-01-15"), ms("2026-02-01")}, {grainDay, ms("2026-04-01"), ms("2026-04-10")}}},
		// Whole months only.
		{ms("2026-01-01"), ms("2026-03-01"), splitMonth, []grainRange{{grainMonth, ms("2026-01-01"), ms("2026-03-01")}}},
		// Inside one month: days.
		{ms("2026-01-03"), ms("2026-01-20"), splitNone, []grainRange{{grainDay, ms("2026-01-03"), ms("2026-01-20")}}},
		// Open range: all months.
		{math.MinInt64, math.MaxInt64, splitNone, []grainRange{{grainMonth, math.MinInt64, math.MaxInt64}}},
		// Open start, ragged end.
		{math.MinInt64, ms("2026-01-20"), splitNone, []grainRange{{grainMonth, math.MinInt64, ms("2026-01-01")}, {grainDay, ms("2026-01-01"), ms("2026-01-20")}}},
		// Days asked for: days.
		{ms("2026-01-01"), ms("2026-03-01"), splitDay, []grainRange{{grainDay, ms("2026-01-01"), ms("2026-03-01")}}},
	} {
		if got := rangesOf(c.lo, c.hi, c.sp); !reflect.DeepEqual(got, c.want) {
			t.Errorf("rangesOf(%d, %d, %d) = %v, want %v", c.lo, c.hi, c.sp, got, c.want)
		}
	}
}
