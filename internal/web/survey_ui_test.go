package web

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/i18n"
)

const testBaseURL = "https://cx.example.test"

// seedSurveyUI creates, through the real service, a live survey with one
// trigger, for the survey pages and the route × role matrix.
func (h *harness) seedSurveyUI() (surveyID, triggerID int64) {
	h.t.Helper()
	ctx := auth.System(context.Background(), "test")
	svc := h.srv.cfg.Surveys
	sv, err := svc.CreateSurvey(ctx, feedback.SurveyInput{Slug: "seeded", Name: "購入後アンケート", Touchpoint: "purchase", JourneyStage: "purchase",
		Settings: feedback.Settings{AllowAnonymous: true}, Definition: sampleDefinition()})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, err := svc.Publish(ctx, sv.ID); err != nil {
		h.t.Fatal(err)
	}
	tr, err := svc.CreateTrigger(ctx, feedback.TriggerInput{SurveyID: sv.ID, EventName: "Order Completed", Delay: time.Hour})
	if err != nil {
		h.t.Fatal(err)
	}
	return sv.ID, tr.ID
}

// sampleDefinition is an NPS with both follow-ups on a second page, an
// expectation question, a CSAT and a single choice: every kind of field
// the builder has.
func sampleDefinition() feedback.Definition {
	return feedback.Definition{
		Title: feedback.Text{JA: "ご購入についてのアンケート", EN: "About your purchase"},
		Pages: []feedback.Page{
			{Key: "score", Questions: []feedback.Question{
				{Key: "nps", Type: feedback.QNPS, Required: true, Subject: feedback.Text{JA: "当店", EN: "our shop"}},
				{Key: "exp", Type: feedback.QExpectation, Text: feedback.Text{JA: "期待と実際はいかがでしたか？", EN: "How did we compare with what you expected?"},
					Attributes: []feedback.Option{{Key: "quality", Text: feedback.Text{JA: "品質", EN: "Quality"}}, {Key: "price", Text: feedback.Text{JA: "価格", EN: "Price"}}}},
				{Key: "csat", Type: feedback.QCSAT, Text: feedback.Text{JA: "配送に満足しましたか？", EN: "How satisfied are you with the delivery?"}},
			}},
			{Key: "why", Questions: []feedback.Question{
				{Key: "disappointed", Type: feedback.QText, Text: feedback.Text{JA: "どのような点にご不満でしたか？", EN: "What disappointed you?"},
					ShowIf: &feedback.Condition{Question: "nps", Op: "lte", Value: 6}},
				{Key: "delighted", Type: feedback.QText, Text: feedback.Text{JA: "特にご満足いただけた点は？", EN: "What delighted you?"},
					ShowIf: &feedback.Condition{Question: "nps", Op: "gte", Value: 9}},
				{Key: "channel", Type: feedback.QSingle, Text: feedback.Text{JA: "どこで知りましたか？", EN: "Where did you hear of us?"},
					Options: []feedback.Option{{Key: "web", Text: feedback.Text{JA: "ウェブ", EN: "Web"}}, {Key: "friend", Text: feedback.Text{JA: "友人", EN: "A friend"}}}},
			}},
		},
	}
}

// builderValues is what a browser posts for in: the inverse of
// parseBuilder, scales included.
func builderValues(in feedback.SurveyInput) url.Values {
	v := url.Values{}
	set := func(k, s string) { v.Set(k, s) }
	text := func(k string, t feedback.Text) { set(k+"_ja", t.JA); set(k+"_en", t.EN) }
	set("name", in.Name)
	set("slug", in.Slug)
	set("touchpoint", in.Touchpoint)
	set("journey_stage", in.JourneyStage)
	if in.Settings.AllowAnonymous {
		set("anon", "1")
	}
	if in.Settings.DelightThreshold != 0 {
		set("delight", fmt.Sprint(in.Settings.DelightThreshold))
	}
	if len(in.Settings.BreakdownAttributes) > 0 {
		set("breakdown_attributes", strings.Join(in.Settings.BreakdownAttributes, ", "))
	}
	text("title", in.Definition.Title)
	text("intro", in.Definition.Intro)
	text("thanks", in.Definition.ThankYou)
	cond := func(p string, c *feedback.Condition) {
		if c == nil {
			return
		}
		set(p+"if_q", c.Question)
		set(p+"if_op", c.Op)
		if c.Op == "in" {
			set(p+"if_v", strings.Join(c.Values, ","))
		} else {
			set(p+"if_v", fmt.Sprint(c.Value))
		}
	}
	for pi, pg := range feedback.Normalize(in.Definition).Pages {
		pp := fmt.Sprintf("p%d.", pi)
		set(pp+"key", pg.Key)
		text(pp+"title", pg.Title)
		cond(pp, pg.ShowIf)
		for qi, q := range pg.Questions {
			qp := fmt.Sprintf("%sq%d.", pp, qi)
			set(qp+"key", q.Key)
			set(qp+"type", string(q.Type))
			set(qp+"stype", string(q.Type))
			text(qp+"text", q.Text)
			text(qp+"help", q.Help)
			text(qp+"subject", q.Subject)
			if q.Required {
				set(qp+"req", "1")
			}
			cond(qp, q.ShowIf)
			if s := q.Scale; s != nil {
				set(qp+"min", fmt.Sprint(s.Min))
				set(qp+"max", fmt.Sprint(s.Max))
				set(qp+"topbox", fmt.Sprint(s.TopBoxLen))
				text(qp+"minl", s.MinLabel)
				text(qp+"maxl", s.MaxLabel)
				for i, l := range s.Labels {
					text(fmt.Sprintf("%slab%d", qp, i), l)
				}
			}
			for i, o := range q.Options {
				set(fmt.Sprintf("%so%d.key", qp, i), o.Key)
				set(fmt.Sprintf("%so%d.ja", qp, i), o.Text.JA)
				set(fmt.Sprintf("%so%d.en", qp, i), o.Text.EN)
			}
			for i, o := range q.Attributes {
				set(fmt.Sprintf("%sa%d.key", qp, i), o.Key)
				set(fmt.Sprintf("%sa%d.ja", qp, i), o.Text.JA)
				set(fmt.Sprintf("%sa%d.en", qp, i), o.Text.EN)
			}
		}
	}
	return v
}

// surveyFormBody is a valid builder post creating a survey with slug.
func surveyFormBody(slug string) string {
	v := builderValues(feedback.SurveyInput{Name: "Route test", Slug: slug, Definition: sampleDefinition()})
	v.Set("op", "save")
	return v.Encode()
}

func TestBuilderFormRoundTrip(t *testing.T) {
	in := feedback.SurveyInput{Name: "n", Slug: "s", Touchpoint: "delivery", JourneyStage: "usage",
		Settings: feedback.Settings{AllowAnonymous: true, DelightThreshold: 1.5, BreakdownAttributes: []string{"plan", "industry"}}, Definition: sampleDefinition()}
	got := parseBuilder(builderValues(in)).In
	want := in
	want.Definition = feedback.Normalize(in.Definition)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip changed the survey:\n got %+v\nwant %+v", got, want)
	}
}

func TestBuilderOps(t *testing.T) {
	base := builderValues(feedback.SurveyInput{Name: "n", Slug: "s", Definition: sampleDefinition()})
	run := func(op string, extra ...string) feedback.Definition {
		t.Helper()
		v := url.Values{}
		for k, x := range base {
			v[k] = x
		}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		v.Set("op", op)
		f := parseBuilder(v)
		if !f.apply(v) {
			t.Fatalf("op %q refused", op)
		}
		return f.In.Definition
	}
	keys := func(d feedback.Definition) string {
		var out []string
		for _, p := range d.Pages {
			var qs []string
			for _, q := range p.Questions {
				qs = append(qs, q.Key)
			}
			out = append(out, p.Key+":"+strings.Join(qs, ","))
		}
		return strings.Join(out, " | ")
	}
	for _, c := range []struct {
		op    string
		extra []string
		want  string
	}{
		{"up:0:1", nil, "score:exp,nps,csat | why:disappointed,delighted,channel"},
		{"down:0:2", nil, "score:nps,exp | why:csat,disappointed,delighted,channel"},
		{"up:1:0", nil, "score:nps,exp,csat,disappointed | why:delighted,channel"},
		{"del_q:1:2", nil, "score:nps,exp,csat | why:disappointed,delighted"},
		{"add_page", nil, "score:nps,exp,csat | why:disappointed,delighted,channel | page_3:"},
		{"page_down:0", nil, "why:disappointed,delighted,channel | score:nps,exp,csat"},
		{"del_page:1", nil, "score:nps,exp,csat"},
		{"add_q:0", []string{"p0.newtype", "ces"}, "score:nps,exp,csat,ces | why:disappointed,delighted,channel"},
		{"add_q:1", []string{"p1.newtype", presetDetractors}, "score:nps,exp,csat | why:disappointed,delighted,channel,detractors"},
	} {
		if got := keys(run(c.op, c.extra...)); got != c.want {
			t.Errorf("%s: %s, want %s", c.op, got, c.want)
		}
	}
	d := run("add_q:1", "p1.newtype", presetPromoters)
	q := d.Pages[1].Questions[3]
	if q.ShowIf == nil || q.ShowIf.Question != "nps" || q.ShowIf.Op != "gte" || q.ShowIf.Value != 9 || q.Text.EN != "What delighted you?" {
		t.Errorf("promoter follow-up: %+v %+v", q, q.ShowIf)
	}
	d = run("add_opt:1:2")
	if n := len(d.Pages[1].Questions[2].Options); n != 3 {
		t.Errorf("add_opt: %d options", n)
	}
	d = run("del_attr:0:1:0")
	if a := d.Pages[0].Questions[1].Attributes; len(a) != 1 || a[0].Key != "price" {
		t.Errorf("del_attr: %+v", a)
	}
	// Retyping a question drops its old scale: a CES from an NPS gets 1–7.
	v := url.Values{}
	for k, x := range base {
		v[k] = x
	}
	v.Set("p0.q0.type", "ces")
	if s := feedback.Normalize(parseBuilder(v).In.Definition).Pages[0].Questions[0].Scale; s == nil || s.Min != 1 || s.Max != 7 {
		t.Errorf("retyped scale %+v", s)
	}
	f := parseBuilder(base)
	f.Op = "del_q:9:9"
	if f.apply(base) {
		t.Error("out-of-range op accepted")
	}
}

// post sends a builder or action form as who.
func (h *harness) post(target, who string, v url.Values) *httptest_Response {
	w := h.serve(h.request(http.MethodPost, target, who, v.Encode(), false))
	return &httptest_Response{Code: w.Code, Body: w.Body.String(), Location: w.Header().Get("Location")}
}

type httptest_Response struct {
	Code     int
	Body     string
	Location string
}

// formValues is what a browser would post from the builder page in body
// (without the op button): inputs, checked boxes, selected options and
// textareas of the form with class "builder".
func formValues(t *testing.T, body string) url.Values {
	t.Helper()
	start := strings.Index(body, `class="builder"`)
	if start < 0 {
		t.Fatal("no builder form")
	}
	body = body[start:]
	body = body[:strings.Index(body, "</form>")]
	v := url.Values{}
	attr := func(tag, name string) (string, bool) {
		m := regexp.MustCompile(`\s` + name + `="([^"]*)"`).FindStringSubmatch(tag)
		if m == nil {
			return "", false
		}
		return html.UnescapeString(m[1]), true
	}
	for _, tag := range regexp.MustCompile(`<input[^>]*>`).FindAllString(body, -1) {
		name, ok := attr(tag, "name")
		if !ok {
			continue
		}
		typ, _ := attr(tag, "type")
		if (typ == "checkbox" || typ == "radio") && !strings.Contains(tag, " checked") {
			continue
		}
		val, _ := attr(tag, "value")
		v.Add(name, val)
	}
	for _, m := range regexp.MustCompile(`(?s)<select name="([^"]+)"[^>]*>(.*?)</select>`).FindAllStringSubmatch(body, -1) {
		opts := regexp.MustCompile(`<option value="([^"]*)"( selected)?`).FindAllStringSubmatch(m[2], -1)
		if len(opts) == 0 {
			continue
		}
		val := opts[0][1]
		for _, o := range opts {
			if o[2] != "" {
				val = o[1]
			}
		}
		v.Set(m[1], html.UnescapeString(val))
	}
	for _, m := range regexp.MustCompile(`(?s)<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>`).FindAllStringSubmatch(body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

var surveyIDFrom = regexp.MustCompile(`^/surveys/(\d+)\?done=`)

func TestSurveyDesignFlow(t *testing.T) {
	h := newHarness(t)
	sys := auth.System(context.Background(), "test")
	svc := h.srv.cfg.Surveys

	// The new-survey page starts from a standard NPS.
	w := h.get("/surveys/new", "manager")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "How likely are you to recommend us to a friend or colleague?") {
		t.Fatalf("new: %d %s", w.Code, w.Body.String())
	}
	if w := h.get("/surveys/new", "viewer"); w.Code != http.StatusForbidden {
		t.Fatalf("viewer opens the builder: %d", w.Code)
	}

	// A builder step (add the detractor follow-up) changes the form only.
	in := feedback.SurveyInput{Name: "購入後 NPS", Slug: "after-purchase", Touchpoint: "purchase", JourneyStage: "purchase", Definition: sampleDefinition()}
	v := builderValues(in)
	v.Set("op", "add_q:1")
	v.Set("p1.newtype", presetDetractors)
	step := h.post("/surveys", "manager", v)
	r := step
	if r.Code != http.StatusOK || !strings.Contains(r.Body, `name="p1.q3.key" value="detractors"`) || !strings.Contains(r.Body, `<option value="nps" selected>`) {
		t.Fatalf("add step: %d %s", r.Code, r.Body)
	}
	if list, _ := svc.List(sys, feedback.ListFilter{}); slices.ContainsFunc(list, func(s feedback.Survey) bool { return s.Slug == in.Slug }) {
		t.Fatalf("a builder step saved the survey")
	}

	// An invalid save names the problem beside the question.
	bad := builderValues(in)
	bad.Set("p0.q1.text_en", "")
	bad.Set("op", "save")
	r = h.post("/surveys", "manager", bad)
	if r.Code != kizuna.HTTPStatus(kizuna.EINVALID) {
		t.Fatalf("invalid save: %d", r.Code)
	}
	q1 := r.Body[strings.Index(r.Body, `id="p0q1"`):]
	q1 = q1[:strings.Index(q1, "</article>")]
	if !strings.Contains(q1, "needs an English text") || !regexp.MustCompile(`name="p0.q1.text_en"[^>]*aria-invalid="true"`).MatchString(q1) {
		t.Fatalf("error not beside question 2: %s", q1)
	}
	if !strings.Contains(r.Body, `value="期待と実際はいかがでしたか？"`) {
		t.Fatal("the typed text was lost")
	}
	// A breakdown attribute a dimension cannot name is refused beside the
	// field, keeping what was typed (full-width comma and spaces split).
	bad = builderValues(in)
	bad.Set("breakdown_attributes", "plan、 1st-plan")
	bad.Set("op", "save")
	r = h.post("/surveys", "manager", bad)
	if r.Code != kizuna.HTTPStatus(kizuna.EINVALID) || !strings.Contains(r.Body, `attribute key &#34;1st-plan&#34; must be letters`) ||
		!regexp.MustCompile(`name="breakdown_attributes" value="plan, 1st-plan"[^>]*aria-invalid="true"`).MatchString(r.Body) {
		t.Fatalf("bad breakdown attribute: %d %s", r.Code, r.Body)
	}

	// A valid save (of the form as the step returned it) creates the
	// draft with its logic and both languages.
	v = formValues(t, step.Body)
	v.Set("op", "save")
	r = h.post("/surveys", "manager", v)
	m := surveyIDFrom.FindStringSubmatch(r.Location)
	if r.Code != http.StatusSeeOther || m == nil {
		t.Fatalf("save: %d %q %s", r.Code, r.Location, r.Body)
	}
	var id int64
	fmt.Sscan(m[1], &id)
	sv, err := svc.Get(sys, id)
	if err != nil {
		t.Fatal(err)
	}
	why := sv.Draft.Pages[1].Questions
	if sv.Status != feedback.StatusDraft || len(why) != 4 || why[3].Key != "detractors" || why[3].ShowIf == nil || why[3].ShowIf.Value != 6 ||
		why[1].ShowIf.Op != "gte" || sv.Draft.Pages[0].Questions[0].Text.JA != "当店を友人や同僚に薦める可能性はどのくらいありますか？" ||
		sv.Draft.Title.EN != "About your purchase" {
		t.Fatalf("saved draft: %+v", sv.Draft)
	}

	// Preview in both languages, marked as such, with nothing to submit.
	for lang, want := range map[string]string{"ja": "当店を友人や同僚に薦める可能性", "en": "How likely are you to recommend our shop"} {
		w := h.get(fmt.Sprintf("/surveys/%d/preview?lang=%s", id, lang), "viewer")
		body := w.Body.String()
		resp := body[strings.Index(body, `class="respondent`):]
		if w.Code != http.StatusOK || !strings.Contains(resp, want) || strings.Contains(resp, "<form") || strings.Contains(resp, `type="submit"`) ||
			!strings.Contains(body, `class="preview-banner"`) {
			t.Fatalf("preview %s: %d %s", lang, w.Code, body)
		}
	}

	// Publish, then edit the live survey: the edit waits as a draft and
	// publishing it makes version 2, version 1 unchanged.
	if r := h.post(fmt.Sprintf("/surveys/%d/publish", id), "viewer", url.Values{}); r.Code != http.StatusForbidden {
		t.Fatalf("viewer publishes: %d", r.Code)
	}
	if r := h.post(fmt.Sprintf("/surveys/%d/publish", id), "manager", url.Values{}); r.Code != http.StatusSeeOther {
		t.Fatalf("publish: %d %s", r.Code, r.Body)
	}
	w = h.get(fmt.Sprintf("/surveys/%d/edit", id), "manager")
	if !strings.Contains(w.Body.String(), `value="What disappointed you?"`) {
		t.Fatalf("edit page: %s", w.Body.String())
	}
	v.Set("p1.q0.text_en", "What let you down?")
	v.Set("status", "live")
	if r := h.post(fmt.Sprintf("/surveys/%d/edit", id), "manager", v); r.Code != http.StatusSeeOther {
		t.Fatalf("edit live: %d %s", r.Code, r.Body)
	}
	sv, _ = svc.Get(sys, id)
	if sv.Status != feedback.StatusLive || sv.CurrentVersion != 1 || sv.Definition.Pages[1].Questions[0].Text.EN != "What disappointed you?" {
		t.Fatalf("the live version changed before publishing: %+v", sv)
	}
	w = h.get(fmt.Sprintf("/surveys/%d", id), "manager")
	if !strings.Contains(w.Body.String(), "Publish as version 2") {
		t.Fatalf("show page offers no new version: %s", w.Body.String())
	}
	h.post(fmt.Sprintf("/surveys/%d/publish", id), "manager", url.Values{})
	v1, err := svc.GetVersion(sys, id, 1)
	if err != nil {
		t.Fatal(err)
	}
	sv, _ = svc.Get(sys, id)
	if sv.CurrentVersion != 2 || sv.Definition.Pages[1].Questions[0].Text.EN != "What let you down?" || v1.Definition.Pages[1].Questions[0].Text.EN != "What disappointed you?" {
		t.Fatalf("versions: current %d", sv.CurrentVersion)
	}
	w = h.get(fmt.Sprintf("/surveys/%d", id), "viewer")
	if body := w.Body.String(); !strings.Contains(body, "?v=1") || !strings.Contains(body, "?v=2") {
		t.Fatalf("history: %s", body)
	}
	if w := h.get(fmt.Sprintf("/surveys/%d/preview?v=1&lang=en", id), "viewer"); !strings.Contains(w.Body.String(), "What disappointed you?") {
		t.Fatal("version 1 preview")
	}

	// The list shows it live; closing it shows it closed.
	if w := h.get("/surveys", "viewer"); !strings.Contains(w.Body.String(), "購入後 NPS") || !strings.Contains(w.Body.String(), "status-live") {
		t.Fatalf("list: %s", w.Body.String())
	}
	h.post(fmt.Sprintf("/surveys/%d/close", id), "manager", url.Values{})
	if w := h.get("/surveys?status=closed", "viewer"); !strings.Contains(w.Body.String(), "購入後 NPS") {
		t.Fatal("closed list")
	}
}

func TestSurveyDistribution(t *testing.T) {
	h := newHarness(t)
	sys := auth.System(context.Background(), "test")
	svc := h.srv.cfg.Surveys
	id, trigger := h.seedSurveyUI()
	base := fmt.Sprintf("/surveys/%d", id)

	w := h.get(base+"/distribute", "viewer")
	if body := w.Body.String(); w.Code != http.StatusOK || !strings.Contains(body, testBaseURL+"/s/seeded") || !strings.Contains(body, "Order Completed") ||
		strings.Contains(body, `action="`+base+`/invite"`) {
		t.Fatalf("viewer's distribution page: %d %s", w.Code, body)
	}
	// The widget snippet is for everyone who may read the survey; the
	// secret that signs user ids only for those who may edit it.
	if body := w.Body.String(); !strings.Contains(body, testBaseURL+"/static/widget.js") || strings.Contains(body, `id="widget-secret"`) {
		t.Fatalf("viewer's widget section: %s", body)
	}
	secret, err := svc.WidgetSecret(sys)
	if err != nil {
		t.Fatal(err)
	}
	if body := h.get(base+"/distribute", "manager").Body.String(); !strings.Contains(body, `id="widget-secret"`) || !strings.Contains(body, secret) {
		t.Fatalf("manager's widget section lacks the secret")
	}

	// Personal links: one each, shown once.
	r := h.post(base+"/invite", "manager", url.Values{"channel": {"link"}, "pick": {"ids"}, "customer_ids": {fmt.Sprintf("%d, %d", h.ids.hanako, h.ids.john)}})
	if r.Code != http.StatusOK || strings.Count(r.Body, `value="`+testBaseURL+`/r/`) != 2 {
		t.Fatalf("links: %d %s", r.Code, r.Body)
	}
	// A second round hits the cooldown, and the page says why.
	r = h.post(base+"/invite", "manager", url.Values{"channel": {"link"}, "pick": {"ids"}, "customer_ids": {fmt.Sprint(h.ids.hanako)}})
	if !strings.Contains(r.Body, "Cooldown since the last survey") {
		t.Fatalf("skip reason not shown: %s", r.Body)
	}
	// Email by segment (country JP).
	r = h.post(base+"/invite", "manager", url.Values{"channel": {"email"}, "pick": {"segment"}, "country": {"jp"}})
	if r.Code != http.StatusOK {
		t.Fatalf("segment: %d %s", r.Code, r.Body)
	}
	invs, _ := svc.Invitations(sys, feedback.InvitationFilter{SurveyID: id, Status: feedback.InvitationScheduled})
	if len(invs) < 1 {
		t.Fatalf("segment invitations: %d", len(invs))
	}
	r = h.post(base+"/invite", "manager", url.Values{"channel": {"email"}, "pick": {"ids"}, "customer_ids": {"abc"}})
	if r.Code != kizuna.HTTPStatus(kizuna.EINVALID) || !strings.Contains(r.Body, "is not a customer number") {
		t.Fatalf("bad ids: %d", r.Code)
	}

	// Triggers: add, disable.
	r = h.post(base+"/triggers", "manager", url.Values{"event_name": {"Ticket Solved"}, "delay": {"2"}, "unit": {"hours"},
		"cond_property": {"priority"}, "cond_op": {"eq"}, "cond_value": {"high"}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("trigger: %d %s", r.Code, r.Body)
	}
	r = h.post(fmt.Sprintf("%s/triggers/%d/enabled", base, trigger), "manager", url.Values{"enabled": {"0"}})
	if r.Code != http.StatusSeeOther {
		t.Fatalf("disable: %d %s", r.Code, r.Body)
	}
	ts, _ := svc.Triggers(sys, id)
	if len(ts) != 2 || ts[0].Enabled || ts[1].EventName != "Ticket Solved" || ts[1].Delay != 2*time.Hour || len(ts[1].Conditions) != 1 || ts[1].Conditions[0].Value != "high" {
		t.Fatalf("triggers: %+v", ts)
	}
	if r := h.post(fmt.Sprintf("/surveys/%d/triggers/%d/enabled", id+1000, trigger), "manager", url.Values{"enabled": {"1"}}); r.Code != http.StatusNotFound {
		t.Fatalf("trigger of another survey: %d", r.Code)
	}
	r = h.post(base+"/triggers", "manager", url.Values{"event_name": {""}, "delay": {"1"}, "unit": {"days"}})
	if r.Code != kizuna.HTTPStatus(kizuna.EINVALID) || !regexp.MustCompile(`name="event_name"[^>]*aria-invalid="true"`).MatchString(r.Body) {
		t.Fatalf("empty event: %d", r.Code)
	}

	// Contact rules.
	rules := url.Values{"cooldown_days": {"0"}, "max_per_period": {"2"}, "period_days": {"60"}, "sample_percent": {"40"},
		"quiet_start": {"22:00"}, "quiet_end": {"08:00"}, "time_zone": {"Asia/Tokyo"}}
	if r := h.post(base+"/rules", "manager", rules); r.Code != http.StatusSeeOther {
		t.Fatalf("rules: %d %s", r.Code, r.Body)
	}
	got, _ := svc.ContactRulesOf(sys, id)
	if got.SamplePercent != 40 || !got.NoCooldown || got.QuietStart != "22:00" || got.MaxPerPeriod != 2 {
		t.Fatalf("rules %+v", got)
	}
	rules.Set("sample_percent", "0")
	if r := h.post(base+"/rules", "manager", rules); r.Code != kizuna.HTTPStatus(kizuna.EINVALID) || !strings.Contains(r.Body, "1–100 percent") {
		t.Fatalf("bad rules: %d", r.Code)
	}
	h.post(base+"/rules/clear", "manager", url.Values{})
	if got, _ := svc.ContactRulesOf(sys, id); got.SamplePercent != 100 {
		t.Fatalf("cleared rules %+v", got)
	}

	// The invitation list and the report.
	w = h.get(base+"/distribute", "manager")
	if body := w.Body.String(); !strings.Contains(body, "Cooldown since the last survey") || !strings.Contains(body, "inv-skipped") || !strings.Contains(body, "Skipped, by reason") {
		t.Fatalf("invitations: %s", body)
	}
}

func TestSurveyPagesNoInlineCode(t *testing.T) {
	h := newHarness(t)
	id, _ := h.seedSurveyUI()
	inline := regexp.MustCompile(`(?i)<script>|<script [^s]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, p := range []string{"/surveys", "/surveys/new", "/surveys/%d", "/surveys/%d/edit", "/surveys/%d/preview", "/surveys/%d/distribute"} {
		if strings.Contains(p, "%d") {
			p = fmt.Sprintf(p, id)
		}
		for _, loc := range []string{"ja", "en"} {
			r := h.request(http.MethodGet, p, "manager", "", false)
			r.Header.Set("Accept-Language", loc)
			w := h.serve(r)
			if w.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", p, w.Code, w.Body.String())
			}
			if m := inline.FindString(w.Body.String()); m != "" {
				t.Errorf("%s: inline code %q", p, m)
			}
		}
	}
}

// TestSurveyCatalogKeys checks the keys the survey pages build from values
// (statuses, types, reasons …), which the generic template scan cannot see.
func TestSurveyCatalogKeys(t *testing.T) {
	var keys []string
	add := func(prefix string, vals ...string) {
		for _, v := range vals {
			keys = append(keys, prefix+v)
		}
	}
	for _, q := range questionTypes {
		add("surveys.type.", string(q))
	}
	add("surveys.preset.", presetDetractors, presetPromoters)
	add("surveys.op.", conditionOps...)
	add("surveys.op.", "eq", "ne", "gt", "gte", "lt", "lte", "exists")
	add("surveys.status.", feedback.StatusDraft, feedback.StatusLive, feedback.StatusClosed)
	add("surveys.touchpoint.", feedback.Touchpoints...)
	add("surveys.stage.", feedback.JourneyStages...)
	add("surveys.unit.", "minutes", "hours", "days")
	add("surveys.preview.", "draft", "live")
	add("surveys.add.", "opt", "attr")
	add("surveys.invitation.status.", feedback.InvitationScheduled, feedback.InvitationSending, feedback.InvitationSent, feedback.InvitationSkipped, feedback.InvitationFailed)
	add("surveys.skip.", feedback.SkipCooldown, feedback.SkipMaxPerPeriod, feedback.SkipSampledOut, feedback.SkipOpenComplaint, feedback.SkipNoEmail,
		feedback.SkipUnsubscribed, feedback.SkipSurveyClosed, feedback.SkipNoCustomer)
	add("surveys.channel.", feedback.ChannelEmail, feedback.ChannelLink, feedback.ChannelWidget, feedback.ChannelImport, feedback.ChannelAPI)
	for _, d := range []string{"survey_saved", "survey_published", "survey_closed", "trigger_created", "trigger_changed", "rules_saved", "rules_cleared", "invited"} {
		if k := surveyDone(d); k == "" {
			t.Errorf("done %s has no key", d)
		} else {
			keys = append(keys, k)
		}
	}
	b, _ := templateFS.ReadFile("templates/survey_edit.html")
	for _, m := range regexp.MustCompile(`\$d\.Bi [^"]*"[^"]*" "([a-z._]+)"`).FindAllStringSubmatch(string(b), -1) {
		keys = append(keys, m[1])
	}
	if len(keys) < 70 {
		t.Fatalf("only %d keys", len(keys))
	}
	for _, k := range keys {
		for _, loc := range []string{i18n.English, i18n.Japanese} {
			if !i18n.Has(loc, k) {
				t.Errorf("key %q missing from %s catalog", k, loc)
			}
		}
	}
}
