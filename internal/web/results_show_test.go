package web

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/feedback/results"
	"github.com/kizuna-oss/kizuna/internal/feedback/reviews"
)

// The results fixture is small enough to check by hand:
//
//	October (store, Oct 5–14): 2 promoters, 3 passives, 5 detractors → NPS −30
//	November (web, Nov 2–11):  8 promoters, 2 passives, 0 detractors → NPS  80
//	all 20:                   10 promoters, 5 passives, 5 detractors → NPS  25
//
// n = 20 < 30, so every headline carries the small-sample warning.
var resultsFixture = []struct {
	day     string
	nps     float64
	comment string
}{
	{"2026-10-05", 0, "<script>alert('x')</script> arrived late"},
	{"2026-10-06", 3, "box was damaged"},
	{"2026-10-07", 5, ""},
	{"2026-10-08", 6, "slow support"},
	{"2026-10-09", 2, ""},
	{"2026-10-10", 7, "okay"},
	{"2026-10-11", 8, ""},
	{"2026-10-12", 7, ""},
	{"2026-10-13", 9, "good in store"},
	{"2026-10-14", 10, ""},
	{"2026-11-02", 10, "=1+2 great"},
	{"2026-11-03", 9, "fast web checkout"},
	{"2026-11-04", 10, ""},
	{"2026-11-05", 9, ""},
	{"2026-11-06", 10, "lovely"},
	{"2026-11-07", 9, ""},
	{"2026-11-08", 10, ""},
	{"2026-11-09", 9, ""},
	{"2026-11-10", 8, "fine web"},
	{"2026-11-11", 7, ""},
}

func num(v float64) *float64 { return &v }

// resultsSurvey imports the fixture as a survey's past responses (through
// the results importer, which writes the rollups in the same transaction)
// and returns the survey's id.
func resultsSurvey(t *testing.T, h *harness) int64 {
	t.Helper()
	return importResultsFixture(t, h.db, h.customers)
}

func importResultsFixture(t *testing.T, d *db.DB, customers results.Customers) int64 {
	t.Helper()
	sv := results.ImportSurvey{Slug: "delivery-nps", Name: "Delivery <NPS>", Touchpoint: "delivery", JourneyStage: "purchase",
		Questions: []feedback.Question{
			{Key: "nps", Type: feedback.QNPS, Text: feedback.Text{EN: "How likely are you to recommend us?", JA: "おすすめする可能性は？"}},
			{Key: "exp", Type: feedback.QExpectation, Text: feedback.Text{EN: "Expected vs. got", JA: "期待と実感"},
				Attributes: []feedback.Option{{Key: "quality", Text: feedback.Text{EN: "Quality", JA: "品質"}}, {Key: "delivery", Text: feedback.Text{EN: "Delivery", JA: "配送"}}}},
			{Key: "comment", Type: feedback.QText, Text: feedback.Text{EN: "Why?", JA: "理由"}},
		}}
	i := 0
	next := func() (results.ImportRecord, error) {
		if i == len(resultsFixture) {
			return results.ImportRecord{}, io.EOF
		}
		r := resultsFixture[i]
		i++
		at, _ := time.Parse(time.DateOnly, r.day)
		tp := "store"
		if at.Month() == time.November {
			tp = "web"
		}
		// Quality meets expectations; delivery disappoints detractors and
		// delights promoters, so it drives NPS.
		dGap := map[bool]float64{true: 2, false: -2}[r.nps >= 9]
		if r.nps == 7 || r.nps == 8 {
			dGap = 0
		}
		rec := results.ImportRecord{Line: int64(i), Ref: fmt.Sprintf("r%d", i), CompletedAt: at.Add(10 * time.Hour), Touchpoint: tp,
			Answers: []feedback.Answer{
				{Question: "nps", Num: num(r.nps)},
				{Question: "exp", Attribute: "quality", Num: num(3), Num2: num(3 + float64(i%2))},
				{Question: "exp", Attribute: "delivery", Num: num(3), Num2: num(3 + dGap)},
			}}
		if r.comment != "" {
			rec.Answers = append(rec.Answers, feedback.Answer{Question: "comment", Text: r.comment})
		}
		return rec, nil
	}
	sum, err := results.ImportRecords(auth.System(context.Background(), "test"), d, customers, sv, results.ImportOptions{}, next)
	if err != nil || sum.Imported != int64(len(resultsFixture)) {
		t.Fatalf("importing the fixture: %+v %v", sum, err)
	}
	return sum.SurveyID
}

// svgs returns every inline SVG of a page, each checked to be well-formed
// XML (a label that escaped wrongly would break it).
func svgs(t *testing.T, body string) []string {
	t.Helper()
	var out []string
	for _, s := range regexp.MustCompile(`(?s)<svg .*?</svg>`).FindAllString(body, -1) {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chart is not well-formed XML: %v\n%s", err, s)
			}
		}
		out = append(out, s)
	}
	return out
}

func mustContain(t *testing.T, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("page lacks %q", w)
		}
	}
}

func TestResultsDashboardPinnedFigures(t *testing.T) {
	h := newHarness(t)
	id := resultsSurvey(t, h)
	w := h.get(fmt.Sprintf("/surveys/%d/results", id), "viewer")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	mustContain(t, body,
		"Results: Delivery &lt;NPS&gt;",
		// The gauge's number and the card's provisional figure: NPS 25.
		`class="kz-chart-gauge-value kz-chart-caution" x="120" y="154" text-anchor="middle">25</text>`,
		"Provisional: 25",
		// n < 30: the warning instead of a confident number.
		"Only 20 answers (fewer than 30): too few for a reliable figure.",
		"Promoters 50.0% (10)", "Passives 25.0% (5)", "Detractors 25.0% (5)",
		"n = 20",
		// Breakdown by touchpoint: store −30, web 80, each n = 10.
		"By touchpoint", ">store</a>", ">web</a>", "Provisional: −30", "Provisional: 80",
		// Expectation vs perception: delivery 5 dissatisfied (25%), 5 satisfied, 10 delighted (50%).
		"Expectation vs. perception", "Delivery", "Dissatisfied: 25.0%", "Delighted: 50.0%",
		// Key drivers table.
		"Key drivers of How likely are you to recommend us?",
	)
	if strings.Contains(body, "Export CSV") { // viewers lack responses.export
		t.Error("a viewer is offered the export")
	}
	// Hostile verbatim text is escaped, not executed.
	if strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; arrived late") {
		t.Error("the <script> verbatim is not escaped")
	}
	charts := svgs(t, body)
	var trend string
	for _, c := range charts {
		if strings.Contains(c, "kz-chart--band") {
			trend = c
		}
	}
	// Weekly: Oct 5, Oct 12 | Oct 19, Oct 26 empty | Nov 2, Nov 9 → two
	// bands (the empty weeks break it) and four dots.
	if n := strings.Count(trend, `<polygon class="kz-chart-band"`); n != 2 {
		t.Errorf("trend has %d CI bands, want 2:\n%s", n, trend)
	}
	if n := strings.Count(trend, "<circle"); n != 4 {
		t.Errorf("trend has %d points, want 4", n)
	}
	if len(charts) < 4 { // gauge, trend, distribution, gaps
		t.Errorf("%d charts on the page", len(charts))
	}
}

func TestResultsVerbatimFilters(t *testing.T) {
	h := newHarness(t)
	id := resultsSurvey(t, h)
	page := func(q string) string {
		t.Helper()
		w := h.get(fmt.Sprintf("/surveys/%d/results?%s", id, q), "agent")
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d: %s", q, w.Code, w.Body.String())
		}
		return w.Body.String()
	}
	det := page("group=detractor")
	mustContain(t, det, "box was damaged", "slow support", "arrived late", `aria-current="true">Detractors (0–6)`)
	for _, not := range []string{"good in store", "lovely", "okay", "fine web"} {
		if strings.Contains(det, not) {
			t.Errorf("detractor list shows %q", not)
		}
	}
	pro := page("group=promoter")
	mustContain(t, pro, "good in store", "lovely", "=1&#43;2 great", "fast web checkout")
	if strings.Contains(pro, "slow support") || strings.Contains(pro, "okay") {
		t.Error("promoter list shows other groups")
	}
	// The touchpoint filter narrows comments (and every figure) to web.
	web := page("touchpoint=web&group=passive")
	mustContain(t, web, "fine web", "Provisional: 80")
	if strings.Contains(web, "okay") {
		t.Error("a store comment shows under touchpoint=web")
	}
}

func TestResultsCompareSaysWhichChangeIsReal(t *testing.T) {
	h := newHarness(t)
	id := resultsSurvey(t, h)
	w := h.get(fmt.Sprintf("/surveys/%d/results?from=2026-11-01&to=2026-11-30&compare=previous&interval=day", id), "viewer")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	// October 2–31 (NPS −30) against November (80): +110, significant.
	mustContain(t, body, `data-significant="true"`, "A real increase of &#43;110 (95% CI 38 – 150, p = 0.003)", "2 Oct 2026 – 31 Oct 2026", "1 Nov 2026 – 30 Nov 2026")
	svgs(t, body)
	// Two halves of November hold the same figures: no real change.
	w = h.get(fmt.Sprintf("/surveys/%d/results?from=2026-11-07&to=2026-11-12&compare=previous", id), "viewer")
	body = w.Body.String()
	if w.Code != http.StatusOK || !strings.Contains(body, `data-significant="false"`) || !strings.Contains(body, "No real change") {
		t.Fatalf("status %d; verdict missing:\n%s", w.Code, body)
	}
}

func TestResultsFilterValidation(t *testing.T) {
	h := newHarness(t)
	id := resultsSurvey(t, h)
	cases := []struct{ q, want string }{
		{"from=2026-13-01", "The start date is not valid."},
		{"to=yesterday", "The end date is not valid."},
		{"from=2026-11-05&to=2026-11-01", "is before the start date"},
		{"interval=hour", "Choose day, week or month for the trend."},
		{"compare=previous", "Comparing periods needs a start and an end date."},
		{"compare=decade&from=2026-01-01&to=2026-02-01", "the comparison &#34;decade&#34; is not one of"},
		{"by=customer", "Enter the attribute key"},
		{"by=response&key=a.b", "Enter the attribute key"},
		{"by=shoe_size", "Choose what to break the results down by."},
		{"group=fans", "Choose a score group."},
		{"cursor=nonsense", "The page link is not valid"},
		{"touchpoint=" + strings.Repeat("x", 101), "The touchpoint is not valid."},
	}
	for _, c := range cases {
		w := h.get(fmt.Sprintf("/surveys/%d/results?%s", id, c.q), "viewer")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), c.want) || !strings.Contains(w.Body.String(), `role="alert"`) {
			t.Errorf("%s: status %d, want 400 with %q", c.q, w.Code, c.want)
		}
	}
	// A customer attribute breakdown that is valid: every response is
	// anonymous, so one group "(none)".
	w := h.get(fmt.Sprintf("/surveys/%d/results?by=customer&key=plan", id), "viewer")
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "By attribute “plan”") || !strings.Contains(w.Body.String(), "(none)") {
		t.Errorf("customer attribute breakdown: %d", w.Code)
	}
	// The survey does not list plan: the page says the figures read every
	// answer and how to keep it rolled up.
	if !strings.Contains(w.Body.String(), "Add plan to the survey’s breakdown attributes") {
		t.Errorf("no note on an unlisted customer attribute: %s", w.Body.String())
	}
	// Listed: being prepared until the job has run, then read from the
	// rollups without a note, and offered in the key list.
	if _, err := h.db.Writer().Exec(`UPDATE surveys SET settings = '{"breakdown_attributes":["plan"]}' WHERE id = $1`, id); err != nil {
		t.Fatal(err)
	}
	w = h.get(fmt.Sprintf("/surveys/%d/results?by=customer&key=plan", id), "viewer")
	if !strings.Contains(w.Body.String(), "plan is being rolled up") || !strings.Contains(w.Body.String(), `<option value="plan">`) {
		t.Errorf("listed, not yet backfilled: %s", w.Body.String())
	}
	if err := results.BackfillDims(auth.System(context.Background(), "test"), h.db); err != nil {
		t.Fatal(err)
	}
	w = h.get(fmt.Sprintf("/surveys/%d/results?by=customer&key=plan", id), "viewer")
	if w.Code != http.StatusOK || strings.Contains(w.Body.String(), "rolled up") || !strings.Contains(w.Body.String(), "(none)") {
		t.Errorf("listed and backfilled: %d %s", w.Code, w.Body.String())
	}
	if w := h.get("/surveys/999/results", "viewer"); w.Code != http.StatusNotFound {
		t.Errorf("unknown survey: %d", w.Code)
	}
}

func TestResultsJapanese(t *testing.T) {
	h := newHarness(t)
	id := resultsSurvey(t, h)
	r := h.request(http.MethodGet, fmt.Sprintf("/surveys/%d/results?interval=month&from=2026-10-01&to=2026-11-30&compare=previous", id), "viewer", "", false)
	r.Header.Set("Accept-Language", "ja")
	w := h.serve(r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	mustContain(t, body, "結果: Delivery &lt;NPS&gt;", "推奨者 50.0%（10 人）", "回答は 20 件のみ（30 件未満）", "2026年10月", "2026年11月",
		"期待と実感の比較", "配送", "タッチポイント別", "暫定値: 25", "2026年8月1日 – 2026年9月30日", "比較できません。")
	svgs(t, body)
}

func TestResultsExport(t *testing.T) {
	h := newHarness(t)
	id := resultsSurvey(t, h)
	w := h.get(fmt.Sprintf("/surveys/%d/results/export.csv", id), "manager")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") ||
		!strings.Contains(w.Header().Get("Content-Disposition"), fmt.Sprintf(`attachment; filename="survey-%d-responses.csv"`, id)) {
		t.Fatalf("csv: %d %v", w.Code, w.Header())
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(w.Body.String(), "\ufeff"))).ReadAll()
	if err != nil || len(rows) != 21 {
		t.Fatalf("csv rows %d: %v", len(rows), err)
	}
	col := -1
	for i, c := range rows[0] {
		if c == "comment" {
			col = i
		}
	}
	found := false
	for _, r := range rows[1:] {
		if strings.Contains(r[col], "1+2 great") {
			found = true
			if r[col] != "'=1+2 great" {
				t.Errorf("formula cell not neutralised: %q", r[col])
			}
		}
	}
	if !found {
		t.Error("the =1+2 verbatim is missing from the export")
	}
	// Filters apply: only November's ten web responses.
	w = h.get(fmt.Sprintf("/surveys/%d/results/export.json?touchpoint=web", id), "admin")
	if w.Code != http.StatusOK || !strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("json: %d %v", w.Code, w.Header())
	}
	var got []map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || len(got) != 10 {
		t.Fatalf("json export: %d objects, %v", len(got), err)
	}
	for _, o := range got {
		if o["touchpoint"] != "web" {
			t.Errorf("exported %v", o["touchpoint"])
		}
	}
	// Who may not export gets 403 as a page; bad filters 400.
	if w := h.get(fmt.Sprintf("/surveys/%d/results/export.csv", id), "viewer"); w.Code != http.StatusForbidden || w.Header().Get("Content-Disposition") != "" {
		t.Errorf("viewer export: %d", w.Code)
	}
	if w := h.get(fmt.Sprintf("/surveys/%d/results/export.json?from=nope", id), "manager"); w.Code != http.StatusBadRequest {
		t.Errorf("bad filter export: %d", w.Code)
	}
	// The manager's dashboard offers both exports, with its filters.
	page := h.get(fmt.Sprintf("/surveys/%d/results?touchpoint=web&interval=day", id), "manager").Body.String()
	mustContain(t, page, fmt.Sprintf(`href="/surveys/%d/results/export.csv?touchpoint=web"`, id), fmt.Sprintf(`href="/surveys/%d/results/export.json?touchpoint=web"`, id))
}

// The reviews demo is a CSAT survey with a yes/no recommend question: its
// dashboard shows CSAT, the rating distribution and the recommend shares,
// not an NPS.
func TestResultsCSATReviewsSurvey(t *testing.T) {
	h := newHarness(t)
	head := ",Clothing ID,Age,Title,Review Text,Rating,Recommended IND,Positive Feedback Count,Division Name,Department Name,Class Name\n"
	file := head +
		"0,767,33,,Absolutely wonderful,5,1,0,Initmates,Intimate,Intimates\n" +
		"1,1080,34,Love,Love this dress,5,1,4,General,Dresses,Dresses\n" +
		"2,1077,60,Meh,Some major design flaws,3,0,0,General,Dresses,Dresses\n" +
		"3,1049,50,,My favorite buy,4,1,0,General Petite,Bottoms,Pants\n" +
		"4,847,47,Bad,Runs small <b>really</b>,1,0,6,General,Tops,Blouses\n"
	sum, err := reviews.Import(auth.System(context.Background(), "demo"), h.db, customer.NewService(h.db), strings.NewReader(file),
		reviews.Options{End: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Span: 5 * 24 * time.Hour})
	if err != nil || sum.Imported != 5 {
		t.Fatalf("import: %+v %v", sum, err)
	}
	w := h.get(fmt.Sprintf("/surveys/%d/results?interval=day&by=response&key=department", sum.SurveyID), "viewer")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	// Top-2-box: 3 of 5 = 60%; mean 3.6; recommend yes 3 of 5.
	mustContain(t, body, "CSAT (top-box)", "Provisional: 60.0%", "Mean 3.60", "Would you recommend this product?", ">Yes<", ">60.0%<",
		"Distribution: How would you rate this product?", "By attribute “department”", "Dresses", "Satisfied", "Runs small &lt;b&gt;really&lt;/b&gt;")
	if strings.Contains(body, "Promoters") || strings.Contains(body, ">NPS<") {
		t.Error("a CSAT survey shows NPS figures")
	}
	svgs(t, body)
	// The CSAT score groups filter its verbatims.
	sat := h.get(fmt.Sprintf("/surveys/%d/results?group=dissatisfied", sum.SurveyID), "viewer").Body.String()
	if !strings.Contains(sat, "Runs small") || strings.Contains(sat, "Absolutely wonderful") {
		t.Error("dissatisfied filter")
	}
}

// Responses answered through the feedback service are counted by its
// OnComplete hook (results.OnComplete, wired in the harness as in serve):
// the dashboard shows them at once.
func TestResultsAfterCompletedResponses(t *testing.T) {
	h := newHarness(t)
	fb := h.srv.cfg.Surveys
	mctx := auth.WithPrincipal(context.Background(), auth.Principal{Kind: auth.PrincipalUser, ID: h.userIDs[auth.RoleManager], Role: auth.RoleManager})
	def := feedback.Definition{Pages: []feedback.Page{{Key: "p1", Questions: []feedback.Question{
		{Key: "nps", Type: feedback.QNPS, Required: true, Text: feedback.Text{EN: "Recommend?", JA: "おすすめ度"}},
		{Key: "why", Type: feedback.QText, Text: feedback.Text{EN: "Why?", JA: "理由"}},
	}}}}
	sv, err := fb.CreateSurvey(mctx, feedback.SurveyInput{Slug: "live", Name: "Live", Touchpoint: "support", JourneyStage: "support",
		Settings: feedback.Settings{AllowAnonymous: true}, Definition: def})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fb.Publish(mctx, sv.ID); err != nil {
		t.Fatal(err)
	}
	rctx := auth.Respondent(context.Background(), "")
	for _, a := range []struct {
		score float64
		why   string
	}{{10, "丁寧でした"}, {8, "普通"}, {2, "待たされた"}} {
		key := feedback.NewClientKey()
		if _, err := fb.StartResponse(rctx, feedback.StartInput{Slug: "live", ClientKey: key, OpenedAt: time.Now().Add(-5 * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if _, err := fb.SavePage(rctx, feedback.SaveInput{SurveyID: sv.ID, ClientKey: key, Page: "p1",
			Answers: []feedback.Answer{{Question: "nps", Num: num(a.score)}, {Question: "why", Text: a.why}}}); err != nil {
			t.Fatal(err)
		}
		if _, err := fb.Complete(rctx, feedback.CompleteInput{SurveyID: sv.ID, ClientKey: key}); err != nil {
			t.Fatal(err)
		}
	}
	w := h.get(fmt.Sprintf("/surveys/%d/results?group=detractor", sv.ID), "viewer")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	body := w.Body.String()
	mustContain(t, body, "Results: Live", "Provisional: 0", "Promoters 33.3% (1)", "Only 3 answers", "待たされた", ">support</a>")
	if strings.Contains(body, "丁寧でした") {
		t.Error("a promoter's comment under detractors")
	}
}

// TestResultsOnBothEngines serves the dashboard and the exports over
// SQLite and, with KIZUNA_TEST_POSTGRES_DSN, Postgres (the harness is
// SQLite only): the same pinned figures on both, including the customer
// attribute breakdown, which reads JSON differently per engine.
func TestResultsOnBothEngines(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		accounts := auth.NewService(d, auth.Options{Hash: auth.TestHashParams})
		if _, err := accounts.CreateUser(auth.System(ctx, "test"), "m@example.com", "M", testPassword, auth.RoleManager); err != nil {
			t.Fatal(err)
		}
		tok, _, _, err := accounts.Login(ctx, "m@example.com", testPassword, "192.0.2.1", "test")
		if err != nil {
			t.Fatal(err)
		}
		cs := customer.NewService(d)
		srv := New(Config{Customers: cs, Accounts: accounts, DB: d, Now: func() time.Time { return testNow },
			Surveys: feedback.NewService(d, feedback.Options{OnComplete: []feedback.CompleteHook{results.OnComplete}}), Results: results.New(d)})
		id := importResultsFixture(t, d, cs)
		get := func(target string) *httptest.ResponseRecorder {
			r := httptest.NewRequest(http.MethodGet, target, nil)
			r.AddCookie(&http.Cookie{Name: sessionCookie, Value: tok})
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("%s: status %d: %s", target, w.Code, w.Body.String())
			}
			return w
		}
		body := get(fmt.Sprintf("/surveys/%d/results?from=2026-11-01&to=2026-11-30&compare=previous&group=detractor", id)).Body.String()
		mustContain(t, body, "Provisional: 80", "A real increase of &#43;110 (95% CI 38 – 150, p = 0.003)", "Delighted: 80.0%", "Key drivers of")
		svgs(t, body)
		body = get(fmt.Sprintf("/surveys/%d/results?by=customer&key=plan&group=detractor", id)).Body.String()
		mustContain(t, body, "Provisional: 25", "(none)", "box was damaged", "&lt;script&gt;")
		if strings.Contains(body, "lovely") {
			t.Error("a promoter's comment under detractors")
		}
		csvBody := get(fmt.Sprintf("/surveys/%d/results/export.csv?touchpoint=web", id)).Body.String()
		if !strings.Contains(csvBody, "'=1+2 great") || strings.Count(csvBody, "\n") != 11 {
			t.Errorf("csv export:\n%s", csvBody)
		}
	})
}
