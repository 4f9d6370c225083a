package db

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// SQLite treats $1 … $N as named parameters and finds each one's name by a
// linear scan, so binding a statement with thousands of them (a multi-row
// INSERT) is quadratic: 400 rows × 12 columns ran at 4,000 rows/s instead
// of 110,000. Anonymous ? parameters bind in constant time. The SQL text
// stays portable ($N everywhere); on SQLite a write transaction rewrites
// statements whose $N appear exactly once each, in order 1…N, to ?.

var (
	rebound     sync.Map // SQL text → SQLite text
	reboundSize atomic.Int64
)

// maxRebound bounds the cache: statement shapes are finite, but IN lists
// of every length multiply them, and a cache must not grow without end.
const maxRebound = 20_000

func rebindSQLite(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	out := rebind(q)
	if reboundSize.Load() < maxRebound {
		if _, loaded := rebound.LoadOrStore(q, out); !loaded {
			reboundSize.Add(1)
		}
	}
	return out
}

// rebind returns q with $1…$N replaced by ?, or q unchanged when the
// parameters are not used once each in ascending order or when a $ stands
// inside a quoted string, identifier or comment.
func rebind(q string) string {
	buf := make([]byte, 0, len(q))
	next := 1
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		if quote != 0 {
			if c == quote {
				quote = 0
			}
			buf = append(buf, c)
			continue
		}
		// Comments are copied verbatim: an apostrophe in "-- the
		// customer's" must not start a string.
		if c == '-' && i+1 < len(q) && q[i+1] == '-' {
			end := strings.IndexByte(q[i:], '\n')
			if end < 0 {
				end = len(q) - i
			}
			buf = append(buf, q[i:i+end]...)
			i += end - 1
			continue
		}
		if c == '/' && i+1 < len(q) && q[i+1] == '*' {
			end := strings.Index(q[i+2:], "*/")
			if end < 0 {
				return q
			}
			buf = append(buf, q[i:i+2+end+2]...)
			i += 2 + end + 1
			continue
		}
		switch c {
		case '\'', '"', '`':
			quote = c
			buf = append(buf, c)
			continue
		case '$':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			if j == i+1 {
				return q
			}
			n, err := strconv.Atoi(q[i+1 : j])
			if err != nil || n != next {
				return q
			}
			next++
			buf = append(buf, '?')
			i = j - 1
			continue
		}
		buf = append(buf, c)
	}
	return string(buf)
}

// Rebind returns q as dialect d should receive it: unchanged on Postgres,
// with $1…$N rewritten to ? on SQLite where that is safe. Write
// transactions apply it themselves; call it for queries on the reader pool
// that carry many parameters.
func Rebind(d Dialect, q string) string {
	if d == SQLite {
		return rebindSQLite(q)
	}
	return q
}

func (tx *Tx) sql(q string) string { return Rebind(tx.Dialect, q) }

// ExecContext runs a statement in the transaction.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.sql(q), args...)
}

// QueryContext runs a query in the transaction.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.sql(q), args...)
}

// QueryRowContext runs a one-row query in the transaction.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.sql(q), args...)
}

// maxPrepared bounds the statements kept by ExecPrepared and QueryPrepared.
const maxPrepared = 64

// ExecPrepared is ExecContext through the statement kept for q by Keep
// (plain ExecContext if there is none), for hot statements of fixed text. SQLite otherwise parses the statement on every call — 12 %
// of ingest CPU for the events INSERT. Postgres's driver already caches
// prepared statements per connection, so there it is plain ExecContext.
func (tx *Tx) ExecPrepared(ctx context.Context, q string, args ...any) (sql.Result, error) {
	stmt, err := tx.prepared(ctx, q)
	if err != nil || stmt == nil {
		if err == nil {
			return tx.ExecContext(ctx, q, args...)
		}
		return nil, err
	}
	return tx.Tx.StmtContext(ctx, stmt).ExecContext(ctx, args...)
}

// QueryPrepared is QueryContext through a kept statement; see ExecPrepared.
func (tx *Tx) QueryPrepared(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	stmt, err := tx.prepared(ctx, q)
	if err != nil || stmt == nil {
		if err == nil {
			return tx.QueryContext(ctx, q, args...)
		}
		return nil, err
	}
	return tx.Tx.StmtContext(ctx, stmt).QueryContext(ctx, args...)
}

// prepared returns the statement kept for q by Keep, or nil (use the plain
// path).
func (tx *Tx) prepared(_ context.Context, q string) (*sql.Stmt, error) {
	d := tx.db
	if d == nil {
		return nil, nil
	}
	d.stmtMu.Lock()
	defer d.stmtMu.Unlock()
	return d.stmts[q], nil
}

// Keep prepares q on the writer pool once, for Tx.ExecPrepared and
// Tx.QueryPrepared; it does nothing on Postgres. Call it outside any
// transaction: SQLite has one writer connection, which a transaction holds.
func (db *DB) Keep(ctx context.Context, q string) error {
	if db.Dialect != SQLite {
		return nil
	}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if _, ok := db.stmts[q]; ok {
		return nil
	}
	if len(db.stmts) >= maxPrepared {
		return fmt.Errorf("db: more than %d kept statements", maxPrepared)
	}
	st, err := db.write.PrepareContext(ctx, Rebind(db.Dialect, q))
	if err != nil {
		return fmt.Errorf("db: prepare: %w", err)
	}
	if db.stmts == nil {
		db.stmts = map[string]*sql.Stmt{}
	}
	db.stmts[q] = st
	return nil
}

// PrepareContext prepares a statement for use in the transaction.
func (tx *Tx) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return tx.Tx.PrepareContext(ctx, tx.sql(q))
}
