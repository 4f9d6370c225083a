package results

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

func rollupRows(t *testing.T, d *db.DB, surveyID int64) map[string]int64 {
	t.Helper()
	rows, err := d.Reader().Query(`SELECT question_key, attribute_key, grain * 10000000000000 + bucket, touchpoint, channel, journey_stage, value, value2, option_key, n FROM survey_rollups WHERE survey_id = $1`, surveyID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := make(map[string]int64)
	for rows.Next() {
		var q, a, tp, ch, js, opt string
		var day, n int64
		var v, v2 int
		if err := rows.Scan(&q, &a, &day, &tp, &ch, &js, &v, &v2, &opt, &n); err != nil {
			t.Fatal(err)
		}
		m[fmt.Sprintf("%s/%s/%d/%s/%s/%s/%d/%d/%s", q, a, day, tp, ch, js, v, v2, opt)] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

// checkTotals asserts survey_rollups_total holds the detailed counts summed
// over touchpoint, channel and journey stage.
func checkTotals(t *testing.T, d *db.DB, surveyID int64) {
	t.Helper()
	var mismatches int
	err := d.Reader().QueryRow(`SELECT COUNT(*) FROM (
		SELECT question_key, attribute_key, grain, bucket, value, value2, option_key, SUM(n) AS n FROM survey_rollups WHERE survey_id = $1
		GROUP BY question_key, attribute_key, grain, bucket, value, value2, option_key) dt
		FULL OUTER JOIN (SELECT * FROM survey_rollups_total WHERE survey_id = $1) tt
		ON tt.question_key = dt.question_key AND tt.attribute_key = dt.attribute_key AND tt.grain = dt.grain AND tt.bucket = dt.bucket AND tt.value = dt.value
		AND tt.value2 = dt.value2 AND tt.option_key = dt.option_key
		WHERE tt.n IS NULL OR dt.n IS NULL OR tt.n <> dt.n`, surveyID).Scan(&mismatches)
	if err != nil {
		t.Fatal(err)
	}
	if mismatches != 0 {
		t.Errorf("%d total rollup rows differ from the detailed rollups", mismatches)
	}
}

func TestRollupIdempotentAndRebuild(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := loadSample(t, d)
		ctx := context.Background()
		before := rollupRows(t, d, s.ID)
		// nps: 10 counted answers, once per grain (day, month); the
		// flagged, partial and abandoned responses add nothing.
		var npsTotal int64
		for k, n := range before {
			if strings.HasPrefix(k, "nps/") {
				npsTotal += n
			}
		}
		if npsTotal != 2*10 {
			t.Fatalf("nps answers in rollups = %d, want 10 per grain", npsTotal)
		}

		// Re-running the hook for every stored response (a retried
		// transaction, a second completion) changes nothing.
		var ids []int64
		rows, err := d.Reader().Query(`SELECT id FROM survey_responses WHERE survey_id = $1 AND status = 'completed'`, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			_ = rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for _, id := range ids {
				done := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
				r := &feedback.Response{ID: id, SurveyID: s.ID, Version: 1, Status: feedback.ResponseCompleted, CompletedAt: &done,
					Answers: []feedback.Answer{{Question: "nps", Num: num(10)}}}
				if err := OnComplete(ctx, tx, r); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if after := rollupRows(t, d, s.ID); !reflect.DeepEqual(before, after) {
			t.Fatalf("a repeated hook changed the rollups:\nbefore %v\nafter  %v", before, after)
		}

		// A transaction that rolls back leaves neither counts nor marker,
		// so its retry counts the response once.
		boom := fmt.Errorf("boom")
		done := *at("2026-03-20", 9)
		r := &feedback.Response{Touchpoint: "web", StartedAt: done, CompletedAt: &done, Answers: []feedback.Answer{{Question: "nps", Num: num(9)}}}
		err = d.WriteTx(ctx, func(tx *db.Tx) error {
			if err := insertResponse(ctx, tx, s, r); err != nil {
				return err
			}
			if err := OnComplete(ctx, tx, r); err != nil {
				return err
			}
			return boom
		})
		if err != boom {
			t.Fatalf("rolled back tx: %v", err)
		}
		if after := rollupRows(t, d, s.ID); !reflect.DeepEqual(before, after) {
			t.Fatal("a rolled-back completion left counts behind")
		}
		r.ID = 0
		complete(t, d, s, r)
		complete2 := func() {
			if err := d.WriteTx(ctx, func(tx *db.Tx) error { return OnComplete(ctx, tx, r) }); err != nil {
				t.Fatal(err)
			}
		}
		complete2()
		incremental := rollupRows(t, d, s.ID)
		checkTotals(t, d, s.ID)
		if got := incremental[fmt.Sprintf("nps//%d/web/link//9/-1/", 10000000000000+done.Truncate(24*time.Hour).UnixMilli())]; got != 1 {
			t.Fatalf("retried completion counted %d times", got)
		}

		// Rebuild recomputes exactly the incremental counts.
		if err := Rebuild(system(), d, s.ID); err != nil {
			t.Fatal(err)
		}
		if rebuilt := rollupRows(t, d, s.ID); !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rebuild differs from incremental:\nincremental %v\nrebuilt     %v", incremental, rebuilt)
		}
		// … and after a rebuild the hook still cannot double count.
		complete2()
		if again := rollupRows(t, d, s.ID); !reflect.DeepEqual(incremental, again) {
			t.Fatal("hook after rebuild double counted")
		}
		checkTotals(t, d, s.ID)
		if err := Rebuild(viewer(), d, s.ID); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Errorf("viewer rebuild: %v", err)
		}
		if err := Rebuild(system(), d, 99999); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Errorf("rebuild of a missing survey: %v", err)
		}
	})
}

// TestRebuildEqualsIncrementalRandom completes random responses (with bad
// answers among them) and checks Rebuild finds the same counts, and that
// the answers path (IncludeFlagged with nothing flagged) gives the same
// figures as the rollups.
func TestRebuildEqualsIncrementalRandom(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := createSurvey(t, d, "random", testDef, feedback.Settings{})
		rng := rand.New(rand.NewPCG(1, 2))
		ctx := context.Background()
		tps := []string{"web", "store", "app"}
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for i := 0; i < 300; i++ {
				done := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(90*24*60)) * time.Minute)
				r := &feedback.Response{Touchpoint: tps[rng.IntN(3)], Channel: []string{"link", "email"}[rng.IntN(2)], StartedAt: done, CompletedAt: &done,
					Answers: []feedback.Answer{
						{Question: "nps", Num: num(float64(rng.IntN(13) - 1))}, // −1 and 11 are off the scale: not counted
						{Question: "csat", Num: num(float64(1 + rng.IntN(5)))},
						{Question: "exp", Attribute: "quality", Num: num(float64(1 + rng.IntN(5))), Num2: num(float64(1 + rng.IntN(5)))},
						{Question: "exp", Attribute: "price", Num: num(float64(1 + rng.IntN(5)))}, // no perception: not counted
						{Question: "topics", Text: []string{`["fit"]`, `["fit","price","fit"]`, `not json`}[rng.IntN(3)]},
						{Question: "comment", Text: "text"},
					}}
				if err := insertResponse(ctx, tx, s, r); err != nil {
					return err
				}
				if err := OnComplete(ctx, tx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		incremental := rollupRows(t, d, s.ID)
		if err := Rebuild(system(), d, s.ID); err != nil {
			t.Fatal(err)
		}
		if rebuilt := rollupRows(t, d, s.ID); !reflect.DeepEqual(incremental, rebuilt) {
			t.Fatalf("rebuild differs: %d vs %d rows", len(incremental), len(rebuilt))
		}
		checkTotals(t, d, s.ID)
		svc := New(d)
		for _, q := range []string{"nps", "csat"} {
			a, err := svc.Trend(viewer(), Filter{SurveyID: s.ID, Question: q}, Week)
			if err != nil {
				t.Fatal(err)
			}
			b, err := svc.Trend(viewer(), Filter{SurveyID: s.ID, Question: q, IncludeFlagged: true}, Week)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a.Points, b.Points) {
				t.Errorf("%s: rollups and answers disagree", q)
			}
		}
		// A ragged range (days + months + days) and month trends: the
		// rollups agree with the answers.
		ragged := Filter{SurveyID: s.ID, From: time.Date(2026, 1, 10, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)}
		raw := ragged
		raw.IncludeFlagged = true
		n1, err := svc.NPS(viewer(), ragged)
		if err != nil {
			t.Fatal(err)
		}
		n2, _ := svc.NPS(viewer(), raw)
		if n1.Counts != n2.Counts || n1.Counts.N() == 0 {
			t.Errorf("ragged range: rollups %+v, answers %+v", n1.Counts, n2.Counts)
		}
		m1, _ := svc.Trend(viewer(), ragged, Month)
		m2, _ := svc.Trend(viewer(), raw, Month)
		if !reflect.DeepEqual(m1.Points, m2.Points) || len(m1.Points) != 3 {
			t.Errorf("month trend: rollups %+v, answers %+v", m1.Points, m2.Points)
		}
		for _, dim := range []Dimension{DimTouchpoint, DimChannel} {
			a, _ := svc.Breakdown(viewer(), Filter{SurveyID: s.ID}, dim)
			b, _ := svc.Breakdown(viewer(), Filter{SurveyID: s.ID, IncludeFlagged: true}, dim)
			if !reflect.DeepEqual(a.Groups, b.Groups) || len(a.Groups) == 0 {
				t.Errorf("%s: rollups and answers disagree", dim)
			}
		}
		g1, err := svc.Gaps(viewer(), Filter{SurveyID: s.ID})
		if err != nil {
			t.Fatal(err)
		}
		g2, _ := svc.Gaps(viewer(), Filter{SurveyID: s.ID, IncludeFlagged: true})
		if !reflect.DeepEqual(g1.Attributes, g2.Attributes) {
			t.Error("gaps: rollups and answers disagree")
		}
		if g1.Attributes[1].N != 0 || g1.Attributes[0].N == 0 {
			t.Errorf("gap n: quality %d price %d", g1.Attributes[0].N, g1.Attributes[1].N)
		}
	})
}

// TestGapSummaryMatchesStats: the count-based gap summary equals
// stats.ExpectationGap on the same pairs one by one.
func TestGapSummaryMatchesStats(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	sc := stats.Scale{Min: 1, Max: 7}
	for trial := 0; trial < 50; trial++ {
		var pairs []stats.GapPair
		counts := make(map[[2]int]int64)
		for i := 0; i < 1+rng.IntN(200); i++ {
			p := stats.GapPair{Expected: 1 + rng.IntN(7), Perceived: 1 + rng.IntN(7)}
			pairs = append(pairs, p)
			counts[[2]int{p.Expected, p.Perceived}]++
		}
		var cells []cell
		for k, n := range counts {
			cells = append(cells, cell{cellValue: cellValue{Value: k[0], Value2: k[1]}, N: n})
		}
		opt := stats.Options{DelightThreshold: 1 + trial%3}
		want, err := stats.ExpectationGap("a", sc, pairs, opt)
		if err != nil {
			t.Fatal(err)
		}
		got, err := gapSummary("a", sc, cells, opt)
		if err != nil {
			t.Fatal(err)
		}
		// The mean's summation order differs; compare to 1e-9.
		for _, e := range [][2]stats.Number{{got.MeanGap.Value, want.MeanGap.Value}, {got.MeanGap.Low, want.MeanGap.Low}, {got.MeanGap.High, want.MeanGap.High}} {
			a, _ := e[0].Get()
			b, _ := e[1].Get()
			if d := a - b; d > 1e-9 || d < -1e-9 {
				t.Fatalf("trial %d: mean gap %v vs %v", trial, e[0], e[1])
			}
		}
		got.MeanGap, want.MeanGap = stats.Estimate{}, stats.Estimate{}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d:\ngot  %+v\nwant %+v", trial, got, want)
		}
	}
}
