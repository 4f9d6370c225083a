// Package db opens Kizuna's store on one of two engines — SQLite embedded
// (pure Go, no cgo) or PostgreSQL through pgx — and runs the embedded,
// forward-only migrations.
//
// All application SQL is written once in the portable subset both engines
// accept: $N placeholders, RETURNING, ON CONFLICT, integer unix-millisecond
// timestamps. Only DDL (migrations/sqlite vs migrations/postgres) differs.
//
// Only exported store methods begin and commit transactions; helpers take a
// *Tx. Tx.Now is fixed when the transaction begins so that every row a
// transaction writes carries the same time and tests can pin it.
package db

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the SQL engine behind a DB.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Options tune how a database is opened.
type Options struct {
	// UnsafeFast lowers SQLite's synchronous pragma from FULL to NORMAL: a
	// commit is then durable against a process crash but not against power
	// loss. Off by default; exposed as `kizuna serve --unsafe-fast`.
	UnsafeFast bool
	// ReadConns bounds the reader pool; 0 picks a default from GOMAXPROCS.
	ReadConns int
	// Now replaces the clock (tests). Nil means time.Now.
	Now func() time.Time
}

// DB is an open store. Writes go through one pool, reads through another:
// on SQLite the write pool holds a single connection (SQLite has one writer;
// queuing in Go is cheaper than SQLITE_BUSY retries) and the read pool many
// (WAL lets readers run beside the writer). On Postgres both are one pool.
type DB struct {
	Dialect Dialect
	DSN     string

	write *sql.DB
	read  *sql.DB
	now   func() time.Time

	stmtMu sync.Mutex
	stmts  map[string]*sql.Stmt // see Tx.ExecPrepared
}

// IsPostgresDSN reports whether dsn names a PostgreSQL server rather than a
// SQLite file.
func IsPostgresDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens (creating if needed) the database named by dsn: a file path for
// SQLite, or a postgres:// URL. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("db: empty database name")
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	db := &DB{DSN: dsn, now: now}
	var err error
	if IsPostgresDSN(dsn) {
		err = db.openPostgres(ctx, dsn, opts)
	} else {
		err = db.openSQLite(ctx, dsn, opts)
	}
	if err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func (db *DB) openPostgres(ctx context.Context, dsn string, opts Options) error {
	db.Dialect = Postgres
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("db: bad postgres URL: %w", err)
	}
	// Tables start empty and grow fast (ingestion). A generic plan cached
	// while a table was tiny keeps its sequential scan after the table has
	// millions of rows: the dedup lookup took 350 ms instead of 2 ms. Plan
	// every execution with the parameters and current statistics instead.
	if _, ok := cfg.RuntimeParams["plan_cache_mode"]; !ok {
		cfg.RuntimeParams["plan_cache_mode"] = "force_custom_plan"
	}
	p := stdlib.OpenDB(*cfg)
	n := opts.ReadConns
	if n <= 0 {
		n = 4 * runtime.GOMAXPROCS(0)
	}
	p.SetMaxOpenConns(n + 4)
	p.SetMaxIdleConns(n + 4)
	p.SetConnMaxIdleTime(5 * time.Minute)
	db.write, db.read = p, p
	if err := p.PingContext(ctx); err != nil {
		return fmt.Errorf("db: connect postgres: %w", err)
	}
	return nil
}

// sqlitePragmas are applied to every connection. The driver runs them on
// connect, so a pooled connection can never miss one.
//   - journal_mode=WAL: readers never block the writer and vice versa.
//   - synchronous=FULL: WAL is fsynced at every commit, so an acknowledged
//     write survives power loss (NORMAL only survives a process crash).
//   - busy_timeout: a second process (kizuna import while serve runs) waits
//     for the lock instead of failing at once.
//   - foreign_keys: SQLite leaves them off by default.
//   - cache_size/temp_store: fewer page faults for dashboard queries.
func sqliteDSN(path string, synchronous string, readOnly bool) string {
	v := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"synchronous(" + synchronous + ")",
		"busy_timeout(10000)",
		"foreign_keys(ON)",
		"cache_size(-32000)",
		"temp_store(MEMORY)",
	} {
		v.Add("_pragma", p)
	}
	if readOnly {
		v.Add("_pragma", "query_only(ON)")
	} else {
		// BEGIN IMMEDIATE takes the write lock up front, so a transaction
		// that reads then writes cannot deadlock against another process.
		v.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + v.Encode()
}

func (db *DB) openSQLite(ctx context.Context, path string, opts Options) error {
	db.Dialect = SQLite
	path = strings.TrimPrefix(path, "sqlite://")
	path = strings.TrimPrefix(path, "file:")
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	sync := "FULL"
	if opts.UnsafeFast {
		sync = "NORMAL"
	}
	w, err := sql.Open("sqlite", sqliteDSN(path, sync, false))
	if err != nil {
		return fmt.Errorf("db: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db.write = w
	// Touch the write pool first: it creates the file and switches it to WAL
	// before any reader opens it.
	if err := w.PingContext(ctx); err != nil {
		return fmt.Errorf("db: open sqlite %s: %w", path, err)
	}
	r, err := sql.Open("sqlite", sqliteDSN(path, sync, true))
	if err != nil {
		return fmt.Errorf("db: open sqlite: %w", err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxIdleTime(5 * time.Minute)
	db.read = r
	if err := r.PingContext(ctx); err != nil {
		return fmt.Errorf("db: open sqlite readers %s: %w", path, err)
	}
	return nil
}

// Close closes both pools.
func (db *DB) Close() error {
	var errs []error
	db.stmtMu.Lock()
	for _, st := range db.stmts {
		errs = append(errs, st.Close())
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	if db.read != nil && db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	return errors.Join(errs...)
}

// Now is the store's clock.
func (db *DB) Now() time.Time { return db.now() }

// Reader is the pool for queries that never write.
func (db *DB) Reader() *sql.DB { return db.read }

// Writer is the write pool. Prefer WriteTx; this exists for migrations,
// benchmarks and bulk loaders that manage their own transactions.
func (db *DB) Writer() *sql.DB { return db.write }

// Tx is a write transaction with its start time fixed.
type Tx struct {
	*sql.Tx
	Dialect Dialect
	// Now is the time the transaction began, in unix milliseconds as stored.
	Now time.Time
	db  *DB
}

// NowMS is Tx.Now as stored in the database.
func (tx *Tx) NowMS() int64 { return tx.Now.UnixMilli() }

// WriteTx runs fn in a write transaction and commits it if fn returns nil.
// On Postgres a serialization failure or deadlock is retried a few times, as
// several nodes may write the same rows; fn must therefore be safe to re-run.
func (db *DB) WriteTx(ctx context.Context, fn func(tx *Tx) error) error {
	const attempts = 5
	var err error
	for i := 0; i < attempts; i++ {
		err = db.writeTxOnce(ctx, fn)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(i+1) * 5 * time.Millisecond)
	}
	return err
}

func (db *DB) writeTxOnce(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("db: begin: %w", err)
	}
	tx := &Tx{Tx: sqlTx, Dialect: db.Dialect, Now: db.now(), db: db}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			_ = sqlTx.Rollback()
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return fmt.Errorf("db: commit: %w", err)
	}
	return nil
}

// retryable reports whether err is a transient conflict between concurrent
// writers that a re-run of the transaction resolves.
func retryable(err error) bool {
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		switch coded.SQLState() {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return true
		}
	}
	return false
}

// IsUniqueViolation reports whether err is a unique-constraint violation on
// either engine.
func IsUniqueViolation(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ SQLState() string }
	if errors.As(err, &coded) {
		return coded.SQLState() == "23505"
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "constraint failed: UNIQUE")
}

// Placeholders returns "$from, $from+1, …" for n parameters, for multi-row
// statements built from a fixed shape (never from input).
func Placeholders(from, n int) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d", from+i)
	}
	return b.String()
}

// Rows returns "($1, $2), ($3, $4), …" for rows of width columns each.
// Batch sizes repeat, so each shape is built once and cached.
func Rows(rows, width int) string {
	key := [2]int{rows, width}
	if v, ok := rowsCache.Load(key); ok {
		return v.(string)
	}
	b := make([]byte, 0, rows*width*7)
	n := 1
	for r := 0; r < rows; r++ {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '(')
		for c := 0; c < width; c++ {
			if c > 0 {
				b = append(b, ", "...)
			}
			b = append(b, '$')
			b = strconv.AppendInt(b, int64(n), 10)
			n++
		}
		b = append(b, ')')
	}
	out := string(b)
	rowsCache.Store(key, out)
	return out
}

var rowsCache sync.Map // [2]int{rows, width} → string

// MaxParams is the number of bind parameters one statement may carry on
// every supported engine (SQLite's default SQLITE_MAX_VARIABLE_NUMBER is
// 32766, Postgres allows 65535).
const MaxParams = 32766

// InText returns a membership test for a text column against vals — "
// = ANY($from)" with one array parameter on Postgres, " IN (SELECT value
// FROM json_each($from))" with one JSON array on SQLite — and its argument.
// One parameter keeps the statement text, and its parsing and planning,
// the same whatever len(vals) is: SQLite spent 14 % of ingest CPU parsing
// IN lists of up to 2,000 placeholders.
func InText(d Dialect, from int, vals []string) (string, []any) {
	if d == Postgres {
		return " = ANY($" + strconv.Itoa(from) + ")", []any{vals}
	}
	for _, v := range vals {
		if !utf8.ValidString(v) {
			// JSON would replace the invalid bytes: list them instead.
			args := make([]any, len(vals))
			for i, v := range vals {
				args[i] = v
			}
			return " IN (" + Placeholders(from, len(vals)) + ")", args
		}
	}
	return jsonIn(from, vals)
}

// InInt is InText for integer columns.
func InInt(d Dialect, from int, vals []int64) (string, []any) {
	if d == Postgres {
		return " = ANY($" + strconv.Itoa(from) + ")", []any{vals}
	}
	return jsonIn(from, vals)
}

func jsonIn[T string | int64](from int, vals []T) (string, []any) {
	if vals == nil {
		vals = []T{} // "[]", not "null"
	}
	b, err := json.Marshal(vals)
	if err != nil {
		panic(err) // strings and integers always marshal
	}
	return " IN (SELECT value FROM json_each($" + strconv.Itoa(from) + "))", []any{string(b)}
}
