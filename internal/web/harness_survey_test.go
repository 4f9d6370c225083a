package web

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
)

// surveyServices builds the survey and results services over d as
// cmd/kizuna wires them (the rollup hook in the completing transaction).
func surveyServices(d *db.DB) (*feedback.Service, *results.Service) {
	sv := feedback.NewService(d, feedback.Options{
		OnComplete: []feedback.CompleteHook{results.OnComplete},
		BaseURL:    testBaseURL,
		Log:        slog.New(slog.DiscardHandler),
	})
	return sv, results.New(d)
}

// seedSurveyDefinition asks every kind of figure the results API reads:
// NPS, then CSAT, CES, expectation vs. perception and a free-text comment.
func seedSurveyDefinition() feedback.Definition {
	t := func(ja, en string) feedback.Text { return feedback.Text{JA: ja, EN: en} }
	return feedback.Definition{Pages: []feedback.Page{
		{Key: "score", Questions: []feedback.Question{
			{Key: "nps", Type: feedback.QNPS, Required: true, Subject: t("当店", "our store")},
		}},
		{Key: "detail", Questions: []feedback.Question{
			{Key: "csat", Type: feedback.QCSAT, Text: t("満足度を教えてください。", "How satisfied are you?")},
			{Key: "ces", Type: feedback.QCES, Text: t("手続きは簡単でしたか？", "How easy was it?")},
			{Key: "expect", Type: feedback.QExpectation, Text: t("期待と実際", "Expected vs. received"),
				Attributes: []feedback.Option{{Key: "quality", Text: t("品質", "Quality")}, {Key: "price", Text: t("価格", "Price")}}},
			{Key: "comment", Type: feedback.QText, Text: t("ご意見をお聞かせください。", "Anything else?")},
		}},
	}}
}

// seedAnswers are the seeded responses: NPS 10, 9, 7 and 3 (two promoters,
// one detractor of four: NPS +25).
var seedAnswers = []struct {
	nps, csat, ces, expQ, gotQ, expP, gotP float64
	comment                                string
}{
	{10, 5, 7, 3, 5, 3, 4, "とても良かった"},
	{9, 4, 6, 3, 4, 4, 4, "Quick delivery"},
	{7, 3, 4, 4, 4, 3, 2, ""},
	{3, 1, 2, 5, 2, 2, 2, "届くのが遅かった"},
}

// seedSurvey creates the published survey "seed-survey" (public link
// allowed) with an email trigger and the seedAnswers responses answered
// through the public link, the way a respondent answers.
func seedSurvey(ctx context.Context, d *db.DB, ids *seedIDs) error {
	surveys, _ := surveyServices(d)
	sys := auth.System(ctx, "test")
	sv, err := surveys.CreateSurvey(sys, feedback.SurveyInput{Slug: "seed-survey", Name: "購入後アンケート",
		Touchpoint: "purchase", JourneyStage: "purchase", Settings: feedback.Settings{AllowAnonymous: true},
		Definition: seedSurveyDefinition()})
	if err != nil {
		return fmt.Errorf("seed survey: %w", err)
	}
	if _, err := surveys.Publish(sys, sv.ID); err != nil {
		return fmt.Errorf("seed survey: %w", err)
	}
	tr, err := surveys.CreateTrigger(sys, feedback.TriggerInput{SurveyID: sv.ID, EventName: "Order Completed", Delay: 2 * time.Hour})
	if err != nil {
		return fmt.Errorf("seed trigger: %w", err)
	}
	ids.survey, ids.trigger = sv.ID, tr.ID
	for i, a := range seedAnswers {
		score := []feedback.Answer{{Question: "nps", Num: &a.nps}}
		detail := []feedback.Answer{
			{Question: "csat", Num: &a.csat}, {Question: "ces", Num: &a.ces},
			{Question: "expect", Attribute: "quality", Num: &a.expQ, Num2: &a.gotQ},
			{Question: "expect", Attribute: "price", Num: &a.expP, Num2: &a.gotP},
		}
		if a.comment != "" {
			detail = append(detail, feedback.Answer{Question: "comment", Text: a.comment})
		}
		if err := respond(ctx, surveys, sv, fmt.Sprintf("seed-response-key-%04d", i), "ja", score, detail); err != nil {
			return fmt.Errorf("seed response %d: %w", i, err)
		}
	}
	return nil
}

// respond answers survey sv through its public link as a respondent: one
// page per answers slice (in the definition's page order), then completes.
// The form counts as opened ten minutes earlier, so the response is not
// flagged too fast.
func respond(ctx context.Context, surveys *feedback.Service, sv *feedback.Survey, clientKey, locale string, pages ...[]feedback.Answer) error {
	rctx := auth.Respondent(ctx, "")
	if _, err := surveys.StartResponse(rctx, feedback.StartInput{Slug: sv.Slug, ClientKey: clientKey, Locale: locale,
		OpenedAt: time.Now().Add(-10 * time.Minute)}); err != nil {
		return err
	}
	for i, answers := range pages {
		if _, err := surveys.SavePage(rctx, feedback.SaveInput{SurveyID: sv.ID, ClientKey: clientKey,
			Page: sv.Definition.Pages[i].Key, Answers: answers}); err != nil {
			return err
		}
	}
	_, err := surveys.Complete(rctx, feedback.CompleteInput{SurveyID: sv.ID, ClientKey: clientKey})
	return err
}
