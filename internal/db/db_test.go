package db_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kizuna-oss/kizuna/internal/db"
	"github.com/kizuna-oss/kizuna/internal/db/dbtest"
)

func TestMigrateFromEmpty(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		cur, latest, err := d.MigrationVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if cur != latest || cur == 0 {
			t.Fatalf("version %d, latest %d", cur, latest)
		}
		// Migrating again is a no-op.
		if err := d.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestWriteTxCommitsAndRollsBack(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		insert := func(tx *db.Tx, ref string) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, $2, $3)`, ref, "t", tx.NowMS())
			return err
		}
		if err := d.WriteTx(ctx, func(tx *db.Tx) error { return insert(tx, "a") }); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			if err := insert(tx, "b"); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v", err)
		}
		err = d.WriteTx(ctx, func(tx *db.Tx) error { return insert(tx, "a") })
		if !db.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v, want unique violation", err)
		}
		var n int
		if err := d.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM job_leases`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("rows = %d, want 1", n)
		}
	})
}

func TestSQLiteReaderIsReadOnly(t *testing.T) {
	d := dbtest.OpenSQLite(t)
	if _, err := d.Reader().Exec(`INSERT INTO job_leases (name, holder, expires_at) VALUES ('x','y',1)`); err == nil {
		t.Fatal("reader pool accepted a write")
	}
	var mode string
	if err := d.Reader().QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
		t.Fatalf("journal_mode = %q, %v", mode, err)
	}
	var sync int
	if err := d.Writer().QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", sync, err)
	}
}

func TestInTextAndInInt(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		names := []string{"a", "b\"q", "c<&>", "日本", "bad\xff", "none"}
		if d.Dialect == db.Postgres {
			names[4] = "e" // Postgres refuses invalid UTF-8 outright
		}
		err := d.WriteTx(ctx, func(tx *db.Tx) error {
			for i, n := range names[:5] {
				if _, err := tx.ExecContext(ctx, `INSERT INTO job_leases (name, holder, expires_at) VALUES ($1, 'h', $2)`, n, int64(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		count := func(q string, args []any) int {
			var n int
			if err := d.Reader().QueryRowContext(ctx, db.Rebind(d.Dialect, q), args...).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			return n
		}
		for _, c := range []struct {
			vals []string
			want int
		}{{names, 5}, {names[1:4], 3}, {[]string{"none"}, 0}, {nil, 0}, {names[4:], 1}} {
			in, args := db.InText(d.Dialect, 1, c.vals)
			if got := count(`SELECT COUNT(*) FROM job_leases WHERE name`+in, args); got != c.want {
				t.Errorf("InText(%q) matched %d, want %d", c.vals, got, c.want)
			}
		}
		in, args := db.InInt(d.Dialect, 2, []int64{0, 3, 9})
		if got := count(`SELECT COUNT(*) FROM job_leases WHERE holder = $1 AND expires_at`+in, append([]any{"h"}, args...)); got != 2 {
			t.Errorf("InInt matched %d, want 2", got)
		}
	})
}

// A migration numbered below one already applied (two capabilities'
// migrations landing out of order) is applied, not refused.
func TestMigrateAppliesOutOfOrder(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		if _, err := d.Writer().ExecContext(ctx, `DELETE FROM goose_db_version WHERE version_id = 8`); err != nil {
			t.Fatal(err)
		}
		if err := d.Migrate(ctx); err != nil {
			t.Fatalf("migrate with 00008 missing below applied ones: %v", err)
		}
		var n int
		if err := d.Reader().QueryRowContext(ctx, `SELECT COUNT(*) FROM goose_db_version WHERE version_id = 8`).Scan(&n); err != nil || n != 1 {
			t.Fatalf("00008 applied %d times, %v", n, err)
		}
	})
}
