package customer

import (
	"testing"

	"github.com/kizuna-oss/kizuna/internal/db"
)

func TestPositional(t *testing.T) {
	cases := []struct{ in, sqlite string }{
		{`SELECT 1`, `SELECT 1`},
		{`INSERT INTO t VALUES ($1, $2), ($3, $4)`, `INSERT INTO t VALUES (?, ?), (?, ?)`},
		{`WHERE a = $1 AND b IN ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, `WHERE a = ? AND b IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		// A reused or out-of-order parameter must keep its number.
		{`WHERE id = $1 OR merged_into = $1`, `WHERE id = $1 OR merged_into = $1`},
		{`SET x = $2 WHERE id = $1`, `SET x = $2 WHERE id = $1`},
	}
	for _, c := range cases {
		if got := positional(db.SQLite, c.in); got != c.sqlite {
			t.Errorf("positional(%q) = %q, want %q", c.in, got, c.sqlite)
		}
		if got := positional(db.Postgres, c.in); got != c.in {
			t.Errorf("postgres: positional(%q) = %q", c.in, got)
		}
	}
}
