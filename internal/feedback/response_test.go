package feedback

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func exec(t testing.TB, d *db.DB, q string, args ...any) {
	t.Helper()
	if err := d.WriteTx(context.Background(), func(tx *db.Tx) error {
		_, err := tx.ExecContext(context.Background(), q, args...)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// backdate moves a response's start back so it is not flagged too fast.
func backdate(t testing.TB, d *db.DB, responseID int64, by time.Duration) {
	exec(t, d, `UPDATE survey_responses SET started_at = started_at - $1 WHERE id = $2`, by.Milliseconds(), responseID)
}

func TestResponseFlow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		var hooked []*Response
		s := NewService(d, Options{OnComplete: []CompleteHook{func(ctx context.Context, tx *db.Tx, r *Response) error {
			// The hook sees the completion inside the same transaction.
			var status string
			if err := tx.QueryRowContext(ctx, `SELECT status FROM survey_responses WHERE id = $1`, r.ID).Scan(&status); err != nil {
				return err
			}
			if status != ResponseCompleted {
				return fmt.Errorf("hook saw status %q", status)
			}
			hooked = append(hooked, r)
			return nil
		}}})
		sv := liveSurvey(t, s, "flow", Settings{AllowAnonymous: true})
		rctx := respondent(context.Background())
		key := NewClientKey()
		sess, err := s.StartResponse(rctx, StartInput{Slug: "flow", ClientKey: key, Locale: "ja-JP"})
		if err != nil {
			t.Fatal(err)
		}
		if sess.Resumed || sess.NextPage != "score" || sess.Form.Locale != "ja" || sess.Form.Pages[0].Questions[0].Points[10].Value != 10 {
			t.Fatalf("session: %+v", sess)
		}
		// Starting again with the same key resumes: one response.
		again, err := s.StartResponse(rctx, StartInput{Slug: "flow", ClientKey: key})
		if err != nil || !again.Resumed || again.ResponseID != sess.ResponseID {
			t.Fatalf("resume: %+v %v", again, err)
		}
		save := func(page string, answers ...Answer) (*PageResult, error) {
			return s.SavePage(rctx, SaveInput{SurveyID: sv.ID, ClientKey: key, Page: page, Answers: answers})
		}
		// Out of range, unknown question, question of another page.
		if _, err := save("score", Answer{Question: "nps", Num: f64(11)}); kizuna.ErrorField(err) != "answers[0].num" {
			t.Fatalf("nps 11: %v", err)
		}
		if _, err := save("score", Answer{Question: "nope", Num: f64(1)}); kizuna.ErrorField(err) != "answers[0].question" {
			t.Fatalf("unknown: %v", err)
		}
		if _, err := save("score", Answer{Question: "csat", Num: f64(1)}); kizuna.ErrorField(err) != "answers[0].question" {
			t.Fatalf("other page: %v", err)
		}
		if _, err := save("nowhere"); kizuna.ErrorField(err) != "page" {
			t.Fatalf("unknown page: %v", err)
		}
		res, err := save("score", Answer{Question: "nps", Num: f64(3)})
		if err != nil || res.NextPage != "why" {
			t.Fatalf("save nps: %+v %v", res, err)
		}
		// A detractor cannot answer the promoters' question.
		if _, err := save("why", Answer{Question: "delighted", Text: "x"}); kizuna.ErrorField(err) != "answers[0].question" ||
			kizuna.ErrorCode(err) != kizuna.EINVALID {
			t.Fatalf("invisible question: %v", err)
		}
		if _, err := save("why", Answer{Question: "disappointed", Text: "配送が遅かった"}); err != nil {
			t.Fatal(err)
		}
		// Going back and becoming a promoter hides the detractor question.
		if _, err := save("score", Answer{Question: "nps", Num: f64(10)}); err != nil {
			t.Fatal(err)
		}
		if _, err := save("why", Answer{Question: "delighted", Text: "<b>丁寧</b>な対応"}); err != nil {
			t.Fatal(err)
		}
		// Saving a page twice leaves one answer per question.
		exp := []Answer{{Question: "csat", Num: f64(4)}, {Question: "expect", Attribute: "quality", Num: f64(3), Num2: f64(5)},
			{Question: "expect", Attribute: "price", Num: f64(4), Num2: f64(3)}, {Question: "topics", Text: `["sale"]`}}
		for i := 0; i < 2; i++ {
			if res, err := save("detail", exp...); err != nil || res.NextPage != "" {
				t.Fatalf("save detail: %+v %v", res, err)
			}
		}
		if _, err := save("detail", Answer{Question: "csat", Num: f64(4)}, Answer{Question: "csat", Num: f64(5)}); kizuna.ErrorField(err) != "answers[1].question" {
			t.Fatalf("twice: %v", err)
		}
		backdate(t, d, sess.ResponseID, 5*time.Minute)
		r, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: key})
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != ResponseCompleted || r.CompletedAt == nil || r.DurationMS == nil || *r.DurationMS < 300000 || len(r.Flags) != 0 {
			t.Fatalf("completed: %+v", r)
		}
		if r.NPSScore == nil || *r.NPSScore != 10 || r.CSATScore == nil || *r.CSATScore != 4 {
			t.Fatalf("headline scores: %v %v", r.NPSScore, r.CSATScore)
		}
		var keys []string
		for _, a := range r.Answers {
			keys = append(keys, a.Question+"/"+a.Attribute)
		}
		slices.Sort(keys)
		if want := []string{"csat/", "delighted/", "expect/price", "expect/quality", "nps/", "topics/"}; !slices.Equal(keys, want) {
			t.Fatalf("answers %v, want %v (the hidden detractor answer dropped)", keys, want)
		}
		if len(hooked) != 1 || hooked[0].ID != r.ID || len(hooked[0].Answers) != 6 {
			t.Fatalf("hook: %+v", hooked)
		}
		stored, err := s.GetResponse(manager(context.Background()), r.ID)
		if err != nil || len(stored.Answers) != 6 || stored.Status != ResponseCompleted {
			t.Fatalf("stored: %+v %v", stored, err)
		}
		// Exactly once: a second completion and later saves are conflicts.
		if _, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: key}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("second complete: %v", err)
		}
		if _, err := save("score", Answer{Question: "nps", Num: f64(0)}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("save after complete: %v", err)
		}
		if len(hooked) != 1 {
			t.Fatal("hook ran twice")
		}
		if _, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: NewClientKey()}); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("unknown key: %v", err)
		}
		// Respondent writes need the respondent (or a stronger) principal.
		if _, err := s.StartResponse(context.Background(), StartInput{Slug: "flow", ClientKey: NewClientKey()}); kizuna.ErrorCode(err) != kizuna.EUNAUTHORIZED {
			t.Fatalf("no principal: %v", err)
		}
		if _, err := s.StartResponse(rctx, StartInput{Slug: "flow", ClientKey: "short"}); kizuna.ErrorField(err) != "client_key" {
			t.Fatalf("bad key: %v", err)
		}
	})
}

func TestCompleteRulesAndFlags(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		hookErr := errors.New("rollup down")
		fail := false
		s := NewService(d, Options{OnComplete: []CompleteHook{func(context.Context, *db.Tx, *Response) error {
			if fail {
				return hookErr
			}
			return nil
		}}})
		sv := liveSurvey(t, s, "flags", Settings{AllowAnonymous: true})
		rctx := respondent(context.Background())
		answerAll := func(key string, nps float64) {
			t.Helper()
			for _, p := range []SaveInput{
				{Page: "score", Answers: []Answer{{Question: "nps", Num: f64(nps)}}},
				{Page: "detail", Answers: []Answer{{Question: "csat", Num: f64(2)}}},
			} {
				p.SurveyID, p.ClientKey = sv.ID, key
				if _, err := s.SavePage(rctx, p); err != nil {
					t.Fatal(err)
				}
			}
		}
		// Required: CSAT missing.
		a := startPublic(t, s, "flags")
		if _, err := s.SavePage(rctx, SaveInput{SurveyID: sv.ID, ClientKey: a.ClientKey, Page: "score",
			Answers: []Answer{{Question: "nps", Num: f64(8)}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: a.ClientKey}); kizuna.ErrorField(err) != "answers.csat" {
			t.Fatalf("required: %v", err)
		}
		// Too fast (completed at once) and honeypot.
		b := startPublic(t, s, "flags")
		answerAll(b.ClientKey, 0)
		rb, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: b.ClientKey, Honeypot: "http://spam"})
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(rb.Flags, []string{FlagHoneypot, FlagTooFast}) {
			t.Fatalf("flags %v", rb.Flags)
		}
		stored, _ := s.GetResponse(manager(context.Background()), rb.ID)
		if !slices.Equal(stored.Flags, []string{FlagHoneypot, FlagTooFast}) {
			t.Fatalf("stored flags %v", stored.Flags)
		}
		// The time the form was open before the first POST counts.
		opened, err := s.StartResponse(rctx, StartInput{Slug: "flags", ClientKey: NewClientKey(), OpenedAt: time.Now().Add(-90 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		answerAll(opened.ClientKey, 7)
		if r, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: opened.ClientKey}); err != nil || len(r.Flags) != 0 || *r.DurationMS < 90000 {
			t.Fatalf("opened 90 s ago: %+v %v", r, err)
		}
		// A hook error rolls the completion back.
		c := startPublic(t, s, "flags")
		answerAll(c.ClientKey, 9)
		backdate(t, d, c.ResponseID, time.Minute)
		fail = true
		if _, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: c.ClientKey}); !errors.Is(err, hookErr) {
			t.Fatalf("hook error: %v", err)
		}
		if r, _ := s.GetResponse(manager(context.Background()), c.ResponseID); r.Status != ResponsePartial || r.CompletedAt != nil {
			t.Fatalf("completion not rolled back: %+v", r)
		}
		fail = false
		if r, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: c.ClientKey}); err != nil || len(r.Flags) != 0 {
			t.Fatalf("complete after hook recovered: %+v %v", r, err)
		}
		// Abandonment: partial a is untouched for 8 days.
		exec(t, d, `UPDATE survey_responses SET updated_at = updated_at - $1 WHERE id = $2`, (8 * 24 * time.Hour).Milliseconds(), a.ResponseID)
		n, err := s.AbandonPartials(auth.System(context.Background(), "test"))
		if err != nil || n != 1 {
			t.Fatalf("abandoned %d %v", n, err)
		}
		if _, err := s.SavePage(rctx, SaveInput{SurveyID: sv.ID, ClientKey: a.ClientKey, Page: "score",
			Answers: []Answer{{Question: "nps", Num: f64(8)}}}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("save abandoned: %v", err)
		}
		if n, _ := s.AbandonPartials(auth.System(context.Background(), "test")); n != 0 {
			t.Fatalf("abandoned again: %d", n)
		}
		if _, err := s.AbandonPartials(viewer(context.Background())); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("viewer abandon: %v", err)
		}
	})
}

func TestInvitationOnlyAndRateLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{RateLimit: 3, RateWindow: time.Hour})
		liveSurvey(t, s, "closed-door", Settings{})
		if _, err := s.StartResponse(respondent(context.Background()), StartInput{Slug: "closed-door", ClientKey: NewClientKey()}); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("anonymous on invitation-only: %v", err)
		}
		liveSurvey(t, s, "open", Settings{AllowAnonymous: true})
		other := liveSurvey(t, s, "open2", Settings{AllowAnonymous: true})
		ctx := auth.Respondent(context.Background(), "203.0.113.7")
		for i := 0; i < 3; i++ {
			if _, err := s.StartResponse(ctx, StartInput{Slug: "open", ClientKey: NewClientKey(), IP: "203.0.113.7"}); err != nil {
				t.Fatal(i, err)
			}
		}
		_, err := s.StartResponse(ctx, StartInput{Slug: "open", ClientKey: NewClientKey(), IP: "203.0.113.7"})
		if kizuna.ErrorCode(err) != kizuna.ETOOMANY {
			t.Fatalf("4th start: %v", err)
		}
		// Per survey and per IP (an IPv6 /64 counts as one).
		if _, err := s.StartResponse(ctx, StartInput{Slug: "open2", ClientKey: NewClientKey(), IP: "203.0.113.7"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartResponse(ctx, StartInput{Slug: "open", ClientKey: NewClientKey(), IP: "203.0.113.8"}); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 4; i++ {
			if _, err := s.StartResponse(ctx, StartInput{Slug: "open2", ClientKey: NewClientKey(), IP: fmt.Sprintf("2001:db8::%x", i+1)}); err != nil && i < 3 {
				t.Fatal(err)
			} else if i == 3 && kizuna.ErrorCode(err) != kizuna.ETOOMANY {
				t.Fatalf("same /64: %v", err)
			}
		}
		_ = other
		// IPs are stored hashed.
		var raw int
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM survey_responses WHERE ip_hash LIKE '%203.0%' OR ip_hash = ''`).Scan(&raw); err != nil || raw != 0 {
			t.Fatalf("raw IPs stored: %d %v", raw, err)
		}
		// When the window has passed, starts are allowed again.
		exec(t, d, `UPDATE survey_rate_hits SET at = at - $1`, (2 * time.Hour).Milliseconds())
		if _, err := s.StartResponse(ctx, StartInput{Slug: "open", ClientKey: NewClientKey(), IP: "203.0.113.7"}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestImportTx(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		var hooks int
		s := NewService(d, Options{OnComplete: []CompleteHook{func(_ context.Context, _ *db.Tx, r *Response) error {
			if r.Channel != ChannelImport || r.Status != ResponseCompleted {
				return fmt.Errorf("hook got %+v", r)
			}
			hooks++
			return nil
		}}})
		sv := liveSurvey(t, s, "import", Settings{})
		cust := addCustomer(t, d, "imp@example.com", "", "ja")
		at := time.Date(2025, 6, 1, 10, 0, 0, 0, time.UTC)
		rows := []ImportedResponse{
			{ExternalRef: "row-1", CustomerID: &cust, CompletedAt: at, Answers: []Answer{{Question: "nps", Num: f64(9)}, {Question: "csat", Num: f64(5)}}},
			{ExternalRef: "row-2", CompletedAt: at, Locale: "en", Answers: []Answer{{Question: "nps", Num: f64(2)}, {Question: "disappointed", Text: "late"}}},
		}
		run := func(rows []ImportedResponse) (ImportReport, error) {
			var rep ImportReport
			err := d.WriteTx(context.Background(), func(tx *db.Tx) error {
				var err error
				rep, err = s.ImportTx(context.Background(), tx, sv.ID, rows)
				return err
			})
			return rep, err
		}
		rep, err := run(rows)
		if err != nil || rep.Created != 2 || rep.Existing != 0 || hooks != 2 {
			t.Fatalf("import: %+v %v hooks=%d", rep, err, hooks)
		}
		rep, err = run(rows)
		if err != nil || rep.Created != 0 || rep.Existing != 2 || hooks != 2 {
			t.Fatalf("re-import: %+v %v hooks=%d", rep, err, hooks)
		}
		bad := []ImportedResponse{{ExternalRef: "row-3", CompletedAt: at, Answers: []Answer{{Question: "nps", Num: f64(12)}}}}
		if _, err := run(bad); kizuna.ErrorField(err) != "responses[0].answers[0].num" {
			t.Fatalf("bad import: %v", err)
		}
		var n, nps int
		if err := d.Reader().QueryRow(`SELECT COUNT(*), MAX(nps_score) FROM survey_responses WHERE survey_id = $1 AND channel = 'import' AND status = 'completed'`,
			sv.ID).Scan(&n, &nps); err != nil || n != 2 || nps != 9 {
			t.Fatalf("stored imports: %d %d %v", n, nps, err)
		}
	})
}

func TestFormsOnlyRead(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{})
		sv := liveSurvey(t, s, "readonly", Settings{AllowAnonymous: true})
		liveSurvey(t, s, "private", Settings{})
		rctx := respondent(context.Background())
		tok, h := NewToken()
		exec(t, d, `INSERT INTO survey_invitations (survey_id, channel, token_hash, status, scheduled_at, created_at)
			VALUES ($1, 'email', $2, 'sent', 0, 0)`, sv.ID, h)
		for i := 0; i < 3; i++ {
			f, err := s.PublicForm(rctx, "readonly", "en")
			if err != nil || f.Version != 1 || f.Pages[0].Questions[0].Type != QNPS {
				t.Fatalf("public form: %+v %v", f, err)
			}
			if _, err := s.TokenForm(rctx, tok, "ja"); err != nil {
				t.Fatal(err)
			}
		}
		var n int
		if err := d.Reader().QueryRow(`SELECT COUNT(*) FROM survey_responses`).Scan(&n); err != nil || n != 0 {
			t.Fatalf("rendering a form wrote %d responses (%v)", n, err)
		}
		if _, err := s.PublicForm(rctx, "private", "en"); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("private: %v", err)
		}
		if _, err := s.TokenForm(rctx, "bogus", "en"); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("bogus token: %v", err)
		}
		sess, err := s.StartResponse(rctx, StartInput{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		// Started but not completed: the link still opens (to resume).
		if _, err := s.TokenForm(rctx, tok, "en"); err != nil {
			t.Fatal(err)
		}
		for _, p := range []SaveInput{{Page: "score", Answers: []Answer{{Question: "nps", Num: f64(5)}}},
			{Page: "detail", Answers: []Answer{{Question: "csat", Num: f64(3)}}}} {
			p.SurveyID, p.ClientKey = sv.ID, sess.ClientKey
			if _, err := s.SavePage(rctx, p); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: sess.ClientKey}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TokenForm(rctx, tok, "en"); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("used link form: %v", err)
		}
	})
}
