package results

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

func TestVerbatims(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := loadSample(t, d)
		svc := New(d)
		ctx := viewer()
		texts := func(p VerbatimPage) []string {
			var out []string
			for _, v := range p.Items {
				out = append(out, v.Text)
			}
			return out
		}
		// Newest first; the flagged "spam" is left out.
		all, err := svc.Verbatims(ctx, VerbatimQuery{Filter: Filter{SurveyID: s.ID}})
		if err != nil {
			t.Fatal(err)
		}
		if got := texts(all); len(got) != 4 || got[0] != "Broken" || got[1] != "Late" || got[2] != "Nice" || got[3] != "Great fit" || all.Next != "" {
			t.Fatalf("all = %q next %q", got, all.Next)
		}
		if v := all.Items[0]; v.ScoreQuestion != "nps" || v.Score.Or(-1) != 3 || v.Touchpoint != "delivery" {
			t.Errorf("first = %+v", v)
		}
		if all.Items[3].CustomerID == nil {
			t.Error("customer of i0 missing")
		}
		for group, want := range map[ScoreGroup][]string{
			Promoters: {"Nice", "Great fit"}, Passives: nil, Detractors: {"Broken", "Late"},
			Satisfied: {"Nice", "Great fit"}, Dissatisfied: {"Broken", "Late"}, Neutral: nil,
		} {
			p, err := svc.Verbatims(ctx, VerbatimQuery{Filter: Filter{SurveyID: s.ID}, Group: group})
			if err != nil {
				t.Fatal(err)
			}
			if got := texts(p); len(got) != len(want) || (len(want) > 0 && (got[0] != want[0] || got[1] != want[1])) {
				t.Errorf("%s = %q, want %q", group, got, want)
			}
		}
		del, _ := svc.Verbatims(ctx, VerbatimQuery{Filter: Filter{SurveyID: s.ID, Touchpoint: "purchase"}})
		if got := texts(del); len(got) != 2 {
			t.Errorf("purchase = %q", got)
		}
		// Pages of one chain back to the full list.
		var chained []string
		q := VerbatimQuery{Filter: Filter{SurveyID: s.ID}, Limit: 1}
		for i := 0; i < 10; i++ {
			p, err := svc.Verbatims(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			chained = append(chained, texts(p)...)
			if p.Next == "" {
				break
			}
			q.Cursor = p.Next
		}
		if len(chained) != 4 || chained[3] != "Great fit" {
			t.Errorf("chained pages = %q", chained)
		}
		for _, bad := range []VerbatimQuery{
			{Filter: Filter{SurveyID: s.ID}, Group: "happy"},
			{Filter: Filter{SurveyID: s.ID}, Limit: 500},
			{Filter: Filter{SurveyID: s.ID}, Cursor: "x"},
			{Filter: Filter{SurveyID: s.ID, Question: "nps"}},
		} {
			if _, err := svc.Verbatims(ctx, bad); kizuna.ErrorCode(err) != kizuna.EINVALID {
				t.Errorf("%+v: %v", bad, err)
			}
		}
	})
}

func TestKeyDrivers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := createSurvey(t, d, "drivers", testDef, feedback.Settings{})
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(5, 6))
		// NPS moves with the quality gap (2 points per point of gap) and
		// barely with price (0.2): quality must rank first.
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for i := 0; i < 400; i++ {
				done := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Hour)
				qe, qp := 1+rng.IntN(5), 1+rng.IntN(5)
				pe, pp := 1+rng.IntN(5), 1+rng.IntN(5)
				score := 6 + 2*float64(qp-qe)/1.5 + 0.2*float64(pp-pe) + rng.NormFloat64()
				score = min(10, max(0, float64(int(score+0.5))))
				r := &feedback.Response{StartedAt: done, CompletedAt: &done, Answers: []feedback.Answer{
					{Question: "nps", Num: num(score)},
					{Question: "exp", Attribute: "quality", Num: num(float64(qe)), Num2: num(float64(qp))},
					{Question: "exp", Attribute: "price", Num: num(float64(pe)), Num2: num(float64(pp))},
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
		res, err := New(d).KeyDrivers(viewer(), Filter{SurveyID: s.ID}, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.N != 400 || res.Outcome.Key != "nps" || len(res.Drivers) != 2 || res.Texts[0].JA != "品質" {
			t.Fatalf("drivers = n %d outcome %s %+v", res.N, res.Outcome.Key, res.Drivers)
		}
		if res.Drivers[0].Rank != 1 || res.Drivers[1].Rank != 2 || res.LowSample {
			t.Errorf("ranks: quality %d price %d low %v", res.Drivers[0].Rank, res.Drivers[1].Rank, res.LowSample)
		}
		if c := res.Drivers[0].Coefficient.Value.Or(0); c < 1 || c > 1.7 {
			t.Errorf("quality coefficient = %v, want ≈ 1.33", c)
		}
	})
}

func TestPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := loadSample(t, d)
		svc := New(d)
		f := Filter{SurveyID: s.ID}
		if _, err := svc.NPS(context.Background(), f); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Errorf("anonymous NPS: %v", err)
		}
		if _, err := svc.NPS(viewer(), Filter{SurveyID: 424242}); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Errorf("missing survey: %v", err)
		}
		if _, err := svc.CES(viewer(), Filter{SurveyID: s.ID, Question: "nps"}); kizuna.ErrorField(err) != "question" {
			t.Errorf("wrong question type: %v", err)
		}
		if _, err := svc.NPS(viewer(), Filter{SurveyID: s.ID, From: *at("2026-04-02", 0), To: *at("2026-03-01", 0)}); kizuna.ErrorField(err) != "to" {
			t.Errorf("reversed range: %v", err)
		}
	})
}
