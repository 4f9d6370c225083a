package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kizuna-oss/kizuna"
	"github.com/kizuna-oss/kizuna/internal/auth"
	"github.com/kizuna-oss/kizuna/internal/customer"
	"github.com/kizuna-oss/kizuna/internal/db"
)

// Outcome of one message.
const (
	StatusAccepted  = 200
	StatusInvalid   = 400
	StatusConflict  = 409
	StatusTooLarge  = 413
	StatusInternal  = 500
	StatusOverload  = 503
	outcomeAccepted = "accepted"
	outcomeReplay   = "duplicate"
	outcomeConflict = "conflict"
	outcomeInvalid  = "invalid"
	outcomeError    = "error"
)

// Result is what became of one submitted message.
type Result struct {
	Status    int // 200 stored or replayed, 409 conflict, 500 internal
	Duplicate bool
	Err       error
}

// WriterConfig tunes the group-commit writer.
type WriterConfig struct {
	// MaxBatch bounds the messages stored in one transaction.
	MaxBatch int
	// QueueSize bounds the messages waiting for a transaction. Beyond it,
	// Submit refuses with EUNAVAILABLE (HTTP 503 + Retry-After) instead of
	// buffering without bound.
	QueueSize int
	// Writers is the number of concurrent transactions: 1 on SQLite (one
	// writer at a time), 2 on Postgres — measured on 2 cores: 1 writer
	// leaves the server idle during each commit's fsync; 4 or 8 split the
	// queue into small groups that contend for the same customer rows
	// (batch 31k events/s with 2, 26k with 8, 19k with 1).
	Writers int
	Metrics *Metrics
	Logger  *slog.Logger
}

// Writer stores messages with group commit: requests queue up while a
// transaction commits, and the next transaction takes all of them at once.
// Every Submit returns only after its messages are committed (or refused).
type Writer struct {
	db        *db.DB
	customers *customer.Service
	cfg       WriterConfig
	log       *slog.Logger

	in      chan *submission
	pending atomic.Int64 // messages queued or being written

	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup
	quit     chan struct{}
	loops    sync.WaitGroup
}

type submission struct {
	sourceID int64
	msgs     []*Message
	orders   []*customer.OrderInput // parallel to msgs; nil where none
	results  []Result
	done     chan struct{}
}

// NewWriter starts the writer's loops; Close stops them.
func NewWriter(d *db.DB, customers *customer.Service, cfg WriterConfig) *Writer {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 4000
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = 100_000
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 1
		if d.Dialect == db.Postgres {
			cfg.Writers = 2
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Writer{
		db: d, customers: customers, cfg: cfg, log: cfg.Logger,
		in:   make(chan *submission, 4096),
		quit: make(chan struct{}),
	}
	if err := Prepare(context.Background(), d); err != nil {
		w.log.Warn("ingest: statements not kept prepared", "err", err)
	}
	for i := 0; i < cfg.Writers; i++ {
		w.loops.Add(1)
		go w.loop()
	}
	return w
}

var errClosed = &kizuna.Error{Code: kizuna.EUNAVAILABLE, Message: "the server is shutting down; retry shortly"}

// Submit stores msgs (from one source) and returns one Result per message
// once they are durable. orders, if not nil, is parallel to msgs. A full
// queue returns EUNAVAILABLE at once. If ctx ends first Submit returns its
// error, but messages already queued are still written: a client that gave
// up retries, and the retry is recognised as a replay.
func (w *Writer) Submit(ctx context.Context, sourceID int64, msgs []*Message, orders []*customer.OrderInput) ([]Result, error) {
	if len(msgs) == 0 {
		return nil, nil
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return nil, errClosed
	}
	w.inflight.Add(1)
	w.mu.RUnlock()
	defer w.inflight.Done()

	n := int64(len(msgs))
	if w.pending.Add(n) > int64(w.cfg.QueueSize) {
		w.pending.Add(-n)
		w.cfg.Metrics.overload()
		return nil, &kizuna.Error{Code: kizuna.EUNAVAILABLE, Message: "ingestion is at capacity; retry after a second"}
	}
	w.cfg.Metrics.queue(w.pending.Load())
	if orders == nil {
		orders = make([]*customer.OrderInput, len(msgs))
	}
	s := &submission{sourceID: sourceID, msgs: msgs, orders: orders, results: make([]Result, len(msgs)), done: make(chan struct{})}
	w.in <- s
	select {
	case <-s.done:
		return s.results, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Pending is the number of messages queued or being written.
func (w *Writer) Pending() int64 { return w.pending.Load() }

// Close refuses new submissions, finishes every queued one, and stops.
func (w *Writer) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.mu.Unlock()
	w.inflight.Wait()
	close(w.quit)
	w.loops.Wait()
}

func (w *Writer) loop() {
	defer w.loops.Done()
	for {
		var first *submission
		select {
		case first = <-w.in:
		case <-w.quit:
			// Submissions finished before quit closed, but drain in case.
			for {
				select {
				case s := <-w.in:
					w.write([]*submission{s})
				default:
					return
				}
			}
		}
		group := []*submission{first}
		n := len(first.msgs)
	more:
		for n < w.cfg.MaxBatch {
			select {
			case s := <-w.in:
				group = append(group, s)
				n += len(s.msgs)
			default:
				break more
			}
		}
		w.write(group)
	}
}

// item is one message on its way into a transaction.
type item struct {
	sub   *submission
	i     int
	msg   *Message
	order *customer.OrderInput
}

func (it item) result() *Result { return &it.sub.results[it.i] }

// errRace means messageIds kept clashing after several rounds of sorting
// out replays (writers on other nodes storing the same messages at the
// same time); the group is retried.
var errRace = errors.New("ingest: concurrent insert of the same messageId")

func (w *Writer) write(group []*submission) {
	var items []item
	for _, s := range group {
		for i, m := range s.msgs {
			items = append(items, item{sub: s, i: i, msg: m, order: s.orders[i]})
		}
	}
	start := time.Now()
	// Background context: once queued, a message is written even if its
	// client went away; only the writer's own failure stops it.
	ctx := auth.System(context.Background(), "ingest")
	err := w.commit(ctx, items)
	if err != nil {
		// One poisoned message must not fail its neighbours: store each
		// message in its own transaction to find it.
		w.log.Warn("ingest: group commit failed; retrying messages one by one", "messages", len(items), "err", err)
		for _, it := range items {
			if err := w.commit(ctx, []item{it}); err != nil {
				w.log.Error("ingest: message failed", "message_id", it.msg.MessageID, "err", err)
				*it.result() = Result{Status: StatusInternal, Err: &kizuna.Error{Code: kizuna.EINTERNAL, Message: "could not store the message", Err: err}}
			}
		}
	}
	w.cfg.Metrics.commit(time.Since(start), items)
	w.pending.Add(-int64(len(items)))
	w.cfg.Metrics.queue(w.pending.Load())
	for _, s := range group {
		close(s.done)
	}
}

// commit stores items in one transaction: dedup, identity resolution,
// events, orders. It fills every item's result; on error the caller
// discards them.
//
// Dedup is optimistic: replays are rare, so rather than look every
// messageId up first, commit stores the group with a plain INSERT. If that
// fails on the unique (source, messageId) key, the whole transaction is
// rolled back (so a refused message leaves nothing behind, not even a
// profile), the group's stored body hashes are read, and the rest is
// stored again. No savepoints: they cost two round trips per group on
// Postgres, for the rare group with a replay.
func (w *Writer) commit(ctx context.Context, items []item) error {
	known := map[dedupKey]string{}
	for attempt := 0; attempt < 5; attempt++ {
		fresh := classify(items, known)
		if len(fresh) == 0 {
			return nil
		}
		err := w.db.WriteTx(ctx, func(tx *db.Tx) error { return w.store(ctx, tx, fresh) })
		if !errors.Is(err, errStored) {
			return err
		}
		// The clashing rows are committed: an INSERT waits for a
		// concurrent writer's transaction before it reports the clash.
		stored, err := w.lookupStored(ctx, fresh)
		if err != nil {
			return err
		}
		for k, h := range stored {
			known[k] = h
		}
	}
	return errRace
}

type dedupKey struct {
	source int64
	id     string
}

// classify answers replays and conflicts — against known (messageIds found
// stored) and within the group — and returns the items still to store.
func classify(items []item, known map[dedupKey]string) []item {
	seen := make(map[dedupKey]*Message, len(items))
	fresh := make([]item, 0, len(items))
	for _, it := range items {
		k := dedupKey{it.sub.sourceID, it.msg.MessageID}
		hash, stored := known[k]
		if prev, ok := seen[k]; ok {
			hash, stored = prev.BodyHash, true
		}
		switch {
		case !stored:
			seen[k] = it.msg
			fresh = append(fresh, it)
		case hash == it.msg.BodyHash:
			*it.result() = Result{Status: StatusAccepted, Duplicate: true}
		default:
			*it.result() = Result{Status: StatusConflict, Err: &kizuna.Error{Code: kizuna.ECONFLICT, Field: "messageId",
				Message: fmt.Sprintf("messageId %q was already used for a different message; a retry must resend the same body", it.msg.MessageID)}}
		}
	}
	return fresh
}

// store resolves the fresh items' customers and inserts their events and
// orders. It returns errStored if a messageId turned out to be stored
// already (the caller then rolls back and sorts them out).
func (w *Writer) store(ctx context.Context, tx *db.Tx, fresh []item) error {
	// Who is it: one profile per message.
	reqs := make([]customer.Resolve, len(fresh))
	for i, it := range fresh {
		reqs[i] = it.msg.resolveRequest(fmt.Sprintf("segment:%d", it.sub.sourceID))
	}
	profiles, err := w.customers.ResolveTx(ctx, tx, reqs)
	if err != nil {
		return fmt.Errorf("resolve identities: %w", err)
	}

	// The events themselves. On errStored every fresh item is a suspect:
	// the caller looks them all up.
	ids, err := insertEvents(ctx, tx, fresh, profiles)
	if err != nil {
		return err
	}

	// Orders from e-commerce events.
	var orders []customer.OrderInput
	for i, it := range fresh {
		*it.result() = Result{Status: StatusAccepted}
		if it.order != nil {
			o := *it.order
			o.CustomerID = profiles[i]
			o.EventID = ids[i]
			orders = append(orders, o)
		}
	}
	if len(orders) > 0 {
		if err := w.customers.RecordOrdersTx(ctx, tx, orders); err != nil {
			return fmt.Errorf("record orders: %w", err)
		}
	}
	return nil
}

// lookupStored returns the body hashes of the group's messageIds already
// stored.
func (w *Writer) lookupStored(ctx context.Context, items []item) (map[dedupKey]string, error) {
	bySource := map[int64][]string{}
	for _, it := range items {
		bySource[it.sub.sourceID] = append(bySource[it.sub.sourceID], it.msg.MessageID)
	}
	known := map[dedupKey]string{}
	const chunk = 500
	for source, ids := range bySource {
		for start := 0; start < len(ids); start += chunk {
			part := ids[start:min(start+chunk, len(ids))]
			in, inArgs := db.InText(w.db.Dialect, 2, part)
			args := append([]any{source}, inArgs...)
			q := db.Rebind(w.db.Dialect, `SELECT message_id, body_hash FROM events WHERE source_id = $1 AND message_id`+in)
			rows, err := w.db.Reader().QueryContext(ctx, q, args...)
			if err != nil {
				return nil, fmt.Errorf("dedup lookup: %w", err)
			}
			for rows.Next() {
				var id, hash string
				if err := rows.Scan(&id, &hash); err != nil {
					rows.Close()
					return nil, err
				}
				known[dedupKey{source, id}] = hash
			}
			if err := rows.Close(); err != nil {
				return nil, err
			}
			if err := rows.Err(); err != nil {
				return nil, err
			}
		}
	}
	return known, nil
}

const eventColumns = 12

// errStored reports that a group's INSERT hit a messageId already stored
// (by an earlier request or a concurrent writer).
var errStored = errors.New("ingest: messageId already stored")

// EventRow is one events row as the writer stores it.
type EventRow struct {
	Source                              int64
	MessageID, Hash, Type, Name         string
	Customer                            int64
	UserID, AnonID, Properties, Context string
	Occurred, Received                  int64 // Unix ms
}

func newEventRow(it item, profile int64) EventRow {
	m := it.msg
	payload, name := m.Properties, m.Name
	switch m.Type {
	case TypeIdentify:
		payload = m.Traits
	case TypeGroup:
		payload, name = m.Traits, m.GroupID
	case TypeAlias:
		name = m.PreviousID
	}
	return EventRow{it.sub.sourceID, m.MessageID, m.BodyHash, m.Type, name, profile,
		m.UserID, m.AnonymousID, jsonText(payload), jsonText(m.Context),
		m.Timestamp.UnixMilli(), m.ReceivedAt.UnixMilli()}
}

// insertEvents stores the messages and returns the ids of those that
// become orders (0 for the rest). If any (source, messageId) is already
// stored it returns errStored and the caller rolls back to its savepoint:
// a plain INSERT that fails on the unique key is cheaper than INSERT … ON
// CONFLICT on every row (Postgres's speculative insertion cost 15–20 % of
// the insert rate), and replays are rare.
func insertEvents(ctx context.Context, tx *db.Tx, items []item, profiles []int64) ([]int64, error) {
	rows := make([]EventRow, len(items))
	want := make([]bool, len(items))
	for i, it := range items {
		rows[i] = newEventRow(it, profiles[i])
		want[i] = it.order != nil
	}
	return InsertEvents(ctx, tx, rows, want)
}

// InsertEvents inserts rows and returns the ids of the rows where want is
// true (0 elsewhere; want may be nil), or errStored if a (source, messageId)
// is already stored. Only the rows whose id is wanted pay for RETURNING.
// On Postgres each part is one statement with one array per column: the
// server parses and plans 12 parameters instead of thousands (+25–35 % over
// multi-row VALUES, measured). SQLite has no arrays and takes multi-row
// VALUES. The benchmark's raw-insert ceiling calls it too.
func InsertEvents(ctx context.Context, tx *db.Tx, rows []EventRow, want []bool) ([]int64, error) {
	ids := make([]int64, len(rows))
	var plain, returning []EventRow
	pos := map[dedupKey]int{}
	for i, r := range rows {
		if want != nil && want[i] {
			returning = append(returning, r)
			pos[dedupKey{r.Source, r.MessageID}] = i
		} else {
			plain = append(plain, r)
		}
	}
	if err := insertEventRows(ctx, tx, plain, nil, nil); err != nil {
		return nil, err
	}
	if err := insertEventRows(ctx, tx, returning, ids, pos); err != nil {
		return nil, err
	}
	return ids, nil
}

// chunk is the rows per INSERT statement on SQLite: 400 × 12 parameters.
const chunk = 400

// insertHead starts the writer's INSERT into events.
const insertHead = `INSERT INTO events (source_id, message_id, body_hash, type, name, customer_id, user_id, anonymous_id,
		properties, context, occurred_at, received_at) `

// Prepare keeps the events INSERT of a full chunk prepared on SQLite,
// where parsing it on every call cost 12 % of ingest CPU. NewWriter calls
// it; call it before InsertEvents elsewhere for the same speed.
func Prepare(ctx context.Context, d *db.DB) error {
	return d.Keep(ctx, insertHead+`VALUES `+db.Rows(chunk, eventColumns))
}

// insertEventRows inserts rows; with ids set it files each new row's id
// under its position in pos.
func insertEventRows(ctx context.Context, tx *db.Tx, rows []EventRow, ids []int64, pos map[dedupKey]int) error {
	const head = insertHead
	tail := ""
	if ids != nil {
		tail = ` RETURNING id, source_id, message_id`
	}
	run := func(q string, args []any) error {
		var err error
		switch {
		case ids == nil && len(args) == chunk*eventColumns:
			_, err = tx.ExecPrepared(ctx, q, args...) // the common full chunk
		case ids == nil:
			_, err = tx.ExecContext(ctx, q, args...)
		default:
			err = scanEventIDs(ctx, tx, q, args, ids, pos)
		}
		if db.IsUniqueViolation(err) {
			return errStored
		}
		if err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
		return nil
	}
	if len(rows) == 0 {
		return nil
	}
	if tx.Dialect == db.Postgres {
		const arrays = `SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[],
		$7::text[], $8::text[], $9::text[], $10::text[], $11::bigint[], $12::bigint[])`
		return run(head+arrays+tail, eventArrays(rows))
	}
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		if err := run(head+`VALUES `+db.Rows(len(part), eventColumns)+tail, eventValues(part)); err != nil {
			return err
		}
	}
	return nil
}

// eventArrays returns rows as one array per column.
func eventArrays(rows []EventRow) []any {
	n := len(rows)
	src, cust, occ, rec := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	mid, hash, typ, name := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	uid, aid, props, cx := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rows {
		src[i], mid[i], hash[i], typ[i], name[i], cust[i] = r.Source, r.MessageID, r.Hash, r.Type, r.Name, r.Customer
		uid[i], aid[i], props[i], cx[i], occ[i], rec[i] = r.UserID, r.AnonID, r.Properties, r.Context, r.Occurred, r.Received
	}
	return []any{src, mid, hash, typ, name, cust, uid, aid, props, cx, occ, rec}
}

// eventValues returns rows as the parameters of multi-row VALUES.
func eventValues(rows []EventRow) []any {
	args := make([]any, 0, len(rows)*eventColumns)
	for _, r := range rows {
		args = append(args, r.Source, r.MessageID, r.Hash, r.Type, r.Name, r.Customer,
			r.UserID, r.AnonID, r.Properties, r.Context, r.Occurred, r.Received)
	}
	return args
}

// scanEventIDs runs an INSERT … RETURNING id, source_id, message_id and
// files each id under its row's position.
func scanEventIDs(ctx context.Context, tx *db.Tx, q string, args []any, ids []int64, pos map[dedupKey]int) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, source int64
		var msgID string
		if err := rows.Scan(&id, &source, &msgID); err != nil {
			return err
		}
		ids[pos[dedupKey{source, msgID}]] = id
	}
	return rows.Err()
}

func jsonText(raw []byte) string {
	if len(raw) == 0 {
		return "{}"
	}
	return string(raw)
}
