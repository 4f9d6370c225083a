package web

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/feedback"
)

// maxSegmentInvite bounds the customers a segment invitation reaches in
// one post (feedback.Invite takes at most 5,000 at a time).
const maxSegmentInvite = 5000

type inviteForm struct {
	Channel string // email or link
	Pick    string // ids or segment
	IDs     string
	Stage   string
	Country string
	Query   string
	At      string // datetime-local, email only
}

type triggerForm struct {
	Event     string
	Delay     string
	Unit      string // minutes, hours, days
	CondProp  string
	CondOp    string
	CondValue string
}

type surveyDistributeView struct {
	Survey     *feedback.Survey
	PublicLink string
	// WidgetSnippet is the <script> tag a site embeds; WidgetSecret (only
	// for those who may edit surveys) is what its server signs user ids
	// with.
	WidgetSnippet string
	WidgetSecret  string
	Rules         feedback.ContactRules
	Triggers      []feedback.Trigger
	Invitations   []feedback.Invitation
	Report        *feedback.DistributionReport
	Skipped       []countRow
	Issued        []feedback.IssuedInvitation // links made by this post, shown once
	Invited       int
	Invite        inviteForm
	Trigger       triggerForm
	Stages        []string
	InvStatuses   []string
	Units         []string
	CondOps       []string
	Done          string
	// The form an error belongs to ("invite", "trigger", "rules") and
	// the error.
	ErrorForm string
	ErrorKey  string
	ErrorMsg  string
	Field     string
}

type countRow struct {
	Key string
	N   int
}

// Delay renders a trigger's delay in the largest whole unit.
func triggerDelay(d time.Duration) (int64, string) {
	switch {
	case d >= 24*time.Hour && d%(24*time.Hour) == 0:
		return int64(d / (24 * time.Hour)), "days"
	case d >= time.Hour && d%time.Hour == 0:
		return int64(d / time.Hour), "hours"
	}
	return int64(d / time.Minute), "minutes"
}

type triggerRow struct {
	feedback.Trigger
	DelayN    int64
	DelayUnit string
}

// TriggerRows pairs each trigger with its delay in words.
func (v *surveyDistributeView) TriggerRows() []triggerRow {
	out := make([]triggerRow, len(v.Triggers))
	for i, t := range v.Triggers {
		n, u := triggerDelay(t.Delay)
		out[i] = triggerRow{Trigger: t, DelayN: n, DelayUnit: u}
	}
	return out
}

func (s *Server) publicLink(sv *feedback.Survey) string {
	return strings.TrimRight(s.cfg.BaseURL, "/") + "/s/" + sv.Slug
}

func (s *Server) loadDistribute(r *http.Request, id int64) (*surveyDistributeView, error) {
	ctx := r.Context()
	sv, err := s.cfg.Surveys.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	v := &surveyDistributeView{Survey: sv, PublicLink: s.publicLink(sv), Stages: customer.LifecycleStages,
		InvStatuses: []string{feedback.InvitationScheduled, feedback.InvitationSending, feedback.InvitationSent, feedback.InvitationSkipped, feedback.InvitationFailed},
		Units:       []string{"minutes", "hours", "days"}, CondOps: []string{"eq", "ne", "gt", "gte", "lt", "lte", "exists"},
		Invite: inviteForm{Channel: feedback.ChannelEmail, Pick: "ids"}, Trigger: triggerForm{Delay: "1", Unit: "days", CondOp: "eq"},
		Done: surveyDone(r.URL.Query().Get("done"))}
	base := strings.TrimRight(s.cfg.BaseURL, "/")
	v.WidgetSnippet = `<script src="` + base + `/static/widget.js" data-survey="` + sv.Slug +
		`" data-user-id="USER_ID" data-user-hash="HMAC_SHA256_HEX" async></script>`
	if p, ok := auth.PrincipalFrom(ctx); ok && p.Can(auth.PermSurveysWrite) {
		if v.WidgetSecret, err = s.cfg.Surveys.WidgetSecret(ctx); err != nil {
			return nil, err
		}
	}
	if v.Rules, err = s.cfg.Surveys.ContactRulesOf(ctx, id); err != nil {
		return nil, err
	}
	if v.Triggers, err = s.cfg.Surveys.Triggers(ctx, id); err != nil {
		return nil, err
	}
	if v.Invitations, err = s.cfg.Surveys.Invitations(ctx, feedback.InvitationFilter{SurveyID: id, Limit: 100}); err != nil {
		return nil, err
	}
	if v.Report, err = s.cfg.Surveys.Report(ctx, id); err != nil {
		return nil, err
	}
	for k, n := range v.Report.Skipped {
		v.Skipped = append(v.Skipped, countRow{k, n})
	}
	sort.Slice(v.Skipped, func(i, j int) bool { return v.Skipped[i].N > v.Skipped[j].N })
	return v, nil
}

func (s *Server) handleSurveyDistribute(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	v, err := s.loadDistribute(r, id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "survey_distribute", s.newPage(w, r, "surveys.distribute.title", "surveys", v))
}

// distributeResult shows the distribution page after a post: with the
// error beside the form it belongs to (keeping what was typed), or with
// what the post produced.
func (s *Server) distributeResult(w http.ResponseWriter, r *http.Request, id int64, form string, err error, set func(v *surveyDistributeView)) {
	v, lerr := s.loadDistribute(r, id)
	if lerr != nil {
		s.pageError(w, r, lerr)
		return
	}
	if set != nil {
		set(v)
	}
	if err != nil {
		s.renderWithError(w, r, "survey_distribute", "surveys.distribute.title", "surveys", v, err, func(key, msg string) {
			v.ErrorForm, v.ErrorKey, v.ErrorMsg, v.Field = form, key, msg, kizuna.ErrorField(err)
		})
		return
	}
	s.render(w, r, http.StatusOK, "survey_distribute", s.newPage(w, r, "surveys.distribute.title", "surveys", v))
}

func distributeURL(id int64) string { return surveyURL(id) + "/distribute" }

// parseIDs reads customer numbers separated by commas, spaces or lines.
func parseIDs(s string) ([]int64, error) {
	var ids []int64
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' || r == '、' }) {
		n, err := strconv.ParseInt(strings.TrimPrefix(f, "#"), 10, 64)
		if err != nil || n <= 0 {
			return nil, kizuna.FieldError("customer_ids", "%q is not a customer number", f)
		}
		ids = append(ids, n)
	}
	if len(ids) == 0 {
		return nil, kizuna.FieldError("customer_ids", "enter at least one customer number")
	}
	return ids, nil
}

// segmentIDs lists the customers matching a customer filter (lifecycle
// stage, country, search), at most maxSegmentInvite.
func (s *Server) segmentIDs(r *http.Request, f inviteForm) ([]int64, error) {
	filter := customer.Filter{Query: f.Query, LifecycleStage: f.Stage, Country: strings.ToUpper(f.Country), Limit: 200}
	if filter == (customer.Filter{Limit: 200}) {
		return nil, kizuna.FieldError("segment", "choose a lifecycle stage, a country or a search; to invite everyone, use a trigger")
	}
	var ids []int64
	for {
		page, err := s.cfg.Customers.List(r.Context(), filter)
		if err != nil {
			return nil, err
		}
		for _, c := range page.Items {
			ids = append(ids, c.ID)
		}
		if len(ids) > maxSegmentInvite {
			return nil, kizuna.FieldError("segment", "the segment has more than %d customers; narrow it down", maxSegmentInvite)
		}
		if page.Next == "" {
			break
		}
		filter.Cursor = page.Next
	}
	if len(ids) == 0 {
		return nil, kizuna.FieldError("segment", "no customer matches this segment")
	}
	return ids, nil
}

// handleSurveyInvite invites customers picked by number or by segment,
// by email (scheduled; the sender applies the contact rules) or as
// personal single-use links shown once on the answering page.
func (s *Server) handleSurveyInvite(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f := inviteForm{Channel: r.PostFormValue("channel"), Pick: r.PostFormValue("pick"), IDs: r.PostFormValue("customer_ids"),
		Stage: r.PostFormValue("stage"), Country: strings.TrimSpace(r.PostFormValue("country")),
		Query: strings.TrimSpace(r.PostFormValue("q")), At: r.PostFormValue("at")}
	in := feedback.InviteInput{SurveyID: id, Channel: f.Channel}
	if f.Pick == "segment" {
		in.CustomerIDs, err = s.segmentIDs(r, f)
	} else {
		in.CustomerIDs, err = parseIDs(f.IDs)
	}
	if err == nil && f.At != "" && f.Channel == feedback.ChannelEmail {
		at, perr := time.ParseInLocation("2006-01-02T15:04", f.At, s.cfg.Location)
		if perr != nil {
			err = kizuna.FieldError("at", "%q is not a date and time", f.At)
		}
		in.At = at
	}
	var issued []feedback.IssuedInvitation
	if err == nil {
		issued, err = s.cfg.Surveys.Invite(r.Context(), in)
	}
	s.distributeResult(w, r, id, "invite", err, func(v *surveyDistributeView) {
		if err != nil {
			v.Invite = f
			return
		}
		v.Invited, v.Done = len(issued), "surveys.done.invited"
		for _, iss := range issued {
			if iss.Link != "" || iss.Status == feedback.InvitationSkipped && f.Channel == feedback.ChannelLink {
				v.Issued = append(v.Issued, iss)
			}
		}
	})
}

func (s *Server) handleSurveyTriggerCreate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	f := triggerForm{Event: r.PostFormValue("event_name"), Delay: strings.TrimSpace(r.PostFormValue("delay")), Unit: r.PostFormValue("unit"),
		CondProp: strings.TrimSpace(r.PostFormValue("cond_property")), CondOp: r.PostFormValue("cond_op"), CondValue: strings.TrimSpace(r.PostFormValue("cond_value"))}
	in := feedback.TriggerInput{SurveyID: id, EventName: f.Event, Channel: feedback.ChannelEmail}
	n, perr := strconv.ParseFloat(f.Delay, 64)
	if f.Delay == "" {
		n, perr = 0, nil
	}
	unit := map[string]time.Duration{"minutes": time.Minute, "hours": time.Hour, "days": 24 * time.Hour}[f.Unit]
	switch {
	case perr != nil || unit == 0:
		err = kizuna.FieldError("delay", "the delay is a number of minutes, hours or days")
	default:
		in.Delay = time.Duration(n * float64(unit))
		if f.CondProp != "" {
			in.Conditions = []feedback.PropertyCondition{propertyCondition(f)}
		}
		_, err = s.cfg.Surveys.CreateTrigger(r.Context(), in)
	}
	if err != nil {
		s.distributeResult(w, r, id, "trigger", err, func(v *surveyDistributeView) { v.Trigger = f })
		return
	}
	http.Redirect(w, r, distributeURL(id)+"?done=trigger_created", http.StatusSeeOther)
}

// propertyCondition reads the one condition the trigger form offers; a
// number stays a number so gt/lt compare numerically.
func propertyCondition(f triggerForm) feedback.PropertyCondition {
	c := feedback.PropertyCondition{Property: f.CondProp, Op: f.CondOp}
	if f.CondOp == "exists" {
		return c
	}
	if n, err := strconv.ParseFloat(f.CondValue, 64); err == nil {
		c.Value = n
	} else if f.CondValue == "true" || f.CondValue == "false" {
		c.Value = f.CondValue == "true"
	} else if f.CondValue != "" {
		c.Value = f.CondValue
	}
	return c
}

func (s *Server) handleSurveyTriggerEnabled(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	tid, err := strconv.ParseInt(r.PathValue("trigger"), 10, 64)
	if err != nil || tid <= 0 {
		s.pageError(w, r, kizuna.FieldError("trigger", "trigger must be a positive integer"))
		return
	}
	// The trigger must belong to this survey: the URL names both.
	ts, err := s.cfg.Surveys.Triggers(r.Context(), id)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	found := false
	for _, t := range ts {
		found = found || t.ID == tid
	}
	if !found {
		s.pageError(w, r, kizuna.Errorf(kizuna.ENOTFOUND, "survey %d has no trigger %d", id, tid))
		return
	}
	if err := s.cfg.Surveys.SetTriggerEnabled(r.Context(), tid, r.PostFormValue("enabled") == "1"); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, distributeURL(id)+"?done=trigger_changed", http.StatusSeeOther)
}

func (s *Server) handleSurveyRules(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	num := func(name string) int {
		n, _ := strconv.Atoi(strings.TrimSpace(r.PostFormValue(name)))
		return n
	}
	rules := feedback.ContactRules{CooldownDays: num("cooldown_days"), MaxPerPeriod: num("max_per_period"), PeriodDays: num("period_days"),
		SamplePercent: num("sample_percent"), QuietStart: strings.TrimSpace(r.PostFormValue("quiet_start")),
		QuietEnd: strings.TrimSpace(r.PostFormValue("quiet_end")), TimeZone: strings.TrimSpace(r.PostFormValue("time_zone"))}
	rules.NoCooldown = rules.CooldownDays == 0
	if err := s.cfg.Surveys.SetContactRules(r.Context(), id, rules); err != nil {
		s.distributeResult(w, r, id, "rules", err, func(v *surveyDistributeView) { v.Rules = rules })
		return
	}
	http.Redirect(w, r, distributeURL(id)+"?done=rules_saved", http.StatusSeeOther)
}

func (s *Server) handleSurveyRulesClear(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		s.pageError(w, r, err)
		return
	}
	if err := s.cfg.Surveys.ClearContactRules(r.Context(), id); err != nil {
		s.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, distributeURL(id)+"?done=rules_cleared", http.StatusSeeOther)
}
