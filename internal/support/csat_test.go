package support

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
)

var surveyLinkRE = regexp.MustCompile(`https://cx\.example\.com/r/([A-Za-z0-9_-]{43})`)

// csatDesk wires the survey engine to the desk as cmd/kizuna does: the
// desk pauses surveys on open complaints and receives completed responses;
// invitations go out over a real SMTP exchange.
func csatDesk(t *testing.T, e *env) (*feedback.Service, *CSATSender, *smtptest.Server) {
	t.Helper()
	srv := smtptest.Start(t)
	m, err := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Kizuna <cx@kizuna.example>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	fb := feedback.NewService(e.d, feedback.Options{Mailer: m, BaseURL: "https://cx.example.com", Complaints: e.svc,
		OnComplete: []feedback.CompleteHook{e.svc.OnSurveyComplete}})
	return fb, NewCSATSender(e.svc, fb, CSATOptions{}), srv
}

func (e *env) solve(id int64) { e.t.Helper(); e.status(id, StatusSolved) }

func (e *env) csatRun(c *CSATSender) CSATRun {
	e.t.Helper()
	r, err := c.Run(e.sys)
	if err != nil {
		e.t.Fatalf("csat run: %v", err)
	}
	return r
}

func (e *env) csatOf(id int64) *CSATRecord {
	e.t.Helper()
	r, err := e.svc.CSAT(e.agent(), id)
	if err != nil {
		e.t.Fatalf("csat of %d: %v", id, err)
	}
	return r
}

// answer completes the survey behind token with a CSAT score.
func answer(t *testing.T, e *env, fb *feedback.Service, token string, score float64) *feedback.Response {
	t.Helper()
	rctx := auth.Respondent(context.Background(), "")
	sess, err := fb.StartResponse(rctx, feedback.StartInput{Token: token, Locale: "ja"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fb.SavePage(rctx, feedback.SaveInput{SurveyID: sess.SurveyID, ClientKey: sess.ClientKey, Page: "csat",
		Answers: []feedback.Answer{{Question: "csat", Num: &score}, {Question: "comment", Text: "丁寧な対応でした"}}}); err != nil {
		t.Fatal(err)
	}
	e.clk.Set(e.clk.Now().Add(time.Minute)) // a person takes a while
	r, err := fb.Complete(rctx, feedback.CompleteInput{SurveyID: sess.SurveyID, ClientKey: sess.ClientKey})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestCSATAfterResolution: the survey goes out Delay after the solve
// through the survey engine (built-in survey created on first use), once
// per ticket, not while another is pending for the customer, not to a
// customer with an open complaint; a reopen before it goes out cancels
// it; the answer is tied to the ticket, its agent and its team.
func TestCSATAfterResolution(t *testing.T) {
	run(t, func(t *testing.T, e *env) {
		fb, sender, srv := csatDesk(t, e)
		agentID := e.users[auth.RoleAgent]
		a := e.open("aiko@example.jp", "返品について", func(nt *NewTicket) { nt.AssigneeID = agentID; nt.Team = "東京チーム" })
		e.reply(a.ID, "返品を承りました。")
		e.solve(a.ID)
		// Not due yet: nothing happens, and the survey is not even created.
		e.clk.Set(e.clk.Now().Add(23 * time.Hour))
		if r := e.csatRun(sender); r.Invited != 0 {
			t.Fatalf("invited before the delay: %+v", r)
		}
		e.clk.Set(e.clk.Now().Add(2 * time.Hour)) // Tuesday 10:00 JST: no quiet hours
		if r := e.csatRun(sender); r.Invited != 1 {
			t.Fatalf("first run: %+v", r)
		}
		if r := e.csatRun(sender); r.Invited != 0 || r.Skipped != 0 {
			t.Fatalf("second run surveyed again: %+v", r)
		}
		sv, err := fb.GetBySlug(e.sys, CSATSurveySlug)
		if err != nil || sv.Status != feedback.StatusLive || sv.Touchpoint != "support" {
			t.Fatalf("built-in survey: %+v %v", sv, err)
		}
		rec := e.csatOf(a.ID)
		if rec.Status != CSATInvited || rec.AgentID == nil || *rec.AgentID != agentID || rec.Team != "東京チーム" {
			t.Fatalf("record: %+v", rec)
		}

		// The engine sends it over SMTP; the customer answers 5.
		if rep, err := fb.SendDue(e.sys); err != nil || rep.Sent != 1 {
			t.Fatalf("send: %+v %v", rep, err)
		}
		msgs := srv.Wait(t, 1)
		m := surveyLinkRE.FindStringSubmatch(msgs[0].Text)
		if m == nil {
			t.Fatalf("no link in %s", msgs[0].Text)
		}
		resp := answer(t, e, fb, m[1], 5)
		rec = e.csatOf(a.ID)
		if rec.Score == nil || *rec.Score != 5 || rec.ResponseID == nil || *rec.ResponseID != resp.ID || rec.Flagged || rec.RespondedAt == nil {
			t.Fatalf("answer not tied to the ticket: %+v", rec)
		}

		// Two tickets of one customer solved together: one survey; the
		// other is skipped while the first is pending.
		b1 := e.open("ben@example.com", "Payment failed")
		b2 := e.open("ben@example.com", "Invoice please")
		// A ticket reopened before its delay is never surveyed for that solve.
		c := e.open("chika@example.jp", "配送遅延")
		e.reply(b1.ID, "Fixed.")
		e.reply(b2.ID, "Sent.")
		e.reply(c.ID, "確認します。")
		e.solve(b1.ID)
		e.solve(b2.ID)
		e.solve(c.ID)
		e.clk.Set(e.clk.Now().Add(time.Hour))
		e.status(c.ID, StatusOpen)
		e.clk.Set(e.clk.Now().Add(24 * time.Hour))
		if r := e.csatRun(sender); r.Invited != 1 || r.Skipped != 1 {
			t.Fatalf("pending rule: %+v", r)
		}
		if e.csatOf(b1.ID).Status != CSATInvited {
			t.Fatalf("b1: %+v", e.csatOf(b1.ID))
		}
		if r := e.csatOf(b2.ID); r.Status != CSATSkipped || r.SkipReason != CSATSkipPending {
			t.Fatalf("b2: %+v", r)
		}
		if _, err := e.svc.CSAT(e.agent(), c.ID); code(err) != kizuna.ENOTFOUND {
			t.Fatalf("reopened ticket surveyed: %v", err)
		}

		// Invited but not sent yet (the engine holds it): the customer's
		// message reopens the ticket and withdraws the survey; the next
		// solve gets a fresh one.
		e.reply(c.ID, "お届け日が確定しました。")
		e.solve(c.ID)
		e.clk.Set(e.clk.Now().Add(25 * time.Hour))
		if r := e.csatRun(sender); r.Invited != 1 {
			t.Fatalf("c invited: %+v", r)
		}
		inv := *e.csatOf(c.ID).InvitationID
		if _, err := e.svc.AddCustomerMessage(e.agent(), c.ID, NewCustomerMessage{Body: "まだ届いていません"}); err != nil {
			t.Fatal(err)
		}
		if r := e.csatOf(c.ID); r.Status != CSATCancelled {
			t.Fatalf("reopen did not cancel: %+v", r)
		}
		invs, err := fb.Invitations(e.sys, feedback.InvitationFilter{SurveyID: sv.ID})
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range invs {
			if i.ID == inv && (i.Status != feedback.InvitationSkipped || i.SkipReason != feedback.SkipCancelled) {
				t.Fatalf("invitation not withdrawn: %+v", i)
			}
		}
		e.reply(c.ID, "再送しました。")
		e.solve(c.ID)
		e.clk.Set(e.clk.Now().Add(25 * time.Hour))
		if r := e.csatRun(sender); r.Invited != 1 {
			t.Fatalf("c after second solve: %+v", r)
		}
		if r := e.csatOf(c.ID); r.Status != CSATInvited || r.InvitationID == nil || *r.InvitationID == inv {
			t.Fatalf("c second survey: %+v", r)
		}

		// An open complaint pauses the survey: the engine skips it.
		d := e.open("dai@example.jp", "商品の不具合", func(nt *NewTicket) { nt.Complaint = true })
		dq := e.open("dai@example.jp", "使い方の質問")
		e.reply(dq.ID, "こちらの手順です。")
		e.solve(dq.ID)
		e.clk.Set(e.clk.Now().Add(25 * time.Hour))
		if r := e.csatRun(sender); r.Invited != 1 {
			t.Fatalf("dq: %+v", r)
		}
		if _, err := fb.SendDue(e.sys); err != nil {
			t.Fatal(err)
		}
		invs, _ = fb.Invitations(e.sys, feedback.InvitationFilter{SurveyID: sv.ID, CustomerID: d.CustomerID})
		if len(invs) != 1 || invs[0].Status != feedback.InvitationSkipped || invs[0].SkipReason != feedback.SkipOpenComplaint {
			t.Fatalf("complaint did not pause: %+v", invs)
		}

		// Closing the built-in survey turns CSAT off.
		if _, err := fb.Close(e.sys, sv.ID); err != nil {
			t.Fatal(err)
		}
		x := e.open("eri@example.jp", "アカウント")
		e.reply(x.ID, "対応しました。")
		e.solve(x.ID)
		e.clk.Set(e.clk.Now().Add(25 * time.Hour))
		if r := e.csatRun(sender); r.Invited != 0 {
			t.Fatalf("closed survey still invites: %+v", r)
		}
	})
}
