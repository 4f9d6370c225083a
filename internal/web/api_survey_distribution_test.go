package web

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// TestSurveyDistributionAPI: contact rules per survey and globally, a
// personal link issued once, the second invitation skipped for the
// cooldown with its reason, triggers switched, and the report counting it.
func TestSurveyDistributionAPI(t *testing.T) {
	h := newHarness(t)
	base := fmt.Sprintf("/api/v1/surveys/%d", h.ids.survey)

	// The survey's own rules: no quiet hours (so the test does not depend
	// on the hour), a 7-day cooldown; omitted fields keep their defaults.
	var rules struct {
		SurveyID      int64  `json:"survey_id"`
		CooldownDays  int    `json:"cooldown_days"`
		MaxPerPeriod  int    `json:"max_per_period"`
		SamplePercent int    `json:"sample_percent"`
		QuietStart    string `json:"quiet_start"`
		TimeZone      string `json:"time_zone"`
	}
	h.apiCall("PUT", base+"/contact-rules", "manager", `{"cooldown_days":7,"quiet_start":"","quiet_end":""}`, http.StatusOK, &rules)
	if rules.SurveyID != h.ids.survey || rules.CooldownDays != 7 || rules.MaxPerPeriod != 3 || rules.SamplePercent != 100 ||
		rules.QuietStart != "" || rules.TimeZone != "Asia/Tokyo" {
		t.Fatalf("survey rules %+v", rules)
	}
	// A global change does not reach a survey with its own rules.
	h.apiCall("PUT", "/api/v1/contact-rules", "admin", `{"cooldown_days":60}`, http.StatusOK, &rules)
	h.apiCall("GET", base+"/contact-rules", "viewer", "", http.StatusOK, &rules)
	if rules.CooldownDays != 7 {
		t.Fatalf("survey rules after a global change: %+v", rules)
	}

	var issued itemsOf[feedback.IssuedInvitation]
	body := fmt.Sprintf(`{"customer_ids":[%d],"channel":"link"}`, h.ids.hanako)
	h.apiCall("POST", base+"/invitations", "manager", body, http.StatusCreated, &issued)
	first := issued.Items[0]
	if issued.Total != 1 || first.Status != feedback.InvitationSent || first.Token == "" ||
		first.Link != "https://cx.example.test/r/"+first.Token || *first.CustomerID != h.ids.hanako {
		t.Fatalf("link invitation %+v", first)
	}
	// Again at once: the cooldown since the first says no, and why.
	var again itemsOf[feedback.IssuedInvitation]
	h.apiCall("POST", base+"/invitations", "manager", body, http.StatusCreated, &again)
	second := again.Items[0]
	if second.Status != feedback.InvitationSkipped || second.SkipReason != feedback.SkipCooldown || second.Token != "" || second.Link != "" {
		t.Fatalf("second invitation %+v, want skipped for the cooldown without a link", second)
	}
	var skipped itemsOf[feedback.Invitation]
	h.apiCall("GET", base+"/invitations?status=skipped", "viewer", "", http.StatusOK, &skipped)
	if skipped.Total != 1 || skipped.Items[0].ID != second.ID || skipped.Items[0].SkipReason != "cooldown" {
		t.Fatalf("skipped invitations %+v", skipped)
	}
	w := h.apiCall("GET", fmt.Sprintf("%s/invitations?customer_id=%d&limit=10", base, h.ids.hanako), "viewer", "", http.StatusOK, nil)
	if strings.Count(w.Body.String(), `"id"`) != 2 || strings.Contains(w.Body.String(), first.Token) {
		t.Fatalf("invitations of the customer %s (the token is shown once only)", w.Body.String())
	}

	// An email invitation for later is scheduled, not sent.
	var later itemsOf[feedback.IssuedInvitation]
	h.apiCall("POST", base+"/invitations", "manager",
		fmt.Sprintf(`{"customer_ids":[%d],"channel":"email","at":"2030-01-01T00:00:00Z"}`, h.ids.john), http.StatusCreated, &later)
	if later.Items[0].Status != feedback.InvitationScheduled || later.Items[0].ScheduledAt.Year() != 2030 || later.Items[0].Token != "" {
		t.Fatalf("email invitation %+v", later.Items[0])
	}

	var report feedback.DistributionReport
	h.apiCall("GET", base+"/distribution", "viewer", "", http.StatusOK, &report)
	if report.Invitations["sent"] != 1 || report.Invitations["skipped"] != 1 || report.Invitations["scheduled"] != 1 ||
		report.Skipped["cooldown"] != 1 || report.Responses["completed"] != len(seedAnswers) {
		t.Fatalf("report %+v", report)
	}

	// Dropping the survey's rules brings the global ones back.
	h.apiCall("DELETE", base+"/contact-rules", "manager", "", http.StatusOK, &rules)
	if rules.CooldownDays != 60 {
		t.Fatalf("after DELETE the survey follows %+v, want the global 60 days", rules)
	}

	// Triggers: create, list, switch off and on.
	var tr struct {
		ID           int64
		EventName    string `json:"event_name"`
		DelaySeconds int64  `json:"delay_seconds"`
		Enabled      bool
		Conditions   []map[string]any
	}
	h.apiCall("POST", base+"/triggers", "manager",
		`{"event_name":"Order Completed","delay_seconds":86400,"conditions":[{"property":"total","op":"gte","value":5000}]}`, http.StatusCreated, &tr)
	if tr.DelaySeconds != 86400 || !tr.Enabled || len(tr.Conditions) != 1 {
		t.Fatalf("trigger %+v", tr)
	}
	h.apiCall("POST", fmt.Sprintf("%s/triggers/%d/disable", base, tr.ID), "manager", "", http.StatusOK, &tr)
	if tr.Enabled {
		t.Fatal("disable answered an enabled trigger")
	}
	var ts struct {
		Items []struct {
			ID      int64
			Enabled bool
		}
		Total int
	}
	h.apiCall("GET", base+"/triggers", "viewer", "", http.StatusOK, &ts)
	if ts.Total != 2 || ts.Items[0].ID == ts.Items[1].ID {
		t.Fatalf("triggers %+v", ts)
	}
	for _, it := range ts.Items {
		if want := it.ID != tr.ID; it.Enabled != want {
			t.Fatalf("trigger %d enabled = %v, want %v", it.ID, it.Enabled, want)
		}
	}
	h.apiCall("POST", fmt.Sprintf("%s/triggers/%d/enable", base, tr.ID), "key:admin", "", http.StatusOK, &tr)
	if !tr.Enabled {
		t.Fatal("enable answered a disabled trigger")
	}

	// A closed survey invites nobody.
	h.apiCall("POST", base+"/close", "manager", "", http.StatusOK, nil)
	h.apiFails("POST", base+"/invitations", "manager", body, http.StatusConflict, "conflict", "")
}
