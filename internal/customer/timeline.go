package customer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// timelineBranch is one source of timeline entries. Each branch selects the
// same eight columns — kind, id, at (unix ms), title, two text details, one
// integer detail and the profile id — for the profiles of canonical customer
// $1, and says how its details read. A later capability (survey responses,
// tickets, messages) joins the timeline by adding one branch here.
type timelineBranch struct {
	kind   string
	sql    string
	detail func(s1, s2 string, n1 int64) map[string]any
}

var timelineBranches = []timelineBranch{
	{
		kind: "event",
		sql: `SELECT 'event' AS kind, e.id AS id, e.occurred_at AS at,
			CASE WHEN e.name <> '' THEN e.name ELSE e.type END AS title,
			e.type AS s1, e.properties AS s2, 0 AS n1, e.customer_id AS profile_id
			FROM events e WHERE e.customer_id IN (` + groupIDs("$1") + `)`,
		detail: func(typ, props string, _ int64) map[string]any {
			d := map[string]any{"type": typ}
			if json.Valid([]byte(props)) {
				d["properties"] = json.RawMessage(props)
			}
			return d
		},
	},
	{
		kind: "order",
		sql: `SELECT 'order', o.id, o.placed_at, o.order_ref, o.status, o.currency, o.total_minor, o.customer_id
			FROM orders o WHERE o.customer_id IN (` + groupIDs("$1") + `)`,
		detail: func(status, currency string, total int64) map[string]any {
			return map[string]any{"status": status, "currency": currency, "total_minor": total}
		},
	},
	{
		// A survey response, titled by the survey's name, at its completion
		// (or start, while partial). nps_score and csat_score are copied on
		// the response at completion, so no definition is parsed here;
		// -1 / '' stand for "no such score" in the fixed column shape.
		kind: "survey_response",
		sql: `SELECT 'survey_response', r.id, COALESCE(r.completed_at, r.started_at), s.name, r.status,
			COALESCE(CAST(r.nps_score AS TEXT), ''), COALESCE(r.csat_score, -1), r.customer_id
			FROM survey_responses r JOIN surveys s ON s.id = r.survey_id
			WHERE r.customer_id IN (` + groupIDs("$1") + `)`,
		detail: func(status, nps string, csat int64) map[string]any {
			d := map[string]any{"status": status}
			if n, err := strconv.ParseInt(nps, 10, 64); err == nil {
				d["nps"] = n
			}
			if csat >= 0 {
				d["csat"] = csat
			}
			return d
		},
	},
	{
		// A support ticket at its creation: subject, status, channel and
		// the complaint flag (1 for a クレーム).
		kind: "ticket",
		sql: `SELECT 'ticket', t.id, t.created_at, t.subject, t.status, t.channel, t.complaint, t.customer_id
			FROM support_tickets t WHERE t.customer_id IN (` + groupIDs("$1") + `)`,
		detail: func(status, channel string, complaint int64) map[string]any {
			return map[string]any{"status": status, "channel": channel, "complaint": complaint == 1}
		},
	},
	{
		// A public message on a ticket (internal notes stay on the ticket),
		// titled by the ticket's subject; n1 is the ticket id.
		kind: "ticket_message",
		sql: `SELECT 'ticket_message', m.id, m.created_at, t.subject, m.direction, m.author_kind, m.ticket_id, t.customer_id
			FROM support_messages m JOIN support_tickets t ON t.id = m.ticket_id
			WHERE m.public = 1 AND t.customer_id IN (` + groupIDs("$1") + `)`,
		detail: func(direction, author string, ticket int64) map[string]any {
			return map[string]any{"direction": direction, "author": author, "ticket_id": ticket}
		},
	},
}

// timelineSQL is the union of every branch, built once.
var timelineSQL = func() string {
	parts := make([]string, len(timelineBranches))
	for i, b := range timelineBranches {
		parts[i] = b.sql
	}
	return strings.Join(parts, "\nUNION ALL\n")
}()

type timeCursor struct {
	At   int64  `json:"at"`
	Kind string `json:"k,omitempty"`
	ID   int64  `json:"id"`
}

// Timeline returns the customer's events, orders and survey responses
// (and, later, tickets), newest first, over every profile merged into the customer.
// Errors: ENOTFOUND, EINVALID (limit, cursor). [customers.read]
func (s *Service) Timeline(ctx context.Context, id int64, limit int, cursor string) (*Page[TimelineItem], error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	root, err := canonicalID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	args := []any{root}
	where := ""
	if cursor != "" {
		var c timeCursor
		if err := decodeCursor(cursor, &c); err != nil {
			return nil, err
		}
		args = append(args, c.At, c.Kind, c.ID)
		where = ` WHERE (t.at < $2 OR (t.at = $2 AND (t.kind < $3 OR (t.kind = $3 AND t.id < $4))))`
	}
	args = append(args, limit+1)
	rows, err := q.QueryContext(ctx, `SELECT t.kind, t.id, t.at, t.title, t.s1, t.s2, t.n1, t.profile_id FROM (`+timelineSQL+`) t`+
		where+fmt.Sprintf(` ORDER BY t.at DESC, t.kind DESC, t.id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("timeline %d: %w", id, err)
	}
	defer rows.Close()
	page := &Page[TimelineItem]{Items: []TimelineItem{}, Total: -1}
	var last timeCursor
	for rows.Next() {
		var it TimelineItem
		var at, n1 int64
		var s1, s2 string
		if err := rows.Scan(&it.Kind, &it.ID, &at, &it.Title, &s1, &s2, &n1, &it.Profile); err != nil {
			return nil, fmt.Errorf("timeline %d: %w", id, err)
		}
		if len(page.Items) == limit {
			page.Next = encodeCursor(last)
			break
		}
		it.At = msTime(at)
		for _, b := range timelineBranches {
			if b.kind == it.Kind {
				it.Detail = b.detail(s1, s2, n1)
			}
		}
		page.Items = append(page.Items, it)
		last = timeCursor{At: at, Kind: it.Kind, ID: it.ID}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("timeline %d: %w", id, err)
	}
	return page, nil
}

// Orders returns the customer's orders with lines, newest first.
// Errors: ENOTFOUND, EINVALID (limit, cursor). [orders.read]
func (s *Service) Orders(ctx context.Context, id int64, limit int, cursor string) (*Page[Order], error) {
	if err := auth.Require(ctx, auth.PermOrdersRead); err != nil {
		return nil, err
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	root, err := canonicalID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	page := &Page[Order]{Items: []Order{}}
	rows, err := customerPage(ctx, q, "orders", "placed_at",
		"id, customer_id, order_ref, source, currency, total_minor, status, placed_at", root, limit, cursor, &page.Total)
	if err != nil {
		return nil, fmt.Errorf("orders of %d: %w", id, err)
	}
	var last timeCursor
	for rows.Next() {
		var o Order
		var at int64
		if err := rows.Scan(&o.ID, &o.CustomerID, &o.Ref, &o.Source, &o.Currency, &o.TotalMinor, &o.Status, &at); err != nil {
			rows.Close()
			return nil, fmt.Errorf("orders of %d: %w", id, err)
		}
		if len(page.Items) == limit {
			page.Next = encodeCursor(last)
			break
		}
		o.PlacedAt = msTime(at)
		page.Items = append(page.Items, o)
		last = timeCursor{At: at, ID: o.ID}
	}
	if err := rows.Close(); err != nil {
		return nil, err
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("orders of %d: %w", id, err)
	}
	if err := loadOrderLines(ctx, q, s.db.Dialect, page.Items); err != nil {
		return nil, fmt.Errorf("orders of %d: %w", id, err)
	}
	return page, nil
}

func loadOrderLines(ctx context.Context, q querier, d db.Dialect, orders []Order) error {
	if len(orders) == 0 {
		return nil
	}
	args := make([]any, len(orders))
	at := map[int64]int{}
	for i, o := range orders {
		args[i] = o.ID
		at[o.ID] = i
	}
	rows, err := q.QueryContext(ctx, positional(d, `SELECT order_id, kind, sku, name, quantity, unit_price_minor, amount_minor, occurred_at
		FROM order_lines WHERE order_id IN (`+db.Placeholders(1, len(args))+`) ORDER BY order_id, id`), args...)
	if err != nil {
		return fmt.Errorf("order lines: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var l OrderLine
		var oid, ms int64
		if err := rows.Scan(&oid, &l.Kind, &l.SKU, &l.Name, &l.Quantity, &l.UnitPriceMinor, &l.AmountMinor, &ms); err != nil {
			return fmt.Errorf("order lines: %w", err)
		}
		l.OccurredAt = msTime(ms)
		o := &orders[at[oid]]
		o.Lines = append(o.Lines, l)
	}
	return rows.Err()
}

// Events returns the customer's events, newest first.
// Errors: ENOTFOUND, EINVALID (limit, cursor). [events.read]
func (s *Service) Events(ctx context.Context, id int64, limit int, cursor string) (*Page[Event], error) {
	if err := auth.Require(ctx, auth.PermEventsRead); err != nil {
		return nil, err
	}
	limit, err := pageLimit(limit)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	root, err := canonicalID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	page := &Page[Event]{Items: []Event{}}
	rows, err := customerPage(ctx, q, "events", "occurred_at",
		"id, customer_id, message_id, type, name, user_id, anonymous_id, properties, context, occurred_at, received_at",
		root, limit, cursor, &page.Total)
	if err != nil {
		return nil, fmt.Errorf("events of %d: %w", id, err)
	}
	defer rows.Close()
	var last timeCursor
	for rows.Next() {
		var e Event
		var props, ectx string
		var occurred, received int64
		if err := rows.Scan(&e.ID, &e.CustomerID, &e.MessageID, &e.Type, &e.Name, &e.UserID, &e.AnonymousID,
			&props, &ectx, &occurred, &received); err != nil {
			return nil, fmt.Errorf("events of %d: %w", id, err)
		}
		if len(page.Items) == limit {
			page.Next = encodeCursor(last)
			break
		}
		e.Properties, e.Context = rawJSON(props), rawJSON(ectx)
		e.OccurredAt, e.ReceivedAt = msTime(occurred), msTime(received)
		page.Items = append(page.Items, e)
		last = timeCursor{At: occurred, ID: e.ID}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events of %d: %w", id, err)
	}
	return page, nil
}

func rawJSON(s string) json.RawMessage {
	if s == "" || !json.Valid([]byte(s)) {
		return json.RawMessage("{}")
	}
	return json.RawMessage(s)
}

const dayMS = 24 * 60 * 60 * 1000

// Summary returns the recency / frequency / monetary summary: orders are
// those with a sale (a stand-alone cancellation is not an order); revenue and
// the average order are in the customer's main currency (the one most of its
// orders are in). Errors: ENOTFOUND. [customers.read]
func (s *Service) Summary(ctx context.Context, id int64) (*Summary, error) {
	if err := auth.Require(ctx, auth.PermCustomersRead); err != nil {
		return nil, err
	}
	q := s.db.Reader()
	root, err := canonicalID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	sum := &Summary{RecencyDays: -1}
	var first, last sql.NullInt64
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*), MIN(placed_at), MAX(placed_at) FROM orders
		WHERE has_sale = 1 AND customer_id IN (`+groupIDs("$1")+`)`, root).Scan(&sum.Orders, &first, &last); err != nil {
		return nil, fmt.Errorf("summary of %d: %w", id, err)
	}
	if first.Valid {
		f, l := msTime(first.Int64), msTime(last.Int64)
		sum.FirstOrderAt, sum.LastOrderAt = &f, &l
		sum.RecencyDays = int((s.db.Now().UnixMilli() - last.Int64) / dayMS)
		if sum.RecencyDays < 0 {
			sum.RecencyDays = 0
		}
	}
	err = q.QueryRowContext(ctx, `SELECT currency FROM orders WHERE customer_id IN (`+groupIDs("$1")+`)
		GROUP BY currency ORDER BY SUM(has_sale) DESC, COUNT(*) DESC, currency LIMIT 1`, root).Scan(&sum.Currency)
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return nil, fmt.Errorf("summary of %d: %w", id, err)
	default:
		var orders int64
		if err := q.QueryRowContext(ctx, `SELECT CAST(COALESCE(SUM(total_minor), 0) AS BIGINT), CAST(COALESCE(SUM(has_sale), 0) AS BIGINT) FROM orders
			WHERE currency = $2 AND customer_id IN (`+groupIDs("$1")+`)`, root, sum.Currency).Scan(&sum.NetRevenueMinor, &orders); err != nil {
			return nil, fmt.Errorf("summary of %d: %w", id, err)
		}
		if orders > 0 {
			sum.AvgOrderMinor = roundDiv(sum.NetRevenueMinor, orders)
		}
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM events WHERE customer_id IN (`+groupIDs("$1")+`)`, root).Scan(&sum.Events); err != nil {
		return nil, fmt.Errorf("summary of %d: %w", id, err)
	}
	return sum, nil
}

// roundDiv divides rounding half away from zero.
func roundDiv(a, b int64) int64 {
	if (a < 0) != (b < 0) {
		return (a - b/2) / b
	}
	return (a + b/2) / b
}

// customerPage counts into total the rows of table that belong to the
// customer root (and the profiles merged into it) and queries one page of
// cols after cursor, newest first by timeCol then id; one row more than
// limit tells the caller there is a next page. table, timeCol and cols are
// constants of this package, never input.
func customerPage(ctx context.Context, q *sql.DB, table, timeCol, cols string, root int64, limit int, cursor string, total *int64) (*sql.Rows, error) {
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table+` WHERE customer_id IN (`+groupIDs("$1")+`)`, root).Scan(total); err != nil {
		return nil, err
	}
	args := []any{root}
	where := ""
	if cursor != "" {
		var c timeCursor
		if err := decodeCursor(cursor, &c); err != nil {
			return nil, err
		}
		args = append(args, c.At, c.ID)
		where = ` AND (` + timeCol + ` < $2 OR (` + timeCol + ` = $2 AND id < $3))`
	}
	args = append(args, limit+1)
	return q.QueryContext(ctx, `SELECT `+cols+` FROM `+table+` WHERE customer_id IN (`+groupIDs("$1")+`)`+where+
		fmt.Sprintf(` ORDER BY %s DESC, id DESC LIMIT $%d`, timeCol, len(args)), args...)
}
