package feedback

import (
	"context"
	"encoding/json"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
)

type complaints map[int64]bool

func (c complaints) HasOpenComplaint(_ context.Context, id int64) (bool, error) { return c[id], nil }

var linkRE = regexp.MustCompile(`https://cx\.example\.com/r/([A-Za-z0-9_-]{43})`)

func tokenIn(t *testing.T, m smtptest.Message) string {
	t.Helper()
	got := linkRE.FindStringSubmatch(m.Text)
	if got == nil {
		t.Fatalf("no survey link in:\n%s", m.Text)
	}
	if !linkRE.MatchString(m.HTML) {
		t.Fatalf("no survey link in the HTML part:\n%s", m.HTML)
	}
	return got[1]
}

func newMailer(t *testing.T, srv *smtptest.Server) *mail.Sender {
	t.Helper()
	m, err := mail.NewSender(mail.Config{Host: srv.Host, Port: srv.Port, From: "Kizuna <cx@kizuna.example>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// noQuiet: contact rules without quiet hours, so tests do not depend on
// the hour they run at.
func noQuiet() ContactRules {
	r := DefaultContactRules()
	r.QuietStart, r.QuietEnd = "", ""
	return r
}

// TestTriggerInviteRespond is the whole flow: an event triggers an
// invitation, the sender job mails it over SMTP, the link in the received
// mail is answered, a non-responder gets exactly one reminder.
func TestTriggerInviteRespond(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		srv := smtptest.Start(t)
		cmp := complaints{}
		s := NewService(d, Options{Mailer: newMailer(t, srv), BaseURL: "https://cx.example.com/", Complaints: cmp})
		ctx := manager(context.Background())
		sys := auth.System(context.Background(), "test")
		sv := liveSurvey(t, s, "after-order", Settings{})
		if err := s.SetContactRules(ctx, 0, noQuiet()); err != nil {
			t.Fatal(err)
		}
		tr, err := s.CreateTrigger(ctx, TriggerInput{SurveyID: sv.ID, EventName: "Order Completed", Delay: time.Hour,
			Conditions: []PropertyCondition{{Property: "revenue", Op: "gte", Value: 50.0}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.CreateTrigger(ctx, TriggerInput{SurveyID: sv.ID, EventName: "x", Conditions: []PropertyCondition{{Property: "a", Op: "near"}}}); kizuna.ErrorField(err) != "conditions[0].op" {
			t.Fatalf("bad condition: %v", err)
		}
		hanako := addCustomer(t, d, "hanako@example.jp", "Asia/Tokyo", "ja")
		ken := addCustomer(t, d, "ken@example.com", "America/New_York", "en")
		noMail := addCustomer(t, d, "", "", "")
		past := time.Now().Add(-2 * time.Hour)
		events := []TriggerEvent{
			{CustomerID: hanako, Name: "Order Completed", Properties: json.RawMessage(`{"revenue": 120}`), OccurredAt: past, EventID: 1},
			{CustomerID: ken, Name: "Order Completed", Properties: json.RawMessage(`{"revenue": 80}`), OccurredAt: past, EventID: 2},
			{CustomerID: noMail, Name: "Order Completed", Properties: json.RawMessage(`{"revenue": 99}`), OccurredAt: past, EventID: 3},
			{CustomerID: hanako, Name: "Order Completed", Properties: json.RawMessage(`{"revenue": 10}`), OccurredAt: past, EventID: 4},
			{CustomerID: hanako, Name: "Page Viewed", Properties: json.RawMessage(`{"revenue": 500}`), OccurredAt: past, EventID: 5},
			{CustomerID: ken, Name: "Order Completed", Properties: json.RawMessage(`{"revenue": 500}`), OccurredAt: past.Add(-30 * 24 * time.Hour), EventID: 6},
			{CustomerID: 0, Name: "Order Completed", Properties: json.RawMessage(`{"revenue": 500}`), OccurredAt: past, EventID: 7},
		}
		ingest := auth.System(context.Background(), "ingest")
		for i := 0; i < 2; i++ { // a repeated hook call schedules nothing new
			if err := s.OnEvents(ingest, events); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.OnEvents(viewer(context.Background()), events); kizuna.ErrorCode(err) != kizuna.EFORBIDDEN {
			t.Fatalf("viewer OnEvents: %v", err)
		}
		invs, err := s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID})
		if err != nil || len(invs) != 3 {
			t.Fatalf("scheduled %d invitations (%v), want 3", len(invs), err)
		}
		for _, inv := range invs {
			if inv.Status != InvitationScheduled || *inv.TriggerID != tr.ID || !inv.ScheduledAt.Equal(past.Add(time.Hour).Truncate(time.Millisecond)) {
				t.Fatalf("invitation: %+v", inv)
			}
		}
		rep, err := s.SendDue(sys)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Sent != 2 || rep.Skipped != 1 {
			t.Fatalf("send report %+v", rep)
		}
		msgs := srv.Wait(t, 2)
		byTo := map[string]smtptest.Message{}
		for _, m := range msgs {
			byTo[m.To[0]] = m
		}
		hm, km := byTo["hanako@example.jp"], byTo["ken@example.com"]
		if hm.Subject != "購入後アンケート：アンケートご協力のお願い" || km.Subject != "購入後アンケート: we would value your feedback" {
			t.Fatalf("subjects %q / %q", hm.Subject, km.Subject)
		}
		if !regexp.MustCompile(`山田 太郎 様`).MatchString(hm.Text) || !regexp.MustCompile(`Dear 太郎 山田,`).MatchString(km.Text) {
			t.Fatalf("greetings:\n%s\n%s", hm.Text, km.Text)
		}
		// The Message-ID is recorded on the invitation; skipped ones say why.
		sent, _ := s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID, CustomerID: hanako})
		if len(sent) != 1 || sent[0].Status != InvitationSent || "<"+sent[0].MessageID+">" != hm.Header.Get("Message-Id") || sent[0].ExpiresAt == nil {
			t.Fatalf("sent invitation %+v vs header %q", sent, hm.Header.Get("Message-Id"))
		}
		skipped, _ := s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID, Status: InvitationSkipped})
		if len(skipped) != 1 || skipped[0].SkipReason != SkipNoEmail {
			t.Fatalf("skipped: %+v", skipped)
		}
		// Hanako answers through the link in the mail she received.
		rctx := respondent(context.Background())
		tok := tokenIn(t, hm)
		sess, err := s.StartResponse(rctx, StartInput{Token: tok})
		if err != nil {
			t.Fatal(err)
		}
		if sess.Form.Locale != "en" && sess.Form.Locale != "ja" {
			t.Fatalf("form locale %q", sess.Form.Locale)
		}
		for _, p := range []SaveInput{
			{Page: "score", Answers: []Answer{{Question: "nps", Num: f64(10)}}},
			{Page: "why", Answers: []Answer{{Question: "delighted", Text: "早い配送"}}},
			{Page: "detail", Answers: []Answer{{Question: "csat", Num: f64(5)}}},
		} {
			p.SurveyID, p.ClientKey = sv.ID, sess.ClientKey
			if _, err := s.SavePage(rctx, p); err != nil {
				t.Fatal(err)
			}
		}
		r, err := s.Complete(rctx, CompleteInput{SurveyID: sv.ID, ClientKey: sess.ClientKey})
		if err != nil || r.CustomerID == nil || *r.CustomerID != hanako || r.Channel != ChannelEmail || r.InvitationID == nil {
			t.Fatalf("completed: %+v %v", r, err)
		}
		if _, err := s.StartResponse(rctx, StartInput{Token: tok}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("link reused: %v", err)
		}
		// Three days later: one reminder, to Ken only.
		exec(t, d, `UPDATE survey_invitations SET sent_at = sent_at - $1`, (3*24*time.Hour + time.Minute).Milliseconds())
		rep, err = s.SendDue(sys)
		if err != nil || rep.Reminded != 1 {
			t.Fatalf("reminders: %+v %v", rep, err)
		}
		msgs = srv.Wait(t, 3)
		rem := msgs[2]
		if rem.To[0] != "ken@example.com" || !regexp.MustCompile(`^Reminder — `).MatchString(rem.Subject) ||
			rem.Header.Get("In-Reply-To") != km.Header.Get("Message-Id") {
			t.Fatalf("reminder: to %v subject %q in-reply-to %q", rem.To, rem.Subject, rem.Header.Get("In-Reply-To"))
		}
		if rep, _ := s.SendDue(sys); rep.Reminded != 0 {
			t.Fatalf("a second reminder: %+v", rep)
		}
		// Ken answers through the reminder; his first link is then used too.
		kenTok := tokenIn(t, rem)
		ks, err := s.StartResponse(rctx, StartInput{Token: kenTok})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.StartResponse(rctx, StartInput{Token: tokenIn(t, km)}); kizuna.ErrorCode(err) != kizuna.ECONFLICT {
			t.Fatalf("first link after the reminder's: %v", err)
		}
		// Ken unsubscribes; the next invitation to him is skipped.
		if err := s.Unsubscribe(rctx, kenTok); err != nil {
			t.Fatal(err)
		}
		if err := s.Unsubscribe(rctx, "nope"); kizuna.ErrorCode(err) != kizuna.ENOTFOUND {
			t.Fatalf("bad unsubscribe token: %v", err)
		}
		_ = ks
		// Contact rules on manual invitations.
		taro := addCustomer(t, d, "taro@example.jp", "", "ja")
		angry := addCustomer(t, d, "angry@example.jp", "", "ja")
		cmp[angry] = true
		if _, err := s.Invite(ctx, InviteInput{SurveyID: sv.ID, CustomerIDs: []int64{hanako, ken, angry, taro}, Channel: ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.SendDue(sys); err != nil || rep.Sent != 1 || rep.Skipped != 3 {
			t.Fatalf("manual round: %+v %v", rep, err)
		}
		want := map[int64]string{hanako: SkipCooldown, ken: SkipUnsubscribed, angry: SkipOpenComplaint, taro: ""}
		for cust, reason := range want {
			list, _ := s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID, CustomerID: cust, Limit: 1})
			if len(list) != 1 || list[0].SkipReason != reason {
				t.Fatalf("customer %d: %+v, want reason %q", cust, list, reason)
			}
		}
		// Closing the survey skips what is still due.
		later := addCustomer(t, d, "later@example.jp", "", "ja")
		if _, err := s.Invite(ctx, InviteInput{SurveyID: sv.ID, CustomerIDs: []int64{later}, Channel: ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Close(ctx, sv.ID); err != nil {
			t.Fatal(err)
		}
		if rep, _ := s.SendDue(sys); rep.Skipped != 1 {
			t.Fatalf("closed survey round: %+v", rep)
		}
		if list, _ := s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID, CustomerID: later}); list[0].SkipReason != SkipSurveyClosed {
			t.Fatalf("closed: %+v", list)
		}
		if n := len(srv.Messages()); n != 4 {
			t.Fatalf("%d mails in all, want 4", n)
		}
		rep2, err := s.Report(viewer(context.Background()), sv.ID)
		if err != nil {
			t.Fatal(err)
		}
		// Sent: hanako, ken (trigger), taro (manual). Skipped: no_email,
		// cooldown, unsubscribed, open_complaint, survey_closed.
		if rep2.Invitations[InvitationSent] != 3 || rep2.Invitations[InvitationSkipped] != 5 || rep2.Reminded != 1 ||
			rep2.Responded != 1 || rep2.Skipped[SkipCooldown] != 1 || rep2.Skipped[SkipNoEmail] != 1 ||
			rep2.Responses[ResponseCompleted] != 1 || rep2.Responses[ResponsePartial] != 1 || rep2.Flagged != 1 {
			t.Fatalf("report %+v", rep2)
		}
	})
}

func TestSamplingQuietHoursLinksAndFailures(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		srv := smtptest.Start(t)
		s := NewService(d, Options{Mailer: newMailer(t, srv), BaseURL: "https://cx.example.com"})
		ctx := manager(context.Background())
		sys := auth.System(context.Background(), "test")
		sv := liveSurvey(t, s, "sampled", Settings{})
		// A survey's own rules replace the global ones: a 30% sample.
		r := noQuiet()
		r.SamplePercent = 30
		if err := s.SetContactRules(ctx, sv.ID, r); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.ContactRulesOf(viewer(context.Background()), sv.ID); got.SamplePercent != 30 {
			t.Fatalf("rules of survey: %+v", got)
		}
		if got, _ := s.ContactRulesOf(viewer(context.Background()), 0); got.SamplePercent != 100 {
			t.Fatalf("global rules: %+v", got)
		}
		if err := s.SetContactRules(ctx, sv.ID, ContactRules{SamplePercent: 0, TimeZone: "UTC"}); kizuna.ErrorField(err) != "sample_percent" {
			t.Fatalf("bad rules: %v", err)
		}
		var ids []int64
		in := 0
		for i := 0; i < 40; i++ {
			id := addCustomer(t, d, "c@example.jp", "", "ja")
			ids = append(ids, id)
			if InSample(sv.ID, id, 30) {
				in++
			}
		}
		// Links: decided now, token returned once; the sampled-out get none.
		issued, err := s.Invite(ctx, InviteInput{SurveyID: sv.ID, CustomerIDs: ids, Channel: ChannelLink})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for i, iss := range issued {
			switch {
			case iss.Token != "":
				got++
				if iss.Status != InvitationSent || iss.Link != "https://cx.example.com/r/"+iss.Token || !InSample(sv.ID, ids[i], 30) {
					t.Fatalf("issued %+v", iss)
				}
			case iss.SkipReason != SkipSampledOut || InSample(sv.ID, ids[i], 30):
				t.Fatalf("not issued: %+v", iss)
			}
		}
		if got != in || in == 0 || in == 40 {
			t.Fatalf("%d links issued, %d in the sample", got, in)
		}
		if _, err := s.StartResponse(respondent(context.Background()), StartInput{Token: issued[firstIssued(issued)].Token}); err != nil {
			t.Fatalf("issued link: %v", err)
		}
		// Quiet hours around now in Tokyo defer an email to their end.
		if err := s.ClearContactRules(ctx, sv.ID); err != nil {
			t.Fatal(err)
		}
		tokyo, _ := time.LoadLocation("Asia/Tokyo")
		now := time.Now().In(tokyo)
		q := noQuiet()
		q.QuietStart, q.QuietEnd = now.Add(-time.Hour).Format("15:04"), now.Add(time.Hour).Format("15:04")
		if err := s.SetContactRules(ctx, 0, q); err != nil {
			t.Fatal(err)
		}
		night := addCustomer(t, d, "night@example.jp", "Asia/Tokyo", "ja")
		if _, err := s.Invite(ctx, InviteInput{SurveyID: sv.ID, CustomerIDs: []int64{night}, Channel: ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		if rep, _ := s.SendDue(sys); rep.Deferred != 1 || rep.Sent != 0 {
			t.Fatalf("quiet round: %+v", rep)
		}
		list, _ := s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID, CustomerID: night})
		wantAt, _ := QuietUntil(q, "Asia/Tokyo", now)
		if list[0].Status != InvitationScheduled || list[0].ScheduledAt.Sub(wantAt).Abs() > time.Minute || list[0].ScheduledAt.Before(now) {
			t.Fatalf("deferred to %v, want %v: %+v", list[0].ScheduledAt, wantAt, list[0])
		}
		// A refusing mail server: the invitation is retried, then fails.
		if err := s.SetContactRules(ctx, 0, noQuiet()); err != nil {
			t.Fatal(err)
		}
		exec(t, d, `UPDATE survey_invitations SET scheduled_at = 0 WHERE customer_id = $1`, night)
		srv.SetRefuse(true)
		for i := 0; i < maxSendAttempts; i++ {
			if rep, _ := s.SendDue(sys); rep.Failed != 1 {
				t.Fatalf("attempt %d: %+v", i, rep)
			}
			exec(t, d, `UPDATE survey_invitations SET scheduled_at = 0 WHERE customer_id = $1 AND status = 'scheduled'`, night)
		}
		list, _ = s.Invitations(ctx, InvitationFilter{SurveyID: sv.ID, CustomerID: night})
		if list[0].Status != InvitationFailed || list[0].Attempts != maxSendAttempts || list[0].LastError == "" {
			t.Fatalf("after %d refusals: %+v", maxSendAttempts, list[0])
		}
		if rep, _ := s.SendDue(sys); rep.Failed != 0 || rep.Sent != 0 {
			t.Fatalf("failed invitation retried: %+v", rep)
		}
	})
}

func firstIssued(l []IssuedInvitation) int {
	for i, x := range l {
		if x.Token != "" {
			return i
		}
	}
	return 0
}

// TestSendJobTwoNodes: two nodes run the sender at once over one store;
// every invitation is mailed exactly once.
func TestSendJobTwoNodes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		srv := smtptest.Start(t)
		a := NewService(d, Options{Mailer: newMailer(t, srv), BaseURL: "https://cx.example.com", SendBatch: 7})
		b := NewService(d, Options{Mailer: newMailer(t, srv), BaseURL: "https://cx.example.com", SendBatch: 7})
		ctx := manager(context.Background())
		sv := liveSurvey(t, a, "nodes", Settings{})
		if err := a.SetContactRules(ctx, 0, noQuiet()); err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for i := 0; i < 30; i++ {
			ids = append(ids, addCustomer(t, d, "n@example.jp", "", "ja"))
		}
		if _, err := a.Invite(ctx, InviteInput{SurveyID: sv.ID, CustomerIDs: ids, Channel: ChannelEmail}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for _, s := range []*Service{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sys := auth.System(context.Background(), "node")
				for i := 0; i < 6; i++ {
					if _, err := s.SendDue(sys); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		wg.Wait()
		if n := len(srv.Wait(t, 30)); n != 30 {
			t.Fatalf("%d mails for 30 invitations", n)
		}
		time.Sleep(50 * time.Millisecond)
		if n := len(srv.Messages()); n != 30 {
			t.Fatalf("%d mails for 30 invitations", n)
		}
		// The exported jobs run through the lease runner.
		r := jobs.NewRunner(d, nil)
		for _, j := range a.Jobs() {
			if ran, err := r.RunOnce(context.Background(), j); err != nil || !ran {
				t.Fatalf("job %s: %v %v", j.Name, ran, err)
			}
		}
	})
}
