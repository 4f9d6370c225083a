package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// surveyQueries are the query strings GET routes of the survey API need
// to succeed in the route × role matrix.
func surveyQueries(pattern string) string {
	now := time.Now().UTC()
	switch pattern {
	case "/api/v1/surveys/{id}/results/compare":
		// Period a ends where b starts; b holds the seeded responses.
		return fmt.Sprintf("?a_from=%s&a_to=%s&b_from=%s&b_to=%s", now.AddDate(0, -2, 0).Format(time.DateOnly),
			now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly), now.AddDate(0, 0, 1).Format(time.DateOnly))
	case "/api/v1/surveys/{id}/results/breakdown":
		return "?dimension=touchpoint"
	}
	return ""
}

// testSurveyJSON is a valid survey input with slug.
func testSurveyJSON(slug string) string {
	return `{"slug":"` + slug + `","name":"配送アンケート","touchpoint":"delivery","journey_stage":"usage",` +
		`"definition":{"pages":[{"key":"p1","questions":[{"key":"nps","type":"nps","required":true,"subject":{"ja":"当社","en":"us"}},` +
		`{"key":"comment","type":"text","text":{"ja":"ご意見","en":"Comments"}}]}]}}`
}

// testImportJSON imports two rows of past feedback.
const testImportJSON = `{"mapping":{"survey":{"slug":"past-reviews","name":"Past reviews","touchpoint":"review"},` +
	`"scores":[{"column":"rating","type":"csat","text":{"ja":"評価","en":"Rating"}}],"date_column":"date","text_columns":["review"]},` +
	`"csv":"date,rating,review\n2026-01-05,5,Lovely dress\n2026-01-06,2,=1+2\n"}`

// surveyBodies are valid bodies of the survey API's state-changing routes.
func surveyBodies(h *harness) map[string]string {
	return map[string]string{
		"POST /api/v1/surveys":                                 testSurveyJSON("route-test"),
		"PUT /api/v1/surveys/{id}":                             testSurveyJSON("seed-survey"),
		"POST /api/v1/surveys/{id}/publish":                    ``,
		"POST /api/v1/surveys/{id}/close":                      ``,
		"PUT /api/v1/contact-rules":                            `{"cooldown_days":14,"sample_percent":50}`,
		"PUT /api/v1/surveys/{id}/contact-rules":               `{"cooldown_days":7,"quiet_start":"","quiet_end":""}`,
		"DELETE /api/v1/surveys/{id}/contact-rules":            ``,
		"POST /api/v1/surveys/{id}/triggers":                   `{"event_name":"Ticket Solved","delay_seconds":3600}`,
		"POST /api/v1/surveys/{id}/triggers/{trigger}/enable":  ``,
		"POST /api/v1/surveys/{id}/triggers/{trigger}/disable": ``,
		"POST /api/v1/surveys/{id}/invitations":                fmt.Sprintf(`{"customer_ids":[%d],"channel":"link"}`, h.ids.hanako),
		"POST /api/v1/survey-imports":                          testImportJSON,
	}
}

// apiCall sends a JSON API request as who and decodes a JSON answer into
// out (when not nil), failing unless the status is want.
func (h *harness) apiCall(method, target, who, body string, want int, out any) *httptest.ResponseRecorder {
	h.t.Helper()
	w := h.serve(h.request(method, target, who, body, true))
	if w.Code != want {
		h.t.Fatalf("%s %s as %s: status %d, want %d: %s", method, target, who, w.Code, want, w.Body.String())
	}
	if out != nil {
		if err := json.Unmarshal(w.Body.Bytes(), out); err != nil {
			h.t.Fatalf("%s %s: decoding %q: %v", method, target, w.Body.String(), err)
		}
	}
	return w
}

// apiFails checks a call answers status with the error code and field
// ("*": any field).
func (h *harness) apiFails(method, target, who, body string, status int, code, field string) {
	h.t.Helper()
	var e apiErrorBody
	h.apiCall(method, target, who, body, status, &e)
	if e.Error.Code != code || (field != "*" && e.Error.Field != field) {
		h.t.Fatalf("%s %s: error %+v, want code %q field %q", method, target, e.Error, code, field)
	}
}

// liveTestSurvey creates (POST) and publishes a survey through the API and
// returns it as the service sees it, for answering.
func (h *harness) liveTestSurvey(slug string) *feedback.Survey {
	h.t.Helper()
	var sv feedback.Survey
	h.apiCall("POST", "/api/v1/surveys", "manager", testSurveyJSON(slug), http.StatusCreated, &sv)
	if sv.Status != feedback.StatusDraft || sv.CurrentVersion != 0 {
		h.t.Fatalf("created survey %+v, want an unpublished draft", sv)
	}
	h.apiCall("POST", fmt.Sprintf("/api/v1/surveys/%d/publish", sv.ID), "key:manager", "", http.StatusOK, &sv)
	if sv.Status != feedback.StatusLive || sv.CurrentVersion != 1 {
		h.t.Fatalf("published survey %+v, want live version 1", sv)
	}
	// The public link must be open for respond(); allow it with an edit.
	in := strings.Replace(testSurveyJSON(slug), `"journey_stage":"usage",`, `"journey_stage":"usage","settings":{"allow_anonymous":true},`, 1)
	h.apiCall("PUT", fmt.Sprintf("/api/v1/surveys/%d", sv.ID), "manager", in, http.StatusOK, &sv)
	if !sv.Settings.AllowAnonymous {
		h.t.Fatalf("settings not saved: %+v", sv.Settings)
	}
	got, err := h.surveys.Get(auth.System(context.Background(), "test"), sv.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return got
}

// answer completes one response of a testSurveyJSON survey.
func (h *harness) answer(sv *feedback.Survey, i int, nps float64, comment string) {
	h.t.Helper()
	page := []feedback.Answer{{Question: "nps", Num: &nps}}
	if comment != "" {
		page = append(page, feedback.Answer{Question: "comment", Text: comment})
	}
	if err := respond(context.Background(), h.surveys, sv, fmt.Sprintf("%s-response-%04d", sv.Slug, i), "en", page); err != nil {
		h.t.Fatalf("answering %s: %v", sv.Slug, err)
	}
}

// TestSurveyAPIFlow: create → publish → respond through the service → the
// results endpoints give the hand-computed figures.
func TestSurveyAPIFlow(t *testing.T) {
	h := newHarness(t)
	sv := h.liveTestSurvey("flow")
	base := fmt.Sprintf("/api/v1/surveys/%d", sv.ID)
	// 10, 10, 9: promoters; 8: passive; 5, 0: detractors. NPS = (3 − 2)/6 = +16.67.
	for i, s := range []float64{10, 10, 9, 8, 5, 0} {
		h.answer(sv, i, s, map[float64]string{10: "", 9: "Great staff", 5: "Slow", 0: "Never again"}[s])
	}

	var nps struct {
		NPS struct {
			Value, Low, High *float64
			N                int
			LowSample        bool `json:"low_sample"`
		} `json:"nps"`
		Counts struct{ Promoters, Passives, Detractors int } `json:"counts"`
	}
	h.apiCall("GET", base+"/results/nps", "viewer", "", http.StatusOK, &nps)
	if nps.NPS.Value == nil || math.Abs(*nps.NPS.Value-100.0/6) > 1e-9 || nps.NPS.N != 6 {
		t.Fatalf("NPS %+v, want +16.67 of 6", nps.NPS)
	}
	if nps.Counts.Promoters != 3 || nps.Counts.Passives != 1 || nps.Counts.Detractors != 2 {
		t.Fatalf("counts %+v, want 3/1/2", nps.Counts)
	}
	if !nps.NPS.LowSample || *nps.NPS.Low >= *nps.NPS.Value || *nps.NPS.High <= *nps.NPS.Value {
		t.Fatalf("n = 6 must carry the small-sample warning and a real interval: %+v", nps.NPS)
	}
	// Filters reach the service: no responses came by email.
	h.apiCall("GET", base+"/results/nps?channel=email", "viewer", "", http.StatusOK, &nps)
	if nps.NPS.N != 0 || nps.NPS.Value != nil {
		t.Fatalf("channel=email: %+v, want no data", nps.NPS)
	}

	var trend struct {
		Interval string
		Points   []struct {
			N     int
			Value *float64
		}
	}
	h.apiCall("GET", base+"/results/trend?interval=day", "viewer", "", http.StatusOK, &trend)
	if trend.Interval != "day" || len(trend.Points) != 1 || trend.Points[0].N != 6 {
		t.Fatalf("trend %+v, want one day of 6", trend)
	}
	var dist struct {
		N       int
		Ratings []struct{ Score, Count int }
	}
	h.apiCall("GET", base+"/results/distribution?question=nps", "viewer", "", http.StatusOK, &dist)
	if dist.N != 6 || len(dist.Ratings) != 11 || dist.Ratings[10].Count != 2 || dist.Ratings[0].Count != 1 {
		t.Fatalf("distribution %+v", dist)
	}
	var bd struct {
		Groups []struct {
			Key      string
			Estimate struct{ N int }
		}
	}
	h.apiCall("GET", base+"/results/breakdown?dimension=touchpoint", "viewer", "", http.StatusOK, &bd)
	if len(bd.Groups) != 1 || bd.Groups[0].Key != "delivery" || bd.Groups[0].Estimate.N != 6 {
		t.Fatalf("breakdown %+v, want delivery: 6", bd)
	}

	// Verbatims: detractors only, one per page, followed by cursor.
	var texts []string
	next := ""
	for range 5 {
		var page struct {
			Items []struct {
				Text  string
				Score *float64
			}
			Next string
		}
		h.apiCall("GET", base+"/results/verbatims?group=detractor&limit=1&cursor="+url.QueryEscape(next), "viewer", "", http.StatusOK, &page)
		for _, it := range page.Items {
			texts = append(texts, it.Text)
		}
		if next = page.Next; next == "" {
			break
		}
	}
	slices.Sort(texts)
	if !slices.Equal(texts, []string{"Never again", "Slow"}) {
		t.Fatalf("detractor verbatims %q", texts)
	}

	// Versions: editing the live survey leaves version 1 as it was.
	edited := strings.Replace(testSurveyJSON("flow"), `"Comments"`, `"Anything else?"`, 1)
	h.apiCall("PUT", base, "manager", edited, http.StatusOK, nil)
	var form feedback.Form
	h.apiCall("GET", base+"/preview?locale=en&draft=true", "viewer", "", http.StatusOK, &form)
	if form.Pages[0].Questions[1].Text != "Anything else?" {
		t.Fatalf("draft preview %+v", form.Pages[0].Questions[1])
	}
	h.apiCall("GET", base+"/preview?locale=ja", "viewer", "", http.StatusOK, &form)
	if form.Locale != "ja" || form.Pages[0].Questions[1].Text != "ご意見" || len(form.Pages[0].Questions[0].Points) != 11 {
		t.Fatalf("live preview in Japanese %+v", form.Pages[0])
	}
	var after feedback.Survey
	h.apiCall("POST", base+"/publish", "manager", "", http.StatusOK, &after)
	var v1 feedback.Version
	h.apiCall("GET", base+"/versions/1", "viewer", "", http.StatusOK, &v1)
	if after.CurrentVersion != 2 || v1.Definition.Pages[0].Questions[1].Text.EN != "Comments" {
		t.Fatalf("after publishing the edit: version %d, version 1 reads %+v", after.CurrentVersion, v1.Definition.Pages[0].Questions[1].Text)
	}
	h.apiCall("POST", base+"/close", "manager", "", http.StatusOK, &after)
	var listed itemsOf[feedback.Survey]
	h.apiCall("GET", "/api/v1/surveys?status=closed", "viewer", "", http.StatusOK, &listed)
	if listed.Total != 1 || listed.Items[0].ID != sv.ID {
		t.Fatalf("closed surveys %+v", listed)
	}
}
