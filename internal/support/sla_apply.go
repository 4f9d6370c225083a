package support

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/calendar"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

// PolicyConfig is the stored SLA policy: targets by priority and category
// (category is a category slug, or "complaint" for complaints) and the
// business calendar they are measured on.
type PolicyConfig struct {
	Policy   sla.Policy      `json:"policy"`
	Calendar calendar.Config `json:"calendar"`
}

func biz(m sla.Metric, minutes int) sla.Target {
	return sla.Target{Metric: m, Minutes: minutes, Measure: sla.BusinessTime}
}

// DefaultPolicy is used until a manager saves one: on the Japanese office
// calendar (Mon–Fri 9:00–18:00 JST, public holidays closed), first
// response in 4 business hours, next response in 8, resolution in 3
// business days; high 2 h / 2 days; urgent 1 h and 8 calendar hours;
// complaints 1 h / 2 days, urgent complaints 30 calendar minutes. The
// clocks stop while pending and on-hold; warnings at 75 %.
func DefaultPolicy() PolicyConfig {
	return PolicyConfig{Calendar: calendar.DefaultConfig(), Policy: sla.Policy{
		Name: "標準 / Standard", PauseOnHold: true, Warning: sla.Warning{Percent: 75},
		Rules: []sla.Rule{
			{Targets: []sla.Target{biz(sla.FirstResponse, 240), biz(sla.NextResponse, 480), biz(sla.Resolution, 1620)}},
			{Priority: "high", Targets: []sla.Target{biz(sla.FirstResponse, 120), biz(sla.Resolution, 1080)}},
			{Priority: "urgent", Targets: []sla.Target{biz(sla.FirstResponse, 60),
				{Metric: sla.Resolution, Minutes: 480, Measure: sla.CalendarTime}}},
			{Category: ComplaintCategory, Targets: []sla.Target{biz(sla.FirstResponse, 60), biz(sla.Resolution, 1080)}},
			{Priority: "urgent", Category: ComplaintCategory, Targets: []sla.Target{
				{Metric: sla.FirstResponse, Minutes: 30, Measure: sla.CalendarTime}}},
		},
	}}
}

// compile validates pc and returns the policy ready for sla.Evaluate;
// field names in errors are prefixed with "policy." or "calendar.".
func (pc PolicyConfig) compile() (*sla.Policy, error) {
	prefix := func(err error, p string) error {
		var ke *kizuna.Error
		if errors.As(err, &ke) && ke.Field != "" {
			ke.Field = p + ke.Field
		}
		return err
	}
	if err := pc.Policy.Validate(); err != nil {
		return nil, prefix(err, "policy.")
	}
	cal, err := calendar.New(pc.Calendar)
	if err != nil {
		return nil, prefix(err, "calendar.")
	}
	p := pc.Policy
	p.Calendar = cal
	return &p, nil
}

func (s *Service) policyConfig(ctx context.Context) (PolicyConfig, error) {
	var pol, cal string
	err := s.db.Reader().QueryRowContext(ctx, `SELECT policy, calendar FROM support_sla_policy WHERE name = 'default'`).Scan(&pol, &cal)
	if isNoRows(err) {
		return DefaultPolicy(), nil
	}
	if err != nil {
		return PolicyConfig{}, fmt.Errorf("sla policy: %w", err)
	}
	var pc PolicyConfig
	if err := json.Unmarshal([]byte(pol), &pc.Policy); err != nil {
		return pc, fmt.Errorf("sla policy: %w", err)
	}
	if err := json.Unmarshal([]byte(cal), &pc.Calendar); err != nil {
		return pc, fmt.Errorf("sla calendar: %w", err)
	}
	return pc, nil
}

func (s *Service) policy(ctx context.Context) (*sla.Policy, error) {
	pc, err := s.policyConfig(ctx)
	if err != nil {
		return nil, err
	}
	return pc.compile()
}

// Policy returns the SLA policy in force. [tickets.read]
func (s *Service) Policy(ctx context.Context) (*PolicyConfig, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	pc, err := s.policyConfig(ctx)
	return &pc, err
}

// SetPolicy validates and stores the SLA policy; it applies to every
// ticket from then on (clocks are recomputed, not stored).
// Errors: EINVALID (field named, under policy. or calendar.). [sla.manage]
func (s *Service) SetPolicy(ctx context.Context, pc PolicyConfig) (*PolicyConfig, error) {
	if err := require(ctx, auth.PermSLAManage); err != nil {
		return nil, err
	}
	if _, err := pc.compile(); err != nil {
		return nil, err
	}
	pol, _ := json.Marshal(pc.Policy)
	cal, _ := json.Marshal(pc.Calendar)
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO support_sla_policy (name, policy, calendar, updated_at) VALUES ('default', $1, $2, $3)
			ON CONFLICT (name) DO UPDATE SET policy = excluded.policy, calendar = excluded.calendar, updated_at = excluded.updated_at`,
			string(pol), string(cal), tx.NowMS())
		return err
	})
	if err != nil {
		return nil, err
	}
	return &pc, nil
}

// slaCategory is the category a ticket is measured under: "complaint"
// for complaints, else its category's slug.
func slaCategory(t *Ticket) string {
	if t.Complaint {
		return ComplaintCategory
	}
	return t.Category
}

// timelines loads the SLA timeline of each ticket: its status changes,
// agents' public replies and customers' messages.
func (s *Service) timelines(ctx context.Context, ts []*Ticket) (map[int64]*sla.Timeline, error) {
	out := map[int64]*sla.Timeline{}
	ids := make([]int64, len(ts))
	for i, t := range ts {
		ids[i] = t.ID
		out[t.ID] = &sla.Timeline{CreatedAt: t.CreatedAt, Priority: t.Priority, Category: slaCategory(t)}
	}
	if len(ts) == 0 {
		return out, nil
	}
	in, args := db.InInt(s.db.Dialect, 1, ids)
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, `SELECT ticket_id, at, 'status', status FROM support_status_changes WHERE ticket_id`+in+`
		UNION ALL SELECT ticket_id, created_at, CASE WHEN direction = 'in' THEN 'customer_reply' ELSE 'agent_reply' END, ''
		FROM support_messages WHERE ticket_id`+in+` AND public = 1 AND author_kind <> 'system'
		ORDER BY 2`), args...)
	if err != nil {
		return nil, fmt.Errorf("sla timelines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, at int64
		var kind, status string
		if err := rows.Scan(&id, &at, &kind, &status); err != nil {
			return nil, err
		}
		tl := out[id]
		tl.Events = append(tl.Events, sla.Event{At: msTime(at), Kind: sla.EventKind(kind), Status: sla.Status(status)})
	}
	return out, rows.Err()
}

// TicketSLA is a ticket's SLA state: each target's clock and the warnings
// and breaches recorded.
type TicketSLA struct {
	TicketID int64              `json:"ticket_id"`
	Category string             `json:"category"`
	Targets  []sla.TargetStatus `json:"targets"`
	Records  []SLARecord        `json:"records"`
}

// SLARecord is a recorded warning or breach.
type SLARecord struct {
	Metric     string    `json:"metric"`
	Cycle      int       `json:"cycle"`
	Kind       string    `json:"kind"` // warning or breach
	DueAt      time.Time `json:"due_at"`
	At         time.Time `json:"at"`
	RecordedAt time.Time `json:"recorded_at"`
}

// SLA returns ticket id's SLA state now. Errors: ENOTFOUND. [tickets.read]
func (s *Service) SLA(ctx context.Context, id int64) (*TicketSLA, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	t, err := s.ticket(ctx, s.db.Reader(), id)
	if err != nil {
		return nil, err
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	tls, err := s.timelines(ctx, []*Ticket{t})
	if err != nil {
		return nil, err
	}
	out := &TicketSLA{TicketID: id, Category: slaCategory(t), Targets: sla.Evaluate(p, *tls[id], s.db.Now()), Records: []SLARecord{}}
	if out.Targets == nil {
		out.Targets = []sla.TargetStatus{}
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT metric, cycle, kind, due_at, at, recorded_at FROM support_sla_events
		WHERE ticket_id = $1 ORDER BY at, id`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var r SLARecord
		var due, at, rec int64
		if err := rows.Scan(&r.Metric, &r.Cycle, &r.Kind, &due, &at, &rec); err != nil {
			return nil, err
		}
		r.DueAt, r.At, r.RecordedAt = msTime(due), msTime(at), msTime(rec)
		out.Records = append(out.Records, r)
	}
	return out, rows.Err()
}

// slaBatch is how many tickets one pass of CheckSLA reads at a time.
const slaBatch = 500

// CheckSLA evaluates every ticket whose clocks may still produce a warning
// or a breach and records each one once (a unique key makes a repeat a
// no-op, on every node). A ticket solved or closed with no clock running
// or paused leaves the scan until it is reopened. It runs as the job
// "support.sla" (Jobs). [sla.manage]
func (s *Service) CheckSLA(ctx context.Context) error {
	if err := require(ctx, auth.PermSLAManage); err != nil {
		return err
	}
	p, err := s.policy(ctx)
	if err != nil {
		return err
	}
	now := s.db.Now()
	var after int64
	for {
		rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+ticketCols+ticketFrom+` WHERE t.sla_open = 1 AND t.id > $1 ORDER BY t.id LIMIT $2`,
			after, slaBatch)
		if err != nil {
			return fmt.Errorf("sla scan: %w", err)
		}
		var ts []*Ticket
		for rows.Next() {
			t, err := scanTicket(rows)
			if err != nil {
				rows.Close()
				return err
			}
			ts = append(ts, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ts) == 0 {
			return nil
		}
		after = ts[len(ts)-1].ID
		tls, err := s.timelines(ctx, ts)
		if err != nil {
			return err
		}
		err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
			for _, t := range ts {
				live := false
				for _, st := range sla.Evaluate(p, *tls[t.ID], now) {
					live = live || st.State != sla.Stopped
					for _, r := range []struct {
						kind string
						at   time.Time
					}{{"warning", st.WarnedAt}, {"breach", st.BreachedAt}} {
						if r.at.IsZero() {
							continue
						}
						if _, err := tx.ExecContext(ctx, `INSERT INTO support_sla_events (ticket_id, metric, cycle, kind, due_at, at, recorded_at)
							VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (ticket_id, metric, cycle, kind) DO NOTHING`,
							t.ID, string(st.Target.Metric), st.Cycle, r.kind, st.DueAt.UnixMilli(), r.at.UnixMilli(), tx.NowMS()); err != nil {
							return fmt.Errorf("sla record of ticket %d: %w", t.ID, err)
						}
					}
				}
				if !live && (t.Status == StatusSolved || t.Status == StatusClosed) {
					// updated_at guards against a reopen since the read.
					if _, err := tx.ExecContext(ctx, `UPDATE support_tickets SET sla_open = 0 WHERE id = $1 AND updated_at = $2`,
						t.ID, t.UpdatedAt.UnixMilli()); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(ts) < slaBatch {
			return nil
		}
	}
}
