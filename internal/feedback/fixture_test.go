package feedback

import (
	"context"
	"github.com/kizuna-oss/kizuna"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

func tx(ja, en string) Text { return Text{JA: ja, EN: en} }

func f64(v float64) *float64 { return &v }

// sampleDefinition is a post-purchase survey: NPS, a follow-up that
// depends on the score, then CSAT, expectation vs. perception and choices.
func sampleDefinition() Definition {
	return Definition{
		Intro: tx("ご購入ありがとうございました。", "Thank you for your purchase."),
		Pages: []Page{
			{Key: "score", Questions: []Question{
				{Key: "nps", Type: QNPS, Required: true, Subject: tx("当店", "our store")},
			}},
			{Key: "why", Questions: []Question{
				{Key: "disappointed", Type: QText, Text: tx("何が残念でしたか？", "What disappointed you?"),
					ShowIf: &Condition{Question: "nps", Op: "lte", Value: 6}},
				{Key: "delighted", Type: QText, Text: tx("何が良かったですか？", "What delighted you?"),
					ShowIf: &Condition{Question: "nps", Op: "gte", Value: 9}},
			}, ShowIf: &Condition{Question: "nps", Op: "answered"}},
			{Key: "detail", Questions: []Question{
				{Key: "csat", Type: QCSAT, Required: true, Text: tx("満足度を教えてください。", "How satisfied are you?")},
				{Key: "expect", Type: QExpectation, Text: tx("期待と実際", "Expected vs. received"),
					Attributes: []Option{{Key: "quality", Text: tx("品質", "Quality")}, {Key: "price", Text: tx("価格", "Price")}}},
				{Key: "channel", Type: QSingle, Text: tx("どこで購入しましたか？", "Where did you buy?"),
					Options: []Option{{Key: "web", Text: tx("ウェブ", "Web")}, {Key: "store", Text: tx("店舗", "Store")}}},
				{Key: "topics", Type: QMulti, Text: tx("関心のある話題", "Topics"),
					Options: []Option{{Key: "sale", Text: tx("セール", "Sales")}, {Key: "new", Text: tx("新商品", "New items")}}},
			}},
		},
	}
}

func manager(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, auth.Principal{Kind: auth.PrincipalUser, ID: 1, Role: auth.RoleManager, Label: "m@example.com"})
}

func viewer(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, auth.Principal{Kind: auth.PrincipalUser, ID: 2, Role: auth.RoleViewer, Label: "v@example.com"})
}

func respondent(ctx context.Context) context.Context { return auth.Respondent(ctx, "") }

// addCustomer inserts a customer row directly (the customer service's
// resolution is not what these tests are about).
func addCustomer(t testing.TB, d *db.DB, email, tz, locale string) int64 {
	t.Helper()
	var id int64
	err := d.WriteTx(context.Background(), func(tx *db.Tx) error {
		return tx.QueryRowContext(context.Background(), `INSERT INTO customers (email, time_zone, locale, family_name, given_name, created_at, updated_at)
			VALUES ($1, $2, $3, '山田', '太郎', $4, $4) RETURNING id`, email, tz, locale, tx.NowMS()).Scan(&id)
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// liveSurvey creates and publishes a survey with the sample definition.
func liveSurvey(t testing.TB, s *Service, slug string, st Settings) *Survey {
	t.Helper()
	ctx := manager(context.Background())
	sv, err := s.CreateSurvey(ctx, SurveyInput{Slug: slug, Name: "購入後アンケート", Touchpoint: "purchase",
		JourneyStage: "purchase", Settings: st, Definition: sampleDefinition()})
	if err != nil {
		t.Fatal(err)
	}
	sv, err = s.Publish(ctx, sv.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sv
}

func errField(err error) string { return kizuna.ErrorField(err) }
