package support

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/support/sla"
)

// Statuses of a ticket (the same words as package sla).
const (
	StatusNew     = string(sla.New)
	StatusOpen    = string(sla.Open)
	StatusPending = string(sla.Pending)
	StatusOnHold  = string(sla.OnHold)
	StatusSolved  = string(sla.Solved)
	StatusClosed  = string(sla.Closed)
)

// transitions lists where each status may go.
var transitions = map[string][]string{
	StatusNew:     {StatusOpen, StatusPending, StatusOnHold, StatusSolved},
	StatusOpen:    {StatusPending, StatusOnHold, StatusSolved},
	StatusPending: {StatusOpen, StatusOnHold, StatusSolved},
	StatusOnHold:  {StatusOpen, StatusPending, StatusSolved},
	StatusSolved:  {StatusOpen, StatusClosed},
	StatusClosed:  {},
}

// CanTransition reports whether a ticket may move from status from to to.
func CanTransition(from, to string) bool { return slices.Contains(transitions[from], to) }

func validStatus(s string) bool { _, ok := transitions[s]; return ok }

// Channels a ticket arrives through.
var Channels = []string{"email", "web", "portal", "phone", "api"}

// Priorities from lowest to highest.
var Priorities = []string{"low", "normal", "high", "urgent"}

// Kinds of ticket.
const (
	KindTicket  = "ticket"
	KindProblem = "problem"
)

// ComplaintCategory is the SLA category a complaint is measured under.
const ComplaintCategory = "complaint"

// Ticket is one support request.
type Ticket struct {
	ID      int64  `json:"id"`
	Subject string `json:"subject"`
	// CustomerID is the canonical customer (merges followed).
	CustomerID      int64      `json:"customer_id"`
	Channel         string     `json:"channel"`
	Status          string     `json:"status"`
	Priority        string     `json:"priority"`
	Kind            string     `json:"kind"`
	CategoryID      *int64     `json:"category_id"`
	Category        string     `json:"category"` // slug, "" for none
	Complaint       bool       `json:"complaint"`
	ProblemID       *int64     `json:"problem_id"`
	MergedInto      *int64     `json:"merged_into"`
	AssigneeID      *int64     `json:"assignee_id"`
	Team            string     `json:"team"`
	Tags            []string   `json:"tags"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	FirstResponseAt *time.Time `json:"first_response_at"`
	SolvedAt        *time.Time `json:"solved_at"`
	ClosedAt        *time.Time `json:"closed_at"`
}

// Requester says who wrote in; the identity rules (customer.ResolveTx)
// find the customer, or create one for an unknown sender.
type Requester struct {
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	ExternalID string `json:"external_id,omitempty"`
	Name       string `json:"name,omitempty"`
}

// NewTicket opens a ticket with the customer's first message.
type NewTicket struct {
	Subject string `json:"subject"`
	Body    string `json:"body"`
	Channel string `json:"channel"`
	// Either CustomerID (a known customer) or Requester.
	CustomerID int64     `json:"customer_id,omitempty"`
	Requester  Requester `json:"requester"`
	Priority   string    `json:"priority,omitempty"` // default normal, high for complaints
	CategoryID int64     `json:"category_id,omitempty"`
	Complaint  bool      `json:"complaint,omitempty"`
	Kind       string    `json:"kind,omitempty"` // ticket (default) or problem
	Tags       []string  `json:"tags,omitempty"`
	AssigneeID int64     `json:"assignee_id,omitempty"`
	Team       string    `json:"team,omitempty"`
	// Email threading of the first message, for the mail channel.
	EmailMessageID string          `json:"email_message_id,omitempty"`
	InReplyTo      string          `json:"in_reply_to,omitempty"`
	References     string          `json:"references,omitempty"`
	Attachments    []NewAttachment `json:"attachments,omitempty"`
}

// Limits on stored text.
const (
	maxSubject = 500
	maxBody    = 100_000
	maxTags    = 20
	maxTag     = 50
	maxTeam    = 100
)

func checkText(field, v string, max int, required bool) error {
	if required && strings.TrimSpace(v) == "" {
		return kizuna.FieldError(field, "%s is required", field)
	}
	if !utf8.ValidString(v) {
		return kizuna.FieldError(field, "%s is not valid UTF-8", field)
	}
	if utf8.RuneCountInString(v) > max {
		return kizuna.FieldError(field, "%s is longer than %d characters", field, max)
	}
	return nil
}

// normTags trims, lower-cases, dedupes and sorts tags.
func normTags(in []string) ([]string, error) {
	out := []string{}
	for _, t := range in {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if err := checkText("tags", t, maxTag, false); err != nil {
			return nil, err
		}
		if strings.ContainsAny(t, " \t\r\n,") {
			return nil, kizuna.FieldError("tags", "a tag has no spaces or commas: %q", t)
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	if len(out) > maxTags {
		return nil, kizuna.FieldError("tags", "at most %d tags", maxTags)
	}
	slices.Sort(out)
	return out, nil
}

// CreateTicket opens a ticket: the requester is resolved to a customer
// (an unknown one becomes a new customer), the first message is stored as
// the customer's, and the SLA clocks start.
// Errors: EINVALID (field named), ENOTFOUND (customer, category,
// assignee). [tickets.write]
func (s *Service) CreateTicket(ctx context.Context, nt NewTicket) (*Ticket, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	nt.Subject = strings.TrimSpace(nt.Subject)
	if err := checkText("subject", nt.Subject, maxSubject, true); err != nil {
		return nil, err
	}
	if err := checkText("body", nt.Body, maxBody, true); err != nil {
		return nil, err
	}
	if !slices.Contains(Channels, nt.Channel) {
		return nil, kizuna.FieldError("channel", "channel must be one of %s", strings.Join(Channels, ", "))
	}
	if nt.Priority == "" {
		nt.Priority = "normal"
		if nt.Complaint {
			nt.Priority = "high"
		}
	}
	if !slices.Contains(Priorities, nt.Priority) {
		return nil, kizuna.FieldError("priority", "priority must be one of %s", strings.Join(Priorities, ", "))
	}
	if nt.Kind == "" {
		nt.Kind = KindTicket
	}
	if nt.Kind != KindTicket && nt.Kind != KindProblem {
		return nil, kizuna.FieldError("kind", "kind must be ticket or problem")
	}
	tags, err := normTags(nt.Tags)
	if err != nil {
		return nil, err
	}
	if err := checkText("team", nt.Team, maxTeam, false); err != nil {
		return nil, err
	}
	if err := checkText("requester.name", nt.Requester.Name, 200, false); err != nil {
		return nil, err
	}
	atts, err := checkAttachments(nt.Attachments)
	if err != nil {
		return nil, err
	}
	label, _ := actor(ctx)
	var id int64
	err = s.db.WriteTx(ctx, func(tx *db.Tx) error {
		now := tx.NowMS()
		custID := nt.CustomerID
		if custID != 0 {
			if _, err := rootCustomer(ctx, tx, custID); err != nil {
				return err
			}
		} else {
			r := customer.Resolve{Keys: customer.Keys{UserID: nt.Requester.ExternalID, Email: nt.Requester.Email, Phone: nt.Requester.Phone},
				Source: "support:" + nt.Channel}
			if r.Keys == (customer.Keys{}) {
				return kizuna.FieldError("requester", "a ticket needs a customer_id or a requester email, phone or external_id")
			}
			ids, err := s.customers.ResolveTx(ctx, tx, []customer.Resolve{r})
			if err != nil {
				return err
			}
			custID = ids[0]
		}
		var catID, assignee any
		if nt.CategoryID != 0 {
			if err := categoryUsable(ctx, tx, nt.CategoryID); err != nil {
				return err
			}
			catID = nt.CategoryID
		}
		if nt.AssigneeID != 0 {
			if err := userExists(ctx, tx, nt.AssigneeID); err != nil {
				return err
			}
			assignee = nt.AssigneeID
		}
		tagJSON, _ := json.Marshal(tags)
		if err := tx.QueryRowContext(ctx, `INSERT INTO support_tickets (subject, customer_id, channel, status, priority,
			category_id, complaint, kind, assignee_id, team, tags, created_at, updated_at)
			VALUES ($1, $2, $3, 'new', $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id`,
			nt.Subject, custID, nt.Channel, nt.Priority, catID, boolInt(nt.Complaint), nt.Kind, assignee, nt.Team,
			string(tagJSON), now).Scan(&id); err != nil {
			return fmt.Errorf("create ticket: %w", err)
		}
		if err := writeTags(ctx, tx, id, tags); err != nil {
			return err
		}
		if err := recordStatus(ctx, tx, id, StatusNew, now, label); err != nil {
			return err
		}
		if _, err := insertMessage(ctx, tx, message{ticketID: id, authorKind: AuthorCustomer, authorName: nt.Requester.Name,
			public: true, direction: DirectionIn, body: nt.Body, emailMessageID: nt.EmailMessageID,
			inReplyTo: nt.InReplyTo, references: nt.References, at: now}, atts); err != nil {
			return err
		}
		return afterTicketWrite(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.ticket(ctx, s.db.Reader(), id)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func userExists(ctx context.Context, tx *db.Tx, id int64) error {
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM users WHERE id = $1`, id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return &kizuna.Error{Code: kizuna.ENOTFOUND, Message: fmt.Sprintf("user %d not found", id), Field: "assignee_id"}
	}
	return nil
}

func writeTags(ctx context.Context, tx *db.Tx, id int64, tags []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM support_ticket_tags WHERE ticket_id = $1`, id); err != nil {
		return fmt.Errorf("tags of ticket %d: %w", id, err)
	}
	for _, t := range tags {
		if _, err := tx.ExecContext(ctx, `INSERT INTO support_ticket_tags (ticket_id, tag) VALUES ($1, $2)`, id, t); err != nil {
			return fmt.Errorf("tags of ticket %d: %w", id, err)
		}
	}
	return nil
}

func recordStatus(ctx context.Context, tx *db.Tx, id int64, status string, at int64, label string) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO support_status_changes (ticket_id, status, at, actor) VALUES ($1, $2, $3, $4)`,
		id, status, at, label); err != nil {
		return fmt.Errorf("status of ticket %d: %w", id, err)
	}
	return nil
}

// ticketCols are read by scanTicket; c is the customers row of the
// ticket's profile, g its category.
const ticketCols = `t.id, t.subject, COALESCE(c.merged_into, c.id), t.channel, t.status, t.priority, t.kind,
	t.category_id, COALESCE(g.slug, ''), t.complaint, t.problem_id, t.merged_into, t.assignee_id, t.team, t.tags,
	t.created_at, t.updated_at, t.first_response_at, t.solved_at, t.closed_at`

const ticketFrom = ` FROM support_tickets t JOIN customers c ON c.id = t.customer_id
	LEFT JOIN support_categories g ON g.id = t.category_id`

type scanner interface{ Scan(...any) error }

func scanTicket(r scanner) (*Ticket, error) {
	var t Ticket
	var cat, problem, merged, assignee, first, solved, closed sql.NullInt64
	var complaint int
	var tags string
	var created, updated int64
	if err := r.Scan(&t.ID, &t.Subject, &t.CustomerID, &t.Channel, &t.Status, &t.Priority, &t.Kind,
		&cat, &t.Category, &complaint, &problem, &merged, &assignee, &t.Team, &tags,
		&created, &updated, &first, &solved, &closed); err != nil {
		return nil, err
	}
	t.CategoryID, t.ProblemID, t.MergedInto, t.AssigneeID = idPtr(cat), idPtr(problem), idPtr(merged), idPtr(assignee)
	t.Complaint = complaint != 0
	t.CreatedAt, t.UpdatedAt = msTime(created), msTime(updated)
	t.FirstResponseAt, t.SolvedAt, t.ClosedAt = msPtr(first), msPtr(solved), msPtr(closed)
	if err := json.Unmarshal([]byte(tags), &t.Tags); err != nil || t.Tags == nil {
		t.Tags = []string{}
	}
	return &t, nil
}

type queryer interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

func (s *Service) ticket(ctx context.Context, q queryer, id int64) (*Ticket, error) {
	t, err := scanTicket(q.QueryRowContext(ctx, `SELECT `+ticketCols+ticketFrom+` WHERE t.id = $1`, id))
	if isNoRows(err) {
		return nil, notFound("ticket", id)
	}
	if err != nil {
		return nil, fmt.Errorf("ticket %d: %w", id, err)
	}
	return t, nil
}

// Ticket returns ticket id. Errors: ENOTFOUND. [tickets.read]
func (s *Service) Ticket(ctx context.Context, id int64) (*Ticket, error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	return s.ticket(ctx, s.db.Reader(), id)
}

// Filter selects tickets for the list.
type Filter struct {
	Status     string // a status, or "unsolved" (new, open, pending, on-hold)
	CustomerID int64  // the canonical customer (merged profiles included)
	AssigneeID int64
	CategoryID int64
	Complaint  bool
	Tag        string
	// Query is full-text search (search.go) over the subject, every
	// message (internal notes too) and the requester's name and email:
	// staff lists only, the portal never sets it.
	Query  string
	Limit  int // 1–200, default 50
	Cursor string
}

// Tickets lists tickets, newest first.
// Errors: EINVALID (status, limit, cursor), ENOTFOUND (customer). [tickets.read]
func (s *Service) Tickets(ctx context.Context, f Filter) (*Page[Ticket], error) {
	if err := require(ctx, auth.PermTicketsRead); err != nil {
		return nil, err
	}
	return s.list(ctx, f)
}

func (s *Service) list(ctx context.Context, f Filter) (*Page[Ticket], error) {
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > 200 {
		return nil, kizuna.FieldError("limit", "limit must be from 1 to 200")
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
	if f.CustomerID != 0 {
		root, err := rootCustomer(ctx, s.db.Reader(), f.CustomerID)
		if err != nil {
			return nil, err
		}
		where = append(where, `t.customer_id IN (`+groupOf(arg(root))+`)`)
	}
	if f.AssigneeID != 0 {
		where = append(where, `t.assignee_id = `+arg(f.AssigneeID))
	}
	if f.CategoryID != 0 {
		where = append(where, `t.category_id = `+arg(f.CategoryID))
	}
	if f.Complaint {
		where = append(where, `t.complaint = 1`)
	}
	if f.Tag != "" {
		where = append(where, `t.id IN (SELECT ticket_id FROM support_ticket_tags WHERE tag = `+arg(strings.ToLower(f.Tag))+`)`)
	}
	if cond, ok := searchCondition(s.db.Dialect, f.Query, arg); ok {
		where = append(where, cond)
	}
	if f.Cursor != "" {
		before, err := strconv.ParseInt(f.Cursor, 10, 64)
		if err != nil || before <= 0 {
			return nil, kizuna.FieldError("cursor", "malformed cursor")
		}
		where = append(where, `t.id < `+arg(before))
	}
	q := `SELECT ` + ticketCols + ticketFrom
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY t.id DESC LIMIT ` + arg(f.Limit+1)
	var query func(ctx context.Context, q string, args ...any) (*sql.Rows, error) = s.db.Reader().QueryContext
	if dense, err := s.denseSearch(ctx, f.Query); err != nil {
		return nil, err
	} else if dense {
		// Run the page in a read-only transaction that walks the id order
		// (see denseSearch).
		tx, err := s.db.Reader().BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("tickets: %w", err)
		}
		defer tx.Rollback()
		if _, err := tx.ExecContext(ctx, `SET LOCAL enable_bitmapscan = off`); err != nil {
			return nil, fmt.Errorf("tickets: %w", err)
		}
		query = tx.QueryContext
	}
	rows, err := query(ctx, db.Rebind(s.db.Dialect, q), args...)
	if err != nil {
		return nil, fmt.Errorf("tickets: %w", err)
	}
	defer rows.Close()
	page := &Page[Ticket]{Items: []Ticket{}}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("tickets: %w", err)
		}
		if len(page.Items) == f.Limit {
			page.Next = strconv.FormatInt(page.Items[len(page.Items)-1].ID, 10)
			break
		}
		page.Items = append(page.Items, *t)
	}
	return page, rows.Err()
}

// Patch changes a ticket; nil fields stay as they are.
type Patch struct {
	Subject    *string   `json:"subject,omitempty"`
	Status     *string   `json:"status,omitempty"`
	Priority   *string   `json:"priority,omitempty"`
	CategoryID *int64    `json:"category_id,omitempty"` // 0 clears
	Complaint  *bool     `json:"complaint,omitempty"`
	Tags       *[]string `json:"tags,omitempty"`
}

// UpdateTicket applies p. A status change must be a valid transition.
// Errors: ENOTFOUND, EINVALID (field named), ECONFLICT (closed ticket,
// invalid transition). [tickets.write]
func (s *Service) UpdateTicket(ctx context.Context, id int64, p Patch) (*Ticket, error) {
	if err := require(ctx, auth.PermTicketsWrite); err != nil {
		return nil, err
	}
	if p.Subject != nil {
		v := strings.TrimSpace(*p.Subject)
		if err := checkText("subject", v, maxSubject, true); err != nil {
			return nil, err
		}
		p.Subject = &v
	}
	if p.Priority != nil && !slices.Contains(Priorities, *p.Priority) {
		return nil, kizuna.FieldError("priority", "priority must be one of %s", strings.Join(Priorities, ", "))
	}
	if p.Status != nil && !validStatus(*p.Status) {
		return nil, kizuna.FieldError("status", "unknown status %q", *p.Status)
	}
	var tags []string
	if p.Tags != nil {
		var err error
		if tags, err = normTags(*p.Tags); err != nil {
			return nil, err
		}
	}
	label, _ := actor(ctx)
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		t, err := s.ticket(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return conflict("ticket %d is closed", id)
		}
		now := tx.NowMS()
		set := func(col string, v any) error {
			_, err := tx.ExecContext(ctx, `UPDATE support_tickets SET `+col+` = $1 WHERE id = $2`, v, id)
			return err
		}
		if p.Subject != nil {
			if err := set("subject", *p.Subject); err != nil {
				return err
			}
		}
		if p.Priority != nil {
			if err := set("priority", *p.Priority); err != nil {
				return err
			}
		}
		if p.CategoryID != nil {
			var v any
			if *p.CategoryID != 0 {
				if err := categoryUsable(ctx, tx, *p.CategoryID); err != nil {
					return err
				}
				v = *p.CategoryID
			}
			if err := set("category_id", v); err != nil {
				return err
			}
		}
		if p.Complaint != nil {
			if err := set("complaint", boolInt(*p.Complaint)); err != nil {
				return err
			}
		}
		if p.Tags != nil {
			b, _ := json.Marshal(tags)
			if err := set("tags", string(b)); err != nil {
				return err
			}
			if err := writeTags(ctx, tx, id, tags); err != nil {
				return err
			}
		}
		if p.Status != nil && *p.Status != t.Status {
			if err := setStatus(ctx, tx, t, *p.Status, now, label); err != nil {
				return err
			}
		}
		// Priority, category and complaint change the SLA targets.
		if err := set("updated_at", now); err != nil {
			return err
		}
		return afterTicketWrite(ctx, tx, id)
	})
	if err != nil {
		return nil, err
	}
	return s.ticket(ctx, s.db.Reader(), id)
}

// setStatus moves t to status if the transition is valid, stamping
// solved_at / closed_at and reopening the SLA bookkeeping.
func setStatus(ctx context.Context, tx *db.Tx, t *Ticket, status string, now int64, label string) error {
	if !CanTransition(t.Status, status) {
		return &kizuna.Error{Code: kizuna.ECONFLICT, Field: "status",
			Message: fmt.Sprintf("ticket %d cannot go from %s to %s", t.ID, t.Status, status)}
	}
	return forceStatus(ctx, tx, t.ID, status, now, label)
}

// forceStatus writes a status without the transition check (merges).
func forceStatus(ctx context.Context, tx *db.Tx, id int64, status string, now int64, label string) error {
	q := `UPDATE support_tickets SET status = $1, updated_at = $2, sla_open = 1`
	switch status {
	case StatusSolved:
		q += `, solved_at = $2`
	case StatusClosed:
		q += `, closed_at = $2`
	case StatusOpen:
		q += `, solved_at = NULL`
	}
	if _, err := tx.ExecContext(ctx, q+` WHERE id = $3`, status, now, id); err != nil {
		return fmt.Errorf("status of ticket %d: %w", id, err)
	}
	return recordStatus(ctx, tx, id, status, now, label)
}

// Assignment sets who works a ticket; a nil AssigneeID unassigns.
type Assignment struct {
	AssigneeID *int64 `json:"assignee_id"`
	Team       string `json:"team"`
}

// Assign gives ticket id to an agent and a team.
// Errors: ENOTFOUND (ticket, user), EINVALID, ECONFLICT (closed). [tickets.assign]
func (s *Service) Assign(ctx context.Context, id int64, a Assignment) (*Ticket, error) {
	if err := require(ctx, auth.PermTicketsAssign); err != nil {
		return nil, err
	}
	a.Team = strings.TrimSpace(a.Team)
	if err := checkText("team", a.Team, maxTeam, false); err != nil {
		return nil, err
	}
	err := s.db.WriteTx(ctx, func(tx *db.Tx) error {
		t, err := s.ticket(ctx, tx, id)
		if err != nil {
			return err
		}
		if t.Status == StatusClosed {
			return conflict("ticket %d is closed", id)
		}
		var v any
		if a.AssigneeID != nil {
			if err := userExists(ctx, tx, *a.AssigneeID); err != nil {
				return err
			}
			v = *a.AssigneeID
		}
		_, err = tx.ExecContext(ctx, `UPDATE support_tickets SET assignee_id = $1, team = $2, updated_at = $3 WHERE id = $4`,
			v, a.Team, tx.NowMS(), id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return s.ticket(ctx, s.db.Reader(), id)
}
