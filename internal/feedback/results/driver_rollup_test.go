package results

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

func driverRows(t *testing.T, d *db.DB, surveyID int64) map[string]int64 {
	t.Helper()
	rows, err := d.Reader().Query(`SELECT exp_question, outcome_question, grain, bucket, touchpoint, attributes, i, j, s FROM survey_driver_rollups WHERE survey_id = $1`, surveyID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := make(map[string]int64)
	for rows.Next() {
		var e, o, tp, set string
		var bucket, s int64
		var grain, i, j int
		if err := rows.Scan(&e, &o, &grain, &bucket, &tp, &set, &i, &j, &s); err != nil {
			t.Fatal(err)
		}
		m[fmt.Sprintf("%s/%s/%d/%d/%s/%s/%d/%d", e, o, grain, bucket, tp, set, i, j)] = s
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func sameNumber(a, b stats.Number) bool {
	x, okx := a.Get()
	y, oky := b.Get()
	if okx != oky {
		return false
	}
	return !okx || math.Abs(x-y) <= 1e-9*math.Max(1, math.Abs(y))
}

// TestDriverRollups: the key-driver analysis from the driver rollups
// equals the one from the answers — every coefficient, interval,
// p-value, Shapley share, rank, n and incomplete count — over the whole
// survey and date ranges, with and without a touchpoint filter, for two
// outcomes, with skipped attributes, off-scale answers, responses without
// an outcome and flagged responses; Rebuild finds the same sums.
func TestDriverRollups(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := createSurvey(t, d, "driver-rollups", testDef, feedback.Settings{})
		rng := rand.New(rand.NewPCG(9, 10))
		for i := range 600 {
			done := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(120*24)) * time.Hour)
			r := &feedback.Response{StartedAt: done, CompletedAt: &done, Touchpoint: []string{"web", "store", "app"}[rng.IntN(3)]}
			qe, qp := 1+rng.IntN(5), 1+rng.IntN(5)
			pe, pp := 1+rng.IntN(5), 1+rng.IntN(5)
			score := min(10, max(0, 6+(qp-qe)+(pp-pe)/2+rng.IntN(3)-1))
			if rng.IntN(15) > 0 {
				r.Answers = append(r.Answers, feedback.Answer{Question: "nps", Num: num(float64(score))})
			}
			if rng.IntN(4) > 0 {
				r.Answers = append(r.Answers, feedback.Answer{Question: "csat", Num: num(float64(1 + rng.IntN(5)))})
			}
			if rng.IntN(10) > 0 {
				r.Answers = append(r.Answers, feedback.Answer{Question: "exp", Attribute: "quality", Num: num(float64(qe)), Num2: num(float64(qp))})
			}
			if rng.IntN(8) > 0 {
				r.Answers = append(r.Answers, feedback.Answer{Question: "exp", Attribute: "price", Num: num(float64(pe)), Num2: num(float64(pp))})
			}
			if rng.IntN(20) == 0 {
				// off the scale: not an answer
				r.Answers = append(r.Answers, feedback.Answer{Question: "exp", Attribute: "delivery", Num: num(9), Num2: num(1)})
			}
			if i%25 == 0 {
				r.Flags = []string{"too_fast"}
			}
			complete(t, d, s, r)
		}
		svc := New(d)
		filters := []Filter{
			{SurveyID: s.ID},
			{SurveyID: s.ID, From: time.Date(2026, 2, 3, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC)},
			{SurveyID: s.ID, From: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
			{SurveyID: s.ID, Touchpoint: "store"},
			{SurveyID: s.ID, Touchpoint: "web", From: time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)},
		}
		compare := func(when string) {
			t.Helper()
			for _, f := range filters {
				for _, outcome := range []string{"", "csat"} {
					fromRollups, err := svc.KeyDrivers(viewer(), f, outcome)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := d.Writer().Exec(`INSERT INTO survey_rollup_pending (survey_id, reason) VALUES ($1, 'test')`, s.ID); err != nil {
						t.Fatal(err)
					}
					fromAnswers, err := svc.KeyDrivers(viewer(), f, outcome)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := d.Writer().Exec(`DELETE FROM survey_rollup_pending WHERE survey_id = $1`, s.ID); err != nil {
						t.Fatal(err)
					}
					a, b := fromRollups.DriverResult, fromAnswers.DriverResult
					name := fmt.Sprintf("%s %v–%v outcome %q", when, f.From, f.To, outcome)
					if fromRollups.FromAnswers || !fromAnswers.FromAnswers {
						t.Fatalf("%s: from answers %v / %v", name, fromRollups.FromAnswers, fromAnswers.FromAnswers)
					}
					if a.N == 0 || a.N != b.N || a.Incomplete != b.Incomplete || a.Incomplete == 0 || a.LowSample != b.LowSample || a.Reason != b.Reason || !sameNumber(a.R2, b.R2) {
						t.Errorf("%s: n %d/%d incomplete %d/%d R² %v/%v", name, a.N, b.N, a.Incomplete, b.Incomplete, a.R2, b.R2)
						continue
					}
					for k := range a.Drivers {
						x, y := a.Drivers[k], b.Drivers[k]
						if x.Rank != y.Rank || !sameNumber(x.Coefficient.Value, y.Coefficient.Value) || !sameNumber(x.Coefficient.Low, y.Coefficient.Low) ||
							!sameNumber(x.Coefficient.High, y.Coefficient.High) || !sameNumber(x.PValue, y.PValue) || !sameNumber(x.Standardized, y.Standardized) ||
							!sameNumber(x.R2Contribution, y.R2Contribution) || !sameNumber(x.Importance, y.Importance) {
							t.Errorf("%s: driver %s: rollups %+v, answers %+v", name, x.Attribute, x, y)
						}
					}
				}
			}
		}
		compare("incremental")
		incremental := driverRows(t, d, s.ID)
		if err := Rebuild(system(), d, s.ID); err != nil {
			t.Fatal(err)
		}
		if rebuilt := driverRows(t, d, s.ID); len(incremental) == 0 || !reflect.DeepEqual(incremental, rebuilt) {
			n := 0
			for k, v := range incremental {
				if rebuilt[k] != v && n < 5 {
					t.Logf("%s: incremental %d, rebuilt %d", k, v, rebuilt[k])
					n++
				}
			}
			t.Fatalf("rebuild differs: %d vs %d rows", len(incremental), len(rebuilt))
		}
		compare("rebuilt")
		// A filter the rollups do not keep apart reads the answers.
		for _, f := range []Filter{{SurveyID: s.ID, IncludeFlagged: true}, {SurveyID: s.ID, Channel: "link"}} {
			res, err := svc.KeyDrivers(viewer(), f, "")
			if err != nil || !res.FromAnswers || res.N == 0 {
				t.Fatalf("%+v: %v from answers %v n %d", f, err, res.FromAnswers, res.N)
			}
		}
		// A pending survey is rebuilt by the job and reads the rollups again.
		if _, err := d.Writer().Exec(`INSERT INTO survey_rollup_pending (survey_id, reason) VALUES ($1, 'test')`, s.ID); err != nil {
			t.Fatal(err)
		}
		if err := RebuildPending(system(), d); err != nil {
			t.Fatal(err)
		}
		if res, err := svc.KeyDrivers(viewer(), Filter{SurveyID: s.ID}, ""); err != nil || res.FromAnswers {
			t.Fatalf("after RebuildPending: %v from answers %v", err, res.FromAnswers)
		}
		_ = ctx
	})
}
