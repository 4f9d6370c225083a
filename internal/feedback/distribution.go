package feedback

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/jobs"
	"github.com/kizuna-oss/kizuna/internal/mail"
)

// InvitationMailer sends one composed invitation and returns its
// Message-ID; *mail.Sender implements it.
type InvitationMailer interface {
	SendInvitation(ctx context.Context, inv mail.Invitation) (string, error)
}

// Invitation statuses.
const (
	InvitationScheduled = "scheduled" // waits for scheduled_at
	InvitationSending   = "sending"   // claimed by one node's sender
	InvitationSent      = "sent"      // delivered to the mail server, or a link handed out
	InvitationSkipped   = "skipped"   // contact rules said no; skip_reason says why
	InvitationFailed    = "failed"    // the mail server refused it repeatedly
)

// maxSendAttempts bounds retries of an invitation the mail server refused.
const maxSendAttempts = 3

// Invitation is one invitation to answer a survey.
type Invitation struct {
	ID          int64      `json:"id"`
	SurveyID    int64      `json:"survey_id"`
	CustomerID  *int64     `json:"customer_id,omitempty"`
	Channel     string     `json:"channel"`
	Status      string     `json:"status"`
	SkipReason  string     `json:"skip_reason,omitempty"`
	ScheduledAt time.Time  `json:"scheduled_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	RemindedAt  *time.Time `json:"reminded_at,omitempty"`
	RespondedAt *time.Time `json:"responded_at,omitempty"`
	ExpiresAt   *time.Time `json:"expires_at,omitempty"`
	TriggerID   *int64     `json:"trigger_id,omitempty"`
	EventID     *int64     `json:"event_id,omitempty"`
	MessageID   string     `json:"message_id,omitempty"`
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"last_error,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
}

// IssuedInvitation is an invitation with, for the link channel, its
// token: shown once, never stored.
type IssuedInvitation struct {
	Invitation
	Token string `json:"token,omitempty"`
	Link  string `json:"link,omitempty"`
}

// Link returns the personal link of a token.
func (s *Service) Link(token string) string {
	return strings.TrimRight(s.opts.BaseURL, "/") + "/r/" + token
}

// UnsubscribeLink returns the one-click unsubscribe URL of a token (the
// web layer must act on POST only; GET shows a confirmation button).
func (s *Service) UnsubscribeLink(token string) string {
	return strings.TrimRight(s.opts.BaseURL, "/") + "/u/" + token
}

// ---- contact rules

// ContactRulesOf returns the rules that apply to a survey (its own set,
// else the global one, else the defaults); surveyID 0 asks for the global
// set. [surveys.read]
func (s *Service) ContactRulesOf(ctx context.Context, surveyID int64) (ContactRules, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return ContactRules{}, err
	}
	r, err := rulesFor(ctx, s.db.Reader(), surveyID)
	if err != nil {
		return r, internalError("feedback.ContactRulesOf", err)
	}
	return r, nil
}

func rulesFor(ctx context.Context, q querier, surveyID int64) (ContactRules, error) {
	var raw string
	err := q.QueryRowContext(ctx, `SELECT rules FROM feedback_contact_rules WHERE survey_id IN ($1, 0)
		ORDER BY survey_id DESC LIMIT 1`, surveyID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return DefaultContactRules(), nil
	}
	if err != nil {
		return ContactRules{}, err
	}
	r := DefaultContactRules()
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return ContactRules{}, err
	}
	return r, nil
}

// SetContactRules stores the global rules (surveyID 0) or a survey's own.
// Errors: EINVALID, ENOTFOUND (survey). [surveys.write]
func (s *Service) SetContactRules(ctx context.Context, surveyID int64, r ContactRules) error {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return err
	}
	if err := r.Check(); err != nil {
		return err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		if surveyID != 0 {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM surveys WHERE id = $1`, surveyID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return notFound(surveyID)
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO feedback_contact_rules (survey_id, rules, updated_at) VALUES ($1, $2, $3)
			ON CONFLICT (survey_id) DO UPDATE SET rules = excluded.rules, updated_at = excluded.updated_at`,
			surveyID, mustJSON(r), tx.NowMS())
		return err
	})
	return internalErrorOrNil("feedback.SetContactRules", err)
}

// ClearContactRules removes a survey's own rules, so the global set
// applies again. [surveys.write]
func (s *Service) ClearContactRules(ctx context.Context, surveyID int64) error {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return err
	}
	if surveyID == 0 {
		return kizuna.FieldError("survey_id", "the global rules can be changed, not removed")
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM feedback_contact_rules WHERE survey_id = $1`, surveyID)
		return err
	})
	return internalErrorOrNil("feedback.ClearContactRules", err)
}

func internalErrorOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return internalError(op, err)
}

// ---- triggers

// Trigger invites a customer after an event.
type Trigger struct {
	ID         int64               `json:"id"`
	SurveyID   int64               `json:"survey_id"`
	EventName  string              `json:"event_name"`
	Conditions []PropertyCondition `json:"conditions"`
	Delay      time.Duration       `json:"delay"`
	Channel    string              `json:"channel"`
	Enabled    bool                `json:"enabled"`
	CreatedAt  time.Time           `json:"created_at"`
}

// TriggerInput creates a trigger.
type TriggerInput struct {
	SurveyID   int64               `json:"survey_id"`
	EventName  string              `json:"event_name"`
	Conditions []PropertyCondition `json:"conditions"`
	Delay      time.Duration       `json:"delay"`
	Channel    string              `json:"channel"`
}

// CreateTrigger adds a trigger (enabled). Only email triggers exist for
// now: a link has nobody to be handed to when an event fires.
// Errors: EINVALID, ENOTFOUND (survey). [surveys.write]
func (s *Service) CreateTrigger(ctx context.Context, in TriggerInput) (*Trigger, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return nil, err
	}
	in.EventName = strings.TrimSpace(in.EventName)
	if in.EventName == "" || len(in.EventName) > 200 {
		return nil, kizuna.FieldError("event_name", "name the event (1–200 bytes), e.g. \"Order Completed\"")
	}
	if in.Channel == "" {
		in.Channel = ChannelEmail
	}
	if in.Channel != ChannelEmail {
		return nil, kizuna.FieldError("channel", "a trigger sends by email")
	}
	if in.Delay < 0 || in.Delay > 90*24*time.Hour {
		return nil, kizuna.FieldError("delay", "the delay is between 0 and 90 days")
	}
	for i, c := range in.Conditions {
		if err := c.check(fmt.Sprintf("conditions[%d]", i)); err != nil {
			return nil, err
		}
	}
	if in.Conditions == nil {
		in.Conditions = []PropertyCondition{}
	}
	var id int64
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM surveys WHERE id = $1`, in.SurveyID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
			return notFound(in.SurveyID)
		}
		return tx.QueryRowContext(ctx, `INSERT INTO survey_triggers (survey_id, event_name, conditions, delay_ms, channel, enabled, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, 1, $6, $6) RETURNING id`,
			in.SurveyID, in.EventName, mustJSON(in.Conditions), in.Delay.Milliseconds(), in.Channel, tx.NowMS()).Scan(&id)
	})
	if err != nil {
		return nil, internalError("feedback.CreateTrigger", err)
	}
	ts, err := listTriggers(ctx, s.db.Reader(), `t.id = $1`, id)
	if err != nil || len(ts) == 0 {
		return nil, internalError("feedback.CreateTrigger", fmt.Errorf("trigger %d vanished: %v", id, err))
	}
	return &ts[0], nil
}

// Triggers lists a survey's triggers. [surveys.read]
func (s *Service) Triggers(ctx context.Context, surveyID int64) ([]Trigger, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	ts, err := listTriggers(ctx, s.db.Reader(), `t.survey_id = $1`, surveyID)
	return ts, internalErrorOrNil("feedback.Triggers", err)
}

// SetTriggerEnabled turns a trigger on or off. Errors: ENOTFOUND.
// [surveys.write]
func (s *Service) SetTriggerEnabled(ctx context.Context, id int64, enabled bool) error {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return err
	}
	on := 0
	if enabled {
		on = 1
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE survey_triggers SET enabled = $1, updated_at = $2 WHERE id = $3`, on, tx.NowMS(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return kizuna.Errorf(kizuna.ENOTFOUND, "trigger %d not found", id)
		}
		return nil
	})
	return internalErrorOrNil("feedback.SetTriggerEnabled", err)
}

func listTriggers(ctx context.Context, q querier, where string, args ...any) ([]Trigger, error) {
	rows, err := q.QueryContext(ctx, `SELECT t.id, t.survey_id, t.event_name, t.conditions, t.delay_ms, t.channel, t.enabled, t.created_at
		FROM survey_triggers t WHERE `+where+` ORDER BY t.id`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Trigger{}
	for rows.Next() {
		var t Trigger
		var conds string
		var delay, created int64
		var enabled int
		if err := rows.Scan(&t.ID, &t.SurveyID, &t.EventName, &conds, &delay, &t.Channel, &enabled, &created); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(conds), &t.Conditions); err != nil {
			return nil, err
		}
		t.Delay, t.Enabled, t.CreatedAt = time.Duration(delay)*time.Millisecond, enabled == 1, msTime(created)
		out = append(out, t)
	}
	return out, rows.Err()
}

// TriggerEvent is a committed event, as the ingest writer hands it over.
type TriggerEvent struct {
	CustomerID int64
	Name       string
	Properties json.RawMessage
	OccurredAt time.Time
	EventID    int64
}

// OnEvents schedules an invitation for every enabled trigger of a live
// survey that an event matches, at OccurredAt + the trigger's delay. The
// ingest writer calls it after its transaction commits, with the events it
// committed. Calling it again with the same events schedules nothing new
// (UNIQUE(trigger_id, event_id)). Events without a customer, or older than
// MaxEventAge (a history import), invite nobody. Contact rules are applied
// when the invitation falls due, not here, so they see the customer as
// they are then. [ingest.write]
func (s *Service) OnEvents(ctx context.Context, events []TriggerEvent) error {
	if err := auth.Require(ctx, auth.PermIngest); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, e := range events {
		if e.CustomerID != 0 {
			names[e.Name] = true
		}
	}
	if len(names) == 0 {
		return nil
	}
	args := []any{StatusLive}
	for n := range names {
		args = append(args, n)
	}
	triggers, err := listTriggers(ctx, s.db.Reader(), `t.enabled = 1 AND t.survey_id IN (SELECT id FROM surveys WHERE status = $1)
		AND t.event_name IN (`+db.Placeholders(2, len(args)-1)+`)`, args...)
	if err != nil {
		return internalError("feedback.OnEvents", err)
	}
	if len(triggers) == 0 {
		return nil
	}
	type plan struct {
		t Trigger
		e TriggerEvent
	}
	var plans []plan
	now := s.db.Now()
	for _, e := range events {
		if e.CustomerID == 0 || now.Sub(e.OccurredAt) > s.opts.MaxEventAge {
			continue
		}
		var props map[string]any
		if len(e.Properties) > 0 {
			if err := json.Unmarshal(e.Properties, &props); err != nil {
				props = nil
			}
		}
		for _, t := range triggers {
			if t.EventName == e.Name && Matches(t.Conditions, props) {
				plans = append(plans, plan{t, e})
			}
		}
	}
	if len(plans) == 0 {
		return nil
	}
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		for _, p := range plans {
			if _, err := tx.ExecContext(ctx, `INSERT INTO survey_invitations (survey_id, customer_id, channel, status, scheduled_at,
				trigger_id, event_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (trigger_id, event_id) DO NOTHING`,
				p.t.SurveyID, p.e.CustomerID, p.t.Channel, InvitationScheduled, p.e.OccurredAt.Add(p.t.Delay).UnixMilli(),
				p.t.ID, p.e.EventID, tx.NowMS()); err != nil {
				return err
			}
		}
		return nil
	})
	return internalErrorOrNil("feedback.OnEvents", err)
}

// ---- invitations

// InviteInput invites customers by hand.
type InviteInput struct {
	SurveyID    int64   `json:"survey_id"`
	CustomerIDs []int64 `json:"customer_ids"`
	// Channel: email (sent by the sender job at At, default now) or link
	// (contact rules are applied now and the personal link is returned).
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
}

// maxInviteBatch bounds one Invite call; bulk sends go through triggers
// or several calls.
const maxInviteBatch = 5000

// Invite creates invitations. Email invitations are scheduled; the sender
// job applies the contact rules and sends them. Link invitations are
// decided at once and, when the rules allow, come back with their token
// (status sent); otherwise they are recorded as skipped with the reason.
// Errors: EINVALID, ENOTFOUND (survey, customer), ECONFLICT (survey not
// live). [surveys.write]
func (s *Service) Invite(ctx context.Context, in InviteInput) ([]IssuedInvitation, error) {
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return nil, err
	}
	if in.Channel != ChannelEmail && in.Channel != ChannelLink {
		return nil, kizuna.FieldError("channel", "invite by email or link, not %q", in.Channel)
	}
	if len(in.CustomerIDs) == 0 || len(in.CustomerIDs) > maxInviteBatch {
		return nil, kizuna.FieldError("customer_ids", "invite 1–%d customers at a time", maxInviteBatch)
	}
	var ids []int64
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		ids = ids[:0]
		var status string
		err := tx.QueryRowContext(ctx, `SELECT status FROM surveys WHERE id = $1`, in.SurveyID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound(in.SurveyID)
		}
		if err != nil {
			return err
		}
		if status != StatusLive {
			return &kizuna.Error{Code: kizuna.ECONFLICT, Message: "publish the survey before inviting anyone"}
		}
		at := tx.NowMS()
		if !in.At.IsZero() && in.Channel == ChannelEmail {
			at = in.At.UnixMilli()
		}
		for i, cid := range in.CustomerIDs {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM customers WHERE id = $1`, cid).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return &kizuna.Error{Code: kizuna.ENOTFOUND, Field: fmt.Sprintf("customer_ids[%d]", i), Message: fmt.Sprintf("customer %d not found", cid)}
			}
			var id int64
			if err := tx.QueryRowContext(ctx, `INSERT INTO survey_invitations (survey_id, customer_id, channel, status, scheduled_at, created_at)
				VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, in.SurveyID, cid, in.Channel, InvitationScheduled, at, tx.NowMS()).Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return nil
	})
	if err != nil {
		return nil, internalError("feedback.Invite", err)
	}
	out := make([]IssuedInvitation, 0, len(ids))
	for _, id := range ids {
		var token string
		if in.Channel == ChannelLink {
			// Claim like the sender does, so the decision path is one.
			if _, err := s.claimOne(ctx, id); err != nil {
				return nil, err
			}
			d, tok, _, err := s.decide(ctx, id)
			if err != nil {
				return nil, err
			}
			if d.Send {
				token = tok
				if err := s.markSent(ctx, id, ""); err != nil {
					return nil, err
				}
			}
		}
		inv, err := s.invitation(ctx, id)
		if err != nil {
			return nil, err
		}
		iss := IssuedInvitation{Invitation: *inv, Token: token}
		if token != "" {
			iss.Link = s.Link(token)
		}
		out = append(out, iss)
	}
	return out, nil
}

const invitationColumns = `id, survey_id, customer_id, channel, status, skip_reason, scheduled_at, sent_at, reminded_at, responded_at,
	expires_at, trigger_id, event_id, message_id, attempts, last_error, created_at`

func scanInvitation(sc interface{ Scan(...any) error }) (*Invitation, error) {
	var inv Invitation
	var cust, sent, reminded, responded, expires, trig, ev sql.NullInt64
	var sched, created int64
	if err := sc.Scan(&inv.ID, &inv.SurveyID, &cust, &inv.Channel, &inv.Status, &inv.SkipReason, &sched, &sent, &reminded,
		&responded, &expires, &trig, &ev, &inv.MessageID, &inv.Attempts, &inv.LastError, &created); err != nil {
		return nil, err
	}
	if cust.Valid {
		inv.CustomerID = &cust.Int64
	}
	if trig.Valid {
		inv.TriggerID = &trig.Int64
	}
	if ev.Valid {
		inv.EventID = &ev.Int64
	}
	inv.ScheduledAt, inv.CreatedAt = msTime(sched), msTime(created)
	inv.SentAt, inv.RemindedAt, inv.RespondedAt, inv.ExpiresAt = nullTime(sent), nullTime(reminded), nullTime(responded), nullTime(expires)
	return &inv, nil
}

func (s *Service) invitation(ctx context.Context, id int64) (*Invitation, error) {
	inv, err := scanInvitation(s.db.Reader().QueryRowContext(ctx, `SELECT `+invitationColumns+` FROM survey_invitations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, kizuna.Errorf(kizuna.ENOTFOUND, "invitation %d not found", id)
	}
	return inv, internalErrorOrNil("feedback.invitation", err)
}

// InvitationFilter narrows Invitations.
type InvitationFilter struct {
	SurveyID   int64
	CustomerID int64  // 0: every customer
	Status     string // "": every status
	Limit      int    // default 100, at most 1000
}

// Invitations lists a survey's invitations, newest first, with why each
// skipped one was skipped. Errors: EINVALID (limit). [surveys.read]
func (s *Service) Invitations(ctx context.Context, f InvitationFilter) ([]Invitation, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = 100
	}
	if f.Limit < 0 || f.Limit > 1000 {
		return nil, kizuna.FieldError("limit", "the limit is 1–1000")
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+invitationColumns+` FROM survey_invitations
		WHERE survey_id = $1 AND ($2 = 0 OR customer_id = $2) AND ($3 = '' OR status = $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`, f.SurveyID, f.CustomerID, f.Status, f.Limit)
	if err != nil {
		return nil, internalError("feedback.Invitations", err)
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		inv, err := scanInvitation(rows)
		if err != nil {
			return nil, internalError("feedback.Invitations", err)
		}
		out = append(out, *inv)
	}
	return out, internalErrorOrNil("feedback.Invitations", rows.Err())
}

// Unsubscribe stops every future survey invitation to the customer the
// token was sent to (the List-Unsubscribe one-click POST and the link in
// the mail). Idempotent. Errors: ENOTFOUND (token). [surveys.respond]
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	if err := auth.Require(ctx, auth.PermSurveysRespond); err != nil {
		return err
	}
	h := HashToken(token)
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		var cust sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT customer_id FROM survey_invitations WHERE token_hash = $1 OR reminder_token_hash = $1`, h).Scan(&cust)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !cust.Valid {
			return &kizuna.Error{Code: kizuna.ENOTFOUND, Field: "token", Message: "this link is not valid"}
		}
		if err != nil {
			return err
		}
		root, err := rootCustomer(ctx, tx, cust.Int64)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO feedback_contacts (customer_id, unsubscribed_at, touched_at) VALUES ($1, $2, $2)
			ON CONFLICT (customer_id) DO UPDATE SET unsubscribed_at = COALESCE(feedback_contacts.unsubscribed_at, excluded.unsubscribed_at)`,
			root, tx.NowMS())
		return err
	})
	return internalErrorOrNil("feedback.Unsubscribe", err)
}

func rootCustomer(ctx context.Context, q querier, id int64) (int64, error) {
	var root int64
	err := q.QueryRowContext(ctx, `SELECT COALESCE(merged_into, id) FROM customers WHERE id = $1`, id).Scan(&root)
	return root, err
}

// ---- sending

// SendReport counts what one sender run did.
type SendReport struct {
	Sent      int `json:"sent"`
	Skipped   int `json:"skipped"`
	Deferred  int `json:"deferred"`
	Failed    int `json:"failed"`
	Reminded  int `json:"reminded"`
	Recovered int `json:"recovered"`
}

// staleClaim: a claim older than this belongs to a node that died.
const staleClaim = 15 * time.Minute

// SendDue sends the invitations that are due and the reminders that are
// due. Each invitation is claimed with one conditional UPDATE (status
// scheduled → sending) so two nodes never send the same one; the contact
// rules decide in a transaction that first touches the customer's contact
// row, so two decisions for one customer cannot both pass the cooldown.
// Without a Mailer it does nothing. [surveys.write]
func (s *Service) SendDue(ctx context.Context) (SendReport, error) {
	var rep SendReport
	if err := auth.Require(ctx, auth.PermSurveysWrite); err != nil {
		return rep, err
	}
	if s.opts.Mailer == nil {
		return rep, nil
	}
	if err := s.recoverStale(ctx, &rep); err != nil {
		return rep, err
	}
	var ids []int64
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		ids = ids[:0]
		rows, err := tx.QueryContext(ctx, `UPDATE survey_invitations SET status = $1, claimed_at = $2
			WHERE id IN (SELECT id FROM survey_invitations WHERE status = $3 AND channel = $4 AND scheduled_at <= $2
				ORDER BY scheduled_at, id LIMIT $5)
			AND status = $3 RETURNING id`, InvitationSending, tx.NowMS(), InvitationScheduled, ChannelEmail, s.opts.SendBatch)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				return err
			}
			ids = append(ids, id)
		}
		return rows.Err()
	})
	if err != nil {
		return rep, internalError("feedback.SendDue", err)
	}
	for _, id := range ids {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if err := s.sendOne(ctx, id, &rep); err != nil {
			return rep, err
		}
	}
	if err := s.sendReminders(ctx, &rep); err != nil {
		return rep, err
	}
	return rep, nil
}

// recoverStale returns claims of dead nodes: undecided ones go back to the
// queue; decided ones may have been sent, so they fail rather than risk a
// second mail.
func (s *Service) recoverStale(ctx context.Context, rep *SendReport) error {
	return internalErrorOrNil("feedback.recoverStale", s.db.WriteTx(ctx, func(tx *db.Tx) error {
		cutoff := tx.NowMS() - staleClaim.Milliseconds()
		res, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1 WHERE status = $2 AND claimed_at < $3 AND token_hash IS NULL`,
			InvitationScheduled, InvitationSending, cutoff)
		if err != nil {
			return err
		}
		n1, _ := res.RowsAffected()
		res, err = tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1, last_error = $2 WHERE status = $3 AND claimed_at < $4`,
			InvitationFailed, "interrupted while sending; not retried, as it may have been delivered", InvitationSending, cutoff)
		if err != nil {
			return err
		}
		n2, _ := res.RowsAffected()
		rep.Recovered += int(n1 + n2)
		return nil
	}))
}

// claimOne claims a single scheduled invitation.
func (s *Service) claimOne(ctx context.Context, id int64) (bool, error) {
	var ok bool
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1, claimed_at = $2 WHERE id = $3 AND status = $4`,
			InvitationSending, tx.NowMS(), id, InvitationScheduled)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		ok = n == 1
		return nil
	})
	return ok, internalErrorOrNil("feedback.claim", err)
}

// recipient is what composing a mail needs.
type recipient struct {
	email, name, locale string
	surveyName, intro   string
}

// decide applies the contact rules to a claimed invitation. On Send it
// stores the new token's hash and expiry and returns the token; on a skip
// or a deferral it writes the outcome. The invitation stays "sending"
// only when it is to be sent.
func (s *Service) decide(ctx context.Context, id int64) (Decision, string, recipient, error) {
	var inv *Invitation
	var err error
	if inv, err = s.invitation(ctx, id); err != nil {
		return Decision{}, "", recipient{}, err
	}
	complaint := false
	if inv.CustomerID != nil && s.opts.Complaints != nil {
		// Asked outside the transaction: another capability's store.
		if complaint, err = s.opts.Complaints.HasOpenComplaint(ctx, *inv.CustomerID); err != nil {
			return Decision{}, "", recipient{}, internalError("feedback.decide", err)
		}
	}
	var d Decision
	var token string
	var rc recipient
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		token, rc = "", recipient{}
		st := ContactState{Now: tx.Now, SurveyID: inv.SurveyID, Channel: inv.Channel, OpenComplaint: complaint}
		var status, def string
		if err := tx.QueryRowContext(ctx, `SELECT s.status, s.name, COALESCE(v.definition, s.draft) FROM surveys s
			LEFT JOIN survey_versions v ON v.survey_id = s.id AND v.version = s.current_version WHERE s.id = $1`, inv.SurveyID).
			Scan(&status, &rc.surveyName, &def); err != nil {
			return err
		}
		st.SurveyLive = status == StatusLive
		rules, err := rulesFor(ctx, tx, inv.SurveyID)
		if err != nil {
			return err
		}
		if inv.CustomerID != nil {
			root, err := rootCustomer(ctx, tx, *inv.CustomerID)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			if err == nil {
				st.CustomerFound, st.CustomerID = true, root
				if err := s.loadContact(ctx, tx, &st, &rc, rules); err != nil {
					return err
				}
			}
		}
		if inv.Channel == ChannelLink {
			// Nothing is delivered at a time of day: quiet hours do not apply.
			rules.QuietStart, rules.QuietEnd = "", ""
		}
		d = Decide(rules, st)
		switch {
		case d.Skip != "":
			_, err = tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1, skip_reason = $2 WHERE id = $3`,
				InvitationSkipped, d.Skip, id)
		case !d.DeferUntil.IsZero():
			_, err = tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1, scheduled_at = $2 WHERE id = $3`,
				InvitationScheduled, d.DeferUntil.UnixMilli(), id)
		default:
			var h string
			token, h = NewToken()
			_, err = tx.ExecContext(ctx, `UPDATE survey_invitations SET token_hash = $1, expires_at = $2, customer_id = $3,
				claimed_at = $4 WHERE id = $5`, h, tx.NowMS()+s.opts.InvitationTTL.Milliseconds(), st.CustomerID, tx.NowMS(), id)
			var dd Definition
			if json.Unmarshal([]byte(def), &dd) == nil {
				rc.intro = dd.Intro.In(rc.locale)
			}
		}
		return err
	})
	if err != nil {
		return Decision{}, "", recipient{}, internalError("feedback.decide", err)
	}
	return d, token, rc, nil
}

// loadContact fills the customer's side of the state. It first upserts
// the customer's contact row: on Postgres that row lock serializes two
// decisions for the same customer (the second then sees the first's
// invitation); SQLite has one writer anyway.
func (s *Service) loadContact(ctx context.Context, tx *db.Tx, st *ContactState, rc *recipient, rules ContactRules) error {
	var unsub sql.NullInt64
	if err := tx.QueryRowContext(ctx, `INSERT INTO feedback_contacts (customer_id, touched_at) VALUES ($1, $2)
		ON CONFLICT (customer_id) DO UPDATE SET touched_at = excluded.touched_at RETURNING unsubscribed_at`,
		st.CustomerID, tx.NowMS()).Scan(&unsub); err != nil {
		return err
	}
	st.Unsubscribed = unsub.Valid
	var family, given string
	if err := tx.QueryRowContext(ctx, `SELECT email, time_zone, locale, family_name, given_name FROM customers WHERE id = $1`,
		st.CustomerID).Scan(&st.Email, &st.TimeZone, &rc.locale, &family, &given); err != nil {
		return err
	}
	rc.email = st.Email
	if rc.locale == "" {
		rc.locale = s.opts.DefaultLocale
	}
	rc.locale = NormalizeLocale(rc.locale)
	if rc.locale == "ja" {
		rc.name = strings.TrimSpace(family + " " + given)
	} else {
		rc.name = strings.TrimSpace(given + " " + family)
	}
	group := `SELECT id FROM customers WHERE id = $1 UNION ALL SELECT id FROM customers WHERE merged_into = $1`
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(COALESCE(sent_at, claimed_at)) FROM survey_invitations
		WHERE customer_id IN (`+group+`) AND status IN ($2, $3) AND token_hash IS NOT NULL`,
		st.CustomerID, InvitationSending, InvitationSent).Scan(&last); err != nil {
		return err
	}
	st.LastInvitedAt = nullTime(last)
	if rules.MaxPerPeriod > 0 {
		since := tx.NowMS() - int64(rules.PeriodDays)*24*int64(time.Hour/time.Millisecond)
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM survey_invitations
			WHERE customer_id IN (`+group+`) AND status IN ($2, $3) AND token_hash IS NOT NULL
			AND COALESCE(sent_at, claimed_at) > $4`,
			st.CustomerID, InvitationSending, InvitationSent, since).Scan(&st.InvitedInPeriod); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) markSent(ctx context.Context, id int64, messageID string) error {
	return internalErrorOrNil("feedback.markSent", s.db.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET status = $1, sent_at = $2, message_id = $3,
			attempts = attempts + 1, last_error = '' WHERE id = $4`, InvitationSent, tx.NowMS(), messageID, id)
		return err
	}))
}

func (s *Service) sendOne(ctx context.Context, id int64, rep *SendReport) error {
	d, token, rc, err := s.decide(ctx, id)
	if err != nil {
		return err
	}
	switch {
	case d.Skip != "":
		rep.Skipped++
		return nil
	case !d.DeferUntil.IsZero():
		rep.Deferred++
		return nil
	}
	msgID, sendErr := s.opts.Mailer.SendInvitation(ctx, mail.Invitation{To: rc.email, Locale: rc.locale, Name: rc.name,
		SurveyName: rc.surveyName, Intro: rc.intro, Link: s.Link(token), Unsubscribe: s.UnsubscribeLink(token)})
	if sendErr == nil {
		rep.Sent++
		return s.markSent(ctx, id, msgID)
	}
	s.log.Warn("survey invitation not sent", "invitation", id, "err", sendErr)
	rep.Failed++
	// Refused: retry later with a fresh token (the old one was never
	// delivered), up to maxSendAttempts.
	return internalErrorOrNil("feedback.sendOne", s.db.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET attempts = attempts + 1, last_error = $1, token_hash = NULL,
			expires_at = NULL, status = CASE WHEN attempts + 1 >= $2 THEN $3 ELSE $4 END, scheduled_at = $5 WHERE id = $6`,
			truncate(sendErr.Error(), 500), maxSendAttempts, InvitationFailed, InvitationScheduled,
			tx.NowMS()+(5*time.Minute).Milliseconds(), id)
		return err
	}))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// sendReminders sends the one reminder to email invitations sent at least
// ReminderDelay ago that nobody answered (no response started), while the
// survey is live, the link valid and the customer subscribed. reminded_at
// is set by a conditional UPDATE before sending: at most one reminder
// ever, even if that send fails. A reminder inside quiet hours waits for
// the next run.
func (s *Service) sendReminders(ctx context.Context, rep *SendReport) error {
	if s.opts.ReminderDelay < 0 {
		return nil
	}
	now := s.db.Now()
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT i.id, i.survey_id, i.customer_id, i.message_id FROM survey_invitations i
		JOIN surveys s ON s.id = i.survey_id
		WHERE i.status = $1 AND i.channel = $2 AND i.reminded_at IS NULL AND i.responded_at IS NULL AND i.sent_at <= $3
		AND (i.expires_at IS NULL OR i.expires_at > $4) AND s.status = $5 AND i.customer_id IS NOT NULL
		AND NOT EXISTS (SELECT 1 FROM survey_responses r WHERE r.invitation_id = i.id)
		ORDER BY i.sent_at LIMIT $6`, InvitationSent, ChannelEmail, now.Add(-s.opts.ReminderDelay).UnixMilli(), now.UnixMilli(),
		StatusLive, s.opts.SendBatch)
	if err != nil {
		return internalError("feedback.sendReminders", err)
	}
	type due struct {
		id, survey, customer int64
		msgID                string
	}
	var list []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.survey, &d.customer, &d.msgID); err != nil {
			rows.Close()
			return internalError("feedback.sendReminders", err)
		}
		list = append(list, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return internalError("feedback.sendReminders", err)
	}
	for _, d := range list {
		var token string
		var rc recipient
		var send bool
		err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			token, send = "", false
			rules, err := rulesFor(ctx, tx, d.survey)
			if err != nil {
				return err
			}
			root, err := rootCustomer(ctx, tx, d.customer)
			if err != nil {
				return err
			}
			st := ContactState{Now: tx.Now, SurveyID: d.survey, CustomerID: root, Channel: ChannelEmail}
			if err := s.loadContact(ctx, tx, &st, &rc, rules); err != nil {
				return err
			}
			if st.Unsubscribed || st.Email == "" {
				return nil
			}
			if _, quiet := QuietUntil(rules, st.TimeZone, tx.Now); quiet {
				return nil
			}
			if err := tx.QueryRowContext(ctx, `SELECT name FROM surveys WHERE id = $1`, d.survey).Scan(&rc.surveyName); err != nil {
				return err
			}
			var h string
			token, h = NewToken()
			res, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET reminded_at = $1, reminder_token_hash = $2
				WHERE id = $3 AND reminded_at IS NULL AND responded_at IS NULL`, tx.NowMS(), h, d.id)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			send = n == 1
			return nil
		})
		if err != nil {
			return internalError("feedback.sendReminders", err)
		}
		if !send {
			continue
		}
		msgID, err := s.opts.Mailer.SendInvitation(ctx, mail.Invitation{To: rc.email, Locale: rc.locale, Name: rc.name,
			SurveyName: rc.surveyName, Link: s.Link(token), Unsubscribe: s.UnsubscribeLink(token), Reminder: true, InReplyTo: d.msgID})
		if err != nil {
			s.log.Warn("survey reminder not sent", "invitation", d.id, "err", err)
			continue
		}
		rep.Reminded++
		if err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
			_, err := tx.ExecContext(ctx, `UPDATE survey_invitations SET reminder_message_id = $1 WHERE id = $2`, msgID, d.id)
			return err
		}); err != nil {
			return internalError("feedback.sendReminders", err)
		}
	}
	return nil
}

// ---- jobs

// SendJob sends due invitations and reminders every minute on whichever
// node holds its lease.
func (s *Service) SendJob() jobs.Job {
	return jobs.Job{Name: "feedback.send", Every: time.Minute, Run: func(ctx context.Context) error {
		_, err := s.SendDue(ctx)
		return err
	}}
}

// AbandonJob closes partial responses untouched for 7 days, hourly.
func (s *Service) AbandonJob() jobs.Job {
	return jobs.Job{Name: "feedback.abandon", Every: time.Hour, Run: func(ctx context.Context) error {
		_, err := s.AbandonPartials(ctx)
		return err
	}}
}

// Jobs are every background job of the capability, for the runner.
func (s *Service) Jobs() []jobs.Job { return []jobs.Job{s.SendJob(), s.AbandonJob()} }

// ---- reporting

// DistributionReport counts a survey's invitations and responses, so the
// dashboard can show reach, why invitations were skipped, and abandoned
// and flagged responses apart from the ones the metrics count.
type DistributionReport struct {
	SurveyID int64 `json:"survey_id"`
	// Invitations by status (scheduled, sending, sent, skipped, failed).
	Invitations map[string]int `json:"invitations"`
	// Skipped invitations by reason (cooldown, sampled_out …).
	Skipped  map[string]int `json:"skipped"`
	Reminded int            `json:"reminded"`
	// Responded: invitations whose response was completed.
	Responded int `json:"responded"`
	// Responses by status (partial, completed, abandoned).
	Responses map[string]int `json:"responses"`
	// Flagged completed responses (kept, left out of metrics by default).
	Flagged int `json:"flagged"`
}

// Report returns the survey's distribution report. Errors: ENOTFOUND.
// [surveys.read]
func (s *Service) Report(ctx context.Context, surveyID int64) (*DistributionReport, error) {
	if err := auth.Require(ctx, auth.PermSurveysRead); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	var one int
	if err := q.QueryRowContext(ctx, `SELECT 1 FROM surveys WHERE id = $1`, surveyID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return nil, notFound(surveyID)
	}
	rep := &DistributionReport{SurveyID: surveyID, Invitations: map[string]int{}, Skipped: map[string]int{}, Responses: map[string]int{}}
	count := func(query string, into func(k string, n int)) error {
		rows, err := q.QueryContext(ctx, query, surveyID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k string
			var n int
			if err := rows.Scan(&k, &n); err != nil {
				return err
			}
			into(k, n)
		}
		return rows.Err()
	}
	err := errors.Join(
		count(`SELECT status, COUNT(*) FROM survey_invitations WHERE survey_id = $1 GROUP BY status`,
			func(k string, n int) { rep.Invitations[k] = n }),
		count(`SELECT skip_reason, COUNT(*) FROM survey_invitations WHERE survey_id = $1 AND status = 'skipped' GROUP BY skip_reason`,
			func(k string, n int) { rep.Skipped[k] = n }),
		count(`SELECT 'reminded', COUNT(*) FROM survey_invitations WHERE survey_id = $1 AND reminded_at IS NOT NULL`,
			func(_ string, n int) { rep.Reminded = n }),
		count(`SELECT 'responded', COUNT(*) FROM survey_invitations WHERE survey_id = $1 AND responded_at IS NOT NULL`,
			func(_ string, n int) { rep.Responded = n }),
		count(`SELECT status, COUNT(*) FROM survey_responses WHERE survey_id = $1 GROUP BY status`,
			func(k string, n int) { rep.Responses[k] = n }),
		count(`SELECT 'flagged', COUNT(*) FROM survey_responses WHERE survey_id = $1 AND status = 'completed' AND flags <> ''`,
			func(_ string, n int) { rep.Flagged = n }),
	)
	if err != nil {
		return nil, internalError("feedback.Report", err)
	}
	return rep, nil
}
