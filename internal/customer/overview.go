package customer

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
)

// maxBuckets bounds a series: a chart has no use for more points.
const maxBuckets = 1000

// bucketing splits [from, to) into the buckets of a series and says how SQL
// computes a row's bucket index from a unix-ms column. Days and weeks have a
// fixed width, so the index is integer arithmetic, (col - from) / width, the
// same on both engines. Months differ in length, so their index compares the
// column with each month's start: still integers only, and no date
// functions (which SQLite and Postgres spell differently).
type bucketing struct {
	starts []time.Time
	width  int64 // ms; 0 for months
	// params holds the month boundaries, passed as $3, $4, … after $1 =
	// from and $2 = to.
	params []any
}

func newBucketing(from, to time.Time, bucket string) (*bucketing, error) {
	b := &bucketing{}
	switch bucket {
	case "day":
		b.width = dayMS
	case "week":
		b.width = 7 * dayMS
	case "month":
	default:
		return nil, kizuna.FieldError("bucket", "bucket must be day, week or month")
	}
	for i := 0; ; i++ {
		var t time.Time
		if b.width > 0 {
			t = from.Add(time.Duration(int64(i)*b.width) * time.Millisecond)
		} else {
			t = from.AddDate(0, i, 0)
		}
		if !t.Before(to) {
			break
		}
		if i == maxBuckets {
			return nil, kizuna.FieldError("bucket", "the period has more than %d %ss; choose a larger bucket", maxBuckets, bucket)
		}
		b.starts = append(b.starts, t)
		if b.width == 0 && i > 0 {
			b.params = append(b.params, t.UnixMilli())
		}
	}
	return b, nil
}

// expr is the bucket index of column col.
func (b *bucketing) expr(col string) string {
	if b.width > 0 {
		return "((" + col + " - $1) / " + strconv.FormatInt(b.width, 10) + ")"
	}
	if len(b.params) == 0 {
		return "0"
	}
	var s strings.Builder
	s.WriteString("(CASE")
	for i := range b.params {
		fmt.Fprintf(&s, " WHEN %s < $%d THEN %d", col, i+3, i)
	}
	fmt.Fprintf(&s, " ELSE %d END)", len(b.params))
	return s.String()
}

func (b *bucketing) args(from, to time.Time) []any {
	return append([]any{from.UnixMilli(), to.UnixMilli()}, b.params...)
}

// series runs a query returning (bucket index, value) rows and lays the
// values out over every bucket, empty buckets at zero.
func (b *bucketing) series(ctx context.Context, q querier, query string, args []any) ([]Point, float64, error) {
	pts := make([]Point, len(b.starts))
	for i, t := range b.starts {
		pts[i] = Point{Start: t}
	}
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var total float64
	for rows.Next() {
		var i, v int64
		if err := rows.Scan(&i, &v); err != nil {
			return nil, 0, err
		}
		if i >= 0 && int(i) < len(pts) {
			pts[i].Value += float64(v)
			total += float64(v)
		}
	}
	return pts, total, rows.Err()
}

// Overview returns dashboard figures for [from, to) in buckets of one day,
// week or month ("day", "week", "month"), each starting at from (pass a
// local midnight for local days). Active customers are canonical customers
// with an event or an order in the bucket; orders count orders with a sale;
// revenue is the net (sales less refunds and cancellations) of the orders
// placed in the bucket, in the main currency (the one most orders are in).
// Errors: EINVALID (to, bucket).
// [dashboard.read]
func (s *Service) Overview(ctx context.Context, from, to time.Time, bucket string) (*Overview, error) {
	if err := auth.Require(ctx, auth.PermDashboardRead); err != nil {
		return nil, err
	}
	if !from.Before(to) {
		return nil, kizuna.FieldError("to", "the period must end after it starts")
	}
	b, err := newBucketing(from, to, bucket)
	if err != nil {
		return nil, err
	}
	q := s.db.Reader()
	ov := &Overview{}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(*) FROM customers WHERE merged_into IS NULL`).Scan(&ov.Customers); err != nil {
		return nil, fmt.Errorf("overview: %w", err)
	}
	err = q.QueryRowContext(ctx, `SELECT currency FROM orders GROUP BY currency ORDER BY COUNT(*) DESC, currency LIMIT 1`).Scan(&ov.Currency)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("overview: %w", err)
	}
	args := b.args(from, to)
	var total float64
	if ov.NewCustomers, _, err = b.series(ctx, q, `SELECT `+b.expr("created_at")+`, COUNT(*) FROM customers
		WHERE merged_into IS NULL AND created_at >= $1 AND created_at < $2 GROUP BY 1`, args); err != nil {
		return nil, fmt.Errorf("overview: new customers: %w", err)
	}
	// Activity of merged profiles counts for their canonical customer.
	activity := func(withBucket bool) string {
		eb, ob := "", ""
		if withBucket {
			eb, ob = b.expr("e.occurred_at")+" AS b, ", b.expr("o.placed_at")+", "
		}
		return `SELECT ` + eb + `COALESCE(c.merged_into, c.id) AS cid FROM events e JOIN customers c ON c.id = e.customer_id
			WHERE e.occurred_at >= $1 AND e.occurred_at < $2
			UNION ALL SELECT ` + ob + `COALESCE(c.merged_into, c.id) FROM orders o JOIN customers c ON c.id = o.customer_id
			WHERE o.placed_at >= $1 AND o.placed_at < $2`
	}
	if ov.ActiveSeries, _, err = b.series(ctx, q, `SELECT t.b, COUNT(DISTINCT t.cid) FROM (`+activity(true)+`) t GROUP BY t.b`, args); err != nil {
		return nil, fmt.Errorf("overview: active customers: %w", err)
	}
	if err := q.QueryRowContext(ctx, `SELECT COUNT(DISTINCT t.cid) FROM (`+activity(false)+`) t`, from.UnixMilli(), to.UnixMilli()).Scan(&ov.ActiveCustomers); err != nil {
		return nil, fmt.Errorf("overview: active customers: %w", err)
	}
	if ov.OrdersSeries, total, err = b.series(ctx, q, `SELECT `+b.expr("placed_at")+`, COUNT(*) FROM orders
		WHERE has_sale = 1 AND placed_at >= $1 AND placed_at < $2 GROUP BY 1`, args); err != nil {
		return nil, fmt.Errorf("overview: orders: %w", err)
	}
	ov.Orders = int64(total)
	// Revenue is attributed to the day an order was placed, refunds and
	// cancellations included (net sales by order date, as the customer's
	// Summary counts it): one indexed pass over orders instead of a join
	// of every line, which took half a second on the Online Retail data.
	rargs := append(args, ov.Currency)
	if ov.RevenueSeries, total, err = b.series(ctx, q, `SELECT `+b.expr("placed_at")+`, CAST(SUM(total_minor) AS BIGINT)
		FROM orders WHERE currency = $`+strconv.Itoa(len(rargs))+` AND placed_at >= $1 AND placed_at < $2 GROUP BY 1`, rargs); err != nil {
		return nil, fmt.Errorf("overview: revenue: %w", err)
	}
	ov.NetRevenueMinor = int64(total)
	return ov, nil
}
