package support

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

// This file holds the reads behind the agents' HTML desk: the queue with
// its filters, sorts and SLA badges, the "breaching soon" view, the people
// a ticket can be assigned to, a problem's incidents and an attachment
// checked against its ticket.

// Queue sorts.
const (
	SortNewest   = "newest"
	SortOldest   = "oldest"
	SortUpdated  = "updated"  // most recently changed first
	SortPriority = "priority" // urgent first, newest first within a priority
)

// QueueSorts lists the sorts Queue accepts.
var QueueSorts = []string{SortNewest, SortOldest, SortUpdated, SortPriority}

// QueueFilter selects and orders tickets for the agents' queue.
type QueueFilter struct {
	Status     string // a status, or "unsolved"
	AssigneeID int64
	Unassigned bool // only tickets nobody is assigned to (wins over AssigneeID)
	Team       string
	CategoryID int64
	Complaint  bool
	Channel    string
	Tag        string
	CustomerID int64  // the canonical customer (merged profiles included)
	Sort       string // one of QueueSorts; default newest
	Limit      int    // 1–200, default 50
	Cursor     string
}

// QueueItem is a ticket in the queue with its SLA badge.
type QueueItem struct {
	Ticket
	SLA *Badge `json:"sla,omitempty"`
}

// Badge is the SLA state that matters most for a ticket now: the earliest
// due target whose clock still runs (or is paused), else the last breach.
// Nil when the policy sets no target for the ticket or every clock stopped
// within target.
type Badge struct {
	Metric    sla.Metric    `json:"metric"`
	State     sla.State     `json:"state"`
	DueAt     time.Time     `json:"due_at"`
	Remaining time.Duration `json:"remaining"` // negative once breached
	Warned    bool          `json:"warned"`
	Breached  bool          `json:"breached"`
}

// badge picks the target to show from a ticket's clocks.
func badge(ts []sla.TargetStatus) *Badge {
	var best *Badge
	for _, t := range ts {
		if t.State == sla.Stopped && !t.Breached() {
			continue
		}
		if t.State == sla.Stopped { // a stopped breach shows only if nothing runs
			if best == nil {
				best = &Badge{Metric: t.Target.Metric, State: t.State, DueAt: t.DueAt, Remaining: t.Remaining, Warned: true, Breached: true}
			}
			continue
		}
		b := &Badge{Metric: t.Target.Metric, State: t.State, DueAt: t.DueAt, Remaining: t.Remaining, Warned: t.Warned(), Breached: t.Breached()}
		if best == nil || best.State == sla.Stopped || b.Remaining < best.Remaining {
			best = b
		}
	}
	return best
}

// badges evaluates the SLA clocks of ts now.
func (s *Service) badges(ctx context.Context, ts []Ticket) (map[int64]*Badge, error) {
	out := map[int64]*Badge{}
	if len(ts) == 0 {
		return out, nil
	}
	p, err := s.policy(ctx)
	if err != nil {
		return nil, err
	}
	ptrs := make([]*Ticket, len(ts))
	for i := range ts {
		ptrs[i] = &ts[i]
	}
	tls, err := s.timelines(ctx, ptrs)
	if err != nil {
		return nil, err
	}
	now := s.db.Now()
	for _, t := range ts {
		out[t.ID] = badge(sla.Evaluate(p, *tls[t.ID], now))
	}
	return out, nil
}

var priorityRank = `CASE t.priority WHEN 'urgent' THEN 4 WHEN 'high' THEN 3 WHEN 'normal' THEN 2 ELSE 1 END`

// Queue lists tickets for agents with every filter of the desk, in the
// chosen order, each with its SLA badge. The cursor is opaque.
// Errors: EINVALID (status, channel, sort, limit, cursor), ENOTFOUND
// (customer). [tickets.read]
func (s *Service) Queue(ctx context.Context, f QueueFilter) (*Page[QueueItem], error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 200 {
		return nil, kizuna.FieldError("limit", "limit must be from 1 to 200")
	}
	if f.Sort == "" {
		f.Sort = SortNewest
	}
	if !slices.Contains(QueueSorts, f.Sort) {
		return nil, kizuna.FieldError("sort", "sort must be one of %s", strings.Join(QueueSorts, ", "))
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	switch {
	case f.Status == "unsolved":
		where = append(where, `t.status IN ('new', 'open', 'pending', 'on-hold')`)
	case f.Status != "":
		if !validStatus(f.Status) {
			return nil, kizuna.FieldError("status", "unknown status %q", f.Status)
		}
		where = append(where, `t.status = `+arg(f.Status))
	}
	switch {
	case f.Unassigned:
		where = append(where, `t.assignee_id IS NULL`)
	case f.AssigneeID != 0:
		where = append(where, `t.assignee_id = `+arg(f.AssigneeID))
	}
	if team := strings.TrimSpace(f.Team); team != "" {
		where = append(where, `t.team = `+arg(team))
	}
	if f.CategoryID != 0 {
		// A top-level category takes its children along.
		where = append(where, `(t.category_id = `+arg(f.CategoryID)+` OR g.parent_id = `+arg(f.CategoryID)+`)`)
	}
	if f.Complaint {
		where = append(where, `t.complaint = 1`)
	}
	if f.CustomerID != 0 {
		root, err := rootCustomer(ctx, s.db.Reader(), f.CustomerID)
		if err != nil {
			return nil, err
		}
		where = append(where, `t.customer_id IN (`+groupOf(arg(root))+`)`)
	}
	if f.Channel != "" {
		if !slices.Contains(Channels, f.Channel) {
			return nil, kizuna.FieldError("channel", "channel must be one of %s", strings.Join(Channels, ", "))
		}
		where = append(where, `t.channel = `+arg(f.Channel))
	}
	if tag := strings.ToLower(strings.TrimSpace(f.Tag)); tag != "" {
		where = append(where, `t.id IN (SELECT ticket_id FROM support_ticket_tags WHERE tag = `+arg(tag)+`)`)
	}
	// Keyset paging: the cursor is "<key>.<id>" of the last row shown,
	// where key is the sort column's value (absent for id sorts).
	var key, order string
	switch f.Sort {
	case SortNewest:
		order = `t.id DESC`
	case SortOldest:
		order = `t.id ASC`
	case SortUpdated:
		key, order = `t.updated_at`, `t.updated_at DESC, t.id DESC`
	case SortPriority:
		key, order = priorityRank, priorityRank+` DESC, t.id DESC`
	}
	if f.Cursor != "" {
		k, id, err := parseQueueCursor(f.Cursor, key != "")
		if err != nil {
			return nil, err
		}
		switch {
		case f.Sort == SortOldest:
			where = append(where, `t.id > `+arg(id))
		case key == "":
			where = append(where, `t.id < `+arg(id))
		default:
			kp := arg(k)
			where = append(where, `(`+key+` < `+kp+` OR (`+key+` = `+kp+` AND t.id < `+arg(id)+`))`)
		}
	}
	q := `SELECT ` + ticketCols
	if key != "" {
		q += `, ` + key
	} else {
		q += `, 0`
	}
	q += ticketFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY ` + order + ` LIMIT ` + arg(f.Limit+1)
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, q), args...)
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	defer rows.Close()
	var ts []Ticket
	var keys []int64
	next := ""
	for rows.Next() {
		var k int64
		t, err := scanTicket(keyScanner{rows, &k})
		if err != nil {
			return nil, fmt.Errorf("queue: %w", err)
		}
		if len(ts) == f.Limit {
			last := ts[len(ts)-1]
			next = strconv.FormatInt(last.ID, 10)
			if key != "" {
				next = strconv.FormatInt(keys[len(keys)-1], 10) + "." + next
			}
			break
		}
		ts = append(ts, *t)
		keys = append(keys, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}
	rows.Close()
	bs, err := s.badges(ctx, ts)
	if err != nil {
		return nil, err
	}
	page := &Page[QueueItem]{Items: make([]QueueItem, len(ts)), Next: next}
	for i, t := range ts {
		page.Items[i] = QueueItem{Ticket: t, SLA: bs[t.ID]}
	}
	return page, nil
}

// keyScanner appends the sort key to the ticket's columns.
type keyScanner struct {
	r   scanner
	key *int64
}

func (k keyScanner) Scan(dst ...any) error { return k.r.Scan(append(dst, k.key)...) }

func parseQueueCursor(c string, withKey bool) (key, id int64, err error) {
	bad := kizuna.FieldError("cursor", "malformed cursor")
	idPart := c
	if withKey {
		k, rest, ok := strings.Cut(c, ".")
		if !ok {
			return 0, 0, bad
		}
		if key, err = strconv.ParseInt(k, 10, 64); err != nil {
			return 0, 0, bad
		}
		idPart = rest
	}
	if id, err = strconv.ParseInt(idPart, 10, 64); err != nil || id <= 0 {
		return 0, 0, bad
	}
	return key, id, nil
}

// breachScanCap bounds how many unsolved tickets BreachingSoon evaluates:
// the clocks are computed in Go, not SQL, so the view looks at the oldest
// unsolved tickets first (they are the likeliest to breach).
const breachScanCap = 2000

// BreachingSoon lists unsolved tickets whose running SLA clock is due
// within the given time or already breached, the most urgent first, at
// most limit (1–200). It evaluates at most the 2,000 oldest unsolved
// tickets. Errors: EINVALID (limit). [tickets.read]
func (s *Service) BreachingSoon(ctx context.Context, within time.Duration, limit int) ([]QueueItem, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 200 {
		return nil, kizuna.FieldError("limit", "limit must be from 1 to 200")
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+ticketCols+ticketFrom+`
		WHERE t.status IN ('new', 'open', 'pending', 'on-hold') ORDER BY t.id LIMIT $1`, breachScanCap)
	if err != nil {
		return nil, fmt.Errorf("breaching soon: %w", err)
	}
	var ts []Ticket
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("breaching soon: %w", err)
		}
		ts = append(ts, *t)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	bs, err := s.badges(ctx, ts)
	if err != nil {
		return nil, err
	}
	out := []QueueItem{}
	for _, t := range ts {
		b := bs[t.ID]
		if b == nil || b.State != sla.Running || b.Remaining > within {
			continue
		}
		out = append(out, QueueItem{Ticket: t, SLA: b})
	}
	slices.SortStableFunc(out, func(a, b QueueItem) int { return cmp.Compare(a.SLA.Remaining, b.SLA.Remaining) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// Badge returns ticket id's SLA badge now (nil without a target to show).
// Errors: ENOTFOUND. [tickets.read]
func (s *Service) Badge(ctx context.Context, id int64) (*Badge, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	t, err := s.ticket(ctx, s.db.Reader(), id)
	if err != nil {
		return nil, err
	}
	bs, err := s.badges(ctx, []Ticket{*t})
	if err != nil {
		return nil, err
	}
	return bs[id], nil
}

// Agent is a user a ticket can be assigned to.
type Agent struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

// Agents lists the active users whose role may work tickets (agents,
// managers, admins), by name. [tickets.read]
func (s *Service) Agents(ctx context.Context) ([]Agent, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	var roles []string
	for _, r := range auth.Roles {
		if auth.RoleCan(r, auth.PermTicketsWrite) {
			roles = append(roles, string(r))
		}
	}
	in, args := db.InText(s.db.Dialect, 1, roles)
	rows, err := s.db.Reader().QueryContext(ctx, db.Rebind(s.db.Dialect, `SELECT id, name, email FROM users
		WHERE disabled_at IS NULL AND role`+in+` ORDER BY name, email`), args...)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		var a Agent
		if err := rows.Scan(&a.ID, &a.Name, &a.Email); err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Incidents lists the incident tickets linked to problem id, oldest first.
// Errors: ENOTFOUND. [tickets.read]
func (s *Service) Incidents(ctx context.Context, id int64) ([]Ticket, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	if _, err := s.ticket(ctx, s.db.Reader(), id); err != nil {
		return nil, err
	}
	rows, err := s.db.Reader().QueryContext(ctx, `SELECT `+ticketCols+ticketFrom+` WHERE t.problem_id = $1 ORDER BY t.id`, id)
	if err != nil {
		return nil, fmt.Errorf("incidents of %d: %w", id, err)
	}
	defer rows.Close()
	out := []Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *t)
	}
	return out, rows.Err()
}

// TicketAttachment returns attachment attID with its bytes if it belongs
// to ticket ticketID — a link cannot reach another ticket's file by
// changing one number. Errors: ENOTFOUND. [tickets.read]
func (s *Service) TicketAttachment(ctx context.Context, ticketID, attID int64) (*Attachment, error) {
	a, err := s.Attachment(ctx, attID)
	if err != nil {
		return nil, err
	}
	var owner int64
	if err := s.db.Reader().QueryRowContext(ctx, `SELECT ticket_id FROM support_attachments WHERE id = $1`, attID).Scan(&owner); err != nil {
		if isNoRows(err) {
			return nil, notFound("attachment", attID)
		}
		return nil, fmt.Errorf("attachment %d: %w", attID, err)
	}
	if owner != ticketID {
		return nil, notFound("attachment", attID)
	}
	return a, nil
}

// CanWrite reports whether the caller may work tickets: nil, or
// EFORBIDDEN / EUNAUTHORIZED. Pages use it before showing a form.
func (s *Service) CanWrite(ctx context.Context) error { return require(ctx, auth.PermTicketsWrite) }
