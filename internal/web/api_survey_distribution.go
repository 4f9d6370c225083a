package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// Distribution over the JSON API: contact rules (global and per survey),
// triggers, invitations and the distribution report.

// apiGlobalContactRules returns the rules every survey without its own
// follows.
func (s *Server) apiGlobalContactRules(w http.ResponseWriter, r *http.Request) {
	rules, err := s.cfg.Surveys.ContactRulesOf(r.Context(), 0)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, rules)
}

// decodeContactRules reads rules over the defaults, so an omitted field
// keeps its documented default (a cooldown of 30 days …).
func decodeContactRules(r *http.Request) (feedback.ContactRules, error) {
	rules := feedback.DefaultContactRules()
	err := decodeJSON(r, &rules)
	return rules, err
}

func (s *Server) apiGlobalContactRulesPut(w http.ResponseWriter, r *http.Request) {
	rules, err := decodeContactRules(r)
	if err == nil {
		err = s.cfg.Surveys.SetContactRules(r.Context(), 0, rules)
	}
	if err == nil {
		rules, err = s.cfg.Surveys.ContactRulesOf(r.Context(), 0)
	}
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusOK, rules)
}

// surveyContactRules is what applies to one survey and where it comes
// from.
type surveyContactRules struct {
	feedback.ContactRules
	SurveyID int64 `json:"survey_id"`
}

func (s *Server) surveyRules(r *http.Request, id int64) (any, error) {
	rules, err := s.cfg.Surveys.ContactRulesOf(r.Context(), id)
	if err != nil {
		return nil, err
	}
	return surveyContactRules{ContactRules: rules, SurveyID: id}, nil
}

// apiSurveyContactRules returns the rules that apply to the survey: its
// own set, else the global one, else the defaults.
func (s *Server) apiSurveyContactRules(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		if _, err := s.cfg.Surveys.Get(r.Context(), id); err != nil {
			return nil, err
		}
		return s.surveyRules(r, id)
	})
}

func (s *Server) apiSurveyContactRulesPut(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		rules, err := decodeContactRules(r)
		if err != nil {
			return nil, err
		}
		if err := s.cfg.Surveys.SetContactRules(r.Context(), id, rules); err != nil {
			return nil, err
		}
		return s.surveyRules(r, id)
	})
}

// apiSurveyContactRulesDelete drops the survey's own rules; it answers
// with the rules that apply from now on (the global set).
func (s *Server) apiSurveyContactRulesDelete(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		if _, err := s.cfg.Surveys.Get(r.Context(), id); err != nil {
			return nil, err
		}
		if err := s.cfg.Surveys.ClearContactRules(r.Context(), id); err != nil {
			return nil, err
		}
		return s.surveyRules(r, id)
	})
}

// apiTrigger is a trigger as the API shows it: the delay in seconds
// rather than Go's nanoseconds.
type apiTrigger struct {
	ID           int64                        `json:"id"`
	SurveyID     int64                        `json:"survey_id"`
	EventName    string                       `json:"event_name"`
	Conditions   []feedback.PropertyCondition `json:"conditions"`
	DelaySeconds int64                        `json:"delay_seconds"`
	Channel      string                       `json:"channel"`
	Enabled      bool                         `json:"enabled"`
	CreatedAt    time.Time                    `json:"created_at"`
}

func triggerOut(t feedback.Trigger) apiTrigger {
	if t.Conditions == nil {
		t.Conditions = []feedback.PropertyCondition{}
	}
	return apiTrigger{ID: t.ID, SurveyID: t.SurveyID, EventName: t.EventName, Conditions: t.Conditions,
		DelaySeconds: int64(t.Delay / time.Second), Channel: t.Channel, Enabled: t.Enabled, CreatedAt: t.CreatedAt}
}

// newTrigger is the body of POST /api/v1/surveys/{id}/triggers.
type newTrigger struct {
	EventName    string                       `json:"event_name"`
	Conditions   []feedback.PropertyCondition `json:"conditions"`
	DelaySeconds int64                        `json:"delay_seconds"`
	Channel      string                       `json:"channel"`
}

func (s *Server) apiTriggerList(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		if _, err := s.cfg.Surveys.Get(r.Context(), id); err != nil {
			return nil, err
		}
		ts, err := s.cfg.Surveys.Triggers(r.Context(), id)
		if err != nil {
			return nil, err
		}
		out := make([]apiTrigger, len(ts))
		for i, t := range ts {
			out[i] = triggerOut(t)
		}
		return list(out), nil
	})
}

func (s *Server) apiTriggerCreate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var in newTrigger
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	// Bounded before the conversion so that no value overflows.
	if in.DelaySeconds < 0 || in.DelaySeconds > 90*24*3600 {
		s.apiError(w, r, kizuna.FieldError("delay_seconds", "the delay is between 0 and 7776000 seconds (90 days)"))
		return
	}
	t, err := s.cfg.Surveys.CreateTrigger(r.Context(), feedback.TriggerInput{SurveyID: id, EventName: in.EventName,
		Conditions: in.Conditions, Delay: time.Duration(in.DelaySeconds) * time.Second, Channel: in.Channel})
	if err != nil {
		if kizuna.ErrorField(err) == "delay" {
			err = kizuna.FieldError("delay_seconds", "%s", kizuna.ErrorMessage(err))
		}
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, triggerOut(*t))
}

func (s *Server) apiTriggerEnable(w http.ResponseWriter, r *http.Request)  { s.setTrigger(w, r, true) }
func (s *Server) apiTriggerDisable(w http.ResponseWriter, r *http.Request) { s.setTrigger(w, r, false) }

// setTrigger switches a trigger of the survey in the path; a trigger of
// another survey is not found here.
func (s *Server) setTrigger(w http.ResponseWriter, r *http.Request, on bool) {
	s.withID(w, r, func(id int64) (any, error) {
		tid, err := strconv.ParseInt(r.PathValue("trigger"), 10, 64)
		if err != nil || tid <= 0 {
			return nil, kizuna.FieldError("trigger", "the trigger id must be a positive integer")
		}
		if _, err := s.cfg.Surveys.Get(r.Context(), id); err != nil {
			return nil, err
		}
		ts, err := s.cfg.Surveys.Triggers(r.Context(), id)
		if err != nil {
			return nil, err
		}
		for _, t := range ts {
			if t.ID != tid {
				continue
			}
			if err := s.cfg.Surveys.SetTriggerEnabled(r.Context(), tid, on); err != nil {
				return nil, err
			}
			t.Enabled = on
			return triggerOut(t), nil
		}
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "survey %d has no trigger %d", id, tid)
	})
}

// newInvitations is the body of POST /api/v1/surveys/{id}/invitations.
type newInvitations struct {
	CustomerIDs []int64 `json:"customer_ids"`
	// Channel: email (sent by the sender job at At, default now) or link
	// (decided now; the personal link comes back when the rules allow).
	Channel string     `json:"channel"`
	At      *time.Time `json:"at"`
}

func (s *Server) apiInvitationCreate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	var in newInvitations
	if err := decodeJSON(r, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	if in.Channel == "" {
		s.apiError(w, r, kizuna.FieldError("channel", "channel is required: email or link"))
		return
	}
	if in.At != nil && in.Channel != feedback.ChannelEmail {
		s.apiError(w, r, kizuna.FieldError("at", "only email invitations are scheduled; a link is issued now"))
		return
	}
	inv := feedback.InviteInput{SurveyID: id, CustomerIDs: in.CustomerIDs, Channel: in.Channel}
	if in.At != nil {
		inv.At = *in.At
	}
	out, err := s.cfg.Surveys.Invite(r.Context(), inv)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.writeJSON(w, http.StatusCreated, list(out))
}

var invitationStatuses = []string{feedback.InvitationScheduled, feedback.InvitationSending, feedback.InvitationSent,
	feedback.InvitationSkipped, feedback.InvitationFailed}

func (s *Server) apiInvitationList(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) {
		q := r.URL.Query()
		f := feedback.InvitationFilter{SurveyID: id, Status: q.Get("status")}
		if f.Status != "" && !oneOf(f.Status, invitationStatuses) {
			return nil, kizuna.FieldError("status", "status must be one of scheduled, sending, sent, skipped, failed")
		}
		if v := q.Get("customer_id"); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return nil, kizuna.FieldError("customer_id", "customer_id must be a positive integer")
			}
			f.CustomerID = n
		}
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				return nil, kizuna.FieldError("limit", "limit must be an integer from 1 to 1000")
			}
			f.Limit = n
		}
		if _, err := s.cfg.Surveys.Get(r.Context(), id); err != nil {
			return nil, err
		}
		out, err := s.cfg.Surveys.Invitations(r.Context(), f)
		if err != nil {
			return nil, err
		}
		return list(out), nil
	})
}

func (s *Server) apiDistributionReport(w http.ResponseWriter, r *http.Request) {
	s.withID(w, r, func(id int64) (any, error) { return s.cfg.Surveys.Report(r.Context(), id) })
}

func oneOf(v string, set []string) bool {
	for _, s := range set {
		if v == s {
			return true
		}
	}
	return false
}
