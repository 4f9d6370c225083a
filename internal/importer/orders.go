package importer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// pendingOrder is an order whose lines are being collected.
type pendingOrder struct {
	Ref      string
	Key      customerKey
	Country  string
	Status   string
	Currency string
	PlacedAt time.Time // the earliest line's time
	Lines    []customer.OrderLine
	LineNos  []int64    // file line of each line, for rejections
	Records  [][]string // each line's raw fields, for --errors
	lastRow  int64      // the row that last added a line
}

// grouper collects order lines into orders. Lines of one order are
// normally adjacent; an order stays open until `window` rows have passed
// without one of its lines, so small interleavings still group correctly
// while memory stays bounded.
type grouper struct {
	window int64
	open   map[string]*pendingOrder
	queue  []*pendingOrder // open orders by first appearance
}

func newGrouper(window int) *grouper {
	return &grouper{window: int64(window), open: make(map[string]*pendingOrder)}
}

// add puts a parsed row into its order. It refuses a row that contradicts
// the order's earlier lines (another customer or currency).
func (g *grouper) add(row int64, line int64, r orderRow, rec []string) error {
	o := g.open[groupKey(r.Ref, r.Status)]
	if o == nil {
		o = &pendingOrder{
			Ref: r.Ref, Key: r.Key, Country: r.Country, Status: r.Status,
			Currency: r.Currency, PlacedAt: r.PlacedAt,
		}
		g.open[groupKey(r.Ref, r.Status)] = o
		g.queue = append(g.queue, o)
	} else {
		switch {
		case o.Key != r.Key:
			return kizuna.Errorf(kizuna.EINVALID, "order %s belongs to %s (line %d) but this line names %s", r.Ref, o.Key, o.LineNos[0], r.Key)
		case o.Currency != r.Currency:
			return kizuna.FieldError("currency", "order %s is in %s (line %d) but this line is in %s", r.Ref, o.Currency, o.LineNos[0], r.Currency)
		}
		if r.PlacedAt.Before(o.PlacedAt) {
			o.PlacedAt = r.PlacedAt
		}
		if o.Country == "" {
			o.Country = r.Country
		}
	}
	o.Lines = append(o.Lines, r.Line)
	o.LineNos = append(o.LineNos, line)
	o.Records = append(o.Records, slices.Clone(rec))
	o.lastRow = row
	return nil
}

// groupKey groups lines by order and status: a refund of order X listed
// in the same file as X's sale is an adjustment of X, recorded after it,
// not a contradiction.
func groupKey(ref, status string) string { return ref + "\x00" + status }

// closed removes and returns the orders no line has touched in the last
// window rows (as of row). With force, it returns every open order.
func (g *grouper) closed(row int64, force bool) []*pendingOrder {
	var out []*pendingOrder
	i := 0
	for ; i < len(g.queue); i++ {
		o := g.queue[i]
		if !force && row-o.lastRow <= g.window {
			break
		}
		delete(g.open, groupKey(o.Ref, o.Status))
		out = append(out, o)
	}
	if i > 0 {
		g.queue = slices.Delete(g.queue, 0, i)
	}
	return out
}

// ImportOrders reads an order file (either layout) from r and records its
// orders. It returns an error only when the import cannot go on (an
// unreadable file or header, a store failure, a cancelled context); rows it
// refuses are in the summary.
func (im *Importer) ImportOrders(ctx context.Context, r io.Reader) (_ *Summary, err error) {
	start := time.Now()
	sum := &Summary{Kind: "orders"}
	if err := auth.Require(ctx, auth.PermDataImport); err != nil {
		return sum, err
	}
	src, err := newCSVSource(r)
	if err != nil {
		return sum, err
	}
	layout, err := detectOrderLayout(src.header, im.opts)
	if err != nil {
		return sum, err
	}
	sum.Format = layout.format()
	rej := newRejector(sum, im.opts, src.header)
	defer func() {
		// Even an import that stops early leaves its rejected rows written.
		if ferr := rej.flush(); err == nil {
			err = ferr
		}
	}()
	w := &orderWriter{im: im, sum: sum, rej: rej, seen: make(map[string]int64),
		created: make(map[int64]struct{}), matched: make(map[int64]struct{})}
	g := newGrouper(im.opts.Window)
	var batch []*pendingOrder
	batchLines := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := w.write(ctx, batch)
		batch, batchLines = batch[:0], 0
		if err == nil && im.opts.Progress != nil {
			im.opts.Progress(*sum)
		}
		return err
	}
	var row int64
	for {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		rec, line, rowErr, err := src.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sum, fmt.Errorf("importer: read line %d: %w", line, err)
		}
		row++
		sum.Rows++
		if rowErr != nil {
			if err := rej.reject(line, rowErr, nil); err != nil {
				return sum, err
			}
			continue
		}
		parsed, err := layout.parse(rec)
		if err == nil {
			err = g.add(row, line, parsed, rec)
		}
		if err != nil {
			if err := rej.reject(line, err, rec); err != nil {
				return sum, err
			}
		}
		for _, o := range g.closed(row, false) {
			batch = append(batch, o)
			batchLines += len(o.Lines)
		}
		if batchLines >= im.opts.BatchRows {
			if err := flush(); err != nil {
				return sum, err
			}
		}
	}
	batch = append(batch, g.closed(row, true)...)
	if err := flush(); err != nil {
		return sum, err
	}
	sum.CustomersCreated = int64(len(w.created))
	sum.CustomersUpdated = int64(len(w.matched))
	sum.Duration = time.Since(start)
	return sum, nil
}

// orderWriter writes batches of complete orders, one transaction each.
type orderWriter struct {
	im  *Importer
	sum *Summary
	rej *rejector
	// seen maps each order reference this run has closed to its first
	// line: a reference closed twice is lines that came too late.
	seen    map[string]int64
	created map[int64]struct{} // profiles this run created
	matched map[int64]struct{} // existing profiles this run touched
}

// batchResult is what one committed transaction did; it is applied to the
// summary only after the commit, so a retried transaction counts once.
type batchResult struct {
	orders, existing, cancels, lines, guests, guestSkipped int64
	created, matched                                       []int64
}

func (w *orderWriter) write(ctx context.Context, batch []*pendingOrder) error {
	// Lines of an order this run already closed arrived too late to join
	// it: the order is (or is about to be) stored without them, and an
	// order is never recorded twice, so they are rejected with the reason.
	fresh := batch[:0:0]
	for _, o := range batch {
		first, again := w.seen[groupKey(o.Ref, o.Status)]
		if !again {
			w.seen[groupKey(o.Ref, o.Status)] = o.LineNos[0]
			fresh = append(fresh, o)
			continue
		}
		for i := range o.Lines {
			lerr := kizuna.Errorf(kizuna.EINVALID, "order %s was already closed (it began on line %d); list an order's lines together, within %d rows of each other", o.Ref, first, w.im.opts.Window)
			if err := w.rej.reject(o.LineNos[i], lerr, o.Records[i]); err != nil {
				return err
			}
		}
	}
	return w.store(ctx, fresh)
}

// store writes orders in one transaction; if the service refuses one of
// them, it writes them one by one so that only the refused order's lines
// are rejected.
func (w *orderWriter) store(ctx context.Context, batch []*pendingOrder) error {
	if len(batch) == 0 {
		return nil
	}
	var res batchResult
	err := w.im.db.WriteTx(ctx, func(tx *db.Tx) error {
		var err error
		res, err = w.writeTx(ctx, tx, batch)
		return err
	})
	switch {
	case err != nil && isInvalid(err) && len(batch) > 1:
		for _, o := range batch {
			if err := w.store(ctx, []*pendingOrder{o}); err != nil {
				return err
			}
		}
		return nil
	case err != nil && isInvalid(err):
		o := batch[0]
		for i := range o.Lines {
			if rerr := w.rej.reject(o.LineNos[i], err, o.Records[i]); rerr != nil {
				return rerr
			}
		}
		return nil
	case err != nil:
		return fmt.Errorf("importer: write orders: %w", err)
	}
	w.apply(res)
	return nil
}

func (w *orderWriter) apply(res batchResult) {
	s := w.sum
	s.Orders += res.orders
	s.OrdersExisting += res.existing
	s.Cancellations += res.cancels
	s.Lines += res.lines
	s.GuestOrders += res.guests
	s.GuestSkipped += res.guestSkipped
	for _, id := range res.created {
		w.created[id] = struct{}{}
	}
	for _, id := range res.matched {
		if _, ok := w.created[id]; !ok {
			w.matched[id] = struct{}{}
		}
	}
}

// guestAnonymousID keys a guest order's profile. A guest cannot be told
// apart from any other guest, so each guest order is its own profile; the
// key is the order reference, so re-importing finds the same profile, and
// an alias or identify that carries this anonymousId with a customer's id
// merges the order into that customer.
//
// INTEGRATION(customer): customer.Keys has no order-id field although
// identities have the kind KindOrderID; with one, this becomes
// Keys{OrderID: ref} and the identity kind order_id.
func guestAnonymousID(ref string) string { return "guest-order:" + ref }

func (w *orderWriter) writeTx(ctx context.Context, tx *db.Tx, batch []*pendingOrder) (batchResult, error) {
	var res batchResult
	existing, err := existingOrderRefs(ctx, tx, batch)
	if err != nil {
		return res, err
	}
	var todo []*pendingOrder
	for _, o := range batch {
		stored, known := existing[o.Ref]
		if known && o.Status != "completed" {
			// A refund or cancellation of a stored order (a returns file
			// after the orders file) is recorded unless this very
			// adjustment already was.
			if stored, err = adjustmentRecorded(ctx, tx, o.Ref, adjustmentKey(o)); err != nil {
				return res, err
			}
		}
		switch {
		case stored:
			res.existing++
		case o.Key.guest() && w.im.opts.Guests == GuestSkip:
			res.guestSkipped++
		default:
			todo = append(todo, o)
		}
	}
	if len(todo) == 0 {
		return res, nil
	}
	before, err := maxCustomerID(ctx, tx)
	if err != nil {
		return res, err
	}
	// One resolve per customer per batch, carrying the latest order time,
	// rather than one per order: fewer profile updates, same result.
	reqIndex := make(map[customerKey]int)
	var reqs []customer.Resolve
	orderReq := make([]int, len(todo))
	for i, o := range todo {
		key := o.Key
		var keys customer.Keys
		traits := &customer.Traits{Country: o.Country}
		if key.guest() {
			key = customerKey{UserID: "\x00guest:" + o.Ref} // map key only
			keys.AnonymousID = guestAnonymousID(o.Ref)
			traits.Attributes = map[string]any{"guest": true}
		} else {
			keys = customer.Keys{UserID: o.Key.UserID, Email: o.Key.Email, Phone: o.Key.Phone}
		}
		j, ok := reqIndex[key]
		if !ok {
			j = len(reqs)
			reqIndex[key] = j
			reqs = append(reqs, customer.Resolve{Keys: keys, Traits: traits, Source: w.im.opts.Source, SeenAt: o.PlacedAt})
		} else if o.PlacedAt.After(reqs[j].SeenAt) {
			reqs[j].SeenAt = o.PlacedAt
			if o.Country != "" {
				reqs[j].Traits.Country = o.Country
			}
		}
		orderReq[i] = j
	}
	ids, err := w.im.customers.ResolveTx(ctx, tx, reqs)
	if err != nil {
		return res, err
	}
	if len(ids) != len(reqs) {
		return res, fmt.Errorf("importer: resolve returned %d ids for %d requests", len(ids), len(reqs))
	}
	for _, id := range ids {
		if id > before {
			res.created = append(res.created, id)
		} else {
			res.matched = append(res.matched, id)
		}
	}
	inputs := make([]customer.OrderInput, len(todo))
	for i, o := range todo {
		inputs[i] = customer.OrderInput{
			CustomerID: ids[orderReq[i]],
			Ref:        o.Ref,
			Source:     w.im.opts.Source,
			Currency:   o.Currency,
			Status:     o.Status,
			PlacedAt:   o.PlacedAt,
			Lines:      o.Lines,
		}
		if o.Status != "completed" {
			inputs[i].AdjustmentKey = adjustmentKey(o)
		}
		res.orders++
		res.lines += int64(len(o.Lines))
		if o.Status != "completed" {
			res.cancels++
		}
		if o.Key.guest() {
			res.guests++
		}
	}
	if err := w.im.customers.RecordOrdersTx(ctx, tx, inputs); err != nil {
		return res, err
	}
	return res, nil
}

// existingOrderRefs returns the batch's references the store already
// holds, each with whether its sale is recorded (an order can exist from a
// refund that arrived before it). Re-importing a file therefore skips its
// orders instead of appending a cancellation's lines a second time.
func existingOrderRefs(ctx context.Context, tx *db.Tx, batch []*pendingOrder) (map[string]bool, error) {
	found := make(map[string]bool)
	const chunk = 500
	for start := 0; start < len(batch); start += chunk {
		part := batch[start:min(start+chunk, len(batch))]
		args := make([]any, len(part))
		for i, o := range part {
			args[i] = o.Ref
		}
		// The statement's shape depends only on the count; values are bound.
		rows, err := tx.QueryContext(ctx, `SELECT order_ref, has_sale FROM orders WHERE order_ref IN (`+db.Placeholders(1, len(args))+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("importer: look up order refs: %w", err)
		}
		for rows.Next() {
			var ref string
			var hasSale int64
			if err := rows.Scan(&ref, &hasSale); err != nil {
				rows.Close()
				return nil, err
			}
			found[ref] = hasSale != 0
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return found, nil
}

// adjustmentKey names a refund or cancellation by its content, so that
// importing it again is recognised (by the customer service and by
// adjustmentRecorded) while two different refunds of one order are not
// mistaken for each other.
func adjustmentKey(o *pendingOrder) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d", o.Ref, o.Status, o.Currency, o.PlacedAt.UnixMilli())
	for _, l := range o.Lines {
		fmt.Fprintf(h, "\x00%s\x00%d\x00%d", l.SKU, l.Quantity, l.AmountMinor)
	}
	return "import:" + hex.EncodeToString(h.Sum(nil)[:12])
}

// adjustmentRecorded reports whether the order ref already carries lines
// recorded under the adjustment key.
func adjustmentRecorded(ctx context.Context, tx *db.Tx, ref, key string) (bool, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
		WHERE o.order_ref = $1 AND l.adjustment_key = $2`, ref, key).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("importer: look up adjustment of order %s: %w", ref, err)
	}
	return n > 0, nil
}
