// Package dbtest opens fresh, migrated stores for tests on every engine
// available: always SQLite (a file in t.TempDir), and PostgreSQL when
// KIZUNA_TEST_POSTGRES_DSN is set (CI always sets it). Each Postgres store
// lives in a schema of its own, dropped when the test ends, so tests can run
// in parallel against one server.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kizuna-oss/kizuna/internal/db"
)

// EnvPostgresDSN names the environment variable with the Postgres server
// the tests may use.
const EnvPostgresDSN = "KIZUNA_TEST_POSTGRES_DSN"

// Engine is one engine a contract test runs on.
type Engine struct {
	Name string
	// Open returns a fresh migrated store, closed when the test ends.
	Open func(t testing.TB) *db.DB
	// DSN returns a fresh migrated database and its DSN without keeping it
	// open, for tests that start `kizuna serve` processes on it.
	DSN func(t testing.TB) string
}

// Engines lists SQLite and, when configured, Postgres.
func Engines(t testing.TB) []Engine {
	e := []Engine{{Name: "sqlite", Open: OpenSQLite, DSN: SQLiteDSN}}
	if os.Getenv(EnvPostgresDSN) != "" {
		e = append(e, Engine{Name: "postgres", Open: OpenPostgres, DSN: PostgresDSN})
	}
	return e
}

// Run runs f once per engine as a subtest.
func Run(t *testing.T, f func(t *testing.T, d *db.DB)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			f(t, e.Open(t))
		})
	}
}

// SQLiteDSN returns the path of a fresh, migrated SQLite database.
func SQLiteDSN(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kizuna.db")
	d := open(t, path)
	d.Close()
	return path
}

// OpenSQLite opens a fresh, migrated SQLite database.
func OpenSQLite(t testing.TB) *db.DB {
	t.Helper()
	d := open(t, filepath.Join(t.TempDir(), "kizuna.db"))
	t.Cleanup(func() { d.Close() })
	return d
}

// PostgresDSN creates a fresh schema on the test server and returns a DSN
// whose search_path points at it. It skips the test when no server is set.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgresDSN)
	if base == "" {
		t.Skip("postgres: " + EnvPostgresDSN + " is not set")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "kz_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("postgres: bad %s: %v", EnvPostgresDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	d := open(t, dsn)
	d.Close()
	return dsn
}

// OpenPostgres opens a fresh, migrated Postgres schema.
func OpenPostgres(t testing.TB) *db.DB {
	t.Helper()
	dsn := PostgresDSN(t)
	d := open(t, dsn)
	t.Cleanup(func() { d.Close() })
	return d
}

func open(t testing.TB, dsn string) *db.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d, err := db.Open(ctx, dsn, db.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	if err := d.Migrate(ctx); err != nil {
		d.Close()
		t.Fatalf("migrate %s: %v", dsn, err)
	}
	return d
}
