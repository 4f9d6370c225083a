package results

import (
	"context"
	"reflect"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/stats"
)

// TestThroughFeedbackService wires OnComplete into the real feedback
// service as the lead will (Options.OnComplete) and answers through the
// public form: completed responses are counted, a too-fast one is not,
// and Rebuild finds the same rollups.
func TestThroughFeedbackService(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		fb := feedback.NewService(d, feedback.Options{OnComplete: []feedback.CompleteHook{OnComplete}})
		mctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleManager})
		def := feedback.Definition{Pages: []feedback.Page{
			{Key: "score", Questions: []feedback.Question{{Key: "nps", Type: feedback.QNPS, Required: true, Text: feedback.Text{EN: "Recommend?", JA: "おすすめ度"}}}},
			{Key: "more", Questions: []feedback.Question{
				{Key: "csat", Type: feedback.QCSAT, Text: feedback.Text{EN: "Satisfied?", JA: "満足度"}},
				{Key: "why", Type: feedback.QText, Text: feedback.Text{EN: "Why?", JA: "理由"}},
			}},
		}}
		sv, err := fb.CreateSurvey(mctx, feedback.SurveyInput{Slug: "wired", Name: "Wired", Touchpoint: "support", JourneyStage: "support",
			Settings: feedback.Settings{AllowAnonymous: true}, Definition: def})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fb.Publish(mctx, sv.ID); err != nil {
			t.Fatal(err)
		}
		rctx := auth.Respondent(context.Background(), "")
		answer := func(nps, csat float64, why string, honest bool) {
			t.Helper()
			key := feedback.NewClientKey()
			sess, err := fb.StartResponse(rctx, feedback.StartInput{Slug: "wired", ClientKey: key})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := fb.SavePage(rctx, feedback.SaveInput{SurveyID: sv.ID, ClientKey: key, Page: "score", Answers: []feedback.Answer{{Question: "nps", Num: &nps}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := fb.SavePage(rctx, feedback.SaveInput{SurveyID: sv.ID, ClientKey: key, Page: "more",
				Answers: []feedback.Answer{{Question: "csat", Num: &csat}, {Question: "why", Text: why}}}); err != nil {
				t.Fatal(err)
			}
			if honest { // took five minutes, not milliseconds
				if _, err := d.Writer().Exec(`UPDATE survey_responses SET started_at = started_at - 300000 WHERE id = $1`, sess.ResponseID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := fb.Complete(rctx, feedback.CompleteInput{SurveyID: sv.ID, ClientKey: key}); err != nil {
				t.Fatal(err)
			}
		}
		answer(10, 5, "とても丁寧でした", true)
		answer(8, 4, "普通", true)
		answer(2, 1, "待たされた", true)
		answer(0, 1, "bot", false) // flagged too_fast: not counted
		svc := New(d)
		// Promoters 1, passives 1, detractors 1 → NPS 0, n 3.
		nps, err := svc.NPS(viewer(), Filter{SurveyID: sv.ID})
		if err != nil {
			t.Fatal(err)
		}
		if nps.Counts != (stats.NPSCounts{Promoters: 1, Passives: 1, Detractors: 1}) || nps.NPS.Value.Or(-1) != 0 {
			t.Fatalf("NPS = %+v %v", nps.Counts, nps.NPS.Value)
		}
		tp, err := svc.Breakdown(viewer(), Filter{SurveyID: sv.ID}, DimTouchpoint)
		if err != nil || len(tp.Groups) != 1 || tp.Groups[0].Key != "support" {
			t.Fatalf("touchpoints = %+v %v", tp.Groups, err)
		}
		v, err := svc.Verbatims(viewer(), VerbatimQuery{Filter: Filter{SurveyID: sv.ID}, Group: Detractors})
		if err != nil || len(v.Items) != 1 || v.Items[0].Text != "待たされた" {
			t.Fatalf("verbatims = %+v %v", v.Items, err)
		}
		before := rollupRows(t, d, sv.ID)
		if err := Rebuild(system(), d, sv.ID); err != nil {
			t.Fatal(err)
		}
		if after := rollupRows(t, d, sv.ID); !reflect.DeepEqual(before, after) {
			t.Fatalf("rebuild differs from what the wired hook built:\n%v\n%v", before, after)
		}
	})
}
