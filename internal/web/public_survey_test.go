package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

const testClientKey = "route-test-client-key-0001"

func txt(ja, en string) feedback.Text { return feedback.Text{JA: ja, EN: en} }

// respondentDefinition: an NPS page, then a page whose follow-up depends
// on the score, with a required CSAT.
func respondentDefinition() feedback.Definition {
	return feedback.Definition{
		ThankYou: txt("ご協力ありがとうございました！", "Thanks a lot for your feedback!"),
		Pages: []feedback.Page{
			{Key: "score", Questions: []feedback.Question{
				{Key: "nps", Type: feedback.QNPS, Required: true, Subject: txt("当店", "our shop")},
			}},
			{Key: "detail", Questions: []feedback.Question{
				{Key: "delighted", Type: feedback.QText, Text: txt("何が良かったですか？", "What delighted you?"),
					ShowIf: &feedback.Condition{Question: "nps", Op: "gte", Value: 9}},
				{Key: "disappointed", Type: feedback.QText, Text: txt("何が残念でしたか？", "What disappointed you?"),
					ShowIf: &feedback.Condition{Question: "nps", Op: "lte", Value: 6}},
				{Key: "csat", Type: feedback.QCSAT, Required: true, Text: txt("満足度を教えてください。", "How satisfied are you?")},
			}},
		},
	}
}

type respondentIDs struct {
	surveyID int64
	slug     string
	token    string // a personal link of customer hanako
}

// respondentSeed creates a live survey open to anonymous answers and a
// personal link for hanako in h's database.
func respondentSeed(t *testing.T, h *harness) respondentIDs {
	t.Helper()
	svc := h.srv.cfg.Surveys
	ctx := auth.System(context.Background(), "test")
	sv, err := svc.CreateSurvey(ctx, feedback.SurveyInput{Slug: "after-visit", Name: "ご来店アンケート", Touchpoint: "store",
		JourneyStage: "purchase", Settings: feedback.Settings{AllowAnonymous: true, MinSeconds: 1}, Definition: respondentDefinition()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, sv.ID); err != nil {
		t.Fatal(err)
	}
	rules := feedback.DefaultContactRules()
	rules.QuietStart, rules.QuietEnd = "", ""
	if err := svc.SetContactRules(ctx, 0, rules); err != nil {
		t.Fatal(err)
	}
	inv, err := svc.Invite(ctx, feedback.InviteInput{SurveyID: sv.ID, CustomerIDs: []int64{h.ids.hanako}, Channel: "link"})
	if err != nil || len(inv) != 1 || inv[0].Token == "" {
		t.Fatalf("invite: %v %+v", err, inv)
	}
	return respondentIDs{surveyID: sv.ID, slug: sv.Slug, token: inv[0].Token}
}

// countResponses counts the responses matching where, leaving out those of
// the harness's seeded survey.
func countResponses(t *testing.T, h *harness, where string) int {
	t.Helper()
	var n int
	if err := h.db.Reader().QueryRow(`SELECT COUNT(*) FROM survey_responses WHERE survey_id <> $1 AND (`+where+`)`, h.ids.survey).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

var hiddenRE = regexp.MustCompile(`name="(client_key|opened|page)" value="([^"]*)"`)

// formFields returns the hidden fields of a rendered respondent page.
func formFields(t *testing.T, body string) url.Values {
	t.Helper()
	v := url.Values{}
	for _, m := range hiddenRE.FindAllStringSubmatch(body, -1) {
		v.Set(m[1], strings.ReplaceAll(m[2], "&#43;", "+"))
	}
	if v.Get("client_key") == "" || v.Get("page") == "" {
		t.Fatalf("no form in:\n%s", body)
	}
	return v
}

// postForm posts like a browser without cookies: no CSRF token at all.
func postForm(h *harness, path string, v url.Values, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, path, strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return h.serve(r)
}

func getPage(h *harness, path string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return h.serve(r)
}

// TestPublicSurveyLink answers the public link page by page: GETs write
// nothing, a page posted twice is stored once, the follow-up depends on
// the score, a required question left open shows the page again, the
// honeypot flags, and a completed form cannot be completed again.
func TestPublicSurveyLink(t *testing.T) {
	h := newHarness(t)
	ids := respondentSeed(t, h)
	for i := 0; i < 3; i++ {
		w := getPage(h, "/s/"+ids.slug, "Accept-Language", "ja,en;q=0.5")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "当店") || !strings.Contains(w.Body.String(), `lang="ja"`) {
			t.Fatalf("GET /s: %d\n%s", w.Code, w.Body.String())
		}
		if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Fatalf("CSP %q", csp)
		}
	}
	if n := countResponses(t, h, "1=1"); n != 0 {
		t.Fatalf("GETs created %d responses", n)
	}
	w := getPage(h, "/s/"+ids.slug+"?lang=en")
	if !strings.Contains(w.Body.String(), "our shop") {
		t.Fatalf("?lang=en: %s", w.Body.String())
	}
	f := formFields(t, w.Body.String())
	time.Sleep(1100 * time.Millisecond) // MinSeconds is 1: answer like a person
	f.Set("q.nps", "10")
	for i := 0; i < 2; i++ { // a retry of the same page
		w = postForm(h, "/s/"+ids.slug, f, "Origin", "https://mail.example.net")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "What delighted you?") ||
			strings.Contains(w.Body.String(), "What disappointed you?") {
			t.Fatalf("POST page 1: %d\n%s", w.Code, w.Body.String())
		}
	}
	if n := countResponses(t, h, "status = 'partial'"); n != 1 {
		t.Fatalf("%d partial responses, want 1", n)
	}
	var answers int
	_ = h.db.Reader().QueryRow(`SELECT COUNT(*) FROM survey_answers a JOIN survey_responses r ON r.id = a.response_id WHERE r.survey_id <> $1`, h.ids.survey).Scan(&answers)
	if answers != 1 {
		t.Fatalf("%d answers after saving page 1 twice, want 1", answers)
	}
	f2 := formFields(t, w.Body.String())
	if f2.Get("page") != "detail" || f2.Get("client_key") != f.Get("client_key") {
		t.Fatalf("page 2 fields %v", f2)
	}
	// The required CSAT left open: the page again, with the problem.
	f2.Set("q.delighted", "丁寧な接客")
	w = postForm(h, "/s/"+ids.slug, f2)
	if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "csat") || !strings.Contains(w.Body.String(), "What delighted you?") {
		t.Fatalf("missing CSAT: %d\n%s", w.Code, w.Body.String())
	}
	f2.Set("q.csat", "5")
	w = postForm(h, "/s/"+ids.slug, f2)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Thanks a lot for your feedback!") {
		t.Fatalf("complete: %d\n%s", w.Code, w.Body.String())
	}
	if n := countResponses(t, h, "status = 'completed' AND flags = '' AND nps_score = 10 AND channel = 'link'"); n != 1 {
		t.Fatalf("%d clean completed responses, want 1", n)
	}
	w = postForm(h, "/s/"+ids.slug, f2)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "already been answered") {
		t.Fatalf("second completion: %d\n%s", w.Code, w.Body.String())
	}

	// A bot: fills the trap and answers at once.
	b := formFields(t, getPage(h, "/s/"+ids.slug).Body.String())
	b.Set("q.nps", "0")
	b.Set(honeypotField, "http://spam.example")
	postForm(h, "/s/"+ids.slug, b)
	b.Set("page", "detail")
	b.Set("q.csat", "1")
	if w := postForm(h, "/s/"+ids.slug, b); w.Code != http.StatusOK {
		t.Fatalf("bot: %d %s", w.Code, w.Body.String())
	}
	if n := countResponses(t, h, "status = 'completed' AND flags LIKE '%honeypot%' AND flags LIKE '%too_fast%'"); n != 1 {
		t.Fatalf("%d flagged responses, want 1", n)
	}
	// A forged "opened" field does not buy time.
	b = formFields(t, getPage(h, "/s/"+ids.slug).Body.String())
	b.Set("opened", "1000."+strings.Repeat("A", 43))
	b.Set("q.nps", "8")
	postForm(h, "/s/"+ids.slug, b)
	b.Set("page", "detail")
	b.Set("q.csat", "4")
	postForm(h, "/s/"+ids.slug, b)
	if n := countResponses(t, h, "status = 'completed' AND nps_score = 8 AND flags = 'too_fast'"); n != 1 {
		t.Fatalf("forged opened: %d too_fast responses with score 8, want 1", n)
	}

	if w := getPage(h, "/s/no-such-survey"); w.Code != http.StatusNotFound {
		t.Fatalf("unknown slug: %d", w.Code)
	}
}

// TestPersonalLinkAndUnsubscribe: the personal link shows the form to
// every GET (a mail scanner) without redeeming it, speaks the customer's
// language, is answered once, then says so; the unsubscribe link asks on
// GET and acts on POST, one-click from a mail client included.
func TestPersonalLinkAndUnsubscribe(t *testing.T) {
	h := newHarness(t)
	ids := respondentSeed(t, h)
	if _, err := h.db.Writer().Exec(`UPDATE customers SET locale = 'ja' WHERE id = $1`, h.ids.hanako); err != nil {
		t.Fatal(err)
	}
	var w *httptest.ResponseRecorder
	for i := 0; i < 3; i++ {
		w = getPage(h, "/r/"+ids.token, "Accept-Language", "en-US")
		if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "当店") {
			t.Fatalf("GET /r: %d\n%s", w.Code, w.Body.String())
		}
	}
	if n := countResponses(t, h, "1=1"); n != 0 {
		t.Fatalf("GETs of the link created %d responses", n)
	}
	f := formFields(t, w.Body.String())
	f.Set("q.nps", "3")
	w = postForm(h, "/r/"+ids.token, f)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "何が残念でしたか？") {
		t.Fatalf("page 1: %d\n%s", w.Code, w.Body.String())
	}
	// Reopening the link on the same device resumes with the same key.
	cookies := w.Result().Cookies()
	r := httptest.NewRequest(http.MethodGet, "/r/"+ids.token, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	if again := formFields(t, h.serve(r).Body.String()); again.Get("client_key") != f.Get("client_key") {
		t.Fatalf("reopened link has key %q, want %q", again.Get("client_key"), f.Get("client_key"))
	}
	// Another device cannot take the link over.
	other := formFields(t, getPage(h, "/r/"+ids.token).Body.String())
	other.Set("q.nps", "10")
	if w := postForm(h, "/r/"+ids.token, other); w.Code != http.StatusConflict {
		t.Fatalf("second device: %d\n%s", w.Code, w.Body.String())
	}
	f.Set("page", "detail")
	f.Set("q.csat", "2")
	f.Set("q.disappointed", "配送が遅い")
	if w := postForm(h, "/r/"+ids.token, f); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ご協力ありがとうございました") {
		t.Fatalf("complete: %d\n%s", w.Code, w.Body.String())
	}
	if n := countResponses(t, h, "status = 'completed' AND channel = 'link' AND invitation_id IS NOT NULL AND customer_id = "+
		itoa(h.ids.hanako)); n != 1 {
		t.Fatalf("%d completed responses of hanako, want 1", n)
	}
	if w := getPage(h, "/r/"+ids.token); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "回答済み") {
		t.Fatalf("used link: %d\n%s", w.Code, w.Body.String())
	}
	if w := getPage(h, "/r/not-a-real-token-000000000000000000000000000"); w.Code != http.StatusNotFound {
		t.Fatalf("bad token: %d", w.Code)
	}

	// Unsubscribe: GET asks, POST (one-click, no cookie, no CSRF) acts.
	unsub := func() int {
		var n int
		_ = h.db.Reader().QueryRow(`SELECT COUNT(*) FROM feedback_contacts WHERE unsubscribed_at IS NOT NULL`).Scan(&n)
		return n
	}
	w = getPage(h, "/u/"+ids.token)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `method="post"`) || unsub() != 0 {
		t.Fatalf("GET /u: %d unsubscribed=%d\n%s", w.Code, unsub(), w.Body.String())
	}
	w = postForm(h, "/u/"+ids.token, url.Values{"List-Unsubscribe": {"One-Click"}}, "Origin", "https://mail.example.net")
	if w.Code != http.StatusOK || unsub() != 1 || !strings.Contains(w.Body.String(), "配信を停止しました") {
		t.Fatalf("POST /u: %d unsubscribed=%d\n%s", w.Code, unsub(), w.Body.String())
	}
	if w := postForm(h, "/u/nope", nil); w.Code != http.StatusNotFound {
		t.Fatalf("bad unsubscribe token: %d", w.Code)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
