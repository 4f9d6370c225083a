package support

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/feedback"
	"github.com/kizuna-oss/kizuna/internal/jobs"
)

// CSATSurveySlug is the built-in CSAT survey the desk sends after a solve.
// The CSAT job creates and publishes it on first use; closing it in the
// survey editor stops CSAT surveys, editing it changes what they ask.
const CSATSurveySlug = "support-csat"

// Statuses of a ticket's CSAT record (support_csat).
const (
	CSATClaimed   = "claimed"   // a job run is inviting
	CSATInvited   = "invited"   // handed to the survey engine
	CSATSkipped   = "skipped"   // not sent; SkipReason says why
	CSATCancelled = "cancelled" // the ticket reopened before the survey went out
)

// Reasons a ticket's CSAT survey was skipped by the desk (the survey
// engine's contact rules record their own reasons on the invitation).
const (
	CSATSkipPending = "survey_pending" // another survey was pending for the customer
)

// CSATOptions configure CSAT after resolution.
type CSATOptions struct {
	// Delay after the solve before the survey is sent (default 24h).
	Delay time.Duration
	// MaxAge: tickets solved longer ago than Delay+MaxAge are never
	// surveyed (the feature switched on late, an import of history;
	// default 7 days).
	MaxAge time.Duration
	// Batch bounds the tickets one run invites (default 200).
	Batch int
	// Lease a run holds a claimed ticket before another may retry it
	// (default 10 minutes).
	Lease time.Duration
	Log   *slog.Logger
}

// CSATSender sends the CSAT survey after resolution through the survey
// engine: one per ticket, a configurable time after the solve, not while
// another survey is pending for the customer; the engine's contact rules
// (cooldown, limits, quiet hours, open complaint, unsubscribe) then decide
// whether and when it goes out. The answer is tied to the ticket, the
// agent and the team by Service.OnSurveyComplete.
type CSATSender struct {
	desk    *Service
	surveys *feedback.Service
	opts    CSATOptions
}

// NewCSATSender returns the sender; its Job must run (cmd wires it), and
// the survey service must have desk.OnSurveyComplete among its OnComplete
// hooks.
func NewCSATSender(desk *Service, surveys *feedback.Service, o CSATOptions) *CSATSender {
	if o.Delay <= 0 {
		o.Delay = 24 * time.Hour
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 7 * 24 * time.Hour
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	if o.Lease <= 0 {
		o.Lease = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return &CSATSender{desk: desk, surveys: surveys, opts: o}
}

// Job runs the sender every minute on one node (job lease).
func (c *CSATSender) Job() jobs.Job {
	return jobs.Job{Name: "support.csat", Every: time.Minute, Run: func(ctx context.Context) error {
		_, err := c.Run(ctx)
		return err
	}}
}

// CSATRun counts what one run did.
type CSATRun struct {
	Invited int `json:"invited"`
	Skipped int `json:"skipped"`
}

// Survey returns the id of the built-in CSAT survey (see csatSurvey).
func (c *CSATSender) Survey(ctx context.Context) (int64, error) { return c.csatSurvey(ctx) }

// csatSurvey returns the id of the built-in CSAT survey, creating and
// publishing it on first use; 0 when it exists but is not live (someone
// closed it: CSAT is off).
func (c *CSATSender) csatSurvey(ctx context.Context) (int64, error) {
	sv, err := c.surveys.GetBySlug(ctx, CSATSurveySlug)
	if kizuna.ErrorCode(err) == kizuna.ENOTFOUND {
		sv, err = c.surveys.CreateSurvey(ctx, CSATSurveyInput())
		if kizuna.ErrorCode(err) == kizuna.ECONFLICT { // another node was first
			sv, err = c.surveys.GetBySlug(ctx, CSATSurveySlug)
		} else if err == nil {
			if err := c.surveys.SetContactRules(ctx, sv.ID, CSATContactRules()); err != nil {
				return 0, err
			}
			sv, err = c.surveys.Publish(ctx, sv.ID)
		}
	}
	if err != nil {
		return 0, err
	}
	if sv.Status != feedback.StatusLive {
		return 0, nil
	}
	return sv.ID, nil
}

// CSATSurveyInput is the built-in CSAT survey: a 1–5 satisfaction question
// and an optional comment, in Japanese and English, touchpoint support.
func CSATSurveyInput() feedback.SurveyInput {
	return feedback.SurveyInput{
		Slug: CSATSurveySlug, Name: "Support CSAT / サポート満足度", Touchpoint: "support", JourneyStage: "support",
		Definition: feedback.Definition{
			Title: feedback.Text{JA: "サポートについてのアンケート", EN: "How did we do?"},
			Intro: feedback.Text{JA: "先日のお問い合わせへの対応について、ご感想をお聞かせください。",
				EN: "Please tell us how we handled your recent request."},
			ThankYou: feedback.Text{JA: "ご回答ありがとうございました。", EN: "Thank you for your feedback."},
			Pages: []feedback.Page{{Key: "csat", Questions: []feedback.Question{
				{Key: "csat", Type: feedback.QCSAT, Required: true,
					Text: feedback.Text{JA: "今回のサポートの対応にどの程度満足されましたか？", EN: "How satisfied are you with the support you received?"}},
				{Key: "comment", Type: feedback.QText,
					Text: feedback.Text{JA: "よろしければ、理由をお聞かせください。", EN: "What is the main reason for your rating? (optional)"}},
			}}},
		},
	}
}

// CSATContactRules are the built-in survey's own contact rules: the
// engine's defaults with a 7-day cooldown instead of 30 (a customer who
// wrote in twice in a month may rate both) and up to 6 invitations per
// 90 days. Managers change them in the survey's distribution settings.
func CSATContactRules() feedback.ContactRules {
	r := feedback.DefaultContactRules()
	r.CooldownDays, r.MaxPerPeriod = 7, 6
	return r
}

// due is a solved ticket whose survey is due.
type due struct {
	id, solvedAt, customerID int64
}

// Run invites the customers of tickets solved at least Delay ago (up to
// Batch of them). It runs as its caller (the job runner's system
// principal), which needs surveys.write.
func (c *CSATSender) Run(ctx context.Context) (CSATRun, error) {
	var run CSATRun
	surveyID, err := c.csatSurvey(ctx)
	if err != nil || surveyID == 0 {
		return run, err
	}
	d := c.desk.db
	now := d.Now()
	dueBefore := now.Add(-c.opts.Delay).UnixMilli()
	rows, err := d.Reader().QueryContext(ctx, `SELECT t.id, t.solved_at, t.customer_id FROM support_tickets t
		WHERE t.solved_at IS NOT NULL AND t.solved_at <= $1 AND t.solved_at > $2 AND t.status IN ('solved', 'closed')
		AND t.merged_into IS NULL
		AND NOT EXISTS (SELECT 1 FROM support_csat s WHERE s.ticket_id = t.id
			AND NOT (s.status = 'cancelled' AND s.solved_at < t.solved_at)
			AND NOT (s.status = 'claimed' AND s.lease_until < $3))
		ORDER BY t.solved_at, t.id LIMIT $4`,
		dueBefore, dueBefore-c.opts.MaxAge.Milliseconds(), now.UnixMilli(), c.opts.Batch)
	if err != nil {
		return run, fmt.Errorf("csat: due tickets: %w", err)
	}
	var todo []due
	for rows.Next() {
		var t due
		if err := rows.Scan(&t.id, &t.solvedAt, &t.customerID); err != nil {
			rows.Close()
			return run, err
		}
		todo = append(todo, t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return run, err
	}
	for _, t := range todo {
		inv, skipped, err := c.one(ctx, surveyID, t, feedback.ChannelEmail)
		if err != nil {
			return run, err
		}
		if inv != nil {
			run.Invited++
		}
		if skipped {
			run.Skipped++
		}
	}
	return run, nil
}

// InviteTicket surveys ticket id now, whatever the delay, under every
// other rule of Run (solved, one per ticket, none while another survey is
// pending): channel email schedules the mail, channel link returns the
// personal link at once (the demo answers it). It returns nil when the
// ticket was not surveyed (skipped, not solved, surveyed already, or CSAT
// is off). Errors: ENOTFOUND (ticket); those of feedback.Invite.
func (c *CSATSender) InviteTicket(ctx context.Context, id int64, channel string) (*feedback.IssuedInvitation, error) {
	surveyID, err := c.csatSurvey(ctx)
	if err != nil || surveyID == 0 {
		return nil, err
	}
	var t due
	var solved sql.NullInt64
	err = c.desk.db.Reader().QueryRowContext(ctx, `SELECT id, solved_at, customer_id FROM support_tickets WHERE id = $1`, id).
		Scan(&t.id, &solved, &t.customerID)
	if isNoRows(err) {
		return nil, notFound("ticket", id)
	}
	if err != nil || !solved.Valid {
		return nil, err
	}
	t.solvedAt = solved.Int64
	inv, _, err := c.one(ctx, surveyID, t, channel)
	return inv, err
}

// one claims ticket t, invites its customer and records the invitation.
// It returns the invitation made (nil if none) and whether the survey was
// skipped.
func (c *CSATSender) one(ctx context.Context, surveyID int64, t due, channel string) (*feedback.IssuedInvitation, bool, error) {
	d := c.desk.db
	var outcome string // "", CSATClaimed or CSATSkipped
	err := d.WriteTx(ctx, func(tx *db.Tx) error {
		outcome = ""
		now := tx.NowMS()
		var status string
		var solved sql.NullInt64
		var assignee sql.NullInt64
		var team string
		err := tx.QueryRowContext(ctx, `SELECT status, solved_at, assignee_id, team FROM support_tickets WHERE id = $1`, t.id).
			Scan(&status, &solved, &assignee, &team)
		if err != nil {
			return err
		}
		if (status != StatusSolved && status != StatusClosed) || solved.Int64 != t.solvedAt {
			return nil // reopened or solved again meanwhile: a later run decides
		}
		agent := assignee
		if !agent.Valid {
			// Unassigned: the agent who last replied to the customer.
			err := tx.QueryRowContext(ctx, `SELECT author_user_id FROM support_messages WHERE ticket_id = $1 AND author_kind = 'agent'
				AND public = 1 AND author_user_id IS NOT NULL ORDER BY id DESC LIMIT 1`, t.id).Scan(&agent)
			if err != nil && !isNoRows(err) {
				return err
			}
		}
		var agentArg any
		if agent.Valid {
			agentArg = agent.Int64
		}
		pending, err := feedback.HasPendingInvitationTx(ctx, tx, t.customerID)
		if err != nil {
			return err
		}
		st, reason, lease := CSATClaimed, "", any(now+c.opts.Lease.Milliseconds())
		if pending {
			st, reason, lease = CSATSkipped, CSATSkipPending, nil
		}
		var got int64
		err = tx.QueryRowContext(ctx, `INSERT INTO support_csat (ticket_id, solved_at, customer_id, agent_id, team, status, skip_reason,
			lease_until, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
			ON CONFLICT (ticket_id) DO UPDATE SET solved_at = excluded.solved_at, customer_id = excluded.customer_id,
				agent_id = excluded.agent_id, team = excluded.team, status = excluded.status, skip_reason = excluded.skip_reason,
				lease_until = excluded.lease_until, invitation_id = NULL, updated_at = excluded.updated_at
			WHERE (support_csat.status = 'cancelled' AND support_csat.solved_at < excluded.solved_at)
				OR (support_csat.status = 'claimed' AND support_csat.lease_until < excluded.updated_at)
			RETURNING ticket_id`, t.id, t.solvedAt, t.customerID, agentArg, team, st, reason, lease, now).Scan(&got)
		if isNoRows(err) {
			return nil // another run holds it
		}
		if err != nil {
			return err
		}
		outcome = st
		return nil
	})
	if err != nil || outcome != CSATClaimed {
		return nil, outcome == CSATSkipped, err
	}
	invs, err := c.surveys.Invite(ctx, feedback.InviteInput{SurveyID: surveyID, CustomerIDs: []int64{t.customerID}, Channel: channel})
	if err != nil {
		// The claim's lease runs out and a later run retries.
		return nil, false, fmt.Errorf("csat: invite for ticket %d: %w", t.id, err)
	}
	inv := invs[0].ID
	err = d.WriteTx(ctx, func(tx *db.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE support_csat SET status = 'invited', invitation_id = $1, lease_until = NULL, updated_at = $2
			WHERE ticket_id = $3 AND status = 'claimed'`, inv, tx.NowMS(), t.id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// The ticket reopened while we invited: withdraw it.
			_, err = feedback.CancelScheduledTx(ctx, tx, inv, fmt.Sprintf("ticket %d reopened", t.id))
		}
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("csat: record invitation for ticket %d: %w", t.id, err)
	}
	c.opts.Log.Debug("csat invited", "ticket", t.id, "invitation", inv)
	return &invs[0], false, nil
}

// cancelCSATIfReopened withdraws the CSAT survey of ticket id when the
// ticket is no longer solved (an agent or the customer reopened it) and
// the survey has not gone out yet: a claim in progress or an invitation
// the engine still holds (scheduled, or deferred by quiet hours).
func cancelCSATIfReopened(ctx context.Context, tx *db.Tx, id int64) error {
	var status, csat string
	var inv sql.NullInt64
	err := tx.QueryRowContext(ctx, `SELECT t.status, s.status, s.invitation_id FROM support_csat s
		JOIN support_tickets t ON t.id = s.ticket_id WHERE s.ticket_id = $1`, id).Scan(&status, &csat, &inv)
	if isNoRows(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("csat of ticket %d: %w", id, err)
	}
	if status == StatusSolved || status == StatusClosed || (csat != CSATClaimed && csat != CSATInvited) {
		return nil
	}
	if csat == CSATInvited {
		withdrawn, err := feedback.CancelScheduledTx(ctx, tx, inv.Int64, fmt.Sprintf("ticket %d reopened", id))
		if err != nil || !withdrawn {
			return err // already sent: the survey stands
		}
	}
	_, err = tx.ExecContext(ctx, `UPDATE support_csat SET status = 'cancelled', lease_until = NULL, updated_at = $1 WHERE ticket_id = $2`,
		tx.NowMS(), id)
	return err
}

// OnSurveyComplete is a feedback.CompleteHook: a completed response to a
// CSAT invitation is tied to its ticket, agent and team (the score, and
// whether the engine flagged the response). Responses to other
// invitations pass through untouched.
func (s *Service) OnSurveyComplete(ctx context.Context, tx *db.Tx, r *feedback.Response) error {
	if r.InvitationID == nil {
		return nil
	}
	var score any
	if r.CSATScore != nil {
		score = *r.CSATScore
	}
	completed := tx.NowMS()
	if r.CompletedAt != nil {
		completed = r.CompletedAt.UnixMilli()
	}
	_, err := tx.ExecContext(ctx, `UPDATE support_csat SET response_id = $1, score = $2, flagged = $3, responded_at = $4, updated_at = $5
		WHERE invitation_id = $6`, r.ID, score, boolInt(len(r.Flags) > 0), completed, tx.NowMS(), *r.InvitationID)
	if err != nil {
		return fmt.Errorf("csat response %d: %w", r.ID, err)
	}
	return nil
}

// CSATRecord is a ticket's CSAT survey as the desk sees it.
type CSATRecord struct {
	TicketID     int64      `json:"ticket_id"`
	Status       string     `json:"status"`
	SkipReason   string     `json:"skip_reason,omitempty"`
	AgentID      *int64     `json:"agent_id"`
	Team         string     `json:"team"`
	InvitationID *int64     `json:"invitation_id"`
	ResponseID   *int64     `json:"response_id"`
	Score        *int       `json:"score"`
	Flagged      bool       `json:"flagged"`
	RespondedAt  *time.Time `json:"responded_at"`
}

// CSAT returns ticket id's CSAT survey record. Errors: ENOTFOUND (no
// survey for the ticket). [tickets.read]
func (s *Service) CSAT(ctx context.Context, id int64) (*CSATRecord, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	var r CSATRecord
	var agent, inv, resp, score, responded sql.NullInt64
	var flagged int
	err := s.db.Reader().QueryRowContext(ctx, `SELECT ticket_id, status, skip_reason, agent_id, team, invitation_id, response_id,
		score, flagged, responded_at FROM support_csat WHERE ticket_id = $1`, id).
		Scan(&r.TicketID, &r.Status, &r.SkipReason, &agent, &r.Team, &inv, &resp, &score, &flagged, &responded)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("no CSAT survey for ticket %d", id)}
	}
	if err != nil {
		return nil, fmt.Errorf("csat of ticket %d: %w", id, err)
	}
	r.AgentID, r.InvitationID, r.ResponseID = idPtr(agent), idPtr(inv), idPtr(resp)
	if score.Valid {
		v := int(score.Int64)
		r.Score = &v
	}
	r.Flagged = flagged != 0
	r.RespondedAt = msPtr(responded)
	return &r, nil
}
