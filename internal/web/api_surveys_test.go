package web

import (
	"fmt"
	"time"
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
