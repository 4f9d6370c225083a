package feedback

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

// TestTokenRedeemedOnce: 1,000 personal links, each submitted by 20
// clients at the same instant. Exactly one submit per link is accepted —
// the UNIQUE(invitation_id) of survey_responses decides — and the other
// 19 get ECONFLICT saying the link was used.
func TestTokenRedeemedOnce(t *testing.T) {
	const tokens, submits, parallelTokens = 1000, 20, 10
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		s := NewService(d, Options{})
		sv := liveSurvey(t, s, "once", Settings{})
		ctx := context.Background()
		list := make([]string, tokens)
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for i := range list {
				tok, h := NewToken()
				list[i] = tok
				if _, err := tx.ExecContext(ctx, `INSERT INTO survey_invitations (survey_id, channel, token_hash, status, scheduled_at, sent_at, created_at)
					VALUES ($1, $2, $3, $4, $5, $5, $5)`, sv.ID, ChannelEmail, h, InvitationSent, tx.NowMS()); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rctx := respondent(ctx)
		accepted := make([]atomic.Int32, tokens)
		var conflicts, others atomic.Int32
		var firstOther atomic.Value
		submit := func(i int, start <-chan struct{}) {
			<-start
			sess, err := s.StartResponse(rctx, StartInput{Token: list[i], ClientKey: NewClientKey()})
			if err == nil {
				_, err = s.SavePage(rctx, SaveInput{SurveyID: sv.ID, ClientKey: sess.ClientKey, Page: "score",
					Answers: []Answer{{Question: "nps", Num: f64(float64(i % 11))}}})
			}
			if err == nil {
				_, err = s.SavePage(rctx, SaveInput{SurveyID: sv.ID, ClientKey: sess.ClientKey, Page: "detail",
					Answers: []Answer{{Question: "csat", Num: f64(4)}}})
			}
			if err == nil {
				_, err = s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: sess.ClientKey})
			}
			switch {
			case err == nil:
				accepted[i].Add(1)
			case kizuna.ErrorCode(err) == kizuna.ECONFLICT && kizuna.ErrorMessage(err) == "this survey link has already been used":
				conflicts.Add(1)
			default:
				others.Add(1)
				firstOther.CompareAndSwap(nil, err.Error())
			}
		}
		for base := 0; base < tokens; base += parallelTokens {
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := base; i < base+parallelTokens; i++ {
				for j := 0; j < submits; j++ {
					wg.Add(1)
					go func() { defer wg.Done(); submit(i, start) }()
				}
			}
			close(start)
			wg.Wait()
		}
		if n := others.Load(); n != 0 {
			t.Fatalf("%d submits failed otherwise, e.g. %v", n, firstOther.Load())
		}
		for i := range accepted {
			if n := accepted[i].Load(); n != 1 {
				t.Fatalf("token %d accepted %d times", i, n)
			}
		}
		if n := conflicts.Load(); n != tokens*(submits-1) {
			t.Fatalf("%d conflicts, want %d", n, tokens*(submits-1))
		}
		var completed, responses int
		if err := d.Reader().QueryRow(`SELECT COUNT(*), COALESCE(SUM(CASE WHEN status = 'completed' THEN 1 ELSE 0 END), 0)
			FROM survey_responses WHERE survey_id = $1`, sv.ID).Scan(&responses, &completed); err != nil {
			t.Fatal(err)
		}
		if responses != tokens || completed != tokens {
			t.Fatalf("%d responses, %d completed; want %d each", responses, completed, tokens)
		}
		t.Logf("%d tokens × %d concurrent submits: %d accepted, %d ECONFLICT", tokens, submits, tokens, conflicts.Load())
	})
}
