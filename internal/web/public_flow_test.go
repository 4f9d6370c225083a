package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/mail"
	"github.com/kizuna-oss/kizuna/internal/mail/smtptest"
)

var mailLinkRE = regexp.MustCompile(`https://cx\.example\.test(/r/[A-Za-z0-9_-]{43})`)

// TestSurveyWholeFlow is issue #4's whole flow through real parts: a
// survey is created, an event arrives through the real tracking API
// (/v1/track with the write key), the trigger feed job hands it to the
// trigger, the send job mails the invitation over SMTP to a real SMTP
// server, the link in the received mail is fetched with GET (as a mail
// scanner would: nothing is created) and then answered with POSTs, and
// the results service counts the promoter.
func TestSurveyWholeFlow(t *testing.T) {
	h := newHarness(t)
	smtp := smtptest.Start(t)
	sender, err := mail.NewSender(mail.Config{Host: smtp.Host, Port: smtp.Port, From: "Kizuna <cx@kizuna.example>", StartTLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	cfg := h.config()
	cfg.Surveys = feedback.NewService(h.db, feedback.Options{OnComplete: []feedback.CompleteHook{results.OnComplete},
		Mailer: sender, BaseURL: "https://cx.example.test"})
	h.srv = New(cfg)
	svc := cfg.Surveys

	// 1. Create the survey and its trigger.
	mgr := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: h.userIDs[auth.RoleManager],
		Role: auth.RoleManager, Label: "manager@example.com"})
	sv, err := svc.CreateSurvey(mgr, feedback.SurveyInput{Slug: "after-order", Name: "購入後アンケート", Touchpoint: "purchase",
		JourneyStage: "purchase", Settings: feedback.Settings{MinSeconds: 1}, Definition: respondentDefinition()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(mgr, sv.ID); err != nil {
		t.Fatal(err)
	}
	rules := feedback.DefaultContactRules()
	rules.QuietStart, rules.QuietEnd = "", ""
	if err := svc.SetContactRules(mgr, 0, rules); err != nil {
		t.Fatal(err)
	}
	// The harness's seeded survey listens to the same event: switch it off
	// so that the one invitation the contact rules allow is this survey's.
	if err := svc.SetTriggerEnabled(mgr, h.ids.trigger, false); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateTrigger(mgr, feedback.TriggerInput{SurveyID: sv.ID, EventName: "Order Completed"}); err != nil {
		t.Fatal(err)
	}

	// 2. The event arrives through the tracking API.
	body := `{"userId":"u-1001","event":"Order Completed","messageId":"flow-1","timestamp":"` +
		time.Now().UTC().Format(time.RFC3339) + `","properties":{"order_id":"ORD-9001","total":4200,"currency":"JPY"}}`
	if w := h.serve(h.request(http.MethodPost, "/v1/track", "writekey", body, true)); w.Code != http.StatusOK {
		t.Fatalf("track: %d %s", w.Code, w.Body.String())
	}

	// 3. The jobs, as a node's runner runs them: feed, then send.
	runner := jobs.NewRunner(h.db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, j := range []jobs.Job{svc.FeedJob(), svc.SendJob()} {
		if ran, err := runner.RunOnce(context.Background(), j); err != nil || !ran {
			t.Fatalf("job %s: ran=%v err=%v", j.Name, ran, err)
		}
	}

	// 4. The invitation arrives at the SMTP server.
	msgs := smtp.Wait(t, 1)
	if len(msgs) != 1 || len(msgs[0].To) != 1 || msgs[0].To[0] != "hanako@example.jp" {
		t.Fatalf("mail: %+v", msgs)
	}
	if got := msgs[0].Header.Get("List-Unsubscribe"); !strings.Contains(got, "https://cx.example.test/u/") {
		t.Fatalf("List-Unsubscribe %q", got)
	}
	m := mailLinkRE.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no survey link in the mail:\n%s", msgs[0].Text)
	}
	link := m[1]

	// 5. A scanner's GET, then the customer's GET and POSTs.
	for i := 0; i < 2; i++ {
		if w := getPage(h, link); w.Code != http.StatusOK {
			t.Fatalf("GET %s: %d %s", link, w.Code, w.Body.String())
		}
	}
	if n := countResponses(t, h, "1=1"); n != 0 {
		t.Fatalf("GETs of the mailed link created %d responses", n)
	}
	f := formFields(t, getPage(h, link).Body.String())
	time.Sleep(1100 * time.Millisecond) // MinSeconds 1: a person's pace
	f.Set("q.nps", "9")
	if w := postForm(h, link, f); w.Code != http.StatusOK || formFields(t, w.Body.String()).Get("page") != "detail" {
		t.Fatalf("page 1: %d %s", w.Code, w.Body.String())
	}
	f.Set("page", "detail")
	f.Set("q.csat", "5")
	f.Set("q.delighted", "早い配送")
	// Hanako has no language set and the browser asks for none: English.
	if w := postForm(h, link, f); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Thanks a lot for your feedback!") {
		t.Fatalf("complete: %d %s", w.Code, w.Body.String())
	}

	// 6. The metrics show it, tied to the customer.
	res, err := cfg.Results.NPS(mgr, results.Filter{SurveyID: sv.ID})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Promoters != 1 || res.Counts.N() != 1 || res.NPS.Value.Or(0) != 100 {
		t.Fatalf("NPS: %+v", res.NPSResult)
	}
	if n := countResponses(t, h, "status = 'completed' AND channel = 'email' AND customer_id = "+itoa(h.ids.hanako)); n != 1 {
		t.Fatalf("%d completed email responses of hanako, want 1", n)
	}
	// The feed ran once; running every job again sends nothing more.
	for _, j := range []jobs.Job{svc.FeedJob(), svc.SendJob()} {
		if _, err := jobs.NewRunner(h.db, nil).RunOnce(context.Background(), j); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.FeedEvents(auth.System(context.Background(), "test")); err != nil {
		t.Fatal(err)
	}
	// Each event invited at most once (the seed's own Order Completed may
	// invite too while it is recent, and is then held back by the cooldown).
	var invitations, events, flow int
	_ = h.db.Reader().QueryRow(`SELECT COUNT(*), COUNT(DISTINCT event_id) FROM survey_invitations`).Scan(&invitations, &events)
	_ = h.db.Reader().QueryRow(`SELECT COUNT(*) FROM survey_invitations i JOIN events e ON e.id = i.event_id
		WHERE e.message_id = 'flow-1'`).Scan(&flow)
	if invitations != events || flow != 1 || len(smtp.Messages()) != 1 {
		t.Fatalf("%d invitations for %d events, %d for the flow's event, %d mails after re-running the jobs; want one each and 1 mail",
			invitations, events, flow, len(smtp.Messages()))
	}
}
