package feedback

import (
	"context"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func TestSurveyLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{})
		ctx := manager(context.Background())
		in := SurveyInput{Slug: "post-purchase", Name: "購入後", Touchpoint: "purchase", JourneyStage: "purchase",
			Settings: Settings{AllowAnonymous: true}, Definition: sampleDefinition()}
		sv, err := s.CreateSurvey(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if sv.Status != StatusDraft || sv.CurrentVersion != 0 || len(sv.Definition.Pages) != 3 {
			t.Fatalf("created: %+v", sv)
		}
		if _, err := s.CreateSurvey(ctx, in); kizuna.ErrorCode(err) != kizuna.ECONFLICT || kizuna.ErrorField(err) != "slug" {
			t.Fatalf("duplicate slug: %v", err)
		}
		bad := in
		bad.Slug = "other"
		bad.Definition = sampleDefinition()
		bad.Definition.Pages[2].Questions[0].Scale = &Scale{Min: 1, Max: 1}
		if _, err := s.CreateSurvey(ctx, bad); kizuna.ErrorField(err) != "definition.pages[2].questions[0].scale.max" {
			t.Fatalf("bad scale: %v (field %q)", err, kizuna.ErrorField(err))
		}
		// Permissions: a viewer reads, cannot write; nobody anonymous reads.
		if _, err := s.Get(viewer(context.Background()), sv.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Publish(viewer(context.Background()), sv.ID); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("viewer publish: %v", err)
		}
		if _, err := s.List(context.Background(), ListFilter{}); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("anonymous list: %v", err)
		}
		if _, err := s.Get(respondent(context.Background()), sv.ID); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("respondent get: %v", err)
		}

		v1, err := s.Publish(ctx, sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		if v1.Status != StatusLive || v1.CurrentVersion != 1 {
			t.Fatalf("published: %+v", v1)
		}
		// Publishing again without an edit writes no version.
		if again, err := s.Publish(ctx, sv.ID); err != nil || again.CurrentVersion != 1 {
			t.Fatalf("republish: %+v %v", again, err)
		}
		// A response on version 1.
		sess := startPublic(t, s, "post-purchase")
		if sess.Version != 1 {
			t.Fatalf("session version %d", sess.Version)
		}
		// Edit the live survey: the draft changes, the live version does not.
		edit := in
		edit.Definition = sampleDefinition()
		edit.Definition.Pages[2].Questions[0].Text.EN = "How satisfied are you overall?"
		up, err := s.UpdateDraft(ctx, sv.ID, edit)
		if err != nil {
			t.Fatal(err)
		}
		if up.CurrentVersion != 1 || up.Definition.Pages[2].Questions[0].Text.EN != "How satisfied are you?" ||
			up.Draft.Pages[2].Questions[0].Text.EN != "How satisfied are you overall?" {
			t.Fatalf("draft edit leaked into the live version: %+v", up.Definition.Pages[2].Questions[0].Text)
		}
		v2, err := s.Publish(ctx, sv.ID)
		if err != nil || v2.CurrentVersion != 2 {
			t.Fatalf("publish v2: %+v %v", v2, err)
		}
		old, err := s.GetVersion(ctx, sv.ID, 1)
		if err != nil || old.Definition.Pages[2].Questions[0].Text.EN != "How satisfied are you?" {
			t.Fatalf("version 1 changed: %+v %v", old, err)
		}
		// The response started on version 1 keeps answering version 1.
		if _, err := s.SavePage(respondent(context.Background()), SaveInput{SurveyID: sv.ID, ClientKey: sess.ClientKey, Page: "score",
			Answers: []Answer{{Question: "nps", Num: f64(9)}}}); err != nil {
			t.Fatal(err)
		}
		r, err := s.GetResponse(ctx, sess.ResponseID)
		if err != nil || r.Version != 1 {
			t.Fatalf("response version: %+v %v", r, err)
		}
		if _, err := s.GetVersion(ctx, sv.ID, 3); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("missing version: %v", err)
		}
		// Preview: draft and live, per locale.
		p, err := s.Preview(ctx, sv.ID, "en", false)
		if err != nil || p.Pages[2].Questions[0].Text != "How satisfied are you overall?" || p.Version != 2 {
			t.Fatalf("preview: %+v %v", p, err)
		}
		closed, err := s.Close(ctx, sv.ID)
		if err != nil || closed.Status != StatusClosed {
			t.Fatalf("close: %+v %v", closed, err)
		}
		if _, err := s.StartResponse(respondent(context.Background()), StartInput{Slug: "post-purchase", ClientKey: NewClientKey()}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("start on closed survey: %v", err)
		}
		list, err := s.List(ctx, ListFilter{Status: StatusClosed})
		if err != nil || len(list) != 1 || list[0].ID != sv.ID {
			t.Fatalf("list closed: %+v %v", list, err)
		}
		if list, _ := s.List(ctx, ListFilter{Status: StatusLive}); len(list) != 0 {
			t.Fatalf("list live: %+v", list)
		}
		if _, err := s.List(ctx, ListFilter{Status: "archived"}); kizuna.ErrorField(err) != "status" {
			t.Fatalf("bad status: %v", err)
		}
		if _, err := s.Get(ctx, 9999); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("missing: %v", err)
		}
	})
}

func startPublic(t testing.TB, s *Service, slug string) *Session {
	t.Helper()
	sess, err := s.StartResponse(respondent(context.Background()), StartInput{Slug: slug, ClientKey: NewClientKey(), Locale: "ja"})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}
