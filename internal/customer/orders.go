package customer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Order statuses.
const (
	StatusCompleted         = "completed"
	StatusRefunded          = "refunded"
	StatusPartiallyRefunded = "partially_refunded"
	StatusCancelled         = "cancelled"
)

// Order line kinds.
const (
	LineSale   = "sale"
	LineRefund = "refund"
	LineCancel = "cancel"
)

const maxRefLen = 255

// ValidateOrder checks and normalises one input the way RecordOrdersTx does,
// so that ingestion and imports can reject a bad order on its own before
// batching it: currency upper-cased, lines of a refund or cancellation made
// negative with their kind set, amounts computed from quantity × unit price
// where absent, times defaulted to PlacedAt.
func ValidateOrder(o *OrderInput) error {
	o.Ref = strings.TrimSpace(o.Ref)
	switch {
	case o.Ref == "":
		return kizuna.FieldError("order_id", "order id is empty")
	case len(o.Ref) > maxRefLen:
		return kizuna.FieldError("order_id", "order id is longer than %d bytes", maxRefLen)
	case o.CustomerID <= 0:
		return kizuna.FieldError("customer_id", "order %s has no customer", o.Ref)
	case o.PlacedAt.IsZero():
		return kizuna.FieldError("timestamp", "order %s has no time", o.Ref)
	case len(o.Lines) == 0:
		return kizuna.FieldError("products", "order %s has no lines", o.Ref)
	}
	o.Currency = strings.ToUpper(strings.TrimSpace(o.Currency))
	if _, err := parseCurrency(o.Currency); err != nil {
		return err
	}
	o.Status = strings.ToLower(strings.TrimSpace(o.Status))
	var kind string
	switch o.Status {
	case "", StatusCompleted:
		o.Status, kind = StatusCompleted, LineSale
	case StatusRefunded:
		kind = LineRefund
	case StatusCancelled:
		kind = LineCancel
	default:
		return kizuna.FieldError("status", "order status %q is not completed, refunded or cancelled", o.Status)
	}
	if o.AdjustmentKey == "" && o.EventID != 0 && kind != LineSale {
		o.AdjustmentKey = "event:" + strconv.FormatInt(o.EventID, 10)
	}
	for i := range o.Lines {
		l := &o.Lines[i]
		if l.Quantity == 0 {
			l.Quantity = 1
		}
		if l.AmountMinor == 0 {
			l.AmountMinor = l.Quantity * l.UnitPriceMinor
		}
		if l.OccurredAt.IsZero() {
			l.OccurredAt = o.PlacedAt
		}
		l.SKU, l.Name = strings.TrimSpace(l.SKU), strings.TrimSpace(l.Name)
		switch kind {
		case LineSale:
			if l.Kind == "" {
				l.Kind = LineSale
			}
			if l.Kind != LineSale && l.Kind != LineRefund && l.Kind != LineCancel {
				return kizuna.FieldError("products", "order %s line %d: kind %q is not sale, refund or cancel", o.Ref, i, l.Kind)
			}
		default:
			// Refunds and cancellations are negative whatever sign the
			// source used (Online Retail writes negative quantities,
			// Segment positive amounts on an "Order Refunded" event).
			l.Kind = kind
			l.Quantity = -abs(l.Quantity)
			l.AmountMinor = -abs(l.AmountMinor)
			l.UnitPriceMinor = abs(l.UnitPriceMinor)
		}
	}
	return nil
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}

// orderState is one order as RecordOrdersTx holds it while deciding.
type orderState struct {
	id         int64 // 0: new
	ref        string
	customerID int64
	source     string
	currency   string
	cancelled  bool
	hasSale    bool
	gross      int64 // sum of sale lines
	net        int64 // sum of all lines
	placedAt   int64
	eventID    int64
	keys       []string // adjustment keys already recorded
	changed    bool
	isNew      bool
	lines      []OrderLine
	lineKeys   []string
}

func (o *orderState) status() string {
	switch {
	case o.cancelled:
		return StatusCancelled
	case !o.hasSale:
		return StatusRefunded
	case o.net < o.gross && o.net <= 0:
		// Everything paid was given back. A free order (gross 0, nothing
		// refunded) stays completed.
		return StatusRefunded
	case o.net < o.gross:
		return StatusPartiallyRefunded
	}
	return StatusCompleted
}

func (o *orderState) add(lines []OrderLine, key string) {
	for _, l := range lines {
		o.lines = append(o.lines, l)
		o.lineKeys = append(o.lineKeys, key)
		o.net += l.AmountMinor
		if l.Kind == LineSale {
			o.gross += l.AmountMinor
			o.hasSale = true
		}
	}
	if key != "" {
		o.keys = append(o.keys, key)
	}
	o.changed = true
}

// RecordOrdersTx stores orders, refunds and cancellations (see OrderInput).
// An order_ref already recorded as completed is not stored twice; a refund
// or cancellation with an AdjustmentKey already recorded on the order adds
// nothing. total_minor is always the sum of the order's lines. Each input is
// checked with ValidateOrder; the first invalid one fails the batch with
// EINVALID (its index in the message). Lookups and writes are multi-row.
func (s *Service) RecordOrdersTx(ctx context.Context, tx *db.Tx, orders []OrderInput) error {
	if len(orders) == 0 {
		return nil
	}
	in := make([]OrderInput, len(orders))
	for i := range orders {
		o := orders[i]
		o.Lines = slices.Clone(o.Lines)
		if err := ValidateOrder(&o); err != nil {
			var ke *kizuna.Error
			if errors.As(err, &ke) {
				ke.Message = fmt.Sprintf("order %d: %s", i, ke.Message)
			}
			return err
		}
		in[i] = o
	}
	savepoint := tx.Dialect == db.Postgres
	for attempt := 1; ; attempt++ {
		if savepoint {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT kizuna_orders`); err != nil {
				return fmt.Errorf("record orders: %w", err)
			}
		}
		err := recordOrders(ctx, tx, in)
		if err == nil {
			if savepoint {
				if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT kizuna_orders`); err != nil {
					return fmt.Errorf("record orders: %w", err)
				}
			}
			return nil
		}
		if !errors.Is(err, errRaced) || !savepoint || attempt == 5 {
			return err
		}
		if _, rerr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT kizuna_orders`); rerr != nil {
			return fmt.Errorf("record orders: %w (after %v)", rerr, err)
		}
	}
}

func recordOrders(ctx context.Context, tx *db.Tx, in []OrderInput) error {
	byRef, err := lookupOrders(ctx, tx, in)
	if err != nil {
		return err
	}
	var created []*orderState
	for i := range in {
		o := &in[i]
		st := byRef[o.Ref]
		if st == nil {
			st = &orderState{ref: o.Ref, customerID: o.CustomerID, source: o.Source, currency: o.Currency,
				placedAt: o.PlacedAt.UnixMilli(), eventID: o.EventID, isNew: true}
			byRef[o.Ref] = st
			created = append(created, st)
		} else if st.currency != o.Currency {
			return kizuna.FieldError("currency", "order %d: order %s is in %s, not %s", i, o.Ref, st.currency, o.Currency)
		}
		switch o.Status {
		case StatusCompleted:
			if st.hasSale {
				continue // the same order again: recorded once
			}
			// A refund or cancellation that arrived before its order: the
			// order takes the sale's time and event.
			if len(st.lines) > 0 || st.id != 0 {
				st.placedAt = o.PlacedAt.UnixMilli()
				if o.EventID != 0 {
					st.eventID = o.EventID
				}
			}
			st.add(o.Lines, "")
		default:
			if o.AdjustmentKey != "" && slices.Contains(st.keys, o.AdjustmentKey) {
				continue
			}
			if o.Status == StatusCancelled {
				st.cancelled = true
			}
			st.add(o.Lines, o.AdjustmentKey)
		}
	}

	// New orders: one multi-row INSERT; RETURNING carries order_ref, so no
	// row-order assumption is needed.
	now := tx.NowMS()
	const orderCols = 11
	for lo := 0; lo < len(created); lo += db.MaxParams / orderCols {
		hi := min(lo+db.MaxParams/orderCols, len(created))
		args := make([]any, 0, (hi-lo)*orderCols)
		for _, st := range created[lo:hi] {
			var ev any
			if st.eventID != 0 {
				ev = st.eventID
			}
			args = append(args, st.customerID, st.ref, st.source, st.currency, st.net, st.status(),
				boolInt(st.hasSale), st.placedAt, ev, now, now)
		}
		rows, err := tx.QueryContext(ctx, positional(tx.Dialect, `INSERT INTO orders (customer_id, order_ref, source, currency,
			total_minor, status, has_sale, placed_at, event_id, created_at, updated_at) VALUES `+valuesRows(hi-lo, orderCols)+`
			ON CONFLICT (order_ref) DO NOTHING RETURNING id, order_ref`), args...)
		if err != nil {
			return fmt.Errorf("record orders: %w", err)
		}
		n := 0
		for rows.Next() {
			var id int64
			var ref string
			if err := rows.Scan(&id, &ref); err != nil {
				rows.Close()
				return fmt.Errorf("record orders: %w", err)
			}
			byRef[ref].id = id
			n++
		}
		if err := rows.Close(); err != nil {
			return fmt.Errorf("record orders: %w", err)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("record orders: %w", err)
		}
		if n != hi-lo {
			return errRaced // another node recorded one of these refs meanwhile
		}
	}

	// Lines of every order that gained some, in one multi-row INSERT per chunk.
	var changed []*orderState
	for _, st := range byRef {
		if st.changed {
			changed = append(changed, st)
		}
	}
	slices.SortFunc(changed, func(a, b *orderState) int { return cmpInt(a.id, b.id) })
	const lineCols = 9
	per := db.MaxParams / lineCols
	args := make([]any, 0, min(per, 4096)*lineCols)
	rowsN := 0
	flushLines := func() error {
		if rowsN == 0 {
			return nil
		}
		_, err := tx.ExecContext(ctx, positional(tx.Dialect, `INSERT INTO order_lines (order_id, kind, sku, name, quantity,
			unit_price_minor, amount_minor, occurred_at, adjustment_key) VALUES `+valuesRows(rowsN, lineCols)), args...)
		args, rowsN = args[:0], 0
		if err != nil {
			return fmt.Errorf("record order lines: %w", err)
		}
		return nil
	}
	for _, st := range changed {
		for i, l := range st.lines {
			args = append(args, st.id, l.Kind, l.SKU, l.Name, l.Quantity, l.UnitPriceMinor, l.AmountMinor,
				l.OccurredAt.UnixMilli(), st.lineKeys[i])
			rowsN++
			if rowsN == per {
				if err := flushLines(); err != nil {
					return err
				}
			}
		}
	}
	if err := flushLines(); err != nil {
		return err
	}

	// Orders that existed before: status and the total from their lines.
	var updated []*orderState
	for _, st := range changed {
		if !st.isNew {
			updated = append(updated, st)
		}
	}
	types := []string{"BIGINT", "TEXT", "BIGINT", "BIGINT", "BIGINT"}
	const chunk = 1000
	for lo := 0; lo < len(updated); lo += chunk {
		hi := min(lo+chunk, len(updated))
		args := make([]any, 0, (hi-lo)*len(types)+1)
		args = append(args, now)
		for _, st := range updated[lo:hi] {
			var ev any
			if st.eventID != 0 {
				ev = st.eventID
			}
			args = append(args, st.id, st.status(), boolInt(st.hasSale), st.placedAt, ev)
		}
		if _, err := tx.ExecContext(ctx, positional(tx.Dialect, `UPDATE orders SET updated_at = $1, status = v.column2,
			has_sale = v.column3, placed_at = v.column4, event_id = COALESCE(v.column5, orders.event_id),
			total_minor = (SELECT CAST(COALESCE(SUM(l.amount_minor), 0) AS BIGINT) FROM order_lines l WHERE l.order_id = orders.id)
			FROM `+valuesTable(2, hi-lo, types)+` WHERE orders.id = v.column1`), args...); err != nil {
			return fmt.Errorf("record orders: update: %w", err)
		}
	}
	return nil
}

// lookupOrders reads the orders the inputs name, with their sale total and
// the adjustment keys already recorded on them.
func lookupOrders(ctx context.Context, tx *db.Tx, in []OrderInput) (map[string]*orderState, error) {
	byRef := map[string]*orderState{}
	var refs []string
	seen := map[string]bool{}
	for i := range in {
		if !seen[in[i].Ref] {
			seen[in[i].Ref] = true
			refs = append(refs, in[i].Ref)
		}
	}
	const chunk = 2000
	for lo := 0; lo < len(refs); lo += chunk {
		hi := min(lo+chunk, len(refs))
		args := make([]any, hi-lo)
		for i, r := range refs[lo:hi] {
			args[i] = r
		}
		rows, err := tx.QueryContext(ctx, positional(tx.Dialect, `SELECT o.id, o.order_ref, o.customer_id, o.currency, o.status, o.has_sale,
			o.total_minor, o.placed_at, COALESCE(o.event_id, 0),
			CAST(COALESCE((SELECT SUM(l.amount_minor) FROM order_lines l WHERE l.order_id = o.id AND l.kind = 'sale'), 0) AS BIGINT)
			FROM orders o WHERE o.order_ref IN (`+db.Placeholders(1, hi-lo)+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("record orders: look up: %w", err)
		}
		var found []*orderState
		for rows.Next() {
			st := &orderState{}
			var status string
			var hasSale int64
			if err := rows.Scan(&st.id, &st.ref, &st.customerID, &st.currency, &status, &hasSale,
				&st.net, &st.placedAt, &st.eventID, &st.gross); err != nil {
				rows.Close()
				return nil, fmt.Errorf("record orders: look up: %w", err)
			}
			st.cancelled = status == StatusCancelled
			st.hasSale = hasSale != 0
			byRef[st.ref] = st
			found = append(found, st)
		}
		if err := rows.Close(); err != nil {
			return nil, fmt.Errorf("record orders: look up: %w", err)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		if len(found) == 0 {
			continue
		}
		ids := make([]any, len(found))
		byID := map[int64]*orderState{}
		for i, st := range found {
			ids[i] = st.id
			byID[st.id] = st
		}
		krows, err := tx.QueryContext(ctx, positional(tx.Dialect, `SELECT DISTINCT order_id, adjustment_key FROM order_lines
			WHERE adjustment_key <> '' AND order_id IN (`+db.Placeholders(1, len(ids))+`)`), ids...)
		if err != nil {
			return nil, fmt.Errorf("record orders: look up: %w", err)
		}
		for krows.Next() {
			var id int64
			var key string
			if err := krows.Scan(&id, &key); err != nil {
				krows.Close()
				return nil, fmt.Errorf("record orders: look up: %w", err)
			}
			byID[id].keys = append(byID[id].keys, key)
		}
		if err := krows.Close(); err != nil {
			return nil, err
		}
		if err := krows.Err(); err != nil {
			return nil, err
		}
	}
	return byRef, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
