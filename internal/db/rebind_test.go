package db

import "testing"

func TestRebind(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)`, `INSERT INTO t (a, b) VALUES (?, ?), (?, ?)`},
		{`SELECT * FROM t WHERE a = $1 AND b IN ($2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`, `SELECT * FROM t WHERE a = ? AND b IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`},
		// reused or out of order: keep the numbered form
		{`SELECT * FROM t WHERE a = $1 OR b = $1`, `SELECT * FROM t WHERE a = $1 OR b = $1`},
		{`UPDATE t SET a = $2 WHERE id = $1`, `UPDATE t SET a = $2 WHERE id = $1`},
		// a $ inside a literal is text, not a parameter
		{`SELECT '$1', a FROM t WHERE b = $1`, `SELECT '$1', a FROM t WHERE b = ?`},
		{`SELECT "$x" FROM t WHERE b = $1`, `SELECT "$x" FROM t WHERE b = ?`},
		{`SELECT $ FROM t`, `SELECT $ FROM t`},
		{"SELECT a -- the customer's $9\nFROM t WHERE b = $1", "SELECT a -- the customer's $9\nFROM t WHERE b = ?"},
		{"SELECT a /* it's $3 */ FROM t WHERE b = $1 AND c = $2", "SELECT a /* it's $3 */ FROM t WHERE b = ? AND c = ?"},
	}
	for _, tt := range tests {
		if got := rebind(tt.in); got != tt.want {
			t.Errorf("rebind(%q)\n = %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
